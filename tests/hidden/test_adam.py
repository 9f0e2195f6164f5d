"""Hidden tests for ``adam``. Instructor-only: students see the visible checks.

t ← t+1; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ);
p ← p − α·m̂/(√v̂ + ε).
"""

import numpy as np

from optilab.grading import group
from optilab.grading import properties as P

RULE = "adam"


@group("first-step")
def test_one_step_from_an_empty_state(student):
    """One step from {}: param, t, m and v"""
    param, grads = P.case(36_101, (7,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.037)


@group("first-step")
def test_one_step_with_other_hyperparameters(student):
    """One step from {} with other β₁, β₂ and ε"""
    param, grads = P.case(36_102, (5,), scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=0.21, hyper=P.random_hyper(RULE, 36_103))


@group("many-steps")
def test_twenty_steps_with_the_state_carried_over(student):
    """Twenty steps, t, m and v carried from step to step"""
    param, grads = P.case(36_104, (6,), steps=20)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.02, hyper=P.random_hyper(RULE, 36_105))


@group("many-steps")
def test_an_lr_that_changes_every_step(student):
    """An lr that changes every step (a schedule)"""
    param, grads = P.case(36_106, (6,), steps=8, scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=P.random_lrs(36_107, 8),
            hyper=P.random_hyper(RULE, 36_108))


@group("many-steps")
def test_resuming_from_t5(student):
    """Three steps from a given state with t = 5"""
    param, grads = P.case(36_109, (6,), steps=3)
    state = P.given_state(RULE, np.random.default_rng(36_110), (6,), t=5)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.04, state=state)


@group("many-steps")
def test_many_steps_on_a_matrix(student):
    """Ten steps on a 3×4 param"""
    param, grads = P.case(36_111, (3, 4), steps=10)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("conventions")
def test_tiny_gradients_beside_a_large_eps(student):
    """Tiny gradients (1e-6) beside ε = 1e-3: ε is added to √v̂, after the bias correction"""
    param, grads = P.case(36_112, (5,), steps=3, scale=1e-6)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, hyper={"eps": 1e-3})


@group("conventions")
def test_bias_correction_on_the_first_steps(student):
    """The first four steps with β₁ = 0.8, β₂ = 0.95: t, m and v key by key"""
    param, grads = P.case(36_113, (4,), steps=4, scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=[0.05, 0.2, 0.1, 0.03],
            hyper={"beta1": 0.8, "beta2": 0.95, "eps": 1e-6})


@group("conventions")
def test_the_step_count_after_a_resume(student):
    """From t = 11 the next steps correct with t = 12 and 13, and store them"""
    param, grads = P.case(36_114, (5,), steps=2)
    state = P.given_state(RULE, np.random.default_rng(36_115), (5,), t=11)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, state=state,
            hyper={"beta1": 0.7, "beta2": 0.9})


@group("conventions")
def test_the_step_uses_the_updated_averages(student):
    """The step uses m and v after this step's update"""
    param, grads = P.case(36_116, (5,), steps=2)
    state = P.given_state(RULE, np.random.default_rng(36_117), (5,), t=3)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, state=state, check_state=False,
            hyper={"beta1": 0.5, "beta2": 0.6})


@group("contract")
def test_float32_stays_float32(student):
    """float32 in, float32 out (param, m and v)"""
    param, grads = P.case(36_118, (6,), steps=3, dtype=np.float32)
    P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_0d_1d_and_nd_params(student):
    """0-d, 1-d and 3-d params; m and v have param's shape"""
    for k, shape in enumerate([(), (1,), (2, 3, 2)]):
        param, grads = P.case(36_119 + k, shape, steps=2)
        P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
        P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_inputs_are_left_unchanged(student):
    """param, grad, state and the arrays inside it are left unchanged"""
    param, grads = P.case(36_122, (5,), steps=3)
    P.no_mutation(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_returns_new_arrays(student):
    """The returned param, m and v are new arrays"""
    param, grads = P.case(36_123, (5,), steps=2)
    P.returns_new_arrays(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_defaults(student):
    """Called without hyperparameters it uses lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8"""
    param, grads = P.case(36_124, (5,), steps=3)
    P.uses_defaults(RULE, student, param=param, grads=grads)

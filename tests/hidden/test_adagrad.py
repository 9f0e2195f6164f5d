"""Hidden tests for ``adagrad``: s ← s + g²; p ← p − α·g/(√s + ε). Instructor-only."""

import numpy as np

from optilab.grading import group
from optilab.grading import properties as P

RULE = "adagrad"


@group("first-step")
def test_one_step_from_an_empty_state(student):
    """One step from {}: param and sum_sq"""
    param, grads = P.case(34_101, (7,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.037)


@group("first-step")
def test_one_step_with_other_hyperparameters(student):
    """One step from {} with another ε"""
    param, grads = P.case(34_102, (5,), scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=0.21, hyper=P.random_hyper(RULE, 34_103))


@group("many-steps")
def test_twenty_steps_with_the_state_carried_over(student):
    """Twenty steps, sum_sq carried from step to step"""
    param, grads = P.case(34_104, (6,), steps=20)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.02, hyper=P.random_hyper(RULE, 34_105))


@group("many-steps")
def test_an_lr_that_changes_every_step(student):
    """An lr that changes every step (a schedule)"""
    param, grads = P.case(34_106, (6,), steps=8, scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=P.random_lrs(34_107, 8),
            hyper=P.random_hyper(RULE, 34_108))


@group("many-steps")
def test_resuming_from_a_given_sum(student):
    """Three steps from a given sum_sq"""
    param, grads = P.case(34_109, (6,), steps=3)
    state = P.given_state(RULE, np.random.default_rng(34_110), (6,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.04, state=state)


@group("many-steps")
def test_many_steps_on_a_matrix(student):
    """Ten steps on a 3×4 param"""
    param, grads = P.case(34_111, (3, 4), steps=10)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("conventions")
def test_tiny_gradients_beside_a_large_eps(student):
    """Tiny gradients (1e-6) beside ε = 1e-3: ε is added after the square root"""
    param, grads = P.case(34_112, (5,), steps=3, scale=1e-6)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, hyper={"eps": 1e-3})


@group("conventions")
def test_the_sum_keeps_growing(student):
    """sum_sq is a running sum of g², key by key, over 15 steps"""
    param, grads = P.case(34_113, (4,), steps=15, scale="mixed")
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05, hyper={"eps": 1e-5})


@group("conventions")
def test_the_step_divides_by_the_updated_sum(student):
    """The step divides by √s + ε with this step's g² already in s"""
    param, grads = P.case(34_114, (5,), steps=2)
    state = P.given_state(RULE, np.random.default_rng(34_115), (5,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, state=state, check_state=False)


@group("contract")
def test_float32_stays_float32(student):
    """float32 in, float32 out (param and sum_sq)"""
    param, grads = P.case(34_116, (6,), steps=3, dtype=np.float32)
    P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_0d_1d_and_nd_params(student):
    """0-d, 1-d and 3-d params; sum_sq has param's shape"""
    for k, shape in enumerate([(), (1,), (2, 3, 2)]):
        param, grads = P.case(34_117 + k, shape, steps=2)
        P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
        P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_inputs_are_left_unchanged(student):
    """param, grad, state and the sum inside it are left unchanged"""
    param, grads = P.case(34_120, (5,), steps=3)
    P.no_mutation(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_returns_new_arrays(student):
    """The returned param and sum_sq are new arrays"""
    param, grads = P.case(34_121, (5,), steps=2)
    P.returns_new_arrays(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_defaults(student):
    """Called without hyperparameters it uses lr = 1e-2, ε = 1e-10"""
    param, grads = P.case(34_122, (5,), steps=3)
    P.uses_defaults(RULE, student, param=param, grads=grads)

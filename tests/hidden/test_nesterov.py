"""Hidden tests for ``nesterov`` (PyTorch's form): v ← μv + g; p ← p − α·(g + μv). Instructor-only."""

import numpy as np

from optilab.grading import group
from optilab.grading import properties as P

RULE = "nesterov"


@group("first-step")
def test_one_step_from_an_empty_state(student):
    """One step from {}: param and velocity"""
    param, grads = P.case(33_101, (7,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.037, hyper={"momentum": 0.9})


@group("first-step")
def test_one_step_with_other_hyperparameters(student):
    """One step from {} with another μ"""
    param, grads = P.case(33_102, (5,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.21, hyper=P.random_hyper(RULE, 33_103))


@group("many-steps")
def test_twenty_steps_with_the_state_carried_over(student):
    """Twenty steps, the velocity carried from step to step"""
    param, grads = P.case(33_104, (6,), steps=20)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.02, hyper=P.random_hyper(RULE, 33_105))


@group("many-steps")
def test_an_lr_that_changes_every_step(student):
    """An lr that changes every step (a schedule)"""
    param, grads = P.case(33_106, (6,), steps=8)
    P.steps(RULE, student, param=param, grads=grads, lrs=P.random_lrs(33_107, 8),
            hyper=P.random_hyper(RULE, 33_108))


@group("many-steps")
def test_resuming_from_a_given_velocity(student):
    """Three steps from a given velocity"""
    param, grads = P.case(33_109, (6,), steps=3)
    state = P.given_state(RULE, np.random.default_rng(33_110), (6,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.04, hyper={"momentum": 0.8}, state=state)


@group("many-steps")
def test_many_steps_on_a_matrix(student):
    """Ten steps on a 3×4 param"""
    param, grads = P.case(33_111, (3, 4), steps=10)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("conventions")
def test_the_velocity_is_pytorchs_buffer(student):
    """The velocity is PyTorch's buffer μv + g (no lr, no 1−μ), key by key"""
    param, grads = P.case(33_112, (5,), steps=4)
    P.steps(RULE, student, param=param, grads=grads, lrs=[0.3, 0.1, 0.5, 0.2], hyper={"momentum": 0.6})


@group("conventions")
def test_the_look_ahead_uses_the_updated_velocity(student):
    """The step is α·(g + μv) with the velocity after its update"""
    param, grads = P.case(33_113, (5,), steps=2)
    state = P.given_state(RULE, np.random.default_rng(33_114), (5,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.1, hyper={"momentum": 0.5}, state=state,
            check_state=False)


@group("contract")
def test_float32_stays_float32(student):
    """float32 in, float32 out (param and velocity)"""
    param, grads = P.case(33_115, (6,), steps=3, dtype=np.float32)
    P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_0d_1d_and_nd_params(student):
    """0-d, 1-d and 3-d params; the velocity has param's shape"""
    for k, shape in enumerate([(), (1,), (2, 3, 2)]):
        param, grads = P.case(33_116 + k, shape, steps=2)
        P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
        P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_inputs_are_left_unchanged(student):
    """param, grad, state and the velocity inside it are left unchanged"""
    param, grads = P.case(33_119, (5,), steps=3)
    P.no_mutation(RULE, student, param=param, grads=grads, hyper={"lr": 0.05, "momentum": 0.9})


@group("contract")
def test_returns_new_arrays(student):
    """The returned param and velocity are new arrays"""
    param, grads = P.case(33_120, (5,), steps=2)
    P.returns_new_arrays(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_defaults(student):
    """Called without hyperparameters it uses lr = 1e-2, μ = 0.9"""
    param, grads = P.case(33_121, (5,), steps=3)
    P.uses_defaults(RULE, student, param=param, grads=grads)

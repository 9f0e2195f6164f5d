"""Hidden tests for ``sgd``: p ← p − α·g. Instructor-only: students see the visible checks."""

import numpy as np

from optilab.grading import group
from optilab.grading import properties as P

RULE = "sgd"


@group("first-step")
def test_one_step(student):
    """One step on a random vector"""
    param, grads = P.case(31_101, (7,))
    P.steps(RULE, student, param=param, grads=grads, lrs=0.037)


@group("first-step")
def test_one_step_with_a_large_lr(student):
    """One step with lr = 1.5"""
    param, grads = P.case(31_102, (5,))
    P.steps(RULE, student, param=param, grads=grads, lrs=1.5)


@group("many-steps")
def test_twenty_steps(student):
    """Twenty steps, each from the last one's result"""
    param, grads = P.case(31_103, (6,), steps=20)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.02)


@group("many-steps")
def test_an_lr_that_changes_every_step(student):
    """An lr that changes every step (a schedule)"""
    param, grads = P.case(31_104, (6,), steps=8)
    P.steps(RULE, student, param=param, grads=grads, lrs=P.random_lrs(31_105, 8))


@group("many-steps")
def test_many_steps_on_a_matrix(student):
    """Ten steps on a 3×4 param"""
    param, grads = P.case(31_106, (3, 4), steps=10)
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_float32_stays_float32(student):
    """float32 in, float32 out"""
    param, grads = P.case(31_107, (6,), steps=3, dtype=np.float32)
    P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
    P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_0d_1d_and_nd_params(student):
    """0-d, 1-d and 3-d params keep their shape"""
    for k, shape in enumerate([(), (1,), (2, 3, 2)]):
        param, grads = P.case(31_108 + k, shape, steps=2)
        P.keeps_dtype_and_shape(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})
        P.steps(RULE, student, param=param, grads=grads, lrs=0.05)


@group("contract")
def test_inputs_are_left_unchanged(student):
    """param, grad and state are left unchanged"""
    param, grads = P.case(31_111, (5,), steps=3)
    P.no_mutation(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_returns_new_arrays(student):
    """The returned param is a new array"""
    param, grads = P.case(31_112, (5,), steps=2)
    P.returns_new_arrays(RULE, student, param=param, grads=grads, hyper={"lr": 0.05})


@group("contract")
def test_defaults(student):
    """Called without hyperparameters it uses lr = 1e-2"""
    param, grads = P.case(31_113, (5,), steps=2)
    P.uses_defaults(RULE, student, param=param, grads=grads)

"""Lessons 04 and 05's experiments: a rescaled feature, moving targets, AdaGrad's and RMSProp's effective steps."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import adaptive


def _finite_difference(problem, x, t, h=1e-6):
    return np.array([(problem.loss(x + h * e, t) - problem.loss(x - h * e, t)) / (2 * h) for e in np.eye(len(x))])


def test_scaled_quadratic_has_curvature_c_squared_along_the_scaled_feature():
    problem = adaptive.scaled_quadratic(7.0)
    np.testing.assert_allclose(problem.hessian, np.diag([1.0, 49.0]))
    with pytest.raises(ValueError, match="at least 1"):
        adaptive.scaled_quadratic(0.5)


@pytest.mark.parametrize("t", [0, 37, 150, 299])
def test_moving_target_gradient_and_target(t):
    problem = adaptive.moving_target(radius=3.0, period=300)
    target = problem.extras["target"](t)
    np.testing.assert_allclose(target, 3.0 * np.array([np.cos(2 * np.pi * t / 300), np.sin(2 * np.pi * t / 300)]))
    x = np.array([0.3, -1.2])
    np.testing.assert_allclose(problem.grad(x, t), _finite_difference(problem, x, t), rtol=1e-6, atol=1e-8)
    assert problem.loss(target, t) == 0.0
    np.testing.assert_allclose(problem.x0, problem.extras["target"](0))


@pytest.mark.parametrize("t, lam", [(0, 10.0), (199, 10.0), (200, 0.1), (399, 0.1), (400, 10.0)])
def test_switching_target_alternates_between_steep_and_shallow(t, lam):
    problem = adaptive.switching_target()
    x = np.array([0.5, 0.7])
    np.testing.assert_allclose(problem.grad(x, t), _finite_difference(problem, x, t), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(problem.grad(x, t), lam * (x - problem.extras["target"](t)))


def _gradients(run, problem):
    """p_t − c_t for every step, from the recorded path (the gradient, up to the curvature λ)."""
    target = problem.extras["target"]
    return np.array([run.params[t] - target(t) for t in range(len(run.params) - 1)])


def test_track_records_adagrads_effective_lr_from_the_sum_of_squares():
    problem = adaptive.moving_target()
    run = adaptive.track("adagrad", problem, steps=50, lr=0.2)
    g = _gradients(run, problem)
    np.testing.assert_allclose(run.effective_lr, 0.2 / (np.sqrt(np.cumsum(g**2, axis=0)) + 1e-10), rtol=1e-10)
    np.testing.assert_allclose(run.params[1:], run.params[:-1] - run.effective_lr * g, rtol=1e-10, atol=1e-12)


def test_track_records_rmsprops_effective_lr_from_the_moving_average():
    problem = adaptive.switching_target()
    run = adaptive.track("rmsprop", problem, steps=30, lr=0.05, rho=0.9)
    lams = np.array([problem.extras["curvatures"][(t // 200) % 2] for t in range(30)])
    s, expected = np.zeros(2), []
    for g in lams[:, None] * _gradients(run, problem):
        s = 0.9 * s + 0.1 * g**2
        expected.append(0.05 / (np.sqrt(s) + 1e-8))
    np.testing.assert_allclose(run.effective_lr, expected, rtol=1e-10)
    np.testing.assert_allclose(run.distances, [np.linalg.norm(p - problem.extras["target"](t)) for t, p in enumerate(run.params)])


def test_track_follows_torch_rmsprop(torch):
    problem = adaptive.moving_target()
    run = adaptive.track("rmsprop", problem, steps=100, lr=0.2, rho=0.9)
    p = torch.tensor(problem.x0.copy(), requires_grad=True)
    optimizer = torch.optim.RMSprop([p], lr=0.2, alpha=0.9, eps=1e-8)
    for t in range(100):
        p.grad = torch.tensor(problem.grad(p.detach().numpy(), t))
        optimizer.step()
        np.testing.assert_allclose(run.params[t + 1], p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_track_refuses_rules_without_an_accumulator_and_problems_without_a_target():
    with pytest.raises(ValueError, match="accumulator"):
        adaptive.track("adam", adaptive.moving_target(), steps=3, lr=0.1)
    with pytest.raises(ValueError, match="no moving target"):
        adaptive.track("adagrad", adaptive.scaled_quadratic(2.0), steps=3, lr=0.1)


def test_adagrad_stalls_on_the_moving_target_and_rmsprop_keeps_up():
    problem = adaptive.moving_target()
    adagrad = adaptive.track("adagrad", problem, steps=900, lr=0.2)
    rmsprop = adaptive.track("rmsprop", problem, steps=900, lr=0.2, rho=0.9)
    assert adagrad.distances[-300:].mean() > 2.0 > 0.5 > rmsprop.distances[-300:].mean()
    assert adagrad.effective_lr[-1, 0] < 0.01 * rmsprop.effective_lr[-1, 0]


def test_shallow_error_averages_the_second_half_of_every_shallow_phase():
    problem = adaptive.switching_target(every=200)
    distances = np.arange(801, dtype=float)  # distance t at step t
    run = adaptive.Tracking(np.zeros((801, 2)), distances, np.zeros((800, 2)), "rmsprop", {"lr": 0.1})
    # shallow phases are steps 200-399 and 600-799; their second halves 300-399 and 700-799
    assert adaptive.shallow_error(run, problem) == pytest.approx((349.5 + 749.5) / 2)
    with pytest.raises(ValueError, match="switching_target"):
        adaptive.shallow_error(run, adaptive.moving_target())


def test_scaling_runs_give_gradient_descent_its_best_step_and_adagrad_the_same_path_at_every_scale():
    small, large = adaptive.scaling_runs(1.0), adaptive.scaling_runs(30.0)
    assert large["sgd"].lrs[0] == pytest.approx(2 / (1 + 30.0**2))  # 2 / (λmin + λmax), λ = (1, c²)
    assert small["sgd"].lrs[0] == pytest.approx(1.0)
    # AdaGrad divides each coordinate's gradient c²p₂ by its own root sum of squares: c² cancels
    np.testing.assert_allclose(large["adagrad"].params, small["adagrad"].params, rtol=1e-8, atol=1e-10)
    assert np.linalg.norm(small["sgd"].params[1]) == 0.0  # κ = 1: the best step lands on the minimum at once
    start, end = (np.linalg.norm(large["sgd"].params[i]) for i in (0, -1))
    assert end > 0.5 * start  # κ = 900: the slow coordinate shrinks by 899/901 per step, 0.8 in 100 steps

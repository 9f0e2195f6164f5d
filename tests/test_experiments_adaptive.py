"""Lessons 04 and 05's experiments: a rescaled feature, moving targets, AdaGrad's and RMSProp's effective steps."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import adaptive


def _finite_difference(problem, x, t, h=1e-6):
    return np.array([(problem.loss(x + h * e, t) - problem.loss(x - h * e, t)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("c", [0.1, 1.0, 7.0])
def test_rescaled_regression_rescales_the_data_so_curvature_grows_like_c_squared(c):
    problem, original = adaptive.rescaled_regression(c), adaptive.rescaled_regression(1.0)
    X, y = problem.extras["X"], problem.extras["y"]
    np.testing.assert_allclose(X, original.extras["X"] * np.array([1.0, c]))
    np.testing.assert_allclose(problem.hessian, np.diag([1.0, c * c]), atol=1e-12)  # features uncorrelated, spread 1
    w = np.array([0.3, -0.7])
    np.testing.assert_allclose(problem.grad(w), X.T @ (X @ w - y) / len(y), rtol=1e-10, atol=1e-12)
    assert problem.loss(w) == pytest.approx(0.5 * np.mean((X @ w - y) ** 2))
    np.testing.assert_allclose(problem.minimizer * np.array([1.0, c]), original.minimizer, rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        adaptive.rescaled_regression(0.0)


def test_feature_conditioning_divides_by_sigma_and_by_sigma_squared():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 3)) * np.array([1.0, 10.0, 1000.0])
    X[:, 2] += 500 * X[:, 0]
    Xc = X - X.mean(axis=0)
    H = Xc.T @ Xc / len(Xc)
    sigma = np.sqrt(np.diag(H))
    got = adaptive.feature_conditioning(X)
    kappa = lambda M: np.linalg.eigvalsh(M).max() / np.linalg.eigvalsh(M).min()  # noqa: E731
    assert got["raw"] == pytest.approx(kappa(H))
    assert got["divided by σ"] == pytest.approx(kappa(H / np.sqrt(np.outer(sigma, sigma))))
    assert got["divided by σ²"] == pytest.approx(kappa(np.corrcoef(Xc.T)))


def test_rotated_ravine_a_per_axis_scaling_helps_along_the_axes_only():
    aligned, tilted = adaptive.rotated_ravine(0.0), adaptive.rotated_ravine(45.0)
    assert aligned["kappa_diagonal"] == pytest.approx(1.0) and tilted["kappa_diagonal"] == pytest.approx(100.0)
    assert aligned["gd_steps"] == tilted["gd_steps"]  # gradient descent does not care about the tilt
    assert aligned["adagrad_steps"] < aligned["gd_steps"] / 10 and tilted["adagrad_steps"] > tilted["gd_steps"]


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
        adaptive.track("adagrad", adaptive.rescaled_regression(2.0), steps=3, lr=0.1)


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


def test_rescaling_runs_give_gradient_descent_its_best_step_and_adagrad_one_alpha():
    small, large = adaptive.rescaling_runs(1.0), adaptive.rescaling_runs(30.0)
    assert large["sgd"].lrs[0] == pytest.approx(2 / (1 + 30.0**2), rel=1e-9)  # 2 / (λmin + λmax), λ = (1, c²)
    assert small["sgd"].lrs[0] == pytest.approx(1.0)
    assert large["adagrad"].lrs[0] == small["adagrad"].lrs[0] == 0.5
    # κ = 1: the best step lands on the minimum at once
    np.testing.assert_allclose(small["sgd"].params[1], adaptive.rescaled_regression(1.0).minimizer, atol=1e-12)


@pytest.mark.parametrize("c", [0.1, 3.0, 30.0])
def test_for_adagrad_rescaling_a_feature_by_c_is_alpha_times_c_on_its_weight(c):
    assert adaptive.adagrad_as_per_weight_lr(c) < 1e-12

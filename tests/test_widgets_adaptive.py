"""Lessons 04 and 05: the feature-scale and ρ explorers, the moving targets, and Keras's RMSProp."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import variants, widgets
from optilab.widgets import adaptive


def _line(fig, axis: int, label_start: str):
    return next(l for l in fig.axes[axis].get_lines() if str(l.get_label()).startswith(label_start))


def _finite_difference(problem, x, t, h=1e-6):
    return np.array([(problem.loss(x + h * e, t) - problem.loss(x - h * e, t)) / (2 * h) for e in np.eye(len(x))])


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["04-adagrad-scaling"] is adaptive.scaling_explorer
    assert names["05-rmsprop-decay"] is adaptive.decay_explorer


# -- lesson 04 ----------------------------------------------------------------------------------------
def test_scaled_quadratic_has_curvature_c_squared_along_the_scaled_feature():
    problem = adaptive.scaled_quadratic(7.0)
    np.testing.assert_allclose(problem.hessian, np.diag([1.0, 49.0]))
    with pytest.raises(ValueError, match="at least 1"):
        adaptive.scaled_quadratic(0.5)


def test_adagrad_path_does_not_depend_on_the_scale_but_gradient_descent_slows_down():
    explorer = adaptive.scaling_explorer(scale=1.0)
    adagrad_1 = _line(explorer.figure, 0, "AdaGrad").get_xydata().copy()
    gd_final_1 = _line(explorer.figure, 1, "gradient descent").get_ydata()[-1]
    explorer.set(scale=30.0)
    np.testing.assert_allclose(_line(explorer.figure, 0, "AdaGrad").get_xydata(), adagrad_1, rtol=1e-9, atol=1e-12)
    gd_final_30 = _line(explorer.figure, 1, "gradient descent").get_ydata()[-1]
    assert not np.isfinite(gd_final_1) or gd_final_30 > 1e3 * gd_final_1  # κ = 1: GD is exact in one step
    # the best step for κ = c² = 900 is 2 / (1 + 900), computed here independently
    assert f"best α = {2 / 901:.3g}" in _line(explorer.figure, 0, "gradient descent").get_label()
    assert "c = 30" in explorer.figure.get_suptitle()


def test_scaling_explorer_rejects_a_scale_it_does_not_offer():
    with pytest.raises(ValueError, match="scale must be one of"):
        adaptive.scaling_explorer(scale=4.0)


# -- lesson 05: the problems ------------------------------------------------------------------------
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


# -- lesson 05: track --------------------------------------------------------------------------------
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


# -- lesson 05: the ρ explorer -------------------------------------------------------------------------
def test_moving_rho_replaces_rmsprops_lines_and_changes_the_shallow_phase_error():
    explorer = adaptive.decay_explorer(rho=0.9)
    figure = explorer.draw.__self__  # the DecayFigure behind the explorer
    fig = explorer.figure
    n_lines = [len(ax.get_lines()) for ax in fig.axes]
    short_memory = figure.shallow_error(figure.run)
    explorer.set(rho=0.99)
    assert explorer.figure is fig and [len(ax.get_lines()) for ax in fig.axes] == n_lines  # replaced, not piled up
    long_memory = figure.shallow_error(figure.run)
    assert long_memory > 100 * short_memory
    assert _line(fig, 0, "RMSProp").get_label() == "RMSProp, α = 0.05, ρ = 0.99"
    assert "ρ = 0.99:" in fig.get_suptitle() and "100 steps" in fig.get_suptitle()


def test_decay_explorer_rejects_a_rho_it_does_not_offer():
    with pytest.raises(ValueError, match="rho must be one of"):
        adaptive.decay_explorer(rho=0.95)


# -- Keras's RMSProp -----------------------------------------------------------------------------------
def test_keras_rmsprop_reproduces_keras_docstring_example():
    # keras.optimizers.RMSprop(learning_rate=0.1) on loss = var1**2 / 2 from var1 = 10 gives 9.683772
    p, _ = variants.keras_rmsprop(np.array(10.0), np.array(10.0), {}, lr=0.1)
    assert float(p) == pytest.approx(9.683772, abs=5e-7)


def test_keras_rmsprop_puts_eps_inside_the_square_root():
    g = np.array([1e-5, 1e-3, 1.0])
    p, state = variants.keras_rmsprop(np.zeros(3), g, {}, lr=1.0, rho=0.9, eps=1e-7)
    np.testing.assert_allclose(-p, g / np.sqrt(0.1 * g**2 + 1e-7), rtol=1e-12)
    np.testing.assert_allclose(state["sq_avg"], 0.1 * g**2)
    # for |g| far below sqrt(eps / (1 - rho)) = 1e-3 the step is about g / sqrt(eps), not about ±lr
    assert -p[0] == pytest.approx(1e-5 / np.sqrt(1e-7), rel=1e-3)

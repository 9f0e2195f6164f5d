"""The step-size explorer of lesson 01: moving its controls redraws what the lesson says it shows."""

from __future__ import annotations

import numpy as np
import pytest

import optilab.widgets
from optilab.widgets import gradient_descent as gd


def hand_gd(eigenvalues, x0, lr, steps):
    """Gradient descent on f = ½ xᵀ diag(λ) x, written out: x ← x − α λ x, coordinate by coordinate."""
    lam = np.asarray(eigenvalues, dtype=float)
    xs = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        xs.append(xs[-1] - lr * lam * xs[-1])
    return np.array(xs)


@pytest.fixture
def explorer():
    return gd.step_size_explorer()


def path_of(explorer):
    line = explorer.figure.axes[0].lines
    return next(l for l in line if l.get_label() == "GD path").get_xydata()


def test_registered_under_its_lesson_name():
    factories = optilab.widgets.registry()
    assert factories["01-gd-step-size"] is gd.step_size_explorer


def test_moving_lr_redraws_the_path_of_gradient_descent(explorer):
    before = explorer.redraws
    explorer.set(lr=0.05)
    assert explorer.redraws == before + 1
    expected = hand_gd((1.0, 10.0), (-4.0, 1.0), 0.05, 60)
    np.testing.assert_allclose(path_of(explorer), expected, rtol=1e-12, atol=1e-12)


def test_theory_line_is_the_rate_squared_per_step(explorer):
    explorer.set(lr=0.05)
    ax_loss = explorer.figure.axes[1]
    theory = next(l for l in ax_loss.lines if l.get_label().startswith("theory"))
    t, y = theory.get_xdata(), theory.get_ydata()
    f0 = 0.5 * (1.0 * 16.0 + 10.0 * 1.0)  # f(−4, 1) with λ = (1, 10)
    rate = max(abs(1 - 0.05 * 1.0), abs(1 - 0.05 * 10.0))  # 0.95
    np.testing.assert_allclose(y, f0 * rate ** (2 * t), rtol=1e-12)
    # and the loss of the run stays under it (the theory is a bound on a quadratic)
    loss = next(l for l in ax_loss.lines if l.get_label() == "gradient descent").get_ydata()
    assert np.all(loss <= y[: len(loss)] * (1 + 1e-12))


def test_at_the_best_step_the_measured_rate_matches_kappa_formula(explorer):
    explorer.set(lr=2.0 / 11.0)
    note = explorer.figure.axes[1].texts[0].get_text()
    assert f"theory {9 / 11:.3f}, measured {9 / 11:.3f}" in note
    assert "best step" in explorer.figure.get_suptitle()


def test_too_large_a_step_diverges_and_says_so(explorer):
    explorer.set(lr=0.21)
    path = path_of(explorer)
    assert path[-1, 1] == pytest.approx((1 - 0.21 * 10) ** 60)  # the steep coordinate: ×(−1.1) per step, from 1
    assert "diverges" in explorer.figure.get_suptitle()
    explorer.set(lr=0.19)
    assert "diverges" not in explorer.figure.get_suptitle()
    assert np.linalg.norm(path_of(explorer)[-1]) < 1e-2


def test_choosing_a_problem_moves_lr_to_a_step_that_works_there(explorer):
    explorer.set(problem="Rosenbrock")
    assert explorer.controls["lr"].value == pytest.approx(gd.PROBLEMS["Rosenbrock"].lr)
    assert explorer.figure.axes[0].get_title().startswith("Rosenbrock")
    path = path_of(explorer)
    rosen = lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2  # noqa: E731 - the formula, typed by hand
    assert rosen(*path[-1]) < rosen(*path[0]) / 10
    explorer.set(problem="saddle x² − y²")
    path = path_of(explorer)
    assert abs(path[-1, 1]) > abs(path[0, 1]) * 100  # escapes along y: ×(1 + 2α) per step
    assert abs(path[-1, 0]) < abs(path[0, 0]) / 100  # while x shrinks by (1 − 2α)


def test_himmelblau_run_ends_at_a_minimum(explorer):
    explorer.set(problem="Himmelblau")
    x, y = path_of(explorer)[-1]
    assert (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2 < 1e-6


def test_unknown_problem_is_a_clear_error():
    with pytest.raises(KeyError, match="choose one of"):
        gd.step_size_explorer(problem="Ackley")


# -- what the explorer shows at every end of its controls ----------------------------------------------
def test_at_every_end_of_its_controls_no_legend_covers_data_no_text_is_cut_and_no_line_is_hidden():
    from tests.support.figures import legend_overlaps, text_outside, unseen_lines

    explorer = gd.step_size_explorer()
    found = []
    for problem in gd.PROBLEMS:
        for lr in (1e-4, gd.PROBLEMS[problem].lr, 1.0):
            explorer.set(problem=problem, lr=lr)
            found += [f"{problem}, α = {lr}: {what}" for what in
                      legend_overlaps(explorer.figure) + text_outside(explorer.figure) + unseen_lines(explorer.figure)]
    assert not found, "\n".join(found)

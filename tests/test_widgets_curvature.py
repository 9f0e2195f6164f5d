"""Lesson 11's figures and explorer: they draw the runs of optilab.experiments.curvature."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import problems, widgets
from optilab.experiments import curvature as runs
from optilab.widgets import curvature as figures
from tests.support.figures import legend_overlaps, text_outside


def _lines(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_paths_figure_draws_each_methods_iterates_and_loss_gap():
    p = problems.rosenbrock()
    found = runs.newton_runs()
    ax_path, ax_loss = figures.paths_figure(p, found).axes
    for name, run in found.items():
        np.testing.assert_allclose(_lines(ax_path)[name].get_xydata(), run.params)
        gap = _lines(ax_loss)[name].get_ydata()
        np.testing.assert_allclose(gap[np.isfinite(gap)], (run.losses - p.min_loss)[run.losses > p.min_loss])
    assert ax_path.get_title() and ax_loss.get_yscale() == "log"


def test_failures_figure_shows_the_three_problems_with_all_three_methods():
    fig = figures.failures_figure()
    assert len(fig.axes) == 3 and all(ax.get_title() for ax in fig.axes)
    for ax in fig.axes:
        assert set(runs.NEWTON_METHODS) <= set(_lines(ax))
    np.testing.assert_allclose(_lines(fig.axes[1])["Newton"].get_xydata(), runs.himmelblau_runs()["Newton"].params)
    assert fig.legends and legend_overlaps(fig) == [] and text_outside(fig) == []


def test_convergence_figure_draws_the_gap_to_the_lowest_loss():
    found = runs.logistic_runs()
    best = min(float(r.losses.min()) for r in found.values())
    ax = figures.convergence_figure(found, best).axes[0]
    line = next(l for l in ax.get_lines() if l.get_label().startswith("L-BFGS + line search"))
    y = line.get_ydata()
    gap = found["L-BFGS + line search"].losses - best
    np.testing.assert_allclose(y[np.isfinite(y)], gap[gap > 0])
    assert ax.get_yscale() == "log" and ax.get_title()


def test_sharpness_figure_draws_each_run_and_its_threshold_once():
    found = [runs.gd_sharpness(lr) for lr in runs.GD_LRS]
    fig = figures.sharpness_figure(found, "GD")
    ax = fig.axes[0]
    lines = _lines(ax)
    for run in found:
        np.testing.assert_allclose(lines[f"GD, η = {run.lr:g}"].get_ydata(), run.sharpness)
        threshold = lines[f"2/η = {run.threshold:.3g}"]
        assert np.allclose(threshold.get_ydata(), 2 / run.lr)
    same = figures.sharpness_figure([runs.gd_sharpness(0.1), runs.sam_sharpness(0.1)], "SAM").axes[0]
    assert sum(label.startswith("2/η") for label in _lines(same)) == 1  # one threshold for two runs at one η
    assert legend_overlaps(fig) == []


@pytest.fixture(scope="module")
def explorer():
    return figures.newton_explorer()


def test_explorer_is_registered():
    assert widgets.registry()["11-newton"] is figures.newton_explorer


def test_explorer_draws_the_three_methods_from_the_chosen_start(explorer):
    explorer.set(problem="Rosenbrock", x0=-1.2, y0=1.0)
    ax_path, ax_grad = explorer.figure.axes
    p = problems.rosenbrock()
    for method in runs.NEWTON_METHODS:
        run = runs.method_run(p, method, np.array([-1.2, 1.0]), figures.EXPLORER_STEPS)
        np.testing.assert_allclose(_lines(ax_path)[method].get_xydata(), run.params)
        np.testing.assert_allclose(_lines(ax_grad)[method].get_ydata(), np.maximum(run.grad_norms, 1e-12))
    np.testing.assert_allclose(_lines(ax_path)["start"].get_xydata(), [[-1.2, 1.0]])


def test_explorer_says_which_kind_of_point_each_method_ended_at(explorer):
    explorer.set(problem="Himmelblau", x0=-0.6, y0=-0.4)
    report = explorer.figure.texts[-1].get_text()
    assert "Newton: f = 181.6 at (-0.27, -0.92), a maximum" in report
    assert "damped Newton: f = " in report and "a minimum" in report
    explorer.set(problem="saddle x² − y²", x0=1.0, y0=0.05)
    newton, damped, descent = explorer.figure.texts[-1].get_text().splitlines()
    assert newton.startswith("Newton: f = ") and newton.endswith("at (0.00, 0.00), a saddle")
    assert "saddle" not in damped and "saddle" not in descent  # both escaped
    explorer.set(problem="√(1 + x² + y²) − 1", x0=2.0, y0=0.0)
    assert "Newton: diverged" in explorer.figure.texts[-1].get_text()
    assert legend_overlaps(explorer.figure) == [] and text_outside(explorer.figure) == []


def test_explorer_refuses_an_unknown_problem():
    with pytest.raises(KeyError, match="Rosenbrock"):
        figures.newton_explorer(problem="Beale")

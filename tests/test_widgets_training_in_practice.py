"""Lesson 10's figures and explorer: they show the runs of optilab.experiments.training_in_practice."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.experiments import batch_size as batch
from optilab.experiments import training_in_practice as runs
from optilab.widgets import training_in_practice as figures


def test_range_test_figure_shows_the_losses_and_marks_both_suggestions():
    result = runs.range_test()
    ax = figures.range_test_figure(result).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["smoothed (β = 0.98, debiased)"].get_ydata(), result.smoothed)
    marks = [line.get_xdata()[0] for label, line in lines.items() if label.startswith(("steepest", "minimum"))]
    assert sorted(marks) == sorted([result.steep, result.minimum])
    assert ax.get_xscale() == "log" and ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_legend() is not None


def test_schedules_figure_draws_each_schedule_step_by_step():
    ax = figures.schedules_figure(3.0).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == set(runs.schedules_at(3.0))
    cosine = runs.schedules_at(3.0)["warm-up + cosine"]
    np.testing.assert_allclose(lines["warm-up + cosine"].get_ydata(), [cosine(t) for t in range(runs.steps())])
    assert ax.get_title() and ax.get_legend() is not None


def test_update_ratio_figure_draws_the_ratios_of_each_rate():
    ax = figures.update_ratio_figure((0.1, 10.0)).axes[0]
    line = next(line for line in ax.get_lines() if line.get_label() == "α = 10")
    np.testing.assert_allclose(line.get_ydata(), runs.update_ratios(10.0)["W1"])
    assert ax.get_yscale() == "log" and ax.get_title()


@pytest.fixture(scope="module")
def explorer():
    return figures.schedule_explorer()


def test_explorer_is_registered():
    assert widgets.registry()["10-schedules"] is figures.schedule_explorer


def test_explorer_shows_the_chosen_peaks_schedules_and_their_validation_losses(explorer):
    explorer.set(peak=1.0)
    ax_lr, ax_val = explorer.figure.axes
    wsd = runs.schedules_at(1.0)["warm-up, stable, decay"]
    line = next(l for l in ax_lr.get_lines() if l.get_label() == "warm-up, stable, decay")
    np.testing.assert_allclose(line.get_ydata(), [wsd(t) for t in range(runs.steps())])
    mean, half = runs.interval(runs.validation_losses(1.0, "one-cycle"))
    xs = sorted(float(x) for l in ax_val.get_lines() for x in l.get_xdata() if len(l.get_xdata()) == 2)
    assert any(np.isclose(x, mean - half) for x in xs) and any(np.isclose(x, mean + half) for x in xs)
    assert "peak rate of 1" in " ".join(t.get_text() for t in ax_lr.texts)


def test_batch_size_figure_draws_the_sweeps_medians_its_fit_and_the_tuned_rates():
    from tests.support.figures import legend_overlaps, text_outside, unseen_lines

    summary = batch.batch_size_summary(batch.load_batch_sweep())
    fig = figures.batch_size_figure(summary)
    left, right = fig.axes
    s_min, b_noise = summary["fit"]
    fit = next(line for line in left.get_lines() if line.get_label().startswith("fit"))
    expected = [batch.predicted_steps(b, s_min, b_noise, summary["n"]) for b in fit.get_xdata()]
    np.testing.assert_allclose(fit.get_ydata(), expected)
    measured = left.containers[0].lines[0]  # the errorbar's points
    np.testing.assert_allclose(measured.get_ydata(), [row["median"] for row in summary["tuned"]])
    tuned = next(line for line in right.get_lines() if line.get_label().startswith("tuned"))
    np.testing.assert_allclose(tuned.get_ydata(), [row["lr"] for row in summary["tuned"]])
    critical = next(line for line in left.get_lines() if "critical" in line.get_label())
    assert critical.get_xdata()[0] == pytest.approx(b_noise)
    for ax in (left, right):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert legend_overlaps(fig) == [] and text_outside(fig) == [] and unseen_lines(fig) == []
    assert fig.get_figwidth() * fig.dpi <= 840

"""Lesson 07's explorers and figures: L2 against decoupled decay, schedules, Wilson et al."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.experiments import beyond_adam as runs
from optilab.widgets import beyond_adam


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["07-weight-decay"] is beyond_adam.weight_decay_explorer
    assert names["07-schedules"] is beyond_adam.schedule_explorer


def test_moving_lambda_moves_the_adamw_lines_onto_the_reference():
    explorer = beyond_adam.weight_decay_explorer(weight_decay=0.1)
    explorer.set(weight_decay=0.3)
    adamw_axes = explorer.figure.axes[1]
    lines = [l for l in adamw_axes.get_lines() if str(l.get_label()).startswith("gradient noise")]
    assert len(lines) == 4
    for line in lines:
        assert line.get_ydata()[-1] == pytest.approx((1 - 0.02 * 0.3) ** 300, rel=1e-9)
    assert "λ = 0.3" in explorer.figure.get_suptitle()


def test_schedule_explorer_reports_divergence_and_redraws_the_schedule():
    explorer = beyond_adam.schedule_explorer(schedule="warm-up (30 steps) + cosine", lr=0.04)
    lr_axes = explorer.figure.axes[0]
    chosen = next(l for l in lr_axes.get_lines() if l.get_label() == "chosen schedule")
    assert chosen.get_ydata()[0] == pytest.approx(0.04 / 30)
    explorer.set(schedule="constant")
    labels = [t.get_text() for t in explorer.figure.legends[0].get_texts()]  # one legend, under the panels
    assert labels[1] == "constant: diverged"
    explorer.set(lr=0.01)
    labels = [t.get_text() for t in explorer.figure.legends[0].get_texts()]
    assert labels[1].startswith("constant: final loss") and len(explorer.figure.legends) == 1


def test_schedules_figure_draws_each_schedule():
    ax = beyond_adam.schedules_figure(lr=0.04, steps=300).axes[0]
    lines = {l.get_label(): l.get_ydata() for l in ax.get_lines()}
    assert set(lines) == set(runs.SCHEDULES)
    assert np.all(np.asarray(lines["constant"]) == 0.04)
    assert lines["cosine"][0] == pytest.approx(0.04) and lines["cosine"][-1] < 1e-5
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_wilson_figure_bars_show_final_errors():
    data, traces = runs.wilson_runs()
    fig = beyond_adam.wilson_figure(data, traces)
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert len(heights) == 2 * len(traces)
    test_heights = heights[len(traces):]
    assert test_heights[list(traces).index("adam")] == pytest.approx(np.mean(data.y_test < 0))
    assert test_heights[list(traces).index("sgd")] == 0.0

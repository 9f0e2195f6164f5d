"""Lesson 08's figures and explorer: they show the results of optilab.experiments.practice, and cover none of them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from optilab import plots, widgets
from optilab.experiments import practice as runs
from optilab.widgets import practice

GRID = (0.003, 0.03, 0.3)


@pytest.fixture(scope="module")
def small():
    """The protocol at a toy size: three optimizers, three learning rates, three seeds, two epochs."""
    return runs.compute(rules=("sgd", "adam", "amsgrad"), grid=GRID, seeds=(0, 1, 2), epochs=2)


def _mean_and_half(values):
    values = np.asarray(values, dtype=float)
    return values.mean(), runs.t95(len(values)) * values.std(ddof=1) / np.sqrt(len(values))


def _legend_covers_nothing(fig):
    """No legend's box overlaps any axes' data area (every legend sits outside the axes)."""
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for other in fig.axes:
            if other.get_visible():
                assert not box.overlaps(other.get_window_extent(renderer)), \
                    f"the legend of {ax.get_title()!r} overlaps the axes {other.get_title()!r}"


def test_explorer_is_registered():
    assert widgets.registry()["08-optimizers"] is practice.optimizer_explorer


def test_sweep_figure_has_a_panel_per_optimizer_with_the_chosen_lr_starred(small):
    fig = practice.sweep_figure(small)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["sgd", "adam", "amsgrad"]
    for ax, rule in zip(panels, ["sgd", "adam", "amsgrad"]):
        chosen = small["chosen"][rule]
        assert ax.get_title() == f"{rule}: α = {chosen:.2g}"
        mean_line, star = ax.get_lines()
        finite = np.isfinite(small["tuning"][rule]["loss"]).all(axis=1)
        np.testing.assert_allclose(mean_line.get_ydata(), small["tuning"][rule]["loss"][finite].mean(axis=1))
        assert star.get_marker() == "*" and star.get_xdata()[0] == chosen
        assert star.get_ydata()[0] == pytest.approx(small["tuning"][rule]["loss"][GRID.index(chosen)].mean())
        (segments,) = [c.get_segments() for c in ax.collections]
        mean, half = _mean_and_half(small["tuning"][rule]["loss"][GRID.index(chosen)])
        top = max(s[1, 1] for s in segments if s[0, 0] == chosen)
        assert top == pytest.approx(mean + half)
        assert ax.get_legend() is None and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert panels[0].get_ylabel() and panels[-1].get_xlabel() and fig.get_suptitle()


def test_test_figure_shows_the_test_intervals_and_the_paired_differences(small):
    fig = practice.test_figure(small)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_yticklabels()] == ["sgd", "adam", "amsgrad"]
    best = min(small["test"], key=lambda r: small["test"][r]["loss"].mean())
    labels = [t.get_text() for t in right.get_yticklabels()]
    assert labels == [f"{r} − {best}" for r in ("sgd", "adam", "amsgrad") if r != best]
    for i, rule in enumerate(r for r in ("sgd", "adam", "amsgrad") if r != best):
        mean, half = _mean_and_half(small["test"][rule]["loss"] - small["test"][best]["loss"])
        data_line, caps, (bar,) = right.containers[i].lines
        assert data_line.get_xdata()[0] == pytest.approx(mean)
        np.testing.assert_allclose(bar.get_segments()[0][:, 0], [mean - half, mean + half])
    assert all(ax.get_title() and ax.get_xlabel() for ax in (left, right))
    assert left.get_legend() is None and right.get_legend() is None


@pytest.fixture(scope="module")
def explorer(small):
    return practice.optimizer_explorer(small, rules=("sgd", "adam"))


def _visible(ax):
    return [line for line in ax.get_lines() if line.get_visible() and len(line.get_xdata()) > 1]


def test_explorer_shows_each_chosen_optimizers_mean_validation_curve(explorer, small):
    explorer.set(rules=("adam",), lr="chosen for each", metric="validation loss")
    (curve,) = _visible(explorer.figure.axes[0])
    chosen = small["chosen"]["adam"]
    assert curve.get_label() == f"adam, α = {chosen:.2g} (chosen)"
    np.testing.assert_allclose(curve.get_ydata(), small["tuning"]["adam"]["curves"]["validation loss"][GRID.index(chosen)])


def test_explorer_picks_the_runs_of_the_chosen_lr_and_metric(explorer, small):
    explorer.set(rules=("sgd", "amsgrad"), lr=0.3, metric="validation accuracy")
    curves = {line.get_label().split(",")[0]: line for line in _visible(explorer.figure.axes[0])}
    assert set(curves) == {"sgd", "amsgrad"}
    np.testing.assert_allclose(curves["sgd"].get_ydata(), small["tuning"]["sgd"]["curves"]["validation accuracy"][2])
    assert explorer.figure.axes[0].get_yscale() == "linear"
    sweep = [line for line in _visible(explorer.figure.axes[1]) if line.get_label() == "amsgrad"][0]
    np.testing.assert_allclose(sweep.get_ydata(), small["tuning"]["amsgrad"]["accuracy"].mean(axis=1))
    explorer.set(metric="training loss")
    curves = {line.get_label().split(",")[0]: line for line in _visible(explorer.figure.axes[0])}
    np.testing.assert_allclose(curves["amsgrad"].get_ydata(), small["tuning"]["amsgrad"]["curves"]["training loss"][2])
    assert explorer.figure.axes[0].get_yscale() == "log"
    assert "all at α = 0.3" in explorer.figure.axes[0].get_title()


def test_explorer_legend_covers_no_data_whatever_is_shown(explorer, small):
    for rules in (("sgd",), tuple(small["tuning"])):
        for metric in practice.METRICS:
            explorer.set(rules=rules, metric=metric, lr="chosen for each")
            _legend_covers_nothing(explorer.figure)
            assert explorer.figure.axes[0].get_xlabel() and explorer.figure.axes[0].get_ylabel()


def test_explorer_colours_come_from_the_rule_table(explorer):
    explorer.set(rules=("sgd", "adam"), metric="validation loss", lr="chosen for each")
    for line in _visible(explorer.figure.axes[0]):
        assert line.get_color() == plots.color_of(line.get_label().split(",")[0])


def test_explorer_loads_the_committed_results_by_default():
    built = practice.optimizer_explorer()
    assert set(built.controls["rules"].options) == set(runs.RULES_COMPARED)
    built.set(rules=tuple(runs.RULES_COMPARED))
    assert len(_visible(built.figure.axes[0])) == len(runs.RULES_COMPARED)
    _legend_covers_nothing(built.figure)

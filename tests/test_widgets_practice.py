"""Lesson 08's figures and explorer: they show the runs of optilab.experiments.practice."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.experiments import practice as runs
from optilab.widgets import practice


@pytest.fixture(scope="module")
def small():
    return runs.sweep(rules=("sgd", "adam"), lrs=(0.01, 0.1), epochs=1)


def test_explorer_is_registered():
    assert widgets.registry()["08-optimizers"] is practice.optimizer_explorer


def test_figures_have_labelled_axes_and_a_line_per_rule(small):
    fig = practice.sweep_figure(small)
    ax = fig.axes[0]
    assert [l.get_label() for l in ax.get_lines()] == ["sgd", "adam"]
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    fig = practice.curves_figure(small, {"sgd": 0.1, "adam": 0.01})
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), small["sgd", 0.1].test_accuracy)
    assert fig.axes[1].get_legend() is not None


@pytest.fixture(scope="module")
def explorer():
    return practice.optimizer_explorer()


def test_explorer_shows_only_the_chosen_optimizers(explorer):
    explorer.set(rules=("adam",), lr="best for each", metric="test accuracy")
    visible = [l.get_label() for l in explorer.figure.axes[0].get_lines() if l.get_visible()]
    assert len(visible) == 1 and visible[0].startswith("adam, α = ")


def test_explorer_picks_the_run_of_the_chosen_learning_rate_and_metric(explorer):
    results = runs.sweep()
    explorer.set(rules=("sgd", "adam"), lr=1.0)
    curve = next(l for l in explorer.figure.axes[0].get_lines() if l.get_visible() and "adam" in l.get_label())
    np.testing.assert_allclose(curve.get_ydata(), results["adam", 1.0].test_accuracy)
    explorer.set(metric="training loss")
    curve = next(l for l in explorer.figure.axes[0].get_lines() if l.get_visible() and "adam" in l.get_label())
    np.testing.assert_allclose(curve.get_ydata(), results["adam", 1.0].train_loss)
    assert explorer.figure.axes[0].get_yscale() == "log"


def test_explorer_best_choice_is_the_best_of_the_sweep(explorer):
    results = runs.sweep()
    explorer.set(rules=tuple(runs.RULES_COMPARED), lr="best for each", metric="test accuracy")
    for rule in runs.RULES_COMPARED:
        best = max(runs.final(h) for (r, lr), h in results.items() if r == rule and not h.diverged)
        label = next(l.get_label() for l in explorer.figure.axes[0].get_lines() if l.get_label().startswith(rule + ","))
        shown = float(label.split("α = ")[1])
        assert runs.final(results[rule, shown]) == best

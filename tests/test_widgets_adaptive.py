"""Lessons 04 and 05: the feature-scale and ρ explorers."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.experiments import adaptive as runs
from optilab.widgets import adaptive


def _line(fig, axis: int, label_start: str):
    return next(l for l in fig.axes[axis].get_lines() if str(l.get_label()).startswith(label_start))


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["04-adagrad-scaling"] is adaptive.scaling_explorer
    assert names["05-rmsprop-decay"] is adaptive.decay_explorer


# -- lesson 04 ----------------------------------------------------------------------------------------
def test_rescaling_a_feature_changes_both_paths_drawn_in_original_units():
    explorer = adaptive.scaling_explorer(scale=1.0)
    adagrad_1 = _line(explorer.figure, 0, "AdaGrad").get_xydata().copy()
    gd_gap_1 = _line(explorer.figure, 1, "gradient descent").get_ydata()[-1]
    explorer.set(scale=30.0)
    fig = explorer.figure
    # AdaGrad's first step is α on each weight; in original units that is (α, c α) = (0.5, 15)
    np.testing.assert_allclose(_line(fig, 0, "AdaGrad").get_xydata()[1], [0.5, 15.0], rtol=1e-9)
    np.testing.assert_allclose(adagrad_1[1], [0.5, 0.5], rtol=1e-9)
    assert _line(fig, 1, "gradient descent").get_ydata()[-1] > 1e3 * gd_gap_1  # κ = 1: exact in one step
    assert f"best α = {2 / 901:.3g}" in _line(fig, 0, "gradient descent").get_label()  # 2 / (1 + 900), here
    assert "c = 30" in fig.get_suptitle() and "α × c" in fig.get_suptitle()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]  # the one legend follows the labels
    assert f"gradient descent, best α = {2 / 901:.3g}" in legend


def test_scaling_explorer_rejects_a_scale_it_does_not_offer():
    with pytest.raises(ValueError, match="scale must be one of"):
        adaptive.scaling_explorer(scale=4.0)


# -- lesson 05: the ρ explorer -------------------------------------------------------------------------
def test_moving_rho_replaces_rmsprops_lines_and_changes_the_shallow_phase_error():
    explorer = adaptive.decay_explorer(rho=0.9)
    figure = explorer.draw.__self__  # the DecayFigure behind the explorer
    fig = explorer.figure
    n_lines = [len(ax.get_lines()) for ax in fig.axes]
    short_memory = runs.shallow_error(figure.run, figure.problem)
    explorer.set(rho=0.99)
    assert explorer.figure is fig and [len(ax.get_lines()) for ax in fig.axes] == n_lines  # replaced, not piled up
    long_memory = runs.shallow_error(figure.run, figure.problem)
    assert long_memory > 100 * short_memory
    assert _line(fig, 0, "RMSProp").get_label() == "RMSProp, α = 0.05, ρ = 0.99"
    assert "ρ = 0.99:" in fig.get_suptitle() and "100 steps" in fig.get_suptitle()


def test_decay_explorer_rejects_a_rho_it_does_not_offer():
    with pytest.raises(ValueError, match="rho must be one of"):
        adaptive.decay_explorer(rho=0.95)

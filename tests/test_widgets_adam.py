"""Lesson 06's explorers and figures: bias correction, ε, AMSGrad on Reddi et al.'s problem."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.widgets import adam


def _line(fig, axis: int, label_start: str):
    return next(l for l in fig.axes[axis].get_lines() if str(l.get_label()).startswith(label_start))


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["06-adam-bias-correction"] is adam.bias_correction_explorer
    assert names["06-amsgrad-reddi"] is adam.reddi_explorer


def test_unticking_bias_correction_makes_the_uncorrected_line_the_solid_one():
    explorer = adam.bias_correction_explorer()
    fig = explorer.figure
    assert _line(fig, 0, "with").get_linewidth() > _line(fig, 0, "without").get_linewidth()
    explorer.set(bias_correction=False)
    assert _line(explorer.figure, 0, "without").get_linewidth() > _line(explorer.figure, 0, "with").get_linewidth()
    assert _line(explorer.figure, 0, "without").get_linestyle() == "-"


def test_moving_beta2_to_beta1_makes_the_uncorrected_steps_too_small():
    explorer = adam.bias_correction_explorer(bias_correction=False, beta2=0.999)
    assert _line(explorer.figure, 0, "without").get_ydata()[0] == pytest.approx(0.1 / np.sqrt(0.001))
    explorer.set(beta2=0.9)
    ratios = _line(explorer.figure, 0, "without").get_ydata()
    assert ratios[0] == pytest.approx(np.sqrt(0.1)) and np.all(ratios < 1)
    assert "β₂ = 0.9" in explorer.figure.axes[0].get_title()
    # the path panel moved too: the uncorrected path with beta2 = 0.9 takes shorter first steps
    path = _line(explorer.figure, 1, "without").get_xydata()
    assert np.linalg.norm(path[1] - path[0]) < np.sqrt(2) * 0.2


def test_eps_figure_has_one_labelled_line_per_eps():
    fig = adam.eps_figure((1e-8, 1e-2))
    labels = [l.get_label() for l in fig.axes[0].get_lines() if not str(l.get_label()).startswith("_")]
    assert labels == ["ε = 1e-08", "ε = 0.01"]
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() and fig.axes[0].get_title()


def test_raising_beta2_in_the_explorer_sends_adam_to_the_best_point():
    explorer = adam.reddi_explorer()
    assert _line(explorer.figure, 0, "adam").get_ydata()[-1] > 0.95
    explorer.set(beta2=0.99)
    assert _line(explorer.figure, 0, "adam").get_ydata()[-1] < -0.95
    assert "β₂ = 0.99" in explorer.figure.axes[0].get_title()
    assert explorer.redraws == 2

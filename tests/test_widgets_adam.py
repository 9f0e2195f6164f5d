"""Lesson 06's explorers and figures: bias correction, ε, AMSGrad on Reddi et al.'s problem."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import kernels, widgets
from optilab.widgets import adam


def _line(fig, axis: int, label_start: str):
    return next(l for l in fig.axes[axis].get_lines() if str(l.get_label()).startswith(label_start))


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["06-adam-bias-correction"] is adam.bias_correction_explorer
    assert names["06-amsgrad-reddi"] is adam.reddi_explorer


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.9, 0.9), (0.5, 0.99)])
def test_uncorrected_steps_follow_the_closed_form(beta1, beta2):
    t = np.arange(1, 51)
    expected = (1 - beta1**t) / np.sqrt(1 - beta2**t)
    got = adam.step_ratios(50, bias_correction=False, beta1=beta1, beta2=beta2)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_corrected_steps_are_exactly_lr_for_a_constant_gradient():
    np.testing.assert_allclose(adam.step_ratios(30, bias_correction=True), 1.0, rtol=1e-12)


def test_adam_without_bias_correction_follows_the_contract_and_differs_from_adam():
    p, g = np.array([1.0, -2.0], dtype=np.float32), np.array([0.5, 0.1], dtype=np.float32)
    p0, g0 = p.copy(), g.copy()
    new, state = adam.adam_without_bias_correction(p, g, {}, lr=0.1)
    assert new.shape == p.shape and new.dtype == p.dtype and set(state) == {"t", "m", "v"}
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(g, g0)
    corrected, _ = kernels.adam(p, g, {}, lr=0.1)
    # first step: 0.1 * (1 - 0.9) g / sqrt((1 - 0.999) g^2) = 0.1 * 0.1 / sqrt(0.001) per coordinate
    np.testing.assert_allclose(p - new, 0.1 * 0.1 / np.sqrt(0.001) * np.sign(g), rtol=1e-4)
    np.testing.assert_allclose(p - corrected, 0.1 * np.sign(g), rtol=1e-4)


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


def test_steady_step_ratio_is_g_over_g_plus_eps():
    g = np.array([1e-10, 1e-8, 1e-6, 1.0])
    np.testing.assert_allclose(adam.steady_step_ratio(g, 1e-8), g / (g + 1e-8), rtol=1e-6)


def test_eps_figure_has_one_labelled_line_per_eps():
    fig = adam.eps_figure((1e-8, 1e-2))
    labels = [l.get_label() for l in fig.axes[0].get_lines() if not str(l.get_label()).startswith("_")]
    assert labels == ["ε = 1e-08", "ε = 0.01"]
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel() and fig.axes[0].get_title()


def test_on_reddi_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    runs = adam.reddi_runs(0.1)
    assert runs["adam"].params[-1, 0] > 0.95
    assert runs["amsgrad"].params[-1, 0] < -0.95


def test_average_regret_of_adam_stays_at_two_thirds_of_c_minus_two():
    runs = adam.reddi_runs(0.1, C=3.0)
    assert adam.average_regret(runs["adam"], C=3.0)[-1] == pytest.approx(2 * (3 - 2) / 3, abs=0.03)
    assert adam.average_regret(runs["amsgrad"], C=3.0)[-1] < 0.1


def test_raising_beta2_in_the_explorer_sends_adam_to_the_best_point():
    explorer = adam.reddi_explorer()
    assert _line(explorer.figure, 0, "adam").get_ydata()[-1] > 0.95
    explorer.set(beta2=0.99)
    assert _line(explorer.figure, 0, "adam").get_ydata()[-1] < -0.95
    assert "β₂ = 0.99" in explorer.figure.axes[0].get_title()
    assert explorer.redraws == 2

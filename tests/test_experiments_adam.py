"""Lesson 06's experiments: Adam's step sizes with and without bias correction, ε, and Reddi et al.'s problem."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import adam


@pytest.mark.parametrize("beta1, beta2", [(0.9, 0.999), (0.9, 0.9), (0.5, 0.99)])
def test_uncorrected_steps_follow_the_closed_form(beta1, beta2):
    t = np.arange(1, 51)
    expected = (1 - beta1**t) / np.sqrt(1 - beta2**t)
    got = adam.step_ratios(50, bias_correction=False, beta1=beta1, beta2=beta2)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_corrected_steps_are_exactly_lr_for_a_constant_gradient():
    np.testing.assert_allclose(adam.step_ratios(30, bias_correction=True), 1.0, rtol=1e-12)


def test_steady_step_ratio_is_g_over_g_plus_eps():
    g = np.array([1e-10, 1e-8, 1e-6, 1.0])
    np.testing.assert_allclose(adam.steady_step_ratio(g, 1e-8), g / (g + 1e-8), rtol=1e-6)


def test_on_reddi_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    runs = adam.reddi_runs(0.1)
    assert runs["adam"].params[-1, 0] > 0.95
    assert runs["amsgrad"].params[-1, 0] < -0.95


def test_average_regret_of_adam_stays_at_two_thirds_of_c_minus_two():
    runs = adam.reddi_runs(0.1, C=3.0)
    assert adam.average_regret(runs["adam"], C=3.0)[-1] == pytest.approx(2 * (3 - 2) / 3, abs=0.03)
    assert adam.average_regret(runs["amsgrad"], C=3.0)[-1] < 0.1


def test_the_first_steps_without_bias_correction_leave_the_bowl_faster():
    """On the lesson's bowl, Adam's first step is α per coordinate; without correction it is 3.16α (β₂ = 0.999)."""
    corrected = adam.bias_correction_run(True, lr=0.2, steps=3).params
    uncorrected = adam.bias_correction_run(False, lr=0.2, steps=3).params
    x0 = adam.PATH_PROBLEM.x0
    np.testing.assert_allclose(np.abs(corrected[1] - x0), 0.2, rtol=1e-5)
    np.testing.assert_allclose(np.abs(uncorrected[1] - x0), 0.2 * 0.1 / np.sqrt(0.001), rtol=1e-5)

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


# -- the largest step, and AMSGrad as Reddi et al. wrote it --------------------------------------------
def test_step_bound_is_alpha_at_the_first_step_and_tends_to_the_cauchy_schwarz_limit():
    assert adam.step_bound(1) == pytest.approx(1.0)
    limit = 0.1 / np.sqrt(0.001 * (1 - 0.81 / 0.999))
    assert adam.step_bound() == pytest.approx(limit) and adam.step_bound(100000) == pytest.approx(limit, rel=1e-6)
    assert adam.step_bound(beta1=0.99, beta2=0.9) == float("inf")  # β₁² ≥ β₂: no bound at all
    with pytest.raises(ValueError, match="from 1"):
        adam.step_bound(0)


def test_worst_case_gradients_reach_the_bound_and_end_at_one():
    grads = adam.worst_case_gradients(300)
    assert grads[-1] == 1.0 and grads[-2] == pytest.approx(0.9 / 0.999)
    assert adam.adam_step_ratios(grads)[-1] == pytest.approx(adam.step_bound(300), rel=1e-9)


def test_one_gradient_after_zeros_gets_kingma_and_bas_bound_times_the_bias_corrections():
    k = np.array([0, 10, 1000])
    t = k + 1
    expected = 0.1 / np.sqrt(0.001) * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
    np.testing.assert_allclose(adam.step_after_silence(k), expected, rtol=1e-9)


def test_amsgrad_paper_has_no_bias_correction_and_keeps_the_largest_v():
    state, p = {}, np.zeros(2)
    m = v = v_max = np.zeros(2)
    for g in (np.array([1.0, -2.0]), np.array([0.1, 0.0]), np.array([-3.0, 1.0])):
        p_new, state = adam.amsgrad_paper(p, g, state, lr=0.1, beta1=0.5, beta2=0.9)
        m, v = 0.5 * m + 0.5 * g, 0.9 * v + 0.1 * g * g
        v_max = np.maximum(v_max, v)
        np.testing.assert_allclose(p_new, p - 0.1 * m / np.sqrt(v_max), rtol=1e-12)
        np.testing.assert_allclose(state["v_max"], v_max)
        p = p_new
    forms = adam.amsgrad_step_ratios(np.ones(5))
    np.testing.assert_allclose(forms["pytorch"], 1.0)  # bias correction makes a steady gradient's step α
    assert forms["paper"][0] == pytest.approx(0.1 / np.sqrt(0.001))

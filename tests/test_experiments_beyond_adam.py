"""Lesson 07's experiments: L2 decay inside Adam against AdamW, schedules on a noisy problem, Wilson et al.'s data."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import beyond_adam


def test_adamw_shrinks_every_group_by_one_minus_lr_lambda_per_step():
    # Adam's step on pure noise is odd in the noise, and each draw is paired with its negative,
    # so the mean weight under AdamW is exactly (1 - lr * lambda)^t.
    lr, lam, steps = 0.01, 0.3, 200
    runs = beyond_adam.decay_runs(lam, lr=lr, steps=steps)
    expected = (1 - lr * lam) ** np.arange(steps + 1)
    np.testing.assert_allclose(runs["adamw"], np.repeat(expected[:, None], 4, axis=1), rtol=1e-9)


def test_adam_l2_decay_is_divided_by_the_gradient_size():
    lr, lam = 0.02, 0.1
    runs = beyond_adam.decay_runs(lam, lr=lr)
    measured = (1 - runs["adam + L2"][20]) / 20
    predicted = lr * lam / np.hypot(np.array(beyond_adam.GRADIENT_SCALES), lam)  # v_hat ~ s^2 + lambda^2
    np.testing.assert_allclose(measured, predicted, rtol=0.1)
    final = runs["adam + L2"][-1]
    assert final[-1] > 0.9 > runs["adamw"][-1, -1]        # large-gradient weights barely decayed
    assert abs(final[0]) < 0.05 < runs["adamw"][-1, 0]     # small-gradient weights collapse


def test_warm_up_rescues_a_peak_lr_at_which_constant_and_cosine_diverge():
    assert beyond_adam.schedule_run("constant", 0.04).diverged
    assert beyond_adam.schedule_run("cosine", 0.04).diverged
    warm = beyond_adam.schedule_run("warm-up (30 steps) + cosine", 0.04)
    assert not warm.diverged and np.mean(warm.losses[-20:]) < 1e-2


def test_decaying_schedules_end_below_the_constant_noise_floor():
    floor = np.mean(beyond_adam.schedule_run("constant", 0.02).losses[-20:])
    for name in ("step decay (×0.3 every 100 steps)", "cosine"):
        assert np.mean(beyond_adam.schedule_run(name, 0.02).losses[-20:]) < floor / 5


def test_unknown_schedule_is_named_in_the_error():
    with pytest.raises(KeyError, match="unknown schedule 'linear'"):
        beyond_adam.schedule_run("linear", 0.01)


def test_wilson_errors_of_hand_made_solutions():
    data, traces = beyond_adam.wilson_runs()
    d = data.X_train.shape[1]
    label_only = np.zeros(d)
    label_only[0] = 1.0  # feature 1 is the label: no mistakes anywhere
    adaptive = data.problem().extras["adaptive_solution"]
    trace = type("T", (), {"params": np.array([label_only, adaptive])})()
    errors = beyond_adam.wilson_errors(data, trace)
    assert errors["train"].tolist() == [0.0, 0.0]
    assert errors["test"][0] == 0.0
    assert errors["test"][1] == pytest.approx(np.mean(data.y_test < 0))


def test_on_wilsons_data_adaptive_methods_fit_but_do_not_generalise():
    data, traces = beyond_adam.wilson_runs()
    for rule, trace in traces.items():
        errors = beyond_adam.wilson_errors(data, trace)
        assert errors["train"][-1] == 0.0, rule
        expected = 0.0 if rule in ("sgd", "momentum") else np.mean(data.y_test < 0)
        assert errors["test"][-1] == pytest.approx(expected), rule


def test_adamw_paper_scales_the_decay_by_the_schedule_multiplier_not_the_learning_rate():
    p = np.array([2.0, -1.0])
    g = np.zeros(2)
    for lr in (1e-3, 1.0):
        new, _ = beyond_adam.adamw_paper(p, g, {}, lr=lr, weight_decay=0.1, multiplier=0.5)
        np.testing.assert_allclose(new, p * (1 - 0.5 * 0.1))  # zero gradient: only the decay, η λ p
    kept = beyond_adam.pure_decay((1e-3, 1e-1), weight_decay=0.01, steps=100)
    np.testing.assert_allclose(kept["paper"], [0.99**100] * 2, rtol=1e-12)
    np.testing.assert_allclose(kept["pytorch"], [(1 - 1e-5) ** 100, (1 - 1e-3) ** 100], rtol=1e-12)
    assert beyond_adam.adamw_forms_gap(0.01, 0.1) < 1e-12

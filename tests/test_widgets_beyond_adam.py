"""Lesson 07's explorers and figures: L2 against decoupled decay, schedules, Wilson et al."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import widgets
from optilab.widgets import beyond_adam


def test_explorers_are_registered():
    names = widgets.registry()
    assert names["07-weight-decay"] is beyond_adam.weight_decay_explorer
    assert names["07-schedules"] is beyond_adam.schedule_explorer


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


def test_moving_lambda_moves_the_adamw_lines_onto_the_reference():
    explorer = beyond_adam.weight_decay_explorer(weight_decay=0.1)
    explorer.set(weight_decay=0.3)
    adamw_axes = explorer.figure.axes[1]
    lines = [l for l in adamw_axes.get_lines() if str(l.get_label()).startswith("gradient noise")]
    assert len(lines) == 4
    for line in lines:
        assert line.get_ydata()[-1] == pytest.approx((1 - 0.02 * 0.3) ** 300, rel=1e-9)
    assert "λ = 0.3" in explorer.figure.get_suptitle()


def test_warm_up_rescues_a_peak_lr_at_which_constant_and_cosine_diverge():
    assert beyond_adam.schedule_run("constant", 0.04).diverged
    assert beyond_adam.schedule_run("cosine", 0.04).diverged
    warm = beyond_adam.schedule_run("warm-up (30 steps) + cosine", 0.04)
    assert not warm.diverged and np.mean(warm.losses[-20:]) < 1e-2


def test_decaying_schedules_end_below_the_constant_noise_floor():
    floor = np.mean(beyond_adam.schedule_run("constant", 0.02).losses[-20:])
    for name in ("step decay (×0.3 every 100 steps)", "cosine"):
        assert np.mean(beyond_adam.schedule_run(name, 0.02).losses[-20:]) < floor / 5


def test_schedule_explorer_reports_divergence_and_redraws_the_schedule():
    explorer = beyond_adam.schedule_explorer(schedule="warm-up (30 steps) + cosine", lr=0.04)
    lr_axes = explorer.figure.axes[0]
    chosen = next(l for l in lr_axes.get_lines() if l.get_label() == "chosen schedule")
    assert chosen.get_ydata()[0] == pytest.approx(0.04 / 30)
    explorer.set(schedule="constant")
    labels = [t.get_text() for t in explorer.figure.axes[1].get_legend().get_texts()]
    assert labels[1] == "constant: diverged"
    explorer.set(lr=0.01)
    labels = [t.get_text() for t in explorer.figure.axes[1].get_legend().get_texts()]
    assert labels[1].startswith("constant: final loss")


def test_schedules_figure_draws_each_schedule():
    ax = beyond_adam.schedules_figure(lr=0.04, steps=300).axes[0]
    lines = {l.get_label(): l.get_ydata() for l in ax.get_lines()}
    assert set(lines) == set(beyond_adam.SCHEDULES)
    assert np.all(np.asarray(lines["constant"]) == 0.04)
    assert lines["cosine"][0] == pytest.approx(0.04) and lines["cosine"][-1] < 1e-5
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


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


def test_wilson_figure_bars_show_final_errors():
    data, traces = beyond_adam.wilson_runs()
    fig = beyond_adam.wilson_figure(data, traces)
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert len(heights) == 2 * len(traces)
    test_heights = heights[len(traces):]
    assert test_heights[list(traces).index("adam")] == pytest.approx(np.mean(data.y_test < 0))
    assert test_heights[list(traces).index("sgd")] == 0.0

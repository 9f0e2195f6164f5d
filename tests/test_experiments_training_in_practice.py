"""Lesson 10's experiments: the claims the lesson will make, asserted from the computed values."""

from __future__ import annotations

import numpy as np
import pytest

from optilab.experiments import training_in_practice as E

LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


@pytest.fixture(scope="module")
def by_lr():
    return {lr: E.interval(E.validation_losses(lr)) for lr in LRS}


def test_the_split_is_lab_7s_and_the_test_set_is_held_out():
    mlp, (X_fit, y_fit, X_val, y_val) = E.setup()
    assert mlp.sizes == E.SIZES and X_fit.shape[1] == 30
    assert len(X_fit) == 341 and len(X_val) == 114  # of 569: 455 to develop with (341 fit, 114 validation), 114 held out
    np.testing.assert_allclose(X_fit.mean(axis=0), 0.0, atol=1e-12)


def test_the_range_tests_suggestions_land_among_the_learning_rates_that_train_best(by_lr):
    """Both suggestions lie between the good rates, where the mean validation loss is within the best
    rate's 95 % interval, and away from the rates outside it."""
    result = E.range_test()
    best = min(by_lr, key=lambda lr: by_lr[lr][0])
    ceiling = by_lr[best][0] + by_lr[best][1]
    good = [lr for lr in LRS if by_lr[lr][0] <= ceiling]
    assert good == [0.1, 0.3, 1.0], by_lr
    for suggestion in (result.steep, result.minimum):
        assert min(good) * 0.9 <= suggestion <= max(good), (suggestion, good)
    assert result.stopped_early  # the loss blew up before lr = 100


def test_starting_low_rescues_a_peak_rate_too_large_for_a_constant_schedule(by_lr):
    constant = E.validation_losses(3.0)
    assert by_lr[3.0][0] > by_lr[0.3][0] + by_lr[0.3][1]  # 3 is too large held constant
    for name in ("warm-up + cosine", "one-cycle", "warm-up, stable, decay"):
        losses = E.validation_losses(3.0, name)
        assert losses.mean() < 0.75 * constant.mean(), name
        assert np.sum(losses < constant) >= 4, name  # paired by seed: better for (almost) every seed
    assert np.all(E.validation_losses(3.0, "warm-up + cosine") < constant)


def test_the_update_to_weight_ratio_grows_with_the_learning_rate():
    medians = {lr: np.median(E.update_ratios(lr)["W1"]) for lr in (0.1, 1.0, 10.0)}
    assert 1e-3 <= medians[0.1] <= 3e-2  # near CS231n's 1e-3 at a rate that trains well
    assert medians[0.1] < medians[1.0] < medians[10.0] and medians[10.0] > 5 * medians[0.1]


def test_unknown_schedules_are_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        E.validation_losses(1.0, "cosine with restarts")


def test_clipping_array_by_array_turns_the_step_and_global_clipping_does_not():
    steps = E.clipping_directions(weight_norm=100.0, bias_norm=0.5, max_norm=1.0)
    assert steps["global"][0] == pytest.approx(1.0, rel=1e-12) and steps["global"][1] == pytest.approx(1.0, rel=1e-12)
    # per array: the weight's part scaled to 1, the bias's kept at 0.5; cos = (100·1 + 0.5·0.5)/(‖(100, 0.5)‖·‖(1, 0.5)‖)
    expected = (100 * 1 + 0.5 * 0.5) / (np.hypot(100, 0.5) * np.hypot(1, 0.5))
    assert steps["per array"][1] == pytest.approx(expected, rel=1e-12) and steps["per array"][1] < 0.9

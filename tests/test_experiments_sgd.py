"""Lesson 02's experiment: the vectorised minibatch-SGD runs are the library's training runs, row by row."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import data, models, schedules
from optilab.experiments import sgd
from optilab.training import train


@pytest.fixture(scope="module")
def split():
    X, y = data.load_breast_cancer()
    s = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = data.standardize(s.X_train, s.X_test)
    return X_train, s.y_train, X_test, s.y_test


def at_epoch_ends(curves):
    """The losses of each row at whole epochs 0, 1, 2, ..."""
    idx = [int(np.argmin(np.abs(curves.epochs - e))) for e in range(int(round(curves.epochs[-1])) + 1)]
    assert np.allclose(curves.epochs[idx], np.arange(len(idx)))
    return curves.losses[:, idx]


def test_the_split_is_the_lessons_standardized_breast_cancer_split(split):
    ours = sgd.breast_cancer_split()
    np.testing.assert_array_equal(ours.X_train, split[0])
    np.testing.assert_array_equal(ours.y_test, split[3])
    assert ours.X_train.shape == (426, 30)


@pytest.mark.parametrize("batch_size", [1, 16, 426])
def test_curves_equal_training_with_the_library_loop(split, batch_size):
    """Every row of the vectorised runs is the run train() makes with Optimizer, kernels.sgd and the model."""
    lrs = (0.03, 0.3)
    curves = sgd.sgd_curves(batch_size, lrs=lrs, epochs=2)
    model = models.LogisticRegression(30)
    for k, lr in enumerate(lrs):
        history = train("sgd", model, split, epochs=2, batch_size=batch_size, lr=lr, seed=0)
        np.testing.assert_allclose(at_epoch_ends(curves)[k], history.train_loss, rtol=1e-10, atol=1e-12)


def test_decayed_curves_equal_training_with_the_inverse_time_schedule(split):
    curves = sgd.sgd_curves(4, lrs=(0.5,), epochs=2, decay=True)
    schedule = schedules.inverse_time(0.5, 1.0, decay_steps=107)  # ⌈426 / 4⌉ steps per epoch
    history = train("sgd", models.LogisticRegression(30), split, epochs=2, batch_size=4, lr=schedule, seed=0)
    np.testing.assert_allclose(at_epoch_ends(curves)[0], history.train_loss, rtol=1e-10, atol=1e-12)


def test_per_epoch_smaller_batches_get_further_at_a_fixed_lr():
    k = sgd.LRS.index(0.1)
    finals = [sgd.sgd_curves(B).final[k] for B in sgd.BATCH_SIZES]  # B = 1, 4, 16, 64, 426
    assert all(a < b for a, b in zip(finals, finals[1:])), finals


def test_the_best_lr_grows_with_the_batch_size():
    best = [sgd.LRS[int(np.argmin(sgd.sgd_curves(B).final))] for B in (1, 4, 16, 64)]
    assert all(a < b for a, b in zip(best, best[1:])), best


def test_decay_beats_a_constant_large_lr_for_one_example_sgd():
    k = sgd.LRS.index(1.0)
    assert sgd.sgd_curves(1, decay=True).final[k] < 0.5 * sgd.sgd_curves(1).final[k]


def test_a_batch_size_larger_than_the_training_set_is_a_clear_error():
    with pytest.raises(ValueError, match="between 1 and 426"):
        sgd.sgd_curves(1000)


# -- per second ----------------------------------------------------------------------------------------
def test_race_keeps_for_each_batch_size_the_grid_lr_that_reaches_the_target_in_fewest_steps():
    race = sgd.race(batch_sizes=(16, 426), target=0.08, repeats=1)
    for B, entry in race.items():
        curves = sgd.sgd_curves(B, sgd.LRS, 40 if B == 426 else sgd.EPOCHS, points_per_epoch=10 if B < 426 else 1)
        steps = np.round(curves.epochs * -(-426 // B))
        first = [steps[np.flatnonzero(row <= 0.08)[0]] if np.any(row <= 0.08) else np.inf for row in curves.losses]
        assert entry.steps_to_target == min(first)
        assert first[list(curves.lrs).index(entry.lr)] == min(first)
        np.testing.assert_allclose(entry.seconds, entry.steps * entry.seconds_per_step)
    assert race[16].epochs_to_target < race[426].epochs_to_target  # per epoch, the minibatch gets there first


def test_seconds_per_step_is_a_positive_measurement_and_rejects_an_impossible_batch():
    assert sgd.seconds_per_step(16, repeats=1) > 0
    with pytest.raises(ValueError, match="batch_size must be between 1 and 426"):
        sgd.seconds_per_step(0)


def test_the_best_learning_rate_moves_right_as_the_batch_grows_from_1_to_64():
    """Lesson 02's explorer, 'things to try' 2: the α of the lowest final loss, per batch size."""
    best = [sgd.LRS[int(np.nanargmin(sgd.sgd_curves(B).final))] for B in (1, 4, 16, 64)]
    assert best == sorted(best) and len(set(best)) == 4, best

"""The minibatch-SGD explorer of lesson 02: its precomputed runs are real training runs, and its controls move them."""

from __future__ import annotations

import numpy as np
import pytest

import optilab.widgets
from optilab import data, models, schedules
from optilab.training import train
from optilab.widgets import sgd


@pytest.fixture(scope="module")
def split():
    X, y = data.load_breast_cancer()
    s = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = data.standardize(s.X_train, s.X_test)
    return X_train, s.y_train, X_test, s.y_test


@pytest.fixture(scope="module")
def explorer():
    return sgd.batch_size_explorer()


def at_epoch_ends(curves):
    """The losses of each row at whole epochs 0, 1, 2, ..."""
    idx = [int(np.argmin(np.abs(curves.epochs - e))) for e in range(int(round(curves.epochs[-1])) + 1)]
    assert np.allclose(curves.epochs[idx], np.arange(len(idx)))
    return curves.losses[:, idx]


def test_registered_under_its_lesson_name():
    assert optilab.widgets.registry()["02-sgd-batch-size"] is sgd.batch_size_explorer


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


def lines(explorer):
    left, right = explorer.figure.axes
    minibatch = left.lines[1]
    full = left.lines[0]
    marker = right.lines[-1]
    return minibatch, full, marker


def test_moving_batch_size_and_lr_shows_that_run(explorer):
    explorer.set(batch_size=4, lr=sgd.LRS[6], decay=False)
    minibatch, full, marker = lines(explorer)
    expected = sgd.sgd_curves(4)
    np.testing.assert_array_equal(minibatch.get_xdata(), expected.epochs)
    np.testing.assert_array_equal(minibatch.get_ydata(), expected.losses[6])
    np.testing.assert_array_equal(full.get_ydata(), sgd.sgd_curves(426).losses[6])
    assert marker.get_xdata()[0] == sgd.LRS[6] and marker.get_ydata()[0] == expected.final[6]
    explorer.set(batch_size=1)
    np.testing.assert_array_equal(lines(explorer)[0].get_ydata(), sgd.sgd_curves(1).losses[6])
    assert "B = 1, α = " in explorer.figure.axes[0].get_legend().get_texts()[1].get_text()


def test_decay_box_switches_to_the_decayed_runs(explorer):
    explorer.set(batch_size=16, lr=1.0, decay=False)
    constant = lines(explorer)[0].get_ydata().copy()
    explorer.set(decay=True)
    decayed = lines(explorer)[0].get_ydata()
    k = sgd.LRS.index(1.0)
    np.testing.assert_array_equal(decayed, sgd.sgd_curves(16, decay=True).losses[k])
    assert not np.array_equal(constant, decayed)
    assert "decays" in explorer.figure.axes[0].get_title()


def test_an_lr_off_the_grid_uses_the_nearest_run():
    figure = sgd.BatchSizeFigure()
    figure.draw(16, 0.11)
    assert figure.marker.get_xdata()[0] == 0.1


def test_bad_batch_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="batch_size must be one of"):
        sgd.batch_size_explorer(batch_size=3)
    with pytest.raises(ValueError, match="between 1 and 426"):
        sgd.sgd_curves(1000)

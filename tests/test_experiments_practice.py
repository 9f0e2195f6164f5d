"""Lesson 08's experiment: the cached sweep of every optimizer on the digits, and what the lesson reads off it."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import data, models, training
from optilab.experiments import practice


def _history(test_accuracy, train_loss=(2.0, 1.0), diverged=False):
    acc = np.array(test_accuracy, dtype=float)
    return training.History(train_loss=np.array(train_loss), test_loss=np.array(train_loss),
                            train_accuracy=acc, test_accuracy=acc, step_loss=np.array([1.0]), lrs=np.array([0.1]),
                            params={}, rule="x", diverged=diverged, seconds=0.0)


@pytest.fixture(scope="module")
def small():
    return practice.sweep(rules=("sgd", "adam"), lrs=(0.01, 0.1), epochs=1)


def test_digits_are_standardised_with_the_training_statistics():
    X_train, y_train, X_test, y_test = practice.digits()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert len(y_train) == 1347 and len(y_test) == 450
    varying = X_train.std(axis=0) > 0
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(axis=0)[varying], 1, rtol=1e-12)
    assert not np.allclose(X_test.mean(axis=0), 0)


def test_every_run_starts_from_the_same_parameters_and_is_cached(small):
    assert set(small) == {("sgd", 0.01), ("sgd", 0.1), ("adam", 0.01), ("adam", 0.1)}
    starts = {h.train_loss[0] for h in small.values()}
    assert len(starts) == 1
    assert practice.sweep(rules=("sgd", "adam"), lrs=(0.01, 0.1), epochs=1) is small
    assert len({h.train_loss[-1] for h in small.values()}) == 4


def test_final_is_nan_for_a_diverged_run():
    assert np.isnan(practice.final(_history([0.1, 0.9], diverged=True)))
    assert practice.final(_history([0.1, 0.9])) == 0.9
    assert practice.final(_history([0.1, 0.9], train_loss=(2.0, 0.5)), "training loss") == 0.5
    with pytest.raises(KeyError, match="unknown metric 'accuracy'"):
        practice.final(_history([0.1]), "accuracy")


def test_best_lr_prefers_the_best_accuracy_and_never_a_diverged_run():
    results = {("sgd", 0.01): _history([0.1, 0.6]), ("sgd", 0.1): _history([0.1, 0.8]),
               ("sgd", 1.0): _history([0.1, 0.99], diverged=True)}
    assert practice.best_lr(results, "sgd") == 0.1
    assert practice.best_lr(results, "sgd", "training loss") in (0.01, 0.1)
    with pytest.raises(KeyError, match="no runs of 'adam'"):
        practice.best_lr(results, "adam")


def test_summary_counts_the_learning_rates_close_to_the_best():
    results = {("adam", 0.001): _history([0.1, 0.90]), ("adam", 0.01): _history([0.1, 0.95]),
               ("adam", 0.1): _history([0.1, 0.94]), ("adam", 1.0): _history([0.1, 0.2], diverged=True)}
    (row,) = practice.summary(results, tolerance=0.02)
    assert row["rule"] == "adam" and row["best lr"] == 0.01 and row["test accuracy"] == 0.95
    assert row["lrs within tolerance"] == 2 and row["lrs tried"] == 4


def test_a_run_of_the_sweep_is_the_library_training_run_of_the_lessons_mlp():
    """The sweep adds no loop of its own: its (adam, 0.01) run is train() of a tanh MLP 64-32-10 on the digits."""
    X, y = data.load_digits()
    split = data.train_test_split(X, y, test_fraction=0.25, seed=0)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    net = models.MLP((64, 32, 10), activation="tanh")
    history = training.train("adam", net, (X_train, split.y_train, X_test, split.y_test), epochs=1,
                             batch_size=128, lr=0.01, seed=0)
    ours = practice.sweep(rules=("sgd", "adam"), lrs=(0.01, 0.1), epochs=1)["adam", 0.01]
    np.testing.assert_allclose(ours.train_loss, history.train_loss, rtol=1e-12)
    np.testing.assert_allclose(ours.test_accuracy, history.test_accuracy, rtol=1e-12)

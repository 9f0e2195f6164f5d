"""Lesson 08: the cached sweep of every optimizer on the digits, its summaries, and the explorer."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import training, widgets
from optilab.widgets import practice


def _history(test_accuracy, train_loss=(2.0, 1.0), diverged=False):
    acc = np.array(test_accuracy, dtype=float)
    return training.History(train_loss=np.array(train_loss), test_loss=np.array(train_loss),
                            train_accuracy=acc, test_accuracy=acc, step_loss=np.array([1.0]), lrs=np.array([0.1]),
                            params={}, rule="x", diverged=diverged, seconds=0.0)


@pytest.fixture(scope="module")
def small():
    return practice.sweep(rules=("sgd", "adam"), lrs=(0.01, 0.1), epochs=1)


def test_explorer_is_registered():
    assert widgets.registry()["08-optimizers"] is practice.optimizer_explorer


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


def test_figures_have_labelled_axes_and_a_line_per_rule(small):
    fig = practice.sweep_figure(small)
    ax = fig.axes[0]
    assert [l.get_label() for l in ax.get_lines()] == ["sgd", "adam"]
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    fig = practice.curves_figure(small, {"sgd": 0.1, "adam": 0.01})
    np.testing.assert_allclose(fig.axes[1].get_lines()[0].get_ydata(), small["sgd", 0.1].test_accuracy)
    assert fig.axes[1].get_legend() is not None


@pytest.fixture(scope="module")
def explorer():
    return practice.optimizer_explorer()


def test_explorer_shows_only_the_chosen_optimizers(explorer):
    explorer.set(rules=("adam",), lr="best for each", metric="test accuracy")
    visible = [l.get_label() for l in explorer.figure.axes[0].get_lines() if l.get_visible()]
    assert len(visible) == 1 and visible[0].startswith("adam, α = ")


def test_explorer_picks_the_run_of_the_chosen_learning_rate_and_metric(explorer):
    results = practice.sweep()
    explorer.set(rules=("sgd", "adam"), lr=1.0)
    curve = next(l for l in explorer.figure.axes[0].get_lines() if l.get_visible() and "adam" in l.get_label())
    np.testing.assert_allclose(curve.get_ydata(), results["adam", 1.0].test_accuracy)
    explorer.set(metric="training loss")
    curve = next(l for l in explorer.figure.axes[0].get_lines() if l.get_visible() and "adam" in l.get_label())
    np.testing.assert_allclose(curve.get_ydata(), results["adam", 1.0].train_loss)
    assert explorer.figure.axes[0].get_yscale() == "log"


def test_explorer_best_choice_is_the_best_of_the_sweep(explorer):
    results = practice.sweep()
    explorer.set(rules=tuple(practice.RULES), lr="best for each", metric="test accuracy")
    for rule in practice.RULES:
        best = max(practice.final(h) for (r, lr), h in results.items() if r == rule and not h.diverged)
        label = next(l.get_label() for l in explorer.figure.axes[0].get_lines() if l.get_label().startswith(rule + ","))
        shown = float(label.split("α = ")[1])
        assert practice.final(results[rule, shown]) == best

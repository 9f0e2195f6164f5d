r"""Lesson 08's experiment: every rule trains one MLP on the digits, over a grid of learning rates.

* :func:`sweep` — ``{(rule, lr): History}`` for the rules the lessons teach (:data:`RULES_COMPARED`, from
  :mod:`optilab.rules`) and the learning rates of :data:`LRS`, each run made once by
  :func:`optilab.training.train` and cached.
* :func:`final`, :func:`best_lr`, :func:`summary` — what the lesson reads off the runs.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import numpy as np

from optilab import data, models, training
from optilab import rules as _table

__all__ = [
    "RULES_COMPARED",
    "LRS",
    "SIZES",
    "EPOCHS",
    "BATCH_SIZE",
    "METRICS",
    "digits",
    "model",
    "sweep",
    "describe_metric",
    "final",
    "best_lr",
    "summary",
]

#: The optimizers compared: every rule a lesson teaches (the rule table's ``lesson``).
RULES_COMPARED: tuple[str, ...] = tuple(rule.name for rule in _table.TABLE if rule.lesson is not None)
#: The learning-rate grid of the sweep: one point per decade.
LRS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
#: The MLP: 64 pixels, one hidden layer of 32 tanh units, 10 classes.
SIZES: tuple[int, ...] = (64, 32, 10)
#: Passes over the training set per run, and examples per step.
EPOCHS, BATCH_SIZE = 4, 128
#: The metrics the lesson reads: name -> (History attribute, label, larger is better).
METRICS: dict[str, tuple[str, str, bool]] = {
    "test accuracy": ("test_accuracy", "test accuracy", True),
    "training loss": ("train_loss", "training loss (cross-entropy)", False),
}


@functools.lru_cache(maxsize=1)
def digits(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The UCI digits split 75/25 and standardised with the training set's statistics.

    Returns ``(X_train, y_train, X_test, y_test)``, as :func:`optilab.training.train` takes it.
    """
    X, y = data.load_digits()
    split = data.train_test_split(X, y, test_fraction=0.25, seed=seed)
    X_train, X_test = data.standardize(split.X_train, split.X_test)
    return X_train, split.y_train, X_test, split.y_test


def model() -> models.MLP:
    """The lesson's classifier, ``MLP(SIZES)`` with tanh."""
    return models.MLP(SIZES, activation="tanh")


@functools.lru_cache(maxsize=4)
def sweep(rules: tuple[str, ...] = RULES_COMPARED, lrs: tuple[float, ...] = LRS, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE, seed: int = 0) -> dict[tuple[str, float], training.History]:
    """Train :func:`model` on :func:`digits` with every rule at every learning rate, once.

    Every run starts from the same initial parameters and sees the same minibatches (``seed``),
    so the runs differ only in the optimizer and its learning rate. Cached.

    Returns
    -------
    dict of (rule, lr) to History
    """
    net, split = model(), digits()
    return {(rule, lr): training.train(rule, net, split, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed)
            for rule in rules for lr in lrs}


def final(history: training.History, metric: str = "test accuracy") -> float:
    """The metric after the last epoch; NaN for a run that diverged."""
    attribute, _, _ = describe_metric(metric)
    values = getattr(history, attribute)
    return float("nan") if history.diverged or values is None else float(values[-1])


def describe_metric(metric: str) -> tuple[str, str, bool]:
    """``METRICS[metric]``: the History attribute, a label, and whether larger is better."""
    if metric not in METRICS:
        raise KeyError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    return METRICS[metric]


def best_lr(results: Mapping[tuple[str, float], training.History], rule: str, metric: str = "test accuracy") -> float:
    """The grid learning rate with the best final ``metric`` for ``rule`` (diverged runs never win)."""
    _, _, larger = describe_metric(metric)
    candidates = {lr: final(h, metric) for (r, lr), h in results.items() if r == rule}
    if not candidates:
        raise KeyError(f"no runs of {rule!r} in the results; they have {sorted({r for r, _ in results})}")
    scores = {lr: (v if larger else -v) for lr, v in candidates.items() if np.isfinite(v)}
    if not scores:
        raise ValueError(f"every run of {rule!r} diverged")
    return max(scores, key=scores.get)


def summary(results: Mapping[tuple[str, float], training.History], tolerance: float = 0.02) -> list[dict[str, Any]]:
    """One row per rule: the best lr, its test accuracy, and how many grid lrs come within ``tolerance`` of it.

    The count measures sensitivity to the learning rate: the more grid points within
    ``tolerance`` (in accuracy) of the best, the wider the range of learning rates that work.
    """
    rows = []
    for rule in dict.fromkeys(r for r, _ in results):
        lr = best_lr(results, rule)
        best = final(results[rule, lr])
        accuracies = [final(h) for (r, _), h in results.items() if r == rule]
        rows.append({"rule": rule, "best lr": lr, "test accuracy": best,
                     "training loss": final(results[rule, lr], "training loss"),
                     "lrs within tolerance": int(sum(np.isfinite(a) and a >= best - tolerance for a in accuracies)),
                     "lrs tried": len(accuracies)})
    return rows

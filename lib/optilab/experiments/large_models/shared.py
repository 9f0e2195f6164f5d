"""What lesson 09's experiments share: the rules they run, found in the rule table, and the
digits and the MLP they train on."""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from optilab import data, kernels
from optilab import rules as _table


__all__ = ["rule_named", "schedule_free_rule", "matrix_rule", "SIZES", "digits_splits"]


def rule_named(name: str) -> Callable[..., tuple[np.ndarray, dict]]:
    """The reference rule ``optilab.kernels.<name>``, with a clear error when the library lacks it."""
    function = getattr(kernels, name, None)
    if function is None:
        raise LookupError(f"optilab.kernels has no rule {name!r}; the rules it has are {', '.join(kernels.RULES)}")
    return function


def schedule_free_rule() -> str:
    """The name of the rule table's schedule-free rule (the record with an ``evaluate_at``)."""
    found = [rule.name for rule in _table.TABLE if rule.evaluate_at]
    if not found:
        raise LookupError("the rule table has no schedule-free rule (no record with evaluate_at)")
    return found[0]


def matrix_rule() -> str:
    """The name of the rule table's matrix-only rule (Muon)."""
    found = [rule.name for rule in _table.TABLE if rule.params == "matrix"]
    if not found:
        raise LookupError("the rule table has no matrix-only rule (no record with params='matrix')")
    return found[0]



#: The lesson's MLP: 64 pixels, two hidden layers of 64 tanh units, 10 classes.
SIZES: tuple[int, ...] = (64, 64, 64, 10)


@functools.lru_cache(maxsize=1)
def digits_splits(seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The UCI digits split 60/20/20 into training, validation and test sets, standardised with the training set's statistics.

    Returns ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``.
    """
    X, y = data.load_digits()
    held = data.train_test_split(X, y, test_fraction=0.4, seed=seed)
    rest = data.train_test_split(held.X_test, held.y_test, test_fraction=0.5, seed=seed)
    X_train, _ = data.standardize(held.X_train)
    _, X_val = data.standardize(held.X_train, rest.X_train)
    _, X_test = data.standardize(held.X_train, rest.X_test)
    return (X_train, held.y_train), (X_val, rest.y_train), (X_test, rest.y_test)

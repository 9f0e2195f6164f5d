r"""What the grader knows about each rule of the contract: defaults, state keys and points.

The contract (CONTRACT.md at the root of the course) fixes, for every rule, the
hyperparameters with their defaults and the keys the returned state must hold. This module
writes that table down once, for the hidden suites, the visible checks and the diagnoses.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from optilab import kernels

__all__ = ["RULES", "DEFAULTS", "STATE_KEYS", "GROUPS", "reference", "require_rule"]

#: The contract's seven rules, in the order the course teaches them.
RULES: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")

#: The contract's hyperparameters and their defaults, rule by rule (``lr`` included).
DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"lr": 1e-2},
    "momentum": {"lr": 1e-2, "momentum": 0.9},
    "nesterov": {"lr": 1e-2, "momentum": 0.9},
    "adagrad": {"lr": 1e-2, "eps": 1e-10},
    "rmsprop": {"lr": 1e-2, "rho": 0.99, "eps": 1e-8},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
}

#: The keys the returned state must contain (it may contain more).
STATE_KEYS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("velocity",),
    "nesterov": ("velocity",),
    "adagrad": ("sum_sq",),
    "rmsprop": ("sq_avg",),
    "adam": ("t", "m", "v"),
    "adamw": ("t", "m", "v"),
}

_FOUR_GROUPS = {"first-step": 1, "many-steps": 2, "conventions": 2, "contract": 1}

#: Rule name -> {group name: points}. One nbgrader hidden-test cell per group; the
#: ``python -m optilab check`` score is the sum of the points of the groups that pass whole.
GROUPS: dict[str, dict[str, int]] = {
    "sgd": {"first-step": 1, "many-steps": 1, "contract": 1},
    "momentum": dict(_FOUR_GROUPS),
    "nesterov": dict(_FOUR_GROUPS),
    "adagrad": dict(_FOUR_GROUPS),
    "rmsprop": dict(_FOUR_GROUPS),
    "adam": dict(_FOUR_GROUPS),
    "adamw": dict(_FOUR_GROUPS),
}


def require_rule(rule: str) -> str:
    """Return ``rule`` if the contract has it; otherwise raise ValueError naming the valid ones."""
    if rule in RULES:
        return rule
    close = difflib.get_close_matches(str(rule), RULES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown rule {rule!r}: choose one of {', '.join(RULES)}.{hint}")


def reference(rule: str) -> Callable[..., tuple[Any, dict]]:
    """The reference rule of :mod:`optilab.kernels` for ``rule``."""
    return kernels.RULES[require_rule(rule)]

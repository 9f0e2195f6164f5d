r"""The grader's view of the rule table: the graded rules, their defaults, state keys and points.

Every value here is read from :mod:`optilab.rules` (one record per rule); nothing is written
twice. The contract (CONTRACT.md at the root of the course) is tested against the same table.
"""

from __future__ import annotations

from typing import Any, Callable

from optilab import rules as _table

__all__ = ["RULES", "DEFAULTS", "STATE_KEYS", "GROUPS", "reference", "require_rule", "record"]

#: The graded rules (the contract's), in the order the course teaches them.
RULES: tuple[str, ...] = _table.graded()

#: The contract's hyperparameters and their defaults, rule by rule (``lr`` included), read from
#: the reference rules' signatures.
DEFAULTS: dict[str, dict[str, Any]] = {name: _table.get(name).defaults for name in RULES}

#: The keys the returned state must contain (it may contain more).
STATE_KEYS: dict[str, tuple[str, ...]] = {name: _table.get(name).state_keys for name in RULES}

#: Rule name -> {group name: points}. One nbgrader hidden-test cell per group; the
#: ``python -m optilab check`` score is the sum of the points of the groups that pass whole.
GROUPS: dict[str, dict[str, int]] = {name: dict(_table.get(name).groups) for name in RULES}


def require_rule(rule: str) -> str:
    """Return ``rule`` if it is graded; otherwise raise ValueError naming the valid ones."""
    return _table.get(rule, among=GROUPS).name


def record(rule: str) -> _table.Rule:
    """The rule table's record of a graded ``rule``."""
    return _table.get(require_rule(rule))


def reference(rule: str) -> Callable[..., tuple[Any, dict]]:
    """The reference rule of :mod:`optilab.kernels` for ``rule``."""
    return record(rule).function

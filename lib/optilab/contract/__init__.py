r"""The contract of an update rule, property by property: what students check their rules with.

- :func:`check` (``optilab.check``): the students' visible check, ✓/✗ per property of the
  contract (CONTRACT.md) with the first disagreeing numbers, on inputs of its own.
- :func:`diagnose`: the recognised mistakes of a rule (:mod:`.mistakes`: each a known wrong
  version of a rule, made by turning one knob of the reference).
- :mod:`.properties`: the contract's properties, which the visible check and the graded suites
  (:mod:`optilab.grading.suites`) both test; :mod:`.spec`: the facts they read from the rule
  table (:mod:`optilab.rules`).

The grader (:mod:`optilab.grading`) builds on this; nothing here imports it.
"""

from __future__ import annotations

from optilab.contract.diagnose import Diagnosis, diagnose
from optilab.contract.visible import CheckResult, check

__all__ = ["check", "CheckResult", "diagnose", "Diagnosis"]

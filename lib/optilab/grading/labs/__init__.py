r"""The checks of every lab's autograded test cells, run in the grader's process.

Each module ``labNN`` holds :data:`CHECKS`: grade_id -> a function that takes the student's
notebook (:class:`~optilab.grading.notebook.StudentNotebook`, a namespace in another process
that answers in plain data) and raises AssertionError, with a message in the student's terms,
when the cell's work is wrong. The checks test the same properties as the lab's hidden test
cells (``### BEGIN HIDDEN TESTS`` in ``solutions/``), with the same points (the cell's), but
every expected value is computed here, from the lab's own definitions (the grids, problems and
data of its setup cells), so nothing the student's code does can change it. Update rules go
through the hidden suites (:func:`optilab.grading.hidden`) with the notebook's rule as a
:class:`~optilab.grading.proxy.StudentRule`.

:func:`checks_for` gives the checks of an assignment (``lab04_adam_adamw`` or ``lab04``).

A check is written from its test cell: each module's ``DERIVED_FROM`` holds the digest of the cell
it was written from, the tests hold ``solutions/`` to it, and grading says so when a test cell in
the gradebook differs ("the check of ... was written for another version of the cell"). After
changing a hidden test, change its check here too.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from optilab import rules
from optilab.grading.runner import hidden
from optilab.contract.visible import check as visible_check

__all__ = ["checks_for", "warm", "derived_from", "served_for", "guarded_for", "cell_digest", "rule_cell", "run_here", "visible", "Checks"]

Checks = dict[str, Callable[[Any], None]]

def rule_cell(rule: str, group: str) -> Callable[[Any], None]:
    """The check of the test cell of ``group`` of ``rule``'s hidden suite."""
    def check(notebook: Any) -> None:
        student_rule = notebook.rule(rule)
        # The hidden tests first: their failure says which test and shows the student's own error
        # with its line; then the cell's visible line, optilab.check(rule, f, group=group).assert_passed().
        if group == "first-step":  # a rule that raises shows the student's own error, with its line
            student_rule(np.zeros(3), np.ones(3), {}, lr=0.1)
        hidden(rule, student_rule, group)
        seen = visible_check(rule, student_rule, group=group, quiet=True)
        if not seen.passed:
            raise AssertionError("\n" + seen.report())
    check.rule = rule
    check.__name__ = f"check_{rule}_{group.replace('-', '_')}"
    check.__doc__ = f"Group {group!r} of the hidden suite of {rule}."
    return check


def visible(name: str, answer: Any, *, group: str | None = None, **given: Any) -> None:
    """The visible check of one of a lab's answers (``optilab.check(name, answer, **given)``) on the value
    the grader read from the notebook: a test cell's check asserts every property its visible line does,
    so a cell the kernel fails is failed here too. Raises AssertionError with the check's report."""
    seen = visible_check(name, answer, group=group, quiet=True, **given)
    if not seen.passed:
        raise AssertionError("\n" + seen.report())


class _Here:
    """The notebook's namespace, asked as the grader asks the student's process (arguments copied)."""

    def __init__(self, namespace: dict):
        self.namespace = namespace

    def _argument(self, x: Any) -> Any:
        from optilab.grading.notebook import Ref, Reference
        if isinstance(x, Ref):
            return self.namespace[x.name]
        if isinstance(x, Reference):
            import optilab
            return optilab.RULES[x.name]
        return copy.deepcopy(x)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        function = self.namespace[name]
        return function(*(self._argument(a) for a in args), **{k: self._argument(v) for k, v in kwargs.items()})

    def get(self, name: str, *path: Any) -> Any:
        value = self.namespace[name]
        for step in path:
            value = getattr(value, step[1:]) if isinstance(step, str) and step.startswith(".") else value[step]
        return value


def run_here(checks: Checks, grade_id: str, namespace: dict) -> None:
    """Run the check of the test cell ``grade_id`` on the notebook's own namespace (what the hidden
    tests of a lab's test cells do, through their lab's ``run_here``): the kernel's verdict is the
    grader's, by the same code. Raises AssertionError with the check's message when it fails.
    In a kernel that ``make grade`` started, the lab's reference runs are the grader's, computed
    once for the class (:mod:`optilab.grading.labs.given`)."""
    from optilab.grading.labs import given

    given.load()
    before = given.used
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        checks[grade_id](_Here(namespace))
    source = " (against the reference runs the grader computed for the class)" if given.used > before else ""
    print(f"✓ {grade_id}: the hidden tests hold{source}")


def cell_digest(source: str) -> str:
    """A short digest of a test cell's source (trailing spaces and blank edges ignored)."""
    text = "\n".join(line.rstrip() for line in source.strip().splitlines())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _module(assignment: str) -> Any:
    match = re.match(r"(lab\d\d)(_|$)", assignment or "")
    if not match:
        return None
    try:
        return importlib.import_module(f"optilab.grading.labs.{match.group(1)}")
    except ModuleNotFoundError:
        return None


def checks_for(assignment: str) -> Checks | None:
    """The checks of the lab ``assignment`` (``labNN`` or ``labNN_name``); None for another assignment."""
    module = _module(assignment)
    return None if module is None else module.CHECKS


def warm(assignment: str) -> list[str]:
    """Compute what the checks of every notebook of ``assignment`` share (the reference runs of the
    experiments of labs 5, 6 and 7), so that grading processes forked afterwards inherit it; the keys
    of those runs, which :func:`optilab.grading.labs.given.save` gives to the kernels (none for a lab
    without an experiment)."""
    module = _module(assignment)
    experiment = getattr(module, "EXPERIMENT", None)
    compute = experiment.warm if experiment is not None else getattr(module, "warm", None)
    return [] if compute is None else list(compute())


def derived_from(assignment: str) -> dict[str, str]:
    """grade_id -> :func:`cell_digest` of the test cell the check was written from."""
    module = _module(assignment)
    return {} if module is None else dict(getattr(module, "DERIVED_FROM", {}))


def guarded_for(assignment: str) -> dict[str, tuple[str, ...]]:
    """The library's own versions of ``assignment``'s answers that are not rules of the table
    (module -> function names; a lab module's ``LIBRARY_ANSWERS``): the student's process keeps
    them for the notebook's cells (an experiment may use them) and makes them refuse once the
    grader judges the student's answers (see
    :func:`optilab.grading.student_library.guard_answers`)."""
    module = _module(assignment)
    return {} if module is None else {m: tuple(names) for m, names in getattr(module, "LIBRARY_ANSWERS", {}).items()}


def served_for(assignment: str) -> tuple[str, ...]:
    """The reference rules whose code the student's process of ``assignment`` does not get: the
    grader computes them on request, except while it judges one of the student's rules (see
    :func:`optilab.grading.student_notebook.served_rule`). They are the rules the lab grades and
    those that compute them (each record's ``given_by`` in :mod:`optilab.rules`)."""
    checks = checks_for(assignment) or {}
    graded = {getattr(check, "rule", None) for check in checks.values()} - {None}
    return tuple(sorted({name for rule in graded for name in (rule, *rules.get(rule).given_by)}))

r"""Run the hidden suites: for nbgrader cells, the ``check`` command and the grader's tests.

A hidden suite is built from data inside the package (:mod:`optilab.grading.suites`: tests
shared by every rule plus each rule's own cases), so an installed wheel grades anywhere. Each
test takes the rule under test and belongs to a point group of the rule table
(:attr:`optilab.rules.Rule.groups`). :func:`hidden` (nbgrader's hidden cells),
``python -m optilab check`` (with a proxy whose calls go to the student's own process,
:class:`optilab.grading.proxy.StudentRule`) and the grader's own tests all run them here.
"""

from __future__ import annotations

import contextlib
import functools
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ContextManager

import numpy as np

from optilab.grading import suites
from optilab.contract.spec import GROUPS, require_rule

__all__ = ["group", "TestResult", "HiddenTest", "TimeLimit", "load_suite", "run_tests",
           "score", "hidden", "format_results"]

def group(name: str) -> Callable[[Callable], Callable]:
    """Mark a test function as part of the point group ``name`` (see :data:`~.spec.GROUPS`)."""
    def mark(test: Callable) -> Callable:
        test.optilab_group = name
        return test
    return mark


class TimeLimit(BaseException):
    """Raised inside a test that ran out of time (a BaseException, so that ``except Exception``
    in a student's rule does not swallow it)."""


@dataclass
class HiddenTest:
    """One test of a hidden suite: ``func(student)`` raises AssertionError when it fails."""

    name: str
    group: str
    func: Callable[[Callable], None]
    title: str = ""

    def __post_init__(self) -> None:
        if not self.title:
            doc = (self.func.__doc__ or "").strip().splitlines()
            self.title = doc[0].rstrip(".") if doc else self.name.removeprefix("test_").replace("_", " ")


@dataclass
class TestResult:
    """The outcome of one hidden test."""

    name: str
    group: str
    passed: bool
    message: str = ""
    title: str = ""
    seconds: float = 0.0
    __test__ = False  # not a pytest test class

    def as_dict(self) -> dict[str, Any]:
        """The ``{"name", "passed", "message"}`` object of the ``--json`` report."""
        return {"name": f"{self.group}::{self.name}", "passed": self.passed, "message": self.message}


@functools.lru_cache(maxsize=None)
def _suite(rule: str) -> tuple[HiddenTest, ...]:
    return tuple(HiddenTest(t.name, t.group, t.func, t.title) for t in suites.tests_of(rule))


def load_suite(rule: str) -> list[HiddenTest]:
    """The tests of the hidden suite of ``rule``, in order (built once per process)."""
    require_rule(rule)
    return list(_suite(rule))


def run_tests(rule: str, func: Callable, groups: Iterable[str] | None = None, *,
              guard: Callable[[HiddenTest], ContextManager] | None = None,
              on_start: Callable[[HiddenTest], None] | None = None,
              on_result: Callable[[TestResult], None] | None = None,
              skip: Callable[[HiddenTest], str | None] | None = None) -> list[TestResult]:
    """Run the hidden tests of ``rule`` (those of ``groups``; all by default) on ``func``.

    ``guard(test)`` wraps each test (``check`` uses it for a time limit); ``skip(test)``
    returning a message marks a test failed without running it; ``on_start`` and
    ``on_result`` report progress.
    """
    wanted = set(GROUPS[require_rule(rule)]) if groups is None else set(groups)
    unknown = wanted - set(GROUPS[rule])
    if unknown:
        raise ValueError(f"{rule} has no group {sorted(unknown)[0]!r}; its groups: "
                         f"{', '.join(GROUPS[rule])}.")
    results = []
    for test in load_suite(rule):
        if test.group not in wanted:
            continue
        reason = skip(test) if skip else None
        if reason:
            result = TestResult(test.name, test.group, False, reason, test.title)
        else:
            if on_start:
                on_start(test)
            result = _run_one(test, func, guard)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _run_one(test: HiddenTest, func: Callable, guard: Callable | None) -> TestResult:
    start = time.perf_counter()
    passed, message = False, ""
    try:
        with (guard(test) if guard else contextlib.nullcontext()), warnings.catch_warnings(), \
                np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            test.func(func)
        passed = True
    except AssertionError as exc:
        message = str(exc) or "a check of this test failed."
    except TimeLimit as exc:
        message = str(exc) or "did not finish in time (an endless loop?)."
    except SystemExit as exc:
        message = f"your code called sys.exit({exc.code!r})."
    except MemoryError:
        message = "ran out of memory (MemoryError)."
    except Exception as exc:  # a student's error that escaped the properties' own guards
        message = f"{type(exc).__name__}: {exc}"
    return TestResult(test.name, test.group, passed, message, test.title,
                      time.perf_counter() - start)


def score(rule: str, results: Iterable[TestResult]) -> tuple[int, int]:
    """(points, max points): a group's points count when every one of its tests passed."""
    results = list(results)
    points = 0
    for grp, value in GROUPS[rule].items():
        mine = [r for r in results if r.group == grp]
        if mine and all(r.passed for r in mine):
            points += value
    return points, sum(GROUPS[rule].values())


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def format_results(results: Iterable[TestResult], diagnoses: Iterable[Any] = (), *,
                   failures_only: bool = False) -> str:
    """The results as readable text: ✓/✗ and title per test, failures' messages, then diagnoses."""
    lines = []
    for r in results:
        if failures_only and r.passed:
            continue
        lines.append(f"  {'✓' if r.passed else '✗'} {r.title or r.name}")
        if not r.passed and r.message:
            lines.append(_indent(r.message, "      "))
    diagnoses = list(diagnoses)
    if diagnoses:
        lines.append("")
        lines.append("What looks wrong:")
        for d in diagnoses:
            lines.append(f"  • [{d.id}] {d.message}")
    return "\n".join(lines)


def hidden(rule: str, func: Callable, group: str) -> None:
    """Run one point group of the hidden suite of ``rule`` on the student's ``func``.

    For nbgrader's hidden-test cells (one call per group cell)::

        ### BEGIN HIDDEN TESTS
        optilab.grading.hidden("adam", adam, "first-step")
        ### END HIDDEN TESTS

    Returns None when every test of the group passes; otherwise raises AssertionError whose
    message lists the failed tests and the recognised mistakes, in the student's terms.
    """
    from optilab.contract.diagnose import diagnose

    require_rule(rule)
    if group not in GROUPS[rule]:
        raise ValueError(f"{rule} has no group {group!r}; its groups: {', '.join(GROUPS[rule])}.")
    if not callable(func):
        raise AssertionError(f"{rule} is not a function (it is a {type(func).__name__}); define "
                             f"`def {rule}(param, grad, state, *, lr=..., ...)` above.")
    results = run_tests(rule, func, [group])
    failed = [r for r in results if not r.passed]
    if not failed:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        found = diagnose(rule, func)
    head = f"{rule}: {len(failed)} of {len(results)} hidden tests of group {group!r} failed."
    raise AssertionError(head + "\n" + format_results(results, found, failures_only=True))

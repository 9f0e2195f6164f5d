"""The catalogue graded the way ``python -m optilab check`` grades: each rule in its own process.

``test_catalogue.py`` runs the buggy and correct rules in-process; here each one is loaded
from a file by the student's process and judged through the proxy (plain data over a pipe),
which must give the same verdicts: every buggy rule rejected and named with exactly its
mistakes, every correct rule full marks and no diagnosis, and test by test the same pass or
fail as the rule gets in-process. This covers the contract clauses the proxy has to carry
across the process boundary: in-place changes of param, grad and state, returned arrays that
are the inputs, dtypes, shapes, missing keys, wrong returns.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from optilab.grading import GROUPS
from optilab.grading.runner import run_tests
from optilab.grading.files import grade_file

from . import buggy_rules, correct_rules  # noqa: F401  (they register their rules)
from .cases import BUGGY, CORRECT

TESTS = Path(__file__).resolve().parents[1]


def as_file(tmp_path: Path, case) -> Path:
    """A student's file whose ``RULE`` is the catalogue's function: its module's text, standing alone.

    Standing alone, because the student's process sees only its own file where it is sandboxed.
    """
    module = case.func.__module__.rsplit(".", 1)[-1]
    text = (TESTS / "grader" / f"{module}.py").read_text(encoding="utf-8")
    for name in ("buggy", "correct"):  # the catalogue's registering decorators do nothing here
        text = text.replace(f"from .cases import {name}\n",
                            f"def {name}(*args):\n    return lambda func: func\n")
    path = tmp_path / "submission.py"
    path.write_text(f"{text}\n{case.rule} = {case.func.__name__}\n")
    return path


@pytest.mark.parametrize("case", BUGGY, ids=lambda c: c.id)
def test_every_buggy_rule_is_rejected_and_named_through_the_process(tmp_path, case):
    outcome = grade_file(case.rule, as_file(tmp_path, case))
    points, total = outcome.score
    assert points < total
    assert {d.id for d in outcome.diagnoses} == set(case.mistakes)
    assert all(r.message for r in outcome.results if not r.passed)
    in_process = run_tests(case.rule, case.func)
    assert [(r.name, r.passed) for r in outcome.results] == [(r.name, r.passed) for r in in_process]


@pytest.mark.parametrize("case", CORRECT, ids=lambda c: c.id)
def test_every_correct_rule_gets_full_marks_through_the_process(tmp_path, case):
    outcome = grade_file(case.rule, as_file(tmp_path, case))
    assert [f"{r.name}: {r.message}" for r in outcome.results if not r.passed] == []
    assert outcome.score == (sum(GROUPS[case.rule].values()),) * 2
    assert outcome.diagnoses == []

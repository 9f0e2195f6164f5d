"""The grader against its catalogue: every buggy rule is rejected and named, every correct
variant gets full marks, the reference rules get full marks.

The rules of ``buggy_rules.py`` and ``correct_rules.py`` are written independently of the
grader's mutants, the way students write them. They run in-process through the same runner
that nbgrader's hidden cells use (``test_catalogue_process.py`` grades the same rules the
way ``python -m optilab check`` does, through the student's own process).
"""

from __future__ import annotations

import pytest

from optilab import kernels
from optilab.contract import diagnose
from optilab.contract.spec import GROUPS, RULES
from optilab.contract.mistakes import KNOBS, MISTAKES
from optilab.contract.mutants import mutant
from optilab.grading.runner import load_suite, run_tests, score

from . import buggy_rules, correct_rules  # noqa: F401  (they register their rules)
from .cases import BUGGY, CORRECT


@pytest.mark.parametrize("rule", RULES)
def test_the_reference_rule_gets_full_marks(rule):
    results = run_tests(rule, kernels.RULES[rule])
    assert [r.message for r in results if not r.passed] == []
    assert score(rule, results) == (sum(GROUPS[rule].values()),) * 2


@pytest.mark.parametrize("rule", RULES)
def test_the_reference_rule_has_no_diagnosis(rule):
    assert diagnose(rule, kernels.RULES[rule]) == []


@pytest.mark.parametrize("case", BUGGY, ids=lambda c: c.id)
def test_every_buggy_rule_fails_the_hidden_suite(case):
    results = run_tests(case.rule, case.func)
    points, total = score(case.rule, results)
    failed = [r for r in results if not r.passed]
    assert failed, f"{case.id} passed every hidden test"
    assert points < total
    assert all(r.message for r in failed), "every failure says what went wrong"


@pytest.mark.parametrize("case", BUGGY, ids=lambda c: c.id)
def test_every_buggy_rule_is_named(case):
    found = {d.id for d in diagnose(case.rule, case.func)}
    assert found == set(case.mistakes)


@pytest.mark.parametrize("case", CORRECT, ids=lambda c: c.id)
def test_every_correct_variant_gets_full_marks_and_no_diagnosis(case):
    results = run_tests(case.rule, case.func)
    assert [f"{r.name}: {r.message}" for r in results if not r.passed] == []
    assert diagnose(case.rule, case.func) == []


#: The rules the labs ask students to write: each has a catalogue of mutants and of students' rules.
LAB_RULES = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion", "adafactor"}


def test_the_catalogue_covers_every_rule_of_the_labs_and_the_issues_mistakes():
    assert LAB_RULES <= set(RULES)
    assert set(KNOBS) == LAB_RULES
    assert {c.rule for c in BUGGY} == LAB_RULES
    assert {c.rule for c in CORRECT} == LAB_RULES
    named = set().union(*(c.mistakes for c in BUGGY))
    must = {"no-bias-correction", "bias-correction-m-only", "eps-inside-sqrt", "eps-hat",
            "t-after-use", "t-off-by-one", "betas-swapped", "abs-for-square", "g-for-square",
            "momentum-average", "momentum-sutskever", "nesterov-is-plain", "stale-velocity",
            "stale-m", "stale-average", "sum-not-average", "average-not-sum", "rho-swapped",
            "l2-not-decoupled", "decay-not-lr-scaled", "mutates-param", "mutates-grad",
            "mutates-state", "wrong-sign", "lr-ignored", "state-not-carried"}
    assert must <= named, sorted(must - named)
    assert len(BUGGY) >= 40 and len(CORRECT) >= 15


@pytest.mark.parametrize("rule", sorted(KNOBS))
def test_every_single_mutant_fails_and_is_named_alone(rule):
    """Each knob of the mutant catalogue, turned alone, fails the suite and gets its own name."""
    for knob, (_, wrong) in KNOBS[rule].items():
        for position, mistake in wrong.items():
            func = mutant(rule, **{knob: position})
            points, total = score(rule, run_tests(rule, func))
            assert points < total, f"{rule} with {knob}={position!r} gets full marks"
            assert [d.id for d in diagnose(rule, func)] == [mistake], (knob, position)


def test_every_mistake_message_is_actionable():
    for mistake in MISTAKES.values():
        assert len(mistake.message) > 40 and mistake.message.endswith((".", ")")), mistake.id


@pytest.mark.parametrize("rule", RULES)
def test_every_group_has_tests_and_every_test_a_group(rule):
    groups = [t.group for t in load_suite(rule)]
    assert set(groups) == set(GROUPS[rule])
    assert len(groups) >= 10

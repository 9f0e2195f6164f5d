"""``optilab.check``: the students' visible check."""

from __future__ import annotations

import numpy as np
import pytest

import optilab
from optilab import kernels
from optilab.contract import check
from optilab.contract.spec import RULES
from optilab.grading.runner import run_tests, score

from .buggy_rules import adam_eps_inside, sgd_in_place


@pytest.mark.parametrize("rule", RULES)
def test_the_reference_passes_every_property(rule, capsys):
    result = optilab.check(rule, kernels.RULES[rule])
    out = capsys.readouterr().out
    assert result.passed and bool(result)
    assert "✗" not in out and out.count("✓") == len(result.properties) >= 8
    assert "All good" in out


def test_a_wrong_rule_shows_the_numbers_side_by_side_and_the_diagnosis(capsys):
    result = check("adam", adam_eps_inside)
    out = capsys.readouterr().out
    assert not result.passed
    assert "✗ tiny gradients (1e-6) beside ε = 1e-3" in out
    assert "yours" in out and "expected" in out
    assert "[eps-inside-sqrt]" in out
    assert [d.id for d in result.diagnoses] == ["eps-inside-sqrt"]
    assert repr(result).startswith("CheckResult(rule='adam', passed=False")


def test_a_mutating_rule_fails_only_the_mutation_property():
    result = check("sgd", sgd_in_place, quiet=True)
    failed = [p.name for p in result.properties if not p.passed]
    assert failed == ["param, grad and state left unchanged", "new arrays returned (none is an input array)"]
    assert [d.id for d in result.diagnoses] == ["mutates-param"]


def test_quiet_prints_nothing(capsys):
    check("sgd", kernels.sgd, quiet=True)
    assert capsys.readouterr().out == ""


def test_check_needs_a_function():
    with pytest.raises(TypeError, match=r"check\('adam', adam\)"):
        check("adam", "adam")


@pytest.mark.parametrize("rule", ["momentum", "adam", "adamw"])
def test_hard_coding_what_the_visible_check_sees_fails_the_hidden_suite(rule):
    """A rule that replays the reference's answers to the visible check's inputs, and answers
    anything else wrongly, passes the visible check and fails the hidden suite: the two use
    different inputs."""
    reference = kernels.RULES[rule]
    answers: dict = {}

    def key(param, grad, state, hyper):
        parts = [np.asarray(param).tobytes(), np.asarray(grad).tobytes(), str(np.asarray(param).dtype),
                 str(np.shape(param)), tuple(sorted(hyper.items()))]
        parts += [(k, np.asarray(v).tobytes()) for k, v in sorted(state.items())]
        return repr(parts)

    def recorder(param, grad, state, **hyper):
        out = reference(param, grad, state, **hyper)
        answers[key(param, grad, state, hyper)] = out
        return out

    assert check(rule, recorder, quiet=True).passed

    def replay(param, grad, state, **hyper):
        p, s = answers.get(key(param, grad, state, hyper), (param * 0.5, {}))
        return np.array(p, copy=True), {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                                         for k, v in s.items()}

    assert check(rule, replay, quiet=True).passed
    points, total = score(rule, run_tests(rule, replay))
    assert points == 0 < total

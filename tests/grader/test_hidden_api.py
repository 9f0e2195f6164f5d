"""``optilab.grading.hidden`` (nbgrader's hidden cells) and ``GROUPS``."""

from __future__ import annotations

import numpy as np
import pytest

from optilab import kernels
from optilab.grading import GROUPS, RULES, hidden

from .buggy_rules import adam_no_correction, sgd_in_place


def test_groups_give_points_per_rule():
    assert set(GROUPS) == set(RULES)
    assert GROUPS["adam"] == {"first-step": 1, "many-steps": 2, "conventions": 2, "contract": 1}
    assert all(all(isinstance(p, int) and p > 0 for p in g.values()) for g in GROUPS.values())


def test_hidden_raises_with_the_failed_tests_and_the_diagnosis():
    with pytest.raises(AssertionError) as info:
        hidden("adam", adam_no_correction, "first-step")
    text = str(info.value)
    assert "adam: 2 of 2 hidden tests of group 'first-step' failed" in text
    assert "✗ One step from {}" in text
    assert "yours" in text and "expected" in text
    assert "[no-bias-correction]" in text and "1 − β₁ᵗ" in text


def test_hidden_passes_a_group_the_mistake_does_not_touch():
    # An in-place update gives the right numbers: only the contract group fails (partial credit).
    assert hidden("sgd", sgd_in_place, "first-step") is None
    assert hidden("sgd", sgd_in_place, "many-steps") is None
    with pytest.raises(AssertionError, match=r"\[mutates-param\]"):
        hidden("sgd", sgd_in_place, "contract")


def test_hidden_names_a_rule_that_raises():
    def adam(param, grad, state, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise NotImplementedError("write the Adam update here")
    with pytest.raises(AssertionError, match="NotImplementedError: write the Adam update here"):
        hidden("adam", adam, "first-step")


def test_hidden_reports_sys_exit_as_a_failure():
    def sgd(param, grad, state, *, lr=1e-2):
        raise SystemExit(1)
    with pytest.raises(AssertionError, match=r"sys\.exit"):
        hidden("sgd", sgd, "first-step")


def test_hidden_rejects_an_unknown_group_or_rule():
    with pytest.raises(ValueError, match="first-step"):
        hidden("adam", kernels.adam, "warmup")
    with pytest.raises(ValueError, match="Did you mean 'adam'"):
        hidden("adma", kernels.adam, "first-step")


def test_hidden_says_what_to_define_when_given_no_function():
    with pytest.raises(AssertionError, match=r"def adam\(param, grad, state"):
        hidden("adam", None, "first-step")


def test_values_are_compared_on_the_update_not_the_parameter():
    """A wrong update of 1 % fails even when the update is small beside the parameter."""
    def sgd(param, grad, state, *, lr=1e-2):
        return param - 1.01 * lr * grad, {}
    big = np.full(3, 1e3)
    from optilab.contract import properties as P
    with pytest.raises(P.RuleFailure, match="yours"):
        P.steps("sgd", sgd, param=big, grads=[np.ones(3)], lrs=1e-3)

"""The graded suites (``optilab.grading.suites``) catch wrong rules, test by test.

The reference's full marks are checked once, in ``test_catalogue.py``. Here every single test
of every suite must fail at least one known wrong rule: a mutant of the grader's catalogue
(``optilab.contract.mistakes``), a buggy rule of ``buggy_rules.py``, or one of the wrong rules
below, which any rule of the table can be turned into (wrong sign, an ignored lr or
hyperparameter, a state not carried, an in-place update, a float64 result, ...). A test that
no wrong rule fails would be one that cannot fail.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from optilab import rules
from optilab.grading import GROUPS, RULES, suites
from optilab.contract.mistakes import KNOBS
from optilab.contract.mutants import mutant
from optilab.grading.runner import load_suite

from . import buggy_rules  # noqa: F401  (registers the buggy rules)
from .cases import BUGGY


def _generic_wrong_rules(rule: str) -> Iterator[tuple[str, Callable[[], Callable]]]:
    """(what is wrong, a factory of a fresh wrong rule) for any rule of the table."""
    record = rules.get(rule)
    ref = record.function
    defaults = record.defaults
    arrays = [s.name for s in record.state if s.kind != "count"]

    def wrap(change: Callable) -> Callable[[], Callable]:
        return lambda: (lambda param, grad, state, **kw: change(param, grad, state, kw))

    yield "wrong sign", wrap(lambda p, g, s, kw: (lambda new, st: (2 * p - new, st))(*ref(p, g, s, **kw)))
    yield "lr ignored", wrap(lambda p, g, s, kw: ref(p, g, s, **{**kw, "lr": defaults["lr"]}))
    for name in defaults:
        if name != "lr":
            yield f"{name} ignored", wrap(lambda p, g, s, kw, name=name: ref(p, g, s, **{**kw, name: defaults[name]}))
        yield f"default {name} off", wrap(
            lambda p, g, s, kw, name=name: ref(p, g, s, **{name: defaults[name] * 0.5 + 1e-3, **kw}))

    def first_lr() -> Callable:
        seen: list[float] = []

        def rule_(param, grad, state, **kw):
            seen.append(kw.get("lr", defaults["lr"]))
            return ref(param, grad, state, **{**kw, "lr": seen[0]})
        return rule_
    yield "the lr of the first call kept", first_lr
    if record.state:
        yield "state not carried", wrap(lambda p, g, s, kw: ref(p, g, {}, **kw))

    def in_place(p, g, s, kw):
        new, st = ref(p, g, s, **kw)
        p[...] = new
        return p, st
    yield "param updated in place", wrap(in_place)

    def into_grad(p, g, s, kw):
        new, st = ref(p, g, s, **kw)
        g[...] = new
        return g, st
    yield "result written into grad", wrap(into_grad)

    def state_in_place(p, g, s, kw):
        new, st = ref(p, g, copy.deepcopy(s), **kw)
        for key in arrays:
            if key in s:
                s[key][...] = st[key]
                st[key] = s[key]
        return new, st
    if arrays:
        yield "state arrays updated in place", wrap(state_in_place)
        yield "state arrays float64", wrap(lambda p, g, s, kw: (lambda new, st: (new, {
            k: (np.asarray(v, np.float64) if k in arrays else v) for k, v in st.items()}))(*ref(p, g, s, **kw)))
    yield "float64 result", wrap(lambda p, g, s, kw: (lambda new, st: (np.asarray(new, np.float64), st))(
        *ref(p, g, s, **kw)))
    if record.params == "matrix":
        yield "a vector accepted", wrap(lambda p, g, s, kw: ref(p, g, s, **kw) if np.ndim(p) == 2 else (p - kw["lr"] * g, s))
    yield "0-d made 1-d", wrap(lambda p, g, s, kw: (lambda new, st: (np.atleast_1d(new), st))(*ref(p, g, s, **kw)))


def _wrong_rules(rule: str) -> Iterator[tuple[str, Callable[[], Callable]]]:
    yield from _generic_wrong_rules(rule)
    for knob, (_, wrong) in KNOBS.get(rule, {}).items():
        for position in wrong:
            yield f"mutant {knob}={position!r}", lambda knob=knob, position=position: mutant(rule, **{knob: position})
    for case in BUGGY:
        if case.rule == rule:
            yield case.id, lambda case=case: case.func


def _fails(test, func: Callable) -> bool:
    try:
        with np.errstate(all="ignore"):
            test.func(func)
    except AssertionError:
        return True
    except Exception:  # a wrong rule that crashes the test counts as failing it
        return True
    return False


@pytest.mark.parametrize("rule", RULES)
def test_every_test_of_every_suite_fails_some_wrong_rule(rule):
    uncaught = []
    for test in load_suite(rule):
        caught_by = next((what for what, make in _wrong_rules(rule) if _fails(test, make())), None)
        if caught_by is None:
            uncaught.append(test.name)
    assert uncaught == [], f"{rule}: no known wrong rule fails {uncaught}"


def test_every_graded_rule_has_a_suite_and_every_suite_a_graded_rule():
    assert set(suites.SUITES) == set(rules.graded()) == set(RULES)


def test_the_suites_draw_their_inputs_from_seeds_of_their_own():
    seeds = [suite.seed for suite in suites.SUITES.values()]
    assert len(set(seeds)) == len(seeds)
    assert all(abs(a - b) >= 1_000 for a in seeds for b in seeds if a != b)
    for rule, suite in suites.SUITES.items():
        names = [t.name for t in load_suite(rule)]
        assert len(set(names)) == len(names), rule
        assert all(case.seed > 111 and case.seed < 150 for case in suite.conventions), rule


def test_the_points_are_the_labs_points():
    """The labs' nbgrader cells carry these points: they change only with the labs."""
    four = {"first-step": 1, "many-steps": 2, "conventions": 2, "contract": 1}
    expected = {"sgd": {"first-step": 1, "many-steps": 1, "contract": 1}, "momentum": four,
                "nesterov": four, "adagrad": four, "rmsprop": four, "adam": four, "adamw": four}
    assert {rule: GROUPS[rule] for rule in expected} == expected


def test_a_suite_whose_groups_differ_from_its_points_is_refused(monkeypatch):
    record = rules.get("momentum")
    monkeypatch.setitem(rules.BY_NAME, "momentum", dataclasses.replace(
        record, groups={"first-step": 1, "many-steps": 2, "contract": 1}))
    with pytest.raises(ValueError, match="every group needs tests"):
        suites.tests_of("momentum")


def test_a_rule_without_a_suite_is_a_clear_error():
    with pytest.raises(ValueError, match="amsgrad has no graded suite"):
        suites.tests_of("amsgrad")


def test_the_titles_read_the_rule_table():
    titles = {t.name: t.title for t in load_suite("adam")}
    assert titles["test_one_step_from_an_empty_state"] == "One step from {}: param, t, m and v"
    assert titles["test_defaults"] == "Called without hyperparameters it uses lr = 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8"
    assert {t.name: t.title for t in load_suite("sgd")}["test_defaults"] == \
        "Called without hyperparameters it uses lr = 1e-2"


@pytest.mark.parametrize("rule", [r for r in RULES if suites.SUITES[r].conventions])
def test_every_convention_catches_a_mistake_that_one_plain_step_misses(rule):
    """Each case of the conventions group fails a wrong rule that passes one step from {} with
    the defaults: the conventions test what the first step cannot see."""
    tests = load_suite(rule)
    first = next(t for t in tests if t.name == "test_one_step_from_an_empty_state")
    subtle = [(what, make) for what, make in _wrong_rules(rule) if not _fails(first, make())]
    assert subtle, f"{rule}: every wrong rule already fails the first step"
    uncaught = [t.name for t in tests if t.group == "conventions"
                and not any(_fails(t, make()) for _, make in subtle)]
    assert uncaught == [], f"{rule}: {uncaught} fail only wrong rules that one plain step catches"

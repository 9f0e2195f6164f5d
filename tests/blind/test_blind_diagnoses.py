"""The diagnoses on held-out mistakes: the blind set (tests/blind/mistakes.py) was written from
CONTRACT.md and the reference rules only, by someone who had not read the grader's catalogue of
mistakes, and is frozen. Every mistake in it must be named, and no correct rule."""

from __future__ import annotations

import collections

import pytest

from optilab.contract import diagnose
from tests.blind.mistakes import BLIND

#: Entries whose label the contract overrides, with the clause: the set stays as written.
OVERRIDDEN = {
    "momentum-extra-state": "CONTRACT.md: a rule resumes from a state that holds only the table's keys; this one "
                            "restarts its velocity from the gradient when its own extra key is missing",
}


def _rule(entry: dict):
    namespace: dict = {}
    exec(compile(entry["source"], entry["id"], "exec"), namespace)
    return namespace[entry["rule"]]


@pytest.mark.parametrize("entry", [e for e in BLIND if not e["correct"]], ids=lambda e: e["id"])
def test_every_held_out_mistake_is_named(entry):
    found = diagnose(entry["rule"], _rule(entry))
    assert found, f"{entry['id']} ({entry['wrong_part']}) is not named"


@pytest.mark.parametrize("entry", [e for e in BLIND if e["correct"] and e["id"] not in OVERRIDDEN],
                         ids=lambda e: e["id"])
def test_no_held_out_correct_rule_is_named(entry):
    assert diagnose(entry["rule"], _rule(entry)) == []


@pytest.mark.parametrize("entry_id", sorted(OVERRIDDEN))
def test_an_entry_the_contract_overrides_is_named(entry_id):
    entry = next(e for e in BLIND if e["id"] == entry_id)
    assert diagnose(entry["rule"], _rule(entry)), OVERRIDDEN[entry_id]


def test_report_how_many_held_out_mistakes_are_named(capsys):
    named, total = collections.Counter(), collections.Counter()
    for entry in BLIND:
        if entry["correct"]:
            continue
        total[entry["label"]] += 1
        named[entry["label"]] += bool(diagnose(entry["rule"], _rule(entry)))
    with capsys.disabled():
        print(f"\nblind set: {sum(named.values())} of {sum(total.values())} held-out mistakes named; "
              + ", ".join(f"{label} {named[label]}/{n}" for label, n in sorted(total.items())))
    assert sum(total.values()) >= 40

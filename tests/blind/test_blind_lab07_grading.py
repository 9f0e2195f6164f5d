"""Lab 7's grader on its held-out blind set (tests/blind/mistakes_lab07.py: schedules, clipping and
SAM answers written from CONTRACT.md, the lab's instructions and the library's references, by someone
who had not read the grader's checks or its mistakes; frozen).

- The checks of lab 7's test cells (:data:`optilab.grading.labs.lab07.CHECKS`, the code of the hidden
  tests, on a namespace holding the solution's answers and the entry's): every held-out mistake fails
  a test cell of its own answer, every correct answer passes them all, and a failing cell names what
  is wrong (its message does not say "No known mistake matches"), bar the entries of :data:`UNNAMED`.
  The ``wsd`` entries are not graded here: lab 7 asks for no warm-up-stable-decay schedule.
- The real grader (the outside verdicts of ``tests/test_outside_verdicts``): notebooks holding one
  held-out schedule, one SAM and one clipping answer each, up to SAM's last test cell, as
  ``tests/test_lab07.py`` grades them; every mistake loses points, every correct answer earns its
  cells' every point.
"""

from __future__ import annotations

import collections
import math
from itertools import zip_longest

import numpy as np
import pytest

from tests.blind.mistakes_lab07 import BLIND

LAB = "lab07_training_in_practice"
CELLS = {"schedule": ("test-schedule-warmup", "test-schedule-decay"), "clip_grads": ("test-clip-grads",),
         "clip": ("test-clip",), "sam": ("test-sam-ascent", "test-sam-step")}
ANSWERS = {"schedule": "schedule-answer", "clip_grads": "clip-grads-answer", "clip": "clip-answer",
           "sam": "sam-answer"}
GRADED = [e for e in BLIND if e["part"] in CELLS]
WRONG = [e for e in GRADED if not e["correct"]]
RIGHT = [e for e in GRADED if e["correct"]]

#: Held-out mistakes that lose points but whose message says "No known mistake matches" (findings
#: about the checks' near misses; an entry leaves this list when the checks name it).
UNNAMED = {
    "schedule-warmup-includes-W": "the warm-up's last step is late (t ≤ W)",
    "schedule-progress-over-T": "progress (t − W)/T",
    "schedule-integer-division": "(t + 1) // W",
    "schedule-floor-added": "lr_min added to a cosine of the full lr",
    "schedule-zero-after-T": "0 after step T instead of lr_min",
    "schedule-cosine-degrees": "cos(180·p)",
    "clip_grads-in-place": "scaled in place: the message says grads was changed, no diagnosis",
    "clip_grads-zero-division": "ZeroDivisionError on zero gradients: the message shows the error",
    "clip-shared-state": "one state for every parameter: the message shows the broadcast error",
    "clip-state-restarts": "the wrapped rule's state restarts every step",
    "clip-lr-not-passed": "lr not passed on: the rule steps with its default lr",
    "sam-second-gradient-at-p": "grad_fn called at p",
    "sam-perturbs-in-place": "params perturbed in place: the message says they changed, no diagnosis",
}


def _solution_answers() -> dict[str, str]:
    from tests.test_outside_verdicts import _solution

    cells = {c.get("id"): c.source for c in _solution(LAB).cells}
    return {part: "\n".join(line for line in cells[cell].splitlines() if "### " not in line)
            for part, cell in ANSWERS.items()}


def failing_cells(entry) -> dict[str, str]:
    """grade_id -> message, for the test cells of every answer that lab 7's checks fail, on the
    solution's answers with the entry's in place of its part's."""
    from optilab import model_rules, schedules, whole_model
    from optilab.grading.labs import lab07
    from optilab.whole_model import called, sam_steps, wrapped_steps

    namespace = {"np": np, "math": math, "called": called, "sam_steps": sam_steps, "wrapped_steps": wrapped_steps,
                 "schedules": schedules, "model_rules": model_rules, "whole_model": whole_model}
    for part, source in _solution_answers().items():
        exec(compile(entry["source"] if part == entry["part"] else source, part, "exec"), namespace)
    failed = {}
    for gid in (g for cells in CELLS.values() for g in cells):
        try:
            lab07.run_here(gid, namespace)
        except Exception as error:  # noqa: BLE001 - any failure of a check fails the cell
            failed[gid] = f"{type(error).__name__}: {error}"
    return failed


def _named(failed: dict[str, str]) -> bool:
    return bool(failed) and not any("No known mistake matches" in message for message in failed.values())


@pytest.mark.parametrize("entry", WRONG, ids=lambda e: e["id"])
def test_every_held_out_mistake_fails_a_test_cell_of_its_answer_and_no_other(entry):
    failed = failing_cells(entry)
    assert set(failed) <= set(CELLS[entry["part"]]), failed
    assert failed, f"{entry['id']} ({entry['wrong_part']}) passes every test cell of {entry['part']}"


@pytest.mark.parametrize("entry", RIGHT, ids=lambda e: e["id"])
def test_every_held_out_correct_answer_passes_every_test_cell(entry):
    assert failing_cells(entry) == {}


@pytest.mark.parametrize("entry", [e for e in WRONG if e["id"] not in UNNAMED],
                         ids=lambda e: e["id"])
def test_a_failing_cell_names_the_mistake(entry):
    failed = failing_cells(entry)
    assert _named(failed), {g: m[-600:] for g, m in failed.items()}


@pytest.mark.parametrize("entry_id", sorted(UNNAMED))
def test_the_unnamed_ones_are_still_unnamed(entry_id):
    failed = failing_cells(next(e for e in WRONG if e["id"] == entry_id))
    assert failed and not _named(failed), UNNAMED[entry_id]


def test_report(capsys):
    lost, named, total = collections.Counter(), collections.Counter(), collections.Counter()
    for entry in WRONG:
        failed = failing_cells(entry)
        total[entry["part"]] += 1
        lost[entry["part"]] += bool(failed)
        named[entry["part"]] += _named(failed)
    with capsys.disabled():
        print("\nlab 7 blind set: " + "; ".join(
            f"{part}: {lost[part]} of {n} mistakes lose points, {named[part]} named" for part, n in total.items()))
    assert sum(total.values()) >= 30


# --------------------------------------------------------------------------- the real grader
def _up_to_sam(nb: dict) -> dict:
    """The notebook up to SAM's last test cell (the experiment after it uses the library's versions)."""
    ids = [c["id"] for c in nb["cells"]]
    return {**nb, "cells": nb["cells"][:ids.index("test-sam-step") + 1]}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """entry id -> {grade_id: passed} for its answer's test cells, from the outside verdicts of
    notebooks that each hold one held-out schedule, one SAM and one clipping answer (``clip_grads``
    or ``clip_by_global_norm``; the solution's for the others)."""
    from tests.test_outside_verdicts import _judge, _student

    by_part = {part: [e for e in GRADED if e["part"] == part] for part in CELLS}
    clipping = by_part["clip_grads"] + by_part["clip"]
    out = {}
    for k, row in enumerate(zip_longest(by_part["schedule"], by_part["sam"], clipping)):
        answers = {ANSWERS[e["part"]]: e["source"] for e in row if e}
        verdicts = _judge(_up_to_sam(_student(LAB, answers)), tmp_path_factory.mktemp(f"nb{k}"), LAB, seconds=60)
        for e in row:
            if e:
                out[e["id"]] = {g: verdicts[g][0] for g in CELLS[e["part"]]}
    return out


@pytest.mark.slow
@pytest.mark.parametrize("entry", GRADED, ids=lambda e: e["id"])
def test_the_real_grader_takes_points_from_every_mistake_and_none_from_a_correct_answer(entry, judged):
    verdicts = judged[entry["id"]]
    if entry["correct"]:
        assert all(verdicts.values()), verdicts
    else:
        assert not all(verdicts.values()), f"{entry['id']} ({entry['wrong_part']}) earns every point of {entry['part']}"

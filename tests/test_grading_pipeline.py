"""End to end: grade synthetic submissions of lab 1 with ``python -m optilab grade`` and check every score.

The submissions are made here from the released student notebook (``labs/``) and the
instructor's answers (``solutions/``): a correct one, a wrong rule, a half-done one, an endless
loop, a kernel that kills itself, a tampered test cell, deleted cells, a renamed notebook in a
zip, a corrupt file and a stray non-notebook. The expected scores are worked out by hand from
the lab's points (see each case), not read from the grader.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from optilab import autograde
from tests.support.submissions import (FULL, LAB, MAX, MINIBATCHES, SGD, STABLE, answers as _answers,
                                       endless as _endless, killer as _killer, student as _student,
                                       tampered as _tampered, tree_digest as _tree_digest, without as _without,
                                       wrong_sgd as _wrong_sgd, write as _write)

# Seconds per cell, and so dee_endless's wait, twice (kernel and grader): lab 1's slowest cell takes
# about 0.3 s, 1 s on a busy machine.
TIMEOUT = 5

pytestmark = pytest.mark.slow


# student -> (expected score, words that must appear in the student's report line)
EXPECTED = {
    "ada_correct": (FULL, []),
    "ben_wrong": (FULL - 1, []),                     # sgd's contract group (1 point) fails
    "cy_half": (SGD, ["renamed"]),                   # only sgd written; Untitled.ipynb in a zip
    "dee_endless": (SGD + MINIBATCHES, ["largest-stable-lr-answer ran longer than"]),
    "eve_tampered": (FULL - 1, ["edited test cell test-sgd-contract"]),  # restored: graded as ben
    "fay_deleted": (SGD + MINIBATCHES, ["deleted test cell test-minibatches-seeded",
                                        "deleted answer cell is-stable-answer"]),
    "gus_gutted": (SGD + STABLE, ["could not be put back"]),  # minibatches' answer and tests gone
    "hal_killer": (0, ["kernel died"]),
    "jo_corrupt": (0, ["not a readable notebook"]),
    "kim_stray": (0, ["neither a notebook nor a zip"]),
}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    """One folder, zip or file per student, as a learning-management system exports them."""
    root = tmp_path_factory.mktemp("lms-export")
    nb_name = f"{LAB}.ipynb"
    _write(root / "ada_correct" / nb_name, _student())
    _write(root / "ben_wrong" / nb_name, _student(_wrong_sgd))
    _write(root / "dee_endless" / nb_name, _student(_endless))
    _write(root / "eve_tampered" / nb_name, _student(_tampered))
    _write(root / "fay_deleted" / nb_name, _without(_student(), "test-minibatches-seeded", "is-stable-answer"))
    _write(root / "gus_gutted" / nb_name, _without(_student(), "minibatches-answer", "test-minibatches-cover",
                                                   "test-minibatches-seeded"))
    _write(root / "hal_killer" / nb_name, _student(_killer))
    half = _student(lambda c: c["sgd-answer"].update(source=_answers()["sgd-answer"]), fill=False)
    with zipfile.ZipFile(root / "cy_half.zip", "w") as archive:
        archive.writestr("cy_half/Untitled.ipynb", json.dumps(half))
        archive.writestr("__MACOSX/cy_half/._Untitled.ipynb", "resource fork")
    _write(root / "jo_corrupt" / nb_name, '{"cells": [ this is not json')
    _write(root / "kim_stray.txt", "my notebook is on my other laptop")
    return root


@pytest.fixture(scope="module")
def graded(submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("grading")
    before = _tree_digest(submissions)
    lines: list[str] = []
    run = autograde.grade_lab(LAB, submissions, out=out, timeout=TIMEOUT, progress=lines.append)
    return run, lines, before


def test_every_submission_gets_its_exact_score(graded):
    run, _, _ = graded
    scores = {r.student: r.score for r in run.results}
    expected = {student: score for student, (score, _) in EXPECTED.items()}
    logs = run.workspace / "reports" / LAB / "logs"

    def log_tail(student: str) -> str:
        log = logs / f"{student}.log"
        return log.read_text()[-2000:] if log.is_file() else ""

    why = {r.student: (r.notes, log_tail(r.student)) for r in run.results if scores[r.student] != expected.get(r.student)}
    assert scores == expected, why
    assert all(r.max_score == MAX for r in run.results)


def test_grades_csv_is_nbgraders_export_with_every_student(graded):
    run, _, _ = graded
    with open(run.grades_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["student_id"]: float(r["score"]) for r in rows} == {s: v for s, (v, _) in EXPECTED.items()}
    assert {r["assignment"] for r in rows} == {LAB}
    assert {float(r["max_score"]) for r in rows} == {MAX}


def test_the_report_names_what_went_wrong(graded):
    run, lines, _ = graded
    by_student = {r.student: "; ".join(r.notes) for r in run.results}
    for student, (_, words) in EXPECTED.items():
        for word in words:
            assert word in by_student[student], f"{student}: {by_student[student]!r} lacks {word!r}"
    report = run.report.read_text()
    assert all(student in report for student in EXPECTED)
    assert len(lines) == len(EXPECTED) and all("/" in line for line in lines)  # progress, one line each


def test_one_feedback_page_per_student(graded):
    run, _, _ = graded
    for student in EXPECTED:
        page = run.workspace / "feedback" / student / LAB / f"{LAB}.html"
        assert page.is_file(), f"no feedback for {student}"
        assert student in page.read_text(encoding="utf-8") or "Test cell" in page.read_text(encoding="utf-8")


def test_inputs_are_never_modified(graded, submissions):
    _, _, before = graded
    assert _tree_digest(submissions) == before


def test_regrading_nbgraders_submitted_layout_gives_the_same_grades(graded, tmp_path):
    """A second run, on nbgrader's own layout, in the same workspace: same scores for the same notebooks."""
    run, _, _ = graded
    layout = tmp_path / "course" / "submitted"
    for student in ("ben_wrong",):
        source = run.workspace / "submitted" / student / LAB
        _write(layout / student / LAB / f"{LAB}.ipynb", (source / f"{LAB}.ipynb").read_text())
        (layout / student / LAB / "timestamp.txt").write_text("2026-01-15 10:00:00.000000 UTC")
    again = autograde.grade_lab("lab01", layout.parent, out=run.workspace, timeout=TIMEOUT, progress=lambda _: None)
    assert {r.student: r.score for r in again.results} == {"ben_wrong": FULL - 1}
    with open(again.grades_csv, newline="") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    # Regrading one student leaves the export of the whole class: the others keep their grades.
    assert {s: float(r["score"]) for s, r in rows.items()} == {s: v for s, (v, _) in EXPECTED.items()}
    assert rows["ben_wrong"]["timestamp"].startswith("2026-01-15 10:00:00")
    report = again.report.read_text()
    assert all(student in report for student in EXPECTED)
    [ben] = [line for line in report.splitlines() if line.startswith("ben_wrong ")]
    assert "this run" in ben
    [ada] = [line for line in report.splitlines() if line.startswith("ada_correct ")]
    assert "this run" not in ada and "FAILED" not in ada


def test_command_line_refuses_a_missing_folder(tmp_path, capsys):
    assert autograde.main(["lab01", str(tmp_path / "nowhere"), "--out", str(tmp_path / "g")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_command_line_refuses_an_unknown_lab(tmp_path, capsys):
    assert autograde.main(["lab99", str(tmp_path)]) == 2
    assert "no lab called 'lab99'" in capsys.readouterr().err


def test_one_students_fallback_does_not_change_how_the_next_is_graded(tmp_path):
    """One worker grades a notebook whose deleted cells cannot be put back, then one whose can."""
    export = tmp_path / "export"
    nb_name = f"{LAB}.ipynb"
    _write(export / "a_gutted" / nb_name, _without(_student(), "minibatches-answer", "test-minibatches-cover",
                                                   "test-minibatches-seeded"))
    _write(export / "b_deleted" / nb_name, _without(_student(), "test-minibatches-seeded", "is-stable-answer"))
    run = autograde.grade_lab(LAB, export, out=tmp_path / "ws", timeout=TIMEOUT, jobs=1, progress=lambda _: None)
    assert {r.student: r.score for r in run.results} == {"a_gutted": SGD + STABLE, "b_deleted": SGD + MINIBATCHES}

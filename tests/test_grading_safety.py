"""Grading never loses an instructor's data: each finding of an instructor's trial, reproduced.

- grading the workspace itself (or a folder that holds it) emptied ``submitted/`` and the
  gradebook: now refused, and nothing changes;
- a failed regrade removed the student's gradebook rows, manual grades included: now it scores
  0 for that attempt and keeps them, through a later good re-upload too;
- two runs of one lab at once gave wrong grades: now the second is refused, naming the first;
- ``release_feedback`` failed after ``make grade`` (no ``timestamp.txt`` / ``submission_secret.txt``);
- regrading one student rewrote ``grades.csv`` and ``report.txt`` with that student only;
- the workspace was readable by every user of the machine.

Expected scores come from lab 1's points (``tests/support/submissions.py``), not from the grader.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from optilab import autograde
from optilab.autograde.course import course_root, load_config, make_api
from optilab.autograde.pipeline import workspace_overrides
from tests.support.submissions import (FULL, LAB, MAX, WRITTEN_CELL, killer, student, tree_digest,
                                       write, wrong_sgd)

pytestmark = pytest.mark.slow
TIMEOUT = 30  # per cell, as nbgrader_config.py sets it: a loaded machine makes cells slow, not wrong


def _grade(export: Path, ws: Path, **kwargs):
    return autograde.grade_lab(LAB, export, out=ws, timeout=TIMEOUT, progress=lambda _: None, **kwargs)


def _db(ws: Path) -> str:
    return "sqlite:///" + str(ws / "gradebook.db")


def _set_manual(ws: Path, who: str, points: float) -> None:
    """Grade the written answer by hand, as formgrader's grade API does."""
    with Gradebook(_db(ws), "optilab") as gb:
        grade = gb.find_grade(WRITTEN_CELL, LAB, LAB, who)
        grade.manual_score = points
        gb.db.commit()


def _scores(ws: Path) -> dict[str, float]:
    with Gradebook(_db(ws), "optilab") as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(LAB)}


def _gradebook_rows(db: Path) -> dict[str, list]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(map(repr, connection.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}
    finally:
        connection.close()


def _nbgrader_collected(ws: Path, who: str, nb: dict, when: str = "2026-01-15 10:00:00.000000 UTC") -> Path:
    """A submission as ``nbgrader collect`` leaves it in the workspace's submitted/ folder."""
    folder = ws / "submitted" / who / LAB
    write(folder / f"{LAB}.ipynb", nb)
    (folder / "timestamp.txt").write_text(when)
    (folder / "submission_secret.txt").write_text(f"secret-of-{who}")
    return folder


def test_a_class_graded_twice_keeps_every_manual_grade(tmp_path):
    """Manual grades entered between two runs survive the second run, including one broken re-upload.

    Twice as many students as parallel workers keep every worker busy with several submissions, so
    grades are written while others are being read and written, as in a class of any size.
    """
    export, ws = tmp_path / "export", tmp_path / "ws"
    jobs = 2
    students = [f"s{i:02d}" for i in range(2 * jobs)]
    wrong, broken = "s01", "s02"  # the broken one with a manual grade above 0
    for who in students:
        write(export / who / f"{LAB}.ipynb", student(wrong_sgd if who == wrong else None))
    first = _grade(export, ws, jobs=jobs)
    assert {r.student: r.score for r in first.results} == {w: FULL - (w == wrong) for w in students}
    manual = {who: float(i % 3) for i, who in enumerate(students)}  # 0, 1 or 2 points of 2
    for who, points in manual.items():
        _set_manual(ws, who, points)
    write(export / broken / f"{LAB}.ipynb", '{"cells": [ broken upload')  # a broken re-upload
    second = _grade(export, ws, jobs=jobs)
    expected = {w: FULL - (w == wrong) + manual[w] for w in students}
    expected[broken] = manual[broken]  # 0 for this attempt, the manual grade kept
    assert _scores(ws) == expected
    [again] = [r for r in second.results if r.student == broken]
    assert not again.graded and "manual grades kept" in again.notes
    # and a good re-upload afterwards, graded on its own, restores the autograded points, with the manual grade
    write(tmp_path / "again" / broken / f"{LAB}.ipynb", student())
    _grade(tmp_path / "again", ws)
    assert _scores(ws) == {**expected, broken: FULL + manual[broken]}
    backups = sorted((ws / "backups").glob(f"gradebook-*-{LAB}.db"))
    assert len(backups) == 2  # one per run that found a gradebook, none removed
    with Gradebook("sqlite:///" + str(backups[0]), "optilab") as gb:  # before the second run: the manual grades
        assert float(gb.find_grade(WRITTEN_CELL, LAB, LAB, "s01").manual_score) == manual["s01"]


def test_a_kernel_that_dies_on_regrade_keeps_the_manual_grade(tmp_path):
    export, ws = tmp_path / "export", tmp_path / "ws"
    write(export / "ann" / f"{LAB}.ipynb", student())
    _grade(export, ws)
    _set_manual(ws, "ann", 2)
    write(export / "ann" / f"{LAB}.ipynb", student(killer))
    run = _grade(export, ws)
    assert _scores(ws) == {"ann": 2.0}
    assert "kernel died" in "; ".join(run.results[0].notes)
    with Gradebook(_db(ws), "optilab") as gb:
        assert float(gb.find_grade(WRITTEN_CELL, LAB, LAB, "ann").manual_score) == 2.0


@pytest.mark.parametrize("where", ["workspace", "course", "inside"])
def test_grading_the_workspace_itself_is_refused_and_nothing_changes(tmp_path, capsys, where):
    """Found when tried: `grade lab04 grading` emptied submitted/ and the gradebook, and exited 0."""
    course, ws = tmp_path / "course", tmp_path / "course" / "grading"
    write(tmp_path / "export" / "ann" / f"{LAB}.ipynb", student())
    _grade(tmp_path / "export", ws)
    _set_manual(ws, "ann", 2)
    before, rows = tree_digest(ws), _gradebook_rows(ws / "gradebook.db")
    given = {"workspace": ws, "course": course, "inside": ws / "feedback"}[where]
    assert autograde.main(["lab01", str(given), "--out", str(ws)]) == 2
    message = capsys.readouterr().err
    assert "nothing was changed" in message and str(ws / "submitted") in message
    assert tree_digest(ws) == before
    assert _gradebook_rows(ws / "gradebook.db") == rows


def test_nbgrader_collected_submissions_are_graded_in_place_and_feedback_can_be_released(tmp_path):
    """In place: nothing in submitted/ changes; release_feedback finds timestamp.txt and the secret."""
    ws = tmp_path / "ws"
    _nbgrader_collected(ws, "ann", student())
    _nbgrader_collected(ws, "ben", student(wrong_sgd))
    before = tree_digest(ws / "submitted")
    run = _grade(ws / "submitted", ws)
    assert run.mode == "in place"
    assert {r.student: r.score for r in run.results} == {"ann": FULL, "ben": FULL - 1}
    assert tree_digest(ws / "submitted") == before
    for who in ("ann", "ben"):
        feedback = ws / "feedback" / who / LAB
        assert (feedback / "submission_secret.txt").read_text() == f"secret-of-{who}"
        assert (feedback / "timestamp.txt").read_text().startswith("2026-01-15 10:00:00")
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    overrides = workspace_overrides(ws, None)
    overrides["Exchange"] = {"root": str(exchange)}
    api = make_api(load_config(course_root(), **overrides))
    result = api.release_feedback(LAB, "ann")
    assert result["success"], result.get("log")
    from nbgrader.utils import notebook_hash
    released = exchange / "optilab" / "feedback" / f"{notebook_hash(secret='secret-of-ann', notebook_id=LAB)}.html"
    assert released.is_file()


def test_feedback_of_uploads_can_be_released_too(tmp_path):
    """Found when tried: after grading uploads (no exchange files) release_feedback failed for everyone."""
    export, ws = tmp_path / "export", tmp_path / "ws"
    write(export / "ann" / f"{LAB}.ipynb", student())
    write(export / "bad" / f"{LAB}.ipynb", "not json at all")  # cannot be graded: a page of its own
    _grade(export, ws)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    overrides = workspace_overrides(ws, None)
    overrides["Exchange"] = {"root": str(exchange)}
    api = make_api(load_config(course_root(), **overrides))
    for who in ("ann", "bad"):
        result = api.release_feedback(LAB, who)
        assert result["success"], result.get("log")
    assert len(list((exchange / "optilab" / "feedback").glob("*.html"))) == 2


def test_the_report_covers_the_class_with_lateness_pending_points_and_reasons(tmp_path):
    ws = tmp_path / "ws"
    _nbgrader_collected(ws, "ann", student(), when="2026-01-15 08:00:00.000000 UTC")
    written = student(lambda cells: cells[WRITTEN_CELL].update(source="It was close to 2/λ_max."))
    _nbgrader_collected(ws, "ben", written, when="2026-01-15 11:30:00.000000 UTC")
    make_api(load_config(course_root(), **workspace_overrides(ws, None)))  # nothing created on load
    _grade(ws / "submitted", ws)
    with Gradebook(_db(ws), "optilab") as gb:
        gb.update_or_create_assignment(LAB, duedate="2026-01-15 09:00:00 UTC")
        gb.update_or_create_student("cat")  # on the roll, never submitted
    _set_manual(ws, "ann", 1)
    assert autograde.report_main(["lab01", "--out", str(ws)]) == 0
    lines = {line.split()[0]: line for line in (ws / "reports" / LAB / "report.txt").read_text().splitlines()[4:]
             if line.strip()}
    assert "due date: 2026-01-15 09:00 UTC" in (ws / "reports" / LAB / "report.txt").read_text()
    assert f"{FULL + 1:g}/{MAX}" in lines["ann"] and "1 point(s) graded by hand" in lines["ann"]
    assert "late" not in lines["ann"]
    assert "late by 2h 30min" in lines["ben"] and f"{2:g} point(s) wait for a manual grade" in lines["ben"]
    assert "no submission" in lines["cat"]
    assert all(not line.rstrip().endswith(" -") for line in lines.values())  # every note says something
    with open(ws / "reports" / LAB / "grades.csv", newline="") as fh:
        assert {r["student_id"] for r in csv.DictReader(fh)} == {"ann", "ben", "cat"}


def test_a_second_run_of_the_same_lab_is_refused_while_the_first_runs(tmp_path, capsys):
    """Found when tried: two runs at once turned a correct 16/20 into 0/20. Now the second waits its turn."""
    export, ws = tmp_path / "export", tmp_path / "ws"
    write(export / "ann" / f"{LAB}.ipynb", student())
    _grade(export, ws)
    before = tree_digest(ws)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from optilab.autograde.course import course_root, load_config, make_api
            from optilab.autograde.pipeline import workspace_overrides
            from optilab.autograde.workspace import Workspace
            from pathlib import Path
            api = make_api(load_config(course_root(), **workspace_overrides(Path({str(ws)!r}), None)))
            with Workspace.of(api.coursedir, Path({str(ws)!r})).lock({LAB!r}):
                print("holding", flush=True)
                sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert autograde.main(["lab01", str(export), "--out", str(ws)]) == 3
        message = capsys.readouterr().err
        assert f"process {holder.pid}" in message and "nothing was changed" in message
        after = tree_digest(ws)
        lock = f".optilab/{LAB}.lock"  # holds the first run's name while it runs
        assert {k: v for k, v in after.items() if k != lock} == {k: v for k, v in before.items() if k != lock}
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert autograde.main(["lab01", str(export), "--out", str(ws)]) == 0  # the lock ended with its process


def test_the_workspace_is_private_to_the_grader(tmp_path):
    """Found on a hub: grading/ was world-readable; a student read the gradebook and a classmate's work.

    The workspace folder is 700, so no other user can enter it; inside, everything the course's tools
    write is 600/700. nbgrader makes its released, autograded and feedback files read-only for all
    (644/444), and release_feedback copies a page's mode into the exchange, where students must read it.
    """
    export, ws = tmp_path / "export", tmp_path / "ws"
    write(export / "ann" / f"{LAB}.ipynb", student())
    _grade(export, ws)
    assert stat.S_IMODE(ws.stat().st_mode) == 0o700
    nbgraders = (ws / "autograded", ws / "feedback", ws / "release")
    checked = 0
    for path in ws.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o022 == 0, f"{path.relative_to(ws)} is writable by others: {oct(mode)}"
        if path.is_file() and not any(folder in path.parents for folder in nbgraders):
            assert mode & 0o077 == 0, f"{path.relative_to(ws)} is {oct(mode)}"
            checked += 1
    assert (ws / "gradebook.db").is_file() and checked > 5


def test_a_kernel_that_lost_its_port_to_another_is_graded_again_not_scored_0():
    """Found here: 1 in 30 kernels started by three workers died on "Address already in use" before any
    student code ran, and a correct submission scored 0; once in CI such a kernel lived on without
    answering. Such failures are the grader's: retried."""
    from optilab.autograde.worker import grader_side_failure

    lost_port = {"success": False, "error": "", "log": (
        "[ERROR] Kernel died before replying to kernel_info\n"
        "RuntimeError: Kernel died before replying to kernel_info\n")}
    # the same loss seen in CI (a plain kernel's iopub port, "Address already in use" in nbgrader.log):
    # the kernel did not die but never answered, and its manager gave up after the start-up timeout
    never_ready = {"success": False, "error": "", "log": (
        "[ERROR] Error occurred while starting new kernel client for kernel 22cdf29f-509e-4e5e-b671-63f1e1892d6c: "
        "Kernel didn't respond in 60 seconds\n"
        "[ERROR] There was an error processing assignment: submitted/ann/lab01_gradient_descent\n"
        "RuntimeError: Kernel didn't respond in 60 seconds\n")}
    student_exit = {"success": False, "error": "", "log": "nbclient.exceptions.DeadKernelError: Kernel died\n"}
    no_heartbeat = {"success": False, "error": "", "log": (  # a kernel that stopped once student code ran
        "RuntimeError: Kernel didn't respond to heartbeats in 60 seconds and timed out\n")}
    assert grader_side_failure(lost_port) and grader_side_failure(never_ready)
    assert not grader_side_failure(no_heartbeat)
    assert grader_side_failure({"success": False, "log": "sqlite3.OperationalError: database is locked"})
    assert not grader_side_failure(student_exit)  # os._exit in an answer: the submission's own doing


def test_a_verdict_process_that_could_not_start_is_graded_again_not_scored_0(tmp_path):
    """The process that runs the notebook for the grader's verdicts ended before any of its code ran,
    twice (judge tries once more itself): nbgrader's autograde of that submission fails with this
    error, and the worker grades it again, as after any failure of the grading machine."""
    import sys

    from optilab.autograde.worker import grader_side_failure
    from optilab.grading.notebook import NotStarted, StudentNotebook

    with pytest.raises(NotStarted) as raised:
        StudentNotebook([(0, "x = 1")], tmp_path, command=[sys.executable, "-c", "raise SystemExit(1)"]).start()
    log = f"Traceback (most recent call last):\n  ...\noptilab.grading.notebook.NotStarted: {raised.value}\n"
    assert grader_side_failure({"success": False, "error": "", "log": log})


def test_without_bubblewrap_grading_is_refused_unless_asked_and_then_says_so_on_every_line(tmp_path):
    """Issue 11: no sandbox, no grade, unless the instructor says --no-sandbox (and the report says it too)."""
    export, ws = tmp_path / "export", tmp_path / "ws"
    write(export / "ann" / f"{LAB}.ipynb", student())
    write(export / "ben" / f"{LAB}.ipynb", student(wrong_sgd))
    no_bwrap = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's tools, no bwrap
    command = [sys.executable, "-m", "optilab", "grade", "lab01", str(export), "--out", str(ws), "--timeout", "10"]
    refused = subprocess.run(command, env=no_bwrap, capture_output=True, text=True, cwd=course_root())
    assert refused.returncode == 2, (refused.stdout[-2000:], refused.stderr[-2000:])
    assert "apt-get install bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr
    assert not ws.exists()  # refused before anything was written
    done = subprocess.run([*command, "--no-sandbox"], env=no_bwrap, capture_output=True, text=True,
                          cwd=course_root())
    assert done.returncode == 0, done.stderr
    report = (ws / "reports" / LAB / "report.txt").read_text()
    assert "sandbox: none" in report
    lines = [line for line in report.splitlines() if line.startswith(("ann ", "ben "))]
    assert len(lines) == 2 and all("NOT SANDBOXED" in line for line in lines)
    assert _scores(ws) == {"ann": FULL, "ben": FULL - 1}, (report, done.stdout[-2000:], done.stderr[-2000:])



def test_a_run_leaves_nothing_in_the_temporary_folder(tmp_path):
    """Found when tried: every ``make grade`` left in /tmp, for each of its workers, a folder with the
    library as graded code sees it and an empty file the sandbox hides files with (the workers of a
    pool end without running the code that removes them): hundreds over a term. Now a run of two
    workers on two students leaves nothing there."""
    import shutil
    import tempfile

    from optilab import isolate

    if not isolate.available()[0]:
        pytest.skip(f"no sandbox here: {isolate.available()[1]}")
    temp = Path(tempfile.mkdtemp(prefix="optilab-test-temp-"))
    temp.chmod(0o755)  # as /tmp: the sandbox's user reads what the grader puts there
    try:
        export, ws = tmp_path / "export", tmp_path / "ws"
        write(export / "ann" / f"{LAB}.ipynb", student())
        write(export / "ben" / f"{LAB}.ipynb", student(wrong_sgd))
        done = subprocess.run([sys.executable, "-m", "optilab", "grade", "lab01", str(export), "--out", str(ws),
                               "--jobs", "2", "--timeout", str(TIMEOUT)], env={**os.environ, "TMPDIR": str(temp)},
                              capture_output=True, text=True, cwd=course_root())
        assert done.returncode == 0, done.stderr
        assert _scores(ws) == {"ann": FULL, "ben": FULL - 1}
        assert sorted(os.listdir(temp)) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)


HOSTILE = '''
import pathlib
_here = pathlib.Path.cwd()
_leaked = []
for _d in [_here, *_here.parents][:5]:
    try:
        for _p in _d.glob("*/*/*/*.ipynb"):
            _text = _p.read_text()
            if "SECRET-" + "OF-ANN" in _text:
                _leaked.append(_text[-3000:])
    except OSError:
        pass
print("LEAKED" if _leaked else "nothing to read", _leaked[:1])
for _d in _here.parents:
    for _name in ("gradebook.db", "pwned.txt"):
        try:
            (_d / _name).write_bytes(b"overwritten by a student")
        except OSError:
            pass
'''


def test_a_hostile_submission_earns_its_own_points_and_touches_nothing_else(tmp_path):
    """Issue 11's findings through make grade: one answer cell read a classmate's submission into its
    feedback, overwrote the gradebook found by walking up (nobody got a grade, manual grades gone) and
    wrote outside its folder. Sandboxed, it earns what its own (correct) rules earn, and nothing else changes."""
    from optilab import isolate

    if not isolate.available()[0]:
        pytest.skip(f"no sandbox here: {isolate.available()[1]}")
    export, ws = tmp_path / "export", tmp_path / "ws"
    honest = student(lambda cells: cells[WRITTEN_CELL].update(source="SECRET-OF-ANN: words only ann wrote."))
    write(export / "ann" / f"{LAB}.ipynb", honest)
    _grade(export, ws)
    _set_manual(ws, "ann", 2)
    rows = _gradebook_rows(ws / "gradebook.db")
    hostile = student(lambda cells: cells["sgd-answer"].update(source=HOSTILE + "".join(cells["sgd-answer"]["source"])))
    export2 = tmp_path / "export2"
    write(export2 / "eve" / f"{LAB}.ipynb", hostile)
    before = {k: v for k, v in tree_digest(tmp_path).items() if "/eve/" not in k and not k.startswith("export2")}
    run = _grade(export2, ws)
    assert {r.student: r.score for r in run.results} == {"eve": FULL}
    assert _scores(ws) == {"ann": FULL + 2, "eve": FULL}
    after = tree_digest(tmp_path)
    changed = {k for k in before if after.get(k) != before[k]}
    # what this run may write: reports, backups, the lock, the gradebook (eve's rows), nbgrader's release
    allowed = ("ws/reports/", "ws/backups/", "ws/.optilab/", "ws/gradebook.db")
    assert not {k for k in changed if not k.startswith(allowed)}, changed
    assert not [k for k in after if k.endswith("pwned.txt")]
    new_rows = _gradebook_rows(ws / "gradebook.db")
    ann_rows = {t: [r for r in rs if "'ann'" in r] for t, rs in rows.items()}
    assert {t: [r for r in rs if "'ann'" in r] for t, rs in new_rows.items()} == ann_rows
    feedback = (ws / "feedback" / "eve" / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    autograded = (ws / "autograded" / "eve" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8")
    assert "words only ann wrote" not in feedback and "words only ann wrote" not in autograded
    assert "nothing to read" in autograded

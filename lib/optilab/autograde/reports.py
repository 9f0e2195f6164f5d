"""What a grading run did, and the reports of a lab for the whole class in the gradebook.

:class:`GradingRun` and :class:`StudentResult` are what :func:`optilab.autograde.pipeline.grade_lab`
returns; :func:`write_reports` writes ``grades.csv`` (nbgrader's CSV export) and ``report.txt``
(the whole class: scores, points pending a manual grade, lateness, and why each grade is what it
is; who this run graded is marked), from the gradebook and the notes each run keeps
(:func:`remember_notes`).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from optilab.autograde import standing
from optilab.autograde.workspace import COPY, IN_PLACE

__all__ = ["StudentResult", "GradingRun", "UNSANDBOXED", "remember_notes", "write_reports"]

#: What every report line of a ``--no-sandbox`` run says.
UNSANDBOXED = "NOT SANDBOXED (--no-sandbox): the student's code ran with the grader's rights"


@dataclass
class StudentResult:
    """One student's outcome in this run."""

    student: str
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    graded: bool = False                 # autograded by nbgrader (else 0 for this attempt)
    notes: list[str] = field(default_factory=list)


@dataclass
class GradingRun:
    """What :func:`grade_lab` did."""

    lab: str
    workspace: Path
    results: list[StudentResult]         # the students of this run
    grades_csv: Path
    report: Path
    seconds: float                       # wall time of staging, autograding, feedback and export
    max_score: float
    mode: str = COPY                     # :data:`~.workspace.COPY` or :data:`~.workspace.IN_PLACE`
    backup: Path | None = None           # the gradebook's copy made before this run
    standing: list[standing.Standing] = field(default_factory=list)  # the whole class, after the run
    sandboxed: bool = True               # the notebooks ran in the sandboxed kernel

    @property
    def seconds_per_submission(self) -> float:
        return self.seconds / max(1, len(self.results))


def remember_notes(path: Path, results: list[StudentResult]) -> None:
    """Keep each student's latest notes (``notes.json``), so a report of the whole class can show them."""
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    when = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    for r in results:
        known[r.student] = {"graded": when, "autograded": r.graded, "notes": r.notes}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _late(seconds: float) -> str:
    if seconds <= 0:
        return ""
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return "late by " + " ".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (minutes, "min")) if v) \
        if minutes or hours or days else "late by under a minute"


def write_reports(run: GradingRun, coursedir, submissions: str = "") -> None:
    """Write ``grades.csv`` (nbgrader's CSV export) and ``report.txt`` for the whole class of ``run.lab``."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    lab = run.lab
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        CsvExportPlugin(to=str(run.grades_csv), assignment=[lab]).export(gb)
    run.standing = standing.class_standing(coursedir.db_url, coursedir.course_id, lab)
    due = standing.due_date(coursedir.db_url, coursedir.course_id, lab)
    try:
        remembered = json.loads((run.grades_csv.parent / "notes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        remembered = {}
    this_run = {r.student: r for r in run.results}
    failed = sum(not r.graded for r in run.results)
    lines = [
        f"{lab}: the whole class in the gradebook, {time.strftime('%Y-%m-%d %H:%M %Z')}",
        (f"this run: {len(run.results)} submission(s) {'graded in place in' if run.mode == IN_PLACE else 'copied in from'}"
         f" {submissions}; {failed} could not be graded (0 for that attempt)" if submissions else
         "written from the gradebook; nothing was graded"),
        f"due date: {due:%Y-%m-%d %H:%M} UTC" if due else
        f"due date: none in the gradebook (set one with `.venv/bin/nbgrader db assignment add {lab} --duedate=...`)",
    ]
    if submissions:
        lines.append("sandbox: every notebook of this run ran in bubblewrap (the optilab-sandboxed kernel)"
                     if run.sandboxed else f"sandbox: none. {UNSANDBOXED}")
    if run.backup:
        lines.append(f"gradebook backed up before this run to {run.backup}")
    lines += ["", f"{'student':<20} {'score':>11} {'pending':>8}  {'graded':<10} notes"]
    for st in run.standing:
        notes: list[str] = []
        if not st.submitted:
            notes.append("no submission")
        res = this_run.get(st.student)
        memory = remembered.get(st.student, {})  # this run's notes too: remember_notes came first
        notes += memory.get("notes", [])
        late = _late(st.seconds_late)
        if late:
            notes.append(late)
        if st.pending:
            notes.append(f"{st.pending:g} point(s) wait for a manual grade")
        if st.manual:
            notes.append(f"{st.manual:g} point(s) graded by hand")
        if not notes:
            notes.append("autograded, nothing to note")
        if res:
            ran = "this run" if res.graded else "FAILED"
        elif memory:
            ran = memory.get("graded", "")[:10]
        else:
            ran = "earlier" if st.submitted else "-"
        lines.append(f"{st.student:<20} {f'{st.score:g}/{st.max_score:g}':>11} "
                     f"{(f'{st.pending:g}' if st.pending else ''):>8}  {ran:<10} {'; '.join(notes)}")
    run.report.write_text("\n".join(lines) + "\n", encoding="utf-8")

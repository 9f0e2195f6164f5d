"""Group 4: grading throughput, ``make grade`` against plain ``nbgrader autograde``.

Both grade the same synthetic submissions of the first lab (20 students; each answers
the lab's exercises or leaves some of them unanswered, so the grades vary):

- ``make grade``: the command it runs, ``python -m optilab grade LAB SUBMISSIONS --out DIR``,
  timed from start to exit. Its time includes everything it does: preparing the release (a
  full ``generate_assignment`` only when the lab changed since the last run), staging,
  autograding, feedback pages and the CSV export.
- plain nbgrader: ``nbgrader autograde LAB`` from the command line in a copy of the course
  folder whose ``submitted/`` holds the same notebooks, timed from start to exit. Its
  ``generate_assignment`` is done beforehand and not timed; it writes no feedback.

The grades must agree: each student's score from ``grades.csv`` and from the plain run's gradebook.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.timing import cpu_seconds

__all__ = ["SUBMISSIONS", "TARGET_SPEEDUP", "answered", "make_submissions", "run", "main"]

SUBMISSIONS = 20
TARGET_SPEEDUP = 2.0
_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def answered(source: str) -> str:
    """An instructor's solution cell as a student would submit it: the solution markers removed."""
    return "\n".join(line for line in source.splitlines() if not _MARKERS.match(line))


def _solution_cells(notebook: dict) -> dict[str, str]:
    return {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["source"]) if isinstance(cell["source"], list)
            else cell["source"]
            for cell in notebook["cells"] if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def make_submissions(source: Path, released: Path, folder: Path, count: int = SUBMISSIONS) -> list[str]:
    """Write ``count`` students' submissions of one lab, one folder each (``folder/student_NN/LAB.ipynb``).

    Each is the released (student) notebook with some exercises answered from the instructor's
    solution and the others left as released (they raise ``NotImplementedError``): student 0
    answers all, student 1 none, and student ``i`` leaves exercise ``j`` unanswered when
    ``(i + j) % 4 == 3``. Returns the student ids.
    """
    solutions = _solution_cells(json.loads(source.read_text(encoding="utf-8")))
    student_version = json.loads(released.read_text(encoding="utf-8"))
    students = []
    for i in range(count):
        notebook = json.loads(json.dumps(student_version))
        exercise = 0
        for cell in notebook["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id not in solutions:
                continue
            if i == 0 or (i != 1 and (i + exercise) % 4 != 3):
                cell["source"] = answered(solutions[grade_id])
            exercise += 1
        student = f"student_{i:02d}"
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / released.name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        students.append(student)
    return students


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader runs alembic
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[float, subprocess.CompletedProcess]:
    """Run ``command`` and time it; a command that outlives ``timeout`` is stopped and fails (exit status -9).

    The completed process gets a ``cpu_s`` attribute: the CPU time of the command and its
    children (the kernels), as far as they were waited for.
    """
    start, cpu = time.perf_counter(), cpu_seconds()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        done = subprocess.CompletedProcess(command, -9, out, f"stopped after {timeout:.0f} s (time limit)")
    done.cpu_s = cpu_seconds() - cpu
    return time.perf_counter() - start, done


def _tail(done: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    return lines[-1][:200] if lines else f"exit status {done.returncode}"


def _first_lab(root: Path) -> str | None:
    labs = sorted(p.name for p in (root / "solutions").glob("lab*") if (p / f"{p.name}.ipynb").is_file())
    return labs[0] if labs else None


def run(root: Path, *, count: int = SUBMISSIONS, timeout: float = 400.0) -> dict[str, Any]:
    """Grade ``count`` synthetic submissions both ways; see the module docstring."""
    if not (root / "nbgrader_config.py").is_file():
        return {"status": "not available", "reason": "no nbgrader_config.py in the course folder"}
    lab = _first_lab(root)
    if lab is None:
        return {"status": "not available", "reason": "no solutions/labNN_*/labNN_*.ipynb yet"}
    try:
        import optilab.autograde as autograde
    except ImportError as error:
        return {"status": "not available", "reason": f"the grading command is missing: {error}"}
    if not callable(getattr(autograde, "main", None)):
        return {"status": "not available", "reason": "optilab.autograde has no main(); `make grade` cannot run"}
    env = _env(root)
    python = sys.executable
    script = Path(python).parent / "nbgrader"  # the command an instructor types
    nbgrader = [str(script)] if script.is_file() else [python, "-m", "nbgrader"]
    with tempfile.TemporaryDirectory(prefix="optilab-bench-grading-") as tmp:
        tmp_path = Path(tmp)
        # A copy of the course folder for plain nbgrader: its own gradebook and submitted/.
        course = tmp_path / "course"
        course.mkdir()
        shutil.copy2(root / "nbgrader_config.py", course)
        shutil.copytree(root / "solutions" / lab, course / "solutions" / lab)
        setup_s, done = _run([*nbgrader, "generate_assignment", lab, "--force"], course, env, timeout)
        if done.returncode != 0:
            return {"status": "not available", "reason": f"nbgrader generate_assignment {lab} failed: {_tail(done)}"}
        released = course / "labs" / lab / f"{lab}.ipynb"
        submissions = tmp_path / "submissions"
        students = make_submissions(root / "solutions" / lab / f"{lab}.ipynb", released, submissions, count)
        submitted = _submitted_folder(course)
        for student in students:
            target = submitted / student / lab
            target.mkdir(parents=True)
            shutil.copy2(submissions / student / f"{lab}.ipynb", target / f"{lab}.ipynb")

        plain_s, plain = _run([*nbgrader, "autograde", lab], course, env, timeout)
        plain_grades = _gradebook_scores(course, lab) if plain.returncode == 0 else {}
        ours_s, ours = _run([python, "-m", "optilab", "grade", lab, str(submissions), "--out", str(tmp_path / "ws")],
                            root, env, timeout)
        csv_path = tmp_path / "ws" / "reports" / lab / "grades.csv"
        our_grades = _csv_scores(csv_path) if ours.returncode == 0 and csv_path.is_file() else {}

    records = [
        {"command": "make grade (python -m optilab grade)", "submissions": count, "seconds": ours_s,
         "per_submission_s": ours_s / count, "cpu_s": ours.cpu_s, "exit_status": ours.returncode,
         "graded": len(our_grades), "problem": None if ours.returncode == 0 else _tail(ours),
         "output_tail": ours.stdout.splitlines()[-25:]},
        {"command": "nbgrader autograde (command line)", "submissions": count, "seconds": plain_s,
         "per_submission_s": plain_s / count, "cpu_s": plain.cpu_s, "exit_status": plain.returncode,
         "graded": len(plain_grades), "problem": None if plain.returncode == 0 else _tail(plain)},
    ]
    if ours.returncode != 0 or plain.returncode != 0:
        failed = [r for r in records if r["problem"]]
        return {"status": "not available", "records": records,
                "reason": "; ".join(f"{r['command']} failed: {r['problem']}" for r in failed)}
    disagreements = [f"{s}: make grade {our_grades.get(s)} vs nbgrader {plain_grades.get(s)}"
                     for s in students if our_grades.get(s) is None or plain_grades.get(s) is None
                     or abs(our_grades[s] - plain_grades[s]) > 1e-9]
    speedup = plain_s / ours_s
    return {
        "status": "ok",
        "lab": lab,
        "records": records,
        "speedup": speedup,
        "setup_s": setup_s,
        "same_grades": not disagreements,
        "disagreements": disagreements,
        "grades": {s: our_grades.get(s) for s in students},
        "distinct_grades": len(set(our_grades.values())),
        "meets_target": bool(speedup >= TARGET_SPEEDUP and not disagreements),
        "note": (f"{lab}, {count} synthetic submissions with {len(set(our_grades.values()))} different scores; "
                 "`make grade`'s time includes preparing the release (generate_assignment when the lab changed), "
                 "feedback pages and the CSV export; plain nbgrader's only autograde."),
    }


def _course_directory(course: Path) -> Any:
    """nbgrader's view of ``course``, configured by its nbgrader_config.py as the command line reads it."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    return CourseDirectory(config=PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())


def _submitted_folder(course: Path) -> Path:
    """Where nbgrader looks for the course's submissions."""
    coursedir = _course_directory(course)
    return Path(coursedir.format_path(coursedir.submitted_directory, ".", ".")).resolve()


def _gradebook_scores(course: Path, lab: str) -> dict[str, float]:
    """Each student's total score in the plain run's gradebook (what ``nbgrader export`` writes)."""
    from nbgrader.api import Gradebook

    coursedir = _course_directory(course)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        return {s.student.id: float(s.score) for s in gradebook.find_assignment(lab).submissions}


def _csv_scores(path: Path) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


def main(root: Path, quick: bool = False, budget_s: float | None = None) -> dict[str, Any]:
    """The group as ``python -m bench`` runs it (``quick``: two submissions).

    It grades all 20 submissions both ways whatever ``budget_s`` is: fewer would not be the measure asked for.
    """
    return run(root, count=2 if quick else SUBMISSIONS)

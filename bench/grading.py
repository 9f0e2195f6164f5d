"""Group 4: grading throughput, ``make grade`` against plain ``nbgrader autograde``.

Both grade the same synthetic submissions of lab 4 (:data:`LAB`; the first lab if there is no
lab 4), 20 students, each answering the lab's exercises or leaving some of them unanswered, so
the grades vary. Both run in one copy of the course folder (its ``nbgrader_config.py`` and the
lab's ``solutions/``), so both grade in the kernel that configuration names
(``BoundedExecute.kernel_name``: the sandboxed ``optilab-sandboxed`` kernel):

- ``make grade``: the command it runs, ``python -m optilab grade LAB SUBMISSIONS --out DIR``
  (parallel worker processes, sandboxed), timed from start to exit. Its time includes
  everything it does: nbgrader's ``generate_assignment`` of the lab into its workspace,
  staging, autograding, feedback pages and the CSV export.
- plain nbgrader: ``nbgrader autograde LAB`` from the command line, one submission after
  another, in the course copy whose ``submitted/`` holds the same notebooks, timed from start
  to exit. Its ``generate_assignment`` is done beforehand and not timed; it writes no feedback.
- ``make grade --jobs 1``: the same command with one worker process, to show how much of the
  speed-up comes from grading submissions in parallel (optilab changes nothing inside nbgrader,
  jupyter_client or nbconvert; through nbgrader's ``GenerateFeedback.exporter_class`` setting its
  feedback pages keep their templates compiled, work plain ``nbgrader autograde`` does not do).

The order is ``make grade``, plain nbgrader, ``make grade --jobs 1``, ``make grade`` again; the
speed-up uses the mean of the two ``make grade`` runs, which bracket the others, so a machine
that gets busier or quieter during the group favours neither side. Each ``make grade`` run has
a new workspace. With ``runs=1`` (``--quick``), ``make grade`` runs once, after plain nbgrader,
and the one-worker run is left out.

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

__all__ = ["LAB", "SUBMISSIONS", "TARGET_SPEEDUP", "answered", "make_submissions", "graded_lab", "run", "main"]

#: The lab graded (issue 11: lab 4's 20 submissions).
LAB = "lab04"
SUBMISSIONS = 20
TARGET_SPEEDUP = 1.5
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


def graded_lab(root: Path, prefix: str = LAB) -> str | None:
    """The full name of the lab whose name starts with ``prefix`` (else the first lab; None without labs)."""
    labs = sorted(p.name for p in (root / "solutions").glob("lab*") if (p / f"{p.name}.ipynb").is_file())
    chosen = [lab for lab in labs if lab.startswith(prefix)]
    return (chosen or labs or [None])[0]


def _kernel_name(course: Path) -> str:
    """The kernel autograding runs notebooks in, as ``course``'s configuration sets it."""
    from traitlets.config.loader import PyFileConfigLoader

    from optilab.isolate.output import BoundedExecute

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return str(BoundedExecute(config=config).kernel_name or "(the notebook's own)")


def _agree(students: list[str], a: dict[str, float], b: dict[str, float]) -> list[str]:
    return [f"{s}: {a.get(s)} vs {b.get(s)}" for s in students
            if a.get(s) is None or b.get(s) is None or abs(a[s] - b[s]) > 1e-9]


def run(root: Path, *, count: int = SUBMISSIONS, timeout: float = 400.0, lab_prefix: str = LAB,
        runs: int = 2) -> dict[str, Any]:
    """Grade ``count`` synthetic submissions each way; see the module docstring."""
    if not (root / "nbgrader_config.py").is_file():
        return {"status": "not available", "reason": "no nbgrader_config.py in the course folder"}
    lab = graded_lab(root, lab_prefix)
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
        (course / "grading").mkdir(mode=0o700)  # the configuration's workspace: nbgrader creates no folders for it
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

        kernel = _kernel_name(course)

        # Run from the course copy: optilab finds the course (nbgrader_config.py, solutions/) there.
        def optilab_grade(out: str, *options: str) -> tuple[float, subprocess.CompletedProcess,
                                                              dict[str, float], bool | None]:
            seconds, done = _run([python, "-m", "optilab", "grade", lab, str(submissions), "--out",
                                  str(tmp_path / out), *options], course, env, timeout)
            return (seconds, done, *_run_grades(tmp_path / out, lab, done))

        ours_runs = [optilab_grade("ws1")] if runs > 1 else []
        plain_s, plain = _run([*nbgrader, "autograde", lab], course, env, timeout)
        plain_grades = _gradebook_scores(course, lab) if plain.returncode == 0 else {}
        one = optilab_grade("ws2", "--jobs", "1") if runs > 1 else None
        ours_runs.append(optilab_grade("ws3"))
    failed_runs = [r for r in ours_runs if r[1].returncode != 0]
    _, ours, our_grades, sandboxed = failed_runs[0] if failed_runs else ours_runs[-1]
    run_seconds = [r[0] for r in ours_runs]
    ours_s = sum(run_seconds) / len(run_seconds)
    cpu_s = sum(r[1].cpu_s for r in ours_runs) / len(ours_runs)
    between_runs = _agree(students, ours_runs[0][2], ours_runs[-1][2])

    records = [
        {"command": "make grade (python -m optilab grade)", "submissions": count, "seconds": ours_s,
         "per_submission_s": ours_s / count, "cpu_s": cpu_s, "exit_status": ours.returncode,
         "graded": len(our_grades), "problem": None if ours.returncode == 0 else _tail(ours),
         "runs_s": run_seconds, "output_tail": ours.stdout.splitlines()[-25:]},
        {"command": "nbgrader autograde (command line)", "submissions": count, "seconds": plain_s,
         "per_submission_s": plain_s / count, "cpu_s": plain.cpu_s, "exit_status": plain.returncode,
         "graded": len(plain_grades), "problem": None if plain.returncode == 0 else _tail(plain)},
    ]
    if one is not None:
        one_s, one_done, one_grades, _ = one
        records.append(
            {"command": "make grade --jobs 1 (one worker)", "submissions": count, "seconds": one_s,
             "per_submission_s": one_s / count, "cpu_s": one_done.cpu_s, "exit_status": one_done.returncode,
             "graded": len(one_grades), "problem": None if one_done.returncode == 0 else _tail(one_done)})
    if ours.returncode != 0 or plain.returncode != 0:
        failed = [r for r in records if r["problem"]]
        return {"status": "not available", "records": records,
                "reason": "; ".join(f"{r['command']} failed: {r['problem']}" for r in failed)}
    disagreements = [f"make grade vs nbgrader: {d}" for d in _agree(students, our_grades, plain_grades)]
    disagreements += [f"make grade, first vs last run: {d}" for d in between_runs]
    speedup = plain_s / ours_s
    spread = (f"the {len(run_seconds)} `make grade` runs took "
              + " and ".join(f"{s:.1f} s" for s in run_seconds) + " (the table shows their mean)"
              if len(run_seconds) > 1 else "")
    result: dict[str, Any] = {
        "status": "ok",
        "lab": lab,
        "kernel": kernel,
        "sandboxed": sandboxed,
        "records": records,
        "speedup": speedup,
        "target": TARGET_SPEEDUP,
        "setup_s": setup_s,
        "same_grades": not disagreements,
        "disagreements": disagreements,
        "grades": {s: our_grades.get(s) for s in students},
        "distinct_grades": len(set(our_grades.values())),
        "meets_target": bool(speedup >= TARGET_SPEEDUP and not disagreements),
        "note": (f"{lab}, {count} synthetic submissions with {len(set(our_grades.values()))} different scores, "
                 f"both graded in the `{kernel}` kernel (the course's configuration); `make grade`'s time "
                 "includes nbgrader's generate_assignment, feedback pages and the CSV export; "
                 f"plain nbgrader's only autograde (its generate_assignment, {setup_s:.1f} s, is not counted)"
                 + (f"; {spread}" if spread else "")
                 + ". CPU: the command's own and what the OS counts of its children, "
                 "which misses most of the sandboxed kernels' time."),
    }
    if one is not None:
        result["one_worker"] = {
            "seconds": one_s,
            "speedup": plain_s / one_s if one_done.returncode == 0 else None,
            "workers_speedup": one_s / ours_s if one_done.returncode == 0 else None,
            "same_grades": one_done.returncode == 0 and not _agree(students, one_grades, our_grades),
            "disagreements": _agree(students, one_grades, our_grades)[:10],
        }
    return result


def _run_grades(workspace: Path, lab: str, done: subprocess.CompletedProcess) -> tuple[dict[str, float], bool | None]:
    """Scores from a ``python -m optilab grade`` run's grades.csv, and whether its report says it was sandboxed."""
    csv_path = workspace / "reports" / lab / "grades.csv"
    report = workspace / "reports" / lab / "report.txt"
    grades = _csv_scores(csv_path) if done.returncode == 0 and csv_path.is_file() else {}
    sandboxed = ("NOT SANDBOXED" not in report.read_text(encoding="utf-8")) if report.is_file() else None
    return grades, sandboxed


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
    """The group as ``python -m bench`` runs it (``quick``: two submissions, ``make grade`` once).

    It grades all 20 submissions each way whatever ``budget_s`` is: fewer would not be the measure asked for.
    """
    return run(root, count=2 if quick else SUBMISSIONS, runs=1 if quick else 2)

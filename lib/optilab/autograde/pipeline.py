"""Grade a folder of submissions for one lab with nbgrader, in parallel worker processes.

Steps, all nbgrader's own through its Python API and the course's ``nbgrader_config.py``:

1. ``generate_assignment`` of the lab from ``solutions/`` into the workspace's ``release/``
   (never into ``labs/``), which records the lab's cells, points and hidden tests in the
   workspace's gradebook; skipped when the workspace already holds what it would produce
   (:mod:`optilab.autograde.release_cache`);
2. stage each student's notebook into ``submitted/`` (:mod:`optilab.autograde.collect`) and
   hand it at once to
3. ``autograde`` and ``generate_feedback``, in ``jobs`` worker processes that each keep one
   :class:`~nbgrader.apps.NbGraderAPI` (they share one SQLite gradebook; nbgrader's fixed
   costs are paid once per worker, :mod:`optilab.autograde.speedups`);
4. ``export`` with nbgrader's CSV plugin to ``reports/<lab>/grades.csv``; a readable
   ``report.txt`` beside it lists every score with what went wrong.

A submission that cannot be graded gets 0, a line in the report, and a feedback page that
says why; it never stops the others.
"""

from __future__ import annotations

import copy
import html
import multiprocessing
import os
import queue
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from optilab import kernel_polling
from optilab.autograde import audit, collect, release_cache, speedups
from optilab.autograde.course import course_root, load_config, make_api, resolve_lab

__all__ = ["StudentResult", "GradingRun", "grade_lab", "workspace_overrides"]


@dataclass
class StudentResult:
    """One student's outcome."""

    student: str
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    graded: bool = False                 # autograded by nbgrader (else scored 0)
    notes: list[str] = field(default_factory=list)


@dataclass
class GradingRun:
    """What :func:`grade_lab` did."""

    lab: str
    workspace: Path
    results: list[StudentResult]
    grades_csv: Path
    report: Path
    seconds: float                       # wall time of staging, autograding, feedback and export
    max_score: float

    @property
    def seconds_per_submission(self) -> float:
        return self.seconds / max(1, len(self.results))


def workspace_overrides(workspace: Path | None, timeout: float | None) -> dict:
    """Config overrides that put every nbgrader output of grading in ``workspace``."""
    cd: dict = {}
    if workspace is None:
        cd["release_directory"] = os.path.join("grading", "release")
    else:
        ws = Path(workspace).resolve()
        cd.update(
            release_directory=str(ws / "release"),
            submitted_directory=str(ws / "submitted"),
            autograded_directory=str(ws / "autograded"),
            feedback_directory=str(ws / "feedback"),
            db_url="sqlite:///" + str(ws / "gradebook.db"),
        )
    overrides: dict = {"CourseDirectory": cd}
    if workspace is not None:
        overrides["Exchange"] = {"root": str(Path(workspace).resolve() / "exchange")}
    # Once a notebook has run, its outputs are collected: stop its kernel at once instead of
    # waiting for a polite shutdown (about 0.2 s per submission; the grades are the same).
    overrides["Execute"] = {"shutdown_kernel": "immediate"}
    # nbgrader's feedback exporter, with its templates compiled once per worker, not per student.
    overrides["GenerateFeedback"] = {"exporter_class": speedups.FeedbackExporter}
    if timeout is not None:
        overrides["Execute"]["timeout"] = int(max(1, round(timeout)))
    return overrides


# --- the worker side: one API object per process ------------------------------------------

_API = None
_FALLBACK_API = None
_CONFIG = None


def _init_worker(config, log_path: str | None = None) -> None:
    global _API, _FALLBACK_API, _CONFIG
    if log_path:  # the kernels inherit this: their start-up chatter goes to the log, not the terminal
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    _CONFIG = config
    _API = make_api(config)
    _FALLBACK_API = None


def _failure_reason(result: dict) -> str:
    text = f"{result.get('error') or ''}\n{result.get('log') or ''}"
    if "DeadKernelError" in text or "Kernel died" in text or "kernel died" in text:
        return "the kernel died while the notebook ran (for example os._exit, a crash, or no memory left)"
    if "UnresponsiveKernelError" in text or "became unresponsive" in text:
        return "the kernel stopped responding and could not be interrupted"
    lines = [ln.strip() for ln in (result.get("error") or result.get("log") or "").splitlines() if ln.strip()]
    return "nbgrader could not grade it: " + (lines[-1][:200] if lines else "unknown error")


def _grade_one(task: tuple[str, str]) -> dict:
    """Autograde and generate feedback for one student (runs in a worker)."""
    global _FALLBACK_API
    lab, student = task
    start = time.perf_counter()
    notes: list[str] = []
    result = _API.autograde(lab, student, force=True, create=True)
    for _ in range(3):  # the workers share one SQLite gradebook: retry a rare lock timeout
        if result["success"] or "database is locked" not in str(result.get("log")):
            break
        time.sleep(0.5)
        result = _API.autograde(lab, student, force=True, create=True)
    if not result["success"] and "add_missing" in f"{result.get('error')}{result.get('log')}":
        # nbgrader could not put a deleted test cell back (the cells around it were deleted
        # too): grade what is there; the missing test cells score 0.
        if _FALLBACK_API is None:
            config = copy.deepcopy(_CONFIG)  # Config.copy() would share (and change) the sections
            config.OverwriteCells.add_missing_cells = False
            _FALLBACK_API = make_api(config)
        result = _FALLBACK_API.autograde(lab, student, force=True, create=True)
        notes.append("deleted cells could not be put back; they score 0")
    out = {"student": student, "success": bool(result["success"]), "notes": notes,
           "log": f"{result.get('log') or ''}{result.get('error') or ''}"}
    out["autograde_seconds"] = time.perf_counter() - start
    if result["success"]:
        feedback = _API.generate_feedback(lab, student, force=True)
        if not feedback["success"]:
            notes.append("nbgrader could not write the feedback page")
    else:
        out["reason"] = _failure_reason(result)
    out["seconds"] = time.perf_counter() - start
    return out


# --- the main side -------------------------------------------------------------------------

def _feedback_page(path: Path, lab: str, student: str, max_score: float, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(lab)}: feedback for {html.escape(student)}</title></head><body>\n"
        f"<h1>{html.escape(lab)}: feedback for {html.escape(student)}</h1>\n"
        f"<p>Score: 0 / {max_score:g}. Your submission could not be graded:</p><ul>{items}</ul>\n"
        f"<p>Submit the lab's notebook, <code>{html.escape(lab)}.ipynb</code>, as the lab asks, "
        "and ask your instructor if you think this is a mistake.</p>\n</body></html>\n",
        encoding="utf-8",
    )


def grade_lab(lab: str, submissions: Path, *, out: Path | None = None, timeout: float | None = None,
              jobs: int | None = None, root: Path | None = None,
              progress: Callable[[str], None] = print) -> GradingRun:
    """Grade every submission in ``submissions`` for ``lab``; see the module docstring.

    Parameters
    ----------
    lab : str
        ``lab04`` or ``lab04_adam_adamw``.
    submissions : Path
        A folder with one folder, zip or notebook per student, or nbgrader's ``submitted/``.
    out : Path, optional
        The grading workspace (default: the course's ``grading/``).
    timeout : float, optional
        Seconds each cell may run before it is stopped (default: ``Execute.timeout`` of the config).
    jobs : int, optional
        Worker processes (default: one more than the cores, at most 4: a worker waits for its
        kernel to start, so a third worker keeps two cores busy).
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins.export import CsvExportPlugin

    start = time.perf_counter()
    root = Path(root) if root else course_root()
    if out is not None:
        (Path(out) / "exchange").mkdir(parents=True, exist_ok=True)
    lab = resolve_lab(root, lab)
    submissions = Path(submissions).resolve()
    found = collect.find_submissions(submissions)  # fails early on a missing folder
    if not found:
        raise ValueError(f"no submissions in {submissions}: it should hold one folder, zip or notebook "
                         "per student")
    speedups.install()
    kernel_polling.install()  # a lost wake-up must not hold a cell for its whole time limit
    speedups.keep_templates_in(root / release_cache.CACHE_DIR / "templates")
    config = load_config(root, **workspace_overrides(out, timeout))
    api = make_api(config)
    coursedir = api.coursedir
    workspace = Path(out).resolve() if out else root / "grading"
    cell_timeout = float(config.Execute.timeout)
    for folder in (workspace, workspace / "reports" / lab):
        folder.mkdir(parents=True, exist_ok=True)
    inside = Path(coursedir.format_path(coursedir.submitted_directory, ".", ".")).resolve()
    if inside == submissions or inside in submissions.parents:
        raise ValueError(f"{submissions} is inside the grading workspace's submitted/ folder, which "
                         "grading rewrites: copy the submissions elsewhere and grade that folder")

    release_cache.prepare(api, root, lab, workspace)  # generate_assignment, unless nothing changed
    release_nb = Path(coursedir.format_path(coursedir.release_directory, ".", lab)) / f"{lab}.ipynb"
    lab_ids = collect.grade_ids(release_nb.read_bytes())
    submitted_dir = Path(coursedir.format_path(coursedir.submitted_directory, ".", ".")).resolve()
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        max_score = float(gb.find_assignment(lab).max_score)

    results: dict[str, StudentResult] = {}
    total = len(found)
    done = 0

    def report_line(res: StudentResult) -> str:
        nonlocal done
        done += 1
        note = f"  [{'; '.join(res.notes)}]" if res.notes else ""
        return (f"[{done:>{len(str(total))}}/{total}] {res.student:<20} "
                f"{res.score:g}/{res.max_score:g}  ({res.seconds:.1f} s){note}")

    def zero(sub: collect.Submission, reason: str) -> StudentResult:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's notes about nbgrader's cascade on delete
            gb.update_or_create_student(sub.student)
            try:
                gb.remove_submission(lab, sub.student)
            except MissingEntry:
                pass
        fb = Path(coursedir.format_path(coursedir.feedback_directory, sub.student, lab)) / f"{lab}.html"
        if fb.parent.exists():
            shutil.rmtree(fb.parent)
        _feedback_page(fb, lab, sub.student, max_score, [reason, *sub.notes])
        return StudentResult(sub.student, 0.0, max_score, 0.0, False, [*sub.notes, f"0: {reason}"])

    jobs = max(1, min(jobs or min(4, (os.cpu_count() or 1) + 1), len(found)))
    os.environ["MPLBACKEND"] = "Agg"  # the kernels draw figures without rendering them
    log_path = workspace / "reports" / lab / "nbgrader.log"
    log_path.write_text("")
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(jobs, initializer=_init_worker,
                                                    initargs=(config, str(log_path)))
    finished: queue.Queue = queue.Queue()
    by_name: dict[str, collect.Submission] = {}
    try:
        # Each notebook goes to the workers as soon as it is staged, so they start at once.
        for sub in found:
            collect.stage(sub, lab, submitted_dir, lab_ids)
            if sub.problem:
                results[sub.student] = res = zero(sub, sub.problem)
                progress(report_line(res))
                continue
            by_name[sub.student] = sub
            sub.notes += audit.cell_changes(release_nb, sub.notebook)
            pool.apply_async(_grade_one, ((lab, sub.student),), callback=finished.put,
                             error_callback=lambda error, student=sub.student: finished.put(
                                 {"student": student, "success": False, "notes": [], "seconds": 0.0,
                                  "log": repr(error), "reason": f"the grading worker failed: {error!r}"}))
        for _ in range(len(by_name)):
            outcome = finished.get()
            sub = by_name[outcome["student"]]
            logs = workspace / "reports" / lab / "logs"
            logs.mkdir(exist_ok=True)
            (logs / f"{sub.student}.log").write_text(outcome["log"], encoding="utf-8")
            sub.notes += outcome["notes"]
            if not outcome["success"]:
                res = zero(sub, outcome["reason"])
            else:
                autograded = Path(coursedir.format_path(coursedir.autograded_directory, sub.student, lab))
                sub.notes += audit.run_problems(autograded / f"{lab}.ipynb", cell_timeout)
                with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
                    submission = gb.find_submission(lab, sub.student)
                    res = StudentResult(sub.student, float(submission.score), float(submission.max_score),
                                        0.0, True, list(sub.notes))
            res.seconds = outcome["seconds"]
            results[sub.student] = res
            progress(report_line(res))
    finally:
        pool.close()
        pool.join()

    reports = workspace / "reports" / lab
    grades_csv = reports / "grades.csv"
    students = sorted(results)
    if students:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            CsvExportPlugin(to=str(grades_csv), assignment=[lab], student=students).export(gb)
    ordered = [results[s] for s in students]
    report = reports / "report.txt"
    lines = [f"{lab}: {len(ordered)} submission(s), graded {time.strftime('%Y-%m-%d %H:%M %Z')}",
             f"{'student':<20} {'score':>12}  notes"]
    lines += [f"{r.student:<20} {f'{r.score:g}/{r.max_score:g}':>12}  {'; '.join(r.notes) or '-'}"
              for r in ordered]
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return GradingRun(lab, workspace, ordered, grades_csv, report, time.perf_counter() - start, max_score)

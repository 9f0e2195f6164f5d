"""Grade a folder of submissions for one lab with nbgrader, in parallel worker processes.

Steps, all nbgrader's own through its Python API and the course's ``nbgrader_config.py``:

1. Decide where the submissions come from (:func:`~optilab.autograde.workspace.grading_mode`):
   copied in from a folder outside the workspace, or graded in place in the workspace's own
   ``submitted/`` (after ``nbgrader collect``); any other overlap is refused before anything is
   written.
2. Take the workspace's lock for this lab (a second run is refused) and back the gradebook up
   (SQLite's backup API, ``backups/``).
3. ``generate_assignment`` of the lab from ``solutions/`` into the workspace's ``release/``
   (never into ``labs/``), which records the lab's cells, points and hidden tests in the
   gradebook, on every run, so the gradebook always holds the lab as ``solutions/`` has it.
4. Stage each student's notebook (copy mode, :mod:`optilab.autograde.collect`) and hand it at
   once to ``autograde`` and ``generate_feedback``, in ``jobs`` worker processes that each keep
   one :class:`~nbgrader.apps.NbGraderAPI`. nbgrader writes each submission's grades in its own
   transactions, straight into the gradebook, so grades entered in formgrader meanwhile stay.
5. ``export`` with nbgrader's CSV plugin to ``reports/<lab>/grades.csv`` and a readable
   ``report.txt``, both for the whole class in the gradebook (who this run graded is marked).

A submission that cannot be graded scores 0 *for this attempt*: its autograded points become 0,
its manual grades are kept (no gradebook row is ever removed), the report says why, its
feedback page says why, and it never stops the others.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html
import json
import multiprocessing
import os
import queue
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from optilab import isolate
from optilab.autograde import audit, collect, standing
from optilab.autograde.course import course_root, load_config, make_api, resolve_lab
from optilab.autograde.workspace import COPY, IN_PLACE, PRIVATE_UMASK, Workspace, grading_mode

__all__ = ["StudentResult", "GradingRun", "grade_lab", "report_lab", "workspace_overrides", "write_reports"]


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


#: The kernel of ``--no-sandbox`` runs: the course's plain Python kernel.
PLAIN_KERNEL = "python3"
#: What every report line of a ``--no-sandbox`` run says.
UNSANDBOXED = "NOT SANDBOXED (--no-sandbox): the student's code ran with the grader's rights"


def _kernel(config) -> str:
    """The kernel autograding runs notebooks in: its Execute's, as nbgrader_config.py and the overrides set it."""
    from optilab.isolate.output import BoundedExecute

    return BoundedExecute(config=config).kernel_name


def _workspace(coursedir, root: Path, out: Path | None) -> Workspace:
    """The grading workspace: ``out``, or the course's ``grading/``."""
    return Workspace.of(coursedir, Path(out).resolve() if out else root / "grading")


def workspace_overrides(workspace: Path | None, timeout: float | None, *, sandbox: bool = True) -> dict:
    """Config overrides that put every nbgrader output of grading in ``workspace``.

    ``sandbox=False`` grades in the plain Python kernel instead of the sandboxed one.
    """
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
    # Once a notebook has run, its outputs are collected: stop its kernel at once instead of
    # waiting for a polite shutdown (about 0.2 s per submission; the grades are the same).
    overrides["Execute"] = {"shutdown_kernel": "immediate"}
    if timeout is not None:
        overrides["Execute"]["timeout"] = int(max(1, round(timeout)))
    if not sandbox:  # the kernel of autograding's Execute (nbgrader_config.py names the sandboxed one)
        overrides["BoundedExecute"] = {"kernel_name": PLAIN_KERNEL}
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


#: Failures of the grading machine, not of the submission: autograding again is safe and right.
#: - the workers share one SQLite gradebook: a rare lock timeout;
#: - a kernel's TCP port, chosen by its manager, taken by another worker's kernel before it bound
#:   it: the kernel dies before replying to kernel_info ("Address already in use", in the kernel's
#:   output, which goes to the run's nbgrader.log) and a correct submission scored 0
#:   (jupyter/jupyter_client#487, open). Reproduced here: 1 in 30 kernels started by three workers.
_RETRY_ON = ("database is locked", "Kernel died before replying to kernel_info")


def _grader_side_failure(result: dict) -> bool:
    text = f"{result.get('log') or ''}{result.get('error') or ''}"
    return any(marker in text for marker in _RETRY_ON)


def _grade_one(task: tuple[str, str]) -> dict:
    """Autograde and generate feedback for one student (runs in a worker)."""
    global _FALLBACK_API
    lab, student = task
    start = time.perf_counter()
    notes: list[str] = []
    result = _API.autograde(lab, student, force=True, create=True)
    for _ in range(3):
        if result["success"] or not _grader_side_failure(result):
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

def _release_files(feedback: Path, staged: Path) -> None:
    """Copy the exchange files ``nbgrader release_feedback`` reads from the staged submission to ``feedback``.

    nbgrader copies them itself when it generates feedback; a submission that could not be
    graded gets the page of :func:`_failure_page` instead, and its files here (made up when
    nothing was ever staged, since ``release_feedback`` fails for the whole lab without them).
    """
    feedback.mkdir(parents=True, exist_ok=True)
    for name in collect.EXCHANGE_FILES:
        origin, target = staged / name, feedback / name
        if target.exists():
            continue
        if origin.is_file():
            target.write_bytes(origin.read_bytes())
        elif name == "timestamp.txt":  # nothing was ever staged: the page is dated now
            target.write_text(collect.timestamp())
        else:
            target.write_text(secrets.token_hex(16))


def _failure_page(path: Path, lab: str, student: str, max_score: float, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(lab)}: feedback for {html.escape(student)}</title></head><body>\n"
        f"<h1>{html.escape(lab)}: feedback for {html.escape(student)}</h1>\n"
        f"<p>This attempt could not be graded, so its autograded part scores 0 of {max_score:g} "
        "(points your instructor gave by hand are kept):</p>"
        f"<ul>{items}</ul>\n"
        f"<p>Submit the lab's notebook, <code>{html.escape(lab)}.ipynb</code>, as the lab asks, "
        "and ask your instructor if you think this is a mistake.</p>\n</body></html>\n",
        encoding="utf-8",
    )


def grade_lab(lab: str, submissions: Path, *, out: Path | None = None, timeout: float | None = None,
              jobs: int | None = None, root: Path | None = None, sandbox: bool = True,
              progress: Callable[[str], None] = print) -> GradingRun:
    """Grade every submission in ``submissions`` for ``lab``; see the module docstring.

    Parameters
    ----------
    lab : str
        ``lab04`` or ``lab04_adam_adamw``.
    submissions : Path
        A folder outside the workspace with one folder, zip or notebook per student (copied in),
        or the workspace's own ``submitted/`` folder (graded in place).
    out : Path, optional
        The grading workspace (default: the course's ``grading/``).
    timeout : float, optional
        Seconds each cell may run before it is stopped (default: ``Execute.timeout`` of the config).
    jobs : int, optional
        Worker processes (default: one more than the cores, at most 4: a worker waits for its
        kernel to start, so a third worker keeps two cores busy).
    sandbox : bool
        Run each notebook in the sandboxed kernel (bubblewrap; the default, and the only way to
        trust a grade). False runs it in the plain kernel, with the grader's rights, and every
        line of the report says so.

    Raises
    ------
    FileNotFoundError, ValueError
        No such folder, no submissions, an unknown lab, or a folder that overlaps the workspace.
    optilab.autograde.workspace.Busy
        Another run is grading this lab in this workspace.
    optilab.isolate.Unavailable
        Bubblewrap cannot run here (the message says how to install it, or where to grade).
    """
    start = time.perf_counter()
    root = Path(root) if root else course_root()
    lab = resolve_lab(root, lab)
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise FileNotFoundError(f"{submissions} is not a folder: give the folder that holds one "
                                "folder or zip per student, or the workspace's submitted/ folder")
    submissions = submissions.resolve()
    config = load_config(root, **workspace_overrides(out, timeout, sandbox=sandbox))
    if sandbox and _kernel(config) == isolate.KERNEL_NAME:
        isolate.require()  # before anything is written: refuse, saying how to install bubblewrap
    api = make_api(config)
    coursedir = api.coursedir
    workspace = _workspace(coursedir, root, out)
    mode = grading_mode(submissions, workspace)  # refuses an overlap before anything is written
    found = (collect.find_in_place(submissions, lab) if mode == IN_PLACE
             else collect.find_submissions(submissions))
    if not found:
        raise ValueError(f"no submissions of {lab} in {submissions}: it should hold one folder, zip or "
                         "notebook per student" + (f", or <student>/{lab}/ folders" if mode == IN_PLACE else ""))
    old_umask = os.umask(PRIVATE_UMASK)  # everything grading writes is private to the grader
    try:
        workspace.create()
        with workspace.lock(lab):
            backup = workspace.backup(lab)
            run = _grade(lab, found, mode, submissions, api, config, workspace, jobs, progress)
    finally:
        os.umask(old_umask)
    run.backup = backup
    run.seconds = time.perf_counter() - start
    return run


def _grade(lab: str, found: list[collect.Submission], mode: str, submissions: Path, api, config,
           workspace: Workspace, jobs: int | None, progress) -> GradingRun:
    from nbgrader.api import Gradebook

    coursedir = api.coursedir
    db_url, course_id = coursedir.db_url, coursedir.course_id
    cell_timeout = float(config.Execute.timeout)
    reports = workspace.reports(lab)
    reports.mkdir(parents=True, exist_ok=True)

    generated = api.generate_assignment(lab, force=True, create=True)
    if not generated["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {lab} failed:\n{generated.get('error') or generated.get('log')}")
    release_nb = Path(coursedir.format_path(coursedir.release_directory, ".", lab)) / f"{lab}.ipynb"
    lab_ids = collect.grade_ids(release_nb.read_bytes())
    with Gradebook(db_url, course_id) as gb:
        max_score = float(gb.find_assignment(lab).max_score)

    def score_of(student: str) -> float:
        with Gradebook(db_url, course_id) as gb:
            return float(gb.find_submission(lab, student).score)

    def feedback_dir(student: str) -> Path:
        return Path(coursedir.format_path(coursedir.feedback_directory, student, lab))

    def staged_dir(student: str) -> Path:
        return workspace.submitted / student / lab

    results: dict[str, StudentResult] = {}
    total = len(found)
    done = 0

    def report_line(res: StudentResult) -> str:
        nonlocal done
        done += 1
        note = f"  [{'; '.join(res.notes)}]" if res.notes else ""
        return (f"[{done:>{len(str(total))}}/{total}] {res.student:<20} "
                f"{res.score:g}/{res.max_score:g}  ({res.seconds:.1f} s){note}")

    def failed(sub: collect.Submission, reason: str) -> StudentResult:
        kept = standing.record_failed_attempt(db_url, course_id, lab, sub.student)
        notes = [*sub.notes, f"0 for this attempt: {reason}"] + (["manual grades kept"] if kept else [])
        _failure_page(feedback_dir(sub.student) / f"{lab}.html", lab, sub.student, max_score,
                      [reason, *sub.notes])
        _release_files(feedback_dir(sub.student), staged_dir(sub.student))
        return StudentResult(sub.student, score_of(sub.student), max_score, 0.0, False, notes)

    jobs = max(1, min(jobs or min(4, (os.cpu_count() or 1) + 1), len(found)))
    os.environ["MPLBACKEND"] = "Agg"  # the kernels draw figures without rendering them
    log_path = reports / "nbgrader.log"
    log_path.write_text("")
    logs = reports / "logs"
    logs.mkdir(exist_ok=True)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(jobs, initializer=_init_worker,
                                                    initargs=(config, str(log_path)))
    finished: queue.Queue = queue.Queue()
    by_name: dict[str, collect.Submission] = {}
    try:
        # Each notebook goes to the workers as soon as it is staged, so they start at once.
        for sub in found:
            if mode == IN_PLACE:
                collect.check_in_place(sub, lab)
            else:
                collect.stage(sub, lab, workspace.submitted, lab_ids, archive=workspace.archive / "submitted")
            if sub.problem:
                results[sub.student] = res = failed(sub, sub.problem)
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
            (logs / f"{sub.student}.log").write_text(outcome["log"], encoding="utf-8")
            sub.notes += outcome["notes"]
            if not outcome["success"]:
                res = failed(sub, outcome["reason"])
            else:
                autograded = Path(coursedir.format_path(coursedir.autograded_directory, sub.student, lab))
                sub.notes += audit.run_problems(autograded / f"{lab}.ipynb", cell_timeout)
                res = StudentResult(sub.student, score_of(sub.student), max_score, 0.0, True, list(sub.notes))
            res.seconds = outcome["seconds"]
            results[sub.student] = res
            progress(report_line(res))
    finally:
        pool.close()
        pool.join()

    ordered = [results[s] for s in sorted(results)]
    if _kernel(config) != isolate.KERNEL_NAME:
        for res in ordered:
            res.notes.insert(0, UNSANDBOXED)
    run = GradingRun(lab, workspace.root, ordered, reports / "grades.csv", reports / "report.txt", 0.0,
                     max_score, mode, sandboxed=_kernel(config) == isolate.KERNEL_NAME)
    _remember_notes(reports / "notes.json", ordered)
    write_reports(run, coursedir, str(submissions))
    return run


def _remember_notes(path: Path, results: list[StudentResult]) -> None:
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
        memory = remembered.get(st.student, {})  # this run's notes too: _remember_notes came first
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


def report_lab(lab: str, *, out: Path | None = None, root: Path | None = None) -> GradingRun:
    """Write ``grades.csv`` and ``report.txt`` of ``lab`` again from the gradebook, grading nothing."""
    root = Path(root) if root else course_root()
    lab = resolve_lab(root, lab)
    coursedir = make_api(load_config(root, **workspace_overrides(out, None))).coursedir
    workspace = _workspace(coursedir, root, out)
    if workspace.gradebook is not None and not workspace.gradebook.is_file():
        raise FileNotFoundError(f"no gradebook at {workspace.gradebook}: grade {lab} first (make grade)")
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            max_score = float(gb.find_assignment(lab).max_score)
        except MissingEntry:
            raise ValueError(f"{lab} is not in the gradebook {workspace.gradebook}: grade it first") from None
    reports = workspace.reports(lab)
    old = os.umask(PRIVATE_UMASK)
    try:
        reports.mkdir(parents=True, exist_ok=True)
        run = GradingRun(lab, workspace.root, [], reports / "grades.csv", reports / "report.txt", 0.0, max_score)
        write_reports(run, coursedir, "")
    finally:
        os.umask(old)
    return run

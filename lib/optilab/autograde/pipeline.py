"""Grade a folder of submissions for one lab with nbgrader, in parallel worker processes.

Steps, all nbgrader's own through its Python API and the course's ``nbgrader_config.py``:

1. Decide where the submissions come from (:func:`~optilab.autograde.workspace.grading_mode`):
   copied in from a folder outside the workspace, or graded in place in the workspace's own
   ``submitted/`` (after ``nbgrader collect``); any other overlap is refused before anything is
   written.
2. Take the workspace's lock for this lab (a second run is refused) and back the gradebook up
   (SQLite's backup API, ``backups/``); a new workspace's gradebook is made here
   (:func:`~optilab.autograde.course.new_gradebook`).
3. ``generate_assignment`` of the lab from ``solutions/`` into the workspace's ``release/``
   (never into ``labs/``), which records the lab's cells, points and hidden tests in the
   gradebook, on every run, so the gradebook always holds the lab as ``solutions/`` has it.
4. Stage each student's notebook (copy mode, :mod:`optilab.autograde.collect`) and hand it at
   once to ``autograde`` and ``generate_feedback``, in ``jobs`` worker processes that each keep
   one :class:`~nbgrader.apps.NbGraderAPI` (:mod:`optilab.autograde.worker`). nbgrader writes each submission's grades in its own
   transactions, straight into the gradebook, so grades entered in formgrader meanwhile stay.
5. ``export`` with nbgrader's CSV plugin to ``reports/<lab>/grades.csv`` and a readable
   ``report.txt``, both for the whole class in the gradebook (who this run graded is marked;
   :mod:`optilab.autograde.reports`).

A submission that cannot be graded scores 0 *for this attempt*: its autograded points become 0,
its manual grades are kept (no gradebook row is ever removed), the report says why, its
feedback page says why, and it never stops the others.
"""

from __future__ import annotations

import copy
import html
import multiprocessing
import os
import queue
import secrets
import time
from pathlib import Path
from typing import Callable

from optilab import isolate
from optilab.autograde import audit, collect, standing, worker
from optilab.autograde.course import course_root, load_config, make_api, new_gradebook, resolve_lab
from optilab.autograde.reports import UNSANDBOXED, GradingRun, StudentResult, remember_notes, write_reports
from optilab.autograde.workspace import IN_PLACE, PRIVATE_UMASK, Workspace, grading_mode

__all__ = ["grade_lab", "report_lab", "workspace_overrides"]


#: The kernel of ``--no-sandbox`` runs: the course's plain Python kernel.
PLAIN_KERNEL = "python3"


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
            if workspace.gradebook is not None:
                new_gradebook(workspace.gradebook, coursedir.course_id)  # the first run's (faster than nbgrader)
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
    if method == "fork" or _kernel(config) == isolate.KERNEL_NAME:
        # Labs 5, 6 and 7: the reference runs every notebook's checks compare with, computed once here,
        # inherited by the forked workers instead of computed once in each, and given to the sandboxed
        # kernels, whose hidden tests would otherwise train them again for every notebook.
        from optilab.grading.labs import given, warm

        keys = warm(lab)
        if keys and _kernel(config) == isolate.KERNEL_NAME:
            runs = given.save(workspace.state / f"reference-runs-{lab}.json", keys)
            if runs is not None:
                config = copy.deepcopy(config)  # (Config.copy() would share, and change, its sections)
                config.SandboxedProvisioner.given = {given.ENV: str(runs)}
    if method == "fork":
        # The files the workers' sandboxes share, made here: forked workers end without running
        # atexit, and would leave their own copies in the temporary folder.
        from optilab.grading import process as processes
        from optilab.grading.labs import served_for

        isolate.prepare()
        processes.library_view(served_for(lab))
        _compile_feedback_templates(api)  # once here, for every worker, not once in each
    pool = multiprocessing.get_context(method).Pool(jobs, initializer=worker.init,
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
            pool.apply_async(worker.grade_one, ((lab, sub.student),), callback=finished.put,
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
    remember_notes(reports / "notes.json", ordered)
    write_reports(run, coursedir, str(submissions))
    return run


def _compile_feedback_templates(api) -> None:
    """Compile the feedback page's templates in this process (:mod:`optilab.autograde.feedback.exporter`),
    with the exporter nbgrader's ``generate_feedback`` makes, when the course's configuration names
    :class:`~optilab.autograde.feedback.exporter.FeedbackExporter`. Only a head start: a worker
    compiles what is missing, and a template that cannot be compiled fails each page, which says so
    (so whatever stops the head start is left to the pages)."""
    from nbgrader.converters import GenerateFeedback

    from optilab.autograde.feedback.exporter import FeedbackExporter, compile_templates

    app = GenerateFeedback(coursedir=api.coursedir, parent=api)
    if issubclass(app.exporter_class, FeedbackExporter):
        try:
            compile_templates(app.exporter_class(parent=app, config=app.config))
        except Exception:  # noqa: BLE001 (a head start only: see above)
            pass


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

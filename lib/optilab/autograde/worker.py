"""A grading worker: one process of the pool that autogrades a lab's submissions, one at a time.

:func:`init` gives the process its own :class:`~nbgrader.apps.NbGraderAPI` (nbgrader writes
each submission's grades in its own transactions, straight into the gradebook);
:func:`grade_one` autogrades one student's submission and writes its feedback page, grading
again after a failure of the grading machine (:func:`grader_side_failure`), and says why a
submission could not be graded (:func:`failure_reason`). The run that starts the workers and
collects their outcomes is :mod:`optilab.autograde.pipeline`.
"""

from __future__ import annotations

import copy
import os
import time

from optilab.autograde.course import make_api

__all__ = ["init", "grade_one", "grader_side_failure", "failure_reason"]

_API = None
_FALLBACK_API = None
_CONFIG = None


def init(config, log_path: str | None = None) -> None:
    global _API, _FALLBACK_API, _CONFIG
    if log_path:  # the kernels inherit this: their start-up chatter goes to the log, not the terminal
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    _CONFIG = config
    _API = make_api(config)
    _FALLBACK_API = None


def failure_reason(result: dict) -> str:
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
#:   A kernel that lost its port may also live on without answering: its manager then gives up after
#:   the start-up timeout ("Kernel didn't respond in 60 seconds"), before any student code ran.
#: - the grader's own process for the notebook's verdicts that ended before any of the notebook's
#:   code ran, twice (optilab.grading.notebook.NotStarted).
_RETRY_ON = ("database is locked", "Kernel died before replying to kernel_info", "Kernel didn't respond in ",
             "could not start the process that runs the notebook")


def grader_side_failure(result: dict) -> bool:
    text = f"{result.get('log') or ''}{result.get('error') or ''}"
    return any(marker in text for marker in _RETRY_ON)


def grade_one(task: tuple[str, str]) -> dict:
    """Autograde and generate feedback for one student (runs in a worker)."""
    global _FALLBACK_API
    lab, student = task
    start = time.perf_counter()
    notes: list[str] = []
    result = _API.autograde(lab, student, force=True, create=True)
    for _ in range(3):
        if result["success"] or not grader_side_failure(result):
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
        out["reason"] = failure_reason(result)
    out["seconds"] = time.perf_counter() - start
    return out

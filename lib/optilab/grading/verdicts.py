r"""Outside verdicts: nbgrader scores what the grader's own process decided, not the kernel.

:class:`OutsideVerdicts` is an nbgrader preprocessor for ``Autograde.autograde_preprocessors``,
right after ``Execute`` and before ``SaveAutoGrades`` (``nbgrader_config.py`` puts it there),
so ``make grade``, ``nbgrader autograde`` and formgrader's Autograde button all use it.

After the kernel has run the notebook, it starts the student's process
(:class:`~optilab.grading.notebook.StudentNotebook`), which runs the same code again — the
lab's cells and the student's answers, not the test cells — and then runs, in this process,
the check of each autograded test cell (:mod:`optilab.grading.labs`). Each test cell's outputs
become the verdict: when the check passes, the kernel's outputs without errors, stderr and
results (nbgrader counts stderr as a failure and reads a number as partial credit, both of which
the kernel's code could forge); when it fails, one error output whose message is the check's. nbgrader's ``SaveAutoGrades`` then scores that, and the feedback page
shows the verdict that was scored.

Where the kernel's own result differs, the cell's metadata says so under ``optilab``, and so
does the notebook's (``metadata.optilab.notes``, one line per cell, for the grading report)::

    tampering suspected: test-sgd-contract: kernel said pass, grader says fail

The checks' time: each test cell has ``timeout`` seconds (default: ``Execute.timeout``) for
its requests to the student's process; a cell that runs out of it fails, the process is
stopped, and the cells after it fail too, saying why. Assignments without checks (not a lab
of the course) are left as the kernel graded them.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from traitlets import Integer, Unicode

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from optilab.grading.labs import cell_digest, checks_for, derived_from, guarded_for, served_for
from optilab.grading.notebook import NotStarted, ProcessGone, StudentNotebook

__all__ = ["OutsideVerdicts", "judge", "tampering_notes", "NOTE", "STALE"]

#: How a disagreement is written, for the grading report.
NOTE = "tampering suspected: {cell}: kernel said {kernel}, grader says {grader}"
#: How a test cell that changed since its check was written is reported.
STALE = ("the grader's check of {cell} was written for another version of that test cell: "
         "update it in optilab/grading/labs/ (the cell's own asserts are not what is scored)")


def _is_test_cell(cell: Any) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


def _message(exc: BaseException) -> tuple[str, str]:
    """(ename, evalue) of a failed check, in the student's terms."""
    if isinstance(exc, ProcessGone):
        return "AssertionError", f"not graded: {exc.cause}."
    if isinstance(exc, AssertionError):
        return "AssertionError", str(exc) or "a check of this cell failed."
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return name, "your code ran out of memory."
    return name, str(exc)


def judge(cells: list[tuple[int, str]], tests: list[tuple[int, str]], checks: dict, folder: str, *,
          cell_seconds: float = 30.0, memory: int = 3 * 2**30,
          served: tuple[str, ...] = (), guarded: dict | None = None,
          command: list[str] | None = None) -> dict[int, tuple[bool, str, str]]:
    """Run the notebook's ``cells`` (index, source) in the student's process, then the checks of
    the test cells ``tests`` (index, grade_id) here; index -> (passed, ename, evalue). The
    reference rules ``served`` are computed by this process, not in the student's; the library's
    versions of the lab's answers (``guarded``) refuse while the answers are judged. ``command``
    starts the student's process instead of the sandboxed one (:class:`StudentNotebook`)."""
    verdicts: dict[int, tuple[bool, str, str]] = {}
    notebook = _started(lambda: StudentNotebook(cells, folder, cell_seconds=cell_seconds, memory=memory,
                                                served=served, guarded=guarded, command=command))
    try:
        for index, grade_id in tests:
            check = checks.get(grade_id)
            if check is None:
                verdicts[index] = (False, "AssertionError",
                                   f"the grader has no check for the test cell {grade_id!r}: ask your instructor.")
                continue
            try:
                with notebook.limit(cell_seconds, "This test cell"), _quiet():
                    check(notebook)
            except (Exception, ProcessGone) as exc:
                verdicts[index] = (False, *_message(exc))
            else:
                verdicts[index] = (True, "", "")
    finally:
        notebook.close()
    return verdicts


def _started(make) -> StudentNotebook:
    """The student's process, started; a start that failed before any of the notebook's code ran
    (:class:`~optilab.grading.notebook.NotStarted`) is tried once more, then raised."""
    try:
        return make().start()
    except NotStarted:
        return make().start()


@contextlib.contextmanager
def _quiet():
    import warnings

    import numpy as np
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


class OutsideVerdicts(NbGraderPreprocessor):
    """Score each autograded test cell by the grader's own check (see the module's docstring)."""

    timeout = Integer(None, allow_none=True, help=(
        "Seconds each test cell's check may wait for the student's process, and each cell of the "
        "notebook may run in it (default: Execute.timeout).")).tag(config=True)
    memory = Integer(3 * 2**30, help="Address-space limit of the student's process, in bytes.").tag(config=True)
    assignment = Unicode("", help="Grade as this lab (default: the assignment being autograded).").tag(config=True)

    def _seconds(self) -> float:
        if self.timeout is not None:
            return float(self.timeout)
        try:
            return float(self.config.Execute.get("timeout", 30) or 30)
        except (TypeError, ValueError):
            return 30.0

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        assignment = self.assignment or resources.get("nbgrader", {}).get("assignment", "")
        checks = checks_for(assignment)
        if checks is None:
            return nb, resources
        folder = resources.get("metadata", {}).get("path") or "."
        cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_test_cell(c)]
        tests = [(i, c.metadata.nbgrader["grade_id"]) for i, c in enumerate(nb.cells) if _is_test_cell(c)]
        if not tests:
            return nb, resources
        written_for = derived_from(assignment)
        stale = [gid for i, gid in tests if gid in written_for and cell_digest(nb.cells[i].source) != written_for[gid]]
        start = time.perf_counter()
        verdicts = judge(cells, tests, checks, folder, cell_seconds=self._seconds(), memory=self.memory,
                         served=served_for(assignment), guarded=guarded_for(assignment))
        notes = []
        for index, grade_id in tests:
            cell = nb.cells[index]
            passed, ename, evalue = verdicts[index]
            score, points = utils.determine_grade(cell, self.log)
            kernel_passed = score is not None and score >= points
            if passed:  # nothing left that nbgrader would score as less than full points
                cell.outputs = [o for o in cell.outputs if o.output_type not in ("error", "execute_result")
                                and not (o.output_type == "stream" and o.get("name") == "stderr")]
            else:
                cell.outputs = [from_dict({"output_type": "error", "ename": ename, "evalue": evalue,
                                           "traceback": [f"{ename}: {evalue}"]})]
            record = {"verdict": "pass" if passed else "fail", "kernel": "pass" if kernel_passed else "fail"}
            if not passed:
                record["message"] = evalue
            if passed != kernel_passed:
                note = NOTE.format(cell=grade_id, kernel=record["kernel"], grader=record["verdict"])
                record["note"] = note
                notes.append(note)
                self.log.warning("%s", note)
            cell.metadata["optilab"] = record
        for grade_id in stale:
            note = STALE.format(cell=grade_id)
            notes.append(note)
            self.log.warning("%s", note)
        nb.metadata["optilab"] = {"outside_verdicts": True, "notes": notes,
                                  "seconds": round(time.perf_counter() - start, 3)}
        return nb, resources


def tampering_notes(notebook: Any) -> list[str]:
    """The "tampering suspected: ..." lines of an autograded notebook (a path or a notebook dict)."""
    if not isinstance(notebook, dict):
        import json
        from pathlib import Path
        notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
    notes = notebook.get("metadata", {}).get("optilab", {}).get("notes", [])
    return [n for n in notes if isinstance(n, str)]

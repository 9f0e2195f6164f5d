"""The feedback page's preprocessors: what nbgrader's ``generate_feedback`` runs on a notebook before its template.

nbgrader reads the autograded notebook from its file and gives the preprocessors a copy in memory;
what they change shows in the page only (the autograded notebook, which is the grade's evidence,
is never written). ``nbgrader_config.py`` lists them in ``GenerateFeedback.preprocessors``.

- :class:`FeedbackGrades` is nbgrader's :class:`~nbgrader.preprocessors.GetGrades` (each graded
  cell's score, the notebook's total), plus what the page needs to tell "not graded yet" from 0
  and to name each graded cell.
- :class:`StudentTracebacks` puts an error's message first and keeps, of its traceback, only the
  frames in the student's notebook (cell and line), without the grader's paths.
"""

from __future__ import annotations

import os
import re
import site
import sys
import sysconfig
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbgrader import utils
from nbgrader.preprocessors import GetGrades
from traitlets import Bool

__all__ = ["FeedbackGrades", "StudentTracebacks", "cell_title", "student_traceback", "hide_paths"]

_POINTS = re.compile(r"\s*\(\s*\d+(?:\.\d+)?\s+points?\s*\)", re.IGNORECASE)
_HIDDEN_GROUP = re.compile(r'^hidden tests, group "[^"]*" of the \w+ suite\s*:\s*', re.IGNORECASE)


def cell_title(source: str) -> str:
    """A readable title for a test cell: its first line, when that is a comment, without the points.

    The labs open each test cell with a comment saying what it checks::

        # Hidden tests, group "first-step" of the sgd suite (1 point): one step from an empty state.
        # Every example exactly once, in batches of batch_size (2 points).

    give "one step from an empty state" and "Every example exactly once, in batches of batch_size".
    A cell that opens with code or with nbgrader's ``### BEGIN ...`` markers has no title ("").
    """
    lines = source.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if not first.startswith("#") or first.startswith("##"):
        return ""
    text = _POINTS.sub("", first.lstrip("#").strip())
    return _HIDDEN_GROUP.sub("", text).strip().rstrip(".").strip()  # as written: it may open with a name


class FeedbackGrades(GetGrades):
    """nbgrader's :class:`~nbgrader.preprocessors.GetGrades`, telling pending manual grades from zeros.

    nbgrader scores a cell that no one has graded yet as 0 (a written answer before the instructor
    reads it). For each graded cell this adds, to the in-memory copy's ``nbgrader`` metadata:

    - ``pending``: True when the cell has neither an autograded nor a manual score (formgrader's own
      test for "needs a manual grade"); an unanswered written cell is autograded 0, not pending;
    - ``kind``: ``test``, ``written``, ``code-answer`` or ``task``;
    - ``title``: for a test cell, its first comment line (:func:`cell_title`).

    and to ``resources["nbgrader"]``: ``pending_points`` (the points of the pending cells) and
    ``graded_max_score`` (the points of the cells that have a score).
    """

    def preprocess(self, nb, resources):
        self._pending_points = 0.0
        nb, resources = super().preprocess(nb, resources)
        pending = self._pending_points
        resources["nbgrader"]["pending_points"] = pending
        resources["nbgrader"]["graded_max_score"] = resources["nbgrader"]["max_score"] - pending
        return nb, resources

    def _get_score(self, cell, resources) -> None:
        # GetGrades._get_score's two lines, and the pending flag from the same row.
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id)
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        pending = grade.auto_score is None and grade.manual_score is None
        cell.metadata.nbgrader["pending"] = pending
        if pending:
            self._pending_points += float(grade.max_score or 0)

    def preprocess_cell(self, cell, resources, cell_index):
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        meta = cell.metadata.get("nbgrader")
        if meta is not None and (utils.is_grade(cell) or utils.is_task(cell)):
            if utils.is_task(cell):
                kind = "task"
            elif utils.is_solution(cell):
                kind = "written" if cell.cell_type == "markdown" else "code-answer"
            else:
                kind = "test"
            meta["kind"] = kind
            meta["title"] = cell_title(cell.source) if kind == "test" else ""
        return cell, resources


# --- tracebacks ------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOTEBOOK_FRAME = re.compile(r"^(Cell In ?\[|Input In ?\[)")
_LIBRARY_FRAME = re.compile(r"^File ")
_RULE = re.compile(r"^-{10,}$")
_HEADER = re.compile(r"^\S+\s+Traceback \(most recent call last\)")
_PACKAGES = re.compile(r"(?:[A-Za-z]:)?[\\/][^\s'\"<>:]*?[\\/](?:site|dist)-packages[\\/]")


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


def _library_roots() -> list[str]:
    """Folders whose files are shown relative to them (``numpy/_core/...``, ``optilab/grading/...``)."""
    roots = set(site.getsitepackages()) | {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    user = site.getusersitepackages()
    if isinstance(user, str):
        roots.add(user)
    import optilab  # the course's library: lib/ in a clone, site-packages when installed

    roots.add(str(Path(optilab.__file__).resolve().parent.parent))
    return [r for r in roots if r]


def hide_paths(text: str, folders: dict[str, str]) -> str:
    """``text`` with each folder of ``folders`` replaced by its short form, longest folder first.

    Any ``.../site-packages/`` or ``.../dist-packages/`` folder left over is dropped too, so a
    library file reads ``numpy/_core/fromnumeric.py``.
    """
    for folder in sorted(folders, key=len, reverse=True):
        bare = folder.rstrip("/\\")
        if not bare:
            continue
        short = folders[folder]
        # The folder itself or followed by a separator; never the start of a longer name (/tmp/x in /tmp/xy).
        pattern = re.escape(bare) + r"(?:([\\/])|(?![\w.\-]))"
        text = re.sub(pattern, lambda m, short=short: short if m.group(1) else (short.rstrip("/") or "."), text)
    return _PACKAGES.sub("", text)


def student_traceback(ename: str, evalue: str, traceback: list[str],
                      folders: dict[str, str] | None = None) -> list[str]:
    """An error's traceback for a student: the message first, then only the frames in the notebook.

    IPython's traceback is a rule, a header, one entry per frame (``Cell In[4], line 2`` for a
    notebook cell, ``File /path/to/module.py:243, in hidden(...)`` for library code) and the
    message. The result is the message (all of it, with paths shortened), then the notebook's
    frames with their code, then how many library frames were left out. Other entries (the
    notice between chained exceptions, a ``SyntaxError``'s caret) are kept, paths shortened.
    """
    folders = folders or {}
    message = f"\x1b[31m{ename}\x1b[39m: {evalue}" if evalue else f"\x1b[31m{ename}\x1b[39m"
    kept: list[str] = []
    left_out = 0
    for entry in traceback:
        plain = _plain(entry).strip("\n")
        first = plain.lstrip().splitlines()[0] if plain.strip() else ""
        if not first or _RULE.match(first) or _HEADER.match(first):
            continue
        if _LIBRARY_FRAME.match(first):
            left_out += 1
            continue
        if _NOTEBOOK_FRAME.match(first.lstrip()):
            # A SyntaxError's entry ends with the message, which is already first.
            lines = entry.rstrip("\n").split("\n")
            if len(lines) > 1 and _plain(lines[-1]).startswith(f"{ename}:"):
                entry = "\n".join(lines[:-1])
            kept.append(hide_paths(entry, folders))
            continue
        if plain.strip() == _plain(message).strip() or first.startswith(f"{ename}:") or first == ename:
            continue  # the message: it comes first
        kept.append(hide_paths(entry, folders))
    lines = [hide_paths(message, folders)]
    if kept:
        lines += ["", "\x1b[36mWhere, in this notebook:\x1b[39m", *kept]
    if left_out:
        lines.append(f"\x1b[2m({left_out} frame{'s' if left_out > 1 else ''} inside library code "
                     "not shown)\x1b[22m")
    return lines


class StudentTracebacks(Preprocessor):
    """Error outputs with the message first and no grader paths; paths shortened in other text outputs.

    A test cell that fails because of ``optilab.grading.hidden(...)`` shows its message (which tests
    failed and why, in the student's terms), not the grader's file paths and frames; an error in the
    student's own code still says where: the notebook cell (``Cell In[2]``, as the page's prompts
    number them) and line, with the code. Paths of the grading machine (the notebook's folder, the
    course folder, Python's prefix, site-packages) are shortened in error, stream and plain-text
    outputs.
    """

    enabled = Bool(True, help="Whether to rewrite tracebacks in feedback pages.").tag(config=True)

    def preprocess(self, nb, resources):
        folders = {root: "" for root in _library_roots()}
        here = (resources.get("metadata") or {}).get("path")
        if here:
            folders[str(Path(here).resolve())] = ""
        for folder in {os.getcwd(), sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.expanduser("~")}:
            if folder and folder != os.sep:
                folders.setdefault(str(Path(folder).resolve()), "…/")
                folders.setdefault(folder, "…/")
        self._folders = folders
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                output["traceback"] = student_traceback(output.get("ename", "Error"), output.get("evalue", ""),
                                                        list(output.get("traceback", [])), self._folders)
                output["evalue"] = hide_paths(output.get("evalue", ""), self._folders)
            elif kind == "stream":
                output["text"] = hide_paths(output.get("text", ""), self._folders)
            elif "text/plain" in output.get("data", {}):
                text = output["data"]["text/plain"]
                output["data"]["text/plain"] = hide_paths("".join(text) if isinstance(text, list) else text,
                                                          self._folders)
        return cell, resources

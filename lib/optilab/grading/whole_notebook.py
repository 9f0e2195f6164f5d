r"""``python -m optilab check LAB.ipynb``: a lab notebook graded as the instructor's grading would.

For self-learners, and for students before they submit: every autograded test cell of the
notebook is decided by the grader's own checks (:mod:`optilab.grading.labs`, the hidden tests
included), in this process, asking the notebook — run in its own process, sandboxed where
bubblewrap works — for plain values only (:func:`optilab.grading.verdicts.judge`), exactly as
``make grade`` decides it. It prints each test cell's points with the message of what failed,
and the total. Nothing is written anywhere: the notebook runs on a copy of its folder.

Exit status: 0 when every test cell passes; 1 when any fails; 2 when the notebook cannot be
graded (no such file, not a notebook, not a lab of the course).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CellResult", "grade_notebook", "report", "NotALab"]


class NotALab(Exception):
    """The file is not a notebook of one of the course's labs."""


@dataclass
class CellResult:
    """One autograded test cell: its id, points earned of its points, and why it failed."""

    grade_id: str
    points: float
    earned: float
    message: str = ""

    def as_dict(self) -> dict:
        return {"cell": self.grade_id, "points": self.points, "earned": self.earned, "message": self.message}


def _lab(path: Path) -> str:
    from optilab.grading.labs import checks_for
    name = path.stem
    if checks_for(name) is None:
        raise NotALab(f"{path.name} is not a lab of the course: its name must start with labNN_, "
                      "as the notebooks in labs/ do (keep the file's name when you copy it)")
    return name


def grade_notebook(path: str | Path, *, cell_seconds: float = 30.0) -> list[CellResult]:
    """Grade the autograded test cells of the lab notebook ``path`` (see the module's docstring)."""
    import nbformat
    from nbgrader import utils

    from optilab.grading.labs import checks_for, guarded_for, served_for
    from optilab.grading.verdicts import _is_test_cell, judge

    path = Path(path)
    if not path.is_file():
        raise NotALab(f"there is no notebook {path}")
    lab = _lab(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook
        raise NotALab(f"{path.name} cannot be read as a notebook ({str(exc).splitlines()[0][:200]})") from None
    cells = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_test_cell(c)]
    tests = [(i, c.metadata.nbgrader["grade_id"]) for i, c in enumerate(nb.cells) if _is_test_cell(c)]
    if not tests:
        raise NotALab(f"{path.name} has no autograded test cells left: use the notebook as released in labs/")
    verdicts = judge(cells, tests, checks_for(lab), str(path.resolve().parent), cell_seconds=cell_seconds,
                     served=served_for(lab), guarded=guarded_for(lab))
    out = []
    for index, grade_id in tests:
        passed, _, message = verdicts[index]
        points = float(utils.determine_grade(nb.cells[index], None)[1] or 0.0) \
            if nb.cells[index].metadata.get("nbgrader", {}).get("points") is not None else 0.0
        out.append(CellResult(grade_id, points, points if passed else 0.0, "" if passed else message))
    missing = sorted(set(checks_for(lab)) - {g for _, g in tests})
    for grade_id in missing:
        out.append(CellResult(grade_id, 0.0, 0.0, "this test cell is missing from your notebook: the grader "
                                                  "puts it back, so copy it from the released lab"))
    return out


def report(results: list[CellResult], name: str) -> str:
    """The readable report: one line per test cell, its message when it failed, and the total."""
    lines = [f"{name}: every autograded test cell, decided as the instructor's grading decides it", ""]
    for r in results:
        mark = "✓" if r.earned == r.points and not r.message else "✗"
        lines.append(f"{mark} {r.grade_id}: {r.earned:g} of {r.points:g}")
        lines.extend("    " + line for line in r.message.splitlines()[:12])
    earned, total = sum(r.earned for r in results), sum(r.points for r in results)
    lines += ["", f"Autograded points: {earned:g} of {total:g} (written answers are graded by hand)"]
    return "\n".join(lines)


def main(argv: list[str], *, want_json: bool = False) -> int:
    path = Path(argv[0])
    from optilab.grading.notebook import NotStarted

    try:
        results = grade_notebook(path)
    except (NotALab, NotStarted) as exc:
        print(f"optilab check: {exc}", file=__import__("sys").stderr)
        return 2
    if want_json:
        print(json.dumps({"notebook": path.name, "score": sum(r.earned for r in results),
                          "max_score": sum(r.points for r in results),
                          "cells": [r.as_dict() for r in results]}, ensure_ascii=False))
    else:
        print(report(results, path.name))
    return 0 if all(not r.message for r in results) else 1

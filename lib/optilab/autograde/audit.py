"""What a submission did to the lab's graded cells, and what happened when it ran.

nbgrader itself restores edited test cells from the gradebook and (with
``OverwriteCells.add_missing_cells``) puts deleted ones back; these functions only *find*
such changes so that the grading report can name them.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["cell_changes", "run_problems"]


def _cells(nb_path: Path) -> list[dict]:
    try:
        return json.loads(Path(nb_path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _graded(cell: dict) -> dict:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    return meta.get("nbgrader", {}) if isinstance(meta, dict) else {}


def cell_changes(release: Path, submitted: Path) -> list[str]:
    """Report lines for graded cells of ``release`` deleted or edited in ``submitted``.

    A cell counts as deleted when no cell of the submission carries its ``grade_id`` (deleting
    the cell and stripping its nbgrader metadata look the same to nbgrader). A locked cell (a
    test) counts as edited when its source differs from the released one.
    """
    mine = {g["grade_id"]: c for c in _cells(submitted) if "grade_id" in (g := _graded(c))}
    notes = []
    for cell in _cells(release):
        meta = _graded(cell)
        if "grade_id" not in meta:
            continue
        gid = meta["grade_id"]
        if gid not in mine:
            what = "test cell" if meta.get("grade") and not meta.get("solution") else "answer cell"
            notes.append(f"deleted {what} {gid}")
        elif meta.get("locked") and _source(mine[gid]).strip() != _source(cell).strip():
            notes.append(f"edited test cell {gid} (restored from the gradebook before grading)")
    return notes


def run_problems(autograded: Path, timeout: float) -> list[str]:
    """Report lines for what happened when an autograded notebook ran: cells stopped at the time
    limit, and test cells whose kernel result differs from the grader's own verdict
    ("tampering suspected: ...", written by :mod:`optilab.grading.verdicts`)."""
    notes = []
    try:
        meta = json.loads(Path(autograded).read_text(encoding="utf-8")).get("metadata", {})
        verdicts = meta.get("optilab", {}) if isinstance(meta, dict) else {}
        notes += [n for n in verdicts.get("notes", []) if isinstance(n, str)] if isinstance(verdicts, dict) else []
    except (OSError, ValueError, AttributeError):
        pass
    for index, cell in enumerate(_cells(autograded)):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "error" and out.get("ename") in {"KeyboardInterrupt",
                                                                         "CellTimeoutError"}:
                name = _graded(cell).get("grade_id") or cell.get("id") or f"#{index + 1}"
                note = f"cell {name} ran longer than {timeout:g} s and was stopped"
                if note not in notes:
                    notes.append(note)
    return notes

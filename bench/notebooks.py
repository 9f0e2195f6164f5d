"""Group 3: the time to execute each lesson and each solution notebook headless.

Each notebook runs top to bottom in a fresh ``python3`` kernel with nbclient, in its own
folder, as ``tests`` and a student's "Restart and run all" do. The time includes starting
the kernel; the start-up of an empty notebook is measured once and reported beside it.
The CPU time (the kernel's and the client's) is reported too: on a busy machine it shows
what the run would take on an idle one.
Notebooks run one after another (a student runs one at a time).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.timing import cpu_seconds

__all__ = ["LESSON_TARGET_S", "TOTAL_TARGET_S", "execute", "find", "run", "main"]

LESSON_TARGET_S = 20.0
TOTAL_TARGET_S = 120.0
CELL_TIMEOUT_S = 120


def find(root: Path) -> list[tuple[str, Path]]:
    """The notebooks to time, as ``(kind, path)``: lessons, then the labs' solution notebooks."""
    lessons = sorted((root / "lessons").glob("*.ipynb"))
    solutions = sorted((root / "solutions").glob("lab*/lab*.ipynb"))
    return [("lesson", p) for p in lessons] + [("solution", p) for p in solutions]


def execute(path: Path | None, *, timeout: int = CELL_TIMEOUT_S) -> dict[str, Any]:
    """Execute one notebook (``None``: an empty one, to time the kernel start) and time it."""
    import nbformat
    from nbclient import NotebookClient

    if path is None:
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_code_cell("pass"))
        folder = Path.cwd()
    else:
        notebook = nbformat.read(path, as_version=4)
        folder = path.parent
    client = NotebookClient(notebook, kernel_name="python3", timeout=timeout,
                            resources={"metadata": {"path": str(folder)}})
    start, cpu = time.perf_counter(), cpu_seconds()
    status = "ok"
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel process's own start-up chatter
    except Exception as error:  # noqa: BLE001 - CellExecutionError, timeouts, a dead kernel: all reported
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()  # drop the traceback's colours
        first = (plain.splitlines() or [""])[-1][:160]
        status = f"error: {type(error).__name__}: {first}"
    seconds = time.perf_counter() - start
    cpu = cpu_seconds() - cpu  # the client's and the kernel's (counted once the kernel has exited)
    stderr_cells = [cell.get("id", "?") for cell in notebook.cells if cell.cell_type == "code"
                    and any(o.get("name") == "stderr" for o in cell.get("outputs", []))]
    if status == "ok" and stderr_cells:
        status = f"ok, stderr in {', '.join(stderr_cells[:3])}"
    return {"seconds": seconds, "cpu_s": cpu, "status": status,
            "code_cells": sum(c.cell_type == "code" for c in notebook.cells)}


def run(root: Path, *, budget_s: float = 210.0, kernel_start: bool = True) -> dict[str, Any]:
    """Execute every lesson and solution notebook under ``root`` within ``budget_s`` seconds.

    ``kernel_start``: first time an empty notebook, to show what starting a kernel costs.
    """
    notebooks = find(root)
    if not notebooks:
        return {"status": "not available", "reason": "no lessons/*.ipynb or solutions/lab*/lab*.ipynb yet"}
    deadline = time.perf_counter() + budget_s
    # An empty notebook, twice: the first start also warms the disk cache; the second is typical.
    start_s = [execute(None) for _ in range(2)][-1]["seconds"] if kernel_start else None
    records = []
    for kind, path in notebooks:
        name = str(path.relative_to(root))
        if time.perf_counter() > deadline:
            records.append({"path": name, "kind": kind, "seconds": None, "status": "skipped: time budget spent",
                            "meets_target": None})
            continue
        record = {"path": name, "kind": kind, **execute(path)}
        ok = record["status"].startswith("ok")
        record["meets_target"] = (record["seconds"] < LESSON_TARGET_S) if kind == "lesson" and ok else None
        records.append(record)
    lessons = [r["seconds"] for r in records if r["kind"] == "lesson" and r["seconds"] is not None]
    solutions = [r["seconds"] for r in records if r["kind"] == "solution" and r["seconds"] is not None]
    complete = all(r["seconds"] is not None for r in records)
    every_lesson = all(r["meets_target"] for r in records if r["kind"] == "lesson")
    total = sum(lessons) + sum(solutions)
    return {
        "status": "ok",
        "records": records,
        "kernel_start_s": start_s,
        "totals": {"lessons_s": sum(lessons), "solutions_s": sum(solutions), "all_s": total,
                   "all_cpu_s": sum(r.get("cpu_s") or 0.0 for r in records),
                   "meets_target": bool(complete and every_lesson and total < TOTAL_TARGET_S)},
        "note": ("Each time includes starting a kernel"
                 + (f" (an empty notebook takes {start_s:.1f} s here)" if start_s is not None else "")
                 + "; nbclient, kernel python3, run in the notebook's folder."),
    }


def main(root: Path, quick: bool = False, budget_s: float = 240.0) -> dict[str, Any]:
    """The group as ``python -m bench`` runs it (``quick``: as many notebooks as fit in 20 s)."""
    return run(root, budget_s=min(budget_s, 20) if quick else budget_s)

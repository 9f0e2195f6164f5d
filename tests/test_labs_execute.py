"""Every lab runs headless: the instructor's version with full marks, the student's version with
failures only where the student has work to do."""

from __future__ import annotations

from pathlib import Path

import functools
import re

import pytest

from tests.support.notebooks import execute

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted(p.name for p in (ROOT / "solutions").glob("lab*") if (p / f"{p.name}.ipynb").is_file())

pytestmark = pytest.mark.slow


def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_there_are_seven_labs():
    assert [lab[:5] for lab in LABS] == [f"lab{i:02d}" for i in range(1, 8)], LABS


@functools.lru_cache(maxsize=None)
def _solution_run(lab: str):
    """The instructor's version of ``lab``, executed once per test session."""
    return execute(ROOT / "solutions" / lab / f"{lab}.ipynb", timeout=120, allow_errors=True)


#: A figure cell calls one of the library's figure functions (``plots.<name>(...)``).
FIGURE_CALL = re.compile(r"\bplots\.[a-z_]+\(")


def figure_cells(notebook) -> list:
    return [c for c in notebook.cells if c.cell_type == "code" and FIGURE_CALL.search(c.source)]


@pytest.mark.parametrize("lab", LABS)
def test_solution_runs_with_full_marks(lab):
    run = _solution_run(lab)
    assert run.errors == [], f"{lab}: {run.errors}"
    assert run.stderr() == [], f"{lab} wrote to stderr: {run.stderr()}"
    tests = [c for c in run.notebook.cells if _nbg(c).get("grade") and c.cell_type == "code"]
    assert tests and all(c.execution_count is not None for c in tests), "every test cell ran and passed"


@pytest.mark.parametrize("lab", LABS)
def test_student_version_fails_only_where_the_student_has_work_to_do(lab):
    run = execute(ROOT / "labs" / lab / f"{lab}.ipynb", timeout=120, allow_errors=True)
    assert run.stderr() == [], f"{lab} wrote to stderr: {run.stderr()}"
    kinds = []
    for cell in run.notebook.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            meta = _nbg(cell)
            where = "test" if meta.get("grade") else "answer" if meta.get("solution") else "other"
            kinds.append((where, out["ename"]))
            assert where != "other", f"cell {cell.id} failed ({out['ename']}: {out['evalue']}) but asks nothing"
            # A test fails because the answer above is a stub (NotImplementedError), or because the
            # answer cell's stub stopped before defining the name the test checks (NameError), or because
            # the result the stub left empty is checked, with a message that says to write the answer.
            allowed = {"NotImplementedError"} | ({"NameError"} if where == "test" else set())
            unwritten = where == "test" and out["ename"] == "AssertionError" and "write the answer above" in out["evalue"]
            assert out["ename"] in allowed or unwritten, f"cell {cell.id}: {out['ename']}: {out['evalue']}"
    assert any(ename == "NotImplementedError" for _, ename in kinds), "the student version should have work to do"


@pytest.mark.parametrize("lab", LABS)
def test_every_figure_cell_shows_its_figure(lab):
    """A figure the prose asks about ("the figure above") is on the page: the cell's output holds a
    PNG. A figure call ending in ';' shows nothing, since the library's figures appear only as a
    cell's last expression (or through display())."""
    run = _solution_run(lab)
    cells = figure_cells(run.notebook)
    assert cells, f"{lab} has no figure cell: the pattern {FIGURE_CALL.pattern!r} found none"
    blank = [c.id for c in cells
             if not any("image/png" in out.get("data", {}) for out in c.get("outputs", []))]
    assert blank == [], f"{lab}: these figure cells show no image: {blank}"

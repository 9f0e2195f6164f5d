"""Every lesson runs top to bottom, headless, without errors or warnings, and has an explorer.

How long each lesson takes is measured by ``make bench`` (bench/notebooks.py), not here.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.support import lesson_runs
from tests.support.notebooks import ROOT

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))


def _run(path):
    """The lesson executed once per test process, the same run the modules of its claims read
    (tests/support/lesson_runs.py)."""
    return lesson_runs.run(path.name).run


def _markdown(path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def test_there_are_twelve_lessons_numbered_from_zero():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(12)], [p.name for p in LESSONS]


@pytest.mark.slow
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_executes_without_errors_or_warnings(path):
    run = _run(path)
    assert not run.errors, f"{path.name} raised: {run.errors}"
    assert not run.stderr(), f"{path.name} wrote to stderr (a warning?): {run.stderr()}"


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_lesson_draws_figures_and_shows_an_explorer(path):
    run = _run(path)
    assert run.has_image(), f"{path.name} drew no figure"
    assert run.has_widget(), f"{path.name} shows no ipywidgets explorer"


#: A cell that makes a figure: a call into optilab.plots, a widgets module's figure, a new
#: matplotlib figure, or a cell that ends by showing ``fig``.
FIGURE_CELL = re.compile(r"\bplots\.[a-z_]+\(|_figure\(|plt\.(subplots|figure)\(|^fig\s*$", re.M)


def _shown(cell) -> bool:
    return any(("image/png" in out.get("data", {})) or ("application/vnd.jupyter.widget-view+json" in out.get("data", {}))
               for out in cell.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_every_figure_cell_of_a_lesson_shows_its_figure(path):
    """A figure the prose talks about is on the page: each cell that makes one has an image (or,
    for an explorer, a widget) in its output, never a figure left undisplayed by a trailing ';'."""
    run = _run(path)
    cells = [c for c in run.notebook.cells if c.cell_type == "code" and FIGURE_CELL.search(c.source)]
    assert cells, f"{path.name}: no figure cell found by {FIGURE_CELL.pattern!r}"
    blank = [c.id for c in cells if not _shown(c)]
    assert blank == [], f"{path.name}: these figure cells show no figure: {blank}"


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_every_figure_a_lesson_shows_is_titled_labelled_and_its_legends_cover_no_data(path):
    """Each figure the lesson displayed, as drawn (tests/support/figures.py describes it): a title,
    both axes of every panel with data labelled, and no legend over data."""
    figures = lesson_runs.run(path.name).figures
    assert figures, f"{path.name} showed no figure"
    problems = []
    for i, figure in enumerate(figures, 1):
        name = f"figure {i} ({next((t for t in figure['titles'] if t), '')!r})"
        if not any(figure["titles"]):
            problems.append(f"figure {i} has no title")
        problems += [f"{name} has an unlabelled axis" for x, y in figure["labels"] if not (x and y)]
        problems += [f"{name}: {what}" for what in figure["overlaps"]]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", [p for p in LESSONS if not p.name.startswith("00")], ids=lambda p: p.stem)
def test_lesson_has_objectives_self_checks_and_whats_next(path):
    text = _markdown(path)
    assert re.search(r"learning objectives|you will learn|by the end", text, re.I), "no learning objectives"
    assert re.search(r"what'?s next|next lesson|where next", text, re.I), "no 'what's next'"
    assert "<details>" in text and "<summary>" in text, "no self-check answers hidden until asked for"
    assert "$" in text, "no mathematics"

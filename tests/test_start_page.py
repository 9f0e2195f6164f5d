"""The start page (lessons/00) links every lesson and lab, and the lessons' links all lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "lessons"
START = LESSONS / "00_start_here.ipynb"
LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)\)")  # markdown links to notebooks: [text](path.ipynb)


def links(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [m for cell in notebook.cells if cell.cell_type == "markdown" for m in LINK.findall(cell.source)]


@pytest.mark.parametrize("name", ["00_start_here", "01_gradient_descent", "02_stochastic_gradient_descent"])
def test_every_notebook_link_resolves(name):
    path = LESSONS / f"{name}.ipynb"
    found = links(path)
    assert found, f"{path.name} links no notebook"
    missing = [link for link in found if not (path.parent / link).resolve().is_file()]
    assert not missing, f"{path.name} links notebooks that do not exist: {missing}"


def test_start_page_links_every_lesson_and_lab():
    linked = {(START.parent / link).resolve() for link in links(START)}
    notebooks = sorted(p for p in LESSONS.glob("[0-9][0-9]_*.ipynb") if p != START)
    notebooks += sorted((ROOT / "labs").glob("lab*/lab*.ipynb"))
    unlinked = [str(p.relative_to(ROOT)) for p in notebooks if p.resolve() not in linked]
    assert notebooks and not unlinked, f"the start page does not link {unlinked}"

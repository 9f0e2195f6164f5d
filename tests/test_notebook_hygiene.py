"""Notebooks are stored clean: no outputs, stable meaningful cell ids, a python3 kernel, nbgrader metadata intact."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from tests.support.notebooks import ROOT

NOTEBOOKS = sorted(
    p for folder in ("lessons", "solutions", "labs") for p in (ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)
ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


def _id(path):
    return str(path.relative_to(ROOT))


def test_there_are_notebooks_to_check():
    assert any(p.parts[-2] == "lessons" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_is_valid_and_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert (notebook.nbformat, notebook.nbformat_minor) >= (4, 5), "cell ids need nbformat 4.5"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} has stored outputs"
            assert cell.execution_count is None, f"cell {cell.id} has an execution count"
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_cell_ids_are_meaningful_and_unique(path):
    notebook = nbformat.read(path, as_version=4)
    ids = [cell.id for cell in notebook.cells]
    assert len(ids) == len(set(ids)), "duplicate cell ids"
    for cell_id in ids:
        assert ID.match(cell_id), f"cell id {cell_id!r} is not a readable slug"
        assert not re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){0,4}", cell_id), f"cell id {cell_id!r} looks random"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parts[-3] in ("solutions", "labs")], ids=_id)
def test_lab_notebooks_keep_nbgrader_metadata(path):
    notebook = nbformat.read(path, as_version=4)
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, "no graded cells"
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta:
            assert meta.get("grade_id"), f"cell {cell.id}: nbgrader metadata without grade_id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_no_machine_paths_in_notebooks(path):
    text = path.read_text()
    assert not re.search(r"/(work|tmp|home|root|Users)/", text), "a machine path is stored in the notebook"
    json.loads(text)


#: The kernel every notebook names and every install makes: ipykernel's own name and display name,
#: so that JupyterLab (laptop, Binder, hub) finds the notebook's kernel as stored and does not mark
#: the notebook modified when it opens it.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
INSTALLS = ("Makefile", "tests/hub/run.sh", "docs/hub/README.md")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_notebook_names_the_kernel_the_course_installs(path):
    assert json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"] == KERNELSPEC


def test_every_kernel_install_gives_the_notebooks_kernel_name_and_display_name():
    installs = [line for name in INSTALLS for line in (ROOT / name).read_text().splitlines()
                if "ipykernel install" in line]
    assert len(installs) == len(INSTALLS), installs
    for line in installs:
        assert re.search(rf'--name {KERNELSPEC["name"]} --display-name "{re.escape(KERNELSPEC["display_name"])}"',
                         line), line

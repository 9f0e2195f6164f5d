"""What makes ``make grade`` fast must not change what it does.

- The lab is generated into the grading workspace again exactly when its source changed
  (or the workspace's gradebook or release is no longer what the last run left), and a new
  workspace starts from a copy of an earlier generation of the same source.
- nbgrader's per-process shortcuts give the same results as nbgrader's own ways: the
  gradebook revision ``alembic heads`` prints, the feedback page nbconvert writes, compiled
  templates that follow their source.
"""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import jinja2
import nbformat
import pytest
from nbconvert.exporters import HTMLExporter

from optilab.autograde import pipeline, release_cache, speedups
from optilab.autograde.course import load_config, make_api

ROOT = Path(__file__).resolve().parents[1]
LAB = "lab01_gradient_descent"
# Lab 1's points: test cells 1 + 1 + 1 + 2 + 1 + 2, and the written answer's 2.
LAB_POINTS = 10


@pytest.fixture()
def course(tmp_path) -> Path:
    """A course folder of its own: the config and lab 1's source (so its cache is its own too)."""
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / LAB, root / "solutions" / LAB)
    return root


def _api(root: Path, workspace: Path):
    (workspace / "exchange").mkdir(parents=True, exist_ok=True)
    return make_api(load_config(root, **pipeline.workspace_overrides(workspace, None)))


def _max_score(workspace: Path) -> float:
    with sqlite3.connect(workspace / "gradebook.db") as db:
        return sum(score for (score,) in db.execute(
            "SELECT g.max_score FROM grade_cells g JOIN base_cell b ON g.id = b.id "
            "JOIN notebook n ON b.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
            "WHERE a.name = ?", (LAB,)))


def _set_points(root: Path, grade_id: str, points: int) -> None:
    path = root / "solutions" / LAB / f"{LAB}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    [cell] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id]
    cell["metadata"]["nbgrader"]["points"] = points
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_the_release_is_reused_until_the_solution_changes(course, tmp_path):
    workspace = tmp_path / "ws"
    speedups.install()
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is False  # generated
    assert _max_score(workspace) == LAB_POINTS
    released = (workspace / "release" / LAB / f"{LAB}.ipynb").read_bytes()
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is True  # nothing changed

    _set_points(course, "test-sgd-contract", 3)  # 1 point more than before, 2 more in all
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is False
    assert _max_score(workspace) == LAB_POINTS + 2
    assert (workspace / "release" / LAB / f"{LAB}.ipynb").read_bytes() != released
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is True


@pytest.mark.slow
def test_a_changed_gradebook_or_release_is_generated_again(course, tmp_path):
    workspace = tmp_path / "ws"
    speedups.install()
    release_cache.prepare(_api(course, workspace), course, LAB, workspace)
    with sqlite3.connect(workspace / "gradebook.db") as db:  # as if another version had been released into it
        db.execute("UPDATE grade_cells SET max_score = 5 WHERE id IN "
                   "(SELECT id FROM base_cell WHERE name = 'test-sgd-contract')")
    db.close()
    assert _max_score(workspace) == LAB_POINTS + 4
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is False
    assert _max_score(workspace) == LAB_POINTS

    (workspace / "release" / LAB / f"{LAB}.ipynb").write_text("{}")
    assert release_cache.prepare(_api(course, workspace), course, LAB, workspace) is False
    assert nbformat.read(workspace / "release" / LAB / f"{LAB}.ipynb", as_version=4).cells


@pytest.mark.slow
def test_a_new_workspace_starts_from_the_cached_generation_of_the_same_source(course, tmp_path):
    speedups.install()
    first, second, third = tmp_path / "ws1", tmp_path / "ws2", tmp_path / "ws3"
    assert release_cache.prepare(_api(course, first), course, LAB, first) is False
    assert release_cache.prepare(_api(course, second), course, LAB, second) is True  # copied from the cache
    assert _max_score(second) == LAB_POINTS
    assert ((second / "release" / LAB / f"{LAB}.ipynb").read_bytes()
            == (first / "release" / LAB / f"{LAB}.ipynb").read_bytes())
    _set_points(course, "test-largest-stable-lr", 1)
    assert release_cache.prepare(_api(course, third), course, LAB, third) is False  # a new source: not cached
    assert _max_score(third) == LAB_POINTS - 1


def test_the_source_key_follows_every_file_of_the_lab_and_the_config(course):
    key = release_cache.source_key(course, LAB)
    assert release_cache.source_key(course, LAB) == key
    (course / "solutions" / LAB / "data.csv").write_text("1,2\n")
    with_data = release_cache.source_key(course, LAB)
    assert with_data != key
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write("\nc.Execute.timeout = 31\n")
    assert release_cache.source_key(course, LAB) != with_data


@pytest.mark.slow
def test_the_gradebook_revision_is_what_alembic_heads_prints():
    from nbgrader.api import _temp_alembic_ini

    alembic = Path(sys.executable).parent / "alembic"
    with _temp_alembic_ini("sqlite://") as ini:
        printed = subprocess.run([str(alembic), "-c", ini, "heads"], capture_output=True, text=True,
                                 check=True).stdout
    assert printed.split()[0] == speedups.alembic_head()


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nSome *text* and $x^2$."),
                nbformat.v4.new_code_cell("print(1 + 1)", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="2\n")], execution_count=1)]
    return nb


def test_the_feedback_exporter_writes_the_same_page_as_nbconverts(monkeypatch):
    cache = speedups.TemplateBytecodeCache()
    monkeypatch.setattr(speedups, "_TEMPLATES", cache)
    nb = _notebook()
    expected, _ = HTMLExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    first, _ = speedups.FeedbackExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    assert cache._code  # the templates were compiled into the cache ...
    monkeypatch.setattr(jinja2.Environment, "compile", lambda *a, **k: pytest.fail("compiled again"))
    again, _ = speedups.FeedbackExporter(template_name="classic").from_notebook_node(copy.deepcopy(nb))
    assert first == expected and again == expected  # ... and a new exporter does not compile them


def test_compiled_templates_on_disk_follow_their_source(tmp_path, monkeypatch):
    templates, cached = tmp_path / "templates", tmp_path / "cache"
    templates.mkdir()
    (templates / "page.j2").write_text("Hello {{ name }}!")

    def render() -> str:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates),
                                 bytecode_cache=speedups.TemplateBytecodeCache(cached))
        return env.get_template("page.j2").render(name="Ada")

    assert render() == "Hello Ada!"
    assert list(cached.iterdir())
    with monkeypatch.context() as patch:  # a new process: read from disk, not compiled
        patch.setattr(jinja2.Environment, "compile", lambda *a, **k: pytest.fail("compiled again"))
        assert render() == "Hello Ada!"
    (templates / "page.j2").write_text("Goodbye {{ name }}.")
    assert render() == "Goodbye Ada."


def test_one_engine_per_database_and_process(tmp_path):
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    assert speedups.shared_engine(a, future=True) is speedups.shared_engine(a, future=True)
    assert speedups.shared_engine(a, future=True) is not speedups.shared_engine(b, future=True)
    assert speedups.shared_engine(a, future=True) is not speedups.shared_engine(a, echo=True)


def test_jsonschemas_iri_check_is_loaded_on_first_use_and_still_right():
    """A fresh interpreter: grading's imports leave the IRI grammar unbuilt; the check itself works."""
    script = (
        "import sys, optilab.autograde, nbformat, nbgrader.apps, jsonschema\n"
        "built = 'rfc3987_syntax.syntax_helpers' in sys.modules\n"
        "check = jsonschema.FormatChecker()\n"
        # RFC 3987: non-ASCII letters are allowed in an IRI's path, a space nowhere.
        "print(built, check.conforms('http://example.com/\\u00fc', 'iri'),\n"
        "      check.conforms('http://exa mple.com', 'iri'), check.conforms('a b', 'iri-reference'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True", "False", "False"]

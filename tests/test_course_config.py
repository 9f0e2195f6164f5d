"""The course's ``nbgrader_config.py`` on a shared machine: it names no exchange of its own, creates
nothing when it is loaded, and the commands that write the grading workspace make it private."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from optilab import release
from optilab.autograde.course import new_gradebook, private_folder

ROOT = Path(__file__).resolve().parents[1]


def _load(folder: Path):
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A course folder holding the configuration and one lab's source, nothing else."""
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / "lab01_gradient_descent", course / "solutions" / "lab01_gradient_descent")
    return course


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "__pycache__" not in p.parts)


def test_loading_the_config_creates_nothing(course_copy: Path, monkeypatch) -> None:
    before = _tree(course_copy)
    monkeypatch.delenv("OPTILAB_EXCHANGE", raising=False)
    _load(course_copy)
    monkeypatch.setenv("OPTILAB_EXCHANGE", str(course_copy / "elsewhere" / "exchange"))
    _load(course_copy)
    assert _tree(course_copy) == before


def test_the_exchange_is_left_to_the_hub_wide_config(monkeypatch) -> None:
    monkeypatch.delenv("OPTILAB_EXCHANGE", raising=False)
    config = _load(ROOT)
    assert "root" not in config.Exchange, (
        f"nbgrader_config.py sets Exchange.root={config.Exchange.root!r}: on a JupyterHub that hides "
        "every release from the students, whose servers read the hub-wide exchange")


def test_the_exchange_can_be_set_from_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPTILAB_EXCHANGE", str(tmp_path / "exchange"))
    assert _load(ROOT).Exchange.root == str(tmp_path / "exchange")


def test_private_folder_is_700_whatever_the_umask(tmp_path: Path) -> None:
    import os

    old = os.umask(0o000)
    try:
        made = private_folder(tmp_path / "a" / "b")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", made):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, oct(folder.stat().st_mode)


def test_private_folder_leaves_an_existing_folder_alone(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    (tmp_path / "shared").chmod(0o755)
    private_folder(tmp_path / "shared")
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o755


@pytest.mark.slow
def test_release_creates_the_grading_workspace_private(course_copy: Path) -> None:
    assert not (course_copy / "grading").exists()
    errors = release.generate(course_copy, ["lab01_gradient_descent"])
    assert errors == []
    workspace = course_copy / "grading"
    assert (workspace / "gradebook.db").is_file()
    assert stat.S_IMODE(workspace.stat().st_mode) == 0o700
    assert stat.S_IMODE((workspace / "gradebook.db").stat().st_mode) == 0o600
    assert not (workspace / "exchange").exists(), "release made an exchange in the course folder"


def _schema(db: Path) -> dict:
    """nbgrader's tables and indexes, the courses, and the schema version (alembic's own table is written by alembic's
    API with a primary key, where nbgrader writes it without one: either way it holds one row, the version)."""
    import sqlite3

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = sorted(row for row in connection.execute("SELECT type, name, sql FROM sqlite_master")
                        if "alembic_version" not in row[1])
        return {"tables": tables, "version": connection.execute("SELECT * FROM alembic_version").fetchall(),
                "courses": connection.execute("SELECT * FROM course").fetchall()}
    finally:
        connection.close()


@pytest.mark.slow
def test_a_new_gradebook_is_the_one_nbgrader_makes_and_nbgrader_can_upgrade_it(tmp_path: Path) -> None:
    """Ours gets its schema version in-process; nbgrader's own runs ``alembic heads`` in a new process."""
    import os
    import subprocess
    import sys

    from nbgrader.api import Gradebook

    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    assert new_gradebook(ours, "optilab")
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600
    for db in (ours, theirs):
        Gradebook(f"sqlite:///{db}", "optilab").close()
    assert _schema(ours) == _schema(theirs)
    assert len(_schema(ours)["version"]) == 1 and len(_schema(ours)["tables"]) > 20
    # `nbgrader db upgrade`, which an instructor runs after upgrading nbgrader, finds it current
    tools = str(Path(sys.executable).parent)  # nbgrader and the alembic command it runs
    done = subprocess.run([f"{tools}/nbgrader", "db", "upgrade", f"--db=sqlite:///{ours}"], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert _schema(ours) == _schema(theirs)


def test_new_gradebook_never_touches_a_file_that_is_there(tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    db.write_bytes(b"an instructor's gradebook")
    assert not new_gradebook(db, "optilab")
    assert db.read_bytes() == b"an instructor's gradebook"


def test_without_nbgraders_scripts_the_gradebook_is_left_to_nbgrader(tmp_path: Path) -> None:
    db = tmp_path / "gradebook.db"
    assert not new_gradebook(db, "optilab", scripts=tmp_path / "no-such-scripts")
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def _make_gradebook_when_told(db: str, go, made) -> None:
    """What each grading run does first: make the gradebook if it is not there, then let nbgrader open it."""
    from nbgrader.api import Gradebook

    go.wait()
    made.put(new_gradebook(Path(db), "optilab"))
    Gradebook(f"sqlite:///{db}", "optilab").close()


@pytest.mark.slow
def test_runs_that_start_together_make_one_whole_gradebook(tmp_path: Path) -> None:
    """Two labs graded at once in a new workspace: one makes the gradebook, the others find it whole."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    db, go, made = tmp_path / "gradebook.db", context.Event(), context.Queue()
    runs = [context.Process(target=_make_gradebook_when_told, args=(str(db), go, made)) for _ in range(4)]
    for run in runs:
        run.start()
    go.set()
    for run in runs:
        run.join(60)
    assert [run.exitcode for run in runs] == [0] * 4
    assert sorted(made.get(timeout=5) for _ in runs) == [False, False, False, True]
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.db"]  # no temporary file left
    whole = _schema(db)
    assert len(whole["version"]) == 1 and whole["courses"] == [("optilab",)]

"""Generate a lab into the grading workspace only when its source has changed.

Grading needs the lab's cells, points and hidden tests in the workspace's gradebook, and the
released notebook in the workspace's ``release/``: nbgrader's ``generate_assignment`` makes
both (about a second). The result depends only on the lab's folder in ``solutions/``,
``nbgrader_config.py`` and nbgrader's version, so :func:`prepare` runs it again only when one
of those changed, or when the gradebook or the released notebook is no longer what the last
run left:

- after generating, it records in ``<workspace>/.optilab/<lab>.json`` a checksum of the
  sources (:func:`source_key`), of the lab's rows in the gradebook (:func:`gradebook_digest`)
  and of the released notebook;
- a later run reuses them when all three still match (anything else, e.g. ``make release``
  of another version into the same gradebook, makes it generate again);
- a new workspace (no gradebook yet) starts from a copy of a gradebook and release generated
  earlier from the same sources, kept in the course's ``grading/.cache/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from optilab.autograde.course import private_folder

__all__ = ["source_key", "gradebook_digest", "prepare", "CACHE_DIR"]

CACHE_DIR = Path("grading") / ".cache"  # relative to the course root
_SKIP = {".ipynb_checkpoints", "__pycache__", "feedback"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_key(root: Path, lab: str, config_file: str = "nbgrader_config.py") -> str:
    """A checksum of everything ``generate_assignment`` reads: the lab's source folder, the config, nbgrader."""
    import nbgrader

    digest = hashlib.sha256(f"nbgrader {nbgrader.__version__}\n".encode())
    digest.update((Path(root) / config_file).read_bytes())
    folder = Path(root) / "solutions" / lab
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if any(part in _SKIP for part in rel.parts) or path.suffix in {".pyc", ".bak"}:
            continue
        digest.update(f"\n{rel.as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


def gradebook_digest(db: Path, lab: str) -> str | None:
    """A checksum of ``lab``'s notebooks and cells in the gradebook ``db``; None if it has no such lab."""
    if not Path(db).is_file():
        return None
    queries = [
        "SELECT a.name, a.duedate, a.course_id FROM assignment a WHERE a.name = ?",
        "SELECT n.name, n.kernelspec FROM notebook n JOIN assignment a ON n.assignment_id = a.id "
        "WHERE a.name = ? ORDER BY n.name",
        "SELECT n.name, b.name, b.type, g.max_score, g.cell_type, t.max_score, t.cell_type, s.id IS NOT NULL "
        "FROM base_cell b JOIN notebook n ON b.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
        "LEFT JOIN grade_cells g ON g.id = b.id LEFT JOIN task_cells t ON t.id = b.id "
        "LEFT JOIN solution_cells s ON s.id = b.id WHERE a.name = ? ORDER BY n.name, b.name, b.type",
        "SELECT n.name, c.name, c.cell_type, c.locked, c.source, c.checksum FROM source_cell c "
        "JOIN notebook n ON c.notebook_id = n.id JOIN assignment a ON n.assignment_id = a.id "
        "WHERE a.name = ? ORDER BY n.name, c.name",
    ]
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = [connection.execute(query, (lab,)).fetchall() for query in queries]
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    if not rows[0] or not rows[1]:
        return None
    return _sha256(json.dumps(rows, default=str).encode())


def _stamp_path(workspace: Path, lab: str) -> Path:
    return Path(workspace) / ".optilab" / f"{lab}.json"


def _read_stamp(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _state(db: Path, release_nb: Path, lab: str, key: str) -> dict:
    return {"source": key, "gradebook": gradebook_digest(db, lab),
            "release": _sha256(release_nb.read_bytes()) if release_nb.is_file() else None}


def _write_stamp(path: Path, state: dict) -> None:
    private_folder(path.parent)
    path.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")


def prepare(api, root: Path, lab: str, workspace: Path) -> bool:
    """Make sure the workspace's gradebook and release hold the current version of ``lab``.

    Runs nbgrader's ``generate_assignment`` through ``api`` unless the workspace (or, for a new
    workspace, the course's cache) already holds what it would produce. Returns True when it
    reused them, False when it generated; raises ``RuntimeError`` if nbgrader fails.
    """
    coursedir = api.coursedir
    root, workspace = Path(root), Path(workspace)
    release_dir = Path(coursedir.format_path(coursedir.release_directory, ".", lab))
    release_nb = release_dir / f"{lab}.ipynb"
    db = _sqlite_path(coursedir.db_url)
    key = source_key(root, lab)
    stamp = _stamp_path(workspace, lab)
    if db is not None:
        recorded = _read_stamp(stamp)
        if recorded.get("source") == key and recorded.get("gradebook") and recorded == _state(db, release_nb, lab, key):
            return True
        cached = root / CACHE_DIR / "release" / f"{lab}-{key[:32]}"
        if not db.exists() and (cached / "state.json").is_file():
            state = _read_stamp(cached / "state.json")
            private_folder(db.parent)
            shutil.copyfile(cached / "gradebook.db", db)
            if release_dir.exists():
                shutil.rmtree(release_dir)
            shutil.copytree(cached / "release", release_dir)
            if state and state == _state(db, release_nb, lab, key):
                _write_stamp(stamp, state)
                return True
            db.unlink()  # the cache did not hold what it said: generate as usual
        fresh = not db.exists()
    stamp.unlink(missing_ok=True)
    generated = api.generate_assignment(lab, force=True, create=True)
    if not generated["success"]:
        raise RuntimeError(f"nbgrader generate_assignment {lab} failed:\n{generated.get('error')}")
    if db is None:
        return False
    state = _state(db, release_nb, lab, key)
    _write_stamp(stamp, state)
    if fresh and state["gradebook"]:  # a gradebook holding only this lab: keep a copy for new workspaces
        _store(root / CACHE_DIR / "release", f"{lab}-{key[:32]}", db, release_dir, state)
    return False


def _store(cache: Path, name: str, db: Path, release_dir: Path, state: dict) -> None:
    """Copy the gradebook and release into ``cache/name`` (all or nothing; another run may race)."""
    target = cache / name
    if target.exists():
        return
    try:
        private_folder(cache)  # inside the course's grading/, which may not exist yet: never world-readable
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache))
    except OSError:
        return  # no cache (a read-only course folder): grading works without it
    try:
        shutil.copyfile(db, tmp / "gradebook.db")
        shutil.copytree(release_dir, tmp / "release")
        (tmp / "state.json").write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)

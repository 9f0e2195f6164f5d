"""The course's nbgrader set-up, shared by ``python -m optilab release`` and ``grade``.

Both commands drive nbgrader through its Python API (:class:`nbgrader.apps.NbGraderAPI`),
which does not read ``nbgrader_config.py`` by itself: :func:`load_config` reads the course's
file with traitlets' loader, exactly as the ``nbgrader`` command line would from the course
root, so the API and the command line grade with one configuration.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

__all__ = ["CONFIG_FILE", "course_root", "load_config", "lab_names", "resolve_lab", "make_api",
           "private_folder", "gradebook_file", "new_gradebook"]

CONFIG_FILE = "nbgrader_config.py"
_LAB = re.compile(r"^lab\d\d_[a-z0-9_]+$")


def course_root(start: str | os.PathLike | None = None) -> Path:
    """The folder holding ``nbgrader_config.py``: ``start`` (default: the working directory) or a parent."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / "solutions").is_dir():
            return folder
    raise FileNotFoundError(
        f"no {CONFIG_FILE} with a solutions/ folder beside it in {here} or its parents: "
        "run this command from the course's folder (the clone of the repository)."
    )


def load_config(root: Path, **overrides: dict) -> Config:
    """Read ``root/nbgrader_config.py`` and merge ``overrides`` (``{"Section": {"trait": value}}``)."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    extra = Config()
    for section, values in overrides.items():
        for name, value in values.items():
            extra[section][name] = value
    config.merge(extra)
    return config


def lab_names(root: Path) -> list[str]:
    """The labs in ``solutions/``, in order: folders named ``labNN_name`` holding ``labNN_name.ipynb``."""
    return sorted(
        p.name for p in (root / "solutions").iterdir()
        if p.is_dir() and _LAB.match(p.name) and (p / f"{p.name}.ipynb").is_file()
    )


def resolve_lab(root: Path, lab: str) -> str:
    """The full lab name for ``lab04`` or ``lab04_adam_adamw``; a clear error if there is none."""
    names = lab_names(root)
    matches = [n for n in names if n == lab or n.startswith(lab.rstrip("_") + "_")]
    if len(matches) != 1:
        raise ValueError(f"no lab called {lab!r}; the labs are: {', '.join(names) or '(none)'}")
    return matches[0]


def private_folder(path: str | os.PathLike) -> Path:
    """Create ``path`` (and missing parents) readable by its owner alone (700); return it.

    The grading workspace holds submissions, the gradebook and feedback: on a shared machine (a
    JupyterHub) no student may read it. A folder that already exists is left as it is.
    """
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # created meanwhile by another run
            continue
        folder.chmod(0o700)  # mkdir's mode is reduced by the umask, never widened; make it exact
    return path


def gradebook_file(db_url: str) -> Path | None:
    """The file of the SQLite gradebook ``db_url`` names (``CourseDirectory.db_url``); None for another database."""
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if isinstance(db_url, str) and db_url.startswith(prefix) else None


def new_gradebook(path: Path, course_id: str, scripts: Path | None = None) -> bool:
    """Create the SQLite gradebook ``path`` of ``course_id``, private to this user, if no file is there; True if it did.

    It is the gradebook nbgrader would create: nbgrader's tables (the metadata of
    :mod:`nbgrader.api`), the course and the schema version, the head of nbgrader's migration scripts
    (``scripts``, by default the ones nbgrader ships, which ``nbgrader db upgrade`` runs). nbgrader
    would learn that version by running the ``alembic`` command in a new Python process (2.3 s for
    every new workspace); alembic's Python API reads the same scripts here, in this process (0.1 s).

    The gradebook is written under a temporary name in the same folder and appears under its own
    name whole (a hard link, which fails if a file is there): runs that start at the same moment
    never open it half made, and never create its tables or its course twice (nbgrader alone,
    opening a new gradebook from two processes, fails one with "table ... already exists" or
    "UNIQUE constraint failed: course.id"). The temporary name is then removed.

    A file that is there is never opened, and the folder must exist. If the version cannot be
    written (a future nbgrader that keeps its scripts elsewhere, or a file system without hard
    links), nothing is left behind and nbgrader creates the gradebook its own way.
    """
    path = Path(path)
    if path.exists():  # every run but a workspace's first: nothing to import or write
        return False
    import tempfile
    from importlib.resources import files

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base, Course
    from sqlalchemy import create_engine

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")  # mode 600
    os.close(fd)
    made = Path(name)
    try:
        engine = create_engine(f"sqlite:///{made}")
        try:
            with engine.begin() as connection:
                version = ScriptDirectory(str(scripts or files("nbgrader") / "alembic"))
                MigrationContext.configure(connection).stamp(version, "heads")
                Base.metadata.create_all(connection)
                connection.execute(Course.__table__.insert().values(id=course_id))
        finally:
            engine.dispose()
        os.link(made, path)
    except Exception:  # noqa: BLE001  (a gradebook that is there, or nbgrader's own way: slower, never wrong)
        return False
    finally:
        made.unlink()
    return True


def _put_interpreter_tools_on_path() -> None:
    """nbgrader runs ``alembic`` (installed beside this Python) as a command: make sure it is found.

    ``.venv/bin/python -m optilab grade ...`` works without activating the venv this way.
    """
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = tools + os.pathsep + os.environ.get("PATH", "")


def make_api(config: Config):
    """An :class:`nbgrader.apps.NbGraderAPI` using ``config`` (quiet: its log goes to the result dicts)."""
    _put_interpreter_tools_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def main(argv: list[str] | None = None) -> int:
    """Print the full name of the lab ``argv[0]`` (for the Makefile); or say why there is none and return 2."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        print(resolve_lab(course_root(), argv[0] if argv else ""))
    except (ValueError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 2
    return 0

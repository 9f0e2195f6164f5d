"""nbgrader's fixed costs, paid once per grading process instead of once per student.

Nothing here changes what nbgrader computes or writes; it only avoids redoing work whose
result is always the same:

- :class:`FeedbackExporter` is nbgrader's feedback exporter (:class:`nbconvert.HTMLExporter`)
  with one Jinja bytecode cache shared by every instance in the process. nbgrader makes a new
  exporter for each student, and a new exporter compiles the feedback templates again
  (about 0.4 s of CPU per page); with the cache they are compiled once, and, kept on disk
  (:func:`keep_templates_in`), not at all in later runs. The pages are the same.
- :func:`alembic_head` finds the revision nbgrader stamps into a new gradebook in this process;
  nbgrader starts the ``alembic heads`` command for it, which takes seconds.
- nbgrader opens the gradebook a dozen times per student, each time with a new SQLAlchemy
  engine, which compiles every SQL statement again; :func:`shared_engine` gives it one engine
  per database and process (each gradebook still opens and closes its own connection), so the
  compiled statements are kept.

:func:`install` makes nbgrader, in this process, use the last two.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import jinja2
from nbconvert.exporters import HTMLExporter

__all__ = ["TemplateBytecodeCache", "FeedbackExporter", "keep_templates_in", "alembic_head", "shared_engine", "install"]


class TemplateBytecodeCache(jinja2.BytecodeCache):
    """Compiled Jinja templates, by template name and source checksum: in memory, and in ``folder`` if set.

    Jinja's bucket key covers the template's name and its source's checksum, and the stored
    code carries the Python version it was compiled for, so an edited template or another
    Python compiles again.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder else None
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def _file(self, name: str) -> Path:
        return self.folder / f"{name}.jinja-cache"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        name = hashlib.sha256((bucket.key + bucket.checksum).encode()).hexdigest()
        with self._lock:
            code = self._code.get(name)
        if code is None and self.folder is not None:
            try:
                code = self._file(name).read_bytes()
            except OSError:
                code = None
        if code is not None:
            bucket.bytecode_from_string(code)  # a stale or broken entry leaves the bucket empty

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        name = hashlib.sha256((bucket.key + bucket.checksum).encode()).hexdigest()
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[name] = code
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = self._file(f"{name}.{os.getpid()}")
                tmp.write_bytes(code)
                os.replace(tmp, self._file(name))
            except OSError:
                pass  # the cache is an optimisation only

    def clear(self) -> None:
        with self._lock:
            self._code.clear()


_TEMPLATES = TemplateBytecodeCache()


def keep_templates_in(folder: Path | None) -> None:
    """Also keep compiled feedback templates in ``folder``, for the next grading run (None: memory only)."""
    _TEMPLATES.folder = Path(folder) if folder else None


class FeedbackExporter(HTMLExporter):
    """:class:`~nbconvert.exporters.HTMLExporter` whose templates are compiled once per process.

    Set as ``GenerateFeedback.exporter_class``; nbgrader configures it exactly like the
    ``HTMLExporter`` it replaces (its configuration section applies to subclasses).
    """

    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        return environment


def alembic_head() -> str:
    """The head revision of nbgrader's gradebook migrations (what ``alembic heads`` prints first)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.api import _temp_alembic_ini

    with _temp_alembic_ini("sqlite://") as ini:
        heads = ScriptDirectory.from_config(AlembicConfig(ini)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"nbgrader's gradebook migrations have {len(heads)} heads, expected one: {heads}")
    return heads[0]


_HEAD: str | None = None


def _cached_alembic_head() -> str:
    global _HEAD
    if _HEAD is None:
        _HEAD = alembic_head()
    return _HEAD


_ENGINES: dict = {}


def shared_engine(url, **options):
    """``sqlalchemy.create_engine``, but one engine per URL, options and process.

    nbgrader's ``Gradebook.close`` disposes of the engine's connections, as before; the engine
    object, with its cache of compiled statements, lives on. A forked process makes its own.
    """
    from sqlalchemy import create_engine

    key = (os.getpid(), str(url), tuple(sorted((name, repr(value)) for name, value in options.items())))
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = create_engine(url, **options)
    return engine


def install() -> None:
    """Make nbgrader, in this process and those it forks, use :func:`alembic_head` and :func:`shared_engine`."""
    import nbgrader.api

    nbgrader.api.get_alembic_version = _cached_alembic_head
    nbgrader.api.create_engine = shared_engine

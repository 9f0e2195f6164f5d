"""Find each student's notebook in a folder of submissions, and stage a copy for nbgrader.

Two ways to grade (chosen by :func:`optilab.autograde.workspace.grading_mode`):

- **copy in**: ``SUBMISSIONS`` is a folder outside the grading workspace, with one folder, zip or
  notebook per student (as learning-management systems export them; the notebook at any depth),
  or nbgrader's own ``submitted/`` layout (given as that folder or the folder that holds it).
  :func:`find_submissions` finds them and :func:`stage` copies the chosen notebook, byte for byte,
  to nbgrader's ``submitted/<student>/<lab>/<lab>.ipynb`` in the workspace, with the
  ``timestamp.txt`` and ``submission_secret.txt`` nbgrader's exchange wrote, when there are any.
  A notebook under another name (``Untitled.ipynb``, ``lab01 (1).ipynb``) is graded under the lab's
  name and the rename is reported; every other notebook found is reported as ignored. An earlier
  staged copy that the new one replaces is moved to the workspace's ``archive/``, never deleted.
- **in place**: the workspace's own ``submitted/`` folder, as ``nbgrader collect`` left it.
  :func:`find_in_place` only reads it: nothing there is renamed, rewritten or removed.

The inputs are only read. Anything that cannot be graded (no notebook, not a readable notebook,
a broken zip) is reported with the reason and scores 0 for that attempt.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import secrets
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

__all__ = ["Submission", "find_submissions", "find_in_place", "stage", "check_in_place", "grade_ids",
           "EXCHANGE_FILES", "timestamp"]

MAX_NOTEBOOK_BYTES = 50 * 2**20  # larger "notebooks" are refused rather than read
_SKIP_PARTS = (".ipynb_checkpoints", "__MACOSX", "__pycache__")
_OTHER_LAB = re.compile(r"^lab\d\d_")
#: The files nbgrader's exchange writes beside a submitted notebook; ``release_feedback`` needs both.
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


@dataclass
class Submission:
    """One student's submission and what staging found out about it."""

    student: str
    origin: Path                      # the folder, zip or file it came from
    notebook: Path | None = None      # the staged copy, once staged
    notes: list[str] = field(default_factory=list)  # report lines (renamed, ignored files, ...)
    problem: str | None = None        # why it cannot be graded (then it gets 0)


def _student_id(name: str) -> str:
    """A student id nbgrader can use as a folder name: letters, digits and ``_.@-``."""
    return re.sub(r"[^A-Za-z0-9_.@-]", "_", name).strip("._") or "student"


def _skipped(parts: tuple[str, ...]) -> bool:
    return any(p in _SKIP_PARTS or p.startswith(".") for p in parts)


def find_submissions(folder: Path) -> list[Submission]:
    """One :class:`Submission` per student folder, zip or file in ``folder``, sorted by student id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder: give the folder that holds one "
                                "folder or zip per student")
    if (folder / "submitted").is_dir():  # a course folder in nbgrader's layout
        folder = folder / "submitted"
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if _skipped((entry.name,)):
            continue
        name = entry.stem if entry.is_file() else entry.name
        student = _student_id(name)
        sub = Submission(student, entry)
        if student != name:
            sub.notes.append(f"student id {student!r} made from {entry.name!r}")
        if student in found:
            found[student].notes.append(f"also found {entry.name}, which was ignored")
            continue
        found[student] = sub
    return [found[s] for s in sorted(found)]


@dataclass
class _Item:
    """A file found in a submission: its path, or its bytes (from a zip), and when it was last changed."""

    source: bytes | Path
    modified: _dt.datetime | None = None

    def read(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else self.source.read_bytes()


def _candidates(origin: Path) -> dict[str, _Item] | str:
    """Notebook candidates (and exchange files) inside a submission, by relative path; or a problem message."""
    wanted = lambda name: name.endswith(".ipynb") or name in EXCHANGE_FILES  # noqa: E731
    if origin.is_dir():
        paths = [p for p in origin.rglob("*") if p.is_file()]
        return {str(p.relative_to(origin)): _Item(p, _dt.datetime.fromtimestamp(p.stat().st_mtime))
                for p in paths if not _skipped(p.relative_to(origin).parts) and wanted(p.name)}
    if origin.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(origin) as archive:
                out: dict[str, _Item] = {}
                for info in archive.infolist():
                    path = PurePosixPath(info.filename)
                    if info.is_dir() or path.is_absolute() or ".." in path.parts or _skipped(path.parts):
                        continue
                    if wanted(path.name) and info.file_size <= MAX_NOTEBOOK_BYTES:
                        out[str(path)] = _Item(archive.read(info), _dt.datetime(*info.date_time))
                return out
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as error:
            return f"{origin.name} is not a readable zip file ({error})"
    if origin.suffix == ".ipynb":
        return {origin.name: _Item(origin, _dt.datetime.fromtimestamp(origin.stat().st_mtime))}
    return f"{origin.name} is neither a notebook nor a zip nor a folder"


def grade_ids(nb_text: bytes | str) -> set[str]:
    """The nbgrader ``grade_id`` of every cell in a notebook's JSON (empty if it is not one)."""
    try:
        data = json.loads(nb_text)
        return {c["metadata"]["nbgrader"]["grade_id"] for c in data.get("cells", [])
                if isinstance(c, dict) and "grade_id" in c.get("metadata", {}).get("nbgrader", {})}
    except (ValueError, TypeError, AttributeError, KeyError):
        return set()


def _choose(lab: str, items: dict[str, _Item], lab_ids: set[str]) -> tuple[str | None, list[str]]:
    """The relative path of the notebook to grade, and report notes (every other notebook is named)."""
    notebooks = sorted(k for k in items if k.endswith(".ipynb"))
    notes: list[str] = []
    exact = [k for k in notebooks if PurePosixPath(k).name == f"{lab}.ipynb"]
    if exact:
        exact.sort(key=lambda k: (PurePosixPath(k).parent.name != lab, len(PurePosixPath(k).parts), k))
        chosen = exact[0]
    else:
        others = [k for k in notebooks if _OTHER_LAB.match(PurePosixPath(k).name)
                  or any(_OTHER_LAB.match(p) and p != lab for p in PurePosixPath(k).parts[:-1])]
        rest = [k for k in notebooks if k not in others]
        if not rest:
            return None, notes
        rest.sort(key=lambda k: (-len(grade_ids(items[k].read()) & lab_ids), k))
        chosen = rest[0]
        notes.append(f"notebook {chosen!r} was renamed to {lab}.ipynb for grading"
                     + (" (of the notebooks found, it has the most of this lab's cells)" if len(rest) > 1 else ""))
    for other in notebooks:
        if other == chosen:
            continue
        newer = items[other].modified and items[chosen].modified and items[other].modified > items[chosen].modified
        notes.append(f"ignored {other}" + (", which is NEWER than the graded notebook: check which one the "
                                           "student meant to hand in" if newer else ""))
    return chosen, notes


def timestamp(when: _dt.datetime | None = None) -> str:
    """``when`` (default: now; naive means local time) as nbgrader's exchange writes ``timestamp.txt``."""
    when = when or _dt.datetime.now(_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def _exchange_files(chosen: str, items: dict[str, _Item]) -> dict[str, bytes]:
    """The exchange files that sit beside the chosen notebook."""
    folder = PurePosixPath(chosen).parent
    found = {}
    for name in EXCHANGE_FILES:
        key = str(folder / name).removeprefix("./")
        if key in items:
            found[name] = items[key].read()
    return found


def _readable_notebook(name: str, data: bytes) -> str | None:
    """None if ``data`` is a notebook nbformat can read; else why not."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        return f"{name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    try:
        nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises many kinds of errors for a broken file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"{name} is not a readable notebook ({first[:120]})"
    return None


def _same(folder: Path, files: dict[str, bytes]) -> bool:
    present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    return present == set(files) and all((folder / n).read_bytes() == data for n, data in files.items())


def stage(sub: Submission, lab: str, submitted_dir: Path, lab_ids: set[str], archive: Path | None = None) -> None:
    """Copy ``sub``'s notebook to ``submitted_dir/<student>/<lab>/<lab>.ipynb``, or set ``sub.problem``.

    ``lab_ids`` are the grade ids of the released lab (to choose among several notebooks). An
    earlier staged copy for this student and lab that differs from the new one is moved to
    ``archive/<student>/<lab>/<time>/`` (default: ``submitted_dir/../archive``); one that is the
    same is left as it is. Nothing is deleted, and nothing is staged for a submission that cannot
    be graded (the earlier copy stays where it is).
    """
    items = _candidates(sub.origin)
    if isinstance(items, str):
        sub.problem = items
        return
    chosen, notes = _choose(lab, items, lab_ids)
    sub.notes += notes
    if chosen is None:
        names = sorted(k for k in items if k.endswith(".ipynb"))
        sub.problem = (f"no notebook for {lab}" + (f" (found only {', '.join(names)})" if names else ""))
        return
    data = items[chosen].read()
    sub.problem = _readable_notebook(chosen, data)
    if sub.problem:
        return
    files = {f"{lab}.ipynb": data, **_exchange_files(chosen, items)}
    dest = submitted_dir / sub.student / lab
    sub.notebook = dest / f"{lab}.ipynb"
    # nbgrader's release_feedback (and formgrader's button) need both exchange files, which an
    # upload from elsewhere lacks: its time is the file's, its secret a new one (kept on regrades).
    if "timestamp.txt" not in files:
        when = items[chosen].modified or _dt.datetime.now()
        files["timestamp.txt"] = timestamp(when).encode()
        sub.notes.append("submission time taken from the file's modification time")
    if "submission_secret.txt" not in files:
        earlier = dest / "submission_secret.txt"
        files["submission_secret.txt"] = earlier.read_bytes() if earlier.is_file() else secrets.token_hex(16).encode()
    if _same(dest, files):
        return
    if dest.exists():
        archive = Path(archive) if archive else submitted_dir.parent / "archive"
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = archive / sub.student / lab / stamp
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(dest), str(target))
        sub.notes.append(f"replaced an earlier copy (kept in {target})")
    dest.mkdir(parents=True)
    for name, content in files.items():
        (dest / name).write_bytes(content)


def find_in_place(submitted_dir: Path, lab: str) -> list[Submission]:
    """The submissions of ``lab`` in nbgrader's ``submitted/`` folder, graded where they are."""
    found = []
    for entry in sorted(Path(submitted_dir).iterdir()) if Path(submitted_dir).is_dir() else []:
        folder = entry / lab
        if entry.is_dir() and not _skipped((entry.name,)) and folder.is_dir():
            found.append(Submission(entry.name, folder))
    return found


def check_in_place(sub: Submission, lab: str) -> None:
    """Set ``sub.notebook`` (or ``sub.problem``) for a submission graded in place; read only."""
    notebook = sub.origin / f"{lab}.ipynb"
    others = sorted(p.name for p in sub.origin.glob("*.ipynb") if p.name != notebook.name)
    if not notebook.is_file():
        sub.problem = (f"no {lab}.ipynb in {sub.origin}" + (f" (found {', '.join(others)}; submissions are "
                       "graded in place, so rename it there or grade a copy)" if others else ""))
        return
    sub.notes += [f"ignored {name}" for name in others]
    sub.problem = _readable_notebook(notebook.name, notebook.read_bytes())
    if not sub.problem:
        sub.notebook = notebook

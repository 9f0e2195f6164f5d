"""Find each student's notebook in a folder of submissions and stage a copy for nbgrader.

Accepted layouts of ``SUBMISSIONS`` (the inputs are only read, never changed):

- one folder per student, as learning-management systems export them
  (``alice/lab01_gradient_descent.ipynb``, at any depth inside the folder);
- one zip per student (``alice.zip``), or one notebook per student (``alice.ipynb``);
- nbgrader's own ``submitted/`` layout (``submitted/alice/lab01_gradient_descent/...``),
  given as the ``submitted`` folder itself or as the course folder that holds it.

The chosen notebook is copied, byte for byte, to nbgrader's
``submitted/<student>/<lab>/<lab>.ipynb`` in the grading workspace, with its
``timestamp.txt`` when there is one. A notebook under another name (``Untitled.ipynb``,
``lab01 (1).ipynb``) is graded under the lab's name and the rename is reported. Anything that
cannot be graded (no notebook, not a readable notebook, a broken zip) is reported with the
reason and graded 0.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

__all__ = ["Submission", "find_submissions", "stage", "grade_ids"]

MAX_NOTEBOOK_BYTES = 50 * 2**20  # larger "notebooks" are refused rather than read
_SKIP_PARTS = (".ipynb_checkpoints", "__MACOSX", "__pycache__")
_OTHER_LAB = re.compile(r"^lab\d\d_")


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


def _candidates(origin: Path) -> dict[str, bytes | Path] | str:
    """Notebook candidates inside a submission, by relative path; or a problem message."""
    if origin.is_dir():
        paths = [p for p in origin.rglob("*") if p.is_file()]
        return {str(p.relative_to(origin)): p for p in paths
                if not _skipped(p.relative_to(origin).parts)
                and (p.suffix == ".ipynb" or p.name == "timestamp.txt")}
    if origin.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(origin) as archive:
                out: dict[str, bytes | Path] = {}
                for info in archive.infolist():
                    path = PurePosixPath(info.filename)
                    if info.is_dir() or path.is_absolute() or ".." in path.parts or _skipped(path.parts):
                        continue
                    if path.suffix == ".ipynb" or path.name == "timestamp.txt":
                        if info.file_size > MAX_NOTEBOOK_BYTES:
                            continue
                        out[str(path)] = archive.read(info)
                return out
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as error:
            return f"{origin.name} is not a readable zip file ({error})"
    if origin.suffix == ".ipynb":
        return {origin.name: origin}
    return f"{origin.name} is neither a notebook nor a zip nor a folder"


def _read(item: bytes | Path) -> bytes:
    return item if isinstance(item, bytes) else item.read_bytes()


def grade_ids(nb_text: bytes | str) -> set[str]:
    """The nbgrader ``grade_id`` of every cell in a notebook's JSON (empty if it is not one)."""
    try:
        data = json.loads(nb_text)
        return {c["metadata"]["nbgrader"]["grade_id"] for c in data.get("cells", [])
                if isinstance(c, dict) and "grade_id" in c.get("metadata", {}).get("nbgrader", {})}
    except (ValueError, TypeError, AttributeError, KeyError):
        return set()


def _choose(lab: str, items: dict[str, bytes | Path], lab_ids: set[str]) -> tuple[str | None, list[str]]:
    """The relative path of the notebook to grade, and report notes."""
    notebooks = sorted(k for k in items if k.endswith(".ipynb"))
    notes: list[str] = []
    exact = [k for k in notebooks if PurePosixPath(k).name == f"{lab}.ipynb"]
    if exact:
        exact.sort(key=lambda k: (PurePosixPath(k).parent.name != lab, len(PurePosixPath(k).parts), k))
        if len(exact) > 1:
            notes.append(f"{len(exact)} copies of {lab}.ipynb; graded {exact[0]}")
        return exact[0], notes
    others = [k for k in notebooks if _OTHER_LAB.match(PurePosixPath(k).name)
              or any(_OTHER_LAB.match(p) and p != lab for p in PurePosixPath(k).parts[:-1])]
    rest = [k for k in notebooks if k not in others]
    if not rest:
        return None, notes
    if len(rest) > 1:
        rest.sort(key=lambda k: (-len(grade_ids(_read(items[k])) & lab_ids), k))
        notes.append(f"{len(rest)} notebooks ({', '.join(rest)}); graded {rest[0]}, "
                     "which has the most of this lab's cells")
    notes.append(f"notebook {rest[0]!r} was renamed to {lab}.ipynb for grading")
    return rest[0], notes


def stage(sub: Submission, lab: str, submitted_dir: Path, lab_ids: set[str]) -> None:
    """Copy ``sub``'s notebook to ``submitted_dir/<student>/<lab>/<lab>.ipynb``, or set ``sub.problem``.

    ``lab_ids`` are the grade ids of the released lab (to choose among several notebooks).
    Any earlier staged copy for this student and lab is removed first, so re-running is safe.
    """
    dest = submitted_dir / sub.student / lab
    if dest.exists():
        shutil.rmtree(dest)
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
    data = _read(items[chosen])
    if len(data) > MAX_NOTEBOOK_BYTES:
        sub.problem = f"{chosen} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
        return
    try:
        nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # nbformat raises many kinds of errors for a broken file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        sub.problem = f"{chosen} is not a readable notebook ({first[:120]})"
        return
    dest.mkdir(parents=True)
    sub.notebook = dest / f"{lab}.ipynb"
    sub.notebook.write_bytes(data)
    stamp = str(PurePosixPath(chosen).parent / "timestamp.txt").removeprefix("./")
    if stamp in items:
        (dest / "timestamp.txt").write_bytes(_read(items[stamp]))

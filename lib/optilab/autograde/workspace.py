"""The grading workspace: where it is, what may be graded from where, one run per lab, backups.

The workspace is the folder that holds nbgrader's ``submitted/``, ``autograded/`` and
``feedback/`` folders and the gradebook (``grading/`` in the course folder unless ``--out``
moves it). Three rules keep an instructor's data safe:

- **Where submissions may come from** (:func:`grading_mode`): a folder outside the workspace
  is *copied in* (a learning-management system's export); the workspace's own ``submitted/``
  (what ``nbgrader collect`` wrote) is graded *in place* and never changed; any other overlap
  (the workspace itself, a folder inside it, or a folder that contains it) is refused, since
  grading writes there.
- **One run per workspace and lab** (:meth:`Workspace.lock`): an operating-system lock
  (``flock``) held for the whole run; a second run is refused with a message naming the first.
  The system releases the lock when the process that holds it ends, however it ends, so a
  crashed run leaves no stale lock behind.
- **A backup before every run** (:meth:`Workspace.backup`): a consistent copy of the gradebook
  made with SQLite's online backup API, in ``backups/``; nothing deletes old backups.

The workspace is private to the grader's user (folders 700, files 600): on a shared machine or
a JupyterHub, students must not read the gradebook or each other's submissions.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import getpass
import json
import os
import socket
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from optilab.autograde.course import gradebook_file, private_folder

__all__ = ["Workspace", "Busy", "grading_mode", "COPY", "IN_PLACE", "PRIVATE_UMASK"]

COPY = "copy"          # submissions copied in from a folder outside the workspace
IN_PLACE = "in place"  # the workspace's own submitted/ folder, graded where it is
PRIVATE_UMASK = 0o077  # folders 700, files 600


class Busy(RuntimeError):
    """Another grading run holds the workspace's lock for this lab."""


@dataclass(frozen=True)
class Workspace:
    """The folders of one grading workspace, as nbgrader's configuration places them."""

    root: Path
    submitted: Path
    autograded: Path
    feedback: Path
    gradebook: Path | None          # None when the gradebook is not an SQLite file

    @classmethod
    def of(cls, coursedir, root: Path) -> "Workspace":
        """The workspace of an nbgrader :class:`~nbgrader.coursedir.CourseDirectory`."""
        def folder(name: str) -> Path:
            return Path(coursedir.format_path(name, ".", ".")).resolve()
        db = gradebook_file(coursedir.db_url)
        return cls(Path(root).resolve(), folder(coursedir.submitted_directory),
                   folder(coursedir.autograded_directory), folder(coursedir.feedback_directory),
                   db.resolve() if db else None)

    @property
    def state(self) -> Path:
        """Locks and checksums of the course's tools (not nbgrader's)."""
        return self.root / ".optilab"

    @property
    def backups(self) -> Path:
        return self.root / "backups"

    @property
    def archive(self) -> Path:
        """Earlier copies of staged submissions that a newer upload replaced."""
        return self.root / "archive"

    def reports(self, lab: str) -> Path:
        return self.root / "reports" / lab

    def create(self) -> None:
        """Make the workspace's folders, private to this user; tighten an existing top folder to 700."""
        gradebook = [self.gradebook.parent] if self.gradebook is not None else []
        for folder in (self.root, self.state, self.submitted, self.autograded, self.feedback, *gradebook):
            private_folder(folder)
        with contextlib.suppress(OSError):  # a folder we do not own (a shared course) stays as it is
            self.root.chmod(0o700)

    @contextlib.contextmanager
    def lock(self, lab: str) -> Iterator[Path]:
        """Hold the lock of ``lab`` in this workspace for the duration; raise :class:`Busy` if taken."""
        import fcntl

        path = self.state / f"{lab}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise Busy(self._busy_message(lab, path)) from None
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "user": getpass.getuser(),
                      "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                      "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
            try:
                yield path
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the lock

    def _busy_message(self, lab: str, path: Path) -> str:
        try:
            holder = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            holder = {}
        who = (f"process {holder.get('pid', '?')} on {holder.get('host', '?')} "
               f"(user {holder.get('user', '?')}, started {holder.get('started', '?')}: "
               f"{holder.get('command', '?')})") if holder else "another process"
        return (f"{lab} is already being graded in {self.root} by {who}. Two runs of one lab at once "
                "would give wrong grades, so this one did not start; nothing was changed. Wait for that "
                "run to finish and start again. The lock is the operating system's and ends with the "
                f"process that holds it: if that process is stuck, stop it (kill {holder.get('pid', 'PID')}) "
                "and run again; no file needs deleting.")

    def backup(self, lab: str) -> Path | None:
        """Copy the gradebook to ``backups/gradebook-<time>-<lab>.db`` (SQLite's backup API); its path.

        None when there is no gradebook yet. The copy is consistent even while formgrader or
        another lab's run writes to the gradebook.
        """
        if self.gradebook is None or not self.gradebook.is_file():
            return None
        old = os.umask(PRIVATE_UMASK)
        try:
            self.backups.mkdir(parents=True, exist_ok=True)
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
            target = self.backups / f"gradebook-{stamp}-{lab}.db"
            source = sqlite3.connect(f"file:{self.gradebook}?mode=ro", uri=True)
            try:
                copy = sqlite3.connect(target)
                try:
                    source.backup(copy)
                finally:
                    copy.close()
            finally:
                source.close()
        finally:
            os.umask(old)
        return target


def _contains(outer: Path, inner: Path) -> bool:
    return outer == inner or outer in inner.parents


def grading_mode(submissions: Path, workspace: Workspace) -> str:
    """:data:`COPY` or :data:`IN_PLACE` for grading ``submissions`` in ``workspace``; ValueError if neither.

    ``submissions`` must already exist (resolved, symbolic links followed).
    """
    submissions = Path(submissions).resolve()
    if submissions == workspace.submitted:
        return IN_PLACE
    ws = workspace.root
    if _contains(ws, submissions) or _contains(submissions, ws) or _contains(submissions, workspace.submitted):
        where = ("the grading workspace itself" if submissions == ws else
                 "inside the grading workspace" if _contains(ws, submissions) else
                 "a folder that holds the grading workspace")
        raise ValueError(
            f"{submissions} is {where} ({ws}), which grading writes to, so it was not graded and "
            "nothing was changed. To grade what `nbgrader collect` put in the workspace, give its "
            f"submitted folder: {workspace.submitted}. To grade an export from a learning-management "
            "system, put the export in a folder outside the workspace and give that folder.")
    return COPY

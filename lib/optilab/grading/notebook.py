r"""A student's notebook as the grader sees it: a namespace in another process, read as plain data.

The grading process never runs a student's code. :class:`StudentNotebook` starts the student's
process (:mod:`optilab.grading.student_notebook`), sends it the code of the
notebook's cells — the lab's own cells and the student's answers, in order, not the test
cells — which it runs as a kernel would (a failing cell stops there, the next one runs; each
cell is interrupted after the cell time limit), and then asks it plain-data questions:

- :meth:`StudentNotebook.call`: call a function of the notebook with plain arguments (arrays,
  numbers, strings, None, lists, tuples, dicts of those), or with :class:`Ref` (another name of
  the notebook, e.g. the student's own rule), :class:`Reference` (``optilab.RULES[name]`` in
  the student's process) and :class:`Library` (a library object built there, such as a
  problem); the result comes back as plain values; ``listed=True`` asks for the items of a
  generator or iterator.
- :meth:`StudentNotebook.get`: a variable's plain value, or a key or attribute inside it.
- :meth:`StudentNotebook.rule`: a :class:`~optilab.grading.proxy.StudentRule` for a rule of
  the notebook, so that the hidden suites judge it exactly as ``python -m optilab check`` does.

It is the same wire as ``python -m optilab check`` (``.npy`` without pickle, type-tagged JSON):
what comes back is decoded strictly, and a value that cannot travel (a function, a generator
not asked to be listed, an object of the student's) arrives as an :class:`Opaque` that only
names its type. An exception raised by the student's code arrives as an exception of the same
type's name and message (:class:`~optilab.grading.replies.StudentError`).

Limits: each request has a deadline (:meth:`StudentNotebook.limit`); a request that misses it
kills the process, and every later request fails with :class:`ProcessGone` saying why, so the
cells that need the process after it fail with that message. The process's address space is
limited (``RLIMIT_AS``) and so is the size of files it writes.

:func:`notebook_command` is the one place that says how the student's process is started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from optilab import isolate
from optilab.grading import process as processes
from optilab.grading import proxy, replies
from optilab.grading import wire

__all__ = ["StudentNotebook", "Ref", "Reference", "Library", "Opaque", "ProcessGone", "notebook_command"]


def notebook_command(folder: Path, *, memory: int) -> list[str]:
    """The command that starts the student's process for the notebook in ``folder``.

    It is started with ``folder`` as its working directory (as nbgrader's kernel is: the
    submission's autograded copy), speaks the wire on its stdin and stdout, and what the
    student's code prints goes to its stderr. It sets its own limits (``memory``: address space
    in bytes, file size, no core dumps) before it runs any cell. This is the one place to wrap
    it in a sandbox.
    """
    del folder  # the working directory is set by whoever starts it; a sandbox needs to know it
    return [sys.executable, "-P", str(processes.STUDENT_SCRIPT), "notebook", str(int(memory))]


def _sandboxed(folder: Path, *, memory: int, seconds: float, served: tuple[str, ...] = ()) -> list[str]:
    """:func:`notebook_command` inside bubblewrap (:func:`optilab.isolate.command`).

    The process sees the submission's folder read-only, through a copy in memory that it may
    change (256 MB at most), as the sandboxed kernel does; nothing else of the grading machine's
    files but the system, the Python environment and the course library — without the code of
    the reference rules ``served`` nor the grader's (:func:`~optilab.grading.process.library_view`).
    """
    limits = isolate.Limits(memory=memory, cpu_seconds=int(seconds) + 5, disk=256 * 2**20)
    return isolate.command(notebook_command(folder, memory=memory), workdir=folder, limits=limits,
                           hide=processes.library_view(served))


class NotStarted(Exception):
    """The student's process ended, or sent nothing, before it said it had started: before any of
    the notebook's code ran. A failure of the grading machine (a sandbox that could not be set up,
    no processes left), never a verdict on the submission."""


class ProcessGone(BaseException):
    """The student's process is gone (out of time, ended, or sent something unreadable): the
    request and every later one fail; ``cause`` says why in the student's terms."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class Ref:
    """An argument that is the notebook's own object of that name (e.g. the student's rule)."""

    def __init__(self, name: str):
        self.name = name


class Reference:
    """An argument that is ``optilab.RULES[name]`` in the student's process."""

    def __init__(self, name: str):
        self.name = name


class Library:
    """An argument that is a library object built in the student's process, e.g.
    ``Library("problems.quadratic", eigenvalues=(1.0, 50.0))`` (see ``student_notebook.LIBRARY``)."""

    def __init__(self, name: str, *args: Any, **kwargs: Any):
        self.name, self.args, self.kwargs = name, args, kwargs


class Opaque:
    """A value that could not travel as plain data: only the name of its type is known."""

    def __init__(self, type_name: str, length: int | None = None):
        self.type_name, self.length = type_name, length

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError(f"object of type {self.type_name!r} has no len()")
        return self.length


def _decoded(value: Any) -> Any:
    """Replace the ``"other"`` descriptions inside a decoded value by :class:`Opaque`."""
    if wire.is_other(value):
        name = replies.clean_name(value.get("type"), "object")
        return None if name == "NoneType" else Opaque(name, value.get("len"))
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_decoded(v) for v in value)
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()}
    return value


def _encode_argument(x: Any, blobs: list[bytes]) -> dict:
    if isinstance(x, Ref):
        return {"t": "ref", "name": x.name}
    if isinstance(x, Reference):
        return {"t": "rule", "name": x.name}
    if isinstance(x, Library):
        return {"t": "lib", "name": x.name, "args": [wire.encode_plain(a, blobs) for a in x.args],
                "kwargs": {k: wire.encode_plain(v, blobs) for k, v in x.kwargs.items()}}
    desc = wire.encode_plain(x, blobs)
    if _has_other(desc):
        raise TypeError(f"the grader cannot send a {type(x).__name__} to the student's process")
    return desc


def _has_other(desc: Any) -> bool:
    if isinstance(desc, dict):
        if desc.get("t") == "other":
            return True
        return any(_has_other(v) for v in desc.values() if isinstance(v, (dict, list)))
    if isinstance(desc, list):
        return any(_has_other(v) for v in desc)
    return False


class _NotebookRule(proxy.StudentRule):
    """A rule of the notebook, called as ``python -m optilab check`` calls a file's rule."""

    def __init__(self, notebook: "StudentNotebook", name: str, *, handle: int | None = None):
        # Not StudentRule.__init__: the process is the notebook's, already started and loaded.
        self.rule = name
        self.path = notebook.folder
        self.memory = notebook.memory
        self.output = notebook._output
        self.load_seconds = 0.0
        self.deadline = notebook.deadline
        self.expired = []
        self._limit = None
        self._notebook = notebook
        self._process = notebook._process
        self._ready = True
        self._seq = 0
        self._header_extra = {"name": name} if handle is None else {"handle": handle}

    def _deadline(self) -> float:
        own = super()._deadline()
        outer = self._notebook._limit
        return min(own, outer[0] if outer else time.monotonic() + self._notebook.cell_seconds)

    def start(self) -> None:  # a rule of a notebook cannot be loaded again by itself
        raise ProcessGone(self._notebook.gone or "your notebook's process has ended")

    def _stop(self) -> int:
        code = super()._stop()
        self._notebook._kill(None)
        return code

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._notebook.gone:
            raise ProcessGone(self._notebook.gone)
        self._process = self._notebook._process
        judging, self._notebook._judging = self._notebook._judging, self.rule
        try:
            return super().__call__(*args, **kwargs)
        except proxy.OutOfTime:
            self._notebook._kill(None)
            self._notebook.gone = self._notebook._out_of_time()
            raise ProcessGone(self._notebook.gone) from None
        except processes.StudentEnded as exc:
            self._notebook._kill(None)
            self._notebook.gone = exc.cause
            raise ProcessGone(exc.cause) from None
        except BaseException:
            if self._process is None:  # stopped on the way (an unreadable answer, a time limit)
                self._notebook._kill(None)
                self._notebook.gone = self._notebook.gone or "your notebook's process was stopped"
            raise
        finally:
            self._notebook._judging = judging


class StudentNotebook(proxy._TimeLimited):
    """The student's process holding a notebook's namespace (see the module's docstring).

    Use as a context manager, or call :meth:`close`. ``cells`` are ``(index, source)`` pairs.
    """

    def __init__(self, cells: list[tuple[int, str]], folder: str | os.PathLike, *, cell_seconds: float = 30.0,
                 memory: int = 3 * 2**30, command: list[str] | None = None, served: tuple[str, ...] = (),
                 guarded: dict[str, tuple[str, ...]] | None = None):
        self.folder = Path(folder).resolve()
        self.served = tuple(served)
        #: The library's own versions of the lab's answers (module -> function names): they run
        #: while the cells run, and refuse while the student's answers are judged.
        self.guarded = {str(m): [str(n) for n in names] for m, names in (guarded or {}).items()}
        #: The rule being judged now (its reference is then answered to nobody), or None.
        self._judging: str | None = None
        self.cells = [(int(i), s if isinstance(s, str) else "".join(s)) for i, s in cells]
        self.cell_seconds = float(cell_seconds)
        self.memory = int(memory)
        self.sandboxed = command is None and isolate.available()[0]
        if command is not None:
            self.command = command
        elif self.sandboxed:
            self.command = _sandboxed(self.folder, memory=self.memory, served=self.served,
                                      seconds=self.cell_seconds * (len(self.cells) + 1) + 10)
        else:
            self.command = notebook_command(self.folder, memory=self.memory)
        self.gone: str | None = None
        self.outcomes: dict[int, dict] = {}
        self._process: processes._Process | None = None
        self._seq = 0
        # What the student's code prints is not kept: nbgrader's kernel shows it in the feedback,
        # and a notebook that prints a lot must not reach the process's file size limit.
        self._output = subprocess.DEVNULL
        # no limit for the whole run: each request has its own deadline (see limit())
        self.deadline = float("inf")

    # -- the process
    def start(self) -> "StudentNotebook":
        """Start the process and run the cells in it; the outcome of each is in :attr:`outcomes`."""
        try:
            load = wire.pack({"op": "load", "seconds": self.cell_seconds, "served": list(self.served),
                              "guarded": self.guarded,
                              "cells": [{"index": i, "source": s} for i, s in self.cells]})
        except wire.WireError:
            self.gone = (f"your notebook's code is more than {wire.MAX_HEADER // 2**20} MB, more than the "
                         "grader accepts: keep data in files, not in cells")
            return self
        self._process = processes._Process(self.command, cwd=self.folder, output=self._output,
                                         sandboxed=self.sandboxed)
        self._process.answer_asks = self._answer
        load_deadline = time.monotonic() + self.cell_seconds * (len(self.cells) + 1) + 10
        try:  # nothing of the student's has run before "started"
            started, _ = self._process.receive(load_deadline)
        except (processes._Expired, processes._Closed, wire.WireError):
            started = {}
        if started.get("status") != "started":
            code = self._process.stop()
            self._process = None
            self.close()
            raise NotStarted("the grader could not start the process that runs the notebook "
                             f"(exit status {code}) before any of its code ran, a failure of the grading machine, "
                             "not of the notebook: run the grading again")
        try:
            self._process.send(load, load_deadline)
            hello, _ = self._process.receive(load_deadline)
        except processes._Expired:
            self._kill("your notebook did not finish running within the time limit "
                       f"({self.cell_seconds:g} s per cell)")
            return self
        except (processes._Closed, wire.WireError):
            code = self._process.ended(time.monotonic() + 1.0) if self._process else None
            self._kill(self._ended_cause(code) + " while its cells ran")
            return self
        except ProcessGone:  # while the grader checked a rule for optilab.check: it says why
            self._kill(None)
            return self
        if hello.get("status") != "ready" or not isinstance(hello.get("cells"), list):
            self._kill("your notebook's process sent something unreadable instead of running its cells")
            return self
        for outcome in hello["cells"]:
            if isinstance(outcome, dict) and type(outcome.get("index")) is int:
                self.outcomes[outcome["index"]] = outcome
        return self

    def _ended_cause(self, code: int | None) -> str:
        if code is None:
            return "your notebook's process stopped answering"
        return processes._ended(code).cause.replace("your code", "your notebook's code")

    def _out_of_time(self) -> str:
        seconds, what = (self._limit[1], self._limit[2]) if self._limit else (self.cell_seconds, "This")
        return (f"{what} did not finish within {seconds:g} s, so your notebook's process was "
                "stopped: is there a loop that never ends?")

    def _kill(self, cause: str | None) -> None:
        if self.gone is None and cause is not None:
            self.gone = cause
        if self._process is not None:
            self._process.stop()
            self._process = None

    def close(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self.sandboxed:  # a root grader handed the folder to the sandbox's user: take it back
            isolate.give_back(self.folder)

    # -- the questions the student's process asks (processes._Process.answer_asks)
    def _answer(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        """Answer a question of the student's process: ``rule`` (compute a served reference
        rule on plain inputs) or ``check`` (optilab.check of a function of the notebook)."""
        try:
            if header.get("ask") == "rule":
                return self._served_rule(header, blobs)
            if header.get("ask") == "check":
                return self._served_check(header)
            raise ValueError("the grader answers questions about rules and checks only")
        except (ProcessGone, processes._Expired, processes._Closed, wire.WireError):
            raise
        except Exception as exc:  # the student's inputs made the reference fail: their error
            return {"error": {"type": type(exc).__name__, "message": str(exc)[:400]}}, []

    def _served_rule(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        name = header.get("name")
        if name not in self.served:
            raise ImportError(f"the grader does not compute optilab's {str(name)[:40]} here")
        if self._judging is not None:
            raise ImportError(
                f"optilab.kernels.{name} is a reference rule, and reference rules are not available "
                f"while your {self._judging} is graded: compute the update yourself, from the formula in "
                "the lesson or CONTRACT.md.")
        import warnings

        import numpy as np

        from optilab import kernels
        kwargs = {str(k): wire.decode_plain(v, blobs) for k, v in dict(header.get("kwargs", {})).items()}
        steps = header.get("steps")
        if steps is None:  # one call
            calls = [header.get("args", [])]
        elif isinstance(steps, list) and len(steps) <= wire.MAX_ITEMS:  # the steps of several parameters
            calls = steps
        else:
            raise wire.WireError("a question's steps are not a list")
        values = []
        for call in calls:
            if not isinstance(call, list):
                raise wire.WireError("a step's inputs are not a list")
            args = [wire.decode_plain(a, blobs) for a in call]
            if any(wire.is_other(v) for v in [*args, *kwargs.values()]):
                raise TypeError(f"optilab's {name} takes arrays, numbers and a state dict of those")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                values.append(kernels.RULES[name](*args, **kwargs))
        answer_blobs: list[bytes] = []
        return {"value": wire.encode_plain(values if steps is not None else values[0], answer_blobs)}, answer_blobs

    def _served_check(self, header: dict) -> tuple[dict, list[bytes]]:
        import contextlib
        import io

        from optilab.contract import answers, visible
        rule, handle, group = header.get("rule"), header.get("handle"), header.get("group")
        if rule in answers.ANSWERS:  # a helper or a result: the lab's hidden tests judge it, from here
            return {"passed": True, "text": f"{rule}: judged by the hidden tests while the lab is graded"}, []
        if type(handle) is not int or not isinstance(rule, str) or not (group is None or isinstance(group, str)):
            raise ValueError("optilab.check(rule, func) needs the rule's name and a function")
        if self._judging is not None:
            raise ImportError(f"optilab.check is not available while your {self._judging} is graded")
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            result = visible.check(rule, _NotebookRule(self, rule, handle=handle), group=group, quiet=False)
        return {"passed": bool(result.passed), "text": text.getvalue().rstrip("\n")}, []

    def __enter__(self) -> "StudentNotebook":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- questions (time: proxy._TimeLimited.limit)
    def _ask(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        if self.gone:
            raise ProcessGone(self.gone)
        deadline = self._limit[0] if self._limit else time.monotonic() + self.cell_seconds
        self._seq += 1
        header = {**header, "seq": self._seq}
        process = self._process
        try:
            process.send(wire.pack(header, blobs), deadline)
            reply, reply_blobs = process.receive(deadline)
        except processes._Expired:
            self._kill(self._out_of_time())
            raise ProcessGone(self.gone) from None
        except processes._Closed:
            code = process.ended(time.monotonic() + 1.0)
            self._kill(self._ended_cause(code))
            raise ProcessGone(self.gone) from None
        except wire.WireError as exc:
            self._kill(f"your notebook's process sent an answer the grader cannot read ({exc})")
            raise ProcessGone(self.gone) from None
        if reply.get("seq") != self._seq:
            self._kill("your notebook's process answered out of turn; does your code write to the "
                       "process's channels?")
            raise ProcessGone(self.gone)
        if reply.get("too_large"):
            raise AssertionError(f"the value is larger than {wire.MAX_FRAME // 2**20} MB")
        if "error" in reply:
            raise replies.student_exception(reply["error"])
        return reply, reply_blobs

    def _value(self, reply: dict, blobs: list[bytes]) -> Any:
        try:
            return _decoded(wire.decode_plain(reply.get("value"), blobs))
        except wire.WireError as exc:
            self._kill(f"your notebook's process sent a value the grader cannot read ({exc})")
            raise ProcessGone(self.gone) from None

    def call(self, name: str, *args: Any, listed: bool = False, **kwargs: Any) -> Any:
        """``name(*args, **kwargs)`` in the student's process; its plain result (listed if asked).

        :attr:`last_mutated` then holds the positions of the array arguments it changed in place.
        """
        blobs: list[bytes] = []
        header = {"op": "apply", "name": name, "list": bool(listed),
                  "args": [_encode_argument(a, blobs) for a in args],
                  "kwargs": {k: _encode_argument(v, blobs) for k, v in kwargs.items()}}
        reply, reply_blobs = self._ask(header, blobs)
        mutated = reply.get("mutated")
        self.last_mutated = [i for i in mutated if type(i) is int] if isinstance(mutated, list) else []
        return self._value(reply, reply_blobs)

    def get(self, name: str, *path: Any) -> Any:
        """The plain value of the notebook's variable ``name``; each item of ``path`` is a key
        (``value[key]``) or, as ``".attr"``, an attribute."""
        blobs: list[bytes] = []
        steps = []
        for step in path:
            if isinstance(step, str) and step.startswith("."):
                steps.append({"attr": step[1:]})
            else:
                steps.append({"key": wire.encode_plain(step, blobs)})
        reply, reply_blobs = self._ask({"op": "get", "name": name, "path": steps}, blobs)
        return self._value(reply, reply_blobs)

    def rule(self, name: str) -> proxy.StudentRule:
        """The notebook's function ``name`` as a rule the hidden suites can judge."""
        return _NotebookRule(self, name)

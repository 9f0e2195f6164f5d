r"""The student's process, as the grader starts it and speaks to it.

:func:`_student_command` is the one place that says how the student's process of a file is
started (:mod:`optilab.grading.student_file`, by :mod:`optilab.grading.student_side`); :class:`_Process` reads and writes its
wire (:mod:`optilab.grading.wire`) with deadlines, answering the questions it asks on the
way; :func:`library_view` is what a sandbox for graded code shows of the course library.
Where bubblewrap works (:func:`optilab.isolate.available`), the process runs inside it
(:func:`optilab.isolate.command`): a read-only system, the Python environment and that view
of the library, and one folder of its own; no network, no other file of the student's or the
grader's.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO


from optilab.grading import wire

__all__ = ["StudentEnded", "library_view"]

#: The script of the student's processes, of a rule file and of a notebook (its first argument says which).
STUDENT_SCRIPT = Path(wire.__file__).resolve().with_name("student_side.py")
#: The files of the student's processes (the script and what it loads by path).
STUDENT_SIDE = ("student_file.py", "student_library.py", "student_notebook.py", "student_side.py", "wire.py")


class StudentEnded(BaseException):
    """The student's process ended (an exit, a crash) or cannot go on; ``cause`` says how in the
    student's terms, ``diagnosis`` is the id of the matching mistake. A BaseException, so that
    it ends the suite instead of failing one test."""

    def __init__(self, cause: str, diagnosis: str):
        super().__init__(cause)
        self.cause = cause
        self.diagnosis = diagnosis


# --------------------------------------------------------------------------- starting the process
def _student_command(rule: str, path: Path, *, memory: int) -> list[str]:
    """The command that starts the student's process for ``rule`` in the file ``path``.

    The process speaks the wire on its stdin and stdout; what the student's code prints goes
    to its stderr. It sets its own limits (``memory``: address space in bytes, file size,
    no core dumps) before it loads the file. ``-P``: the student's folder is not put ahead
    of the installed libraries on ``sys.path``.
    """
    return [sys.executable, "-P", str(STUDENT_SCRIPT), "file", rule, str(path), str(int(memory))]


def _environment() -> dict[str, str]:
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def _signal_name(code: int) -> str:
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    plain = {"SIGSEGV": "a segmentation fault", "SIGABRT": "an abort", "SIGBUS": "a bus error",
             "SIGKILL": "killed", "SIGFPE": "a floating-point exception", "SIGXFSZ": "a file too large"}
    return f"{plain.get(name, name)}, {name}" if name in plain else name


def _ended(returncode: int) -> StudentEnded:
    if returncode < 0:
        return StudentEnded(f"your code crashed the Python process ({_signal_name(returncode)})",
                            "crashed")
    return StudentEnded(f"your code ended the Python process (exit status {returncode})", "exited")


class _Expired(Exception):
    pass


class _Closed(Exception):
    pass


def _in_time(deadline: float) -> None:
    """_Expired once ``deadline`` has passed, even while the other side keeps the wire busy."""
    if time.monotonic() >= deadline:
        raise _Expired()


def _wait(fd: int, event: int, deadline: float) -> None:
    """Wait until ``fd`` is ready for ``event`` or ``deadline`` passes (then the caller's
    :func:`_in_time` says so)."""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, event)
        sel.select(max(0.0, deadline - time.monotonic()))


class _Process:
    """One student process and the two ends of its wire, read and written with deadlines."""

    def __init__(self, command: list[str], *, cwd: Path, output: BinaryIO, sandboxed: bool = False):
        self.sandboxed = sandboxed
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=output, cwd=str(cwd), env=_environment(),
                                     start_new_session=True)
        self.to_child = self.proc.stdin.fileno()
        self.from_child = self.proc.stdout.fileno()
        os.set_blocking(self.to_child, False)
        os.set_blocking(self.from_child, False)
        self._buffer = bytearray()
        #: Who answers the questions the process asks while the grader waits for a reply
        #: (``answer(header, blobs) -> (header, blobs)``); None: every question is refused.
        self.answer_asks: Any = None

    def send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            _in_time(deadline)
            try:  # the pipe has room almost always: wait only when it has none
                view = view[os.write(self.to_child, view):]
            except BlockingIOError:
                _wait(self.to_child, selectors.EVENT_WRITE, deadline)
            except (BrokenPipeError, ConnectionResetError):
                raise _Closed() from None

    def _fill(self, n: int, deadline: float) -> None:
        while len(self._buffer) < n:
            _in_time(deadline)
            try:  # read what is there; wait only when nothing is
                chunk = os.read(self.from_child, max(n - len(self._buffer), 65536))
            except BlockingIOError:
                _wait(self.from_child, selectors.EVENT_READ, deadline)
                continue
            if not chunk:
                raise _Closed()
            self._buffer += chunk

    def _take(self, n: int, deadline: float) -> bytes:
        self._fill(n, deadline)
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        """The next frame that is not a question of the process; raises _Expired, _Closed or
        :class:`~.wire.WireError`. Questions (frames marked ``ask``) are answered
        by :attr:`answer_asks` on the way, each before the process may go on."""
        while True:
            n = wire.frame_length(self._take(4, deadline))
            header, blobs = wire.read_frame_body(self._take(n, deadline))
            if "ask" not in header:
                return header, blobs
            if self.answer_asks is None:
                answer, answer_blobs = {"error": {"type": "ImportError", "message": (
                    "the grader answers no questions here")}}, []
            else:
                answer, answer_blobs = self.answer_asks(header, blobs)
            try:
                frame = wire.pack({**answer, "answer": True}, answer_blobs)
            except wire.WireError:
                frame = wire.pack({"answer": True, "error": {"type": "ValueError", "message": (
                    "the answer is larger than the wire carries")}})
            self.send(frame, deadline)

    def stop(self) -> int:
        """Kill the process and everything it started; its return code."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            self.proc.kill()
        code = self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        return self._code(code)

    def ended(self, deadline: float) -> int | None:
        """Wait until ``deadline`` for the process to end by itself; its return code or None."""
        try:
            return self._code(self.proc.wait(timeout=max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            return None

    def _code(self, code: int) -> int:
        """``code`` as Python reports a child's: bwrap reports a child killed by signal N as 128 + N."""
        return 128 - code if self.sandboxed and code > 128 else code


# --------------------------------------------------------------------------- the library it sees
#: Parts of the course library a sandbox for graded code shows empty: the grader (its suites),
#: the contract's checks (its mistakes, with every knob right, are the reference rules) and
#: the library's other computations with the rules (the lessons' experiments and explorers, the
#: rules' other forms).
_NOT_SHOWN = ("grading", "contract", "widgets", "experiments", "variants.py")


def library_view(hidden_rules: Iterable[str]) -> dict[str, str | None]:
    """``hide`` for :func:`optilab.isolate.command`: the course library without the code of the
    reference rules ``hidden_rules`` (``optilab/kernels.py`` shown with their bodies replaced by a
    ``raise ImportError``, and its compiled copies empty), nor the parts of :data:`_NOT_SHOWN`;
    the student's process itself stays."""
    import optilab

    root = Path(optilab.__file__).resolve().parent
    hide: dict[str, str | None] = {str(root / part): None for part in _NOT_SHOWN}
    for name in STUDENT_SIDE:  # the student's process itself
        shown = STUDENT_SCRIPT.with_name(name)
        hide[str(shown)] = str(shown)
    modules = _kernel_modules()
    for module in modules:
        hide[str(root / f"{module}.py")] = _stripped_kernels(tuple(sorted(set(hidden_rules))), module)
    for module in (*modules, "variants"):
        for compiled in (root / "__pycache__").glob(f"{module}.*.pyc"):
            hide[str(compiled)] = None
    return hide


def _kernel_modules() -> tuple[str, ...]:
    """The modules that hold the reference rules: ``kernels`` and the modules it imports rules from."""
    from optilab import kernels
    return tuple(dict.fromkeys(["kernels", *(f.__module__.rsplit(".", 1)[-1] for f in kernels.RULES.values())]))


def _all_rules() -> tuple[str, ...]:
    from optilab import kernels
    return tuple(kernels.RULES)


@functools.lru_cache(maxsize=None)
def _stripped_kernels(names: tuple[str, ...], module: str = "kernels") -> str:
    """A copy of ``optilab/<module>.py`` whose functions ``names`` only raise ImportError; its path
    (in a folder of this process's, removed when it exits). In a module beside ``kernels.py``
    that holds one of ``names``, its private helpers (``_newton_schulz``, ...) go too: they
    compute parts of those rules."""
    import ast
    import atexit

    import optilab

    tree = ast.parse((Path(optilab.__file__).resolve().parent / f"{module}.py").read_text(encoding="utf-8"))
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]

    def called(nodes: list) -> set[str]:
        return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}

    # a private helper goes when a hidden rule uses it and no rule that stays does
    kept = [node for node in functions if node.name not in names and not node.name.startswith("_")]
    helpers = (called([node for node in functions if node.name in names]) - called(kept)
               if module != "kernels" else set())
    for node in functions:
        if node.name in names or (node.name.startswith("_") and node.name in helpers):
            message = (f"optilab.kernels.{node.name} is a reference rule, and its code is not available "
                       "to code being graded: compute the update yourself, from the formula in the "
                       "lesson or CONTRACT.md.")
            node.body = ast.parse(f"raise ImportError({message!r})").body
    folder = tempfile.mkdtemp(prefix="optilab-library-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.chmod(folder, 0o755)  # the sandbox's user reads it
    path = Path(folder) / f"{module}.py"
    path.write_text(f"# optilab.{module} as code being graded sees it.\n" + ast.unparse(tree) + "\n",
                    encoding="utf-8")
    path.chmod(0o644)
    return str(path)



r"""Grade a rule written in a file without running the student's code in the grading process.

The process that decides the grade (this one) runs the hidden suite exactly as nbgrader's
cells do (:func:`optilab.grading.runner.run_tests`, then :func:`~optilab.grading.diagnose`),
but the rule it hands them is a :class:`StudentRule`: a callable whose every call sends the
inputs — ``param``, ``grad``, the ``state`` dict, the hyperparameters — as plain data to a
separate process that loaded the student's file (:mod:`optilab.grading.student_process`),
and gets back plain values: the new param, the new state, what became of the inputs, or the
description of an exception. Arrays travel in ``.npy`` format, read without pickle; numbers
as JSON. Every value that comes back is checked before the suite sees it, so nothing in the
student's file — patched modules, builtins, NumPy, ``sys.modules``, forged output — can
change how it is judged: it can only change the values its rule returns.

The student's process has limits: each test's time (the parent stops waiting and kills the
process, then starts a fresh one for the next test), the whole run's time, its address space
(``RLIMIT_AS``: a 10 GB allocation raises MemoryError), the size of files it writes and of
each reply. Whatever it does — loop for ever, call ``sys.exit`` or ``os._exit``, crash the
interpreter, garble the channel — the outcome is a grade: the tests that ran keep their
result, the test that was running fails with the cause, and a process that ended makes the
tests after it fail as not run.

:func:`_student_command` is the one place that says how the student's process is started.
Where bubblewrap works (:func:`optilab.isolate.available`), the process runs inside it
(:func:`optilab.isolate.command`) on a private copy of the file: it sees a read-only system, the
Python environment and the library, and one folder of its own; no network, no other file of
the student's or the grader's. Elsewhere (macOS, Windows, a container without user namespaces)
it runs unsandboxed, with the limits above, and the command says so once on stderr.

What the grader can and cannot see. Values are judged here, on the grader's own inputs, so
they are whatever the student's process computed. Two clauses of the contract are about
memory inside that process: "never changes its inputs in place" and "returns new arrays".
Their evidence is the process's own report of what became of the inputs and which returned
arrays are views of them, made by :mod:`~optilab.grading.student_process` after each call.
A file that rewrites that reporting code in its own process can hide its own in-place update
(and only that: the values are still checked); across processes such an update has no effect
on the caller, which only ever gets copies.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from optilab import isolate
from optilab.grading import wire
from optilab.grading.diagnose import Diagnosis, diagnose
from optilab.grading.mistakes import MISTAKES
from optilab.grading.properties import RuleFailure
from optilab.grading.runner import HiddenTest, TestResult, TimeLimit, load_suite, run_tests, score
from optilab.grading.spec import require_rule

__all__ = ["CannotGrade", "Outcome", "grade_file", "StudentRule", "StudentEnded", "OutOfTime"]

#: How many tests may run out of time before the others are not run at all.
MAX_TIMEOUTS = 2

_STUDENT_PROCESS = Path(wire.__file__).resolve().with_name("student_process.py")


class CannotGrade(Exception):
    """The file cannot be graded: no such file, a syntax error, no such function, unknown rule."""


class StudentEnded(BaseException):
    """The student's process ended (an exit, a crash) or cannot go on; ``cause`` says how in the
    student's terms, ``diagnosis`` is the id of the matching mistake. A BaseException, so that
    it ends the suite instead of failing one test."""

    def __init__(self, cause: str, diagnosis: str):
        super().__init__(cause)
        self.cause = cause
        self.diagnosis = diagnosis


class OutOfTime(BaseException):
    """The whole run's time limit passed."""


@dataclass
class Outcome:
    """A graded file: the tests' results, the diagnoses and the score."""

    rule: str
    results: list[TestResult]
    diagnoses: list[Diagnosis] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def score(self) -> tuple[int, int]:
        return score(self.rule, self.results)

    def as_dict(self) -> dict:
        """The ``--json`` object of CONTRACT.md."""
        points, total = self.score
        return {"rule": self.rule, "passed": self.passed, "score": points, "max_score": total,
                "tests": [r.as_dict() for r in self.results],
                "diagnoses": [d.as_dict() for d in self.diagnoses]}


# --------------------------------------------------------------------------- starting the process
def _student_command(rule: str, path: Path, *, memory: int) -> list[str]:
    """The command that starts the student's process for ``rule`` in the file ``path``.

    The process speaks the wire on its stdin and stdout; what the student's code prints goes
    to its stderr. It sets its own limits (``memory``: address space in bytes, file size,
    no core dumps) before it loads the file. ``-P``: the student's folder is not put ahead
    of the installed libraries on ``sys.path``.
    """
    return [sys.executable, "-P", str(_STUDENT_PROCESS), rule, str(path), str(int(memory))]


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


def _ready(sel: selectors.BaseSelector, deadline: float) -> bool:
    """Wait until ``sel``'s end of the wire is ready (True) or a spurious wake-up (False); _Expired at ``deadline``."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Expired()
    return bool(sel.select(remaining))


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
        with selectors.DefaultSelector() as sel:
            sel.register(self.to_child, selectors.EVENT_WRITE)
            while view:
                if not _ready(sel, deadline):
                    continue
                try:
                    view = view[os.write(self.to_child, view):]
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    raise _Closed() from None

    def _fill(self, n: int, deadline: float) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.from_child, selectors.EVENT_READ)
            while len(self._buffer) < n:
                if not _ready(sel, deadline):
                    continue
                try:
                    chunk = os.read(self.from_child, max(n - len(self._buffer), 65536))
                except BlockingIOError:
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
#: Parts of the course library a sandbox for graded code shows empty: the grader (its suites,
#: and its mistakes, whose versions with every knob right are the reference rules) and the
#: library's other implementations of the rules (the explorers', the rules' other forms).
_NOT_SHOWN = ("grading", "widgets", "variants.py")


def library_view(hidden_rules: Iterable[str]) -> dict[str, str | None]:
    """``hide`` for :func:`optilab.isolate.command`: the course library without the code of the
    reference rules ``hidden_rules`` (``optilab/kernels.py`` shown with their bodies replaced by a
    ``raise ImportError``, and its compiled copies empty), nor the parts of :data:`_NOT_SHOWN`;
    the student's process itself stays."""
    import optilab

    root = Path(optilab.__file__).resolve().parent
    hide: dict[str, str | None] = {str(root / part): None for part in _NOT_SHOWN}
    for shown in (_STUDENT_PROCESS, Path(wire.__file__).resolve()):  # the student's process and its wire
        hide[str(shown)] = str(shown)
    hide[str(root / "kernels.py")] = _stripped_kernels(tuple(sorted(set(hidden_rules))))
    for module in ("kernels", "variants"):
        for compiled in (root / "__pycache__").glob(f"{module}.*.pyc"):
            hide[str(compiled)] = None
    return hide


def _all_rules() -> tuple[str, ...]:
    from optilab import kernels
    return tuple(kernels.RULES)


@functools.lru_cache(maxsize=None)
def _stripped_kernels(names: tuple[str, ...]) -> str:
    """A copy of ``optilab/kernels.py`` whose functions ``names`` only raise ImportError; its path
    (in a folder of this process's, removed when it exits)."""
    import ast
    import atexit

    from optilab import kernels

    tree = ast.parse(Path(kernels.__file__).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            message = (f"optilab.kernels.{node.name} is a reference rule, and its code is not available "
                       "to code being graded: compute the update yourself, from the formula in the "
                       "lesson or CONTRACT.md.")
            node.body = ast.parse(f"raise ImportError({message!r})").body
    folder = tempfile.mkdtemp(prefix="optilab-library-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.chmod(folder, 0o755)  # the sandbox's user reads it
    path = Path(folder) / "kernels.py"
    path.write_text("# optilab.kernels as code being graded sees it.\n" + ast.unparse(tree) + "\n",
                    encoding="utf-8")
    path.chmod(0o644)
    return str(path)


# --------------------------------------------------------------------------- the proxy
class _StandIn:
    """What the suite sees for a returned object that cannot travel: only its type's name."""

    def __repr__(self) -> str:
        return f"<a {type(self).__name__}>"


_STAND_INS: dict[str, type] = {}
_ERRORS: dict[str, type] = {}


class StudentError(Exception):
    """An exception raised by the student's code, rebuilt from its description (its class has the
    name of the student's exception's class)."""


def _clean_name(name: Any, fallback: str) -> str:
    if not isinstance(name, str):
        return fallback
    name = re.sub(r"[^\w .\-]", "", name)[:80].strip()
    return name or fallback


def _stand_in(desc: dict) -> Any:
    name = _clean_name(desc.get("type"), "object")
    length = desc.get("len")
    if name == "NoneType":
        return None
    if name in ("tuple", "list") and isinstance(length, int) and length <= 64:
        return (tuple if name == "tuple" else list)([None] * length)
    if name not in _STAND_INS:
        _STAND_INS[name] = type(name, (_StandIn,), {})
    return _STAND_INS[name]()


def _error_class(name: str) -> type:
    name = name if re.fullmatch(r"[A-Za-z_]\w{0,79}", name) else "Exception"
    if name not in _ERRORS:
        _ERRORS[name] = type(name, (StudentError,), {"__module__": "submission"})
    return _ERRORS[name]


def _where(err: dict) -> str:
    line = err.get("line")
    if type(line) is not int:
        return ""
    code = err.get("code") if isinstance(err.get("code"), str) else ""
    return f"line {line}{': ' + code if code else ''}"


def _student_exception(err: Any) -> BaseException:
    """The exception to raise for the description of one the student's code raised."""
    if not isinstance(err, dict):
        return RuleFailure("your code's process sent an unreadable error report.")
    name = _clean_name(err.get("type"), "Exception")
    message = err.get("message") if isinstance(err.get("message"), str) else ""
    where = _where(err)
    text = f"{message} ({where})" if message and where else message or (f"({where})" if where else "")
    if name == "SystemExit":
        code = err.get("exit_code")
        return SystemExit(code if code is None or type(code) in (int, str) else str(code))
    if name == "MemoryError":
        return MemoryError(text)
    return _error_class(name)(text)


def _view_like(base: Any, alias: dict, expected: np.ndarray) -> np.ndarray | None:
    """A view of the grader's own ``base`` laid out as the student's returned view was on its
    input, if it holds exactly the values the student's process sent; else None."""
    if not isinstance(base, np.ndarray) or not base.flags.c_contiguous:
        return None
    try:
        offset, shape, strides = alias["offset"], tuple(alias["shape"]), tuple(alias["strides"])
        dtype = np.dtype(alias["dtype"])
        if dtype != expected.dtype or shape != expected.shape or dtype.hasobject:
            return None
        view = np.ndarray(shape, dtype=dtype, buffer=base, offset=offset, strides=strides)
    except (KeyError, TypeError, ValueError):
        return None
    if view.tobytes() != np.ascontiguousarray(expected).tobytes():
        return None
    return view


def _write_back(target: Any, value: Any) -> None:
    """Make the grader's input ``target`` hold ``value``, in place, as the student's rule did."""
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray) and \
            target.shape == value.shape and target.flags.writeable:
        np.copyto(target, value, casting="unsafe")


def _refill(state: dict, contents: dict, same: Any = ()) -> None:
    """Make the grader's ``state`` dict hold ``contents`` as the student's rule left its own:
    the keys in ``same`` kept their array object (changed in place), the others were assigned."""
    same = set(same) if isinstance(same, list) else set()
    for key in [k for k in state if k not in contents]:
        del state[key]
    for key, value in contents.items():
        old = state.get(key)
        if key in same and isinstance(old, np.ndarray) and isinstance(value, np.ndarray) and \
                old.shape == value.shape and old.dtype == value.dtype and old.flags.writeable:
            np.copyto(old, value)
        else:
            state[key] = value


class _TimeLimited:
    """A proxy whose requests answer within the limit of the innermost :meth:`limit` around them."""

    _limit: tuple[float, float, str] | None = None  # (deadline, seconds, what), set by limit()

    @contextlib.contextmanager
    def limit(self, seconds: float, what: str) -> Iterator[None]:
        """Requests inside must answer within ``seconds`` in all (``what`` names the work in the
        message of the one that does not)."""
        previous = self._limit
        self._limit = (time.monotonic() + seconds, seconds, what)
        try:
            yield
        finally:
            self._limit = previous


class StudentRule(_TimeLimited):
    """The student's rule as the grading process sees it: ``rule(param, grad, state, **hyper)``.

    Each call is a round trip to the student's process; nothing of the student's code runs
    here. The call behaves as the student's rule did on the same inputs: it returns the new
    param and state the rule returned, changes ``param``, ``grad`` and ``state`` in place if
    the rule changed them, and returns a view of an input where the rule returned one (so
    that the suite's checks of the contract's clauses see what the rule did), or raises an
    exception of the same type and message as the rule's. What cannot travel as plain data
    reaches the suite as a stand-in that only names its type (``"new_param is a list"``).

    Use :meth:`limit` to bound the time of the calls inside it.
    """

    #: More fields of each call's request (a notebook's process is told which function to call).
    _header_extra: dict = {}

    def __init__(self, rule: str, path: Path, *, memory: int, output: BinaryIO,
                 load_seconds: float, deadline: float, sandbox: Path | None = None):
        self.rule = rule
        self.path = path
        self.sandbox = sandbox  # a folder holding a copy of the file: run inside bubblewrap there
        self.memory = memory
        self.output = output
        self.load_seconds = load_seconds
        self.deadline = deadline  # the whole run's, time.monotonic()
        self.expired: list[str] = []
        self._process: _Process | None = None
        self._ready = False
        self._seq = 0

    # -- the process
    def start(self) -> None:
        """Start a student process (it loads the file while the grader goes on)."""
        if self.sandbox is None:
            command, cwd = _student_command(self.rule, self.path, memory=self.memory), self.path.parent
        else:
            inside = Path(isolate.WORKDIR) / self.path.name
            limits = isolate.Limits(memory=self.memory, processes=16,
                                    cpu_seconds=int(max(1.0, self.deadline - time.monotonic())) + 5)
            command = isolate.command(_student_command(self.rule, inside, memory=self.memory),
                                      workdir=self.sandbox, limits=limits,
                                      hide=library_view(_all_rules()))
            cwd = self.sandbox
        self._process = _Process(command, cwd=cwd, output=self.output, sandboxed=self.sandbox is not None)
        self._ready = False

    def close(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    def _stop(self) -> int:
        code = self._process.stop() if self._process is not None else 0
        self._process = None
        return code

    def hello(self, deadline: float | None = None) -> dict:
        """Wait for the process to load the file: ``{"status": "ready"}``, ``"load-failed"``
        with ``"error"``, or ``"no-function"`` with ``"defines"``.

        The time to load the file is ``load_seconds`` from the moment the process says it has
        started (Python and NumPy loaded), within the whole run's limit; or ``deadline``.
        Raises _Expired; StudentEnded if it ended while loading; CannotGrade if it never started.
        """
        process = self._process
        try:
            started, _ = process.receive(self.deadline if deadline is None else deadline)
        except _Closed:
            code = process.stop()
            self._process = None
            raise CannotGrade(self._did_not_start(code)) from None
        except wire.WireError:
            code = process.stop()
            self._process = None
            raise CannotGrade(self._did_not_start(code)) from None
        if started.get("status") != "started":
            self._stop()
            raise CannotGrade(self._did_not_start(None))
        if deadline is None:
            deadline = min(self.deadline, time.monotonic() + self.load_seconds)
        try:
            hello, _ = process.receive(deadline)
        except _Closed:
            code = process.ended(time.monotonic() + 1.0)
            self._stop()
            raise (_ended(code) if code is not None else
                   StudentEnded("your code closed the grader's channel to its process", "crashed")) from None
        except wire.WireError as exc:
            self._stop()
            raise StudentEnded(f"your code's process sent something unreadable ({exc}): did your "
                               "file write to the process's channel?", "crashed") from None
        status = hello.get("status")
        if status not in ("ready", "load-failed", "no-function"):
            self._stop()
            raise StudentEnded("your code's process sent something unreadable instead of saying "
                               "it had loaded your file", "crashed")
        self._ready = status == "ready"
        return hello

    def _did_not_start(self, code: int | None) -> str:
        with contextlib.suppress(OSError):
            self.output.flush()
        try:
            tail = Path(self.output.name).read_bytes()[-2000:].decode("utf-8", "replace").strip()
        except (OSError, AttributeError, TypeError):
            tail = ""
        last = tail.splitlines()[-1] if tail else f"exit status {code}"
        return (f"the grading process did not start ({last}); is NumPy installed in this Python "
                f"({sys.executable})?")

    # -- time
    def _deadline(self) -> float:
        return min(self.deadline, self._limit[0]) if self._limit else self.deadline

    def _expire(self) -> BaseException:
        self._stop()
        if self._limit is None or self.deadline <= self._limit[0]:
            return OutOfTime()
        _, seconds, what = self._limit
        self.expired.append(what)
        return TimeLimit(f"{what} did not finish within {seconds:g} s: is there a loop that never ends?")

    # -- a call
    def __call__(self, param: Any, grad: Any, state: dict, **hyper: Any) -> tuple[Any, Any]:
        deadline = self._deadline()
        if self._process is None:
            self.start()
        if not self._ready:
            try:
                hello = self.hello(deadline)
            except _Expired:
                raise self._expire() from None
            if hello.get("status") != "ready":
                self._stop()
                raise StudentEnded("your file failed when Python loaded it again", "load-failed")
        blobs: list[bytes] = []
        if not isinstance(state, dict):
            raise RuleFailure(f"the state to give your rule is a {type(state).__name__}, not a dict.")
        encoded_state = {}
        for key, value in state.items():
            desc = wire.encode_value(value, blobs)
            if not isinstance(key, str) or desc["t"] == "other":
                raise RuleFailure(f"the state to give your rule holds {key!r}: a "
                                  f"{type(value).__name__}; a state holds NumPy arrays and numbers.",
                                  kind="bad-return")
            encoded_state[key] = desc
        self._seq += 1
        header = {"op": "call", "seq": self._seq, "param": wire.encode_value(param, blobs),
                  "grad": wire.encode_value(grad, blobs), "state": encoded_state,
                  "hyper": {str(k): wire.encode_value(v, blobs) for k, v in hyper.items()},
                  **self._header_extra}
        process = self._process
        try:
            process.send(wire.pack(header, blobs), deadline)
            reply, reply_blobs = process.receive(deadline)
        except _Expired:
            raise self._expire() from None
        except _Closed:
            code = process.ended(deadline)
            self._stop()
            if code is None:
                raise StudentEnded("your code stopped answering (it closed its channel to the "
                                   "grader)", "crashed") from None
            raise _ended(code) from None
        except wire.WireError as exc:
            self._stop()
            raise RuleFailure(f"your code's process sent an answer the grader cannot read ({exc}); "
                              "does your code write to the process's standard output channel by "
                              "hand?") from None
        if reply.get("seq") != self._seq:
            self._stop()
            raise RuleFailure("your code's process answered out of turn (an answer the grader did "
                              "not ask for); does your code write to the process's channels?")
        try:
            return self._result(reply, reply_blobs, param, grad, state)
        except wire.WireError as exc:
            self._stop()
            raise RuleFailure(f"your code's process sent an answer the grader cannot read "
                              f"({exc}).") from None

    def _state_of(self, desc: Any, blobs: list[bytes]) -> Any:
        """The returned state: a dict of str -> array/number, or a stand-in that is not a dict."""
        if not isinstance(desc, dict) or desc.get("t") != "dict":
            value = wire.decode_value(desc, blobs)
            return _stand_in(value) if wire.is_other(value) else value
        items = desc.get("items")
        if not isinstance(items, list):
            raise wire.WireError("a state without its items")
        out: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise wire.WireError("a state item is not a pair")
            key, value_desc = item
            if key is None and isinstance(value_desc, dict) and value_desc.get("t") == "badkey":
                kind = _clean_name(value_desc.get("type"), "object")
                shown = value_desc.get("repr") if isinstance(value_desc.get("repr"), str) else "?"
                raise RuleFailure(f"your rule returned a state with the key {shown} (a {kind}); state "
                                  "keys are strings, such as 'm' or 't'.", kind="bad-return")
            if not isinstance(key, str):
                raise wire.WireError("a state key is not a string")
            value = wire.decode_value(value_desc, blobs)
            if wire.is_other(value):
                kind = _clean_name(value.get("type"), "object")
                raise RuleFailure(
                    f"your rule returned a state whose {key!r} is a {kind}; a state holds NumPy "
                    "arrays and numbers only (e.g. `{'m': m, 't': t}`), so that the next step "
                    "can start from it.", kind="bad-return")
            out[key] = value
        return out

    def _result(self, reply: dict, blobs: list[bytes], param: Any, grad: Any,
                state: dict) -> tuple[Any, Any]:
        if reply.get("too_large"):
            raise RuleFailure(f"your rule returned more than {wire.MAX_FRAME // 2**20} MB of data; "
                              "a step returns arrays of param's size.", kind="bad-return")
        if "error" in reply:
            raise _student_exception(reply["error"])
        inputs = {"param": param, "grad": grad}
        inputs.update({f"state:{k}": v for k, v in state.items() if isinstance(v, np.ndarray)})
        after = reply.get("after")
        if not isinstance(after, dict):
            raise wire.WireError("an answer without the inputs' fate")
        if "param" in after:
            _write_back(param, wire.decode_value(after["param"], blobs))
        if "grad" in after:
            _write_back(grad, wire.decode_value(after["grad"], blobs))
        if "state" in after:
            changed = self._state_or_stand_ins(after["state"], blobs)
            if isinstance(changed, dict):
                _refill(state, changed, after["state"].get("same"))
        out = reply.get("out")
        if not isinstance(out, dict):
            raise wire.WireError("an answer without a result")
        if out.get("t") != "pair":
            value = wire.decode_value(out, blobs)
            return _stand_in(value) if wire.is_other(value) else value
        new_param = wire.decode_value(out.get("param"), blobs)
        if wire.is_other(new_param):  # the suite says so before it looks at the state
            return _stand_in(new_param), {}
        new_state = self._state_of(out.get("state"), blobs)
        if out.get("same_state") is True and isinstance(new_state, dict):
            if "state" not in after:  # the very dict it was given, unchanged: the same arrays
                _refill(state, new_state, list(new_state))
            new_state = state  # the rule returned the very dict it was given
        aliases = reply.get("aliases") or []
        if not isinstance(aliases, list):
            raise wire.WireError("malformed aliases")
        for alias in aliases:
            if not isinstance(alias, dict) or alias.get("in") not in inputs:
                continue
            target = alias.get("out")
            if target == "param" and isinstance(new_param, np.ndarray):
                view = _view_like(inputs[alias["in"]], alias, new_param)
                if view is not None:
                    new_param = view
            elif isinstance(target, str) and target.startswith("state:") and \
                    isinstance(new_state, dict) and isinstance(new_state.get(target[6:]), np.ndarray):
                view = _view_like(inputs[alias["in"]], alias, new_state[target[6:]])
                if view is not None:
                    new_state[target[6:]] = view
        return new_param, new_state

    def _state_or_stand_ins(self, desc: Any, blobs: list[bytes]) -> Any:
        """A changed input state: values that cannot travel become stand-ins (the change shows)."""
        if not isinstance(desc, dict) or desc.get("t") != "dict" or not isinstance(desc.get("items"), list):
            return None
        out = {}
        for item in desc["items"]:
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str):
                value = wire.decode_value(item[1], blobs)
                out[item[0]] = _stand_in(value) if wire.is_other(value) else value
        return out


# --------------------------------------------------------------------------- grading a file
def _preflight(rule: str, path: Path) -> None:
    try:
        require_rule(rule)
    except ValueError as exc:
        raise CannotGrade(str(exc)) from None
    if not path.exists():
        raise CannotGrade(f"no such file: {path}")
    if not path.is_file():
        raise CannotGrade(f"{path} is not a file")
    try:
        source = path.read_bytes()
        compile(source, str(path), "exec", dont_inherit=True)  # compiles only: runs nothing
    except SyntaxError as exc:
        raise CannotGrade(f"{path.name} has a syntax error at line {exc.lineno}: {exc.msg}.") from None
    except (ValueError, OSError, RecursionError, MemoryError) as exc:
        raise CannotGrade(f"{path.name} cannot be read as Python: {type(exc).__name__}: {exc}") from None


def _load_failure(path: Path, hello: dict) -> str:
    err = hello.get("error") if isinstance(hello.get("error"), dict) else {}
    if _clean_name(err.get("type"), "") == "SystemExit":
        code = err.get("exit_code")
        code = code if code is None or type(code) in (int, str) else str(code)
        return f"{path.name} called sys.exit({code!r}) while Python loaded it"
    name = _clean_name(err.get("type"), "Exception")
    message = err.get("message") if isinstance(err.get("message"), str) else ""
    line = err.get("line")
    where = f" (line {line})" if type(line) is int else ""
    return f"{path.name} raised {name}{': ' + message if message else ''}{where} while Python loaded it"


def _no_function(rule: str, path: Path, hello: dict) -> str:
    names = hello.get("defines")
    names = [n for n in names if isinstance(n, str) and n.isidentifier()][:20] \
        if isinstance(names, list) else []
    has = f"it defines {', '.join(names)}" if names else "it defines no functions"
    return f"{path.name} has no function named {rule!r} ({has})."


def _all_failed(rule: str, tests: list[HiddenTest], cause: str, diagnosis: str) -> Outcome:
    results = [TestResult(t.name, t.group, False, f"not run: {cause}.", t.title) for t in tests]
    return Outcome(rule, results, [Diagnosis(diagnosis, MISTAKES[diagnosis].message)])


_noted: list[str] = []


def _note_unsandboxed(reason: str) -> None:
    """Say once on stderr that the student's code runs without bubblewrap here, and why."""
    if not _noted:
        _noted.append(reason)
        print(f"note: not sandboxed: {reason} The file still runs in a separate process with time and "
              "memory limits, but can read and write your files.", file=sys.stderr)


def grade_file(rule: str, file: str | os.PathLike, *, timeout: float = 30.0, per_test: float = 2.0,
               memory: int = 3 * 2**30) -> Outcome:
    """Run the hidden suite of ``rule`` on the function ``rule`` of ``file``, in another process.

    Parameters
    ----------
    rule : str
        The contract's rule (``"sgd"``, ..., ``"adamw"``); the file must define a function of
        that name.
    file : path
        The student's Python file.
    timeout : float
        Wall-clock limit for the whole run, in seconds.
    per_test : float
        Time limit of each test (and of loading the file: twice that), in seconds.
    memory : int
        Address-space limit of the student's process, in bytes.

    Raises
    ------
    CannotGrade
        Unknown rule, no such file, a syntax error, no function of that name.
    """
    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    path = Path(file).resolve()
    _preflight(rule, path)
    sandboxed, why_not = isolate.available()
    if not sandboxed:
        _note_unsandboxed(why_not)
    with tempfile.TemporaryDirectory(prefix="optilab-check-") as tmp, \
            open(Path(tmp) / "output.txt", "wb") as output:
        sandbox = None
        if sandboxed:  # a private copy of the file is the only folder it sees and may write
            sandbox = Path(tmp) / "submission"
            sandbox.mkdir()
            shutil.copyfile(path, sandbox / path.name)
        student = StudentRule(rule, path, memory=memory, output=output, load_seconds=2 * per_test,
                              deadline=deadline, sandbox=sandbox)
        student.start()  # it loads the file while this process loads the suite
        try:
            try:
                tests = load_suite(rule)
            except (FileNotFoundError, ValueError) as exc:
                raise CannotGrade(str(exc)) from None
            outcome = _grade(rule, path, tests, student, per_test, timeout)
        finally:
            student.close()
    outcome.seconds = time.perf_counter() - start
    return outcome


def _grade(rule: str, path: Path, tests: list[HiddenTest], student: StudentRule, per_test: float,
           timeout: float) -> Outcome:
    try:
        hello = student.hello()
    except _Expired:
        student.close()
        limit = (f"{timeout:g} s in all" if time.monotonic() >= student.deadline
                 else f"{student.load_seconds:g} s")
        return _all_failed(rule, tests, f"your file did not finish loading within the time limit "
                                        f"({limit}): look for a loop at its top level that never "
                                        "ends", "timeout")
    except StudentEnded as exc:
        return _all_failed(rule, tests, f"{exc.cause} while Python loaded your file", exc.diagnosis)
    if hello["status"] == "no-function":
        raise CannotGrade(_no_function(rule, path, hello))
    if hello["status"] == "load-failed":
        return _all_failed(rule, tests, _load_failure(path, hello), "load-failed")

    done: dict[str, TestResult] = {}
    running: list[str] = []

    def guard(test: HiddenTest):
        return student.limit(per_test, "This test")

    def skip(test: HiddenTest) -> str | None:
        if len(student.expired) >= MAX_TIMEOUTS:
            return (f"not run: {len(student.expired)} tests already ran out of time (is there a "
                    "loop that never ends?).")
        return None

    def on_result(result: TestResult) -> None:
        done[result.name] = result

    stopped: tuple[str, str] | None = None
    try:
        run_tests(rule, student, guard=guard, skip=skip, on_start=lambda t: running.append(t.name),
                  on_result=on_result)
    except StudentEnded as exc:
        stopped = (exc.cause, exc.diagnosis)
    except OutOfTime:
        stopped = (f"your code did not finish within the time limit ({timeout:g} s in all)", "timeout")

    diagnoses: list[Diagnosis] = []
    if stopped is None:
        if student.expired:  # running the rule again would only run out of time again
            diagnoses = [Diagnosis("timeout", MISTAKES["timeout"].message)]
        elif not all(r.passed for r in done.values()):
            try:
                with student.limit(2 * per_test, "Diagnosing"), np.errstate(all="ignore"):
                    diagnoses = diagnose(rule, student)
            except TimeLimit:
                diagnoses = []
            except StudentEnded as exc:
                diagnoses = [Diagnosis(exc.diagnosis, MISTAKES[exc.diagnosis].message)]
            except OutOfTime:
                diagnoses = [Diagnosis("timeout", MISTAKES["timeout"].message)]

    results = []
    current = running[-1] if running and running[-1] not in done else None
    for t in tests:
        if t.name in done:
            results.append(done[t.name])
        elif stopped and t.name == current:
            results.append(TestResult(t.name, t.group, False, f"{stopped[0]} during this test.", t.title))
        else:
            cause = stopped[0] if stopped else "the suite stopped"
            results.append(TestResult(t.name, t.group, False, f"not run: {cause}.", t.title))
    if stopped and stopped[1] not in {d.id for d in diagnoses}:
        diagnoses.insert(0, Diagnosis(stopped[1], MISTAKES[stopped[1]].message))
    return Outcome(rule, results, diagnoses)

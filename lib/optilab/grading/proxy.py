r"""A student's rule as the grader calls it: in another process, over a wire of plain data.

:class:`StudentRule` is a callable whose every call sends the inputs — ``param``, ``grad``,
the ``state`` dict, the hyperparameters — as plain data to the student's process
(:mod:`optilab.grading.process`) and gets back plain values: the new param, the new state,
what became of the inputs, or the description of an exception, which is raised here as an
exception of the same name (:mod:`.replies`). Every value that comes back is checked before the
suite sees it.

What the grader can and cannot see. Values are judged here, on the grader's own inputs, so
they are whatever the student's process computed. Two clauses of the contract are about
memory inside that process: "never changes its inputs in place" and "returns new arrays".
Their evidence is the process's own report of what became of the inputs and which returned
arrays are views of them, made by :mod:`~optilab.grading.student_side` after each call.
A file that rewrites that reporting code in its own process can hide its own in-place update
(and only that: the values are still checked); across processes such an update has no effect
on the caller, which only ever gets copies.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from optilab import isolate
from optilab.grading import wire
from optilab.contract.properties import RuleFailure
from optilab.grading.runner import TimeLimit
from optilab.grading.replies import clean_name, stand_in, student_exception

from optilab.grading.process import _Closed, _ended, _Expired, _Process, _student_command, library_view, _all_rules, StudentEnded

__all__ = ["StudentRule", "OutOfTime", "CannotGrade"]

class CannotGrade(Exception):
    """The file cannot be graded: no such file, a syntax error, no such function, unknown rule."""


class OutOfTime(BaseException):
    """The whole run's time limit passed."""


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
            return stand_in(value) if wire.is_other(value) else value
        items = desc.get("items")
        if not isinstance(items, list):
            raise wire.WireError("a state without its items")
        out: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise wire.WireError("a state item is not a pair")
            key, value_desc = item
            if key is None and isinstance(value_desc, dict) and value_desc.get("t") == "badkey":
                kind = clean_name(value_desc.get("type"), "object")
                shown = value_desc.get("repr") if isinstance(value_desc.get("repr"), str) else "?"
                raise RuleFailure(f"your rule returned a state with the key {shown} (a {kind}); state "
                                  "keys are strings, such as 'm' or 't'.", kind="bad-return")
            if not isinstance(key, str):
                raise wire.WireError("a state key is not a string")
            value = wire.decode_value(value_desc, blobs)
            if wire.is_other(value):
                kind = clean_name(value.get("type"), "object")
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
            raise student_exception(reply["error"])
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
            return stand_in(value) if wire.is_other(value) else value
        new_param = wire.decode_value(out.get("param"), blobs)
        if wire.is_other(new_param):  # the suite says so before it looks at the state
            return stand_in(new_param), {}
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
                out[item[0]] = stand_in(value) if wire.is_other(value) else value
        return out



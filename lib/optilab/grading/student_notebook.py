r"""The student's process of a notebook: where a notebook's cells run while it is graded.

The grader (:mod:`optilab.grading.notebook`) never runs a student's code. It starts a separate
process, whose script (:mod:`~optilab.grading.student_side`) loads this file by its path and
calls :func:`main`::

    python -P .../optilab/grading/student_side.py notebook MEMORY_BYTES

:func:`main` runs the cells it is sent (:func:`run_cells`, as a kernel would), then answers
plain-data questions about their namespace (:func:`serve_notebook`): call a function of the
notebook, get a value, or serve a call of one of the student's rules as the rule-file process
does (:func:`optilab.grading.student_side.serve_call`). There, the reference rules the lab
grades are the grader's (:mod:`~optilab.grading.student_library`): calling one asks the grader
over the same wire (:func:`ask_grader`), which answers except while it judges one of the
student's rules; and ``optilab.check`` asks the grader to check the function given, which it
does by calling it here.

This file imports nothing of optilab (so the grader's modules are not in the student's
process), only the standard library and :mod:`~optilab.grading.student_side`, the script that
loaded it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys
import traceback
from typing import Any


#: The student's side. In the student's process, the script that loaded this file, under the name its
#: :func:`~optilab.grading.student_side.sibling` gives it (nothing of the optilab package is imported there);
#: imported as a module of the package (its documentation, the tests), the package's own.
_side = sys.modules.get("optilab_student_student_side") or importlib.import_module("optilab.grading.student_side")
_library = _side.library
# The wire and the shared serving, bound once, before any of the student's code runs.
(WireError, pack, frame_length, read_frame_body, encode_plain, decode_plain, MAX_ITEMS, _type_name, _MAX_TEXT,
 _ndarray, _generic) = (
    _side.WireError, _side.pack, _side.frame_length, _side.read_frame_body, _side.encode_plain,
    _side.decode_plain, _side.MAX_ITEMS, _side._type_name, _side._MAX_TEXT, _side._ndarray, _side._generic)
(_text, _snapshot, _changed, _serve_call, _limit_resources, _read_exact, _write_all, _serve, _answer,
 _wire_ends) = (
    _side.text, _side.snapshot, _side.changed, _side.serve_call, _side.limit_resources, _side.read_exact,
    _side.write_all, _side.serve, _side.answer_request, _side.wire_ends)


# --------------------------------------------------------------------------- asking the grader
#: A notebook's process: the wire's two ends and the notebook's namespace (set by serve_notebook).
_GRADER: dict[str, Any] = {}
#: Objects a question to the grader names by number (the functions given to optilab.check).
_HANDLES: list[Any] = []
#: Exceptions the grader's answer may raise here, by name; any other is a RuntimeError.
_ANSWER_ERRORS = {"ImportError": ImportError, "TypeError": TypeError, "ValueError": ValueError,
                  "KeyError": KeyError, "ZeroDivisionError": ZeroDivisionError}


def ask_grader(header: dict, blobs: list[bytes] = ()) -> tuple[dict, list[bytes]]:
    """Ask the grader a question (in a notebook's process): ``header["ask"]`` names its kind
    (``"rule"``, ``"check"``); the answer ``(header, blobs)``. While the grader works on it, it may
    ask this process questions of its own (it judges a function given to ``optilab.check`` by
    calling it): they are answered here, in turn."""
    if not _GRADER:
        raise ImportError("this process has no grader to ask")
    with _Alarm.paused():
        _write_all(_GRADER["out"], pack(header, list(blobs)))
        while True:
            prefix = _read_exact(_GRADER["in"], 4)
            body = _read_exact(_GRADER["in"], frame_length(prefix)) if prefix is not None else None
            if body is None:  # the grader is gone: nothing is left to do
                os._exit(0)
            answer, answer_blobs = read_frame_body(body)
            if "answer" not in answer:
                _answer(answer, answer_blobs, _GRADER["out"], _GRADER["serve"])
                continue
            error = answer.get("error")
            if isinstance(error, dict):
                kind = _ANSWER_ERRORS.get(str(error.get("type")), RuntimeError)
                raise kind(str(error.get("message", ""))[:_MAX_TEXT])
            return answer, answer_blobs


STEPS_BYTES = 2**20  # the bytes of arrays one question of a served rule's ``steps`` sends at most (a frame: 16 MB)


def served_rule(name: str) -> Any:
    """The reference rule ``name`` as graded code gets it in a notebook's process: each call sends
    its plain inputs to the grader, which computes the update and sends it back, except while it
    judges one of the notebook's rules (then ImportError). ``steps([(param, grad, state), ...], **hyper)``
    asks for several parameters' steps at once, each computed as a call: :class:`optilab.Optimizer`'s way."""
    def ask(header: dict, blobs: list[bytes]) -> Any:
        answer, answer_blobs = ask_grader(header, blobs)
        return decode_plain(answer.get("value"), answer_blobs)

    def rule(*args: Any, **kwargs: Any) -> Any:
        blobs: list[bytes] = []  # filled by encode_plain
        return ask({"ask": "rule", "name": name, "args": [encode_plain(a, blobs) for a in args],
                    "kwargs": {str(k): encode_plain(v, blobs) for k, v in kwargs.items()}}, blobs)

    def steps(calls: Any, **kwargs: Any) -> list:
        calls, results = list(calls), []
        while calls:
            blobs: list[bytes] = []
            header, sent = {"ask": "rule", "name": name, "steps": [],
                            "kwargs": {str(k): encode_plain(v, blobs) for k, v in kwargs.items()}}, 0
            while calls and (not header["steps"] or sent + _nbytes(calls[0]) <= STEPS_BYTES):
                sent += _nbytes(calls[0])
                header["steps"].append([encode_plain(a, blobs) for a in calls.pop(0)])
            value = ask(header, blobs)
            if not isinstance(value, list) or len(value) != len(header["steps"]):
                raise WireError("the grader's answer to the steps is not one result per step")
            results += value
        return results

    rule.__name__ = rule.__qualname__ = name
    rule.__doc__ = (f"optilab's {name}, computed by the grader: its code is not in this process, "
                    "and it is not available while one of your rules is graded.")
    rule.steps = steps  # several parameters' steps in one question
    return rule


def _nbytes(call: Any) -> int:  # the bytes of a step's arrays: param, grad and its state's
    parts = [*call, *(v for part in call if isinstance(part, dict) for v in part.values())]
    return sum(int(part.nbytes) for part in parts if isinstance(part, (_ndarray, _generic)))


class ServedCheck:
    """What ``optilab.check`` gives in a notebook's process: the grader's own check of the rule."""

    def __init__(self, rule: str, passed: bool, text: str):
        self.rule, self.passed, self.text = rule, passed, text

    def __bool__(self) -> bool:
        return self.passed

    def report(self) -> str:
        return self.text

    def assert_passed(self) -> None:
        if not self.passed:
            raise AssertionError("\n" + self.text)

    def __repr__(self) -> str:
        return f"<check of {self.rule!r}: {'passed' if self.passed else 'not passed'}>"


def served_check(rule: str, func: Any, *, group: str | None = None, quiet: bool = False, **given: Any) -> ServedCheck:
    """``optilab.check`` in a notebook's process: the grader checks ``func`` by calling it here."""
    _HANDLES.append(func)
    answer, _ = ask_grader({"ask": "check", "rule": str(rule), "handle": len(_HANDLES) - 1,
                            "group": None if group is None else str(group)})
    text = answer.get("text") if isinstance(answer.get("text"), str) else ""
    if not quiet and text:
        print(text)
    return ServedCheck(str(rule), answer.get("passed") is True, text)


# --------------------------------------------------------------------------- a notebook's code
#: Filename given to the code of notebook cell ``i`` (tracebacks name the cell).
CELL_FILE = "<cell {}>"
#: Library objects the grader may ask for as arguments (built in this process, from names).
LIBRARY = {"problems.quadratic", "problems.rosenbrock"}


class _IPythonStub:
    """What ``get_ipython()`` gives here: there is no IPython shell, so magics, shell commands and
    anything else asked of it (input transformers, events, ...) do nothing."""

    def __call__(self, *args: Any, **kwargs: Any) -> "_IPythonStub":
        return self

    def __getattr__(self, name: str) -> "_IPythonStub":
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __iter__(self) -> Any:
        return iter(())

    def __bool__(self) -> bool:
        return False


def _cell_code(source: str) -> tuple[str, bool]:
    """The Python code of a cell's source (IPython's magics and ``!`` turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source, False
    try:
        code = TransformerManager().transform_cell(source)
    except Exception:
        return source, False
    return code, code != source


def _cell_exception(exc: BaseException) -> dict:
    """The plain description of an exception raised by a notebook cell's code."""
    out: dict[str, Any] = {"type": _type_name(exc)[:80], "message": _text(exc)}
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except BaseException:
        frames = []
    mine = [f for f in frames if str(f.filename).startswith("<cell ")]
    if mine:
        last = mine[-1]
        out["line"] = last.lineno
        out["code"] = (last.line or "").strip()[:_MAX_TEXT]
        out["file"] = str(last.filename)[:40]
    return out


class _Alarm:
    """Interrupt the code of one cell after ``seconds`` (KeyboardInterrupt, as a kernel's interrupt)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def _ring(self, signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"the cell ran longer than {self.seconds:g} s and was interrupted")

    def __enter__(self) -> "_Alarm":
        self.previous = None
        if self.seconds and hasattr(signal, "setitimer"):
            self.previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.seconds and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)
            except (TypeError, ValueError):
                signal.signal(signal.SIGALRM, signal.SIG_DFL)


    @staticmethod
    @contextlib.contextmanager
    def paused():
        """The running cell's limit waits while this process waits for the grader (:func:`ask_grader`),
        then goes on with what was left. The grader's time is not the cell's, and the limit must not
        ring between a question and its answer, which would stay on the wire and answer the grader's
        next request; the grader's own deadlines bound the wait and the calls it makes meanwhile."""
        left = signal.setitimer(signal.ITIMER_REAL, 0)[0] if hasattr(signal, "setitimer") else 0.0
        try:
            yield
        finally:
            if left:
                signal.setitimer(signal.ITIMER_REAL, left)


def run_cells(cells: list[dict], namespace: dict, seconds: float) -> list[dict]:
    """Run the cells' code in ``namespace``, in order, each interrupted after ``seconds``, as a
    kernel runs a notebook: a cell that fails stops there, and the next cell runs. The outcome of
    each: ``{"index", "ok"}`` and, for a failure, ``"error"``."""
    import linecache

    outcomes = []
    for cell in cells:
        index, source = cell.get("index"), cell.get("source")
        if type(index) is not int or not isinstance(source, str):
            raise WireError("a cell without its index or source")
        code, _ = _cell_code(source)
        name = CELL_FILE.format(index)
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        namespace.setdefault("get_ipython", _IPythonStub())  # as in a kernel, without a shell
        outcome: dict[str, Any] = {"index": index, "ok": True}
        try:
            with _Alarm(seconds):
                exec(compile(code, name, "exec", dont_inherit=True), namespace)
        except BaseException as exc:  # SyntaxError, an interrupt, SystemExit: that cell fails
            outcome = {"index": index, "ok": False, "error": _cell_exception(exc)}
        try:
            sys.stdout.flush()
        except BaseException:
            pass
        outcomes.append(outcome)
    return outcomes


def _argument(desc: Any, blobs: list[bytes], namespace: dict) -> Any:
    """An argument of a request: a plain value, or ``{"t": "ref", "name"}`` (a name of the
    notebook), ``{"t": "rule", "name"}`` (``optilab.RULES[name]``), ``{"t": "lib", "name", "args",
    "kwargs"}`` (one of :data:`LIBRARY`, built here)."""
    if isinstance(desc, dict) and desc.get("t") == "ref":
        name = desc.get("name")
        if not isinstance(name, str) or name not in namespace:
            raise NameError(f"name {name!r} is not defined")
        return namespace[name]
    if isinstance(desc, dict) and desc.get("t") == "rule":
        import optilab
        return optilab.RULES[str(desc.get("name"))]
    if isinstance(desc, dict) and desc.get("t") == "lib":
        name = desc.get("name")
        if name not in LIBRARY:
            raise WireError(f"no library object {name!r}")
        import importlib
        module, attr = name.rsplit(".", 1)
        maker = getattr(importlib.import_module(f"optilab.{module}"), attr)
        args = [decode_plain(a, blobs) for a in desc.get("args", [])]
        kwargs = {str(k): decode_plain(v, blobs) for k, v in desc.get("kwargs", {}).items()}
        return maker(*args, **kwargs)
    return decode_plain(desc, blobs)


def _lookup(namespace: dict, name: Any) -> Any:
    if not isinstance(name, str) or name not in namespace:
        raise NameError(f"name {name!r} is not defined")
    return namespace[name]


def _listed(value: Any) -> Any:
    """``value`` itself if it is plain already; the items of an iterator or other iterable."""
    if value is None or isinstance(value, (str, bytes, list, tuple, dict, _ndarray, _generic,
                                           bool, int, float)):
        return value
    if callable(getattr(value, "__iter__", None)):
        import itertools
        items = list(itertools.islice(iter(value), MAX_ITEMS + 1))
        if len(items) > MAX_ITEMS:
            raise WireError(f"it gave more than {MAX_ITEMS} items")
        return items
    return value


def _serve_notebook_request(header: dict, blobs: list[bytes], namespace: dict) -> tuple[dict, list[bytes]]:
    op = header.get("op")
    if op == "call":  # a rule, as python -m optilab check calls one (by its name or handle)
        handle = header.get("handle")
        try:
            if "handle" in header:
                if type(handle) is not int or not 0 <= handle < len(_HANDLES):
                    raise WireError("no such handle")
                func = _HANDLES[handle]
            else:
                func = _lookup(namespace, header.get("name"))
        except NameError as exc:
            return {"error": _cell_exception(exc)}, []
        except WireError as exc:
            return {"error": {"type": "WireError", "message": _text(exc)}}, []
        return _serve_call(func, header, blobs, CELL_FILE)
    reply_blobs: list[bytes] = []
    try:
        if op == "apply":
            func = _lookup(namespace, header.get("name"))
            args = [_argument(a, blobs, namespace) for a in header.get("args", [])]
            kwargs = {str(k): _argument(v, blobs, namespace) for k, v in header.get("kwargs", {}).items()}
            before = {i: _snapshot(a) for i, a in enumerate(args) if isinstance(a, _ndarray)}
            value = func(*args, **kwargs)
            if header.get("list"):
                value = _listed(value)
            mutated = [i for i, a in before.items() if _changed(a, args[i])]
        elif op == "get":
            value = _lookup(namespace, header.get("name"))
            for step in header.get("path", []):
                if isinstance(step, dict) and "attr" in step:
                    value = getattr(value, str(step["attr"]))
                elif isinstance(step, dict) and "key" in step:
                    value = value[decode_plain(step["key"], blobs)]
                else:
                    raise WireError("a malformed path")
            mutated = []
        else:
            raise WireError(f"unknown request {str(op)[:40]!r}")
        reply = {"value": encode_plain(value, reply_blobs), "mutated": mutated}
    except WireError as exc:
        return {"error": {"type": "WireError", "message": _text(exc)}}, []
    except BaseException as exc:
        return {"error": _cell_exception(exc)}, []
    return reply, reply_blobs


def serve_notebook(memory: int, wire_in: int, wire_out: int) -> int:
    """Run a notebook's cells (the first request), then serve plain-data requests about them."""
    _limit_resources(memory)
    _write_all(wire_out, pack({"status": "started"}))
    prefix = _read_exact(wire_in, 4)
    body = _read_exact(wire_in, frame_length(prefix)) if prefix is not None else None
    if body is None:
        return 0
    header, _ = read_frame_body(body)
    cells = header.get("cells")
    seconds = header.get("seconds")
    if header.get("op") != "load" or not isinstance(cells, list) or type(seconds) not in (int, float):
        raise WireError("the first request is not the notebook's cells")
    served = header.get("served", [])
    if not isinstance(served, list) or not all(isinstance(name, str) for name in served):
        raise WireError("the rules to serve are not a list of names")
    guarded = header.get("guarded", {})
    if not isinstance(guarded, dict) or not all(
            isinstance(m, str) and isinstance(names, list) and all(isinstance(n, str) for n in names)
            for m, names in guarded.items()):
        raise WireError("the library's answers to guard are not a dict of module names to function names")
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}

    def serve(header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        return _serve_notebook_request(header, blobs, namespace)
    _GRADER.update({"in": wire_in, "out": wire_out, "serve": serve})
    _library.serve_reference_rules(served, served_rule, served_check)
    _library.guard_answers(guarded)
    outcomes = run_cells(cells, namespace, float(seconds))
    _library.start_judging()  # from now on the grader only asks about the student's answers
    _write_all(wire_out, pack({"status": "ready", "cells": outcomes}))
    return _serve(wire_in, wire_out, serve)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit("usage: student_side.py notebook MEMORY_BYTES")
    wire_in, wire_out = _wire_ends()
    sys.path.insert(0, os.getcwd())  # the notebook's folder, as a kernel started there has it
    return serve_notebook(int(argv[0]), wire_in, wire_out)


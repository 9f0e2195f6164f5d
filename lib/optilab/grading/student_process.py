r"""The student's process: where a student's code runs while it is graded.

The grader (:mod:`optilab.grading.files`) never runs a student's code. It starts this file
as a script in a separate process::

    python -P .../optilab/grading/student_process.py RULE FILE MEMORY_BYTES

which loads ``FILE`` as a module named ``submission``, says whether it found the function
``RULE``, and then serves calls of that function, one request at a time, until its input
closes. Each request holds the call's inputs (``param``, ``grad``, the ``state`` dict, the
keyword hyperparameters); each reply holds what the rule returned, what became of the inputs
(a rule may change them in place, which the contract forbids and the grader must see), and
which returned arrays share memory with an input — or a description of the exception the
rule raised (its type's name, its message, the line of the student's file).

Everything it sends and reads is plain data (:mod:`optilab.grading.wire`).

With ``--notebook MEMORY_BYTES`` it is the student's process of a notebook instead
(:mod:`optilab.grading.notebook`): it runs the cells it is sent, then answers plain-data
questions about their namespace. There, the reference rules the lab grades are the grader's
(:mod:`~optilab.grading.student_library`): calling one asks the grader over the same wire
(:func:`ask_grader`), which answers except while it judges one of the student's rules; and
``optilab.check`` asks the grader to check the function given, which it does by calling it here.

This file imports nothing of optilab (so the grader's modules are not in the student's
process), only the standard library, NumPy and the wire, which it loads from its own folder.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import numpy as np

def _sibling(name: str) -> Any:
    """The module ``name`` of this file's folder, loaded by its path (this script imports nothing
    of optilab, whose package would bring the grader's modules into the student's process)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"optilab_student_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_wire = _sibling("wire")
_library = _sibling("student_library")
# The wire, and NumPy as it was when the wire loaded, before any of the student's code ran.
(WireError, pack, frame_length, read_frame_body, encode_value, decode_value, encode_plain, decode_plain,
 is_other, MAX_ITEMS, _type_name, _MAX_TEXT, _ndarray, _generic, _copy, _shares_memory, _contiguous) = (
    _wire.WireError, _wire.pack, _wire.frame_length, _wire.read_frame_body, _wire.encode_value,
    _wire.decode_value, _wire.encode_plain, _wire.decode_plain, _wire.is_other, _wire.MAX_ITEMS,
    _wire._type_name, _wire._MAX_TEXT, _wire._ndarray, _wire._generic, _wire._copy, _wire._shares_memory,
    _wire._contiguous)


# --------------------------------------------------------------------------- the student's side
def _text(x: Any) -> str:
    try:
        s = str(x)
    except BaseException:
        s = ""
    lines = s.strip().splitlines()
    return lines[0][:_MAX_TEXT] if lines else ""


def describe_exception(exc: BaseException, path: str) -> dict:
    """The plain description of an exception: type name, message, line of the student's code."""
    out: dict[str, Any] = {"type": _type_name(exc)[:80], "message": _text(exc)}
    if isinstance(exc, SystemExit):
        code = exc.code
        out["exit_code"] = code if code is None or type(code) in (int, str) else _text(code)
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except BaseException:
        frames = []
    here = os.path.abspath(__file__)
    folder = os.path.dirname(path)
    mine = [f for f in frames if os.path.abspath(f.filename) == path] or \
        [f for f in frames if os.path.dirname(os.path.abspath(f.filename)) == folder]
    if not mine:
        mine = [f for f in frames if os.path.abspath(f.filename) != here]
    if mine:
        last = mine[-1]
        out["line"] = last.lineno
        out["code"] = (last.line or "").strip()[:_MAX_TEXT]
        out["file"] = os.path.basename(last.filename)[:120]
    return out


def _snapshot(x: Any) -> Any:
    if isinstance(x, _ndarray):
        return _copy(x, copy=True)
    return x


def _changed(before: Any, after: Any) -> bool:
    if isinstance(before, _ndarray):
        if not isinstance(after, _ndarray) or before.shape != after.shape or \
                before.dtype != after.dtype:
            return True
        return before.tobytes() != _contiguous(after).tobytes()
    if type(before) is not type(after):
        return True
    return before != after and not (before != before and after != after)  # nan stays nan


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _encode_state(state: Any, blobs: list[bytes]) -> dict:
    if not isinstance(state, dict):
        return encode_value(state, blobs)
    items = []
    for key, value in list(state.items()):
        if type(key) is not str:
            items.append([None, {"t": "badkey", "type": _type_name(key)[:80],
                                 "repr": _text(repr(key))[:80]}])
        else:
            items.append([key, encode_value(value, blobs)])
    return {"t": "dict", "items": items}


def _hyperparameter(value: Any) -> Any:
    """A hyperparameter as the rule gets it: None (a default such as Adafactor's ``eps1=None``)
    travels as the description of a NoneType and is None again here."""
    return None if is_other(value) and value.get("type") == "NoneType" else value


def _serve_call(func: Any, header: dict, blobs: list[bytes], path: str) -> tuple[dict, list[bytes]]:
    param = decode_value(header["param"], blobs)
    grad = decode_value(header["grad"], blobs)
    state = {str(k): decode_value(v, blobs) for k, v in header["state"].items()}
    hyper = {str(k): _hyperparameter(decode_value(v, blobs)) for k, v in header["hyper"].items()}
    inputs = {"param": param, "grad": grad}
    inputs.update({f"state:{k}": v for k, v in state.items() if isinstance(v, _ndarray)})
    before_param, before_grad = _snapshot(param), _snapshot(grad)
    before_state = {k: _snapshot(v) for k, v in state.items()}
    state_given = state
    try:
        out = func(param, grad, state, **hyper)
    except BaseException as exc:
        return {"error": describe_exception(exc, path)}, []
    try:
        return _describe_call(out, param, grad, state, inputs, before_param, before_grad,
                              before_state, state_given)
    except BaseException as exc:  # what it returned misbehaves when looked at
        return {"error": describe_exception(exc, path)}, []


def _describe_call(out: Any, param: Any, grad: Any, state: dict, inputs: dict, before_param: Any,
                   before_grad: Any, before_state: dict, state_given: dict) -> tuple[dict, list[bytes]]:
    reply_blobs: list[bytes] = []
    reply: dict[str, Any] = {}
    if isinstance(out, (tuple, list)) and len(out) == 2:
        new_param, new_state = out[0], out[1]
        reply["out"] = {"t": "pair", "param": encode_value(new_param, reply_blobs),
                        "state": _encode_state(new_state, reply_blobs),
                        "same_state": new_state is state_given}
        outputs = {"param": new_param}
        if isinstance(new_state, dict):
            outputs.update({f"state:{k}": v for k, v in new_state.items()
                            if type(k) is str and isinstance(v, _ndarray)})
        aliases = []
        for out_name, o in outputs.items():
            if not isinstance(o, _ndarray) or o.size == 0:
                continue
            for in_name, a in inputs.items():
                if a.size and _shares_memory(o, a):
                    aliases.append({"out": out_name, "in": in_name, "offset": _address(o) - _address(a),
                                    "shape": list(o.shape), "strides": list(o.strides),
                                    "dtype": o.dtype.str})
                    break
        reply["aliases"] = aliases
    else:
        reply["out"] = encode_value(out, reply_blobs)
    after: dict[str, Any] = {}
    if _changed(before_param, param):
        after["param"] = encode_value(param, reply_blobs)
    if _changed(before_grad, grad):
        after["grad"] = encode_value(grad, reply_blobs)
    if set(before_state) != set(state) or any(_changed(before_state[k], state[k]) for k in state):
        after["state"] = _encode_state(state, reply_blobs)
        # the keys that still hold the very array they were given (changed in place, if at all)
        after["state"]["same"] = [k for k, v in state.items() if type(k) is str
                                  and isinstance(v, _ndarray) and inputs.get(f"state:{k}") is v]
    reply["after"] = after
    return reply, reply_blobs


def _limit_resources(memory: int) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: the grader's time limits still hold
        return
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_CORE, 0),
                         (resource.RLIMIT_FSIZE, 64 * 2**20)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 2**20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


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
    (``"rule"``, ``"check"``); the answer ``(header, blobs)``.

    While the grader works on it, it may ask this process questions of its own (it judges a
    function given to ``optilab.check`` by calling it): they are answered here, in turn.
    """
    if not _GRADER:
        raise ImportError("this process has no grader to ask")
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


def served_rule(name: str) -> Any:
    """The reference rule ``name`` as graded code gets it in a notebook's process: each call
    sends its plain inputs to the grader, which computes the update and sends it back, except
    while it is judging one of the notebook's rules (then the call raises ImportError)."""
    def rule(*args: Any, **kwargs: Any) -> Any:
        blobs: list[bytes] = []
        header = {"ask": "rule", "name": name, "args": [encode_plain(a, blobs) for a in args],
                  "kwargs": {str(k): encode_plain(v, blobs) for k, v in kwargs.items()}}
        answer, answer_blobs = ask_grader(header, blobs)
        return decode_plain(answer.get("value"), answer_blobs)
    rule.__name__ = rule.__qualname__ = name
    rule.__doc__ = (f"optilab's {name}, computed by the grader: its code is not in this process, "
                    "and it is not available while one of your rules is graded.")
    return rule


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




def _load(rule: str, path: str) -> tuple[Any, dict]:
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("submission", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # SystemExit, MemoryError, SyntaxError in an import, any error
        return None, {"status": "load-failed", "error": describe_exception(exc, path)}
    func = getattr(module, rule, None)
    if not callable(func):
        names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == "submission")
        return None, {"status": "no-function", "defines": [str(n)[:80] for n in names[:20]]}
    return func, {"status": "ready"}


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
        import signal
        self.previous = None
        if self.seconds and hasattr(signal, "setitimer"):
            self.previous = signal.signal(signal.SIGALRM, self._ring)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: Any) -> None:
        import signal
        if self.seconds and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
            try:
                signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)
            except (TypeError, ValueError):
                signal.signal(signal.SIGALRM, signal.SIG_DFL)


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


class _Missing(Exception):
    pass


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


def _serve(wire_in: int, wire_out: int, answer: Any) -> int:
    """Answer requests until the grader closes the wire: ``answer(header, blobs) -> (reply, blobs)``."""
    while True:
        prefix = _read_exact(wire_in, 4)
        if prefix is None:
            return 0
        body = _read_exact(wire_in, frame_length(prefix))
        if body is None:
            return 0
        header, blobs = read_frame_body(body)
        _answer(header, blobs, wire_out, answer)


def _answer(header: dict, blobs: list[bytes], wire_out: int, answer: Any) -> None:
    """Answer one request of the grader."""
    seq = header.get("seq")
    reply, reply_blobs = answer(header, blobs)
    reply["seq"] = seq
    try:
        frame = pack(reply, reply_blobs)
    except WireError:
        frame = pack({"seq": seq, "too_large": True})
    try:  # what the student's code printed, before its answer
        sys.stdout.flush()
    except BaseException:
        pass
    _write_all(wire_out, frame)


def _wire_ends() -> tuple[int, int]:
    """The wire is this process's stdin and stdout as started; the student's code gets an empty
    stdin, and its prints go where stderr goes (the grader keeps them apart from the wire)."""
    wire_in, wire_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(0, closefd=False)
    sys.dont_write_bytecode = True
    return wire_in, wire_out


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--notebook":
        wire_in, wire_out = _wire_ends()
        sys.path.insert(0, os.getcwd())  # the notebook's folder, as a kernel started there has it
        return serve_notebook(int(argv[1]), wire_in, wire_out)
    rule, file, memory = argv
    wire_in, wire_out = _wire_ends()
    path = os.path.abspath(file)
    sys.path.append(os.path.dirname(path))  # the student's own modules, never ahead of NumPy's
    _limit_resources(int(memory))
    _write_all(wire_out, pack({"status": "started"}))  # before any of the student's code runs
    _library.hide_reference_rules(rule)
    func, hello = _load(rule, path)
    _write_all(wire_out, pack(hello))
    if func is None:
        return 0

    def answer(header: dict, blobs: list) -> tuple[dict, list]:
        with np.errstate(all="ignore"):
            return _serve_call(func, header, blobs, path)
    return _serve(wire_in, wire_out, answer)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    try:
        sys.stdout.flush()
    finally:
        os._exit(code)  # skip the student's atexit handlers and lingering threads

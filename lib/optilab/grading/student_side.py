r"""The student's side of the wire, shared by the two student processes.

The grader never runs a student's code: it starts a process of the student's, either
:mod:`~optilab.grading.student_file` (a rule file, ``python -m optilab check``) or
:mod:`~optilab.grading.student_notebook` (a notebook's cells, nbgrader's grading). This file is
the script of both (:data:`PROCESSES`)::

    python -P .../optilab/grading/student_side.py file RULE FILE MEMORY_BYTES
    python -P .../optilab/grading/student_side.py notebook MEMORY_BYTES

It loads the module the first argument names by its path (:func:`sibling`) and runs its ``main``
with the other arguments. Both modules share from it:

- the process's set-up: its resource limits (:func:`limit_resources`), the wire's two ends
  apart from what the student's code reads and prints (:func:`wire_ends`), its end
  (:func:`finish`);
- the serving loop: read a request, answer it, until the grader closes the wire
  (:func:`serve`, :func:`answer_request`);
- one call of a rule, served and described (:func:`serve_call`): the call's inputs (``param``,
  ``grad``, the ``state`` dict, the keyword hyperparameters) decoded; the reply holds what the
  rule returned, what became of the inputs (a rule may change them in place, which the contract
  forbids and the grader must see), and which returned arrays share memory with an input — or a
  description of the exception the rule raised (:func:`describe_exception`: its type's name,
  its message, the line of the student's file).

Everything it sends and reads is plain data (:mod:`optilab.grading.wire`). This file imports
nothing of optilab (so the grader's modules are not in the student's process), only the
standard library, NumPy and the wire and the student's library (:mod:`~optilab.grading.student_library`),
which it loads from its own folder.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import numpy as np

#: The files of the student's processes: the two scripts and this one (the frames of a traceback
#: that are not the student's).
_OWN = frozenset(os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
                 for name in ("student_side.py", "student_file.py", "student_notebook.py"))


def sibling(name: str) -> Any:
    """The module ``name`` of this file's folder, loaded by its path, once (the student's
    processes import nothing of optilab, whose package would bring the grader's modules in)."""
    import importlib.util
    key = f"optilab_student_{name}"
    if key in sys.modules:
        return sys.modules[key]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(key, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wire = sibling("wire")
library = sibling("student_library")
# The wire, and NumPy as it was when the wire loaded, before any of the student's code ran.
(WireError, pack, frame_length, read_frame_body, encode_value, decode_value, encode_plain, decode_plain,
 is_other, MAX_ITEMS, _type_name, _MAX_TEXT, _ndarray, _generic, _copy, _shares_memory, _contiguous) = (
    wire.WireError, wire.pack, wire.frame_length, wire.read_frame_body, wire.encode_value,
    wire.decode_value, wire.encode_plain, wire.decode_plain, wire.is_other, wire.MAX_ITEMS,
    wire._type_name, wire._MAX_TEXT, wire._ndarray, wire._generic, wire._copy, wire._shares_memory,
    wire._contiguous)


# --------------------------------------------------------------------------- one call of a rule
def text(x: Any) -> str:
    try:
        s = str(x)
    except BaseException:
        s = ""
    lines = s.strip().splitlines()
    return lines[0][:_MAX_TEXT] if lines else ""


def describe_exception(exc: BaseException, path: str) -> dict:
    """The plain description of an exception: type name, message, line of the student's code."""
    out: dict[str, Any] = {"type": _type_name(exc)[:80], "message": text(exc)}
    if isinstance(exc, SystemExit):
        code = exc.code
        out["exit_code"] = code if code is None or type(code) in (int, str) else text(code)
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except BaseException:
        frames = []
    folder = os.path.dirname(path)
    mine = [f for f in frames if os.path.abspath(f.filename) == path] or \
        [f for f in frames if os.path.dirname(os.path.abspath(f.filename)) == folder]
    if not mine:
        mine = [f for f in frames if os.path.abspath(f.filename) not in _OWN]
    if mine:
        last = mine[-1]
        out["line"] = last.lineno
        out["code"] = (last.line or "").strip()[:_MAX_TEXT]
        out["file"] = os.path.basename(last.filename)[:120]
    return out


def snapshot(x: Any) -> Any:
    if isinstance(x, _ndarray):
        return _copy(x, copy=True)
    return x


def changed(before: Any, after: Any) -> bool:
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
                                 "repr": text(repr(key))[:80]}])
        else:
            items.append([key, encode_value(value, blobs)])
    return {"t": "dict", "items": items}


def _hyperparameter(value: Any) -> Any:
    """A hyperparameter as the rule gets it: None (a default such as Adafactor's ``eps1=None``)
    travels as the description of a NoneType and is None again here."""
    return None if is_other(value) and value.get("type") == "NoneType" else value


def serve_call(func: Any, header: dict, blobs: list[bytes], path: str) -> tuple[dict, list[bytes]]:
    param = decode_value(header["param"], blobs)
    grad = decode_value(header["grad"], blobs)
    state = {str(k): decode_value(v, blobs) for k, v in header["state"].items()}
    hyper = {str(k): _hyperparameter(decode_value(v, blobs)) for k, v in header["hyper"].items()}
    inputs = {"param": param, "grad": grad}
    inputs.update({f"state:{k}": v for k, v in state.items() if isinstance(v, _ndarray)})
    before_param, before_grad = snapshot(param), snapshot(grad)
    before_state = {k: snapshot(v) for k, v in state.items()}
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
    if changed(before_param, param):
        after["param"] = encode_value(param, reply_blobs)
    if changed(before_grad, grad):
        after["grad"] = encode_value(grad, reply_blobs)
    if set(before_state) != set(state) or any(changed(before_state[k], state[k]) for k in state):
        after["state"] = _encode_state(state, reply_blobs)
        # the keys that still hold the very array they were given (changed in place, if at all)
        after["state"]["same"] = [k for k, v in state.items() if type(k) is str
                                  and isinstance(v, _ndarray) and inputs.get(f"state:{k}") is v]
    reply["after"] = after
    return reply, reply_blobs


def limit_resources(memory: int) -> None:
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


def read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 2**20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# --------------------------------------------------------------------------- serving
def serve(wire_in: int, wire_out: int, answer: Any) -> int:
    """Answer requests until the grader closes the wire: ``answer(header, blobs) -> (reply, blobs)``."""
    while True:
        prefix = read_exact(wire_in, 4)
        if prefix is None:
            return 0
        body = read_exact(wire_in, frame_length(prefix))
        if body is None:
            return 0
        header, blobs = read_frame_body(body)
        answer_request(header, blobs, wire_out, answer)


def answer_request(header: dict, blobs: list[bytes], wire_out: int, answer: Any) -> None:
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
    write_all(wire_out, frame)


def wire_ends() -> tuple[int, int]:
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


def finish(code: int) -> None:
    """End the process with ``code`` once what was printed is out, skipping the student's atexit
    handlers and lingering threads."""
    try:
        sys.stdout.flush()
    finally:
        os._exit(code)


# --------------------------------------------------------------------------- the script
#: The student's two processes: the first argument of this script, and the module of this folder that runs it.
PROCESSES = {"file": "student_file", "notebook": "student_notebook"}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PROCESSES:
        raise SystemExit("usage: student_side.py {file,notebook} ARGUMENTS...")
    sys.modules["optilab_student_student_side"] = sys.modules[__name__]  # the name sibling() gives this file
    finish(sibling(PROCESSES[sys.argv[1]]).main(sys.argv[2:]))

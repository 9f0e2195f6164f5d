r"""The plain-data wire between the grader and a student's process.

Everything on the wire is plain data. A frame is a 4-byte big-endian length and a body; the
body is a JSON header (4-byte length, then UTF-8) followed by blobs (4-byte length each),
and every array is one blob in NumPy's ``.npy`` format, read back with
``allow_pickle=False``-strictness: a header the reader checks first, then exactly the bytes it
announces. Never a pickle, never code. Numbers travel as JSON, tagged with their Python type.

Both sides use this file: the grader imports it as :mod:`optilab.grading.wire`; the student's
processes (:mod:`optilab.grading.student_file`, :mod:`~optilab.grading.student_notebook`,
scripts that import nothing of optilab) load it from the same folder by its path. It imports only the standard library and NumPy,
and every reader validates what it reads as untrusted.
"""

from __future__ import annotations

import functools
import io
import json
import math
import struct
from typing import Any

import numpy as np

#: Largest frame either side accepts, in bytes (a reply for a 12-entry param is a few KB).
MAX_FRAME = 16 * 2**20
#: Largest JSON header of a frame, in bytes.
MAX_HEADER = 2**20
#: Array dtypes that may cross: bool, signed and unsigned integers, floats, complex.
ARRAY_KINDS = "biufc"

_LEN = struct.Struct(">I")
_MAX_TEXT = 400

# NumPy as it is when this file is loaded, before any of the student's code runs: a file that
# replaces numpy.shares_memory or numpy.ndarray changes its own computations, not how this
# process describes them.
_ndarray, _generic = np.ndarray, np.generic
_asarray, _copy, _contiguous, _shares_memory = np.asarray, np.array, np.ascontiguousarray, np.shares_memory
_write_array = np.lib.format.write_array
#: The .npy versions read, with the reader of their header and the size of its length field.
_HEADER_READERS = {(1, 0): (np.lib.format.read_array_header_1_0, 2),
                   (2, 0): (np.lib.format.read_array_header_2_0, 4),
                   (3, 0): (np.lib.format.read_array_header_2_0, 4)}


class WireError(ValueError):
    """A frame or a value that breaks the protocol (cut short, too large, malformed)."""


# --------------------------------------------------------------------------- frames
def pack(header: dict, blobs: list[bytes] = ()) -> bytes:
    """One frame: length, then the body (JSON header and blobs, each length-prefixed)."""
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if len(head) > MAX_HEADER:
        raise WireError(f"a frame's header of {len(head)} bytes is larger than the limit of {MAX_HEADER}")
    parts = [_LEN.pack(len(head)), head]
    for blob in blobs:
        parts += [_LEN.pack(len(blob)), blob]
    body = b"".join(parts)
    if len(body) > MAX_FRAME:
        raise WireError(f"a frame of {len(body)} bytes is larger than the limit of {MAX_FRAME}")
    return _LEN.pack(len(body)) + body


def frame_length(prefix: bytes) -> int:
    """The body length announced by a frame's 4-byte prefix; WireError above :data:`MAX_FRAME`."""
    (n,) = _LEN.unpack(prefix)
    if n > MAX_FRAME:
        raise WireError(f"a frame announced {n} bytes, more than the limit of {MAX_FRAME}")
    return n


def read_frame_body(body: bytes) -> tuple[dict, list[bytes]]:
    """The JSON header (a dict) and the blobs of a frame's body; WireError if malformed."""
    view = memoryview(body)
    pos = 0

    def take() -> bytes:
        nonlocal pos
        if pos + 4 > len(view):
            raise WireError("a frame is cut short")
        (n,) = _LEN.unpack(view[pos:pos + 4])
        pos += 4
        if pos + n > len(view):
            raise WireError("a frame is cut short")
        chunk = bytes(view[pos:pos + n])
        pos += n
        return chunk

    head = take()
    if len(head) > MAX_HEADER:
        raise WireError(f"a frame's header has {len(head)} bytes, more than {MAX_HEADER}")
    try:
        header = json.loads(head.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise WireError(f"a frame's header is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise WireError("a frame's header is not a JSON object")
    blobs = []
    while pos < len(view):
        blobs.append(take())
    return header, blobs


# --------------------------------------------------------------------------- arrays
def array_bytes(a: np.ndarray) -> bytes:
    """``a`` (a plain ndarray of a numeric dtype) in ``.npy`` format, in C order."""
    a = _asarray(a)
    if not a.flags.c_contiguous:
        a = _copy(a, order="C")
    key = (a.dtype.str, a.shape)
    header = _written_headers.get(key)
    if header is None:  # NumPy writes the header once per dtype and shape; the data follow it
        out = io.BytesIO()
        _write_array(out, a, allow_pickle=False)
        whole = out.getvalue()
        if len(_written_headers) < 256:
            _written_headers[key] = whole[:len(whole) - a.nbytes]
        return whole
    return header + a.tobytes()


#: (dtype, shape) -> the .npy header NumPy writes for a C-ordered array of them: a rule's steps
#: send arrays of the same few shapes thousands of times per notebook.
_written_headers: dict[tuple[str, tuple[int, ...]], bytes] = {}

_MAGIC = b"\x93NUMPY"


@functools.lru_cache(maxsize=256)
def _header(version: tuple[int, int], header: bytes) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran_order, dtype) of a .npy header (its length field and text), read by NumPy's own
    reader and checked: a numeric dtype and a valid shape. Cached by its bytes: a rule's steps
    send arrays of the same shape and dtype thousands of times per notebook, and reading the text
    (Python's ``ast``) costs more than the rest of a read. A header that does not parse or is
    refused raises, and is not kept."""
    try:
        shape, fortran, dtype = _HEADER_READERS[version][0](io.BytesIO(header))
    except Exception as exc:  # a malformed header: ValueError, SyntaxError, ...
        raise WireError(f"an array is not in .npy format ({type(exc).__name__})") from None
    dtype = np.dtype(dtype)
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None \
            or dtype.kind not in ARRAY_KINDS:
        raise WireError(f"an array has dtype {dtype}, not a numeric one")
    if not isinstance(shape, tuple) or len(shape) > 32 or \
            not all(type(n) is int and n >= 0 for n in shape):
        raise WireError(f"an array has an invalid shape {shape!r}")
    return shape, bool(fortran), dtype


def array_from_bytes(blob: bytes) -> np.ndarray:
    """The array of a ``.npy`` blob, strictly: a numeric dtype, and exactly the bytes announced.

    The header is read first and checked (dtype, shape, size) before any memory is set aside
    for the data, so a header that announces a terabyte costs nothing. Never unpickles.
    """
    if len(blob) < 8 or blob[:6] != _MAGIC:
        raise WireError("an array is not in .npy format (no .npy magic string)")
    version = (blob[6], blob[7])
    if version not in _HEADER_READERS:
        raise WireError(f"unknown .npy version {version}")
    size = _HEADER_READERS[version][1]
    length = int.from_bytes(blob[8:8 + size], "little")
    end = 8 + size + length
    if len(blob) < end:
        raise WireError("an array is not in .npy format (its header is cut short)")
    shape, fortran, dtype = _header(version, bytes(blob[8:end]))
    count = math.prod(shape)
    data = blob[end:]
    if count * dtype.itemsize != len(data):
        raise WireError(f"an array announces {count} entries of {dtype} but carries {len(data)} bytes")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


# --------------------------------------------------------------------------- values
def _type_name(x: Any) -> str:
    try:
        name = type(x).__name__
    except Exception:
        name = "object"
    return name if isinstance(name, str) else "object"


def encode_value(x: Any, blobs: list[bytes]) -> dict:
    """A JSON description of ``x``; arrays and NumPy scalars are appended to ``blobs``.

    NumPy arrays (of any subclass: their values only) and scalars of a numeric dtype, and
    Python bools, ints and floats, travel as themselves. Anything else travels as a
    description, ``{"t": "other", "type": ..., "len": ...}``, that the receiver reports.
    """
    if isinstance(x, _ndarray):
        if x.dtype.kind in ARRAY_KINDS and x.dtype.fields is None:
            blobs.append(array_bytes(_asarray(x)))
            return {"t": "array", "i": len(blobs) - 1}
        return {"t": "other", "type": f"array of dtype {x.dtype}"}
    if isinstance(x, _generic):
        if x.dtype.kind in ARRAY_KINDS and x.dtype.fields is None:
            blobs.append(array_bytes(_asarray(x)))
            return {"t": "scalar", "i": len(blobs) - 1}
        return {"t": "other", "type": _type_name(x)}
    if isinstance(x, bool):
        return {"t": "bool", "v": bool(x)}
    if isinstance(x, int):
        return {"t": "int", "v": int.__index__(x)}
    if isinstance(x, float):
        return {"t": "float", "v": float.__float__(x)}
    out = {"t": "other", "type": _type_name(x)[:80]}
    if x is None:
        out["type"] = "NoneType"
    elif isinstance(x, (tuple, list)):
        out["len"] = len(x)
    return out


def decode_value(desc: Any, blobs: list[bytes]) -> Any:
    """The value a description of :func:`encode_value` stands for.

    Returns an ndarray, a NumPy scalar, a bool, an int or a float; for ``"other"`` returns
    the description itself (a dict), which the receiver reports. WireError if malformed.
    """
    if not isinstance(desc, dict):
        raise WireError("a value is not described by a JSON object")
    kind = desc.get("t")
    if kind in ("array", "scalar"):
        i = desc.get("i")
        if type(i) is not int or not 0 <= i < len(blobs):
            raise WireError("a value refers to a missing array")
        a = array_from_bytes(blobs[i])
        if kind == "array":
            return a
        if a.ndim != 0:
            raise WireError("a NumPy scalar arrived with a shape")
        return a[()]
    v = desc.get("v")
    if kind == "bool" and type(v) is bool:
        return v
    if kind == "int" and type(v) is int:
        return v
    if kind == "float" and type(v) in (int, float):
        return float(v)
    if kind == "other":
        name = desc.get("type")
        length = desc.get("len")
        return {"t": "other", "type": name if isinstance(name, str) else "object",
                "len": length if type(length) is int and length >= 0 else None}
    raise WireError(f"a value has an unknown description {str(kind)[:40]!r}")


def is_other(value: Any) -> bool:
    """Is this a decoded ``"other"`` description (a value that could not travel)?"""
    return isinstance(value, dict) and value.get("t") == "other"


# --------------------------------------------------------------------------- plain values
#: Limits of one plain value: nesting depth, items in all, characters of one string.
MAX_DEPTH = 24
MAX_ITEMS = 200_000
MAX_STR = 100_000


class _Budget:
    def __init__(self, items: int = MAX_ITEMS):
        self.items = items

    def take(self, n: int = 1) -> None:
        self.items -= n
        if self.items < 0:
            raise WireError(f"a value holds more than {MAX_ITEMS} items")


def encode_plain(x: Any, blobs: list[bytes], *, _depth: int = 0, _budget: _Budget | None = None) -> dict:
    """A JSON description of a plain value: what :func:`encode_value` sends, and also None,
    strings, lists, tuples and dicts of plain values (dict keys: numbers, strings, None, tuples
    of those). Anything else travels as ``{"t": "other", "type": ..., "len": ...}``.

    Raises WireError for a value nested deeper than :data:`MAX_DEPTH` or with more than
    :data:`MAX_ITEMS` items.
    """
    budget = _Budget() if _budget is None else _budget
    budget.take()
    if _depth > MAX_DEPTH:
        raise WireError(f"a value is nested more than {MAX_DEPTH} levels deep")
    if x is None:
        return {"t": "none"}
    if isinstance(x, str):
        text = str.__str__(x)
        if len(text) > MAX_STR:
            raise WireError(f"a string of {len(text)} characters is longer than {MAX_STR}")
        return {"t": "str", "v": text}
    if isinstance(x, (list, tuple)) and not isinstance(x, _ndarray):
        items = list.__iter__(x) if isinstance(x, list) else tuple.__iter__(x)
        items = list(items)
        budget.take(len(items))
        return {"t": "list" if isinstance(x, list) else "tuple",
                "items": [encode_plain(i, blobs, _depth=_depth + 1, _budget=budget) for i in items]}
    if isinstance(x, dict):
        pairs = list(dict.items(x))
        budget.take(len(pairs))
        return {"t": "map", "items": [[encode_plain(k, blobs, _depth=_depth + 1, _budget=budget),
                                       encode_plain(v, blobs, _depth=_depth + 1, _budget=budget)]
                                      for k, v in pairs]}
    return encode_value(x, blobs)


def _hashable(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_hashable(k) for k in key)
    return key is None or isinstance(key, (bool, int, float, str, _generic))


def decode_plain(desc: Any, blobs: list[bytes], *, _depth: int = 0, _budget: _Budget | None = None) -> Any:
    """The value a description of :func:`encode_plain` stands for (``"other"``: the description
    itself, a dict with ``"t": "other"``). WireError if malformed."""
    budget = _Budget() if _budget is None else _budget
    budget.take()
    if _depth > MAX_DEPTH:
        raise WireError(f"a value is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(desc, dict):
        raise WireError("a value is not described by a JSON object")
    kind = desc.get("t")
    if kind == "none":
        return None
    if kind == "str":
        v = desc.get("v")
        if type(v) is not str or len(v) > MAX_STR:
            raise WireError("a malformed string")
        return v
    if kind in ("list", "tuple"):
        items = desc.get("items")
        if not isinstance(items, list):
            raise WireError(f"a {kind} without its items")
        budget.take(len(items))
        out = [decode_plain(i, blobs, _depth=_depth + 1, _budget=budget) for i in items]
        return out if kind == "list" else tuple(out)
    if kind == "map":
        items = desc.get("items")
        if not isinstance(items, list):
            raise WireError("a dict without its items")
        budget.take(len(items))
        out = {}
        for item in items:
            if not isinstance(item, list) or len(item) != 2:
                raise WireError("a dict item is not a pair")
            key = decode_plain(item[0], blobs, _depth=_depth + 1, _budget=budget)
            if not _hashable(key):
                raise WireError("a dict key is not a number, a string or a tuple of those")
            out[key] = decode_plain(item[1], blobs, _depth=_depth + 1, _budget=budget)
        return out
    return decode_value(desc, blobs)

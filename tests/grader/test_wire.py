"""The wire between the grader and the student's process: plain data only, read strictly.

Whatever bytes the student's process sends, the grader either gets arrays of a numeric dtype
and JSON numbers, or a WireError: never an unpickled object, never memory set aside because
a header asked for it.
"""

from __future__ import annotations

import io
import json
import pickle
import struct

import numpy as np
import pytest

from optilab.grading import wire


@pytest.mark.parametrize("array", [
    np.float64(3.5) * np.ones(()),
    np.arange(5, dtype=np.float32),
    np.arange(12.0).reshape(3, 4),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.zeros((0, 3)),
    np.array([1, 2], dtype=">i4"),
    np.array([True, False]),
])
def test_arrays_cross_with_their_values_shape_and_dtype(array):
    back = wire.array_from_bytes(wire.array_bytes(array))
    assert type(back) is np.ndarray and back.flags.writeable
    assert back.shape == array.shape and back.dtype == array.dtype
    assert np.array_equal(back, array)


class Marker:
    """Unpickling this would create a file: the grader must never do it."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_an_object_array_is_refused_and_never_unpickled(tmp_path):
    Marker.path = str(tmp_path / "unpickled")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([Marker()], dtype=object), allow_pickle=True)
    with pytest.raises(wire.WireError, match="not a numeric one"):
        wire.array_from_bytes(buf.getvalue())
    assert not (tmp_path / "unpickled").exists()


def test_a_plain_pickle_is_not_an_array(tmp_path):
    Marker.path = str(tmp_path / "unpickled")
    with pytest.raises(wire.WireError, match=r"not in \.npy format"):
        wire.array_from_bytes(pickle.dumps(Marker()))
    assert not (tmp_path / "unpickled").exists()


def test_an_npz_archive_is_not_an_array():
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3.0))
    with pytest.raises(wire.WireError):
        wire.array_from_bytes(buf.getvalue())


def test_a_header_that_announces_a_terabyte_is_refused_before_any_allocation():
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (2**40,)})
    blob = buf.getvalue() + b"\0" * 64
    with pytest.raises(wire.WireError, match="carries 64 bytes"):
        wire.array_from_bytes(blob)


def test_a_header_read_before_is_checked_again_against_every_blob_that_carries_it():
    """Headers are read once and remembered by their bytes: the checks of the data still run each time."""
    good = wire.array_bytes(np.arange(6.0).reshape(2, 3))
    for _ in range(3):
        np.testing.assert_array_equal(wire.array_from_bytes(good), np.arange(6.0).reshape(2, 3))
        with pytest.raises(wire.WireError, match="announces 6 entries"):
            wire.array_from_bytes(good[:-8])  # the same header, one number short
    bad = good.replace(b"'shape': (2, 3)", b"'shape': (2, 3!)")
    for _ in range(2):  # a header that does not parse is refused every time, never remembered
        with pytest.raises(wire.WireError, match="not in .npy format"):
            wire.array_from_bytes(bad)
    on_disk = np.lib.format.read_array_header_1_0(io.BytesIO(good[8:]))
    assert wire._header((1, 0), good[8:good.index(b"\n") + 1]) == on_disk


@pytest.mark.parametrize("descr", ["|O", "<U3", "|S4", "<M8[s]", [("a", "<f8")]])
def test_non_numeric_dtypes_are_refused(descr):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": (1,)})
    with pytest.raises(wire.WireError):
        wire.array_from_bytes(buf.getvalue() + b"\0" * 64)


def test_frames_round_trip_and_cut_frames_are_refused():
    blobs = [wire.array_bytes(np.arange(3.0))]
    frame = wire.pack({"seq": 1, "param": {"t": "array", "i": 0}}, blobs)
    n = wire.frame_length(frame[:4])
    header, back = wire.read_frame_body(frame[4:4 + n])
    assert header["seq"] == 1 and back == blobs
    with pytest.raises(wire.WireError, match="cut short"):
        wire.read_frame_body(frame[4:-1])


def test_a_frame_larger_than_the_limit_is_refused_from_its_length():
    with pytest.raises(wire.WireError, match="more than the limit"):
        wire.frame_length(struct.pack(">I", wire.MAX_FRAME + 1))


@pytest.mark.parametrize("head", [b"\xff\xfe", b"[1, 2]", b"{" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a": 1e999999'])
def test_a_header_that_is_not_a_json_object_is_refused(head):
    body = struct.pack(">I", len(head)) + head
    with pytest.raises(wire.WireError):
        wire.read_frame_body(body)


@pytest.mark.parametrize("desc", [
    {"t": "array", "i": 3}, {"t": "array", "i": True}, {"t": "int", "v": 1.5},
    {"t": "bool", "v": 1}, {"t": "code", "v": "import os"}, ["t", "array"],
    {"t": "scalar", "i": 0},
])
def test_malformed_values_are_refused(desc):
    blobs = [wire.array_bytes(np.arange(2.0))]
    with pytest.raises(wire.WireError):
        wire.decode_value(desc, blobs)


def test_numbers_keep_their_python_and_numpy_types():
    blobs: list[bytes] = []
    values = [3, 2.5, True, np.int64(7), np.float32(0.25), float("nan")]
    descs = [wire.encode_value(v, blobs) for v in values]
    descs = json.loads(json.dumps(descs))
    back = [wire.decode_value(d, blobs) for d in descs]
    assert [type(b) for b in back] == [int, float, bool, np.int64, np.float32, float]
    assert back[:5] == values[:5] and np.isnan(back[5])


def test_what_cannot_travel_is_described_by_its_type_only():
    blobs: list[bytes] = []
    assert wire.encode_value([1, 2, 3], blobs) == {"t": "other", "type": "list", "len": 3}
    assert wire.encode_value(None, blobs) == {"t": "other", "type": "NoneType"}
    assert wire.encode_value(np.array(["a"]), blobs)["t"] == "other"
    assert blobs == []

"""Wire format between the trusted judge and the sandboxed runner: no pickle, ever.

A message is a 4-byte big-endian length, a JSON header of that length, then the raw bytes of
any arrays the header lists. Values inside the header are JSON, except that
``{"__array__": i}`` stands for array ``i`` and ``{"__tuple__": [...]}`` for a tuple (2D
arguments are pairs). This module runs on both sides of the sandbox, so it imports only the
standard library and numpy.
"""

from __future__ import annotations

import json
import struct

import numpy as np

# Only plain numeric dtypes may cross from the student's process to the judge; anything else
# (object, str, structured, void) is refused before numpy ever interprets it.
ALLOWED_DTYPES = frozenset(
    np.dtype(code).str
    for code in ("f8", "f4", "f2", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "?")
)
MAX_HEADER_BYTES = 32 << 20  # a request carries all code cells of a notebook (<= 20 MB)
MAX_ARRAY_BYTES = 64 << 20


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def encode(header: dict, arrays: list[np.ndarray] = ()) -> bytes:
    """One frame: the header (with each array's dtype, shape and size) followed by the data."""
    # np.ascontiguousarray would turn a 0-d answer (a size) into shape (1,).
    blobs = [np.array(a, order="C", copy=True) for a in arrays]
    header = dict(header, arrays=[[a.dtype.str, list(a.shape), a.nbytes] for a in blobs])
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + b"".join(a.tobytes() for a in blobs)


def decode_arrays(header: dict, data: bytes) -> list[np.ndarray]:
    """The arrays a header announces, built from raw bytes after checking dtype and size."""
    arrays, offset = [], 0
    for spec in header.get("arrays", []):
        if not (isinstance(spec, list) and len(spec) == 3):
            raise ProtocolError("malformed array description")
        dtype, shape, nbytes = spec
        if dtype not in ALLOWED_DTYPES:
            raise ProtocolError(f"dtype {dtype!r} is not a plain numeric type")
        if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
            raise ProtocolError("malformed array shape")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if size != nbytes or offset + nbytes > len(data):
            raise ProtocolError("array size does not match its shape")
        chunk = data[offset : offset + nbytes]
        arrays.append(np.frombuffer(chunk, dtype=dtype).reshape(shape).copy())
        offset += nbytes
    if offset != len(data):
        raise ProtocolError("trailing bytes after the arrays")
    return arrays


def pack_value(value, arrays: list[np.ndarray]):
    """JSON-able form of an argument; arrays are appended to ``arrays`` and referenced."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1}
    if isinstance(value, tuple):
        return {"__tuple__": [pack_value(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {k: pack_value(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [pack_value(v, arrays) for v in value]
    return value


def unpack_value(value, arrays: list[np.ndarray]):
    """Inverse of :func:`pack_value`."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        if set(value) == {"__tuple__"}:
            return tuple(unpack_value(v, arrays) for v in value["__tuple__"])
        return {k: unpack_value(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack_value(v, arrays) for v in value]
    return value


def frame_sizes(prefix: bytes) -> int:
    """Header length announced by a frame's 4-byte prefix, refusing absurd sizes."""
    (length,) = struct.unpack(">I", prefix)
    if length > MAX_HEADER_BYTES:
        raise ProtocolError("header too large")
    return length


def payload_size(header: dict) -> int:
    """Total bytes of array data that follow a header, refusing absurd sizes."""
    specs = header.get("arrays", [])
    if not isinstance(specs, list):
        raise ProtocolError("malformed array list")
    total = 0
    for spec in specs:
        if not (isinstance(spec, list) and len(spec) == 3 and type(spec[2]) is int):
            raise ProtocolError("malformed array description")
        total += spec[2]
    if total < 0 or total > MAX_ARRAY_BYTES:
        raise ProtocolError("array data too large")
    return total

"""Reading IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number ``0 0 <type code> <ndim>``, then ``ndim`` big-endian
uint32 dimension sizes, then the values in row-major order (big-endian for multi-byte
types). Files may be gzip-compressed (``.gz``). Every check names the file and what is
wrong, so a truncated download reads as such and not as a shape error three calls later.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx"]

# IDX type code -> big-endian NumPy dtype
_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXError(ValueError):
    """An IDX file is truncated, corrupt, or not the kind of IDX file expected."""


def _read_bytes(path: str) -> bytes:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IDXError(f"{path}: corrupt or truncated gzip file ({error}); delete it and "
                       "download it again") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a NumPy array in native byte order.

    >>> images = read_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                          # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"{path}: {len(raw)} bytes, too short for an IDX header (4 bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise IDXError(f"{path}: bad magic number 0x{raw[:4].hex()}, not an IDX file "
                       "(expected 0x0000 then a type code such as 08, then the rank)")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise IDXError(f"{path}: header declares {ndim} dimensions but the file has "
                       f"{len(raw)} bytes, not the {header} the header needs")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise IDXError(f"{path}: {what}: shape {shape} of {dtype.name} needs {expected} "
                       f"bytes of data, found {actual}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    # A copy: native byte order, and writable (frombuffer over bytes is read-only).
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when ``path`` ends in ``.gz``.

    The inverse of ``read_idx``; handy for making small MNIST-shaped files in tests.
    """
    array = np.asarray(array)
    codes = {(dtype.kind, dtype.itemsize): code for code, dtype in _TYPES.items()}
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in codes or array.ndim == 0:
        raise ValueError(f"write_idx: cannot store a {array.ndim}-d {array.dtype} array in IDX")
    code = codes[key]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes()
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)

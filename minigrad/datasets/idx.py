"""Reading IDX files, the format MNIST and Fashion-MNIST are distributed in.

An IDX file is a 4-byte magic number ``0 0 <type code> <ndim>``, then ``ndim`` big-endian
uint32 dimension sizes, then the values in row-major order (big-endian for multi-byte
types). Files may be gzip-compressed (``.gz``). Every check names the file and what is
wrong, so a truncated download reads as such and not as a shape error three calls later.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from contextlib import contextmanager

import numpy as np

__all__ = ["IDXError", "read_idx", "read_idx_header", "write_idx"]

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


# Deflate turns at most 258 bytes into 2 bits: no gzip file inflates to more than ~1032 times
# its size, so a header claiming more is refused before a byte is inflated.
_MAX_GZIP_RATIO = 1032
_CHUNK = 1 << 20


@contextmanager
def _open(path: str):
    """The file, inflated if ``.gz``; a broken gzip stream becomes an IDXError that says so."""
    try:
        with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
            yield f
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IDXError(f"{path}: corrupt or truncated gzip file ({error}); delete it and "
                       "download it again") from None


def _read_header(f, path: str, stored: int) -> tuple[np.dtype, tuple[int, ...], int]:
    """Read and check the header from open file ``f``; return dtype, shape and data bytes.

    ``stored`` is the file's size on disk: the data must fit in it (raw files: exactly).
    """
    magic = f.read(4)
    if len(magic) < 4:
        raise IDXError(f"{path}: {len(magic)} bytes, too short for an IDX header (4 bytes)")
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in _TYPES:
        raise IDXError(f"{path}: bad magic number 0x{magic.hex()}, not an IDX file "
                       "(expected 0x0000 then a type code such as 08, then the rank)")
    dtype, ndim = _TYPES[magic[2]], magic[3]
    dims = f.read(4 * ndim)
    if ndim == 0 or len(dims) < 4 * ndim:
        raise IDXError(f"{path}: header declares {ndim} dimensions but the file has "
                       f"{4 + len(dims)} bytes, not the {4 + 4 * ndim} the header needs")
    shape = struct.unpack(f">{ndim}I", dims)
    needed = math.prod(shape) * dtype.itemsize  # Python integers: no wrap-around at 2**64
    header = 4 + 4 * ndim
    if path.endswith(".gz"):
        if needed > _MAX_GZIP_RATIO * stored:
            raise IDXError(f"{path}: header claims shape {shape} of {dtype.name} ({needed} bytes), "
                           f"more than a {stored}-byte gzip file can hold; the file is corrupt")
    elif needed != stored - header:
        what = "truncated" if stored - header < needed else "has trailing bytes"
        raise IDXError(f"{path}: {what}: shape {shape} of {dtype.name} needs {needed} "
                       f"bytes of data, found {stored - header}")
    return dtype, shape, needed


def read_idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape an IDX file declares, checked against the file's size, without
    reading its data: what a caller checks before committing memory to ``read_idx``."""
    path = os.fspath(path)
    with _open(path) as f:
        dtype, shape, _ = _read_header(f, path, os.fstat(f.fileno()).st_size)
    return dtype.newbyteorder("="), shape


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a NumPy array in native byte order.

    The header is read and checked first; a gzip file is then inflated only up to the size its
    header promises, straight into the array, so a corrupt or hostile file costs no more
    memory than the array it claims to hold, and a claim its size cannot back costs nothing.

    >>> images = read_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                          # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    with _open(path) as f:
        dtype, shape, needed = _read_header(f, path, os.fstat(f.fileno()).st_size)
        buffer = np.empty(needed, np.uint8)
        view, got = memoryview(buffer), 0
        while got < needed:
            chunk = f.read(min(_CHUNK, needed - got))
            if not chunk:
                break
            view[got:got + len(chunk)] = chunk
            got += len(chunk)
        extra = f.read(1)  # also makes gzip check the stream's CRC and length
    if got < needed or extra:
        what = "truncated" if got < needed else "has trailing bytes"
        found = got if got < needed else f"more than {needed}"
        raise IDXError(f"{path}: {what}: shape {shape} of {dtype.name} needs {needed} "
                       f"bytes of data, found {found}")
    # Big-endian types are swapped into a native copy; uint8 data is used as it is.
    return buffer.view(dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


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

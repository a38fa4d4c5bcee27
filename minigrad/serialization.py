"""``save`` and ``load``: state dicts to NumPy ``.npz`` files, without pickle, written atomically.

The file holds every array under a key ``a0``, ``a1``, ... and one JSON string,
``__minigrad__``, describing the nested structure (dicts, lists, numbers, strings, None) with
each array replaced by its key. ``np.load(..., allow_pickle=False)`` can read it, so loading a
checkpoint never runs code from the file.

``load`` accepts what ``save`` writes and nothing else, and ``save`` refuses, before it writes
a byte, anything ``load`` would refuse: arrays of objects or records (they need pickle), values
other than Tensors, arrays, numbers, strings and None, and nesting deeper than ``MAX_DEPTH``.
``load`` reads no more than the file holds: every entry is stored uncompressed and must hold
exactly the bytes its header claims, so a damaged or hand-made file is refused with a
``CheckpointError`` before anything large is allocated.
"""
from __future__ import annotations

import json
import math
import os
import zipfile

import numpy

from . import backend
from .files import atomic_write
from .tensor import Tensor

_MARK = "__minigrad__"
FORMAT_VERSION = 1
MAX_DEPTH = 100
# Numbers, booleans, dates and text: what numpy.load reads without pickle and a reader can use.
_ARRAY_KINDS = "biufcmMSU"


class CheckpointError(ValueError):
    """A file that is not a checkpoint ``load`` can read: damaged, hand-made, or not minigrad's."""


def _check_array(x) -> None:
    if x.dtype.kind not in _ARRAY_KINDS or x.dtype.itemsize == 0:
        raise TypeError(f"save: cannot store an array of dtype {x.dtype}: reading it back would need "
                        "pickle; a checkpoint holds arrays of numbers, booleans or text")


def _encode(obj, arrays, depth=0):
    if depth > MAX_DEPTH:
        raise ValueError(f"save: the object is nested more than {MAX_DEPTH} levels deep (or contains "
                         "itself); a checkpoint holds state dicts, which are a few levels deep")
    if isinstance(obj, numpy.generic) and isinstance(obj.item(), (bool, int, float, str)):
        return obj.item()  # other scalars (complex, dates) are stored as 0-d arrays
    if isinstance(obj, Tensor) or hasattr(obj, "__array_namespace__") or hasattr(obj, "__cuda_array_interface__"):
        data = obj.data if isinstance(obj, Tensor) else obj
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_device(data, backend.CPU)  # GPU checkpoints load on CPU-only machines
        _check_array(arrays[key])
        return {"__tensor__" if isinstance(obj, Tensor) else "__array__": key}
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, depth + 1), _encode(v, arrays, depth + 1)] for k, v in obj.items()]
        if any(isinstance(k, dict) and "__array__" in k for k, _ in items):
            raise TypeError("save: cannot store a dict keyed by arrays or array scalars: an array read "
                            "back cannot be a key; use numbers or strings as keys")
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        kind = "__list__" if isinstance(obj, list) else "__tuple__"
        return {kind: [_encode(v, arrays, depth + 1) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__}; a checkpoint holds Tensors, arrays, "
                    "numbers, strings, None, and dicts/lists/tuples of them")


def save(obj, path) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``) to ``path`` as ``.npz``.

    The file appears whole or not at all (see ``minigrad.files.atomic_write``): it is written
    to a temporary file in the same directory, flushed to disk, then renamed over ``path``.
    What cannot be read back is refused before anything is written.
    """
    path = os.fspath(path)
    arrays = {}
    meta = {"format": "minigrad", "version": FORMAT_VERSION, "tree": _encode(obj, arrays)}
    try:
        arrays[_MARK] = numpy.array(json.dumps(meta))
    except ValueError as e:  # an int too long to print (sys.set_int_max_str_digits)
        raise ValueError(f"save: cannot store this object: {e}") from None
    with atomic_write(path, "save") as f:
        try:
            numpy.savez(f, **arrays)
        except OSError as e:  # a full disk, say: name the target, not the temporary file
            raise type(e)(e.errno, f"save: cannot write {path}: {e.strerror or e}") from None


class _Entries:
    """Reads a checkpoint's arrays one by one, refusing any entry the file cannot really hold."""

    def __init__(self, archive: zipfile.ZipFile, path: str, dev):
        self.archive, self.path, self.dev = archive, path, dev
        self.size = self.left = os.path.getsize(path)
        self.cache = {}

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"load: {self.path} is damaged or was not written by minigrad.save: "
                               f"{what}; save it again, or load an earlier copy")

    def array(self, key):
        if not isinstance(key, str):
            raise self.fail(f"array key {key!r} is not a name")
        if key not in self.cache:
            self.cache[key] = self._read(key)
        return self.cache[key]

    def _read(self, key):
        try:
            info = self.archive.getinfo(key + ".npy")
        except KeyError:
            raise self.fail(f"it refers to an array {key!r} that it does not hold") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.fail(f"entry {key!r} is compressed, which minigrad never writes (a compressed "
                            "entry can expand far beyond the file's size)")
        if info.file_size != info.compress_size or info.header_offset + info.compress_size > self.size:
            raise self.fail(f"entry {key!r} claims {info.file_size} bytes, more than the "
                            f"{self.size}-byte file holds")
        self.left -= info.file_size
        if self.left < 0:
            raise self.fail(f"its entries overlap: up to {key!r} they claim {self.size - self.left} bytes, "
                            f"more than the {self.size}-byte file holds")
        with self.archive.open(info) as f:
            version = numpy.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise self.fail(f"entry {key!r} is in .npy format version {version}")
            read_header = numpy.lib.format.read_array_header_1_0 if version == (1, 0) \
                else numpy.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(f)
            if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.itemsize == 0:
                raise self.fail(f"entry {key!r} holds an array of {dtype}, which would need pickle "
                                "(refused: pickle can run code)")
            needed = math.prod(shape) * dtype.itemsize
            if f.tell() + needed != info.file_size:
                raise self.fail(f"entry {key!r} claims shape {shape} of {dtype} ({needed} bytes) but "
                                f"holds {info.file_size - f.tell()} bytes of data")
        with self.archive.open(info) as f:
            array = numpy.lib.format.read_array(f, allow_pickle=False)
        return array if self.dev is None else backend.to_device(array, self.dev)

    def meta(self) -> dict:
        mark = self.array(_MARK)
        if mark.dtype.kind != "U" or mark.shape != ():
            raise self.fail(f"its {_MARK!r} entry is a {mark.dtype} array of shape {mark.shape}, not a string")
        meta = json.loads(str(mark[()]))
        if not isinstance(meta, dict) or "tree" not in meta:
            raise self.fail(f"its {_MARK!r} entry is not a description of a saved object")
        if meta.get("format") != "minigrad" or meta.get("version") != FORMAT_VERSION:
            raise CheckpointError(f"load: {self.path} has an unknown checkpoint format {meta.get('format')!r} "
                                  f"version {meta.get('version')!r}; expected minigrad version {FORMAT_VERSION}")
        return meta


def _decode(node, entries: _Entries, depth=0):
    """The inverse of ``_encode``; anything ``_encode`` cannot have written is refused."""
    if depth > MAX_DEPTH:
        raise entries.fail(f"it is nested more than {MAX_DEPTH} levels deep")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        [(kind, value)] = node.items()
        if kind in ("__tensor__", "__array__"):
            array = entries.array(value)
            if kind == "__array__":
                return array
            if array.dtype.kind not in "biufc":
                raise entries.fail(f"tensor {value!r} holds {array.dtype} data, not numbers")
            return Tensor(array)
        if kind in ("__list__", "__tuple__") and isinstance(value, list):
            items = [_decode(v, entries, depth + 1) for v in value]
            return items if kind == "__list__" else tuple(items)
        if kind == "__dict__" and isinstance(value, list) \
                and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
            out = {}
            for k, v in value:
                key = _decode(k, entries, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise entries.fail(f"a dict key is a {type(key).__name__}, which cannot be a key") from None
                out[key] = _decode(v, entries, depth + 1)
            return out
    raise entries.fail(f"unexpected entry {json.dumps(node)[:80]}")


def load(path, map_location=None):
    """Read a file written by ``save``. Tensors come back on the CPU, or on ``map_location``.

    A file that is not such a checkpoint raises ``CheckpointError`` (a ``ValueError``) saying
    what is wrong with it; a missing file raises ``FileNotFoundError``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if os.path.isdir(path):
        raise CheckpointError(f"load: {path} is a directory; give the checkpoint file inside it")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(f"load: {path} is not a minigrad checkpoint (not an .npz archive)")
    dev = backend.device(map_location) if map_location is not None else None
    try:
        with zipfile.ZipFile(path) as archive:
            if _MARK + ".npy" not in archive.namelist():
                raise CheckpointError(f"load: {path} is a .npz file but not a minigrad checkpoint "
                                      f"(no {_MARK!r} entry); was it written by minigrad.save?")
            entries = _Entries(archive, path, dev)
            return _decode(entries.meta()["tree"], entries)
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"load: {path} is nested too deeply to be a minigrad checkpoint") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError,
            ValueError) as e:  # json and .npy header errors are ValueErrors
        raise CheckpointError(f"load: {path} is not a minigrad checkpoint, or is damaged (unreadable: "
                              f"{e})") from None

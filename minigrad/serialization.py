"""``save`` and ``load``: state dicts to NumPy ``.npz`` files, without pickle, written atomically.

The file holds every array under a key ``a0``, ``a1``, ... and one JSON string,
``__minigrad__``, describing the nested structure (dicts, lists, numbers, strings, None) with
each array replaced by its key. ``np.load(..., allow_pickle=False)`` can read it, so loading a
checkpoint never runs code from the file.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy

from . import backend
from .tensor import Tensor

_MARK = "__minigrad__"
FORMAT_VERSION = 1


def _encode(obj, arrays):
    if isinstance(obj, Tensor) or hasattr(obj, "__array_namespace__") or hasattr(obj, "__cuda_array_interface__"):
        data = obj.data if isinstance(obj, Tensor) else obj
        key = f"a{len(arrays)}"
        arrays[key] = backend.to_device(data, backend.CPU)  # GPU checkpoints load on CPU-only machines
        return {"__tensor__" if isinstance(obj, Tensor) else "__array__": key}
    if isinstance(obj, dict):
        items = [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, (numpy.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"save: cannot store a {type(obj).__name__}; a checkpoint holds Tensors, arrays, "
                    "numbers, strings, None, and dicts/lists/tuples of them")


def _decode(obj, arrays):
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return Tensor(arrays[obj["__tensor__"]])
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__dict__" in obj:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            return [_decode(v, arrays) for v in obj["__list__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, arrays) for v in obj["__tuple__"])
    return obj


def save(obj, path) -> None:
    """Write ``obj`` (e.g. ``model.state_dict()``) to ``path`` as ``.npz``.

    The file appears whole or not at all: it is written to a temporary file in the same
    directory, flushed to disk, then renamed over ``path``.
    """
    path = os.fspath(path)
    arrays = {}
    meta = {"format": "minigrad", "version": FORMAT_VERSION, "tree": _encode(obj, arrays)}
    arrays[_MARK] = numpy.array(json.dumps(meta))
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path, map_location=None):
    """Read a file written by ``save``. Tensors come back on the CPU, or on ``map_location``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {path} is not a minigrad checkpoint (not an .npz archive)")
    try:
        with numpy.load(path, allow_pickle=False) as f:
            if _MARK not in f.files:
                raise ValueError(f"load: {path} is a .npz file but not a minigrad checkpoint "
                                 f"(no {_MARK!r} entry); was it written by minigrad.save?")
            meta = json.loads(str(f[_MARK]))
            arrays = {k: f[k] for k in f.files if k != _MARK}
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {path} is not a minigrad checkpoint (unreadable: {e})") from None
    except ValueError as e:
        if "pickle" in str(e):
            raise ValueError(f"load: {path} holds pickled objects, which minigrad never writes; "
                             "refusing to load it (pickle can run code)") from None
        raise
    if meta.get("format") != "minigrad" or meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"load: {path} has an unknown checkpoint format {meta.get('format')!r} "
                         f"version {meta.get('version')!r}; expected minigrad version {FORMAT_VERSION}")
    if map_location is not None:
        dev = backend.device(map_location)
        arrays = {k: backend.to_device(v, dev) for k, v in arrays.items()}
    return _decode(meta["tree"], arrays)

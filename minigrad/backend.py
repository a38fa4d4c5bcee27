"""The one place that chooses the array library: NumPy on the CPU, CuPy on an NVIDIA GPU.

Every op asks ``get_array_module(x)`` for ``xp`` and computes with ``xp.*``; nothing else in the
engine imports numpy or cupy. CuPy is imported only when a GPU is asked for, so
``import minigrad`` needs nothing but NumPy.
"""
from __future__ import annotations

import sys

import numpy

CUDA_INSTALL_HINT = (
    'install CuPy for your CUDA version: pip install "minigrad-course[cuda12]" (cupy-cuda12x) '
    'or pip install "minigrad-course[cuda13]" (cupy-cuda13x)'
)


class device:
    """Where a tensor's data lives: ``device('cpu')``, ``device('cuda')``, ``device('cuda:1')``.

    Compares equal to its string form, so ``t.device == 'cpu'`` reads as in PyTorch.
    """

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device = "cpu", index: int | None = None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, num = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device: unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        if num:
            if not num.isdigit():
                raise ValueError(f"device: bad device index in {spec!r}; expected 'cuda:N'")
            index = int(num)
        if kind == "cpu":
            index = None
        elif index is None:
            index = 0
        self.type, self.index = kind, index

    def __str__(self):
        return "cpu" if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self):
        if self.type == "cpu":
            return "device(type='cpu')"
        return f"device(type='cuda', index={self.index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = device("cpu")


def get_array_module(x):
    """Return ``numpy`` or ``cupy``: the library that owns array ``x`` (DeZero's helper)."""
    if type(x) is numpy.ndarray or isinstance(x, (numpy.ndarray, numpy.generic)):
        return numpy
    cupy = sys.modules.get("cupy")  # a CuPy array can only exist if cupy was imported
    if cupy is not None and isinstance(x, cupy.ndarray):
        return cupy
    return numpy


NDARRAY = numpy.ndarray  # the common case of is_array, which Tensor's constructor checks inline


def is_array(x) -> bool:
    """True for a ``numpy.ndarray`` or a ``cupy.ndarray``: what ``Tensor(x)`` uses without copying.

    Decided by type, not by ``__array_namespace__``, which NumPy 1.26 arrays lack.
    """
    if type(x) is numpy.ndarray or isinstance(x, numpy.ndarray):
        return True
    cupy = sys.modules.get("cupy")
    return cupy is not None and isinstance(x, cupy.ndarray)


def is_cpu(x) -> bool:
    """True for a NumPy array: a cheaper question than ``device_of(x) == 'cpu'`` on a hot path."""
    return isinstance(x, (numpy.ndarray, numpy.generic))


def device_of(x) -> device:
    """The device of a raw array."""
    if isinstance(x, (numpy.ndarray, numpy.generic)):
        return CPU
    return device("cuda", x.device.id)


def _import_cupy():
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(f"cuda: CUDA was asked for but CuPy is not installed; {CUDA_INSTALL_HINT}") from e
    return cupy


def cupy_module(index: int = 0):
    """Import CuPy and check that GPU ``index`` exists; the errors say what is missing."""
    cupy = _import_cupy()
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy raises CUDARuntimeError when there is no driver or GPU
        raise RuntimeError(
            f"cuda: CUDA was asked for but no GPU is usable: CuPy {cupy.__version__} is installed and says {e}. "
            "Check that nvidia-smi lists a GPU; 'insufficient driver' means no NVIDIA driver, or one older "
            "than the CUDA this CuPy wheel was built for (cupy-cuda13x needs a CUDA 13 driver; "
            'pip install "minigrad-course[cuda12]" for an older one)') from e
    if index >= count:
        raise RuntimeError(f"cuda: device cuda:{index} was asked for but only {count} GPU(s) exist; "
                           f"use an index below {count}")
    return cupy


def to_device(x, dev: device):
    """Copy raw array ``x`` to ``dev`` (no copy if it is already there)."""
    src = device_of(x)
    if src == dev:
        return x
    if dev.type == "cpu":
        return x.get()  # cupy -> numpy
    cupy = cupy_module(dev.index)
    with cupy.cuda.Device(dev.index):
        return cupy.asarray(x)


NUMERIC_KINDS = "biufc"  # booleans, integers, floats, complex: what a tensor may hold


def not_numeric(x) -> TypeError:
    """The error for making a tensor from ``x`` (None, strings, objects: anything but numbers)."""
    dtype = getattr(x, "dtype", None)
    if x is None:
        what = "None"
    elif dtype is None:
        what = f"a {type(x).__name__} ({x!r:.40})"
    elif dtype.kind in "SU":
        what = f"strings (dtype {dtype})"
    elif dtype.kind == "O":
        what = "Python objects (dtype object: None, strings or mixed types)"
    else:
        what = f"data of dtype {dtype}"
    return TypeError(f"tensor: cannot make a tensor from {what}; a tensor holds numbers or booleans, "
                     "e.g. tensor([1.0, 2.0]): convert the data to numbers first")


def as_array(data, dtype=None, dev: device = CPU):
    """A new raw array on ``dev`` from Python data or an array (always a copy, as ``torch.tensor``).

    Python floats become float32 (the default dtype), Python ints int64; an array keeps its dtype.
    None, strings and other non-numbers are refused, even with a ``dtype`` that could parse them.
    """
    if isinstance(data, numpy.generic):
        data = numpy.asarray(data)
    if hasattr(data, "dtype") and data.dtype.kind not in NUMERIC_KINDS:
        raise not_numeric(data)
    if not hasattr(data, "dtype"):
        # Converted once without dtype to see what the data is: numpy.array(None, float32) is nan.
        host = numpy.array(data)
        if host.dtype.kind not in NUMERIC_KINDS:
            raise not_numeric(host if isinstance(data, (list, tuple)) else data)
        if dtype is not None:
            host = numpy.array(data, dtype=dtype)
        if dtype is None and host.dtype == numpy.float64:
            host = host.astype(numpy.float32)
        return to_device(host, dev)
    x = to_device(data, dev)
    if x is data:  # not moved, so not yet copied: astype copies by default
        return x.astype(x.dtype if dtype is None else dtype)
    return x if dtype is None else x.astype(dtype, copy=False)


def array_text(x, prefix: str = "") -> str:
    """The values of raw array ``x`` as NumPy prints them (copied to the host first)."""
    return numpy.array2string(to_device(x, CPU), separator=", ", prefix=prefix)


def scatter_add(xp, target, index, values):
    """``target[index] += values`` with repeated indices accumulated.

    ``xp.add.at`` is the same call in NumPy and in CuPy (13 and later, where it runs the kernel
    of ``cupyx.scatter_add``), so both devices share one code path that CPU tests exercise.
    """
    xp.add.at(target, index, values)

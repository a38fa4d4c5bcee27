"""Making tensors: ``tensor``, ``zeros``, ``ones``, ``randn``, ``rand``, ``arange``, ``*_like``.

Random numbers come from one NumPy generator that ``manual_seed`` resets, drawn on the host and
then moved, so a seed gives the same numbers on the CPU and on a GPU.
"""
from __future__ import annotations

import numpy

from . import backend
from .tensor import Tensor

float32, float64, float16 = numpy.float32, numpy.float64, numpy.float16
int64, int32, uint8, bool_ = numpy.int64, numpy.int32, numpy.uint8, numpy.bool_

_generator = numpy.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed every random draw minigrad makes (initial weights, ``randn``, ``rand``)."""
    global _generator
    _generator = numpy.random.default_rng(seed)


def default_generator() -> numpy.random.Generator:
    """The generator that ``manual_seed`` resets."""
    return _generator


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _make(host, dtype, device, requires_grad):
    if dtype is not None:
        host = host.astype(dtype, copy=False)
    return Tensor(backend.to_device(host, backend.device(device)), requires_grad=requires_grad)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python numbers, lists, arrays or a Tensor).

    Python floats become float32, the default dtype; arrays keep their dtype.

    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    if isinstance(data, Tensor):
        data = data.data
    dev = backend.device(device) if device is not None else (
        backend.device_of(data) if hasattr(data, "__cuda_array_interface__") else backend.CPU)
    return Tensor(backend.as_array(data, dtype, dev), requires_grad=requires_grad)


def zeros(*size, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _make(numpy.zeros(_shape(size), dtype=dtype), None, device, requires_grad)


def ones(*size, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _make(numpy.ones(_shape(size), dtype=dtype), None, device, requires_grad)


def full(size, fill_value, dtype=None, device="cpu", requires_grad=False) -> Tensor:
    """``size`` filled with ``fill_value``; the dtype follows the value as in PyTorch: a float
    gives float32, an int int64, a bool bool."""
    if dtype is None:
        dtype = _scalar_dtype(fill_value)
    return _make(numpy.full(_shape((size,)), fill_value, dtype=dtype), None, device, requires_grad)


def randn(*size, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """Samples of the standard normal distribution."""
    return _make(_generator.standard_normal(_shape(size)), dtype, device, requires_grad)


def rand(*size, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """Samples of the uniform distribution on [0, 1)."""
    return _make(_generator.random(_shape(size)), dtype, device, requires_grad)


def randint(low, high, size, dtype=int64, device="cpu") -> Tensor:
    """Integers drawn uniformly from [low, high)."""
    return _make(_generator.integers(low, high, size=_shape((size,))), dtype, device, False)


def arange(start, end=None, step=1, dtype=None, device="cpu") -> Tensor:
    """Evenly spaced values in [start, end), as ``numpy.arange``; float32 for float steps."""
    if end is None:
        start, end = 0, start
    host = numpy.arange(start, end, step)
    if dtype is None and host.dtype == numpy.float64:
        dtype = float32
    return _make(host, dtype, device, False)


def _like(t, dtype, device):
    return (t.dtype if dtype is None else dtype), (t.device if device is None else device)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros with ``t``'s shape, and its dtype and device unless given."""
    dtype, device = _like(t, dtype, device)
    return zeros(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones with ``t``'s shape, and its dtype and device unless given."""
    dtype, device = _like(t, dtype, device)
    return ones(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples with ``t``'s shape, dtype and device (unless given)."""
    dtype, device = _like(t, dtype, device)
    return randn(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) with ``t``'s shape, dtype and device (unless given)."""
    dtype, device = _like(t, dtype, device)
    return rand(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def _scalar_dtype(value):
    """PyTorch's dtype for a Python number: bool, int64, or the default float32."""
    kind = numpy.asarray(value).dtype.kind
    return bool_ if kind == "b" else int64 if kind in "iu" else numpy.complex64 if kind == "c" else float32


def empty(*size, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """A tensor of ``size`` whose values are whatever the memory held (``torch.empty``)."""
    return _make(numpy.empty(_shape(size), dtype=dtype), None, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """The (n, m) identity matrix: ones on the diagonal (m = n if not given)."""
    return _make(numpy.eye(n, m, dtype=dtype), None, device, requires_grad)


def linspace(start, end, steps: int, dtype=float32, device="cpu", requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    return _make(numpy.linspace(start, end, steps), dtype, device, requires_grad)


def from_numpy(array) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype, as ``torch.from_numpy``: writing to one
    changes the other."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}; "
                        "use minigrad.tensor(data) for other data")
    t = Tensor(array)
    if t.data is not array:
        raise RuntimeError("from_numpy: this NumPy array could not be shared (Tensor copied it)")
    return t


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, generator=None) -> Tensor:
    """Indices drawn from the categories whose (unnormalised, non-negative) weights are the last
    axis of ``input`` (1-D, or 2-D for one draw per row), as ``torch.multinomial``.

    Without replacement each category is drawn at most once. The draws come from
    ``generator`` (a ``numpy.random.Generator``) or the generator ``manual_seed`` resets, on the
    host, so a seed gives the same indices on every device.
    """
    weights = backend.to_device(input.data, backend.CPU).astype(numpy.float64)
    if weights.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D, got shape {input.shape}")
    rows = weights.reshape(-1, weights.shape[-1])
    n = rows.shape[1]
    if not numpy.isfinite(rows).all() or (rows < 0).any() or (rows.sum(1) <= 0).any():
        raise RuntimeError("multinomial: weights must be finite, non-negative and sum to more than 0 in each row")
    if not replacement and num_samples > n:
        raise RuntimeError(f"multinomial: cannot draw {num_samples} samples without replacement from "
                           f"{n} categories; pass replacement=True or draw fewer")
    if not replacement and ((rows > 0).sum(1) < num_samples).any():
        raise RuntimeError(f"multinomial: fewer than {num_samples} categories have a non-zero weight; "
                           "without replacement each can be drawn only once")
    gen = _generator if generator is None else generator
    drawn = numpy.stack([gen.choice(n, size=num_samples, replace=replacement, p=row / row.sum()) for row in rows])
    drawn = drawn.reshape(weights.shape[:-1] + (num_samples,)).astype(int64)
    return _make(drawn, None, input.device, False)

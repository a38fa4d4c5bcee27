"""Observers: watch the values a tensor takes and choose its scale S and zero point Z.

The affine scheme maps a real r to an integer q in [qmin, qmax] and back:

    q = clamp(round(r / S) + Z, qmin, qmax)         quantize
    r ~ S (q - Z)                                   dequantize

Every real in [S (qmin - Z), S (qmax - Z)] is represented to within S / 2; outside, values
saturate. An observer picks that interval from the data it has seen, as PyTorch's
(``torch.ao.quantization.observer``), with the same formulas, in float32:

    affine (activations, uint8 [0, 255]):
        lo = min(min_seen, 0), hi = max(max_seen, 0)   (0 must be exact: ReLU outputs, padding)
        S = max((hi - lo) / (qmax - qmin), eps),  Z = clamp(qmin - round(lo / S), qmin, qmax)
    symmetric (weights, int8 [-128, 127]):
        S = max(max(-lo, hi) / ((qmax - qmin) / 2), eps),  Z = 0

eps is float32's machine epsilon; round is half to even.
"""
from __future__ import annotations

import functools
import math

from .. import backend
from ..backend import get_array_module
from ..nn.module import Module
from ..tensor import Tensor

qint8 = backend.numpy.int8    # PyTorch's torch.qint8: here the integer storage type itself
quint8 = backend.numpy.uint8  # torch.quint8
per_tensor_affine, per_tensor_symmetric = "per_tensor_affine", "per_tensor_symmetric"
per_channel_affine, per_channel_symmetric = "per_channel_affine", "per_channel_symmetric"
_F32 = backend.numpy.float32
EPS = 2.0 ** -23  # float32's machine epsilon: the smallest scale, so that S is never 0
_NAMES = {qint8: "qint8", quint8: "quint8"}

__all__ = ["qint8", "quint8", "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
           "per_channel_symmetric", "quant_range", "qparams_from_min_max", "quantize", "dequantize",
           "ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
           "HistogramObserver"]


def quant_range(dtype, reduce_range: bool = False) -> tuple[int, int]:
    """(qmin, qmax) of an 8-bit type: qint8 [-128, 127], quint8 [0, 255]; ``reduce_range`` drops a
    bit ([-64, 63], [0, 127]), which x86's int8 kernels (fbgemm) need so that the sum of two
    uint8 x int8 products fits in 16 bits; minigrad's exact accumulation does not need it."""
    if dtype == qint8:
        return (-64, 63) if reduce_range else (-128, 127)
    if dtype == quint8:
        return (0, 127) if reduce_range else (0, 255)
    raise TypeError(f"quantization: dtype must be quantization.qint8 or quint8, got {dtype!r}")


def qparams_from_min_max(min_val, max_val, quant_min: int, quant_max: int, symmetric: bool, dtype=qint8):
    """The scale (float32) and zero point (int64) for values seen in [min_val, max_val] (arrays,
    one entry per channel, or 0-d), by the formulas in this module's docstring (PyTorch's)."""
    xp = get_array_module(min_val)
    lo = xp.minimum(xp.asarray(min_val, dtype=_F32), _F32(0))
    hi = xp.maximum(xp.asarray(max_val, dtype=_F32), _F32(0))
    if symmetric:
        scale = xp.maximum(xp.maximum(-lo, hi) / _F32((quant_max - quant_min) / 2), _F32(EPS))
        zero = 0 if dtype != quint8 else 128 if (quant_min, quant_max) == (0, 255) else (quant_min + quant_max) // 2
        zero_point = xp.full(scale.shape, zero, dtype=backend.numpy.int64)
    else:
        scale = xp.maximum((hi - lo) / _F32(quant_max - quant_min), _F32(EPS))
        zero_point = xp.clip(quant_min - xp.rint(lo / scale).astype(backend.numpy.int64), quant_min, quant_max)
    return scale.astype(_F32), zero_point


def quantize(x, scale, zero_point, quant_min: int, quant_max: int, dtype, axis: int | None = None):
    """q = clamp(round(x / S) + Z, qmin, qmax) as integers of ``dtype`` (a raw array or Tensor in,
    a Tensor out). Per channel: ``scale`` and ``zero_point`` are 1-D, indexed along ``axis``."""
    x = x.data if isinstance(x, Tensor) else x
    s, z = _along(x, scale, axis), _along(x, zero_point, axis)
    xp = get_array_module(x)
    q = xp.rint(x * (1.0 / s)) + z  # x * (1 / S), as PyTorch's kernel
    return Tensor(xp.clip(q, quant_min, quant_max).astype(dtype))


def dequantize(q, scale, zero_point, axis: int | None = None, dtype=_F32):
    """r = S (q - Z), as float32 by default."""
    q = q.data if isinstance(q, Tensor) else q
    s, z = _along(q, scale, axis), _along(q, zero_point, axis)
    return Tensor(((q.astype(dtype) - z) * s).astype(dtype))


def _along(x, v, axis):
    v = v.data if isinstance(v, Tensor) else v
    if axis is None or getattr(v, "ndim", 0) == 0:
        return v
    shape = [1] * x.ndim
    shape[axis] = -1
    return v.reshape(shape)


class ObserverBase(Module):
    """An identity module that records statistics of what passes through it; after calibration,
    ``calculate_qparams()`` gives ``(scale, zero_point)`` as Tensors of shape (1,) per tensor or
    (channels,) per channel, as PyTorch's observers. Build one with ``Class.with_args(...)`` in
    a ``QConfig`` (every observed layer gets its own instance)."""

    symmetric_schemes = (per_tensor_symmetric, per_channel_symmetric)

    def __init__(self, dtype=quint8, qscheme=per_tensor_affine, reduce_range: bool = False,
                 quant_min: int | None = None, quant_max: int | None = None, eps: float = EPS):
        super().__init__()
        if (quant_min is None) != (quant_max is None):
            raise ValueError(f"{type(self).__name__}: give both quant_min and quant_max, or neither")
        self.dtype, self.qscheme, self.reduce_range, self.eps = dtype, qscheme, reduce_range, eps
        self.quant_min, self.quant_max = quant_range(dtype, reduce_range) if quant_min is None \
            else (int(quant_min), int(quant_max))
        wide = quant_range(dtype)
        if not wide[0] <= self.quant_min < self.quant_max <= wide[1]:
            raise ValueError(f"{type(self).__name__}: quant_min={self.quant_min}, quant_max={self.quant_max} do "
                             f"not fit {_NAMES[dtype]} {wide}")

    @classmethod
    def with_args(cls, **kwargs):
        """A constructor with these arguments filled in (PyTorch's ``Observer.with_args``)."""
        return functools.partial(cls, **kwargs)

    @property
    def symmetric(self) -> bool:
        """Whether the scheme is symmetric (zero point 0 for int8), as ``qscheme`` says."""
        return self.qscheme in self.symmetric_schemes

    def forward(self, x):
        """Record ``x`` (in float32, as PyTorch) and return it untouched."""
        data = x.data if isinstance(x, Tensor) else x
        if not data.size:
            return x
        dev = backend.device_of(data)
        if any(b.device != dev for b in self.buffers()):
            self.to(dev)  # made on the CPU by prepare(), observing a model on a GPU
        self._observe(data.astype(_F32))
        return x

    def _qparams(self, min_val, max_val):
        scale, zero_point = qparams_from_min_max(min_val, max_val, self.quant_min, self.quant_max,
                                                 self.symmetric, self.dtype)
        return Tensor(scale.reshape(-1)), Tensor(zero_point.reshape(-1))

    def extra_repr(self):
        return f"dtype={_NAMES[self.dtype]}, qscheme={self.qscheme}, " \
               f"quant_min={self.quant_min}, quant_max={self.quant_max}"


class MinMaxObserver(ObserverBase):
    """The smallest and largest value ever seen (``min_val``, ``max_val`` buffers): every
    calibration value is represented, and one outlier stretches the grid for all the others."""

    def __init__(self, dtype=quint8, qscheme=per_tensor_affine, reduce_range=False, quant_min=None, quant_max=None,
                 eps=EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        if qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise ValueError(f"{type(self).__name__}: qscheme must be per_tensor_affine or per_tensor_symmetric, "
                             f"got {qscheme!r}; use PerChannelMinMaxObserver for per-channel")
        self.register_buffer("min_val", Tensor(backend.as_array(math.inf, _F32)))
        self.register_buffer("max_val", Tensor(backend.as_array(-math.inf, _F32)))

    def _observe(self, x):
        xp = get_array_module(x)
        self.min_val = Tensor(xp.minimum(x.min(), self.min_val.data))
        self.max_val = Tensor(xp.maximum(x.max(), self.max_val.data))

    def calculate_qparams(self):
        """(scale, zero_point) for the range observed so far, as PyTorch's observer computes them."""
        if not math.isfinite(float(self.min_val.data)):
            raise RuntimeError(f"{type(self).__name__}.calculate_qparams: no values observed yet; run "
                               "calibration data through the prepared model first")
        return self._qparams(self.min_val.data, self.max_val.data)

    def reset_min_max_vals(self):
        """Forget the range observed so far (min +inf, max -inf)."""
        self.min_val = Tensor(backend.as_array(math.inf, _F32))
        self.max_val = Tensor(backend.as_array(-math.inf, _F32))


class MovingAverageMinMaxObserver(MinMaxObserver):
    """min and max as exponential moving averages over batches (the first batch sets them):

        min_val = min_val + c (batch_min - min_val),  c = averaging_constant (0.01)

    Used by quantisation-aware training, where the activations drift as the weights train."""

    def __init__(self, averaging_constant: float = 0.01, dtype=quint8, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, eps=EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        self.averaging_constant = _F32(averaging_constant)

    def _observe(self, x):
        lo, hi = x.min(), x.max()
        if math.isfinite(float(self.min_val.data)):
            c = self.averaging_constant
            lo = self.min_val.data + c * (lo - self.min_val.data)
            hi = self.max_val.data + c * (hi - self.max_val.data)
        self.min_val, self.max_val = Tensor(lo.astype(_F32)), Tensor(hi.astype(_F32))


class PerChannelMinMaxObserver(ObserverBase):
    """min and max per index along ``ch_axis``: a weight matrix gets one scale per output unit,
    so a unit with small weights is not quantised on the grid of the largest. minigrad's Linear
    weight is (in, out): its output channels are ``ch_axis=1`` (PyTorch's, (out, in): 0)."""

    def __init__(self, ch_axis: int = 1, dtype=qint8, qscheme=per_channel_symmetric, reduce_range=False,
                 quant_min=None, quant_max=None, eps=EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        if qscheme not in (per_channel_affine, per_channel_symmetric):
            raise ValueError(f"{type(self).__name__}: qscheme must be per_channel_affine or per_channel_symmetric, "
                             f"got {qscheme!r}")
        self.ch_axis = ch_axis
        self.register_buffer("min_val", Tensor(backend.as_array([], _F32)))
        self.register_buffer("max_val", Tensor(backend.as_array([], _F32)))

    def _observe(self, x):
        xp = get_array_module(x)
        axes = tuple(d for d in range(x.ndim) if d != self.ch_axis % x.ndim)
        lo, hi = x.min(axis=axes), x.max(axis=axes)
        if self.min_val.data.size:
            if self.min_val.data.shape != lo.shape:
                raise ValueError(f"{type(self).__name__}: saw {lo.shape[0]} channels along axis {self.ch_axis}, "
                                 f"earlier {self.min_val.data.shape[0]}")
            lo, hi = xp.minimum(lo, self.min_val.data), xp.maximum(hi, self.max_val.data)
        self.min_val, self.max_val = Tensor(lo), Tensor(hi)

    def calculate_qparams(self):
        """(scale, zero_point) for the range observed so far, as PyTorch's observer computes them."""
        if not self.min_val.data.size:
            raise RuntimeError(f"{type(self).__name__}.calculate_qparams: no values observed yet")
        return self._qparams(self.min_val.data, self.max_val.data)


class HistogramObserver(ObserverBase):
    """A histogram of every value seen (``bins`` bins over the range seen so far), and the range
    [lo, hi] that minimises the expected squared quantisation error over it:

        error(lo, hi) = sum over bins b of n_b * e_b,   e_b = step^2 / 12  if lo <= c_b <= hi
                                                        e_b = (c_b - clamp(c_b, lo, hi))^2  otherwise

    with c_b the bin's centre and step = (hi - lo) / (qmax - qmin): rounding costs step^2 / 12
    per value (uniform error in [-step/2, step/2]), clipping costs the squared distance. A wider
    range clips less and rounds coarser. PyTorch's HistogramObserver minimises the same L2 error
    with a finer error model and a greedy search; here the candidates are every pair of tail
    masses clipped from each end (a grid of 0 to 5% of the values), searched exhaustively, so
    the ranges are close to PyTorch's but not equal. When new values fall outside the current
    range, the old counts move to the bin of the wider range that holds their bin's centre.
    """

    TAILS = (0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)

    def __init__(self, bins: int = 2048, dtype=quint8, qscheme=per_tensor_affine, reduce_range=False,
                 quant_min=None, quant_max=None, eps=EPS):
        super().__init__(dtype, qscheme, reduce_range, quant_min, quant_max, eps)
        if qscheme not in (per_tensor_affine, per_tensor_symmetric):
            raise ValueError(f"{type(self).__name__}: qscheme must be per_tensor_affine or per_tensor_symmetric")
        self.bins = int(bins)
        self.register_buffer("histogram", Tensor(backend.as_array([0.0] * self.bins, backend.numpy.float64)))
        self.register_buffer("min_val", Tensor(backend.as_array(math.inf, _F32)))
        self.register_buffer("max_val", Tensor(backend.as_array(-math.inf, _F32)))

    def _observe(self, x):
        xp = get_array_module(x)
        lo, hi = float(x.min()), float(x.max())
        old_lo, old_hi = float(self.min_val.data), float(self.max_val.data)
        new_lo, new_hi = min(lo, old_lo), max(hi, old_hi)
        if new_hi <= new_lo:
            new_hi = new_lo + 1e-8 * max(1.0, abs(new_lo))  # one value seen: a tiny range around it
        hist = self.histogram.data
        if math.isfinite(old_lo) and (new_lo, new_hi) != (old_lo, old_hi):
            width = (old_hi - old_lo) / self.bins
            centres = old_lo + width * (xp.arange(self.bins) + 0.5)
            hist = xp.bincount(self._bin(centres, new_lo, new_hi), weights=hist, minlength=self.bins)
        counts = xp.bincount(self._bin(x.reshape(-1).astype(backend.numpy.float64), new_lo, new_hi),
                             minlength=self.bins)
        self.histogram = Tensor((hist + counts).astype(backend.numpy.float64))
        self.min_val, self.max_val = Tensor(backend.as_array(new_lo, _F32)), Tensor(backend.as_array(new_hi, _F32))

    def _bin(self, values, lo, hi):
        xp = get_array_module(values)
        return xp.clip(((values - lo) * (self.bins / (hi - lo))).astype(backend.numpy.int64), 0, self.bins - 1)

    def best_range(self) -> tuple[float, float]:
        """The (lo, hi) that minimises the error above over the candidate ranges."""
        hist = self.histogram.data
        xp = get_array_module(hist)
        lo0, hi0 = float(self.min_val.data), float(self.max_val.data)
        width = (hi0 - lo0) / self.bins
        centres = lo0 + width * (xp.arange(self.bins) + 0.5)
        cumulative = xp.cumsum(hist) / hist.sum()
        tails = xp.asarray(self.TAILS)
        lows = lo0 + width * xp.searchsorted(cumulative, tails, side="right")  # clip that much mass below
        highs = lo0 + width * (xp.minimum(xp.searchsorted(cumulative, 1 - tails, side="left"), self.bins - 1) + 1)
        lo, hi = xp.meshgrid(lows, highs, indexing="ij")
        lo, hi = lo.reshape(-1, 1), hi.reshape(-1, 1)
        lo, hi = xp.minimum(lo, 0.0), xp.maximum(hi, 0.0)  # what the qparams will cover
        if self.symmetric:
            hi = xp.maximum(-lo, hi)
            lo = -hi
        step = (hi - lo) / (self.quant_max - self.quant_min)
        clipped = centres - xp.clip(centres, lo, hi)
        error = (hist * xp.where(clipped == 0, step ** 2 / 12, clipped ** 2)).sum(axis=1)
        best = int(xp.argmin(error))
        return float(lo[best, 0]), float(hi[best, 0])

    def calculate_qparams(self):
        """(scale, zero_point) for the range observed so far, as PyTorch's observer computes them."""
        if not math.isfinite(float(self.min_val.data)):
            raise RuntimeError(f"{type(self).__name__}.calculate_qparams: no values observed yet")
        lo, hi = self.best_range()
        return self._qparams(backend.as_array(lo, _F32), backend.as_array(hi, _F32))

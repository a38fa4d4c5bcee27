"""Quantised layers: int8 weights, 8-bit activations, products accumulated exactly in integers.

A Linear layer y = x @ W + b, with x ~ S_x (q_x - Z_x) (per tensor, uint8) and
W[:, j] ~ S_w[j] q_w[:, j] (int8, symmetric, one scale per output unit j), is

    y[i, j] ~ S_x S_w[j] * sum_k (q_x[i, k] - Z_x) q_w[k, j] + b[j]
            = S_x S_w[j] * acc[i, j] + b[j]

``acc`` is a sum of products of small integers: int8 hardware computes it in int32. NumPy has
no integer matrix product that uses BLAS, so ``integer_matmul`` computes it with float32 BLAS,
which is exact as long as every number it forms is an integer that float32 represents
exactly, that is at most 2^24 in magnitude. With |q_x - Z_x| <= 255 and |q_w| <= 128, a sum of
k products is at most k * 255 * 128, so the inner dimension is cut into blocks of
k = 2^24 // (255 * 128) = 514 terms: within a block every partial sum is exact in any
summation order (BLAS's blocking and FMA included), and the block results are added in float64,
exact below 2^53. The article's first layer (784 inputs) takes two blocks, the others one.

A convolution is the same product on every patch of the image (im2col, as ``ops.conv``), with
one weight scale per output channel.

These layers are for inference: they record no graph and have no parameters (their state is
buffers). ``DynamicQuantizedLinear`` / ``DynamicQuantizedConv2d`` choose S_x and Z_x from each
batch; ``QuantizedLinear`` / ``QuantizedConv2d`` use the ones fixed by calibration;
``QATLinear`` trains a float Linear through fake quantisation of its input and weight.
"""
from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from ..nn.functional import linear
from ..ops import conv as conv_op
from ..nn.layers import Linear
from ..nn.module import Module
from ..nn.utils import skip_init
from ..nn.utils.prune import is_pruned
from ..nn.utils.sparsity import effective_parameters
from ..tensor import Tensor
from .fake_quantize import default_fake_quant, default_weight_fake_quant
from .observer import PerChannelMinMaxObserver, qparams_from_min_max, quant_range, quantize, quint8

__all__ = ["integer_matmul", "DynamicQuantizedLinear", "QuantizedLinear", "DynamicQuantizedConv2d",
           "QuantizedConv2d", "QATLinear", "FLOAT32_EXACT", "FLOAT64_EXACT"]

FLOAT32_EXACT, FLOAT64_EXACT = 2 ** 24, 2 ** 53


def integer_matmul(a, b, a_max: int | None = None, b_max: int | None = None):
    """``a @ b`` for arrays holding integers (any dtype), exactly, with float32 BLAS: the inner
    dimension in blocks of ``2^24 // (a_max * b_max)`` terms, each exact in float32, their sums
    added in float64 (see the module docstring). ``a_max``, ``b_max`` bound |a| and |b| (found
    from the data if not given). Returns float32 (one block) or float64 (several), every value
    an exact integer; int64, without BLAS, if even float64 could not hold the sums exactly."""
    xp = get_array_module(a)
    a_max = int(xp.abs(a).max()) if a_max is None and a.size else a_max or 0
    b_max = int(xp.abs(b).max()) if b_max is None and b.size else b_max or 0
    inner = a.shape[-1]
    block = FLOAT32_EXACT // max(a_max * b_max, 1)
    if block < 1 or inner * a_max * b_max > FLOAT64_EXACT:
        return a.astype(backend.numpy.int64) @ b.astype(backend.numpy.int64)
    a32, b32 = a.astype(backend.numpy.float32, copy=False), b.astype(backend.numpy.float32)
    if inner <= block:
        return a32 @ b32
    acc = xp.zeros(a.shape[:-1] + b.shape[-1:], dtype=backend.numpy.float64)
    for start in range(0, inner, block):
        acc += a32[..., start:start + block] @ b32[start:start + block]
    return acc


def _weight_qparams(weight, axis: int, observer=None):
    """int8 weight (the observer's grid, per output channel by default) and its scales, one per
    index along ``axis`` (the output channels: 1 for a Linear's (in, out) weight, 0 for a
    convolution's (out, in, kh, kw)). A per-channel observer is pointed at that axis whatever it
    was built with. A ``FakeQuantize`` (after QAT) is called as in training, so a frozen one
    keeps its grid."""
    obs = observer if observer is not None else PerChannelMinMaxObserver(ch_axis=axis)
    inner = getattr(obs, "activation_post_process", obs)
    if hasattr(inner, "ch_axis"):
        inner.ch_axis = axis
        if hasattr(obs, "ch_axis"):
            obs.ch_axis = axis
    obs(weight.detach())
    scale, zero_point = obs.calculate_qparams()
    channels = weight.shape[axis]
    symmetric = not bool(get_array_module(zero_point.data).any(zero_point.data != 0))
    if not symmetric or scale.data.shape[0] not in (1, channels):
        raise ValueError("quantization: weights are quantised symmetrically (zero point 0), per tensor or per "
                         f"output channel (axis {axis} of the weight {tuple(weight.shape)}); the weight observer "
                         f"gave {type(inner).__name__} with {inner.qscheme}")
    scale = get_array_module(scale.data).broadcast_to(scale.data, (channels,)).copy()
    q = quantize(weight.data, scale, 0, inner.quant_min, inner.quant_max, backend.numpy.int8, axis=axis)
    return q, Tensor(scale)


class _QuantizedLayer(Module):
    """What every quantised layer holds and does. Buffers: ``weight`` int8 (the float layer's
    layout), ``weight_scale`` float32 (one per output channel), ``bias`` float32 or None.

    ``_apply(x, S_x, Z_x, qmin, qmax)``: quantise x, accumulate the integer products
    (``_accumulate``, the layer's own), scale back: y = S_x S_w * acc + b, in x's dtype.
    """

    def __init__(self, q_weight: Tensor, weight_scale: Tensor, bias: Tensor | None):
        super().__init__()
        self.register_buffer("weight", q_weight)
        self.register_buffer("weight_scale", weight_scale)
        self.register_buffer("bias", None if bias is None else Tensor(bias.data.astype(backend.numpy.float32)))

    def _apply(self, x, scale, zero_point, quant_min, quant_max):
        data = x.data
        xp = get_array_module(data)
        # q - Z in the input's float dtype (integers in [-255, 255], exact), computed in place
        centred = xp.rint(data * (1.0 / scale))
        centred += zero_point
        xp.clip(centred, quant_min, quant_max, out=centred)
        centred -= zero_point
        acc = self._accumulate(centred, max(zero_point - quant_min, quant_max - zero_point))
        y = acc.astype(data.dtype) * self._per_channel(self.weight_scale.data * backend.numpy.float32(scale)
                                                       ).astype(data.dtype)
        if self.bias is not None:
            y += self._per_channel(self.bias.data).astype(data.dtype)
        return Tensor(y)

    def weight_float(self) -> Tensor:
        """The dequantised weight S_w q_w, float32, in the float layer's layout."""
        shape = [1] * self.weight.ndim
        shape[self.channel_axis] = -1
        return Tensor(self.weight.data.astype(backend.numpy.float32) * self.weight_scale.data.reshape(shape))


class _LinearCore(_QuantizedLayer):
    """y = S_x S_w * integer_matmul(q_x - Z_x, q_w) + b; weight (in, out), channels on axis 1."""

    channel_axis = 1

    def __init__(self, q_weight, weight_scale, bias):
        super().__init__(q_weight, weight_scale, bias)
        self.in_features, self.out_features = q_weight.shape

    def _accumulate(self, centred, centred_max):
        if centred.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}({self.in_features}, {self.out_features}): expected input with "
                             f"{self.in_features} features in its last axis, got shape {tuple(centred.shape)}")
        return integer_matmul(centred, self.weight.data, centred_max, 128)

    @staticmethod
    def _per_channel(v):
        return v  # (out,) broadcasts along the last axis

    @classmethod
    def _layout(cls, mod):
        if not isinstance(mod, Linear):  # QATLinear too
            raise TypeError(f"{cls.__name__}: expected an nn.Linear, got {type(mod).__name__}")
        return {}

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, dtype=qint8, " \
               "qscheme=per_channel_symmetric"


class _Conv2dCore(_QuantizedLayer):
    """The convolution as im2col and one integer product (``ops.conv.Convolution``'s layout):
    Y[n, o] = S_x S_w[o] * sum over the patch of (q_x - Z_x) q_w[o] + b[o]. The padding is 0 in
    real terms, which is the code Z_x, so 0 once centred. Weight (out, in, kh, kw), channels on
    axis 0; groups of 1 only."""

    channel_axis = 0

    def __init__(self, q_weight, weight_scale, bias, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1)):
        super().__init__(q_weight, weight_scale, bias)
        self.out_channels, self.in_channels = q_weight.shape[:2]
        self.kernel_size = tuple(q_weight.shape[2:])
        self.stride, self.pads, self.dilation = tuple(stride), tuple(tuple(p) for p in padding), tuple(dilation)

    def _accumulate(self, centred, centred_max):
        if centred.ndim != 4 or centred.shape[1] != self.in_channels:
            raise ValueError(f"{type(self).__name__}: expected input (N, {self.in_channels}, H, W), got shape "
                             f"{tuple(centred.shape)}")
        xpad = conv_op.pad(centred, self.pads)
        out = tuple(conv_op.output_size(xpad.shape[2 + i], self.kernel_size[i], self.stride[i], self.dilation[i], 0, 0)
                    for i in range(2))
        win = conv_op.windows(xpad, self.kernel_size, self.stride, self.dilation, out)  # (N, C, oh, ow, kh, kw)
        n = centred.shape[0]
        cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(-1, n * out[0] * out[1])          # (C*kh*kw, N*oh*ow)
        acc = integer_matmul(self.weight.data.reshape(self.out_channels, -1), cols, 128, centred_max)
        return acc.reshape((self.out_channels, n) + out).swapaxes(0, 1)                  # (N, O, oh, ow)

    @staticmethod
    def _per_channel(v):
        return v.reshape(-1, 1, 1)  # (O,) against (N, O, oh, ow)

    @classmethod
    def _layout(cls, mod):
        if type(mod).__name__ != "Conv2d" or mod.groups != 1:
            raise TypeError(f"{cls.__name__}: expected an nn.Conv2d with groups=1, got {mod!r}")
        return {"stride": mod.stride, "dilation": mod.dilation,
                "padding": conv_op.padding_pairs(type(mod).__name__, mod.padding, mod.kernel_size, mod.stride,
                                                 mod.dilation)}

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, " \
               f"padding={self.pads}, dtype=qint8, qscheme=per_channel_symmetric"


class _DynamicInput:
    """Each batch's input quantised to uint8 with its own range (PyTorch's dynamic
    quantisation): S_x, Z_x from min(x) and max(x) of this batch, MinMaxObserver's formula with
    0 included. No calibration is needed, at the cost of a min and max over every batch."""

    def forward(self, x):
        data = x.data
        xp = get_array_module(data)
        qmin, qmax = quant_range(quint8)
        scale, zero_point = qparams_from_min_max(data.min() if data.size else xp.zeros(()),
                                                 data.max() if data.size else xp.zeros(()), qmin, qmax, False)
        return self._apply(x, float(scale), int(zero_point), qmin, qmax)

    @classmethod
    def from_float(cls, mod, weight_observer=None):
        """Quantise a float layer's weight (per output channel, int8 symmetric, by default)."""
        weight, bias = _float_weight_and_bias(mod)
        q, scale = _weight_qparams(weight, cls.channel_axis, weight_observer)
        return cls(q, scale, bias, **cls._layout(mod))


class _StaticInput:
    """An input grid fixed by calibration: ``input_scale`` and ``input_zero_point`` buffers
    (uint8 by default), y = S_x S_w * acc(clamp(round(x / S_x) + Z_x, qmin, qmax) - Z_x) + b.

    PyTorch's static layers pass quantised tensors from layer to layer and requantise each
    output with an output observer; here each layer quantises its own input and returns float,
    which rounds the same values (the next layer's input is this one's output after the
    activation) without a quantised tensor type."""

    def _set_input_grid(self, input_scale: float, input_zero_point: int, quant_min: int, quant_max: int):
        self.quant_min, self.quant_max = quant_min, quant_max
        self.register_buffer("input_scale", Tensor(backend.as_array([input_scale], backend.numpy.float32)))
        self.register_buffer("input_zero_point", Tensor(backend.as_array([input_zero_point], backend.numpy.int64)))

    def forward(self, x):
        return self._apply(x, float(self.input_scale.data[0]), int(self.input_zero_point.data[0]),
                           self.quant_min, self.quant_max)

    @classmethod
    def from_observed(cls, mod, input_observer, weight_observer=None):
        """From a calibrated layer: its input observer's S_x and Z_x, its weight quantised."""
        scale, zero_point = input_observer.calculate_qparams()
        weight, bias = _float_weight_and_bias(mod)
        q, w_scale = _weight_qparams(weight, cls.channel_axis, weight_observer)
        layer = cls(q, w_scale, bias, **cls._layout(mod))
        layer._set_input_grid(float(scale.data[0]), int(zero_point.data[0]), input_observer.quant_min,
                              input_observer.quant_max)
        return layer


class DynamicQuantizedLinear(_DynamicInput, _LinearCore):
    """Linear with int8 weights and each batch's input quantised on its own range
    (``torch.ao.nn.quantized.dynamic.Linear``). The output is float."""


class QuantizedLinear(_StaticInput, _LinearCore):
    """Linear with int8 weights and an input grid fixed by calibration (PyTorch's static
    ``QuantizedLinear``, but float in and out; see ``_StaticInput``)."""


class DynamicQuantizedConv2d(_DynamicInput, _Conv2dCore):
    """Conv2d with int8 weights and each batch's input quantised on its own range
    (``torch.ao.nn.quantized.dynamic.Conv2d``). The output is float."""


class QuantizedConv2d(_StaticInput, _Conv2dCore):
    """Conv2d with int8 weights and an input grid fixed by calibration (PyTorch's static
    ``QuantizedConv2d``, but float in and out)."""


class QATLinear(Linear):
    """A float Linear trained through fake quantisation (``torch.ao.nn.qat.Linear``, with the
    input's fake quantiser too, as minigrad's quantised Linear quantises its input):

        y = fake_quant_x(x) @ fake_quant_w(W) + b

    Gradients pass the roundings by the straight-through estimator, so the weights learn to
    work on the int8 grid. ``convert`` turns it into a ``QuantizedLinear``.
    """

    def __init__(self, in_features, out_features, bias=True, qconfig=None, dtype=None, device=None):
        super().__init__(in_features, out_features, bias, dtype, device)
        activation = qconfig.activation if qconfig is not None else default_fake_quant
        weight = qconfig.weight if qconfig is not None else default_weight_fake_quant
        self.qconfig = qconfig
        self.input_fake_quant = activation()
        self.weight_fake_quant = weight()

    def forward(self, x):
        return linear(self.input_fake_quant(x), self.weight_fake_quant(self.weight), self.bias)

    @classmethod
    def from_float(cls, mod: Linear, qconfig=None) -> QATLinear:
        """A QATLinear with ``mod``'s weights and fake quantisation of its weight and output, per ``qconfig``."""
        if is_pruned(mod):
            raise ValueError("QATLinear.from_float: the Linear is pruned; make the pruning permanent first "
                             "(prune.remove(layer, 'weight')), or its zeros would not survive training")
        qat = skip_init(cls, mod.in_features, mod.out_features, mod.bias is not None, qconfig, mod.weight.dtype,
                        mod.weight.device)
        qat.weight, qat.bias = mod.weight, mod.bias  # the same Parameters: an optimiser keeps them
        return qat


def _float_weight_and_bias(mod):
    """What a forward pass uses: for a pruned layer ``weight_orig * weight_mask``."""
    params = effective_parameters(mod)
    return Tensor(params["weight"]), None if params.get("bias") is None else Tensor(params["bias"])

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

These layers are for inference: they record no graph and have no parameters (their state is
buffers). ``DynamicQuantizedLinear`` chooses S_x and Z_x from each batch; ``QuantizedLinear``
uses the ones fixed by calibration; ``QATLinear`` trains a float Linear through fake
quantisation of its input and weight.
"""
from __future__ import annotations

from .. import backend
from ..backend import get_array_module
from ..nn.functional import linear
from ..nn.layers import Linear
from ..nn.module import Module
from ..nn.utils import skip_init
from ..nn.utils.prune import is_pruned
from ..nn.utils.sparsity import effective_parameters
from ..tensor import Tensor
from .fake_quantize import default_fake_quant, default_weight_fake_quant
from .observer import PerChannelMinMaxObserver, qparams_from_min_max, quant_range, quantize, quint8

__all__ = ["integer_matmul", "DynamicQuantizedLinear", "QuantizedLinear", "QATLinear", "FLOAT32_EXACT",
           "FLOAT64_EXACT"]

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


def _weight_qparams(weight, observer=None):
    """int8 weight (the observer's grid, per output channel by default) and its scales. A
    ``FakeQuantize`` (after QAT) is called as in training, so a frozen one keeps its grid."""
    obs = observer if observer is not None else PerChannelMinMaxObserver(ch_axis=1)
    obs(weight.detach())
    scale, zero_point = obs.calculate_qparams()
    obs = getattr(obs, "activation_post_process", obs)
    symmetric = not bool(get_array_module(zero_point.data).any(zero_point.data != 0))
    if not symmetric or scale.data.shape[0] not in (1, weight.shape[1]):
        raise ValueError("quantization: weights are quantised symmetrically (zero point 0), per tensor or per "
                         "output channel (axis 1 of the (in, out) weight); the weight observer gave "
                         f"{type(obs).__name__} with {obs.qscheme}")
    scale = get_array_module(scale.data).broadcast_to(scale.data, (weight.shape[1],)).copy()
    q = quantize(weight.data, scale, 0, obs.quant_min, obs.quant_max, backend.numpy.int8, axis=1)
    return q, Tensor(scale)


class _QuantizedLinearBase(Module):
    """Buffers: ``weight`` int8 (in, out), ``weight_scale`` float32 (out,), ``bias`` float32 or None."""

    def __init__(self, q_weight: Tensor, weight_scale: Tensor, bias: Tensor | None):
        super().__init__()
        self.in_features, self.out_features = q_weight.shape
        self.register_buffer("weight", q_weight)
        self.register_buffer("weight_scale", weight_scale)
        self.register_buffer("bias", None if bias is None else Tensor(bias.data.astype(backend.numpy.float32)))

    def _linear(self, x, scale, zero_point, quant_min, quant_max):
        """S_x S_w * integer_matmul(q_x - Z_x, q_w) + b, in x's dtype."""
        data = x.data
        if data.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}({self.in_features}, {self.out_features}): expected input with "
                             f"{self.in_features} features in its last axis, got shape {tuple(data.shape)}")
        xp = get_array_module(data)
        # q - Z in the input's float dtype (integers in [-255, 255], exact), computed in place
        centred = xp.rint(data * (1.0 / scale))
        centred += zero_point
        xp.clip(centred, quant_min, quant_max, out=centred)
        centred -= zero_point
        acc = integer_matmul(centred, self.weight.data, max(zero_point - quant_min, quant_max - zero_point), 128)
        y = acc.astype(data.dtype) * (self.weight_scale.data * backend.numpy.float32(scale)).astype(data.dtype)
        if self.bias is not None:
            y += self.bias.data.astype(data.dtype)
        return Tensor(y)

    def weight_float(self) -> Tensor:
        """The dequantised weight S_w q_w, float32 (in, out)."""
        return Tensor(self.weight.data.astype(backend.numpy.float32) * self.weight_scale.data)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, dtype=qint8, " \
               "qscheme=per_channel_symmetric"


class DynamicQuantizedLinear(_QuantizedLinearBase):
    """Linear with int8 weights; each batch's input is quantised to uint8 with its own range
    (PyTorch's ``torch.ao.nn.quantized.dynamic.Linear``):

        S_x, Z_x from min(x) and max(x) of this batch (MinMaxObserver's formula, 0 included)
        y = S_x S_w * integer_matmul(q_x - Z_x, q_w) + b

    No calibration is needed, at the cost of a min and max over every batch. The output is float.
    """

    def forward(self, x):
        data = x.data
        xp = get_array_module(data)
        qmin, qmax = quant_range(quint8)
        scale, zero_point = qparams_from_min_max(data.min() if data.size else xp.zeros(()),
                                                 data.max() if data.size else xp.zeros(()), qmin, qmax, False)
        return self._linear(x, float(scale), int(zero_point), qmin, qmax)

    @classmethod
    def from_float(cls, mod: Linear, weight_observer=None) -> DynamicQuantizedLinear:
        """Quantise a float Linear's weight (per output channel, int8 symmetric, by default)."""
        weight, bias = _float_weight_and_bias(mod)
        q, scale = _weight_qparams(weight, weight_observer)
        return cls(q, scale, bias)


class QuantizedLinear(_QuantizedLinearBase):
    """Linear with int8 weights and an input grid fixed by calibration (``input_scale``,
    ``input_zero_point`` buffers, uint8 by default):

        y = S_x S_w * integer_matmul(clamp(round(x / S_x) + Z_x, qmin, qmax) - Z_x, q_w) + b

    PyTorch's static ``QuantizedLinear`` passes quantised tensors from layer to layer and
    requantises its output with an output observer; here each layer quantises its own input and
    returns float, which rounds the same values (the next layer's input is this one's output
    after the activation) without a quantised tensor type.
    """

    def __init__(self, q_weight, weight_scale, bias, input_scale: float, input_zero_point: int,
                 quant_min: int = 0, quant_max: int = 255):
        super().__init__(q_weight, weight_scale, bias)
        self.quant_min, self.quant_max = quant_min, quant_max
        self.register_buffer("input_scale", Tensor(backend.as_array([input_scale], backend.numpy.float32)))
        self.register_buffer("input_zero_point", Tensor(backend.as_array([input_zero_point], backend.numpy.int64)))

    def forward(self, x):
        return self._linear(x, float(self.input_scale.data[0]), int(self.input_zero_point.data[0]),
                            self.quant_min, self.quant_max)

    @classmethod
    def from_observed(cls, mod: Linear, input_observer, weight_observer=None) -> QuantizedLinear:
        """From a calibrated Linear: its input observer's S_x and Z_x, its weight quantised."""
        scale, zero_point = input_observer.calculate_qparams()
        weight, bias = _float_weight_and_bias(mod)
        q, w_scale = _weight_qparams(weight, weight_observer)
        return cls(q, w_scale, bias, float(scale.data[0]), int(zero_point.data[0]),
                   input_observer.quant_min, input_observer.quant_max)


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
        if is_pruned(mod):
            raise ValueError("QATLinear.from_float: the Linear is pruned; make the pruning permanent first "
                             "(prune.remove(layer, 'weight')), or its zeros would not survive training")
        qat = skip_init(cls, mod.in_features, mod.out_features, mod.bias is not None, qconfig, mod.weight.dtype,
                        mod.weight.device)
        qat.weight, qat.bias = mod.weight, mod.bias  # the same Parameters: an optimiser keeps them
        return qat


def _float_weight_and_bias(mod: Linear):
    """What a forward pass uses: for a pruned Linear ``weight_orig * weight_mask``."""
    params = effective_parameters(mod)
    return Tensor(params["weight"]), None if params.get("bias") is None else Tensor(params["bias"])

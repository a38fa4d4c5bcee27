"""Fake quantisation: round to the int8 grid and back in float, for quantisation-aware training.

An 8-bit affine quantiser maps a real value r to an integer q and back (``minigrad.quantization``):

    q = clamp(round(r / S) + Z, qmin, qmax)        S > 0 the scale, Z the integer zero point
    r ~ S (q - Z)

Fake quantisation does both in one op, so a float model computes with exactly the values an
int8 model would hold, and training learns weights that survive the rounding.
"""
from .. import autograd
from ..autograd import Function
from ..backend import get_array_module


class FakeQuantize(Function):
    """y = S (clamp(round(x / S) + Z, qmin, qmax) - Z), elementwise.

    Shapes: x any; S and Z numbers (per tensor) or arrays broadcast against x (per channel: the
    channel's axis keeps its length, the others are 1). x / S is computed as x * (1 / S) and
    round is half to even (``rint``), as PyTorch's kernel.

    round has derivative 0 almost everywhere, which would stop all learning. The straight-through
    estimator (Bengio et al. 2013) passes the gradient through the rounding as if it were the
    identity, and through the clamp as the clamp's own derivative:

        dx = G * [qmin <= round(x / S) + Z <= qmax]

    so values inside the representable range get G and values that saturate get 0. This is a
    choice, not the derivative of the forward, which is why the op is not gradchecked. S and Z
    are constants here (no gradient), as in ``torch.fake_quantize_per_tensor_affine``.
    """

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        xp = get_array_module(x)
        q = xp.rint(x * (1.0 / scale)) + zero_point
        inside = (q >= quant_min) & (q <= quant_max)
        ctx.save_for_backward(inside)
        return ((xp.clip(q, quant_min, quant_max) - zero_point) * scale).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        (inside,) = ctx.saved_tensors
        return grad_output * inside, None, None, None, None


def _check_range(name, quant_min, quant_max):
    if not (isinstance(quant_min, int) and isinstance(quant_max, int) and quant_min <= 0 <= quant_max):
        raise ValueError(f"{name}: expected integers quant_min <= 0 <= quant_max (e.g. -128, 127 for int8, "
                         f"0, 255 for uint8), got quant_min={quant_min!r}, quant_max={quant_max!r}")


def fake_quantize_per_tensor_affine(input, scale: float, zero_point: int, quant_min: int, quant_max: int):
    """``input`` rounded to the grid S (q - Z), q in [quant_min, quant_max]: one scale and zero
    point for the whole tensor (``torch.fake_quantize_per_tensor_affine``). See ``FakeQuantize``."""
    _check_range("fake_quantize_per_tensor_affine", quant_min, quant_max)
    scale, zero_point = float(scale), int(zero_point)
    if not scale > 0:
        raise ValueError(f"fake_quantize_per_tensor_affine: scale must be positive, got {scale}")
    if not quant_min <= zero_point <= quant_max:
        raise ValueError(f"fake_quantize_per_tensor_affine: zero_point {zero_point} is outside "
                         f"[{quant_min}, {quant_max}]")
    return FakeQuantize.apply(input, scale, zero_point, quant_min, quant_max)


def fake_quantize_per_channel_affine(input, scale, zero_point, axis: int, quant_min: int, quant_max: int):
    """``input`` rounded to the grid S_c (q - Z_c) with one scale and zero point per index c
    along ``axis`` (``torch.fake_quantize_per_channel_affine``; a minigrad Linear's output
    channels are axis 1 of its (in, out) weight). See ``FakeQuantize``."""
    name = "fake_quantize_per_channel_affine"
    _check_range(name, quant_min, quant_max)
    s = scale.data if isinstance(scale, autograd.Tensor) else scale
    z = zero_point.data if isinstance(zero_point, autograd.Tensor) else zero_point
    if not -input.ndim <= axis < input.ndim:
        raise IndexError(f"{name}: axis {axis} is out of range for an input of shape {input.shape}")
    axis %= input.ndim
    if s.shape != (input.shape[axis],) or z.shape != s.shape:
        raise ValueError(f"{name}: scale {s.shape} and zero_point {z.shape} must both have shape "
                         f"({input.shape[axis]},), one per channel along axis {axis} of the input {input.shape}")
    xp = get_array_module(input.data)
    if not bool(xp.all(s > 0)):
        raise ValueError(f"{name}: every scale must be positive")
    if not bool(xp.all((z >= quant_min) & (z <= quant_max))):
        raise ValueError(f"{name}: a zero_point is outside [{quant_min}, {quant_max}]")
    shape = [1] * input.ndim
    shape[axis] = input.shape[axis]
    return FakeQuantize.apply(input, s.astype(input.dtype).reshape(shape), z.astype(input.dtype).reshape(shape),
                              quant_min, quant_max)

"""Initialisers, ``nn.init.*_``: fill a tensor in place with PyTorch's distributions and return it.

    model.apply(lambda m: nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if isinstance(m, nn.Linear) else None)

Random numbers come from minigrad's generator (reset by ``minigrad.manual_seed``), or from the
NumPy ``generator=`` given. They are drawn on the host in float64, then cast to the tensor's
dtype and copied to its device, so a seed gives the same numbers on a CPU and on a GPU. The
writes record nothing in the graph, as PyTorch's run under ``no_grad``.

Fans, and minigrad's Linear. PyTorch reads a weight's fans from its layout
``(out, in, *kernel)``. minigrad's ``Linear`` stores its weight transposed, (in, out), so that
the layer reads ``x @ W``; here a 2-D tensor is read in that layout, fan_in = shape[0] and
fan_out = shape[1], and ``kaiming_uniform_(layer.weight)`` draws from the same distribution as
PyTorch's does for the same layer. A tensor of 3 or more axes is read in PyTorch's convolution
layout ``(out, in, *kernel)``: ``fan_in = in * prod(kernel)``, ``fan_out = out * prod(kernel)``.
"""
from __future__ import annotations

import math
import warnings

from .. import backend, factories
from ..tensor import Tensor


def _check(name, tensor):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a minigrad Tensor (e.g. layer.weight), got {type(tensor).__name__}")


def _write(tensor, host):
    """Copy the host array ``host`` into ``tensor``'s data in place, in its dtype and on its device."""
    tensor.data[...] = backend.to_device(host.astype(tensor.dtype), tensor.device)
    return tensor


def _generator(generator):
    return factories.default_generator() if generator is None else generator


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which an activation shrinks the variance of its input, as PyTorch's table:
    1 for linear layers and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope**2))
    for leaky_relu (slope ``param``, default 0.01), 3/4 for selu."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                        "conv_transpose3d", "sigmoid"):
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of 'linear', "
                     "'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): for a 2-D (in, out) weight (minigrad's Linear) the two sides; for an
    ``(out, in, *kernel)`` weight, in and out times the kernel's size (see the module docstring)."""
    _check("calculate_fan_in_and_fan_out", tensor)
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"calculate_fan_in_and_fan_out: fan in and fan out can not be computed for a tensor "
                         f"with fewer than 2 dimensions, got shape {shape}")
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


# PyTorch code calls it by its private name (custom layers' reset_parameters do).
_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of the uniform distribution on [a, b)."""
    _check("uniform_", tensor)
    return _write(tensor, _generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with samples of the normal distribution N(mean, std**2)."""
    _check("normal_", tensor)
    return _write(tensor, _generator(generator).normal(mean, std, tensor.shape))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with samples of N(mean, std**2) restricted to [a, b] (absolute bounds, not in stds).

    As PyTorch: where [a, b] holds more than 30% of the normal's mass, values outside are
    redrawn until none is; otherwise candidates are drawn uniformly on [a, b] and each kept with
    probability pdf(x) / pdf(mode) (rejection sampling). Both give exactly the truncated normal.
    """
    _check("trunc_normal_", tensor)
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; the distribution of values may "
                      "be incorrect (as PyTorch warns)", UserWarning, stacklevel=2)
    gen = _generator(generator)
    shape = tensor.shape

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
        values = gen.normal(mean, std, shape)
        outside = (values < a) | (values > b)
        while outside.any():
            values[outside] = gen.normal(mean, std, int(outside.sum()))
            outside = (values < a) | (values > b)
    else:
        peak = max(a, min(mean, b))
        values = gen.uniform(a, b, shape)
        pending = values == values  # all True, of the right shape
        while pending.any():
            n = int(pending.sum())
            candidates = gen.uniform(a, b, n)
            keep = gen.random(n) * math.exp(-0.5 * ((peak - mean) / std) ** 2) \
                < backend.get_array_module(candidates).exp(-0.5 * ((candidates - mean) / std) ** 2)
            accepted = pending.copy()
            accepted[pending] = keep
            values[accepted] = candidates[keep]
            pending &= ~accepted
    return _write(tensor, values)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check("constant_", tensor)
    tensor.data[...] = val
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1 in place, without recording a gradient; returns it."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0 in place, without recording a gradient; returns it."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal of a rectangle: a square
    identity read either way round, so the layout does not matter)."""
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    xp = backend.get_array_module(tensor.data)
    tensor.data[...] = xp.eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype)
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check("xavier_normal_", tensor)
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _zero_elements(tensor):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in or fan_out (``mode``)."""
    _check("kaiming_uniform_", tensor)
    if _zero_elements(tensor):
        return tensor
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He normal: N(0, std**2), std = gain / sqrt(fan), gain and fan as in ``kaiming_uniform_``."""
    _check("kaiming_normal_", tensor)
    if _zero_elements(tensor):
        return tensor
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode)), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix, times ``gain``: the Q of the QR decomposition of a normal
    sample, with the signs of R's diagonal folded in so that Q is uniform (Haar) over the
    orthogonal matrices. Axes after the first are flattened. Transposing an orthogonal matrix
    gives one, so minigrad's (in, out) layout changes nothing here."""
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, got {tensor.shape}")
    if tensor.data.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = _generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    xp = backend.get_array_module(flat)
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(tensor.shape))

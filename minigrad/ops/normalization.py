"""Batch normalisation: each channel standardised over the batch, then scaled and shifted."""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import get_array_module


class BatchNorm(Function):
    """y = w * (x - mean) / sqrt(var + eps) + b per channel (``torch.nn.functional.batch_norm``).

    Shapes: x and G ``(N, C)`` or ``(N, C, *spatial)``; w, b, running_mean, running_var (C,). The
    statistics are over every axis but the channel's, m = N * prod(spatial) values each.

    Training (batch statistics): mean and var (biased, divided by m) of this batch;
        xhat = (x - mean) / sqrt(var + eps),   y = w * xhat + b
        dw = sum(G * xhat),   db = sum(G)                       (sums over the m values)
        dx = (w / sqrt(var + eps)) * (G - mean(G) - xhat * mean(G * xhat))
    mean and var depend on every x of the channel, hence the two subtracted means: the first
    is the path through the mean, the second through the variance (derived in
    docs/convolution.md). If running statistics are given they are updated in place, as
    PyTorch does: running = (1 - momentum) * running + momentum * batch, with the unbiased
    variance var * m / (m - 1).

    Evaluation (running statistics): mean and var are constants, so the op is affine in x:
        dx = G * w / sqrt(var + eps),   dw and db as above.
    """

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, training, momentum, eps):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)  # a per-channel vector broadcast against x
        if training:
            mean = x.mean(axis=axes)
            centred = x - mean.reshape(shape)
            var = (centred * centred).mean(axis=axes)
            if running_mean is not None:
                m = x.size // x.shape[1]
                running_mean[...] = (1 - momentum) * running_mean + momentum * mean
                running_var[...] = (1 - momentum) * running_var + momentum * var * (m / (m - 1))
        else:
            mean, var = running_mean, running_var
            centred = x - mean.reshape(shape)
        inv_std = 1 / xp.sqrt(var + eps)
        xhat = centred * inv_std.reshape(shape)
        ctx.save_for_backward(xhat, inv_std, w)
        ctx.training, ctx.axes, ctx.shape = training, axes, shape
        y = xhat if w is None else xhat * w.reshape(shape)
        return y if b is None else y + b.reshape(shape)

    @staticmethod
    def backward(ctx, grad_output):
        xhat, inv_std, w = ctx.saved_tensors
        axes, shape, g = ctx.axes, ctx.shape, grad_output
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        db = g.sum(axis=axes)
        dw = (g * xhat).sum(axis=axes)
        dx = None
        if needs_x:
            scale = inv_std if w is None else w * inv_std
            if ctx.training:
                m = g.size // g.shape[1]
                dx = scale.reshape(shape) * (g - (db / m).reshape(shape) - xhat * (dw / m).reshape(shape))
            else:
                dx = g * scale.reshape(shape)
        return dx, (dw if needs_w else None), (db if needs_b else None), None, None, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation of ``input`` (N, C, *), as ``torch.nn.functional.batch_norm``.

    ``training=True`` normalises with this batch's statistics and updates ``running_mean`` and
    ``running_var`` (when given) in place; ``training=False`` uses them. See ``BatchNorm``.
    """
    name = "batch_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a minigrad Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{name}: expected input of shape (N, C) or (N, C, ...), got {input.shape}")
    c = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{name}: {what} must have shape ({c},), one value per channel of input "
                             f"{input.shape}, got {tuple(t.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError(f"{name}: training=False needs running_mean and running_var (the statistics to "
                         "normalise with); pass them, or training=True to use the batch's")
    if training and input.numel() // max(c, 1) <= 1:
        raise ValueError(f"{name}: expected more than 1 value per channel when training, got input of shape "
                         f"{input.shape}; a batch of one has no spread to normalise by (use a larger batch, "
                         "or eval mode)")
    stats = tuple(t.data if isinstance(t, Tensor) else t for t in (running_mean, running_var))
    return BatchNorm.apply(input, weight, bias, *stats, bool(training), momentum, eps)

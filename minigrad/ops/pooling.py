"""Pooling: the maximum or the mean of each window, over the same windows as a convolution.

The windows are those of ``ops/conv.py``, visited one kernel offset at a time; each backward
adds every window's gradient back onto the pixels it read, so overlapping windows add up.
"""
from __future__ import annotations

import math

from ..autograd import Function, Tensor
from ..backend import get_array_module
from .conv import offsets, pad, tuple_of, unpad, windows


class MaxPool(Function):
    """y = the maximum of each window (``torch.nn.functional.max_pool2d``; 1-D alike).

    Shapes: x (N, C, H, W), y and G (N, C, Ho, Wo), windows of kh x kw cells (with stride,
    dilation, and padding that never wins: -inf).

        y[n, c, i, j] = max over (a, e) of x[n, c, i*s + a*d, j*s + e*d]
        dx = G added at each window's maximum, zeros elsewhere

    Ties: the gradient goes to the first maximum in the window, reading row by row, which is
    the element PyTorch picks. Both passes visit the window one kernel offset at a time (kh*kw
    array operations, none per pixel): forward keeps the running maximum; backward hands G to
    the cells equal to y at the first offset where they are, and marks those windows as
    served. A pixel that is the maximum of several overlapping windows collects the sum of
    their gradients. A NaN in a window makes y NaN, as in PyTorch (whose gradient then goes
    to the NaN; here it goes nowhere). Saves x (padded) and y.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, dilation, out):
        xp = get_array_module(x)
        xpad = pad(x, pads, value=-xp.inf)
        y = None
        for _, source in offsets(kernel, stride, dilation, out):
            if y is None:
                y = xpad[source].copy(order="K")  # keep x's memory layout (a conv's output is channel-first)
            else:
                xp.maximum(y, xpad[source], out=y)
        ctx.save_for_backward(xpad, y)
        ctx.kernel, ctx.stride, ctx.pads, ctx.dilation = kernel, stride, pads, dilation
        return y

    @staticmethod
    def backward(ctx, grad_output):
        xpad, y = ctx.saved_tensors
        xp = get_array_module(y)
        dx = xp.zeros_like(xpad)
        # windows that do not overlap write each cell at most once: write instead of add
        overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(ctx.kernel, ctx.stride, ctx.dilation))
        steps = list(offsets(ctx.kernel, ctx.stride, ctx.dilation, y.shape[2:]))
        unserved = None  # windows whose maximum has not been found yet
        for i, (_, source) in enumerate(steps):
            hit = xpad[source] == y
            if unserved is not None:
                hit &= unserved
            if i < len(steps) - 1:
                unserved = ~hit if unserved is None else unserved ^ hit
            if overlap:
                dx[source] += grad_output * hit
            else:
                xp.multiply(grad_output, hit, out=dx[source])
        return unpad(dx, ctx.pads), None, None, None, None, None


class AvgPool(Function):
    """y = the mean of each window (``torch.nn.functional.avg_pool2d``; 1-D alike).

    Shapes as ``MaxPool``. With ``count`` the number each window divides by (its kh*kw cells
    by default; fewer where a window hangs over the padding and count_include_pad=False, or
    over the edge in ceil mode; a fixed number with divisor_override):

        y = sum over the window of x / count
        dx = G / count added onto every cell of its window

    Each cell of a window contributed x / count, so each gets G / count back.
    """

    @staticmethod
    def forward(ctx, x, kernel, stride, pads, out, count):
        xpad = pad(x, pads)
        ones = (1,) * len(kernel)
        total = None
        for _, source in offsets(kernel, stride, ones, out):
            total = xpad[source].copy() if total is None else total + xpad[source]
        ctx.shapes, ctx.kernel, ctx.stride, ctx.pads, ctx.count = xpad.shape, kernel, stride, pads, count
        return total / count

    @staticmethod
    def backward(ctx, grad_output):
        g = grad_output / ctx.count
        dx = get_array_module(g).zeros(ctx.shapes, dtype=g.dtype)
        for _, target in offsets(ctx.kernel, ctx.stride, (1,) * len(ctx.kernel), g.shape[2:]):
            dx[target] += g
        return unpad(dx, ctx.pads), None, None, None, None, None


class AdaptiveAvgPool(Function):
    """y = the mean over an (oh, ow) grid of windows that tile the image
    (``torch.nn.functional.adaptive_avg_pool2d``).

    Window i along an axis of n cells covers cells floor(i*n/o) to ceil((i+1)*n/o) - 1, as in
    PyTorch. Averaging over rows and then over columns is a product with two averaging
    matrices: Ph (oh, H) with Ph[i, h] = 1/len(window i) for h in window i, Pw (ow, W) alike.

        y = Ph @ x @ Pw.T          per image and channel: (oh, H) @ (H, W) @ (W, ow)
        dx = Ph.T @ G @ Pw         the adjoint of each product, as for a linear layer

    Output 1 x 1 is the global average pooling of a ResNet: Ph and Pw are rows of 1/H and 1/W.
    """

    @staticmethod
    def forward(ctx, x, out):
        xp = get_array_module(x)
        ph, pw = (averaging_matrix(xp, n, o, x.dtype) for n, o in zip(x.shape[2:], out))
        ctx.save_for_backward(ph, pw)
        return ph @ x @ pw.T

    @staticmethod
    def backward(ctx, grad_output):
        ph, pw = ctx.saved_tensors
        return ph.T @ grad_output @ pw, None


def averaging_matrix(xp, n: int, o: int, dtype):
    """(o, n): row i averages cells floor(i*n/o) .. ceil((i+1)*n/o) - 1."""
    p = xp.zeros((o, n), dtype=dtype)
    for i in range(o):
        start, end = (i * n) // o, -(-(i + 1) * n // o)
        p[i, start:end] = 1 / (end - start)
    return p


# -- the functional forms ------------------------------------------------------------------

def pooling_geometry(name, x, dims, kernel_size, stride, padding, dilation, ceil_mode):
    """Check a pooling call and return (kernel, stride, pads, dilation, out) with PyTorch's sizes.

    ``pads[i] = (low, high)``: ``high`` grows past ``padding`` where ceil_mode lets a last
    window hang over the edge.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a minigrad Tensor, got {type(x).__name__}")
    if x.ndim != dims + 2:
        layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ValueError(f"{name}: expected a {dims + 2}-D input {layout}, got shape {x.shape}")
    kernel = tuple_of(kernel_size, dims, "kernel_size", name)
    stride = kernel if stride is None or stride == () else tuple_of(stride, dims, "stride", name)
    padding = tuple_of(padding, dims, "padding", name)
    dilation = tuple_of(dilation, dims, "dilation", name)
    if any(v < 1 for v in kernel + stride + dilation):
        raise ValueError(f"{name}: kernel_size, stride and dilation must be positive, got "
                         f"{kernel}, {stride}, {dilation}")
    if any(p < 0 or p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(f"{name}: padding {padding} must be at least 0 and at most half the kernel "
                         f"{kernel}, as in PyTorch")
    out, pads = [], []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = n + 2 * p - d * (k - 1) - 1
        o = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:  # a last window must start inside the input or left padding
            o -= 1
        if o < 1:
            raise ValueError(f"{name}: the window {kernel} (dilation {dilation}) is larger than the padded "
                             f"input {x.shape} with padding {padding}; use a smaller kernel or more padding")
        out.append(o)
        pads.append((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)))
    return kernel, stride, tuple(pads), dilation, tuple(out)


def max_pool(name, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    """Max pooling over the last ``dims`` axes, the shared body of ``max_pool1d``/``max_pool2d`` (``name``
    is for errors)."""
    if return_indices:
        raise NotImplementedError(f"{name}: return_indices=True is not supported in minigrad; the indices "
                                  "stay inside the op (MaxPool saves them for its backward)")
    geometry = pooling_geometry(name, input, dims, kernel_size, stride, padding, dilation, ceil_mode)
    return MaxPool.apply(input, *geometry)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling of ``input`` (N, C, L), as ``torch.nn.functional.max_pool1d``. See ``MaxPool``."""
    return max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling of ``input`` (N, C, H, W), as ``torch.nn.functional.max_pool2d``. See ``MaxPool``."""
    return max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool(name, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Average pooling over the last ``dims`` axes, the shared body of ``avg_pool1d``/``avg_pool2d``
    (``name`` is for errors)."""
    kernel, stride, pads, _, out = pooling_geometry(name, input, dims, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None:
        if not isinstance(divisor_override, int) or divisor_override < 1:
            raise ValueError(f"{name}: divisor_override must be a positive int, got {divisor_override!r}")
        count = divisor_override
    else:
        count = window_counts(input.data, kernel, stride, pads, out, count_include_pad)
    return AvgPool.apply(input, kernel, stride, pads, out, count)


def window_counts(x, kernel, stride, pads, out, count_include_pad):
    """``(*out)``: how many cells each window averages, as PyTorch counts them: the padding
    counts when ``count_include_pad``, the ceil-mode overhang past the padding never does."""
    xp = get_array_module(x)
    dims = len(kernel)
    mask = xp.zeros((1, 1) + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)), dtype=x.dtype)
    inside = tuple(slice(0, n + 2 * lo) if count_include_pad else slice(lo, lo + n)
                   for n, (lo, _) in zip(x.shape[2:], pads))
    mask[(0, 0) + inside] = 1
    return windows(mask, kernel, stride, (1,) * dims, out).sum(axis=tuple(range(-dims, 0)))[0, 0]


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Average pooling of ``input`` (N, C, L), as ``torch.nn.functional.avg_pool1d``. See ``AvgPool``."""
    return avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling of ``input`` (N, C, H, W), as ``torch.nn.functional.avg_pool2d``. See ``AvgPool``."""
    return avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling of ``input`` (N, C, H, W) down to ``output_size`` (an int, or a pair whose
    entries may be None for "keep this size"), as ``torch.nn.functional.adaptive_avg_pool2d``."""
    name = "adaptive_avg_pool2d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a minigrad Tensor, got {type(input).__name__}")
    if input.ndim != 4:
        raise ValueError(f"{name}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    sizes = (output_size, output_size) if output_size is None or isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
    out = tuple(n if o is None else o for n, o in zip(input.shape[2:], sizes))
    if not all(isinstance(o, int) and o >= 1 for o in out):
        raise ValueError(f"{name}: output_size must hold positive ints (or None), got {output_size!r}")
    return AdaptiveAvgPool.apply(input, out)

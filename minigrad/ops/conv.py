"""Convolution: the linear layer applied to every patch of the image (im2col).

Cut the padded input into one row per output position, each row the patch the kernel sees
there (``im2col``); then the convolution is one matrix product with the flattened kernels, and
its backward is the linear layer's: ``dW = cols.T @ G``, ``dcols = G @ W``, and ``col2im``
adds each row of ``dcols`` back onto the pixels its patch came from.

The helpers are shared with pooling (``ops/pooling.py``), which uses the same windows.
"""
from __future__ import annotations

import itertools
import math

from ..autograd import Function, Tensor
from ..backend import get_array_module


# -- windows: the strided view and its adjoint ---------------------------------------------

def tuple_of(value, dims: int, what: str, name: str) -> tuple:
    """``value`` (an int, or a tuple of ``dims`` ints) as a tuple of ``dims`` ints."""
    items = (value,) * dims if isinstance(value, int) else tuple(value)
    if len(items) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {dims} ints, got {value!r}")
    return items


def output_size(size: int, kernel: int, stride: int, dilation: int, low: int, high: int) -> int:
    """How many windows fit along one axis: (size + low + high - dilation*(kernel-1) - 1) // stride + 1."""
    return (size + low + high - dilation * (kernel - 1) - 1) // stride + 1


def pad(x, pads, value=0):
    """``x`` of shape ``(N, C, *spatial)`` with ``pads[i] = (low, high)`` cells of ``value`` around
    spatial axis i."""
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    xp = get_array_module(x)
    shape = x.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
    out = xp.full(shape, value, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[2:], pads))] = x
    return out


def unpad(x, pads):
    """The inverse of ``pad``: the interior of ``x`` (a view)."""
    return x[(slice(None), slice(None)) + tuple(slice(lo, n - hi) for n, (lo, hi) in zip(x.shape[2:], pads))]


def windows(x, kernel, stride, dilation, out):
    """A view of ``x``, shape ``(N, C, *spatial)``, as ``(N, C, *out, *kernel)``: element
    ``[n, c, i, j, a, e]`` is ``x[n, c, i*stride + a*dilation, j*stride + e*dilation]`` (2-D).
    No copy: only the strides change."""
    steps = x.strides[2:]
    strides = x.strides[:2] + tuple(s * t for s, t in zip(steps, stride)) + \
        tuple(s * d for s, d in zip(steps, dilation))
    return get_array_module(x).lib.stride_tricks.as_strided(x, x.shape[:2] + tuple(out) + tuple(kernel), strides)


def offsets(kernel, stride, dilation, out):
    """For each kernel offset, in row-major order: (offset, the slices of the input that the
    windows' cells at that offset read); ``x[slices]`` has shape ``(N, C, *out)``."""
    per_axis = [[(o, slice(o * d, o * d + s * (n - 1) + 1, s)) for o in range(k)]
                for k, s, d, n in zip(kernel, stride, dilation, out)]
    everything = (slice(None), slice(None))
    for picks in itertools.product(*per_axis):
        yield tuple(o for o, _ in picks), everything + tuple(cut for _, cut in picks)


def col2im(dwin, shape, stride, dilation):
    """The adjoint of ``windows``: add each window's values back onto the pixels it was read
    from, giving an array of ``shape`` ``(N, C, *spatial)``. ``dwin`` is ``(N, C, *out, *kernel)``.

    Windows overlap when stride < kernel, so a pixel collects the sum over every window that
    read it. One strided ``+=`` per kernel offset (kh * kw of them), none per pixel.
    """
    dims = len(stride)
    out, kernel = dwin.shape[2:2 + dims], dwin.shape[2 + dims:]
    # laid out channel-first in memory, as the convolution's own output: the gradient then
    # reaches the layer before in the layout of that layer's output, and needs no copy there
    dx = get_array_module(dwin).zeros((shape[1], shape[0]) + tuple(shape[2:]), dtype=dwin.dtype).swapaxes(0, 1)
    for offset, target in offsets(kernel, stride, dilation, out):
        dx[target] += dwin[(Ellipsis,) + offset]
    return dx


# -- the op --------------------------------------------------------------------------------

class Convolution(Function):
    """Y = conv(X, W) + b over 1 or 2 spatial axes, as ``torch.nn.functional.conv2d`` (cross-correlation).

    Shapes (2-D; 1-D drops an axis): X (N, C, H, W), weight (O, C/g, kh, kw), b (O,),
    Y and G (N, O, Ho, Wo), with g groups, Ho = (H + pad_h - dil*(kh - 1) - 1) // stride + 1.

        Y[n, o, i, j] = b[o] + sum_{c, a, e} X[n, c, i*s + a*d, j*s + e*d] * weight[o, c, a, e]

    im2col: ``cols`` (C*kh*kw, N*Ho*Wo) has one column per output position (n, i, j), holding
    the patch the kernel sees there, flattened as the kernel is. With Wm = weight.reshape(O,
    C*kh*kw) every output is a kernel times a patch, so the layer is one matrix product,

        Y = Wm @ cols + b                       (O, N*Ho*Wo): the linear layer on every patch

    and the backward is the linear layer's, with Gm = G moved to (O, N*Ho*Wo):

        dW = Gm @ cols.T                        (O, N*Ho*Wo) @ (N*Ho*Wo, C*kh*kw)
        db = Gm.sum(1)                          b was added at every position of every image
        dcols = Wm.T @ Gm                       (C*kh*kw, O) @ (O, N*Ho*Wo)
        dX = col2im(dcols)                      each patch's gradient added back onto its pixels

    (The course's Z = X @ W + b with one example per row is the transpose of the same
    product; patches are columns here because copying them in this order is several times
    faster.) A pixel read by several patches (overlapping windows) gets the sum of their
    gradients, exactly as a tensor used twice does. The 1/N of a mean loss is already in G, as
    for ``Linear``. With g groups the channels and outputs split into g blocks and each block
    is its own product (depthwise: g = C). ``cols`` is saved for dW and freed once backward
    has run. Y is returned as a transposed view of the (O, N, Ho, Wo) product.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        dims = x.ndim - 2
        n, c = x.shape[:2]
        o, kernel = w.shape[0], w.shape[2:]
        xpad = pad(x, pads)
        out = tuple(output_size(xpad.shape[2 + i], kernel[i], stride[i], dilation[i], 0, 0) for i in range(dims))
        spatial, taps = tuple(range(2, 2 + dims)), tuple(range(2 + dims, 2 + 2 * dims))
        win = windows(xpad, kernel, stride, dilation, out)            # (N, C, *out, *kernel), a view
        cols = win.transpose((1,) + taps + (0,) + spatial).reshape(groups, -1, n * math.prod(out))  # the copy
        wg = w.reshape(groups, o // groups, -1)                         # (g, O/g, C/g*K)
        y = (wg @ cols).reshape((o, n) + out)                           # (O, N, *out)
        if b is not None:
            y += b.reshape((o, 1) + (1,) * dims)
        ctx.save_for_backward(cols, wg)
        ctx.shapes = x.shape, xpad.shape, w.shape, out
        ctx.stride, ctx.pads, ctx.dilation = stride, pads, dilation
        return y.transpose((1, 0) + spatial)

    @staticmethod
    def backward(ctx, grad_output):
        cols, wg = ctx.saved_tensors
        x_shape, xpad_shape, w_shape, out = ctx.shapes
        dims = len(out)
        spatial = tuple(range(2, 2 + dims))
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        gm = grad_output.transpose((1, 0) + spatial).reshape(wg.shape[0], wg.shape[1], -1)   # (g, O/g, N*L)
        dw = (gm @ cols.transpose(0, 2, 1)).reshape(w_shape) if needs_w else None           # G @ cols.T
        db = gm.sum(axis=2).reshape(-1) if needs_b else None
        dx = None
        if needs_x:
            dcols = (wg.transpose(0, 2, 1) @ gm).reshape((x_shape[1],) + w_shape[2:] + (x_shape[0],) + out)  # W.T @ G
            dwin = dcols.transpose((dims + 1, 0) + tuple(range(dims + 2, 2 * dims + 2)) + tuple(range(1, dims + 1)))
            dx = unpad(col2im(dwin, xpad_shape, ctx.stride, ctx.dilation), ctx.pads)
        return dx, dw, db, None, None, None, None


def conv(name, dims: int, input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups) -> Tensor:
    """Check the arguments of a ``dims``-d convolution in the user's terms, then apply ``Convolution``.

    ``name`` is what an error calls the caller: ``'conv2d'``, or a layer itself, whose repr
    (``Conv2d(1, 6, kernel_size=(5, 5), ...)``) is formatted only if an error is raised. An
    input without the batch axis is taken as one image, as PyTorch does.
    """
    for what, t in (("input", input), ("weight", weight)) + ((("bias", bias),) if bias is not None else ()):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(t).__name__}")
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if weight.ndim != dims + 2:
        raise ValueError(f"{name}: weight must have shape (out_channels, in_channels/groups, "
                         f"{'k' if dims == 1 else 'kh, kw'}), {dims + 2}-D, got shape {weight.shape}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    unbatched = input.ndim == dims + 1
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 2}-D input {layout} (or {dims + 1}-D without the batch "
                         f"axis), got shape {input.shape}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise TypeError(f"{name}: input is {input.dtype} but weight is {weight.dtype}"
                        + (f" and bias {bias.dtype}" if bias is not None else "")
                        + "; they must have the same dtype (convert with .float() or .double())")
    c, o = input.shape[0 if unbatched else 1], weight.shape[0]
    if o % groups:
        raise ValueError(f"{name}: {o} output channels (weight {weight.shape}) do not split into "
                         f"groups={groups}; out_channels must be divisible by groups")
    if c != weight.shape[1] * groups:
        hint = (f"; a {dims + 1}-D input is read as one image without the batch axis, as in PyTorch: for a "
                f"batch of one-channel images add the channel axis, x.reshape(N, 1, ...)" if unbatched else "")
        raise ValueError(f"{name}: expected input with {weight.shape[1] * groups} channels (weight {weight.shape}"
                         f", groups={groups}), got {c} channels in input of shape {input.shape} "
                         f"(Expect: in_channels == {weight.shape[1] * groups}, Actual: {c})" + hint)
    if unbatched:  # one image: run it as a batch of one, as PyTorch does
        out = conv(name, dims, input.reshape((1,) + input.shape), weight, bias, stride, padding, dilation, groups)
        return out.reshape(out.shape[1:])
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{name}: bias must have shape ({o},), one per output channel, got {bias.shape}")
    kernel = weight.shape[2:]
    stride = tuple_of(stride, dims, "stride", name)
    dilation = tuple_of(dilation, dims, "dilation", name)
    if any(v < 1 for v in stride + dilation):
        raise ValueError(f"{name}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    pads = padding_pairs(name, padding, kernel, stride, dilation)
    spatial = input.shape[2:]
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
    if any(r > p for r, p in zip(reach, padded)):
        raise ValueError(f"{name}: the kernel {tuple(kernel)} with dilation {dilation} spans "
                         f"{'x'.join(map(str, reach))} but the padded input is only {'x'.join(map(str, padded))} "
                         f"(input {input.shape}, padding {padding!r}); use a smaller kernel, more padding or a "
                         "larger input")
    return Convolution.apply(input, weight, bias, stride, pads, dilation, groups)


def padding_pairs(name, padding, kernel, stride, dilation):
    """``padding`` (int, tuple, 'valid' or 'same') as one (low, high) pair per spatial axis.

    'same' pads dilation*(k-1) in all, the odd cell on the high side, as PyTorch; it needs stride 1.
    """
    dims = len(kernel)
    if padding == "valid":
        return ((0, 0),) * dims
    if padding == "same":
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride}), as in PyTorch; give the padding as numbers")
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in total)
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    pads = tuple_of(padding, dims, "padding", name)
    if any(p < 0 for p in pads):
        raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
    return tuple((p, p) for p in pads)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` (N, C, L) with ``weight`` (O, C/groups, k), as ``torch.nn.functional.conv1d``."""
    return conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, kh, kw), as
    ``torch.nn.functional.conv2d``. See ``Convolution`` for the formulas."""
    return conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)

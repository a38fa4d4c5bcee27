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
    """``x`` (N, C, *spatial) with ``pads[i] = (low, high)`` cells of ``value`` around spatial axis i."""
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
    """A view of ``x`` (N, C, *spatial) as (N, C, *out, *kernel): element [n, c, i, j, a, b] is
    x[n, c, i*stride + a*dilation, j*stride + b*dilation] (2-D). No copy: only strides change."""
    steps = x.strides[2:]
    strides = x.strides[:2] + tuple(s * t for s, t in zip(steps, stride)) + \
        tuple(s * d for s, d in zip(steps, dilation))
    return get_array_module(x).lib.stride_tricks.as_strided(x, x.shape[:2] + tuple(out) + tuple(kernel), strides)


def col2im(dwin, shape, stride, dilation):
    """The adjoint of ``windows``: add each window's values back onto the pixels it was read
    from, giving an array of ``shape`` (N, C, *spatial). ``dwin`` is (N, C, *out, *kernel).

    Windows overlap when stride < kernel, so a pixel collects the sum over every window that
    read it. One strided ``+=`` per kernel offset (kh * kw of them), none per pixel.
    """
    xp = get_array_module(dwin)
    dims = len(stride)
    out, kernel = dwin.shape[2:2 + dims], dwin.shape[2 + dims:]
    dx = xp.zeros(shape, dtype=dwin.dtype)
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = tuple(slice(o * d, o * d + s * (n - 1) + 1, s) for o, d, s, n in zip(offset, dilation, stride, out))
        dx[(slice(None), slice(None)) + target] += dwin[(Ellipsis,) + offset]
    return dx


# -- the op --------------------------------------------------------------------------------

class Convolution(Function):
    """Y = conv(X, W) + b over 1 or 2 spatial axes, as ``torch.nn.functional.conv2d`` (cross-correlation).

    Shapes (2-D; 1-D drops an axis): X (N, C, H, W), weight (O, C/g, kh, kw), b (O,),
    Y and G (N, O, Ho, Wo), with g groups, Ho = (H + pad_h - dil*(kh - 1) - 1) // stride + 1.

        Y[n, o, i, j] = b[o] + sum_{c, a, e} X[n, c, i*s + a*d, j*s + e*d] * weight[o, c, a, e]

    im2col: row (n, i, j) of ``cols`` (N*Ho*Wo, C*kh*kw) is the patch under output (i, j) of
    image n, flattened as the kernel is. Then, with Wm = weight.reshape(O, C*kh*kw):

        Y = cols @ Wm.T + b                     the linear layer, one row per patch

    and the backward is the linear layer's, with Gm = G moved to rows (N*Ho*Wo, O):

        dW = Gm.T @ cols                        (O, N*Ho*Wo) @ (N*Ho*Wo, C*kh*kw)
        db = Gm.sum(0)                          b was added at every position of every image
        dcols = Gm @ Wm                         (N*Ho*Wo, O) @ (O, C*kh*kw)
        dX = col2im(dcols)                      each patch's gradient added back onto its pixels

    A pixel read by several patches (overlapping windows) gets the sum of their gradients,
    exactly as a tensor used twice does. The 1/N of a mean loss is already in G, as for
    ``Linear``. With g groups, channels and outputs split into g blocks and each block is its
    own product (depthwise: g = C). ``cols`` is saved for dW and freed when backward has run.
    """

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        dims = x.ndim - 2
        n, c = x.shape[:2]
        o, kernel = w.shape[0], w.shape[2:]
        xpad = pad(x, pads)
        out = tuple(output_size(xpad.shape[2 + i], kernel[i], stride[i], dilation[i], 0, 0) for i in range(dims))
        spatial = tuple(range(2, 2 + dims))
        win = windows(xpad, kernel, stride, dilation, out)           # (N, C, *out, *kernel), a view
        rows = n * math.prod(out)
        cols = win.transpose((0,) + spatial + (1,) + tuple(range(2 + dims, 2 + 2 * dims))) \
            .reshape(rows, groups, -1).transpose(1, 0, 2)              # (g, N*L, C/g*K): the im2col copy
        wg = w.reshape(groups, o // groups, -1)                        # (g, O/g, C/g*K)
        y = (cols @ wg.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(rows, o)   # (N*L, O)
        if b is not None:
            y += b
        ctx.save_for_backward(cols, wg)
        ctx.shapes = x.shape, xpad.shape, w.shape, out
        ctx.stride, ctx.pads, ctx.dilation, ctx.groups = stride, pads, dilation, groups
        # (N, *out, O) -> (N, O, *out): a transposed view, no copy
        return y.reshape((n,) + out + (o,)).transpose((0, dims + 1) + tuple(range(1, dims + 1)))

    @staticmethod
    def backward(ctx, grad_output):
        cols, wg = ctx.saved_tensors
        x_shape, xpad_shape, w_shape, out = ctx.shapes
        g = ctx.groups
        dims = len(out)
        n, c, o = x_shape[0], x_shape[1], w_shape[0]
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
        gm = grad_output.transpose((0,) + tuple(range(2, 2 + dims)) + (1,)).reshape(-1, o)   # (N*L, O)
        gg = gm.reshape(-1, g, o // g).transpose(1, 0, 2)                                   # (g, N*L, O/g)
        dw = (gg.transpose(0, 2, 1) @ cols).reshape(w_shape) if needs_w else None            # G.T @ cols
        db = gm.sum(0) if needs_b else None
        dx = None
        if needs_x:
            dcols = (gg @ wg).transpose(1, 0, 2).reshape((n,) + out + (c,) + w_shape[2:])   # G @ W
            dwin = dcols.transpose((0, dims + 1) + tuple(range(1, dims + 1)) + tuple(range(dims + 2, 2 * dims + 2)))
            dx = unpad(col2im(dwin, xpad_shape, ctx.stride, ctx.dilation), ctx.pads)
        return dx, dw, db, None, None, None, None


def conv(name: str, input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups) -> Tensor:
    """Check the arguments of an N-d convolution in the user's terms, then apply ``Convolution``.

    ``name`` says who is asking (``conv2d``, or ``Conv2d(1, 6, kernel_size=(5, 5))`` from a
    layer), so that the error names it. ``dims`` is read from the weight: 3-D for conv1d,
    4-D for conv2d. An input without the batch axis is taken as one image, as PyTorch does.
    """
    for what, t in (("input", input), ("weight", weight)) + ((("bias", bias),) if bias is not None else ()):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(t).__name__}")
    dims = weight.ndim - 2
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if dims not in (1, 2):
        raise ValueError(f"{name}: weight must be (out, in/groups, *kernel) with 1 or 2 kernel axes, "
                         f"got shape {weight.shape}")
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
        out = conv(name, input.reshape((1,) + input.shape), weight, bias, stride, padding, dilation, groups)
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
    return conv("conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` (N, C, H, W) with ``weight`` (O, C/groups, kh, kw), as
    ``torch.nn.functional.conv2d``. See ``Convolution`` for the formulas."""
    return conv("conv2d", input, weight, bias, stride, padding, dilation, groups)

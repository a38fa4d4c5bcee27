"""Ops that write into a tensor: ``t[index] = v``, ``copy_``/``fill_``, and ``CopySlices``, the
node the engine records when an in-place op writes through a view.

Each forward returns a new array; ``autograd.commit`` then writes it into the tensor and makes
the op's node the tensor's history (see docs/autograd.md). Where the write lands, the old
values are gone, so no gradient flows back to them there.
"""
from ..autograd import Function, replay_view, sum_to
from ..backend import get_array_module


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _to_value_shape(g, shape):
    """sum_to for a value assigned into a region: NumPy also lets the value carry extra leading
    axes of size 1, which the region's gradient lacks."""
    if g.ndim < len(shape):
        g = g.reshape((1,) * (len(shape) - g.ndim) + g.shape)
    return sum_to(g, shape)


def _cast_like(g, dtype):
    return g if dtype is None or g.dtype == dtype else g.astype(dtype)


class SetItem(Function):
    """y = x, then y[index] = v (v broadcast to the indexed region and cast to x's dtype).

        dx = G, with G[index] set to 0      (those elements no longer depend on x)
        dv = sum_to(G[index], v.shape)      (each element of v lands at the positions it fills)
    With a repeated advanced index one of the written values wins (which one is unspecified,
    as in PyTorch), and each copy still passes its G back to v.
    """

    @staticmethod
    def forward(ctx, x, v, index):
        ctx.index, ctx.v_shape, ctx.v_dtype = index, _shape(v), getattr(v, "dtype", None)
        y = x.copy()
        y[index] = v
        return y

    @staticmethod
    def backward(ctx, grad_output):
        dx = dv = None
        if ctx.needs_input_grad[0]:
            dx = grad_output.copy()
            dx[ctx.index] = 0
        if ctx.needs_input_grad[1]:
            dv = _cast_like(_to_value_shape(grad_output[ctx.index], ctx.v_shape), ctx.v_dtype)
        return dx, dv, None


def setitem(x, index, value):
    """x with x[index] = value, out of place (``Tensor.__setitem__`` writes it back into x)."""
    return SetItem.apply(x, value, index)


class Copy(Function):
    """y = src broadcast to x's shape and cast to x's dtype (``x.copy_(src)``, ``x.fill_(value)``).

        dx = 0 (every element is overwritten)
        dsrc = sum_to(G, src.shape), cast to src's dtype
    """

    @staticmethod
    def forward(ctx, x, src):
        ctx.src_shape, ctx.src_dtype = _shape(src), getattr(src, "dtype", None)
        y = get_array_module(x).empty_like(x)
        y[...] = src
        return y

    @staticmethod
    def backward(ctx, grad_output):
        dx = dsrc = None
        if ctx.needs_input_grad[0]:
            dx = get_array_module(grad_output).zeros_like(grad_output)
        if ctx.needs_input_grad[1]:
            dsrc = _cast_like(sum_to(grad_output, ctx.src_shape), ctx.src_dtype)
        return dx, dsrc


def copy(x, src):
    """src broadcast and cast into a new array shaped like x (``copy_`` writes it into x)."""
    return Copy.apply(x, src)


class CopySlices(Function):
    """y = base, with the region that a view covers replaced by v: what an in-place op through
    a view does to the view's root (PyTorch's name). ``steps`` are the view ops that cut the
    region out of the root (``autograd.replay_view``).

        dbase = G, with the region set to 0
        dv = G's region
    """

    @staticmethod
    def forward(ctx, base, v, steps):
        ctx.steps = steps
        y = base.copy()  # C order, so every view step gives a view of y that writes into it
        region = replay_view(steps, y)
        if not getattr(region.flags, "writeable", True):  # CuPy has no read-only arrays
            raise RuntimeError("in-place op on a view: this view is expanded (several of its elements are one "
                               "memory location), so writing into it is ambiguous; .clone() it first")
        region[...] = v
        return y

    @staticmethod
    def backward(ctx, grad_output):
        g = grad_output.copy()
        region = replay_view(ctx.steps, g)
        dv = region.copy() if ctx.needs_input_grad[1] else None
        region[...] = 0
        return (g if ctx.needs_input_grad[0] else None), dv, None

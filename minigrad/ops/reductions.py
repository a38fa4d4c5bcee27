"""Reductions: sum, mean and max over all axes or the given ones.

Backward spreads G back over the reduced axes: G is first reshaped to the keepdims shape so
that it broadcasts against x.
"""
from ..autograd import Function
from ..backend import get_array_module


def _reduced_axes(ndim, axis):
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


def _keepdims_shape(shape, axis):
    axes = _reduced_axes(len(shape), axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _count(shape, axis):
    n = 1
    for i in _reduced_axes(len(shape), axis):
        n *= shape[i]
    return n


class Sum(Function):
    """y = x.sum(axis).   dx = broadcast of G over the summed axes (each x_i adds 1 * G)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis = x.shape, axis
        return x.sum(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        g = grad_output.reshape(_keepdims_shape(ctx.shape, ctx.axis))
        return xp.broadcast_to(g, ctx.shape), None, None


class Mean(Function):
    """y = x.sum(axis) / n, n the number of elements reduced.   dx = broadcast of G / n."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis = x.shape, axis
        return x.mean(axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        g = grad_output.reshape(_keepdims_shape(ctx.shape, ctx.axis)) / _count(ctx.shape, ctx.axis)
        return xp.broadcast_to(g, ctx.shape), None, None


class Max(Function):
    """y = x.max(axis).   dx = G where x equals the max, else 0.

    Ties share the gradient equally (G / number of maxima), as ``torch.amax`` does, so the
    gradient still sums to G.
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        y = x.max(axis=axis, keepdims=True)
        ctx.save_for_backward(x, y)
        ctx.axis = axis
        return y if keepdims else y.reshape([n for i, n in enumerate(y.shape)
                                             if i not in _reduced_axes(x.ndim, axis)])

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        mask = x == y
        count = mask.sum(axis=ctx.axis, keepdims=True, dtype=x.dtype)
        return mask * (grad_output.reshape(y.shape) / count), None, None


def _check_axis(name, x, axis):
    axes = () if axis is None else axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        if not isinstance(a, int) or not -x.ndim <= a < x.ndim:
            raise ValueError(f"{name}: axis {a!r} is out of range for a tensor of shape {x.shape} "
                             f"(expected an int in [{-x.ndim}, {x.ndim}))")


def sum(x, axis=None, keepdims=False):
    """The sum over all axes, or over ``axis`` (an int or a tuple): the ``Sum`` op."""
    _check_axis("sum", x, axis)
    return Sum.apply(x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean over all axes, or over ``axis``: the ``Mean`` op."""
    _check_axis("mean", x, axis)
    return Mean.apply(x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    """The maximum over all axes, or over ``axis``: the ``Max`` op (ties share G)."""
    _check_axis("max", x, axis)
    return Max.apply(x, axis, keepdims)

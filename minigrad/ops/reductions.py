"""Reductions: sum, mean, amax, amin, var over all axes or the given ones; max, min, argmax,
argmin, std and topk built on them.

Each takes PyTorch's ``dim``/``keepdim`` (an int, a tuple of ints or None for all), and NumPy's
``axis``/``keepdims`` as aliases, as PyTorch also does. Backward spreads G back over the reduced
axes: G is first reshaped to the keepdim shape so that it broadcasts against x.
"""
from collections import namedtuple

from .. import autograd
from ..autograd import Function
from ..backend import get_array_module
from .elementwise import maximum, minimum, sqrt
from .indexing import gather

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "What ``max(dim)``, ``min(dim)`` and ``topk`` return, as PyTorch's return_types."


def _dims(name, x, dim=None, keepdim=False, axis=None, keepdims=None):
    """Check and normalise a reduction's axes: ``(axes, keepdim)``, axes an int, a tuple or None."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: got both dim and its alias axis; pass one")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    if isinstance(dim, list):
        dim = tuple(dim)
    n = x.ndim or 1  # PyTorch lets dim 0 or -1 name the only "axis" of a scalar
    for d in () if dim is None else dim if isinstance(dim, tuple) else (dim,):
        if not isinstance(d, int) or not -n <= d < n:
            raise IndexError(f"{name}: dim {d!r} is out of range for a tensor of shape {x.shape} "
                             f"(expected an int in [{-x.ndim}, {x.ndim}))")
    if x.ndim == 0:
        dim = None
    return dim, bool(keepdim)


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


def _check_floating(name, x):
    if x.data.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: could not infer the output dtype: the input must be floating point, "
                           f"got {x.data.dtype}; convert it first, e.g. x.float().{name}()")


def _check_not_empty(name, x):
    if x.data.size == 0:
        raise RuntimeError(f"{name}: cannot reduce an empty tensor (shape {x.shape}); there is no "
                           "identity for max or min")


def _reduce_extreme(fn, name, x, dim, keepdim, axis, keepdims):
    axis, keepdim = _dims(name, x, dim, keepdim, axis, keepdims)
    _check_not_empty(name, x)
    return fn.apply(x, axis, keepdim)


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


def sum(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The sum over ``dim`` (all elements if None); bool and integer tensors sum to int64."""
    axis, keepdim = _dims("sum", x, dim, keepdim, axis, keepdims)
    return Sum.apply(x, axis, keepdim)


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


def mean(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The mean over ``dim`` (all elements if None); floating-point tensors only, as in PyTorch."""
    axis, keepdim = _dims("mean", x, dim, keepdim, axis, keepdims)
    _check_floating("mean", x)
    return Mean.apply(x, axis, keepdim)


def _extreme_output(ctx, x, y, axis, keepdims):
    """Save what Max's backward needs and drop the reduced axes unless kept."""
    ctx.save_for_backward(x, y)
    ctx.axis = axis
    return y if keepdims else y.reshape([n for i, n in enumerate(y.shape) if i not in _reduced_axes(x.ndim, axis)])


class Max(Function):
    """y = x.max(axis) (``amax``).   dx = G where x equals the max, else 0.

    Ties share the gradient equally (G / number of maxima), as ``torch.amax`` and the full
    ``torch.max()`` do, so the gradient still sums to G.
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extreme_output(ctx, x, x.max(axis=axis, keepdims=True), axis, keepdims)

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        mask = x == y
        count = mask.sum(axis=ctx.axis, keepdims=True, dtype=x.dtype)
        return mask * (grad_output.reshape(y.shape) / count), None, None


class Min(Max):
    """y = x.min(axis) (``amin``).   dx = G where x equals the min, else 0; ties share G equally.

    The backward is Max's: only which elements equal y differs, and the forward decides that.
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extreme_output(ctx, x, x.min(axis=axis, keepdims=True), axis, keepdims)


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest values over ``dim`` (all elements if None); ties share the gradient."""
    return _reduce_extreme(Max, "amax", x, dim, keepdim, axis, keepdims)


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest values over ``dim`` (all elements if None); ties share the gradient."""
    return _reduce_extreme(Min, "amin", x, dim, keepdim, axis, keepdims)


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The index of the largest value along ``dim`` (of the flattened tensor if None); int64,
    no gradient. The first one wins a tie, as in PyTorch."""
    axis, keepdim = _dims("argmax", x, dim, keepdim, axis, keepdims)
    _check_not_empty("argmax", x)
    xp = get_array_module(x.data)
    return autograd.Tensor(xp.asarray(xp.argmax(x.data, axis=axis, keepdims=keepdim)))


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The index of the smallest value along ``dim`` (see ``argmax``)."""
    axis, keepdim = _dims("argmin", x, dim, keepdim, axis, keepdims)
    _check_not_empty("argmin", x)
    xp = get_array_module(x.data)
    return autograd.Tensor(xp.asarray(xp.argmin(x.data, axis=axis, keepdims=keepdim)))


def _extreme(name, reduce_all, pick, x, dim, keepdim, axis, keepdims):
    """max/min: the value of all elements, or (values, indices) along one dim with the gradient
    going to the index picked, as in PyTorch."""
    if dim is None and axis is None:
        return reduce_all(x)
    axis, keepdim = _dims(name, x, dim, keepdim, axis, keepdims)
    if isinstance(axis, tuple):
        raise TypeError(f"{name}: dim must be one int when indices are returned, got {axis}; "
                        f"use a{name} for several dims")
    if axis is None:  # a 0-d tensor: its one element, at index 0
        return ValuesIndices(x, autograd.Tensor(get_array_module(x.data).zeros((), dtype="int64")))
    indices = pick(x, axis, keepdim=True)
    values = gather(x, axis, indices)
    if not keepdim:
        values, indices = values.squeeze(axis), indices.squeeze(axis)
    return ValuesIndices(values, indices)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``max()``: the largest value (ties share the gradient). ``max(dim)``: ``(values, indices)``
    along ``dim``, the gradient going to the index returned. ``max(other)``: ``maximum``."""
    if isinstance(dim, autograd.Tensor):
        return maximum(x, dim)
    return _extreme("max", amax, argmax, x, dim, keepdim, axis, keepdims)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """``min()``, ``min(dim)`` and ``min(other)``, as ``max``."""
    if isinstance(dim, autograd.Tensor):
        return minimum(x, dim)
    return _extreme("min", amin, argmin, x, dim, keepdim, axis, keepdims)


class Var(Function):
    """y = sum((x - mean(x))**2, axis) / (n - correction), n the number of elements reduced.

        dx = G * 2 (x - mean(x)) / (n - correction)
    The mean's own dependence on x drops out: sum(x - mean) = 0. correction = 1 (the default,
    ``unbiased=True``) is Bessel's: the sample variance; 0 is the population variance.
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims, correction):
        centred = x - x.mean(axis=axis, keepdims=True)
        ctx.save_for_backward(centred)
        ctx.axis, ctx.dof = axis, _count(x.shape, axis) - correction
        return (centred * centred).sum(axis=axis, keepdims=keepdims) / ctx.dof if ctx.dof else \
            (centred * centred).sum(axis=axis, keepdims=keepdims) * float("inf")

    @staticmethod
    def backward(ctx, grad_output):
        (centred,) = ctx.saved_tensors
        g = grad_output.reshape(_keepdims_shape(centred.shape, ctx.axis))
        scale = 2.0 / ctx.dof if ctx.dof else float("inf")
        return g * centred * scale, None, None, None


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """The variance over ``dim`` (all elements if None); ``correction=1`` (``unbiased=True``)
    by default, as in PyTorch: divided by n - 1."""
    if isinstance(dim, bool):  # x.var(False): PyTorch's older form, unbiased given first
        dim, unbiased = None, dim
    axis, keepdim = _dims("var", x, dim, keepdim, axis, keepdims)
    _check_floating("var", x)
    if unbiased is not None and correction is not None:
        raise TypeError("var: got both unbiased and correction; pass one (unbiased=False is correction=0)")
    correction = correction if correction is not None else 1 if unbiased is None else int(bool(unbiased))
    return Var.apply(x, axis, keepdim, correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=None):
    """sqrt(var(x)): the standard deviation, with ``var``'s arguments."""
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``, largest
    first; the gradient goes to the elements picked. Ties keep the lower index first."""
    if x.ndim == 0:
        raise RuntimeError("topk: expected a tensor of at least 1 dimension, got a 0-dimensional one")
    axis, _ = _dims("topk", x, dim)
    size = x.shape[axis]
    if not isinstance(k, int) or not 0 <= k <= size:
        raise RuntimeError(f"topk: k={k!r} is out of range for dim {dim} of size {size} (shape {x.shape})")
    xp = get_array_module(x.data)
    order = xp.argsort(-x.data if largest else x.data, axis=axis, kind="stable")
    indices = autograd.Tensor(order[(slice(None),) * (axis % x.ndim) + (slice(0, k),)])
    return ValuesIndices(gather(x, axis, indices), indices)

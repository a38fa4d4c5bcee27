"""Ops that move elements without changing them: reshape, transpose, indexing.

Their backward moves the gradient back the same way: reshape it back, transpose it by the
inverse permutation, or scatter it into zeros at the indexed positions.
"""
from ..autograd import Function
from ..backend import get_array_module, scatter_add


class Reshape(Function):
    """y = x.reshape(shape).   dx = G.reshape(x.shape)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.reshape(ctx.shape), None


class Transpose(Function):
    """y = x.transpose(axes) (all axes reversed if None).   dx = G.transpose(inverse of axes)."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, grad_output):
        if ctx.axes is None:
            return grad_output.transpose(), None
        inverse = [0] * len(ctx.axes)
        for i, a in enumerate(ctx.axes):
            inverse[a % len(ctx.axes)] = i
        return grad_output.transpose(inverse), None


class GetItem(Function):
    """y = x[index] (NumPy basic or advanced indexing).

    dx = zeros(x.shape) with G added at ``index``; an index that picks the same element twice
    adds both gradients (``add.at``), which a plain ``dx[index] = G`` would lose.
    """

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        dx = xp.zeros(ctx.shape, dtype=ctx.dtype)
        if _is_basic(ctx.index):
            dx[ctx.index] = grad_output  # a basic index never repeats an element
        else:
            scatter_add(xp, dx, ctx.index, grad_output)
        return dx, None


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


def reshape(x, shape):
    """The same elements in ``shape`` (one entry may be -1): the ``Reshape`` op."""
    shape = tuple(shape)
    size, unknown = 1, 0
    for n in shape:
        if n == -1:
            unknown += 1
        else:
            size *= n
    if unknown > 1 or (size != x.data.size if not unknown else size == 0 or x.data.size % size):
        raise ValueError(f"reshape/view: cannot reshape a tensor of shape {x.shape} "
                         f"({x.data.size} elements) into {shape}")
    return Reshape.apply(x, shape)


def transpose(x, axes=None):
    """The axes permuted by ``axes`` (reversed when None): the ``Transpose`` op."""
    return Transpose.apply(x, axes)


def getitem(x, index):
    """``x[index]``, basic or advanced (integer arrays, masks): the ``GetItem`` op."""
    from ..autograd import Tensor

    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    try:
        return GetItem.apply(x, index)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for a tensor of shape {x.shape}: {e}") from None

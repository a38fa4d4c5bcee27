"""Ops that move or repeat elements without changing them: reshape (and unsqueeze, squeeze,
flatten, which are reshapes), transpose and permute, expand, clone.

Their backward moves the gradient back the same way: reshape it back, transpose it by the
inverse permutation, or sum it over the axes that expand repeated (``sum_to``).
"""
from ..autograd import Function, sum_to
from ..backend import get_array_module


def check_dim(name, dim, ndim):
    """``dim`` as a non-negative axis of a tensor of ``ndim`` dimensions, or an IndexError."""
    if not isinstance(dim, int) or not -ndim <= dim < ndim:
        raise IndexError(f"{name}: dim {dim!r} is out of range for a tensor of {ndim} dimensions "
                         f"(expected an int in [{-ndim}, {ndim}))")
    return dim % ndim


def sizes_arg(sizes):
    """``f(2, 3)`` or ``f((2, 3))``: the sizes as one tuple, as PyTorch's shape arguments."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


class Reshape(Function):
    """y = x.reshape(shape).   dx = G.reshape(x.shape)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.reshape(ctx.shape), None


def reshape(x, shape):
    """``x`` with the same elements in ``shape`` (a tuple; one entry may be -1); the gradient is G reshaped
    back."""
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


def unsqueeze(x, dim):
    """A new axis of size 1 at position ``dim`` (from -ndim-1 to ndim)."""
    dim = check_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def squeeze(x, dim=None):
    """Drop the axes of size 1: all of them, or those among ``dim`` (an int or a tuple); an axis
    named that is not of size 1 stays, as in PyTorch."""
    if dim is None:
        axes = range(x.ndim)
    else:
        axes = {check_dim("squeeze", d, x.ndim or 1) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


def flatten(x, start_dim=0, end_dim=-1):
    """Axes ``start_dim`` to ``end_dim`` (both included) merged into one; a 0-d tensor becomes (1,)."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = check_dim("flatten", start_dim, x.ndim), check_dim("flatten", end_dim, x.ndim)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    merged = 1
    for n in x.shape[start:end + 1]:
        merged *= n
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


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


def transpose(x, axes=None):
    """The axes permuted by ``axes`` (reversed when None): the ``Transpose`` op."""
    return Transpose.apply(x, axes)


def permute(x, *dims):
    """The axes reordered: output axis i is input axis ``dims[i]`` (``torch.permute``)."""
    dims = tuple(check_dim("permute", d, x.ndim) for d in sizes_arg(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, dims)


class Expand(Function):
    """y = x repeated along its size-1 axes (and new leading ones) to ``shape``, without copying.

        dx = sum_to(G, x.shape)   every copy of an element sends its gradient back to it
    """

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_output):
        return sum_to(grad_output, ctx.shape), None


def expand(x, *sizes):
    """``x`` viewed at a larger shape (``Tensor.expand``): -1 keeps an axis's size, new axes go in front."""
    sizes = sizes_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's "
                         f"number of dimensions ({x.ndim}); shape {x.shape}")
    shape = []
    for i, n in enumerate(sizes):
        old = x.shape[i - lead] if i >= lead else None
        if n == -1:
            if old is None:
                raise ValueError(f"expand: -1 is not allowed for the new leading dimension {i}")
            n = old
        if old is not None and old != n and old != 1:
            raise ValueError(f"expand: the size of dimension {i - lead} ({old}) must be 1 to expand to "
                             f"{n}; shape {x.shape} to {tuple(sizes)}")
        shape.append(n)
    return Expand.apply(x, tuple(shape))


class Clone(Function):
    """y = a copy of x.   dx = G."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


def clone(x):
    """A copy with its own memory, still in the graph (``torch.clone``)."""
    return Clone.apply(x)

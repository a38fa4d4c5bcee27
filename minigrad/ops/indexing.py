"""Indexing: ``x[index]`` with PyTorch's rules, ``gather``, and ``one_hot``.

Their backward scatters the gradient into zeros at the positions read; an element read twice
gets both gradients added (``add.at``), which a plain ``dx[index] = G`` would lose.

Where PyTorch's indexing differs from NumPy's: PyTorch applies integers first, as selections,
and only then the advanced (tensor, list or mask) indices. NumPy counts an integer as an
advanced index, so ``x[0, :, [0, 1]]`` on shape (3, 4, 5) is (2, 4) in NumPy and (4, 2) in
PyTorch: the integer and the list, split by a slice, send the list's axis to the front in NumPy
only. ``GetItem`` runs such an index in PyTorch's two steps.
"""
from numbers import Integral

from .. import autograd
from ..autograd import Function
from ..backend import get_array_module, is_cpu, scatter_add


def _is_int(i):
    return (isinstance(i, Integral) and not isinstance(i, bool)) or (
        hasattr(i, "ndim") and i.ndim == 0 and i.dtype.kind in "iu")


def _is_advanced(i):
    return hasattr(i, "ndim") and i.ndim > 0


def _items(xp, index):
    """The index as a tuple of ints, slices, None, Ellipsis and raw arrays (lists made arrays)."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, autograd.Tensor):
            i = i.data
        elif isinstance(i, list):
            i = xp.asarray(i)
        out.append(i)
    return tuple(out)


def torch_index(items):
    """``(first, then)``: NumPy indices that, applied in turn, do what PyTorch does with ``items``;
    ``then`` is None where NumPy's rules already agree (no integer beside an advanced index)."""
    if not (any(_is_int(i) for i in items) and any(_is_advanced(i) for i in items)):
        return items, None
    first, then = [], []
    for i in items:
        if _is_int(i):
            first.append(i)  # a selection: its axis is gone before the advanced indices apply
        elif _is_advanced(i):
            first.extend([slice(None)] * (i.ndim if i.dtype.kind == "b" else 1))
            then.append(i)
        else:  # a slice, None or Ellipsis; None's new axis exists once ``first`` has run
            first.append(i)
            then.append(Ellipsis if i is Ellipsis else slice(None))
    return tuple(first), tuple(then)


def _scatter(xp, target, index, values):
    """target[index] += values, for a zero ``target``: an assignment unless an integer array
    may name an element twice."""
    if not any(_is_advanced(i) and i.dtype.kind != "b" for i in index):
        target[index] = values  # slices, ints and masks never repeat an element
        return
    index = tuple(part for i in index for part in (xp.nonzero(i) if _is_advanced(i) and i.dtype.kind == "b"
                                                   else (i,)))
    scatter_add(xp, target, index, values)


class GetItem(Function):
    """y = x[index], with PyTorch's order: integers first, then the advanced indices.

    dx = zeros(x.shape) with G added at ``index``; an index that picks the same element twice
    adds both gradients (``add.at``). An index run in two steps scatters back in two steps.
    """

    @staticmethod
    def forward(ctx, x, first, then):
        ctx.shape, ctx.dtype, ctx.first, ctx.then = x.shape, x.dtype, first, then
        y = x[first]
        if then is None:
            return y
        ctx.middle = y.shape
        return y[then]

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        g = grad_output
        if ctx.then is not None:
            g = xp.zeros(ctx.middle, dtype=ctx.dtype)
            _scatter(xp, g, ctx.then, grad_output)
        dx = xp.zeros(ctx.shape, dtype=ctx.dtype)
        _scatter(xp, dx, ctx.first, g)
        return dx, None, None


def getitem(x, index):
    """``x[index]``: ints, slices, None, ``...``, integer tensors or lists, and bool masks."""
    if type(index) in (int, slice):  # the common case: NumPy's rules are PyTorch's
        first, then = (index,), None
    else:
        first, then = torch_index(_items(get_array_module(x.data), index))
    try:
        return GetItem.apply(x, first, then)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for a tensor of shape {x.shape}: {e}") from None


def _along(xp, index, dim):
    """The NumPy index that reads ``x[..., index[i, j, k], ...]`` at position (i, j, k), ``index``
    standing in for axis ``dim`` and every other axis counted by an ``arange``."""
    parts = []
    for d, n in enumerate(index.shape):
        if d == dim:
            parts.append(index)
        else:
            parts.append(xp.arange(n).reshape([n if k == d else 1 for k in range(index.ndim)]))
    return tuple(parts)


class Gather(Function):
    """y[i, j, k] = x[index[i, j, k], j, k] for dim = 0 (likewise for the other dims).

    dx = zeros(x.shape) with G[i, j, k] added at x[index[i, j, k], j, k] (``add.at``: an element
    gathered twice gets both gradients).
    """

    @staticmethod
    def forward(ctx, x, dim, index):
        where = _along(get_array_module(x), index, dim)
        ctx.shape, ctx.dtype, ctx.where = x.shape, x.dtype, where
        return x[where]

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        dx = xp.zeros(ctx.shape, dtype=ctx.dtype)
        scatter_add(xp, dx, ctx.where, grad_output)
        return dx, None, None


def gather(x, dim, index):
    """Values of ``x`` along ``dim`` at ``index`` (``torch.gather``): the output has index's shape."""
    if not isinstance(index, autograd.Tensor) or index.data.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer (int64) tensor, got "
                        f"{getattr(index, 'dtype', type(index).__name__)}")
    if index.ndim != x.ndim or not -x.ndim <= dim < (x.ndim or 1):
        raise IndexError(f"gather: index must have the input's number of dimensions and dim must be one "
                         f"of them: input {x.shape}, index {index.shape}, dim {dim}")
    dim %= x.ndim or 1
    if any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim):
        raise RuntimeError(f"gather: index {index.shape} is larger than input {x.shape} outside dim {dim} "
                           f"(Expect: index.size(d) <= input.size(d) for d != {dim})")
    try:
        return Gather.apply(x, dim, index.data)
    except IndexError as e:
        raise IndexError(f"gather: an index is out of range for dim {dim} of size {x.shape[dim]}: {e}") from None


def one_hot(tensor, num_classes: int = -1):
    """(*,) class indices -> (*, num_classes) int64 of zeros with a 1 at each index
    (``torch.nn.functional.one_hot``); num_classes=-1 takes the largest index + 1."""
    if not isinstance(tensor, autograd.Tensor) or tensor.data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (int64) tensor of class indices, got "
                        f"{getattr(tensor, 'dtype', type(tensor).__name__)}; convert with .long()")
    labels = tensor.data
    xp = get_array_module(labels)
    if num_classes == -1:
        if labels.size == 0:
            raise RuntimeError("one_hot: cannot infer num_classes of an empty tensor; pass num_classes")
        num_classes = int(labels.max()) + 1
    # The range check reads the labels back to the host: on a GPU that would cost a copy, so it
    # is made on the CPU only (as nn.functional.cross_entropy does).
    if is_cpu(labels) and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got values in "
                           f"[{int(labels.min())}, {int(labels.max())}]")
    return autograd.Tensor((labels[..., None] == xp.arange(num_classes)).astype("int64"))

"""Joining and splitting along an axis: cat, stack, split, chunk.

``cat`` and ``stack`` take many tensors and give one; their backward cuts G back into the
pieces. ``split`` and ``chunk`` are slices (``GetItem``), whose backward puts each piece's
gradient back in place.
"""
from .. import autograd
from ..autograd import Function
from ..backend import get_array_module
from .dtypes import promote
from .indexing import getitem
from .shape import check_dim


def _check_tensors(name, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, autograd.Tensor):
            raise TypeError(f"{name}: element {i} is a {type(t).__name__}, not a Tensor; "
                            "wrap it with minigrad.tensor(...)")
    return tensors


class Cat(Function):
    """y = the inputs joined along ``dim``.   dx_i = the slice of G that input i became.

    Shapes: x_i (..., n_i, ...) -> y (..., n_1 + ... + n_k, ...); G is cut at the running
    sums of the n_i.
    """

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim = dim
        ctx.ends = []
        end = 0
        for x in xs[:-1]:
            end += x.shape[dim]
            ctx.ends.append(end)
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        return (None, *get_array_module(grad_output).split(grad_output, ctx.ends, axis=ctx.dim))


def cat(tensors, dim=0):
    """Tensors joined along an existing axis ``dim`` (``torch.cat``); dtypes promote."""
    tensors = _check_tensors("cat", tensors)
    first = tensors[0]
    dim = check_dim("cat", dim, first.ndim or 1)
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for d, (a, b) in enumerate(zip(t.shape, first.shape)) if d != dim):
            raise ValueError(f"cat: tensor {i} has shape {t.shape}, tensor 0 has {first.shape}; sizes must "
                             f"match except in dim {dim}")
    if first.ndim == 0:
        raise ValueError("cat: zero-dimensional tensors cannot be concatenated; use stack")
    return Cat.apply(dim, *promote(*tensors))


class Stack(Function):
    """y = the inputs joined along a new axis ``dim``.   dx_i = G's slice i along that axis."""

    @staticmethod
    def forward(ctx, dim, *xs):
        ctx.dim, ctx.shape = dim, xs[0].shape
        return get_array_module(xs[0]).stack(xs, axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        pieces = xp.split(grad_output, grad_output.shape[ctx.dim], axis=ctx.dim)
        return (None, *(p.reshape(ctx.shape) for p in pieces))


def stack(tensors, dim=0):
    """Tensors of one shape joined along a new axis ``dim`` (``torch.stack``); dtypes promote."""
    tensors = _check_tensors("stack", tensors)
    first = tensors[0]
    dim = check_dim("stack", dim, first.ndim + 1)
    for i, t in enumerate(tensors):
        if t.shape != first.shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape}, tensor 0 has {first.shape}; "
                             "all must have the same shape")
    return Stack.apply(dim, *promote(*tensors))


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``x`` along ``dim`` (``torch.split``): each of ``split_size_or_sections``
    elements (the last one smaller), or of the given list of sizes. A tuple of views."""
    axis = check_dim("split", dim, x.ndim or 1)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - start) for start in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} sum to {sum(sizes)}, but dim {dim} has size {n}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(getitem(x, (slice(None),) * axis + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """``x`` cut into ``chunks`` pieces along ``dim`` of ceil(n / chunks) elements each (the last
    smaller, and fewer pieces where they run out), as ``torch.chunk``."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    n = x.shape[check_dim("chunk", dim, x.ndim or 1)]
    return split(x, max(-(-n // chunks), 1), dim)

"""The engine: record each op as it runs forward, then walk the record backward.

A ``Function`` computes on raw arrays. ``Function.apply`` runs its ``forward``, wraps the
result in a Tensor and, when a gradient is wanted, keeps a ``Context`` that remembers the op,
its inputs and what it saved. ``backward`` visits those contexts from the output back to the
leaves in reverse topological order and hands each op the gradient of the output with respect
to its result; the op returns the gradients with respect to its inputs (chain rule), and the
engine adds them up where one tensor fed several ops.
"""
from __future__ import annotations

import functools
import heapq
import itertools

from .backend import get_array_module

_grad_enabled = True
_creation = itertools.count()  # numbers every tensor as it is made: outputs are newer than inputs


class Context:
    """What one recorded op keeps for its backward: ``ctx.save_for_backward(*arrays)`` and any
    attributes the op sets (``ctx.shape = ...``), plus the engine's ``fn`` and ``inputs``."""

    __slots__ = ("fn", "inputs", "needs_input_grad", "saved_tensors", "__dict__")

    def save_for_backward(self, *arrays):
        """Keep these arrays for backward, which reads them as ``ctx.saved_tensors``."""
        self.saved_tensors = arrays


class Function:
    """Base of every differentiable op, shaped like ``torch.autograd.Function``.

    Subclasses define ``forward(ctx, *args)`` on raw arrays (numpy or cupy) and
    ``backward(ctx, grad_output)`` returning one gradient per argument of ``forward`` (``None``
    for an argument that is not a tensor or needs no gradient). Call them through ``apply``.
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        raw, needs, first = [], [], None
        for a in args:
            if isinstance(a, Tensor):
                if first is None:
                    first = a.data
                elif type(a.data) is not type(first):
                    _raise_device_mix(cls, args)
                raw.append(a.data)
                needs.append(a._requires_grad)
            else:
                raw.append(a)
                needs.append(False)
        ctx = Context()
        ctx.needs_input_grad = needs
        out = cls.forward(ctx, *raw)
        if type(out) is not type(first):  # ufuncs turn 0-d arrays into scalars
            out = get_array_module(first).asarray(out)
        result = Tensor.__new__(Tensor)
        result.data, result.grad, result._ctx, result._seq = out, None, None, next(_creation)
        result._requires_grad = _grad_enabled and any(needs)
        if result._requires_grad:
            ctx.fn, ctx.inputs = cls, args
            result._ctx = ctx
        return result


def _raise_device_mix(fn, args):
    where = [str(a.device) for a in args if isinstance(a, Tensor)]
    raise RuntimeError(
        f"{fn.__name__}: expected all tensors on the same device, got tensors on {', '.join(where)}; "
        "move them with .to(device) first (minigrad never copies between devices silently)"
    )


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the backward of NumPy broadcasting.

    Broadcasting repeated an input along the leading axes it lacked and along its size-1 axes,
    so its gradient is the upstream gradient summed over exactly those axes.
    """
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)


def _topological_order(root):
    """Every tensor that needs a gradient, each before all the tensors it was computed from.

    An op's output is always created after its inputs, so sorting by creation number
    (newest first) is a topological order. Found with an explicit stack rather than
    recursion, so a chain of 10,000 ops does not hit Python's recursion limit.
    """
    found, stack = {id(root): root}, [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is not None and ctx.inputs is not None:
            for a in ctx.inputs:
                if isinstance(a, Tensor) and a._requires_grad and id(a) not in found:
                    found[id(a)] = a
                    stack.append(a)
    return sorted(found.values(), key=lambda t: t._seq, reverse=True)


def backward(root, gradient=None, retain_graph=False):
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient.

    Tensors are visited newest first (a heap on their creation number, as PyTorch's engine
    does): every op that used a tensor was created after it, so by the time the tensor comes
    off the heap all its gradient contributions have been added up.
    """
    if not root._requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph; "
                           "set requires_grad=True on the inputs you want gradients for")
    if gradient is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: a gradient can be implied only for a scalar output, but this "
                               f"tensor has shape {root.shape}; pass gradient= of that shape, or reduce "
                               "the output first (e.g. .sum() or .mean())")
        gradient = get_array_module(root.data).ones_like(root.data)
    else:
        gradient = gradient.data if isinstance(gradient, Tensor) else gradient
        if gradient.shape != root.shape:
            raise RuntimeError(f"backward: gradient has shape {gradient.shape} but the tensor has "
                               f"shape {root.shape}; they must match")
    grads = {id(root): gradient}
    heap = [(-root._seq, root)]
    while heap:
        node = heapq.heappop(heap)[1]
        grad = grads.pop(id(node))
        ctx = node._ctx
        if ctx is None:
            node._accumulate(grad)
            continue
        if ctx.inputs is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time ({ctx.fn.__name__} "
                "already freed its saved arrays); call backward(retain_graph=True) the first time "
                "if you need to backward twice")
        input_grads = ctx.fn.backward(ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx.inputs):
            raise RuntimeError(f"{ctx.fn.__name__}.backward returned {len(input_grads)} gradients "
                               f"for {len(ctx.inputs)} inputs of forward")
        for a, g in zip(ctx.inputs, input_grads):
            if g is None or not isinstance(a, Tensor) or not a._requires_grad:
                continue
            if g.shape != a.data.shape:
                raise RuntimeError(f"{ctx.fn.__name__}.backward returned a gradient of shape {g.shape} "
                                   f"for an input of shape {a.data.shape}; they must match")
            prev = grads.get(id(a))
            if prev is None:
                grads[id(a)] = g
                heapq.heappush(heap, (-a._seq, a))
            else:
                grads[id(a)] = prev + g  # a tensor used twice: add
        if not retain_graph:
            ctx.inputs = ctx.saved_tensors = None  # free the graph as we go


class no_grad:
    """Context manager (and decorator) under which ops record no graph, as ``torch.no_grad``."""

    enabled = False

    def __enter__(self):
        global _grad_enabled
        self._prev, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        mode = type(self)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with mode():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Turn graph recording back on inside a ``no_grad`` block."""

    enabled = True


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ops then record no graph."""
    return _grad_enabled


# Tensor and Function refer to each other: Tensor is imported once Function exists.
from .tensor import Tensor  # noqa: E402

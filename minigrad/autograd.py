"""The engine: record each op as it runs forward, then walk the record backward.

A ``Function`` computes on raw arrays. ``Function.apply`` runs its ``forward``, wraps the
result in a Tensor and, when a gradient is wanted, keeps a ``Context``: the graph's node for
that result. It remembers the op, its inputs, what it saved and ``ctx.parents``, the node each
input came from (the input's own context, or the input itself for a leaf). ``backward`` visits
the nodes from the output back to the leaves in reverse topological order and hands each op
the gradient of the output with respect to its result; the op returns the gradients with
respect to its inputs (chain rule), and the engine adds them up where one tensor fed several
ops.

Nodes are kept apart from tensors so that an in-place op can give a tensor a new node (its
new history) while the ops that read the tensor before keep pointing at the old one. A
version counter on each tensor, bumped by every in-place op, lets backward refuse to use a
saved array that was overwritten after it was saved.

Tensor and this module are one unit: the engine reads and writes the Tensor slots whose names
start with an underscore (``_ctx``, ``_requires_grad``, ``_version_counter``, ...); nothing else does.
"""
from __future__ import annotations

import functools
import heapq
import weakref
from numbers import Number

from .backend import get_array_module

_grad_enabled = True


class Context:
    """What one recorded op keeps for its backward: ``ctx.save_for_backward(*arrays)`` and any
    attributes the op sets (``ctx.shape = ...``), plus the engine's fields: ``fn``, ``inputs``
    (the arguments of forward), ``parents`` (the node of each input), ``seq`` (the creation
    number of the result) and ``hooks`` (registered on a non-leaf tensor)."""

    __slots__ = ("fn", "inputs", "parents", "needs_input_grad", "saved_tensors", "saved_versions",
                 "seq", "hooks", "__dict__")

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    def __repr__(self):
        fn = getattr(self, "fn", None)
        return f"<node of {fn.__name__}>" if fn is not None else "<Context>"


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
        raw, needs, parents, first = [], [], [], None
        for a in args:
            if isinstance(a, Tensor):
                if first is None:
                    first = a.data
                elif type(a.data) is not type(first):
                    _raise_device_mix(cls, args)
                if a._view is not None and _grad_enabled:
                    refresh_view(a)
                raw.append(a.data)
                needs.append(a._requires_grad)
                parents.append((a._ctx or a) if a._requires_grad else None)
            else:
                raw.append(a)
                needs.append(False)
                parents.append(None)
        ctx = Context()
        ctx.needs_input_grad = needs
        ctx.saved_tensors = ()
        out = cls.forward(ctx, *raw)
        if type(out) is not type(first):  # ufuncs turn 0-d arrays into scalars
            out = get_array_module(first).asarray(out)
        view = _view_of(cls, out, args, raw)
        if not (_grad_enabled and True in needs):
            return Tensor(out, view=view)
        ctx.fn, ctx.inputs, ctx.parents, ctx.hooks = cls, args, parents, None
        result = Tensor(out, ctx=ctx, view=view)
        ctx.seq = result._seq
        ctx.saved_versions = _saved_versions(ctx.saved_tensors, args, result) if ctx.saved_tensors else None
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


# -- versions: which saved arrays backward must find unchanged ------------------------------
def _saved_versions(saved, args, result):
    """(index in saved, input position or -1 for the output, version counter, version now) for
    each saved array that is, or is a view of, an input tensor's or the result's data.

    Only those can be changed in place behind the op's back; arrays the forward computed for
    itself are private to the op. (PyTorch checks exactly its saved inputs and outputs too.)
    """
    records = []
    for k, s in enumerate(saved):
        base = getattr(s, "base", None)  # also skips saved numbers and shapes
        if s is result.data or (base is not None and (base is result.data or base is result.data.base)):
            records.append((k, -1, result._version_counter, result._version_counter[0]))
            continue
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                d = a.data
                if s is d or (base is not None and (base is d or base is d.base)):
                    records.append((k, i, a._version_counter, a._version_counter[0]))
                    break
    return tuple(records) or None


def _check_versions(ctx):
    for k, where, counter, expected in ctx.saved_versions:
        if counter[0] != expected:
            s = ctx.saved_tensors[k]
            what = "its output" if where < 0 else f"its input {where}"
            raise RuntimeError(
                f"backward: one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: the {s.dtype} tensor of shape {tuple(s.shape)} that {ctx.fn.__name__} "
                f"saved ({what}) is at version {counter[0]}; expected version {expected} instead; "
                "compute the new value out of place (y = y + 1 rather than y += 1), or .clone() the "
                "tensor before changing it")


# -- views: outputs that share memory with an input -------------------------------------------
def _view_of(cls, out, args, raw):
    """What ``out`` is a view of: (root tensor, the ops that made it from the root, the root's
    version now, whether grad mode was on), or None when ``out`` is a fresh array.

    A view shares the root's version counter, so an in-place op through either bumps both, and
    remembers how it was made so that an in-place op through it can be recorded on the root.
    """
    base = out.base
    if base is None:
        for i, r in enumerate(raw):
            if r is out and isinstance(args[i], Tensor):  # forward returned its input: an alias, a view
                return _extend_view(args[i], (cls, raw, i))
        return None
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and (a.data is base or a.data.base is base):
            return _extend_view(a, (cls, raw, i))
    return None


def _extend_view(a, step):
    if a._view is None:
        return (a, (step,), a._version_counter[0], _grad_enabled)
    root, steps = a._view[0], a._view[1]
    return (root, steps + (step,), root._version_counter[0], _grad_enabled)


def replay_view(steps, x):
    """Apply the view ops ``steps`` to raw array ``x`` (the root's shape): the region of ``x``
    that the view covers. Every step must give a view of its argument, so that writing into
    the region writes into ``x``."""
    for fn, args, i in steps:
        args = list(args)
        args[i] = x
        ctx = Context()
        ctx.needs_input_grad, ctx.saved_tensors = [False] * len(args), ()
        y = fn.forward(ctx, *args)
        owner = x if x.base is None else x.base
        if y is not x and y.base is not owner:
            raise RuntimeError(f"{fn.__name__}: an in-place op through this view cannot be recorded, "
                               "because the view cannot be made again as a view of a fresh array; "
                               ".clone() the view before changing it")
        x = y
    return x


def refresh_view(t):
    """Give view ``t`` a new node if its root was changed in place since ``t``'s node was made:
    ``t`` now reads the root's new value, so its gradient must flow into the root's new
    history (PyTorch regenerates a view's ``grad_fn`` the same way)."""
    root, steps, version, made_in_grad_mode = t._view
    if root._version_counter[0] == version:
        return
    t._view = (root, steps, root._version_counter[0], made_in_grad_mode)
    if made_in_grad_mode and root._requires_grad and _grad_enabled:
        _rebase(t, _remake_view(root, steps)._ctx)


def _remake_view(root, steps):
    v = root
    for fn, args, i in steps:
        args = list(args)
        args[i] = v
        v = fn.apply(*args)
    return v


# -- in-place ops ------------------------------------------------------------------------------
def check_inplace(name: str, t) -> None:
    """Refuse, as PyTorch does, an in-place op that would leave the graph unable to compute the
    gradient: writing into a leaf that requires grad (or into a view of one) while recording."""
    if not _grad_enabled:
        return
    if t._requires_grad and t._ctx is None:
        raise RuntimeError(
            f"{name}: a leaf Variable that requires grad is being used in an in-place operation; "
            "do the update under `with minigrad.no_grad():` (as an optimiser does), or write "
            "out of place (w = w - ...) if the change should be part of the graph")
    if t._view is not None:
        root, made_in_grad_mode = t._view[0], t._view[3]
        if root._requires_grad and root._ctx is None:
            raise RuntimeError(f"{name}: a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation; do it under `with minigrad.no_grad():`, or on a .clone()")
        if root._requires_grad and not made_in_grad_mode:
            raise RuntimeError(f"{name}: a view was created in no_grad mode and is being modified in place with "
                               "grad mode enabled; create the view and change it both inside the no_grad "
                               "block, or both outside it")


def inplace(name: str, target, op, *operands, fast=None):
    """``target <- op(target, *operands)``, in place: the one path of every in-place op.

    ``op`` is the out-of-place op (a function of Tensors). When nothing needs recording (grad
    mode is off, or neither the target nor an operand requires grad) ``fast(array, *raw)``, if
    given, writes straight into ``target.data``; otherwise ``op`` runs, recorded as usual, and
    ``commit`` writes its result into ``target`` and moves ``target`` onto its node.
    """
    for o in operands:
        if isinstance(o, Tensor):
            if type(o.data) is not type(target.data):
                raise RuntimeError(f"{name}: expected all tensors on the same device, got {target.device} and "
                                   f"{o.device}; move them with .to(device) first")
        elif not isinstance(o, Number):
            raise TypeError(f"{name}: expected Tensors or Python numbers, got {type(o).__name__}; "
                            "wrap arrays with minigrad.tensor(...)")
    check_inplace(name, target)
    if target._view is not None and _grad_enabled:
        refresh_view(target)
    recording = _grad_enabled and (target._requires_grad or any(
        isinstance(o, Tensor) and o._requires_grad for o in operands))
    if recording or fast is None:
        return commit(name, target, op(target, *operands))
    try:
        fast(target.data, *[o.data if isinstance(o, Tensor) else o for o in operands])
    except TypeError as e:  # NumPy refuses a cast that loses the kind (float into int)
        raise RuntimeError(f"{name}: the result can't be cast to the tensor's dtype {target.dtype} ({e}); "
                           "use an out-of-place op, or convert the tensor first") from None
    except ValueError as e:  # an operand broadcasting to a larger shape than the target's
        raise RuntimeError(f"{name}: {e}; an in-place op can't change its tensor's shape "
                           f"{target.shape}: use an out-of-place op") from None
    target._version_counter[0] += 1
    return target


def commit(name: str, target, result):
    """Write ``result`` (computed out of place from ``target``) into ``target``'s array, bump its
    version and, if ``result`` was recorded, make ``result``'s node ``target``'s history.

    Through a view, the write lands in the view's root: the root's new history is
    ``CopySlices`` (the old root with the view's region replaced by ``result``) and the view
    gets a fresh node on top of it.
    """
    data, out = target.data, result.data
    if out.shape != data.shape:
        raise RuntimeError(f"{name}: output with shape {data.shape} doesn't match the broadcast shape "
                           f"{out.shape}; an in-place op can't change its tensor's shape: use an "
                           "out-of-place op")
    if out.dtype != data.dtype and not get_array_module(data).can_cast(out.dtype, data.dtype, casting="same_kind"):
        raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the tensor's dtype {data.dtype}; "
                           "use an out-of-place op, or convert the tensor first")
    ctx = result._ctx
    if ctx is not None:
        _keep_saved_inputs(ctx, data)
    view = target._view
    if ctx is not None and view is not None:
        root, steps = view[0], view[1]
        _stand_in(ctx, target)
        commit(name, root, CopySlices.apply(root, result, steps))
        _rebase(target, _remake_view(root, steps)._ctx)
        target._view = (root, steps, root._version_counter[0], view[3])
        return target
    if out is not data:
        data[...] = out
    target._version_counter[0] += 1
    if ctx is not None:
        _rebase(target, ctx)
        _keep_saved_output(ctx, target, result)
    return target


def _keep_saved_inputs(ctx, data):
    """The op read ``data`` and may have saved it; it is about to be overwritten, so the op
    keeps a copy of its old values instead (PyTorch saves ``original_self`` the same way)."""
    saved = ctx.saved_tensors
    if not any(s is data for s in saved):
        return
    copy = data.copy()
    ctx.saved_tensors = tuple(copy if s is data else s for s in saved)
    kept = tuple(r for r in ctx.saved_versions or () if saved[r[0]] is not data)
    ctx.saved_versions = kept or None


def _keep_saved_output(ctx, target, result):
    """An op that saved its output (``exp``) can read it from the target after the write, as
    long as the target is not changed again: record the target's new version for it."""
    records = ctx.saved_versions
    if records is None or not any(r[1] < 0 for r in records):
        return
    saved = list(ctx.saved_tensors)
    kept = []
    for k, where, counter, version in records:
        if where < 0 and saved[k] is result.data:
            saved[k] = target.data
            kept.append((k, where, target._version_counter, target._version_counter[0]))
        else:
            kept.append((k, where, counter, version))
    ctx.saved_tensors, ctx.saved_versions = tuple(saved), tuple(kept)


def _rebase(t, ctx):
    """Make ``ctx`` (a node whose inputs include ``t`` as it was) ``t``'s history.

    The old node stays reachable through ``ctx.parents``; in ``ctx.inputs`` a stand-in tensor
    takes ``t``'s place, so that walking ``ctx.inputs`` never leads from ``t`` back to ``t``.
    A ``retain_grad()`` moves to the new node, as in PyTorch; hooks stay with the old one.
    """
    old = t._ctx
    _stand_in(ctx, t)
    if old is not None and old.hooks:
        moved = [h for h in old.hooks if isinstance(h, RetainGrad)]
        for h in moved:
            old.hooks.remove(h)
            add_hook(ctx, h)
    t._ctx, t._requires_grad = ctx, True


def _stand_in(ctx, t):
    """In ``ctx.inputs``, put a tensor standing for ``t`` as it was (its data, its old node) in
    place of ``t``, which is about to get a new history."""
    if any(a is t for a in ctx.inputs):
        stand_in = Tensor(t.data, ctx=t._ctx) if t._ctx is not None else Tensor(t.data)
        ctx.inputs = tuple(stand_in if a is t else a for a in ctx.inputs)


# -- hooks ------------------------------------------------------------------------------------
class RetainGrad:
    """The hook ``retain_grad()`` puts on a non-leaf's node: it adds the gradient into the
    tensor's ``.grad``. It holds the tensor weakly, so the graph does not keep it alive."""

    __slots__ = ("ref",)

    def __init__(self, t):
        self.ref = weakref.ref(t)

    def __call__(self, grad):
        t = self.ref()
        if t is not None:
            if t.grad is None:
                t.grad = Tensor(grad.data.copy())
            else:
                t.grad.data = t.grad.data + grad.data
        return None


def add_hook(ctx, hook):
    """Register ``hook`` on node ``ctx``; returns the list it was added to (for removal)."""
    if ctx.hooks is None:
        ctx.hooks = []
    ctx.hooks.append(hook)
    return ctx.hooks


def _run_hooks(hooks, grad, shape):
    """Call each hook on the gradient; one that returns a tensor replaces the gradient.
    ``retain_grad`` hooks run last, so they keep what the other hooks made of it."""
    ordered = [h for h in hooks if not isinstance(h, RetainGrad)] + [h for h in hooks if isinstance(h, RetainGrad)]
    for hook in ordered:
        new = hook(Tensor(grad))
        if new is not None:
            new = new.data if isinstance(new, Tensor) else new
            if new.shape != shape:
                raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the size "
                                   f"of the gradient from {shape} to {new.shape}; a hook must return a gradient "
                                   "of the tensor's shape (or None)")
            grad = new
    return grad


# -- backward ---------------------------------------------------------------------------------
def node_of(t):
    """The graph node behind tensor ``t``: its ``Context`` if an op made it while recording,
    ``t`` itself for a leaf that requires grad, None for a tensor outside any graph."""
    if t._view is not None and _grad_enabled:
        refresh_view(t)
    return t._ctx or (t if t._requires_grad else None)


def _parents(node):
    return () if isinstance(node, Tensor) else (node.parents or ())


def _node_seq(node):
    return node._seq if isinstance(node, Tensor) else node.seq


def topological_order(outputs):
    """Every node of the graph behind ``outputs`` (a tensor or a list of them), each before all
    the nodes it was computed from: a ``Context`` for an op's result, the tensor itself for a
    leaf that requires grad.

    An op's output is always created after its inputs, so sorting by creation number (newest
    first) is a topological order. Found with an explicit stack rather than recursion, so a
    chain of 10,000 ops does not hit Python's recursion limit.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    found = {}
    stack = [t._ctx or t for t in outputs if t._requires_grad]
    for node in stack:
        found[id(node)] = node
    while stack:
        for p in _parents(stack.pop()):
            if p is not None and id(p) not in found:
                found[id(p)] = p
                stack.append(p)
    return sorted(found.values(), key=_node_seq, reverse=True)


def _nodes_leading_to(roots, target_ids):
    """ids of the nodes from which some target node is reachable (the targets included): the
    only nodes whose backward ``grad`` and ``backward(inputs=...)`` need to run."""
    needed = set()
    for node in reversed(topological_order(roots)):  # oldest first: parents before children
        freed = not isinstance(node, Tensor) and node.parents is None  # kept, so the walk reports it
        if freed or id(node) in target_ids or any(p is not None and id(p) in needed for p in _parents(node)):
            needed.add(id(node))
    return needed


def _as_list(x):
    if x is None:
        return None
    return [x] if isinstance(x, Tensor) else list(x)


def _root_gradients(roots, gradients, who):
    if gradients is None:
        gradients = [None] * len(roots)
    elif len(gradients) != len(roots):
        raise RuntimeError(f"{who}: got {len(gradients)} gradients for {len(roots)} outputs; pass one per output")
    out = []
    for t, g in zip(roots, gradients):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: expected Tensors as outputs, got {type(t).__name__}")
        if t._view is not None and _grad_enabled:
            refresh_view(t)
        if not t._requires_grad:
            raise RuntimeError(f"{who}: this tensor does not require grad and has no graph; "
                               "set requires_grad=True on the inputs you want gradients for")
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(f"{who}: a gradient can be implied only for a scalar output, but this "
                                   f"tensor has shape {t.shape}; pass gradient= of that shape, or reduce "
                                   "the output first (e.g. .sum() or .mean())")
            g = get_array_module(t.data).ones_like(t.data)
        else:
            g = g.data if isinstance(g, Tensor) else g
            if g.shape != t.shape:
                raise RuntimeError(f"{who}: gradient has shape {g.shape} but the tensor has "
                                   f"shape {t.shape}; they must match")
        out.append(g)
    return out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(tensors)/d(leaf) into ``leaf.grad`` for every leaf that requires a gradient
    (``torch.autograd.backward``); with ``inputs``, only into those tensors' ``.grad``.

    Nodes are visited newest first (a heap on their creation number, as PyTorch's engine does):
    every op that used a tensor was created after it, so by the time its node comes off the
    heap all its gradient contributions have been added up.
    """
    if create_graph:
        raise NotImplementedError("backward: create_graph=True is not supported; minigrad's backward runs on "
                                  "raw arrays and records no graph of its own (no higher-order gradients)")
    roots = _as_list(tensors)
    grads = _root_gradients(roots, _as_list(grad_tensors) if grad_tensors is not None else None, "backward")
    inputs = _as_list(inputs)
    if inputs is not None and not inputs:
        raise RuntimeError("backward: inputs= is an empty list; pass the tensors to accumulate into, or None for all")
    _run(roots, grads, bool(retain_graph), inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple rather than
    added into any ``.grad`` (``torch.autograd.grad``). Only the part of the graph between
    them runs. An input the outputs do not depend on raises, or gives None with
    ``allow_unused=True``.

    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> grad((x * x).sum(), x)
    (tensor([2., 4.]),)
    """
    if create_graph:
        raise NotImplementedError("grad: create_graph=True is not supported; minigrad's backward runs on raw "
                                  "arrays and records no graph of its own (no higher-order gradients)")
    roots = _as_list(outputs)
    grads = _root_gradients(roots, _as_list(grad_outputs) if grad_outputs is not None else None, "grad")
    inputs = _as_list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: expected Tensors as inputs, got {type(t).__name__}")
        if t._view is not None and _grad_enabled:
            refresh_view(t)
        if not t._requires_grad:
            raise RuntimeError("grad: one of the differentiated Tensors does not require grad; "
                               "differentiate only with respect to tensors made with requires_grad=True")
    found = _run(roots, grads, bool(retain_graph), inputs, accumulate=False)
    result = []
    for i, g in enumerate(found):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: the differentiated Tensor at index {i} appears to not have been used in "
                               "the graph; pass allow_unused=True if this is the desired behavior")
        result.append(None if g is None else Tensor(g))
    return tuple(result)


def _run(roots, root_grads, retain_graph, inputs, accumulate):
    """The walk. ``inputs`` None: every leaf accumulates. Otherwise only the inputs' nodes are
    targets, and their gradients are accumulated into their ``.grad`` or, with
    ``accumulate=False``, returned."""
    owned = {id(g) for g in root_grads}  # arrays the user holds: copied before a leaf keeps one
    grads, heap = {}, []
    for t, g in zip(roots, root_grads):
        node = t._ctx or t
        if id(node) in grads:
            grads[id(node)] = grads[id(node)] + g
        else:
            grads[id(node)] = g
            heapq.heappush(heap, (-_node_seq(node), node))
    targets = needed = None
    found = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            targets.setdefault(id(t._ctx or t), []).append((i, t))
        needed = _nodes_leading_to(roots, targets)
        found = [None] * len(inputs)
    while heap:
        node = heapq.heappop(heap)[1]
        grad = grads.pop(id(node))
        if isinstance(node, Tensor):  # a leaf
            if node._backward_hooks:
                grad = _run_hooks(node._backward_hooks, grad, node.data.shape)
            if targets is None:
                _accumulate(node, grad, owned)
            elif id(node) in targets:
                _deliver(targets[id(node)], grad, found, accumulate, owned)
            continue
        ctx = node
        if ctx.parents is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time ({ctx.fn.__name__} "
                "already freed its saved arrays); call backward(retain_graph=True) the first time "
                "if you need to backward twice")
        if ctx.hooks:
            grad = _run_hooks(ctx.hooks, grad, grad.shape)
        if targets is not None:
            if id(ctx) in targets:
                _deliver(targets[id(ctx)], grad, found, accumulate, owned)
            if not any(p is not None and id(p) in needed for p in ctx.parents):
                continue  # no wanted gradient lies below this node
        if ctx.saved_versions is not None:
            _check_versions(ctx)
        input_grads = ctx.fn.backward(ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx.parents):
            raise RuntimeError(f"{ctx.fn.__name__}.backward returned {len(input_grads)} gradients "
                               f"for {len(ctx.parents)} inputs of forward")
        for p, a, g in zip(ctx.parents, ctx.inputs, input_grads):
            if g is None or p is None or (needed is not None and id(p) not in needed):
                continue
            if g.shape != a.data.shape:
                raise RuntimeError(f"{ctx.fn.__name__}.backward returned a gradient of shape {g.shape} "
                                   f"for an input of shape {a.data.shape}; they must match")
            prev = grads.get(id(p))
            if prev is None:
                grads[id(p)] = g
                heapq.heappush(heap, (-_node_seq(p), p))
            else:
                grads[id(p)] = prev + g  # a tensor used twice: add
        if not retain_graph:
            ctx.inputs = ctx.saved_tensors = ctx.parents = None  # free the graph as we go
    return found


def _own(g, owned):
    """``g`` itself if no one else holds it, else a copy: two leaves (``a + b`` hands both the
    same array), the user's ``gradient=`` and a leaf must never share a gradient array."""
    if g.base is not None or id(g) in owned:
        g = g.copy()
    owned.add(id(g))
    return g


def _accumulate(t, g, owned):
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)  # a new array: no one else holds it
    if t.grad is None:
        t.grad = Tensor(_own(g, owned))
    else:
        t.grad.data = t.grad.data + g
    if t._grad_hooks:
        for hook in t._grad_hooks:
            hook(t)


def _deliver(entries, g, found, accumulate, owned):
    for i, t in entries:
        if accumulate:
            if t._ctx is None:
                _accumulate(t, g, owned)
            elif t.grad is None:
                t.grad = Tensor(_own(g, owned))
            else:
                t.grad.data = t.grad.data + g
        else:
            found[i] = _own(g, owned) if found[i] is None else found[i] + g


# -- grad mode --------------------------------------------------------------------------------
class _GradMode:
    """A context manager that is also a decorator, with or without parentheses."""

    enabled = False

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}: takes no arguments (as a decorator, a function); got {orig_func!r}")
        return cls()(orig_func)

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


class no_grad(_GradMode):
    """Context manager (and decorator, ``@no_grad`` or ``@no_grad()``) under which ops record no
    graph, as ``torch.no_grad``: evaluation, and the optimiser's in-place update."""

    enabled = False


class enable_grad(_GradMode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    enabled = True


class inference_mode(no_grad):
    """``torch.inference_mode``: here the same as ``no_grad`` (minigrad has no cheaper mode).
    ``inference_mode(False)`` leaves grad mode as it is."""

    def __new__(cls, mode=True):
        if callable(mode):
            return cls()(mode)
        self = object.__new__(cls)
        self._mode = bool(mode)
        return self

    def __enter__(self):
        global _grad_enabled
        self._prev = _grad_enabled
        if self._mode:
            _grad_enabled = False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


class set_grad_enabled:
    """Turn recording on or off: as a function call (``set_grad_enabled(False)``), for a
    ``with`` block (restored at its end) or as a decorator, as ``torch.set_grad_enabled``."""

    def __init__(self, mode: bool):
        global _grad_enabled
        self._prev, self.mode = _grad_enabled, bool(mode)
        _grad_enabled = self.mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._prev

    def __call__(self, fn):
        global _grad_enabled
        _grad_enabled = self._prev  # making the decorator must not switch the mode for the caller
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_grad_enabled() -> bool:
    return _grad_enabled


# Tensor and Function refer to each other: Tensor is imported once Function exists.
from .tensor import Tensor  # noqa: E402
from .ops.inplace import CopySlices  # noqa: E402

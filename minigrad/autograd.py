"""The engine: record each op as it runs forward, then walk the record backward.

A ``Function`` computes on raw arrays. ``Function.apply`` runs its ``forward``, wraps the
result in a Tensor and, when a gradient is wanted, keeps a ``Context``: the graph's node for
that result. It remembers the op, its inputs and what it saved; the node each input came from
(``ctx.parents``) is the input's own context, or the input itself for a leaf. ``backward``
visits the nodes from the output back to the leaves in reverse topological order and hands
each op the gradient of the output with respect to its result; the op returns the gradients
with respect to its inputs (chain rule), and the engine adds them up where one tensor fed
several ops.

Nodes are kept apart from tensors so that an in-place op can give a tensor a new node (its
new history) while the ops that read the tensor before keep the old one: a tensor whose
history was replaced remembers its old nodes, and each node its creation number, which says
which one it read. A version counter on each tensor, bumped by every in-place op, lets
backward refuse to use a saved array that was overwritten after it was saved.

Tensor and this module are one unit: the engine reads and writes the Tensor slots whose names
start with an underscore (``_ctx``, ``_requires_grad``, ``_version_counter``, ...); nothing else does.
"""
from __future__ import annotations

import functools
import heapq
import sys
import weakref
from numbers import Number

from .backend import get_array_module

_grad_enabled = True
_epoch = 0  # counts every in-place op anywhere: a node made since the last one needs no version check
_views_changed = False  # set once an in-place op changes a tensor that has views: they may be stale
# Set once and for all by the first of each: until then backward skips looking for them.
_rebased = False        # a tensor got a new node from an in-place op (autograd._rebase)
_node_hooks = False     # a hook was registered on a tensor (register_hook, retain_grad)


class Context:
    """What one recorded op keeps for its backward: ``ctx.save_for_backward(*arrays)`` and any
    attributes the op sets (``ctx.shape = ...``), plus the engine's fields: ``fn``, ``inputs``
    (the arguments of forward), ``hooks`` (registered on a non-leaf tensor) and ``_seq`` (the
    creation number of the result, named as a Tensor's so that the heap reads either).
    ``parents`` gives the node each input came from."""

    __slots__ = ("fn", "inputs", "needs_input_grad", "epoch", "_seq", "__dict__")
    saved_tensors = ()     # class defaults, so that Function.apply need not set them on every node
    output_changed = None  # (the output's version counter, its version when saved): see bump_version
    hooks = None

    def save_for_backward(self, *arrays):
        """Keep these arrays for backward, which reads them as ``ctx.saved_tensors``."""
        self.saved_tensors = arrays

    @property
    def parents(self):
        """The graph's edges, one per input, the node it came from (None for an input that
        needs no gradient), as this op saw it; None once backward has freed the node."""
        if self.inputs is None:
            return None
        return tuple(_node_seen(a, self._seq) if n else None for a, n in zip(self.inputs, self.needs_input_grad))

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
        raw, needs, first = [], [], None
        views_changed = _views_changed and _grad_enabled
        for a in args:
            if isinstance(a, Tensor):
                if first is None:
                    first = a.data
                elif type(a.data) is not type(first):
                    _raise_device_mix(cls, args)
                if views_changed and a._view is not None:
                    refresh_view(a)
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
        view = _view_of(cls, out, args, raw) if out.base is not None or out is first else None
        if not (_grad_enabled and True in needs):
            return Tensor(out, False, None, view)
        ctx.fn = cls
        ctx.inputs = args
        result = Tensor(out, False, ctx, view)
        ctx._seq = result._seq
        ctx.epoch = _epoch
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
# Every in-place op bumps its tensor's version counter and the global ``_epoch``, and the
# counter keeps the epochs of its last bumps. A node notes the epoch it was made at; backward
# looks at a node's saved arrays only when some in-place op has run since (rarely: none runs
# between a forward and its backward in a training loop), so recording costs one store.
# Only saved arrays that are, or are views of, an input's or the output's data are checked:
# arrays the forward computed for itself are private to the op (PyTorch checks exactly its
# saved inputs and outputs too), so ``y = x + 1; x.add_(1)`` still backpropagates. A change
# to an output is noted on the node that made it, which the changed tensor knows.
_KEPT_BUMPS = 16


def version_counter(t) -> list:
    """``t``'s version counter, made on first need: [version, epochs of its last bumps, whether
    views share it]. A tensor nothing has changed or viewed has none (version 0)."""
    vc = t._version_counter
    if vc is None:
        vc = t._version_counter = [0, None, False]
    return vc


def bump_version(t) -> None:
    """Count one in-place change of ``t`` (and of every tensor sharing its memory through views)."""
    global _epoch, _views_changed
    _epoch += 1
    vc = version_counter(t)
    for owner in (t,) if t._view is None else (t, t._view[0]):
        ctx = owner._ctx  # the node whose output is being overwritten
        if ctx is not None and ctx.output_changed is None and any(s is owner.data for s in ctx.saved_tensors or ()):
            ctx.output_changed = vc, vc[0], owner.data
    vc[0] += 1
    if vc[1] is None:
        vc[1] = [_epoch]
    else:
        vc[1].append(_epoch)
        if len(vc[1]) > _KEPT_BUMPS:
            del vc[1][0]
    if vc[2]:
        _views_changed = True


def _check_versions(ctx):
    if ctx.output_changed is not None:
        vc, expected, s = ctx.output_changed
        _raise_version_error(ctx, s, "its output", vc[0], expected)
    for s in ctx.saved_tensors:
        i = _input_holding(ctx.inputs, s)
        if i is None:
            continue
        vc = ctx.inputs[i]._version_counter
        if vc is None:
            continue  # never changed
        later = [e for e in vc[1] or () if e > ctx.epoch]
        if later:
            unsure = len(later) == _KEPT_BUMPS and vc[0] > _KEPT_BUMPS  # older bumps were forgotten
            _raise_version_error(ctx, s, f"its input {i}", vc[0], f"{vc[0] - len(later)}{' or earlier' if unsure else ''}")


def _raise_version_error(ctx, s, what, now, expected):
    raise RuntimeError(
        f"backward: one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: the {s.dtype} tensor of shape {tuple(s.shape)} that {ctx.fn.__name__} "
        f"saved ({what}) is at version {now}; "
        f"expected version {expected} instead; compute the new value out of place (y = y + 1 rather "
        "than y += 1), or .clone() the tensor before changing it")


def _input_holding(inputs, s):
    """The position of the input tensor whose data ``s`` is, or is a view of (None if none)."""
    base = getattr(s, "base", None)  # None also for saved numbers and shapes
    for i, a in enumerate(inputs):
        if isinstance(a, Tensor) and (a.data is s or (base is not None and (base is a.data or base is a.data.base))):
            return i
    return None


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
    vc = version_counter(a)  # shared with a's root if a is itself a view
    vc[2] = True  # it has views now: a change to it may leave them stale
    if a._view is None:
        return (a, (step,), vc[0], _grad_enabled)
    return (a._view[0], a._view[1] + (step,), vc[0], _grad_enabled)


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
    bump_version(target)
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
    bump_version(target)
    if ctx is not None:
        _rebase(target, ctx)
        _keep_saved_output(ctx, target, result)
    return target


def _keep_saved_inputs(ctx, data):
    """The op read ``data`` and may have saved it; it is about to be overwritten, so the op
    keeps a copy of its old values instead (PyTorch saves ``original_self`` the same way)."""
    saved = ctx.saved_tensors
    if any(s is data for s in saved):
        copy = data.copy()
        ctx.saved_tensors = tuple(copy if s is data else s for s in saved)


def _keep_saved_output(ctx, target, result):
    """An op that saved its output (``exp``) can read it from the target after the write, as
    long as the target is not changed again (``target`` now has ``ctx`` as its node, so a
    later change is noted on it)."""
    if any(s is result.data for s in ctx.saved_tensors):
        ctx.saved_tensors = tuple(target.data if s is result.data else s for s in ctx.saved_tensors)
        ctx.epoch = _epoch  # the write just made is what it saved: only later changes count


def _rebase(t, ctx):
    """Make ``ctx`` (a node whose inputs include ``t`` as it was) ``t``'s history.

    ``t`` remembers its old node with the creation number of the new one: the ops made before
    that (``ctx`` included) read the old node (``_node_seen``). In ``ctx.inputs`` a stand-in
    tensor takes ``t``'s place, so that ``t`` does not hold itself through its own node.
    A ``retain_grad()`` moves to the new node, as in PyTorch; hooks stay with the old one.
    """
    global _rebased
    old = t._ctx
    _stand_in(ctx, t)
    t._history = (t._history or ()) + ((ctx._seq, old),)
    _rebased = True
    t._ctx, t._requires_grad = ctx, True
    if old is not None and old.hooks:
        for h in [h for h in old.hooks if isinstance(h, RetainGrad)]:
            old.hooks.remove(h)
            add_hook(t, h)


def _stand_in(ctx, t):
    """In ``ctx.inputs``, put a tensor standing for ``t`` as it was (its data, its old node) in
    place of ``t``, which is about to get a new history."""
    if any(a is t for a in ctx.inputs):
        stand_in = Tensor(t.data, False, t._ctx)
        stand_in._version_counter = version_counter(t)  # the same memory: one counter, as a view
        ctx.inputs = tuple(stand_in if a is t else a for a in ctx.inputs)


def _node_seen(a, seq):
    """The node of tensor ``a`` (which required grad) as the op made at creation number ``seq``
    saw it: the node ``a`` had then, even if an in-place op has given it a new one since."""
    history = a._history
    if history is not None:
        for boundary, old in history:
            if seq <= boundary:
                return old if old is not None else a
    return a._ctx or a


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


def add_hook(t, hook):
    """Register ``hook`` on tensor ``t``'s gradient: on its node if an op made it, else on the
    leaf itself (run before its ``.grad`` is added to). Returns the list it went into."""
    global _node_hooks
    _node_hooks = True
    ctx = t._ctx
    hooks = t._backward_hooks if ctx is None else ctx.hooks
    if hooks is None:
        hooks = []
        if ctx is None:
            t._backward_hooks = hooks
        else:
            ctx.hooks = hooks
    hooks.append(hook)
    return hooks


def _run_hooks(hooks, grad, shape):
    """Call each hook on the gradient; one that returns a tensor replaces the gradient.
    ``retain_grad`` hooks run last, so they keep what the other hooks made of it."""
    ordered = [h for h in hooks if not isinstance(h, RetainGrad)] + [h for h in hooks if isinstance(h, RetainGrad)]
    for hook in ordered:
        new = hook(Tensor(grad))
        if new is not None:
            new = new.data if isinstance(new, Tensor) else new
            if new.shape != shape:
                raise RuntimeError(f"register_hook: hook '{getattr(hook, '__name__', type(hook).__name__)}' has "
                                   f"changed the size of the gradient from {shape} to {new.shape}; a hook must "
                                   "return a gradient of the tensor's shape (or None)")
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
    return () if node.__class__ is not Context else (node.parents or ())


def _seq_of(node):
    return node._seq


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
    return sorted(found.values(), key=_seq_of, reverse=True)


def _nodes_leading_to(roots, target_ids):
    """ids of the nodes from which some target node is reachable (the targets included): the
    only nodes whose backward ``grad`` and ``backward(inputs=...)`` need to run."""
    needed = set()
    for node in reversed(topological_order(roots)):  # oldest first: parents before children
        freed = node.__class__ is Context and node.inputs is None  # kept, so the walk reports it
        if freed or id(node) in target_ids or any(p is not None and id(p) in needed for p in _parents(node)):
            needed.add(id(node))
    return needed


def _in_graph(t, who, what, unwanted):
    """Check that ``t`` is a tensor in a graph (``what``: 'outputs' or 'inputs'); else raise
    with ``unwanted``, the message for a tensor that requires no grad."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: expected Tensors as {what}, got {type(t).__name__}")
    if t._view is not None and _grad_enabled:
        refresh_view(t)
    if not t._requires_grad:
        raise RuntimeError(f"{who}: {unwanted}")


def _root_gradient(t, g, who):
    """The gradient that starts the walk at output ``t``: ``g``'s array, or ones for a scalar."""
    _in_graph(t, who, "outputs", "this tensor does not require grad and has no graph; "
              "set requires_grad=True on the inputs you want gradients for")
    if g is None:
        if t.data.size != 1:
            raise RuntimeError(f"{who}: a gradient can be implied only for a scalar output, but this "
                               f"tensor has shape {t.shape}; pass gradient= of that shape, or reduce "
                               "the output first (e.g. .sum() or .mean())")
        return get_array_module(t.data).ones_like(t.data)
    g = g.data if isinstance(g, Tensor) else g
    if g.shape != t.shape:
        raise RuntimeError(f"{who}: gradient has shape {g.shape} but the tensor has "
                           f"shape {t.shape}; they must match")
    return g.copy()  # the caller keeps theirs: no .grad may share it


def _roots(outputs, gradients, who):
    if isinstance(outputs, Tensor):
        return [outputs], [_root_gradient(outputs, gradients, who)]
    outputs = list(outputs)
    if gradients is None:
        gradients = [None] * len(outputs)
    elif isinstance(gradients, Tensor) or len(gradients) != len(outputs):
        n = 1 if isinstance(gradients, Tensor) else len(gradients)
        raise RuntimeError(f"{who}: got {n} gradients for {len(outputs)} outputs; pass one per output")
    return outputs, [_root_gradient(t, g, who) for t, g in zip(outputs, gradients)]


def _tensor_list(inputs, who):
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError(f"{who}: inputs is empty; pass the tensors to differentiate with respect to")
    for t in inputs:
        _in_graph(t, who, "inputs", "one of the differentiated Tensors does not require grad; "
                  "differentiate only with respect to tensors made with requires_grad=True")
    return inputs


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
    if (grad_tensors is None and inputs is None and type(tensors) is Tensor and tensors._requires_grad
            and tensors._view is None and tensors.data.size == 1):  # loss.backward(), kept short
        _run([tensors], [get_array_module(tensors.data).ones_like(tensors.data)], retain_graph, None, True)
        return
    roots, grads = _roots(tensors, grad_tensors, "backward")
    _run(roots, grads, retain_graph, None if inputs is None else _tensor_list(inputs, "backward"), True)


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
    roots, grads = _roots(outputs, grad_outputs, "grad")
    found = _run(roots, grads, retain_graph, _tensor_list(inputs, "grad"), False)
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
    ``accumulate=False``, returned.
    """
    grads, heap = {}, []
    for t, g in zip(roots, root_grads):
        node = t._ctx or t
        if id(node) in grads:
            grads[id(node)] = grads[id(node)] + g
        else:
            grads[id(node)] = g
            heapq.heappush(heap, (-node._seq, node))
    targets = needed = found = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            targets.setdefault(id(t._ctx or t), []).append((i, t))
        needed = _nodes_leading_to(roots, targets)
        found = [None] * len(inputs)
    hooks, rebased = _node_hooks, _rebased
    while heap:
        node = heapq.heappop(heap)[1]
        grad = grads.pop(id(node))
        if node.__class__ is not Context:  # a leaf
            if hooks and node._backward_hooks:
                grad = _run_hooks(node._backward_hooks, grad, node.data.shape)
            if targets is None:
                _accumulate(node, grad)
            elif id(node) in targets:
                _deliver(targets[id(node)], grad, found, accumulate)
            continue
        ctx = node
        ctx_inputs = ctx.inputs
        if ctx_inputs is None:
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time ({ctx.fn.__name__} "
                "already freed its saved arrays); call backward(retain_graph=True) the first time "
                "if you need to backward twice")
        if targets is not None and id(ctx) in targets:
            _deliver(targets[id(ctx)], grad, found, accumulate)  # before its hooks, as PyTorch
        if hooks and ctx.hooks:
            grad = _run_hooks(ctx.hooks, grad, grad.shape)
        if targets is not None and not any(p is not None and id(p) in needed for p in ctx.parents):
            continue  # no wanted gradient lies below this node
        if ctx.epoch != _epoch and ctx.saved_tensors:
            _check_versions(ctx)
        input_grads = ctx.fn.backward(ctx, grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx_inputs):
            raise RuntimeError(f"{ctx.fn.__name__}.backward returned {len(input_grads)} gradients "
                               f"for {len(ctx_inputs)} inputs of forward")
        seq = ctx._seq
        for a, g, need in zip(ctx_inputs, input_grads, ctx.needs_input_grad):
            if g is None or not need:
                continue
            p = _node_seen(a, seq) if rebased else a._ctx or a
            if needed is not None and id(p) not in needed:
                continue
            if g.shape != a.data.shape:
                raise RuntimeError(f"{ctx.fn.__name__}.backward returned a gradient of shape {g.shape} "
                                   f"for an input of shape {a.data.shape}; they must match")
            prev = grads.get(id(p))
            if prev is None:
                grads[id(p)] = g
                heapq.heappush(heap, (-p._seq, p))
            else:
                grads[id(p)] = prev + g  # a tensor used twice: add
        input_grads = g = prev = None  # hold no gradient array past its node: see _accumulate
        if not retain_graph:
            ctx.inputs = ctx.saved_tensors = None  # free the graph as we go
    return found


def _accumulate(t, g):
    """Add ``g`` into leaf ``t``'s ``.grad``. A first gradient is kept as it is only if no one
    else holds the array: ``a + b`` hands one array to both leaves and an op may pass its
    incoming gradient on, so a view or an array referenced from anywhere but the engine's walk
    is copied first (PyTorch's AccumulateGrad checks the reference count the same way). Two
    ``.grad`` never share an array, so changing one in place changes nothing else."""
    if g.dtype != t.data.dtype:
        g = g.astype(t.data.dtype)  # a new array: no one else holds it
    elif t.grad is None and (g.base is not None or _refcount(g) > _WALK_REFERENCES):
        g = g.copy()
    if t.grad is None:
        t.grad = Tensor(g)
    else:
        t.grad.data = t.grad.data + g
    if t._grad_hooks:
        for hook in t._grad_hooks:
            hook(t)


_refcount = sys.getrefcount


def _count_walk_references():
    """The references an unshared gradient has at _accumulate's check (_run's ``grad``,
    _accumulate's ``g``, getrefcount's argument: 3 on CPython 3.10 to 3.13), measured through
    calls of the same shape, so that an interpreter that counts differently is followed."""
    def accumulate(t, g):
        return _refcount(g)

    def walk():
        grad = object()
        return accumulate(None, grad)
    return walk()


_WALK_REFERENCES = _count_walk_references()


def _deliver(entries, g, found, accumulate):
    """Hand a target's gradient over (a copy: the array may still flow on below the target)."""
    for i, t in entries:
        if accumulate and t._ctx is None:
            _accumulate(t, g.copy())
        elif accumulate:
            t.grad = Tensor(g.copy()) if t.grad is None else Tensor(t.grad.data + g)
        else:
            found[i] = g.copy() if found[i] is None else found[i] + g


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
        return _run_inside(type(self), fn)


def _run_inside(make_context, fn):
    """``fn``, run inside a fresh ``make_context()`` at each call (the decorator form)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_context():
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
        return _run_inside(functools.partial(inference_mode, self._mode), fn)


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
        return _run_inside(functools.partial(set_grad_enabled, self.mode), fn)


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ops then record no graph."""
    return _grad_enabled


# Tensor and Function refer to each other: Tensor is imported once Function exists.
from .tensor import Tensor  # noqa: E402
from .ops.inplace import CopySlices  # noqa: E402

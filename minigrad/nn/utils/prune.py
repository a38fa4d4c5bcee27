"""Pruning: zero a chosen part of a parameter and keep it zero while training, as
``torch.nn.utils.prune`` (the same names, arguments and mechanics).

Pruning ``module.weight`` re-parametrises it:

    module.weight_orig     the Parameter, still trained by the optimiser (it is the object
                           that was ``module.weight``, so an optimiser built earlier keeps it)
    module.weight_mask     a buffer of 0s and 1s, of the parameter's dtype and shape
    module.weight          weight_orig * weight_mask, a plain attribute that a forward
                           pre-hook (the pruning method itself) recomputes before every call

So the gradient reaching ``weight_orig`` is ``G * mask``: the pruned entries get none and the
layer's effective weight stays exactly zero there through any amount of training. The
``state_dict`` holds ``weight_orig`` and ``weight_mask`` (not ``weight``); ``remove`` makes the
pruning permanent (``weight = weight_orig * weight_mask`` as a Parameter again).

Pruning the same parameter again composes (a ``PruningContainer``): the new method sees only
what is left. ``l1_unstructured(m, 'weight', 0.2)`` applied three times keeps
0.8 ** 3 = 51.2% of the entries, as in PyTorch; a structured method ignores the channels
that are already all zero.

``amount`` is a fraction of the entries (of those left) in [0, 1], rounded to the nearest
count as Python's ``round`` does (half to even), or a number of entries (an int).

Two places where the answer is not PyTorch's:

- ``dim`` is an axis of the parameter as minigrad stores it. ``nn.Linear``'s weight is
  (in_features, out_features), PyTorch's (out_features, in_features), so removing output units
  of a Linear is ``ln_structured(m, 'weight', amount, n, dim=1)`` here (or ``dim=-1``) and
  ``dim=0`` in PyTorch; removing inputs is ``dim=0`` here and ``dim=1`` there. Masks are the
  transposes of PyTorch's.
- Ties. Among entries of equal magnitude minigrad prunes the one with the lower (row-major)
  index first. PyTorch's ``topk`` leaves the order of ties unspecified and its CPU kernel's
  choice depends on the tensor's size (a partial sort), so with ties the two can prune
  different (equally small) entries; the number pruned and the magnitudes kept are the same.
  Weights drawn from a continuous distribution have no ties.
"""
from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod

from ... import factories
from ...backend import get_array_module
from ...tensor import Tensor
from ..module import Parameter

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured", "custom_from_mask",
           "remove", "is_pruned"]


class BasePruningMethod(ABC):
    """A way of choosing which entries to prune: ``compute_mask(t, default_mask)`` returns the
    mask (a Tensor of 0s and 1s shaped like ``t``), starting from ``default_mask`` (what is
    already pruned). An applied method is also the forward pre-hook that recomputes
    ``module.<name> = <name>_orig * <name>_mask`` before each call.

    To write a new method, subclass it with a ``PRUNING_TYPE`` ('unstructured', 'structured'
    with a ``dim`` attribute, or 'global') and a ``compute_mask``, as in PyTorch.
    """

    _tensor_name: str | None = None
    PRUNING_TYPE = "unstructured"

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The new mask for ``t``, combined with ``default_mask`` (both shaped like ``t``)."""

    def apply_mask(self, module) -> Tensor:
        """``<name>_orig * <name>_mask``: recorded by the engine, so the gradient reaches the
        original parameter multiplied by the mask."""
        if self._tensor_name is None:
            raise RuntimeError(f"apply_mask: this {type(self).__name__} has not been applied to a module yet; "
                               f"call {type(self).__name__}.apply(module, name, ...) first")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name: str, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``, composed with any pruning
        already applied to it; returns the method (a ``PruningContainer`` when composed).

        ``importance_scores`` (shaped like the parameter) rank the entries instead of the
        parameter's own values.
        """
        old = _pruning_hook(module, name)
        method = cls(*args, **kwargs)
        method._tensor_name = name
        if old is not None:
            position = module._forward_pre_hooks.index(old)
            module._forward_pre_hooks.remove(old)
            container = PruningContainer(*old[0]) if isinstance(old[0], PruningContainer) \
                else PruningContainer(old[0])  # a new container: the old one stays whole if this fails
            container.add_pruning_method(method)
            method = container
        elif not isinstance(module._parameters.get(name), Parameter):
            raise ValueError(f"{cls.__name__}.apply: {type(module).__name__} has no parameter {name!r} to prune; "
                             f"its parameters are {[k for k, v in module._parameters.items() if v is not None]}")
        orig = getattr(module, name)  # when composing: the pruned tensor, so ranked as it is now
        if importance_scores is not None:
            if tuple(importance_scores.shape) != tuple(orig.shape):
                raise ValueError(f"{cls.__name__}.apply: importance_scores has shape {tuple(importance_scores.shape)} "
                                 f"but parameter {name!r} has {tuple(orig.shape)}; give one score per entry")
        else:
            importance_scores = orig
        first_time = not isinstance(method, PruningContainer)
        if first_time:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]  # module.<name> stays, as a plain attribute, until set below
            default_mask = factories.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:  # leave the module as it was (PyTorch loses the earlier hook here)
            if first_time:
                delattr(module, name + "_orig")
                if name + "_mask" in module._buffers:
                    delattr(module, name + "_mask")
                module.__dict__.pop(name, None)
                module.register_parameter(name, orig)
            else:
                module._forward_pre_hooks.insert(position, old)
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None, importance_scores: Tensor | None = None) -> Tensor:
        """``t`` times the mask this method computes for it (no module involved)."""
        if importance_scores is not None and tuple(importance_scores.shape) != tuple(t.shape):
            raise ValueError(f"prune: importance_scores has shape {tuple(importance_scores.shape)} but the tensor "
                             f"has {tuple(t.shape)}; give one score per entry")
        scores = t if importance_scores is None else importance_scores
        default_mask = default_mask if default_mask is not None else factories.ones_like(t)
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a Parameter holding
        ``<name>_orig * <name>_mask`` (the same Parameter object as ``<name>_orig``), and
        ``<name>_orig`` and ``<name>_mask`` go. The hook itself is removed by ``prune.remove``."""
        if self._tensor_name is None:
            raise RuntimeError(f"remove: this {type(self).__name__} was never applied to a module")
        name = self._tensor_name
        weight = self.apply_mask(module)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        module.__dict__.pop(name, None)
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """The pruning methods applied to one parameter, in order; its mask is the last method's
    mask computed on what the earlier ones left:

        unstructured   the new method ranks only the entries where the mask is still 1
        structured     ... only the channels along ``dim`` not yet all zero
        global         ... every entry (the new mask multiplies the old one)
    """

    def __init__(self, *methods):
        self._pruning_methods: tuple = ()
        if methods:
            self._tensor_name = methods[0]._tensor_name
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        """Append ``method`` to the methods applied in turn (each prunes what the previous ones left), as PyTorch's."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"add_pruning_method: {type(method).__name__} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"add_pruning_method: this container prunes the parameter named "
                             f"{self._tensor_name!r}; the method given prunes {method._tensor_name!r}")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, index):
        return self._pruning_methods[index]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        mask = default_mask.data.astype(t.dtype)  # a copy: default_mask itself is left alone
        if method.PRUNING_TYPE == "unstructured":
            where = mask == 1
        elif method.PRUNING_TYPE == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError(f"{type(method).__name__}: a 'structured' pruning method needs a dim attribute")
            dim = _axis(t, method.dim)
            others = tuple(d for d in range(t.ndim) if d != dim)
            where = [slice(None)] * t.ndim
            where[dim] = mask.sum(axis=others) != 0  # channels not entirely pruned already
            where = tuple(where)
        elif method.PRUNING_TYPE == "global":
            where = (slice(None),) * t.ndim
        else:
            raise ValueError(f"{type(method).__name__}: unknown PRUNING_TYPE {method.PRUNING_TYPE!r}; "
                             "expected 'unstructured', 'structured' or 'global'")
        partial = method.compute_mask(Tensor(t.data[where]), default_mask=Tensor(mask[where]))
        mask[where] = partial.data.astype(mask.dtype)
        return Tensor(mask)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (useful to re-parametrise a model before loading a
    pruned state dict into it)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _LowestScoresUnstructured(BasePruningMethod):
    """Prunes the ``amount`` entries of lowest ``score(t)``: what the two unstructured
    methods share (they differ only in the score)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _validate_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _count_to_prune(self.amount, t.numel())
        mask = default_mask.data.copy()
        if k:
            _zero_at(mask, _k_smallest(self.score(t).reshape(-1), k))
        return Tensor(mask)


class RandomUnstructured(_LowestScoresUnstructured):
    """Prune ``amount`` entries chosen at random (minigrad's generator: ``manual_seed`` repeats it)."""

    @staticmethod
    def score(t):
        """Minus a uniform draw per element: the elements with the lowest scores are pruned."""
        # the k lowest are the k largest draws, as PyTorch's topk of rand_like
        return -factories.rand(*t.shape, dtype=t.dtype, device=t.device).data

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_LowestScoresUnstructured):
    """Prune the ``amount`` entries of smallest absolute value (Han et al. 2015's criterion)."""

    @staticmethod
    def score(t):
        """|w| per element: the elements with the lowest scores (smallest magnitudes) are pruned."""
        return get_array_module(t.data).abs(t.data)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class _LowestScoresStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of lowest ``channel_scores(t, dim)``: what
    the two structured methods share (they differ only in the score)."""

    PRUNING_TYPE = "structured"

    def compute_mask(self, t, default_mask):
        dim = _validate_structured(t, self.dim)
        size = t.shape[dim]
        k = _count_to_prune(self.amount, size)
        if not k:
            return default_mask
        keep = get_array_module(t.data).ones(size, dtype=bool)
        keep[_k_smallest(self.channel_scores(t, dim), k)] = False
        return Tensor(_channel_mask(t.data, dim, keep) * default_mask.data.astype(t.dtype))


class RandomStructured(_LowestScoresStructured):
    """Prune ``amount`` whole channels along ``dim`` chosen at random."""

    def __init__(self, amount, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.dim = amount, dim

    @staticmethod
    def channel_scores(t, dim):
        """A uniform draw per channel along ``dim``: the channels with the lowest draws are pruned."""
        return factories.rand(t.shape[dim], device=t.device).data  # PyTorch: the k lowest draws go

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_LowestScoresStructured):
    """Prune the ``amount`` channels along ``dim`` of smallest L``n`` norm (n = 1, 2, inf,
    -inf, or 'fro' for 2), the norm taken over all the other axes."""

    def __init__(self, amount, n, dim=-1):
        _validate_amount_init(amount)
        self.amount, self.n, self.dim = amount, n, dim

    def channel_scores(self, t, dim):
        """The L_n norm of each channel along ``dim``: the channels with the lowest norms are pruned."""
        return _norm(t.data, self.n, tuple(d for d in range(t.ndim) if d != dim))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prune where the given ``mask`` is 0 (multiplied into any mask already there)."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise ValueError(f"custom_from_mask: the mask has shape {tuple(self.mask.shape)} but the parameter "
                             f"has {tuple(default_mask.shape)}; give a mask of the parameter's shape")
        mask = self.mask.data if isinstance(self.mask, Tensor) else self.mask
        return Tensor(default_mask.data * get_array_module(default_mask.data).asarray(mask).astype(default_mask.dtype))

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# -- the functions --------------------------------------------------------------------------

def identity(module, name: str):
    """Re-parametrise ``module.<name>`` as pruned with a mask of ones (nothing pruned)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name: str, amount):
    """Prune ``amount`` (a fraction in [0, 1] or a count) of ``module.<name>``'s entries at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name: str, amount, importance_scores=None):
    """Prune the ``amount`` (a fraction or a count) entries of ``module.<name>`` of smallest |value|
    (or of smallest ``importance_scores``)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name: str, amount, dim: int):
    """Prune ``amount`` channels along ``dim`` at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name: str, amount, n, dim: int, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of smallest L``n`` norm. ``dim`` is an axis of
    the parameter as minigrad stores it: a Linear's output units are ``dim=1`` (PyTorch: 0)."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name: str, mask):
    """Prune ``module.<name>`` where ``mask`` (shaped like it) is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs) -> None:
    """Prune across several parameters at once, ranking all their entries together:

        prune.global_unstructured([(m1, 'weight'), (m2, 'weight')],
                                  pruning_method=prune.L1Unstructured, amount=0.8)

    removes the 80% smallest weights of the two layers taken together, so a layer with many
    small weights loses more than one with few. ``importance_scores`` maps (module, name) to
    scores; entries already pruned stay pruned and are not counted again.
    """
    if isinstance(parameters, (str, bytes)) or not hasattr(parameters, "__iter__"):
        raise TypeError("global_unstructured: parameters must be an iterable of (module, name) pairs")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured: importance_scores must be a dict of (module, name) -> Tensor")
    if not parameters:
        raise ValueError("global_unstructured: got no parameters; pass a list of (module, name) pairs")
    scores = [importance_scores.get((m, name), getattr(m, name)) for m, name in parameters]
    masks = [getattr(m, name + "_mask", None) for m, name in parameters]
    xp = get_array_module(scores[0].data)
    flat_scores = Tensor(xp.concatenate([s.data.reshape(-1) for s in scores]))
    flat_mask = Tensor(xp.concatenate([(xp.ones(s.shape, dtype=s.dtype) if m is None else m.data).reshape(-1)
                                       for s, m in zip(scores, masks)]))
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"global_unstructured: only 'unstructured' pruning methods can rank entries across "
                        f"parameters; {pruning_method.__name__} is {method.PRUNING_TYPE!r}")
    container = PruningContainer(method)
    final = container.compute_mask(flat_scores, flat_mask).data
    start = 0
    for (module, name), s in zip(parameters, scores):
        n = math.prod(s.shape)
        custom_from_mask(module, name, mask=Tensor(final[start:start + n].reshape(s.shape)))
        start += n


def remove(module, name: str):
    """Make the pruning of ``module.<name>`` permanent and drop the re-parametrisation: afterwards
    ``module.<name>`` is an ordinary Parameter holding the pruned values (zeros included), and
    training can change those zeros again."""
    entry = _pruning_hook(module, name)
    if entry is None:
        raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} has to be pruned before "
                         "pruning can be removed")
    entry[0].remove(module)
    module._forward_pre_hooks.remove(entry)
    return module


def is_pruned(module) -> bool:
    """Whether ``module`` or any submodule has a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for m in module.modules() for hook, _ in m._forward_pre_hooks)


# -- helpers ----------------------------------------------------------------------------------

def _pruning_hook(module, name):
    """The forward-pre-hook entry of the pruning method acting on ``name``, or None."""
    found = [entry for entry in module._forward_pre_hooks
             if isinstance(entry[0], BasePruningMethod) and entry[0]._tensor_name == name]
    if len(found) > 1:
        raise RuntimeError(f"prune: {type(module).__name__} has {len(found)} pruning hooks on {name!r}; "
                           "there should be one (a PruningContainer)")
    return found[0] if found else None


def _validate_amount_init(amount):
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"prune: amount={amount!r} must be an int (a count) or a float (a fraction)")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"prune: amount={amount} should either be a float in the range [0, 1] "
                         "or a non-negative integer")


def _count_to_prune(amount, size):
    k = amount if isinstance(amount, numbers.Integral) else round(amount * size)
    if k > size:
        raise ValueError(f"prune: amount={amount} should be smaller than the number of entries to prune={size}")
    return int(k)


def _k_smallest(values, k):
    """Indices of the k smallest entries of a 1-D array; ties go to the lower index first."""
    return get_array_module(values).argsort(values, kind="stable")[:k]


def _zero_at(mask, flat_indices):
    flat = mask.reshape(-1)  # a view: mask is contiguous (a fresh copy)
    flat[flat_indices] = 0


def _axis(t, dim):
    if not -t.ndim <= dim < t.ndim:
        raise IndexError(f"prune: dim={dim} is out of range for a parameter of shape {tuple(t.shape)}")
    return dim % t.ndim


def _validate_structured(t, dim):
    if t.ndim <= 1:
        raise ValueError(f"prune: structured pruning removes channels of a tensor of at least 2 dimensions; "
                         f"got shape {tuple(t.shape)}; use an unstructured method for a bias")
    return _axis(t, dim)


def _channel_mask(t, dim, keep):
    """A mask shaped like ``t``: ones in the channels along ``dim`` where ``keep`` is True."""
    shape = [1] * t.ndim
    shape[dim] = t.shape[dim]
    return get_array_module(t).broadcast_to(keep.reshape(shape), t.shape).astype(t.dtype)


def _norm(x, n, axes):
    """``torch.norm(x, p=n, dim=axes)``: the L``n`` norm over ``axes``."""
    xp = get_array_module(x)
    a = xp.abs(x)
    if n == "fro":
        n = 2
    if not isinstance(n, numbers.Real):
        raise ValueError(f"ln_structured: n={n!r} must be a number, inf, -inf or 'fro'")
    if n == math.inf:
        return a.max(axis=axes)
    if n == -math.inf:
        return a.min(axis=axes)
    if n == 0:
        return (a != 0).sum(axis=axes).astype(x.dtype)
    return (a ** n).sum(axis=axes) ** (1.0 / n)

"""``Optimizer``: parameter groups, per-parameter state and its saving, as ``torch.optim.Optimizer``.

Each optimiser in this package subclasses it and writes only ``step``: the update rule, on
raw arrays, in place, so a parameter stays the same object (and on its device) for the model
and every other reference to it.
"""
from __future__ import annotations

import math
import numbers
from collections import defaultdict
from collections.abc import Mapping

from ..autograd import enable_grad
from ..backend import as_array, device_of, to_device
from ..tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (lists of parameters, each group with its hyperparameters),
    ``defaults`` (the hyperparameters a group takes when it does not set them) and ``state``
    (a dict per parameter: momentum buffers, moving averages, step counts).

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs (``named_parameters()``),
    or of dicts ``{'params': ..., 'lr': ...}``, one per group, as in PyTorch.
    """

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or "
                            f"dicts, but got {type(params).__module__}.{type(params).__name__}; "
                            f"pass a list, e.g. {name}([w], ...) or {name}(model.parameters(), ...)")
        for key, value in defaults.items():
            check_finite(name, key, value)
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list; pass model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group (``{'params': [...], 'lr': ...}``); unset hyperparameters take ``defaults``.

        As in PyTorch, e.g. to start training layers that were frozen:
        ``optimizer.add_param_group({'params': model.head.parameters(), 'lr': 1e-4})``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: param_group must be a dict, but got "
                            f"{type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs; use a list instead")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(f"{name}: all optimizer params should be with/without names; "
                             "some param names are missing")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (one computed by an op); "
                                 "pass the leaves, such as model.parameters()")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            # PyTorch warns that this "will cause an error in future": the parameter would be stepped twice
            raise ValueError(f"{name}: a parameter group holds the same parameter twice, so each step would "
                             "update it twice; list each parameter once (model.parameters() already does)")
        group = {**param_group, "params": params}
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        for key, value in group.items():
            if key not in ("params", "param_names"):
                check_finite(name, key, value)
        for other in self.param_groups:
            if ("param_names" in other) != ("param_names" in group):
                raise ValueError(f"{name}: all optimizer param groups should be with/without names; "
                                 f"cannot add a group {'with' if names else 'without'} names to this optimizer")
            if not {id(p) for p in other["params"]}.isdisjoint(ids):
                raise ValueError(f"{name}: some parameters appear in more than one parameter group; "
                                 "give each parameter to one group only")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad``: drop it (the default, as PyTorch) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient, once; ``closure`` (re-evaluating the loss) is called
        first and its loss returned."""
        raise NotImplementedError(f"{type(self).__name__} must define step()")

    def grads_and_states(self, group: dict):
        """``(p, g, state)`` for each parameter of ``group`` that has a gradient: ``g`` is the
        gradient's array (negated when the group has ``maximize``), ``state`` the parameter's
        state dict (empty on its first step), its arrays moved to wherever ``p`` now lives."""
        maximize = group.get("maximize", False)
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if state:
                follow_device(p, state)
            yield p, (-p.grad.data if maximize else p.grad.data), state

    # -- saving and loading ---------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [...]}``, parameters by index as in PyTorch.

        The state's arrays are the optimiser's own (not copies), as PyTorch's are.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[id(p)] for p in group["params"]]})
        state = {index[id(p)]: dict(self.state[p]) for g in self.param_groups for p in g["params"]
                 if p in self.state}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict``; arrays are copied onto each
        parameter's device and (except ``step``) cast to its dtype, as PyTorch does."""
        problems = state_dict_problems(self, state_dict)
        if problems:  # checked first, so a state dict that does not fit changes nothing
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state dict does not fit this "
                             "optimiser:\n  " + "\n  ".join(problems))
        saved_groups = state_dict["param_groups"]
        by_index = {i: p for saved, group in zip(saved_groups, self.param_groups)
                    for i, p in zip(saved["params"], group["params"])}
        state = defaultdict(dict)
        for i, saved_state in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is not None:
                state[p] = {k: _copy_like(p, k, v) for k, v in saved_state.items()}
        self.state = state
        self.param_groups = [{**group, **{k: v for k, v in saved.items() if k != "params"},
                              "params": group["params"]}
                             for saved, group in zip(saved_groups, self.param_groups)]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def check_finite(optimizer: str, name: str, value) -> None:
    """Refuse a nan or infinite hyperparameter (or one inside a tuple such as ``betas``):
    a single nan learning rate would silently turn every weight into nan."""
    values = value if isinstance(value, (tuple, list)) else (value,)
    for v in values:
        if isinstance(v, numbers.Real) and not math.isfinite(v):  # Python and NumPy floats alike
            raise ValueError(f"{optimizer}: {name} must be a finite number, got {value}; "
                             "check the value passed (a division by zero upstream?)")


def run_closure(closure):
    """``loss = closure()`` with gradients enabled (``step(closure)`` re-evaluates the model), or None."""
    if closure is None:
        return None
    with enable_grad():
        return closure()


def follow_device(p: Tensor, state: dict) -> None:
    """Move ``p``'s state arrays to where ``p`` now lives and give them its dtype.

    ``Module.to(device)`` or ``.double()`` after the optimiser was made moves the parameter;
    its state follows on the next step, rather than mixing NumPy with CuPy or float32 with float64.
    """
    data = p.data
    for key, v in state.items():
        if hasattr(v, "dtype") and key != "step" and (type(v) is not type(data) or v.dtype != data.dtype):
            state[key] = to_device(v, device_of(data)).astype(data.dtype, copy=False)


def _copy_like(p: Tensor, key: str, value):
    """A fresh array from a saved state entry (Tensor or array), on ``p``'s device and dtype."""
    if isinstance(value, Tensor):
        value = value.data
    if not hasattr(value, "dtype"):
        return value
    if key == "step":  # a count, kept as it was saved
        return as_array(value, None, device_of(p.data))
    return as_array(value, p.data.dtype, device_of(p.data))


def _kind(v) -> str:
    if isinstance(v, bool):
        return "a bool"
    if isinstance(v, numbers.Real):
        return "a number"
    if isinstance(v, (tuple, list)) and all(_kind(x) == "a number" for x in v):
        return f"{len(v)} numbers"
    return f"a {type(v).__name__}"


def state_dict_problems(opt: Optimizer, state_dict) -> list[str]:
    """What keeps ``state_dict`` from being loaded into ``opt`` (a hand-edited or foreign one);
    empty when it fits."""
    if not isinstance(state_dict, Mapping):
        return [f"expected a dict with 'state' and 'param_groups', as state_dict() gives; got a "
                f"{type(state_dict).__name__}"]
    for key, kind, name in (("state", Mapping, "a dict"), ("param_groups", (list, tuple), "a list")):
        if not isinstance(state_dict.get(key), kind):
            return [f"its {key!r} should be {name}, as state_dict() gives; got "
                    f"{'nothing' if key not in state_dict else 'a ' + type(state_dict[key]).__name__}"]
    groups = state_dict["param_groups"]
    if len(groups) != len(opt.param_groups):
        return [f"the state dict has {len(groups)} parameter group(s), this optimiser has "
                f"{len(opt.param_groups)}; was it saved from another model?"]
    for i, (saved, own) in enumerate(zip(groups, opt.param_groups)):
        if not isinstance(saved, Mapping) or not isinstance(saved.get("params"), (list, tuple)):
            return [f"parameter group {i} should be a dict with a 'params' list, as state_dict() gives"]
        if len(saved["params"]) != len(own["params"]):
            return [f"parameter group {i} holds {len(saved['params'])} parameters in the state dict and "
                    f"{len(own['params'])} here; was it saved from another model?"]
    problems = []
    for i, (saved, own) in enumerate(zip(groups, opt.param_groups)):
        problems += [f"group {i} {k}: expected {_kind(own[k])}, got {_kind(v)} {v!r:.40}"
                     for k, v in saved.items() if k != "params" and k in own and _kind(v) != _kind(own[k])]
    shapes = {i: p.shape for saved, own in zip(groups, opt.param_groups) for i, p in zip(saved["params"], own["params"])}
    for i, entry in state_dict["state"].items():
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or i not in shapes:
            problems.append(f"state key {i!r} is not the index of one of the {len(shapes)} parameters")
        elif not isinstance(entry, Mapping):
            problems.append(f"state {i}: expected a dict, got a {type(entry).__name__}")
        else:
            for k, v in entry.items():
                kind = getattr(getattr(v, "dtype", None), "kind", None)
                if kind is not None and (kind not in "biuf" or tuple(v.shape) not in (shapes[i], ())):
                    problems.append(f"state {i} {k}: expected numbers of shape {shapes[i]}, got "
                                    f"shape {tuple(v.shape)} of {v.dtype}")
                elif kind is None and v is not None and _kind(v) != "a number":
                    problems.append(f"state {i} {k}: expected an array or a number, got {_kind(v)}")
    return problems

"""Optimisers with PyTorch's exact update rules, updating parameters in place."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from .backend import get_array_module, to_device
from .tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (lists of parameters with their hyperparameters) and per-parameter
    ``state``; subclasses define ``step``."""

    def __init__(self, params, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; pass model.parameters()")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups = []
        for g in groups:
            group = {**defaults, **g, "params": list(g["params"])}
            self.param_groups.append(group)
        self.state = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: set it to None (or, with False, to zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def _move_state(self, p, state):
        # Module.to(device) moved the parameter; its optimiser state follows on first use.
        for k, v in state.items():
            if hasattr(v, "shape") and type(v) is not type(p.data):
                state[k] = to_device(v, p.device)

    def state_dict(self) -> dict:
        """``{'state': {index: {...}}, 'param_groups': [...]}``, parameters by index as in PyTorch."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[id(p)]: dict(s) for p, s in self._state_items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def _state_items(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    yield p, self.state[p]

    def load_state_dict(self, state_dict: dict) -> None:
        """Take over the hyperparameters and state that ``state_dict()`` gave; checked first, so a
        state dict that does not fit (other model, other optimiser, edited) changes nothing."""
        problems = _state_dict_problems(self, state_dict)
        if problems:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state dict does not fit this "
                             "optimiser:\n  " + "\n  ".join(problems))
        groups = state_dict["param_groups"]
        params = [p for g in self.param_groups for p in g["params"]]
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            self.state[p] = {k: (v.data if isinstance(v, Tensor) else v) for k, v in s.items()}
            self._move_state(p, self.state[p])

    def step(self):
        """Update every parameter that has a gradient, by the optimizer's rule."""
        raise NotImplementedError


def _kind(v) -> str:
    if isinstance(v, bool):
        return "a bool"
    if isinstance(v, numbers.Real):
        return "a number"
    if isinstance(v, (tuple, list)) and all(_kind(x) == "a number" for x in v):
        return f"{len(v)} numbers"
    return f"a {type(v).__name__}"


def _state_dict_problems(opt: Optimizer, state_dict) -> list[str]:
    """What keeps ``state_dict`` from being loaded into ``opt``; empty when it fits."""
    if not isinstance(state_dict, Mapping):
        return [f"expected a dict with 'state' and 'param_groups', as state_dict() gives; got a "
                f"{type(state_dict).__name__}"]
    for key, kind, name in (("state", Mapping, "a dict"), ("param_groups", (list, tuple), "a list")):
        if not isinstance(state_dict.get(key), kind):
            return [f"its {key!r} should be {name}, as state_dict() gives; got "
                    f"{'nothing' if key not in state_dict else 'a ' + type(state_dict[key]).__name__}"]
    groups = state_dict["param_groups"]
    if len(groups) != len(opt.param_groups) or not all(
            isinstance(g, Mapping) and isinstance(g.get("params"), (list, tuple)) for g in groups) or any(
            len(a["params"]) != len(b["params"]) for a, b in zip(groups, opt.param_groups)):
        return ["the saved parameter groups do not match this optimiser's (different model?)"]
    problems = []
    for i, (saved, own) in enumerate(zip(groups, opt.param_groups)):
        unknown = [str(k) for k in saved if k not in own]
        if unknown:
            problems.append(f"group {i} has settings {', '.join(unknown)} that {type(opt).__name__} "
                            "does not have (saved from another kind of optimiser?)")
            continue
        problems += [f"group {i} {k}: expected {_kind(own[k])}, got {_kind(v)} {v!r:.40}"
                     for k, v in saved.items() if k != "params" and _kind(v) != _kind(own[k])]
    params = [p for g in opt.param_groups for p in g["params"]]
    for i, entry in state_dict["state"].items():
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= i < len(params):
            problems.append(f"state key {i!r} is not the index of one of the {len(params)} parameters")
        elif not isinstance(entry, Mapping):
            problems.append(f"state {i}: expected a dict, got a {type(entry).__name__}")
        else:
            for k, v in entry.items():
                kind = getattr(getattr(v, "dtype", None), "kind", None)
                if kind is not None and (kind not in "biuf" or tuple(v.shape) not in (params[i].shape, ())):
                    problems.append(f"state {i} {k}: expected numbers of shape {params[i].shape}, got "
                                    f"shape {tuple(v.shape)} of {v.dtype}")
                elif kind is None and v is not None and _kind(v) != "a number":
                    problems.append(f"state {i} {k}: expected an array or a number, got {_kind(v)}")
    return problems


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's rule for every option.

        g = grad + weight_decay * p
        if momentum:   b = g                                  (first step)
                       b = momentum * b + (1 - dampening) * g (later steps)
                       g = g + momentum * b if nesterov else b
        p = p - lr * g
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        for name, v in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if v < 0:
                raise ValueError(f"SGD: {name} must be >= 0, got {v}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self) -> None:
        """One update by the rule above; parameters whose grad is None are left alone."""
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if weight_decay:
                    g = g + weight_decay * p.data
                if momentum:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        if type(buf) is not type(g):
                            self._move_state(p, state)
                            buf = state["momentum_buffer"]
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if nesterov else buf
                p.data -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's rule (``amsgrad=False``).

        g = grad + weight_decay * p                 (L2 penalty, as torch.optim.Adam)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adam: lr, eps and weight_decay must be >= 0, got {lr}, {eps}, {weight_decay}")
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam: betas must lie in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self) -> None:
        """One update by the rule above (t counts this parameter's steps); grad None: skipped."""
        for group in self.param_groups:
            lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if weight_decay:
                    g = g + weight_decay * p.data
                state = self.state.get(p)
                if state is None:
                    xp = get_array_module(p.data)
                    state = self.state[p] = {"step": 0, "exp_avg": xp.zeros_like(p.data),
                                             "exp_avg_sq": xp.zeros_like(p.data)}
                elif type(state["exp_avg"]) is not type(g):
                    self._move_state(p, state)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                step_size = lr / (1 - beta1 ** t)
                denom = get_array_module(v).sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
                p.data -= step_size * m / denom

"""``Module`` and ``Parameter``: the bookkeeping that lets a model list, save and move its weights."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a weight: it requires a gradient by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model, with PyTorch's names.

    Assigning a Parameter or a Module as an attribute registers it, so ``parameters()``,
    ``state_dict()``, ``to(device)`` and ``zero_grad()`` find it.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 "before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        """The module's computation; each layer defines it. Call the module, ``model(x)``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- what the module holds ------------------------------------------------------------
    def named_parameters(self, prefix: str = ""):
        """(name, parameter) pairs of this module and its children, e.g. '0.weight'."""
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, m in self._modules.items():
            yield from m.named_parameters(prefix + name + ".")

    def parameters(self):
        """Every parameter of this module and its children, for an optimizer."""
        for _, p in self.named_parameters():
            yield p

    def children(self):
        """The modules assigned as attributes of this one (not their children)."""
        yield from self._modules.values()

    def named_modules(self, prefix: str = ""):
        """(name, module) pairs of this module ('') and every module inside it."""
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(prefix + ("." if prefix else "") + name)

    def modules(self):
        """This module and every module inside it."""
        for _, m in self.named_modules():
            yield m

    # -- modes, gradients, devices --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on every module inside."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode, the same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients: set them to None (or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, device=None, dtype=None) -> Module:
        """Move (and/or cast) every parameter in place; optimisers keep working on them."""
        for p in self.parameters():
            moved = p.to(device, dtype)
            p.data = moved.data
            if p.grad is not None:
                p.grad = p.grad.to(device, dtype)
        return self

    def cpu(self) -> Module:
        """Move every parameter to the CPU."""
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        """Move every parameter to a GPU: ``cuda()`` or ``cuda(0)`` the first."""
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

    def double(self) -> Module:
        """Cast every parameter to float64 (as gradient checks need)."""
        return self.to(dtype=backend.numpy.float64)

    def float(self) -> Module:
        """Cast every parameter to float32."""
        return self.to(dtype=backend.numpy.float32)

    # -- saving and loading ---------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Name -> Tensor (sharing the parameters' data, as PyTorch's does)."""
        return OrderedDict((name, Tensor(p.data)) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy ``state_dict``'s arrays into the parameters, keeping each on its device.

        With ``strict`` every name must match both ways; every problem is listed in one error.
        """
        if not isinstance(state_dict, Mapping):
            raise RuntimeError(f"load_state_dict: expected a dict of name -> Tensor, as state_dict() "
                               f"gives, got a {type(state_dict).__name__}")
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = []
        for name, p in own.items():
            if name in state_dict:
                value = state_dict[name]
                dtype = getattr(value, "dtype", None)
                if getattr(dtype, "kind", "-") not in "biuf" or not hasattr(value, "shape"):
                    held = f" of {dtype}" if dtype is not None else ""
                    wrong.append(f"{name}: expected a Tensor of numbers, got a {type(value).__name__}{held}")
                elif tuple(value.shape) != p.shape:
                    wrong.append(f"{name}: checkpoint has shape {tuple(value.shape)}, model has {p.shape}")
        problems = wrong + ([f"missing keys: {', '.join(missing)}"] if strict and missing else []) \
            + ([f"unexpected keys: {', '.join(map(str, unexpected))}"] if strict and unexpected else [])
        if problems:
            raise RuntimeError(f"load_state_dict: the state dict does not fit {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        for name, p in own.items():
            if name in state_dict:
                value = state_dict[name]
                value = value.data if isinstance(value, Tensor) else value
                p.data = backend.as_array(value, p.dtype, p.device)
        return missing, unexpected

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings shown by ``repr`` inside its parentheses."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n  " + "\n  ".join(lines) + "\n)" if lines else ")")

"""``Module`` and ``Parameter``: the bookkeeping that lets a model list, save and move its weights."""
from __future__ import annotations

from collections import OrderedDict

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
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 "before assigning attributes")
        if name in self._buffers:  # assigning to a buffer replaces it, as in PyTorch
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to buffer "
                                f"{name!r}; a buffer holds a Tensor or None")
            self._buffers[name] = value
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- what the module holds ------------------------------------------------------------
    def named_parameters(self, prefix: str = ""):
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, m in self._modules.items():
            yield from m.named_parameters(prefix + name + ".")

    def parameters(self):
        for _, p in self.named_parameters():
            yield p

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Keep ``tensor`` as state that is not a parameter (BatchNorm's running statistics):
        ``state_dict``, ``load_state_dict`` and ``to`` include it, the optimiser never sees it."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        if "." in name or not name or name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: bad or taken name {name!r}")
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)
        object.__setattr__(self, name, tensor)

    def named_buffers(self, prefix: str = ""):
        for module_name, m in self.named_modules():
            for name, b in m._buffers.items():
                if b is not None:
                    yield prefix + (module_name + "." if module_name else "") + name, b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def children(self):
        yield from self._modules.values()

    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(prefix + ("." if prefix else "") + name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    # -- modes, gradients, devices --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, device=None, dtype=None) -> Module:
        """Move (and/or cast) every parameter and buffer in place; optimisers keep working on them."""
        for p in self.parameters():
            moved = p.to(device, dtype)
            p.data = moved.data
            if p.grad is not None:
                p.grad = p.grad.to(device, dtype)
        if device is not None and not isinstance(device, (str, backend.device)):
            device, dtype = None, device  # module.to(minigrad.float64)
        for b in self.buffers():  # a cast reaches only floating-point buffers, as in PyTorch
            b.data = b.to(device, dtype if b.dtype.kind == "f" else None).data
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

    def double(self) -> Module:
        return self.to(dtype=backend.numpy.float64)

    def float(self) -> Module:
        return self.to(dtype=backend.numpy.float32)

    # -- saving and loading ---------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Name -> Tensor (sharing the data, as PyTorch's does): each module's parameters, then its
        persistent buffers, module by module in PyTorch's order."""
        state = OrderedDict()
        for prefix, m in self.named_modules():
            at = prefix + "." if prefix else ""
            skip = m.__dict__.get("_non_persistent", ())
            for name, t in list(m._parameters.items()) + [(k, b) for k, b in m._buffers.items() if k not in skip]:
                if t is not None:
                    state[at + name] = Tensor(t.data)
        return state

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy ``state_dict``'s arrays into the parameters, keeping each on its device.

        With ``strict`` every name must match both ways; every problem is listed in one error.
        """
        saved = self.state_dict()  # its names: the parameters and the persistent buffers
        own = dict(self.named_parameters())
        own.update((name, b) for name, b in self.named_buffers() if name in saved)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = []
        for name, p in own.items():
            if name in state_dict:
                value = state_dict[name]
                shape = tuple(value.shape)
                if shape != p.shape:
                    wrong.append(f"{name}: checkpoint has shape {shape}, model has {p.shape}")
        problems = wrong + ([f"missing keys: {', '.join(missing)}"] if strict and missing else []) \
            + ([f"unexpected keys: {', '.join(unexpected)}"] if strict and unexpected else [])
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
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n  " + "\n  ".join(lines) + "\n)" if lines else ")")

"""``Module`` and ``Parameter``: the bookkeeping that lets a model list, save and move its weights."""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import backend
from ..tensor import RemovableHandle, Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a weight: it requires a gradient by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
IncompatibleKeys.__doc__ = "What ``load_state_dict`` returns, as PyTorch's: unpacks as ``missing, unexpected``."


def _check_name(module, kind, name, table):
    """PyTorch's checks on a name about to be registered (a KeyError or TypeError, as PyTorch)."""
    where = f"{type(module).__name__}.register_{kind}"
    if not isinstance(name, str):
        raise TypeError(f"{where}: the name must be a string, got {type(name).__name__}")
    if "." in name:
        raise KeyError(f"{where}: the name {name!r} contains '.'; dots separate submodules in "
                       "state_dict keys, so pick a name without one")
    if name == "":
        raise KeyError(f"{where}: the name is the empty string; give it a name")
    if name not in table and hasattr(module, name):
        raise KeyError(f"{where}: attribute {name!r} already exists; delete it first (del module.{name}) "
                       "or use another name")


class Module:
    """Base class of every layer and model, with PyTorch's names.

    Assigning a Parameter or a Module as an attribute registers it, and so does
    ``register_buffer``: ``parameters()``, ``buffers()``, ``state_dict()``, ``to(device)`` and
    ``zero_grad()`` find it. Registered objects also stay ordinary attributes (in ``__dict__``),
    so ``self.weight`` in ``forward`` is a plain attribute read, with no ``__getattr__`` detour.

    A parameter or module reachable by two names (tied weights, a layer used twice) is one
    object: ``parameters()``, ``named_parameters()``, ``buffers()`` and ``modules()`` yield it
    once, under the first name, so an optimiser steps it once; ``state_dict()`` lists every name.
    """

    def __init__(self):
        for name in ("_parameters", "_buffers", "_modules"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "training", True)

    # -- registering ----------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 "before assigning attributes")
        if isinstance(value, Parameter):
            self._forget(name, keep=self._parameters)  # a re-assigned parameter keeps its place
            self.register_parameter(name, value)
        elif name in self._parameters:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a {type(value).__name__} as parameter {name!r} "
                    "(a Parameter or None is expected); change its values in place (p.data[...] = ..., "
                    "or an in-place op under no_grad), or assign nn.Parameter(...) to replace it")
            self.register_parameter(name, None)
        elif isinstance(value, Module):
            self._forget(name, keep=self._modules)
            self.add_module(name, value)
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} as child "
                                f"module {name!r} (a Module or None is expected)")
            self._modules[name] = None
            object.__setattr__(self, name, None)
        elif name in self._buffers:
            self.register_buffer(name, value, name not in self._non_persistent_buffers_set)
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Unregister ``name`` wherever it is (except from the table ``keep``, where it is about
        to be registered again and keeps its position in the order)."""
        for table in (self._parameters, self._buffers, self._modules):
            if table is not keep:
                table.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        if keep is None or name not in keep:
            self.__dict__.pop(name, None)

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (a Parameter, or None for an absent one such as a missing bias)."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.register_parameter: call super().__init__() first")
        _check_name(self, "parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"{type(self).__name__}.register_parameter: cannot register a "
                            f"{type(param).__name__} as parameter {name!r}; wrap it: nn.Parameter(tensor)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"{type(self).__name__}.register_parameter: {name!r} was computed by an op "
                             "(it is not a leaf); parameters must be made directly, and values that "
                             "depend on them computed in forward()")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (a running mean, a mask).

        Buffers move with ``to()``, are listed by ``buffers()`` and, when ``persistent``, are
        saved in ``state_dict()``; an optimiser never sees them. Assigning to the name later
        (``self.mask = new``) updates the registered buffer.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.register_buffer: call super().__init__() first")
        _check_name(self, "buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{type(self).__name__}.register_buffer: cannot register a {type(tensor).__name__} "
                            f"as buffer {name!r} (a Tensor or None is expected); wrap it: minigrad.tensor(...)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child called ``name`` (what ``self.name = module`` does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {type(module).__name__} is not a Module")
        _check_name(self, "module", name, self._modules)
        self._modules[name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    # -- calling ------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The module's computation; each layer defines it. Call the module, ``model(x)``."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or self._forward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in tuple(self._forward_pre_hooks):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{type(self).__name__}: a forward pre-hook registered with "
                                           f"with_kwargs=True must return None or (args, kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in tuple(self._forward_hooks):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each ``forward``; what it returns (if not None)
        replaces the positional arguments (a non-tuple is wrapped as a 1-tuple). With
        ``with_kwargs=True`` it is called as ``hook(module, args, kwargs)`` and may return
        ``(args, kwargs)``. ``handle.remove()`` unregisters it."""
        return self._add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each ``forward``; what it returns (if not
        None) replaces the output. With ``with_kwargs=True``: ``hook(module, args, kwargs, output)``.
        ``handle.remove()`` unregisters it."""
        return self._add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    @staticmethod
    def _add_hook(hooks, entry, prepend):
        # a fresh tuple per registration: remove() takes out this one, even if the same hook
        # function was registered twice
        if prepend:
            hooks.insert(0, entry)
        else:
            hooks.append(entry)
        return RemovableHandle(hooks, entry)

    # -- what the module holds ------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """(name, module) for this module and every submodule, depth first; a module reachable
        by several names is yielded once, under the first, unless ``remove_duplicate=False``."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        """This module and every module inside it."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """(name, child) for each direct submodule, each module once."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """Each direct submodule, once."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, table, prefix, recurse, remove_duplicate):
        seen = set()  # ids: every object here is alive while we iterate, so ids are unique
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(name, parameter) pairs, e.g. ``('0.weight', ...)``; a shared parameter appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """Each parameter of this module (and its submodules if ``recurse``), a shared one once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(name, buffer) pairs, e.g. ``('0.running_mean', ...)``; a shared buffer appears once."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        """Each buffer of this module (and its submodules if ``recurse``), a shared one once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path such as ``'encoder.layers.0'`` (``''`` is ``self``)."""
        module = self
        if target == "":
            return module
        for part in target.split("."):
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(module).__name__} has no submodule {part!r} "
                                     f"(in {target!r}); its children are {list(module._modules)}")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path such as ``'0.weight'``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if module._parameters.get(name) is None:
            raise AttributeError(f"get_parameter: {type(module).__name__} has no parameter {name!r} "
                                 f"(in {target!r}); it has {[k for k, v in module._parameters.items() if v is not None]}")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path such as ``'norm.running_mean'``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers:
            raise AttributeError(f"get_buffer: {type(module).__name__} has no buffer {name!r} "
                                 f"(in {target!r}); it has {list(module._buffers)}")
        return module._buffers[name]

    # -- modes, gradients, devices --------------------------------------------------------
    def apply(self, fn) -> Module:
        """Call ``fn(m)`` on every submodule (children first) and then on ``self``, as in
        ``model.apply(init_weights)``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on this module and every module inside."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be True or False, got {mode!r}")
        self.training = mode
        for m in self.children():
            m.train(mode)  # through each child's train(), which a subclass may override
        return self

    def eval(self) -> Module:
        """Evaluation mode, the same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter on or off (freeze a part of a model)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the parameters' gradients: set them to None (or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def to(self, device=None, dtype=None) -> Module:
        """Move (and/or cast) every parameter and buffer, as PyTorch's ``Module.to``.

        Parameters keep their identity (their ``.data`` is replaced), so an optimiser built
        before keeps working on them; buffers are replaced. A cast changes only floating-point
        tensors: an integer buffer (a step count) keeps its dtype.
        """
        if dtype is None and device is not None and not isinstance(device, (str, backend.device)):
            device, dtype = None, device  # model.to(minigrad.float64)
        for p in self.parameters():
            moved = p.to(device, dtype if p.dtype.kind in "fc" else None)
            p.data = moved.data
            if p.grad is not None:
                p.grad = p.grad.to(device, dtype)
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None:
                    object.__setattr__(m, name, b.to(device, dtype if b.dtype.kind in "fc" else None))
                    m._buffers[name] = m.__dict__[name]
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

    def half(self) -> Module:
        """Cast every parameter to float16."""
        return self.to(dtype=backend.numpy.float16)

    # -- saving and loading ---------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Name -> Tensor for every parameter and persistent buffer, sharing their data (as
        PyTorch's). A tied parameter appears under each of its names."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state_dict``'s values into the parameters and persistent buffers, in place
        (each keeps its device and dtype). With ``strict`` every name must match both ways;
        every problem is listed in one error. Returns ``(missing_keys, unexpected_keys)``."""
        if not isinstance(state_dict, Mapping):
            raise RuntimeError(f"load_state_dict: expected a dict of name -> Tensor, as state_dict() "
                               f"gives, got a {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        wrong = []
        for name, t in own.items():
            if name in state_dict:
                value = state_dict[name]
                dtype = getattr(value, "dtype", None)
                if getattr(dtype, "kind", "-") not in "biuf" or not hasattr(value, "shape"):
                    held = f" of {dtype}" if dtype is not None else ""
                    wrong.append(f"{name}: expected a Tensor of numbers, got a {type(value).__name__}{held}")
                elif tuple(value.shape) != t.shape:
                    wrong.append(f"{name}: checkpoint has shape {tuple(value.shape)}, model has {t.shape}")
        problems = wrong + ([f"missing keys: {', '.join(missing)}"] if strict and missing else []) \
            + ([f"unexpected keys: {', '.join(map(str, unexpected))}"] if strict and unexpected else [])
        if problems:
            raise RuntimeError(f"load_state_dict: the state dict does not fit {type(self).__name__}:\n  "
                               + "\n  ".join(problems))
        for name, t in own.items():
            if name in state_dict:
                value = state_dict[name]
                value = value.data if isinstance(value, Tensor) else value
                t.data[...] = backend.as_array(value, t.dtype, t.device)
        return IncompatibleKeys(missing, unexpected)

    # -- printing -------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's settings shown by ``repr`` inside its parentheses."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n  " + "\n  ".join(lines) + "\n)" if lines else ")")

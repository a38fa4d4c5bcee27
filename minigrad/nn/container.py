"""Containers: ``Sequential``, ``ModuleList`` and ``ModuleDict``, with PyTorch's names and rules.

Each holds its modules as registered children (named '0', '1', ... in the list-like ones), so
their parameters are the container's parameters and their names the state_dict's keys.
"""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .module import Module


class _IndexedModules(Module):
    """What ``Sequential`` and ``ModuleList`` share: children keyed '0', '1', ... in order."""

    def _key(self, idx) -> str:
        """The key of the child at (possibly negative) position ``idx``."""
        idx = operator.index(idx)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} is out of range for {n} modules")
        return list(self._modules)[idx % n]

    def _renumber(self, modules) -> None:
        """Make ``modules`` the children, keyed '0', '1', ...: after a deletion or an insertion
        the keys stay consecutive, as in PyTorch."""
        for name in list(self._modules):
            self._forget(name)
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._key(idx), module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        doomed = set(keys[idx]) if isinstance(idx, slice) else {self._key(idx)}
        self._renumber([m for k, m in self._modules.items() if k not in doomed])

    def pop(self, key):
        """Remove and return the module(s) at ``key`` (an index or a slice)."""
        v = self[key]
        del self[key]
        return v

    def append(self, module: Module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module):
        """Insert ``module`` before position ``index`` (negative counts from the end, as list.insert)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.insert: expected a Module, got {type(module).__name__}")
        mods = list(self._modules.values())
        index = operator.index(index)
        if not -len(mods) <= index <= len(mods):
            raise IndexError(f"{type(self).__name__}.insert: index {index} is out of range for {len(mods)} modules")
        mods.insert(index, module)
        self._renumber(mods)
        return self

    def __dir__(self):
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_IndexedModules):
    """Modules applied one after another: ``Sequential(m0, m1, ...)`` names them '0', '1', ...;
    ``Sequential(OrderedDict([('fc', m0), ('act', m1)]))`` keeps the given names.

    Indexable (a slice gives a Sequential), iterable, and growable with ``append``, ``insert``,
    ``extend`` and ``+``, as PyTorch's.
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, not a Module")
                self.add_module(str(i), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return self._modules[self._key(idx)]

    def extend(self, sequential: Iterable[Module]):
        """Append every module of ``sequential``; returns ``self``."""
        for module in sequential:
            self.append(module)
        return self

    def _check_other(self, other):
        if not isinstance(other, Sequential):
            raise ValueError(f"Sequential: + takes another Sequential, got {type(other).__name__}; "
                             "use .extend(...) for other iterables of modules")

    def __add__(self, other) -> Sequential:
        self._check_other(other)
        return Sequential(*self, *other)

    def __iadd__(self, other):
        self._check_other(other)
        return self.extend(other)


class ModuleList(_IndexedModules):
    """A list of modules, registered as children '0', '1', ... (so their parameters are found).

    Unlike a Python list of layers, which ``parameters()`` cannot see, this is what to use for
    a variable number of layers. It has no ``forward``: iterate over it in yours.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[self._key(idx)]

    def extend(self, modules: Iterable[Module]):
        """Append every module of ``modules``."""
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend: expected an iterable of modules, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def __iadd__(self, modules: Iterable[Module]):
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def __repr__(self):
        """As PyTorch's: runs of identical modules are folded, ``(0-11): 12 x Block(...)``."""
        if not self._modules:
            return f"{type(self).__name__}()"
        runs = []  # [first index, last index, repr]
        for i, m in enumerate(self._modules.values()):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ")
                 for a, b, text in runs]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules, registered as children under their keys."""

    def __init__(self, modules: Mapping[str, Module] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        self._forget(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Remove every module."""
        for key in list(self._modules):
            self._forget(key)

    def pop(self, key: str) -> Module:
        """Remove and return the module at ``key``."""
        v = self[key]
        del self[key]
        return v

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def items(self):
        """The (key, module) pairs, in insertion order."""
        return self._modules.items()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def update(self, modules) -> None:
        """Add the (key, module) pairs of a mapping, or of an iterable of pairs, in order."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable):
            raise TypeError(f"ModuleDict.update: expected a mapping or an iterable of (key, module) pairs, "
                            f"got {type(modules).__name__}")
        for i, pair in enumerate(modules):
            if not isinstance(pair, Iterable) or isinstance(pair, str):
                raise TypeError(f"ModuleDict.update: element {i} is a {type(pair).__name__}, not a (key, module) pair")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element {i} has length {len(pair)}; each must be (key, module)")
            self[pair[0]] = pair[1]

"""Layers: ``Linear``, the activations as modules, ``Flatten`` and ``Sequential``."""
from __future__ import annotations

import math

from .. import factories
from ..ops import activations
from ..ops import linear as linear_op
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    PyTorch stores the weight transposed, as (out, in), and computes x @ W.T + b; minigrad keeps
    the course's Z = X @ W + b so that the backward reads dW = X.T @ G (see ``ops.linear``).
    Initialised as PyTorch does: weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)] (Kaiming
    uniform with a = sqrt(5)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None, device=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        dtype = dtype or factories.float32
        device = device or "cpu"
        self.weight = Parameter(factories.rand(in_features, out_features, dtype=dtype, device=device) * (2 * bound) - bound)
        self.bias = Parameter(factories.rand(out_features, dtype=dtype, device=device) * (2 * bound) - bound) if bias else None

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): expected input with "
                             f"{self.in_features} features in its last axis, got shape {tuple(x.shape)} "
                             f"(Expect: x.shape[-1] == {self.in_features}, Actual: {x.shape[-1]})")
        return linear_op.Linear.apply(x, self.weight, self.bias)  # checked above: skip F.linear's check

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x):
        return activations.relu(x)


class Sigmoid(Module):
    def forward(self, x):
        return activations.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return activations.tanh(x)


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return activations.softmax(x, self.dim)


class Flatten(Module):
    """Flatten all axes from ``start_dim`` on: (n, 1, 28, 28) -> (n, 784)."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return x.flatten(self.start_dim)


class Sequential(Module):
    """Modules applied one after another; indexable and iterable like a list."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

"""Layers: ``Linear``, ``Identity`` and ``Flatten``."""
from __future__ import annotations

import math

from .. import factories
from ..ops import linear as linear_op
from ..ops.dtypes import check_same_dtype
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    PyTorch stores the weight transposed, as (out, in), and computes x @ W.T + b; minigrad keeps
    the course's Z = X @ W + b so that the backward reads dW = X.T @ G (see ``ops.linear``).
    Initialised as PyTorch does (``reset_parameters``): weight and bias uniform in
    [-1/sqrt(in), 1/sqrt(in)] (Kaiming uniform with a = sqrt(5)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None, device=None):
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"Linear: {name} must be a positive int, got {n!r}")
        self.in_features, self.out_features = in_features, out_features
        dtype = dtype or factories.float32
        device = device or "cpu"
        self.weight = Parameter(factories.zeros(in_features, out_features, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(factories.zeros(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: kaiming_uniform_(weight, a=sqrt(5)), which is U(-1/sqrt(in),
        1/sqrt(in)), and the bias uniform on the same interval."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): expected input with "
                             f"{self.in_features} features in its last axis, got shape {tuple(x.shape)} "
                             f"(Expect: x.shape[-1] == {self.in_features}, Actual: {x.shape[-1]})")
        if x.data.dtype != self.weight.data.dtype:  # matmul does not promote, as in PyTorch
            check_same_dtype(f"Linear({self.in_features}, {self.out_features})", x, self.weight)
        return linear_op.Linear.apply(x, self.weight, self.bias)  # checked above: skip F.linear's check

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flatten the axes ``start_dim`` to ``end_dim`` into one: (n, 1, 28, 28) -> (n, 784)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        shape = input.shape
        start, end = self.start_dim % max(len(shape), 1), self.end_dim % max(len(shape), 1)
        return input.reshape(shape[:start] + (-1,) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

"""Convolution layers: ``Conv1d`` and ``Conv2d``, PyTorch's names, layouts and initialisation."""
from __future__ import annotations

import math

from .. import factories
from ..ops import conv as conv_op
from .module import Module, Parameter


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the weight (out, in/groups, *kernel), the bias (out,).

    Initialised as PyTorch does (Kaiming uniform with a = sqrt(5)): weight and bias uniform
    in [-1/sqrt(fan_in), 1/sqrt(fan_in)], fan_in = in_channels/groups * prod(kernel_size).
    """

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {n!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must both "
                             f"be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported in minigrad; "
                                      "only 'zeros'")
        kernel = conv_op.tuple_of(kernel_size, self.dims, "kernel_size", name)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride = conv_op.tuple_of(stride, self.dims, "stride", name)
        self.padding = padding if isinstance(padding, str) else conv_op.tuple_of(padding, self.dims, "padding", name)
        self.dilation = conv_op.tuple_of(dilation, self.dims, "dilation", name)
        self.groups, self.padding_mode = groups, padding_mode
        conv_op.padding_pairs(name, self.padding, kernel, self.stride, self.dilation)  # refuse bad padding now
        bound = 1 / math.sqrt(in_channels // groups * math.prod(kernel))
        dtype, device = dtype or factories.float32, device or "cpu"

        def uniform(*shape):
            return Parameter(factories.rand(*shape, dtype=dtype, device=device) * (2 * bound) - bound)

        self.weight = uniform(out_channels, in_channels // groups, *kernel)
        self.bias = uniform(out_channels) if bias else None

    def forward(self, x):
        # the layer itself as the name: its repr, formatted only if an error is raised
        return conv_op.conv(self, self.dims, x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                            self.groups)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L); weight (out, in/groups, k). See ``ops.conv.Convolution``."""

    dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W); weight (out, in/groups, kh, kw), as PyTorch stores it.

    Each output pixel is the linear layer applied to the patch under the kernel; see
    ``ops.conv.Convolution`` for the im2col forward and the backward.

    >>> import minigrad
    >>> conv = Conv2d(1, 6, kernel_size=5, padding=2)
    >>> conv(minigrad.zeros(8, 1, 28, 28)).shape
    (8, 6, 28, 28)
    """

    dims = 2

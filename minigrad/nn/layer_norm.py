"""``nn.LayerNorm``: normalise each example over its last axes, then scale and shift."""
from __future__ import annotations

from .. import factories
from ..ops.layer_norm import layer_norm
from .module import Module, Parameter


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last ``len(normalized_shape)`` axes.

    ``weight`` starts at ones and ``bias`` at zeros (PyTorch's initialisation), both of shape
    ``normalized_shape``; ``elementwise_affine=False`` drops both, ``bias=False`` the bias only.
    See ``ops.layer_norm``.

    >>> import minigrad
    >>> ln = LayerNorm(4)
    >>> y = ln(minigrad.tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> round(float(y.sum()), 6), round(float((y * y).mean()), 4)
    (0.0, 1.0)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None, device=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        kwargs = dict(dtype=dtype or factories.float32, device=device or "cpu")
        self.weight = Parameter(factories.ones(shape, **kwargs)) if elementwise_affine else None
        self.bias = Parameter(factories.zeros(shape, **kwargs)) if elementwise_affine and bias else None

    def forward(self, input):
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

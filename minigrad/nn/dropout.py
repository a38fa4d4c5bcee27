"""``Dropout`` and ``Dropout2d``: active in training mode, the identity in eval mode."""
from __future__ import annotations

from ..ops import dropout as dropout_op
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p``, scale the rest by 1/(1 - p) (training only).
    Reproducible under ``minigrad.manual_seed``. See ``ops.dropout.Dropout``."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        dropout_op.check_dropout(type(self).__name__, None, p, check_input=False)
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return dropout_op.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) with probability ``p`` (training only)."""

    def forward(self, x):
        return dropout_op.dropout2d(x, self.p, self.training, self.inplace)

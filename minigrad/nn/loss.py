"""Loss modules: thin wrappers that remember ``reduction`` and call ``nn.functional``."""
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy on logits (n, C) and class indices (n,). See ``ops.losses``."""

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities in [0, 1]. See ``ops.losses``."""

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits, numerically stable. See ``ops.losses``."""

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class MSELoss(_Loss):
    """Mean squared error. See ``ops.losses``."""

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)

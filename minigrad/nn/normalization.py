"""``BatchNorm1d`` and ``BatchNorm2d``: batch statistics while training, running ones in eval."""
from __future__ import annotations

from .. import factories
from ..ops import normalization
from .module import Module, Parameter


class _BatchNorm(Module):
    """Per-channel ``w * (x - mean) / sqrt(var + eps) + b``, PyTorch's arguments and buffers.

    In training mode (``model.train()``) the mean and variance are the batch's, and the buffers
    ``running_mean``/``running_var`` follow them: running = (1 - momentum) * running +
    momentum * batch (unbiased variance), with ``momentum=None`` a plain average over the
    ``num_batches_tracked`` batches seen. In eval mode (``model.eval()``) the running
    statistics are used, so one image's output no longer depends on the rest of its batch.
    ``track_running_stats=False``: no buffers, batch statistics in both modes. The buffers are
    in ``state_dict`` under PyTorch's names. See ``ops.normalization.BatchNorm``.
    """

    expected_dims = (2,)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype, device = dtype or factories.float32, device or "cpu"
        self.weight = Parameter(factories.ones(num_features, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(factories.zeros(num_features, dtype=dtype, device=device)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", factories.zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", factories.ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", factories.zeros((), dtype=factories.int64, device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x):
        if x.ndim not in self.expected_dims:
            shapes = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ValueError(f"{self!r}: expected {shapes} input {self.layout}, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected {self.num_features} channels on axis 1, got input of shape "
                             f"{x.shape}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1  # a count, not part of any graph
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or not self.track_running_stats
        return normalization.batch_norm(x, self.running_mean if self.track_running_stats else None,
                                        self.running_var if self.track_running_stats else None,
                                        self.weight, self.bias, use_batch_stats, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) features or (N, C, L) sequences, per channel C."""

    expected_dims, layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) feature maps: statistics over N, H and W, per channel."""

    expected_dims, layout = (4,), "(N, C, H, W)"

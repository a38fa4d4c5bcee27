"""The functional forms of the layers and losses (``minigrad.nn.functional as F``).

These wrappers check their inputs and say what is wrong in the user's terms; the ops they
call (``minigrad.ops``) hold the formulas.
"""
from __future__ import annotations

from ..autograd import Tensor
from ..backend import is_cpu
from ..ops import losses
from ..ops.activations import log_softmax, relu, sigmoid, softmax, tanh  # noqa: F401
from ..ops.linear import linear  # noqa: F401
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.dropout import dropout, dropout2d  # noqa: F401
from ..ops.normalization import batch_norm  # noqa: F401
from ..ops.pooling import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d  # noqa: F401

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(name, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_loss_args(name, input, target, reduction):
    for what, x in (("input", input), ("target", target)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(x).__name__}; "
                            "wrap it with minigrad.tensor(...)")
    _check_reduction(name, reduction)


def cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of logits ``input`` (n, C) against class indices ``target`` (n,).

    Out-of-range labels are caught on the CPU; on a GPU the check would force a device-to-host
    copy every step, so there it is skipped.
    """
    name = "cross_entropy"
    _check_loss_args(name, input, target, reduction)
    if input.ndim != 2:
        raise ValueError(f"{name}: expected logits of shape (batch, classes), got {input.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices (int64), got {target.dtype}; "
                        "convert with target.long(), or use BCEWithLogitsLoss for probabilities")
    if target.shape != input.shape[:1]:
        raise ValueError(f"{name}: batch sizes differ: input {input.shape} has {input.shape[0]} rows, "
                         f"target has shape {target.shape} (Expect: target.shape == ({input.shape[0]},))")
    labels, n_classes = target.data, input.shape[1]
    on_cpu = is_cpu(labels)
    # A label >= C makes the forward's indexing fail (caught below); a negative one would
    # silently pick a class from the end, so it is checked here. On a GPU both checks would
    # force a device-to-host copy every step, and are skipped.
    if on_cpu and labels.size and labels.min() < 0:
        _raise_bad_label(name, int(labels.min()), n_classes)
    try:
        return losses.SoftmaxCrossEntropy.apply(input, target, reduction)
    except IndexError:
        if on_cpu and labels.max() >= n_classes:
            _raise_bad_label(name, int(labels.max()), n_classes)
        raise


def _raise_bad_label(name, label, n_classes):
    raise ValueError(f"{name}: label {label} is outside [0, {n_classes}) for {n_classes} classes")


def _check_pair(name, input, target, reduction):
    """Checks shared by the losses that compare input and target element by element."""
    _check_loss_args(name, input, target, reduction)
    if input.shape != target.shape:
        raise ValueError(f"{name}: input and target shapes differ: {input.shape} vs {target.shape}; "
                         "they must be equal (reshape the target, e.g. target.view(-1, 1))")
    if target.dtype.kind not in "fc":
        raise TypeError(f"{name}: target must be floating point, got {target.dtype}; "
                        "convert with target.float()")


def binary_cross_entropy(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """BCE of probabilities ``input`` in [0, 1] against ``target`` in [0, 1], same shape."""
    name = "binary_cross_entropy"
    _check_pair(name, input, target, reduction)
    if is_cpu(input.data) and target.data.size:
        for what, x in (("input", input), ("target", target)):
            low, high = float(x.data.min()), float(x.data.max())
            if low < 0 or high > 1:
                raise ValueError(f"{name}: {what} values must lie in [0, 1], found {low if low < 0 else high}"
                                 + ("; pass logits to binary_cross_entropy_with_logits instead"
                                    if what == "input" else ""))
    return losses.BinaryCrossEntropy.apply(input, target, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """BCE of ``sigmoid(input)`` against ``target``, computed stably from the logits."""
    name = "binary_cross_entropy_with_logits"
    _check_pair(name, input, target, reduction)
    return losses.BCEWithLogits.apply(input, target, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error between ``input`` and ``target`` of the same shape."""
    name = "mse_loss"
    _check_pair(name, input, target, reduction)
    return losses.MSE.apply(input, target, reduction)

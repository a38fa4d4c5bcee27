"""The functional forms of the layers and losses (``minigrad.nn.functional as F``), with
PyTorch's signatures (``size_average`` and ``reduce`` are PyTorch's deprecated spellings of
``reduction``, accepted with its warning).

These wrappers check their inputs and say what is wrong in the user's terms; the ops they
call (``minigrad.ops``) hold the formulas.
"""
from __future__ import annotations

import warnings

from ..backend import is_cpu
from ..ops import losses
from ..ops.activations import (elu, gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax,  # noqa: F401
                               softplus, tanh)
from ..ops.attention import scaled_dot_product_attention  # noqa: F401
from ..ops.embedding import embedding  # noqa: F401
from ..ops.indexing import one_hot  # noqa: F401
from ..ops.layer_norm import layer_norm  # noqa: F401
from ..ops.linear import linear  # noqa: F401
from ..ops.conv import conv1d, conv2d  # noqa: F401
from ..ops.dropout import dropout, dropout2d  # noqa: F401
from ..ops.normalization import batch_norm  # noqa: F401
from ..ops.pooling import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d  # noqa: F401
from ..tensor import Tensor
from .reduction import REDUCTIONS, resolve


def _check_loss_args(name, input, target):
    for what, x in (("input", input), ("target", target)):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(x).__name__}; "
                            "wrap it with minigrad.tensor(...)")


def _check_constant(name, what, value, input, shape_rule):
    """A ``weight`` or ``pos_weight``: a Tensor like ``input`` that no gradient flows into."""
    if isinstance(value, str):
        raise TypeError(f"{name}: {what} must be a Tensor, got the string {value!r}; pass the reduction "
                        f"by keyword, reduction={value!r} (as in PyTorch, the third argument is not it)")
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(value).__name__}; "
                        "wrap it with minigrad.tensor(...)")
    if value.requires_grad:
        raise RuntimeError(f"{name}: no gradient flows into {what} (as in PyTorch), but it requires one; "
                           f"pass {what}.detach()")
    if value.dtype != input.dtype:
        raise TypeError(f"{name}: {what} is {value.dtype} but input is {input.dtype}; they must match, "
                        f"e.g. {what}.to({input.dtype})")
    problem = shape_rule(value.shape)
    if problem:
        raise ValueError(f"{name}: {what} has shape {value.shape}; {problem}")


def _broadcasts_to(shape, target):
    """Whether an array of ``shape`` broadcasts to ``target`` without growing it."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def _class_weight(name, weight, input, n_classes):
    if weight is not None:
        _check_constant(name, "weight", weight, input,
                        lambda s: None if s == (n_classes,) else f"it must be ({n_classes},), one per class")


def _class_axis(name, input):
    """The number of classes of logits or log-probabilities (N, C, d1, ...) or (C,)."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class axis, (C,) or (N, C, ...); got a 0-d tensor")
    return input.shape[1] if input.ndim > 1 else input.shape[0]


def _check_label_tensor(name, input, target):
    """Integer labels with the input's shape less its class axis."""
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices (int64), got {target.dtype}; "
                        "convert with target.long(), or pass class probabilities of the input's shape")
    expected = input.shape[:1] + input.shape[2:] if input.ndim > 1 else ()
    if target.shape != expected:
        if input.ndim == 2 and target.ndim == 1:
            raise ValueError(f"{name}: batch sizes differ: input {input.shape} has {input.shape[0]} rows, "
                             f"target has shape {target.shape} (Expect: target.shape == ({input.shape[0]},))")
        raise ValueError(f"{name}: target has shape {target.shape} but input {input.shape} needs labels of "
                         f"shape {expected} (the input's shape without its class axis, axis 1)")


def _check_labels(name, labels, n_classes, ignore_index):
    """Every label in [0, C) or equal to ignore_index. Reads the labels on the host, so only on the CPU:
    on a GPU it would cost a device-to-host copy every step, and there it is skipped."""
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        _raise_bad_label(name, int(labels[bad].reshape(-1)[0]), n_classes)


def _raise_bad_label(name, label, n_classes):
    raise ValueError(f"{name}: label {label} is outside [0, {n_classes}) for {n_classes} classes")


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` against class indices or class probabilities.

    ``input`` is (N, C), (N, C, d1, ..., dk) or (C,). ``target`` is either integer labels of the
    input's shape without axis 1 (a label equal to ``ignore_index`` counts for nothing, not even
    in the mean), or probabilities of the input's own shape. ``weight`` (C,) weighs each class,
    and the mean over labels is then sum(w_y * loss) / sum(w_y), as PyTorch's;
    ``label_smoothing`` mixes the target with the uniform distribution. Formulas in ``ops.losses``.

    Out-of-range labels are caught on the CPU; on a GPU the check would force a device-to-host
    copy every step, so there it is skipped.
    """
    name = "cross_entropy"
    _check_loss_args(name, input, target)
    if size_average is not None or reduce is not None or reduction not in REDUCTIONS:
        reduction = resolve(name, size_average, reduce, reduction)
    labels = target.data
    # The article's loop first, with as few checks as it needs: (n, C) logits, integer labels on
    # the CPU, no weight or smoothing, and every label >= 0 (a label < 0 is either ignore_index
    # or wrong). A label >= C makes the fused op's indexing fail, and the error is reported here.
    if (weight is None and not label_smoothing and ignore_index < 0 and input.ndim == 2 and is_cpu(labels)
            and labels.dtype.kind in "iu" and labels.shape == input.shape[:1] and labels.size
            and labels.min() >= 0):
        try:
            return losses.SoftmaxCrossEntropy.apply(input, target, reduction)
        except IndexError:
            if labels.max() >= input.shape[1]:
                _raise_bad_label(name, int(labels.max()), input.shape[1])
            raise
    n_classes = _class_axis(name, input)
    _class_weight(name, weight, input, n_classes)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if target.shape == input.shape:
        if target.dtype.kind not in "fc":
            raise TypeError(f"{name}: a target of the input's shape {input.shape} holds class probabilities "
                            f"and must be floating point, got {target.dtype}; for class indices give it "
                            f"the shape {input.shape[:1] + input.shape[2:]}")
        if ignore_index >= 0:
            raise ValueError(f"{name}: ignore_index is not supported for a target of probabilities "
                             "(as in PyTorch); leave it at its default")
        return losses.SoftTargetCrossEntropy.apply(input, target, weight, label_smoothing, reduction)
    _check_label_tensor(name, input, target)
    if is_cpu(labels):
        _check_labels(name, labels, n_classes, ignore_index)
    return losses.CrossEntropy.apply(input, target, weight, ignore_index, label_smoothing, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) or (C,) (from
    ``log_softmax``) at the integer labels ``target``; ``weight`` and ``ignore_index`` as in
    ``cross_entropy``, which is ``nll_loss(log_softmax(input, 1), target)``."""
    name = "nll_loss"
    _check_loss_args(name, input, target)
    reduction = resolve(name, size_average, reduce, reduction)
    n_classes = _class_axis(name, input)
    _class_weight(name, weight, input, n_classes)
    _check_label_tensor(name, input, target)
    if is_cpu(target.data):
        _check_labels(name, target.data, n_classes, ignore_index)
    return losses.NLL.apply(input, target, weight, ignore_index, reduction)


def _check_pair(name, input, target):
    """Checks shared by the losses that compare input and target element by element."""
    _check_loss_args(name, input, target)
    if input.shape != target.shape:
        raise ValueError(f"{name}: input and target shapes differ: {input.shape} vs {target.shape}; "
                         "they must be equal (reshape the target, e.g. target.view(-1, 1))")
    if target.dtype.kind not in "fc":
        raise TypeError(f"{name}: target must be floating point, got {target.dtype}; "
                        "convert with target.float()")


def _elementwise_weight(name, what, value, input):
    if value is not None:
        _check_constant(name, what, value, input, lambda s: None if _broadcasts_to(s, input.shape)
                        else f"it must broadcast to the input's shape {input.shape}")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """BCE of probabilities ``input`` in [0, 1] against ``target`` in [0, 1], same shape;
    ``weight`` (broadcast to the input's shape) multiplies each element's loss."""
    name = "binary_cross_entropy"
    _check_pair(name, input, target)
    reduction = resolve(name, size_average, reduce, reduction)
    _elementwise_weight(name, "weight", weight, input)
    if is_cpu(input.data) and target.data.size:
        for what, x in (("input", input), ("target", target)):
            low, high = float(x.data.min()), float(x.data.max())
            if low < 0 or high > 1:
                raise ValueError(f"{name}: {what} values must lie in [0, 1], found {low if low < 0 else high}"
                                 + ("; pass logits to binary_cross_entropy_with_logits instead"
                                    if what == "input" else ""))
    return losses.BinaryCrossEntropy.apply(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of ``sigmoid(input)`` against ``target``, computed stably from the logits.

    ``weight`` multiplies each element's loss; ``pos_weight`` (e.g. one per class, along the
    last axis) multiplies the positive term, trading recall against precision: n_negative /
    n_positive balances a rare class.
    """
    name = "binary_cross_entropy_with_logits"
    _check_pair(name, input, target)
    reduction = resolve(name, size_average, reduce, reduction)
    _elementwise_weight(name, "weight", weight, input)
    _elementwise_weight(name, "pos_weight", pos_weight, input)
    return losses.BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


def _weighted(name, op, input, target, weight, reduction, mean_by_weight, *args):
    """PyTorch 2.13's ``weight`` of mse_loss, l1_loss and huber_loss: the unreduced loss times
    ``weight`` (the input's shape), then reduced; 'mean' divides by sum(weight) for mse and l1,
    by the number of elements for huber."""
    _check_constant(name, "weight", weight, input,
                    lambda s: None if s == input.shape else f"it must be the input's shape {input.shape}")
    weighted = op.apply(input, target, *args, "none") * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()


def _elementwise_loss(name, op, input, target, size_average, reduce, reduction, weight):
    _check_pair(name, input, target)
    reduction = resolve(name, size_average, reduce, reduction)
    if weight is not None:
        return _weighted(name, op, input, target, weight, reduction, True)
    return op.apply(input, target, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error between ``input`` and ``target`` of the same shape."""
    return _elementwise_loss("mse_loss", losses.MSE, input, target, size_average, reduce, reduction, weight)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error between ``input`` and ``target`` of the same shape."""
    return _elementwise_loss("l1_loss", losses.L1, input, target, size_average, reduce, reduction, weight)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Quadratic for |input - target| < beta, linear beyond; ``beta=0`` is ``l1_loss``."""
    name = "smooth_l1_loss"
    _check_pair(name, input, target)
    reduction = resolve(name, size_average, reduce, reduction)
    if beta < 0:
        raise ValueError(f"{name}: beta must be >= 0, got {beta}")
    if beta == 0:
        return losses.L1.apply(input, target, reduction)
    return losses.SmoothL1.apply(input, target, beta, 1.0, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 * d**2 for |d| < delta, delta * (|d| - delta / 2) beyond, d = input - target."""
    name = "huber_loss"
    _check_pair(name, input, target)
    reduction = resolve(name, None, None, reduction)
    if not delta > 0:
        raise ValueError(f"{name}: delta must be > 0, got {delta}")
    if weight is not None:
        return _weighted(name, losses.SmoothL1, input, target, weight, reduction, False, delta, delta)
    return losses.SmoothL1.apply(input, target, delta, delta, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || q) with ``input`` = log q; ``reduction='batchmean'`` is the true KL divergence
    per example (PyTorch's 'mean' divides by every element, and warns so)."""
    name = "kl_div"
    _check_pair(name, input, target)
    if size_average is not None or reduce is not None:
        reduction = resolve(name, size_average, reduce, reduction)
    else:
        resolve(name, None, None, reduction, ("mean", "batchmean", "sum", "none"))
        if reduction == "mean":
            warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the "
                          "support size; 'batchmean' divides only by the batch size, and aligns with the KL "
                          "divergence (as PyTorch warns)", UserWarning, stacklevel=2)
    return losses.KLDiv.apply(input, target, reduction, log_target)

"""Knowledge distillation (Hinton, Vinyals and Dean 2015): a small student learns from a big
teacher's softened outputs as well as from the labels.

At temperature T the class probabilities p = softmax(z / T) are softer: T = 1 is the ordinary
softmax, a large T spreads probability over the wrong classes in proportion to how wrong the
teacher thinks they are ("a 7 that looks like a 1"). That spread is the "dark knowledge" the
labels do not carry. The student minimises

    loss = alpha * T^2 * KL(p_t || p_s)  +  (1 - alpha) * CE(s, labels)

    p_t = softmax(t / T), p_s = softmax(s / T)        t, s: teacher and student logits (n, C)
    KL(p_t || p_s) = (1/n) sum_i sum_c p_t log(p_t / p_s)     (KLDivLoss, reduction='batchmean')

Its gradient with respect to the student's logits (the teacher is a constant):

    d(T^2 KL)/ds = T^2 * (1/n) * (p_s - p_t) / T = T (p_s - p_t) / n

The 1/T comes from differentiating softmax(s / T) through s / T; multiplying by T^2 keeps the
soft term's gradient of the same size whatever T (for large T, p ~ (1 + z/T) / C, so
p_s - p_t ~ (s - t) / (T C) and the gradient tends to (s - t) / (C n) with zero-mean logits:
matching logits, as the paper notes). Derived in docs/compression.md.
"""
from __future__ import annotations

import numbers

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["distillation_loss", "DistillationLoss"]


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor | None = None,
                      temperature: float = 4.0, alpha: float = 0.9) -> Tensor:
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * cross_entropy(s, labels)``,
    the mean over the batch (see the module docstring). ``teacher_logits`` gets no gradient.
    Without ``labels`` only the soft term is returned (times ``alpha``)."""
    name = "distillation_loss"
    for what, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(t, Tensor) or t.ndim != 2:
            raise ValueError(f"{name}: {what} must be a (batch, classes) Tensor, got "
                             f"{getattr(t, 'shape', type(t).__name__)}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"{name}: student logits {student_logits.shape} and teacher logits {teacher_logits.shape} "
                         "must have the same shape (the same batch, the same classes)")
    if not isinstance(temperature, numbers.Real) or not temperature > 0:
        raise ValueError(f"{name}: temperature must be a positive number, got {temperature!r}")
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{name}: alpha (the weight of the soft targets) must be in [0, 1], got {alpha!r}")
    T = float(temperature)
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=1), F.log_softmax(teacher_logits.detach() / T, dim=1),
                    reduction="batchmean", log_target=True) * (T * T)
    if labels is None:
        return alpha * soft
    return alpha * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


class DistillationLoss(Module):
    """``distillation_loss`` as a module: ``DistillationLoss(T, alpha)(student, teacher, labels)``."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__()
        self.temperature, self.alpha = temperature, alpha

    def forward(self, student_logits, teacher_logits, labels=None):
        return distillation_loss(student_logits, teacher_logits, labels, self.temperature, self.alpha)

    def extra_repr(self):
        return f"temperature={self.temperature}, alpha={self.alpha}"

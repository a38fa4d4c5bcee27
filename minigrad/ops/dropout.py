"""Dropout: zero each element (or each channel) with probability p while training."""
from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import device_of, to_device
from ..factories import default_generator


class Dropout(Function):
    """y = x * mask, where mask is 0 (dropped) or 1/(1 - p) (kept), drawn once per call.

        dx = G * mask
    Inverted dropout, as PyTorch: the kept values are scaled up by 1/(1 - p) while training, so
    the expected value of y is x and nothing needs rescaling in eval mode, where dropout is the
    identity. For ``dropout2d`` the mask has shape (N, C, 1, 1) and drops whole channels.
    """

    @staticmethod
    def forward(ctx, x, mask):
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return grad_output * mask, None


def dropout_mask(x, shape, p):
    """0 or 1/(1 - p) in x's dtype on x's device; kept with probability 1 - p.

    Drawn on the host from the generator ``minigrad.manual_seed`` resets, so a seed gives the
    same masks on the CPU and on a GPU.
    """
    keep = to_device(default_generator().random(shape) >= p, device_of(x))
    mask = keep.astype(x.dtype)
    mask *= 1 / (1 - p) if p < 1 else 0
    return mask


def check_dropout(name, input, p, check_input=True):
    """Raise the error ``name`` gives for an input that is not a Tensor or a ``p`` outside [0, 1]."""
    if check_input and not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a minigrad Tensor, got {type(input).__name__}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
        raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p!r}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 - p) when ``training``;
    the identity otherwise. As ``torch.nn.functional.dropout``. See ``Dropout``.

    ``inplace`` is accepted for PyTorch's signature; the result is always a new tensor.
    """
    check_dropout("dropout", input, p)
    if not training or p == 0:
        return input
    return Dropout.apply(input, dropout_mask(input.data, input.shape, p))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``input`` (N, C, H, W) with probability ``p``, as
    ``torch.nn.functional.dropout2d``: neighbouring pixels are correlated, so dropping single
    pixels of a feature map barely regularises; dropping the map does."""
    check_dropout("dropout2d", input, p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    if not training or p == 0:
        return input
    shape = input.shape[:2] + (1,) * (input.ndim - 2)  # 3-D is read as (N, C, L), as PyTorch does
    return Dropout.apply(input, dropout_mask(input.data, shape, p))

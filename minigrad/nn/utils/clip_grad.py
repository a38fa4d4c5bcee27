"""Gradient clipping, as ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Both change the gradients in place, between ``loss.backward()`` and ``optimizer.step()``:

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""
from __future__ import annotations

import math
import warnings
from types import GeneratorType

from ...backend import as_array, device_of, get_array_module, to_device
from ...tensor import Tensor


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

        n_i   = ||p_i.grad||_q              the q-norm of each gradient (q = norm_type)
        total = ||(n_1, n_2, ...)||_q        = the q-norm of all gradients as one vector
        coef  = min(max_norm / (total + 1e-6), 1)
        p_i.grad = p_i.grad * coef           in place, for every parameter with a gradient

    ``||x||_q = (sum |x|**q) ** (1/q)``; q = inf gives max |x|, -inf min |x|, 0 the number of
    non-zeros. The direction of the overall gradient is kept; only its length is capped.
    ``parameters`` is an iterable of Tensors or one Tensor; those without ``.grad`` are skipped.

    Returns ``total`` (a 0-d Tensor, before clipping): the norm to log to watch for exploding
    gradients. With ``error_if_nonfinite`` a nan or infinite total raises instead of turning
    every gradient into nan (or zero). ``foreach`` is accepted for PyTorch's signature; minigrad
    has one implementation, whose result is the same.
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(as_array(0.0))  # float32, as PyTorch's torch.tensor(0.)
    dev = device_of(grads[0])
    xp = get_array_module(grads[0])
    norms = xp.stack([to_device(_vector_norm(g, norm_type), dev) for g in grads])
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so it cannot be clipped; find where the loss or its gradient "
                           "overflows, or pass error_if_nonfinite=False to scale the gradients by it anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= to_device(coef, device_of(g))
    return Tensor(total)


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place:

        p.grad = clamp(p.grad, -clip_value, clip_value)

    ``foreach`` is accepted for PyTorch's signature; minigrad has one implementation.
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        get_array_module(g).clip(g, -clip_value, clip_value, out=g)


def _grads(parameters) -> list:
    """The raw gradient arrays of ``parameters`` (one Tensor or an iterable), skipping None."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        was_generator = isinstance(parameters, GeneratorType)
        parameters = list(parameters)
        if was_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur; "
                          "was model.parameters() already used up by an earlier loop?", stacklevel=3)
    return [p.grad.data for p in parameters if p.grad is not None]


def _vector_norm(x, q: float):
    """``torch.linalg.vector_norm(x, q)`` on a raw array: a 0-d array of x's dtype."""
    xp = get_array_module(x)
    a = xp.abs(x)
    if q == math.inf:
        return xp.max(a)
    if q == -math.inf:
        return xp.min(a)
    if q == 0:
        return xp.asarray(xp.count_nonzero(x), dtype=x.dtype)
    if q == 1:
        return xp.sum(a)
    if q == 2:
        return xp.sqrt(xp.sum(a * a))
    return xp.sum(a ** q) ** (1.0 / q)

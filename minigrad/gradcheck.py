"""``gradcheck``: compare an op's backward with central differences, as ``torch.autograd.gradcheck``.

Only meaningful in float64: with float32's 7 digits, (f(x+h) - f(x-h)) / 2h loses most of its
precision to rounding, so float32 input is refused.
"""
from __future__ import annotations

import numpy

from . import backend
from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> bool:
    """Check the gradients of ``fn(*inputs)`` for every input that requires a gradient.

    A random upstream gradient U (not all ones, which hides wrong backwards that only get the
    sum right) turns the output into the scalar sum(U * fn(x)); its gradient by backward is
    compared with central differences (f(x + eps) - f(x - eps)) / (2 eps), element by element.

    >>> import minigrad
    >>> x = minigrad.tensor([0.5, 2.0], dtype=minigrad.float64, requires_grad=True)
    >>> gradcheck(lambda t: (t * t).exp(), [x])
    True
    """
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; pass tensors made with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != numpy.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; gradcheck needs float64 "
                            "(central differences in float32 are too imprecise), e.g. x.double()")
    out = fn(*inputs)
    xp = backend.get_array_module(out.data)
    rng = numpy.random.default_rng(seed)
    upstream = backend.to_device(numpy.asarray(rng.standard_normal(out.shape)), out.device)
    for i in checked:
        inputs[i].grad = None
    out.backward(Tensor(upstream.astype(out.dtype)))
    numericals = numerical_gradients(fn, inputs, upstream, eps)
    for i in checked:
        x = inputs[i]
        analytic = backend.to_device(x.grad.data if x.grad is not None else xp.zeros_like(x.data), backend.CPU)
        numerical = numericals[i]
        bad = numpy.abs(analytic - numerical) > atol + rtol * numpy.abs(numerical)
        if bad.any():
            idx = tuple(int(k) for k in numpy.argwhere(bad)[0])
            msg = (f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index {idx}: "
                   f"analytic {analytic[idx]!r}, numerical {numerical[idx]!r} "
                   f"({int(bad.sum())} of {bad.size} elements differ; atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def numerical_gradients(fn, inputs, upstream, eps: float = 1e-6) -> dict:
    """Central differences of the scalar ``sum(upstream * fn(*inputs))``, one NumPy array per
    input that requires a gradient, keyed by its position in ``inputs``; ``upstream`` is an
    array of the output's shape on the output's device.

    Element j of input i is nudged by +-eps in place and put back:
    dL/dx_j ~ (L(x + eps e_j) - L(x - eps e_j)) / (2 eps), off by O(eps^2). This is the
    vector-Jacobian product J^T upstream that ``backward`` must return, computed the slow way.
    """
    found = {}
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        numerical = numpy.zeros(x.shape)
        if not x.data.flags.c_contiguous:
            x.data = x.data.copy()  # C order, so that the reshape below is a view
        flat = x.data.reshape(-1)  # a view of a contiguous array: nudging it nudges x
        with no_grad():
            for j in range(flat.size):
                orig = flat[j].item()
                flat[j] = orig + eps
                plus = float((fn(*inputs).data * upstream).sum())
                flat[j] = orig - eps
                minus = float((fn(*inputs).data * upstream).sum())
                flat[j] = orig
                numerical.reshape(-1)[j] = (plus - minus) / (2 * eps)
        found[i] = numerical
    return found

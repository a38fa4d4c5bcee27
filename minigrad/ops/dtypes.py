"""Casts between dtypes, and PyTorch's type promotion for ops that take several operands.

PyTorch's rules, which differ from NumPy's in three ways that change results silently:

- A number (a Python or NumPy scalar) never widens a tensor: ``float32_t * np.float64(2)`` is
  float32, ``uint8_t / 255.0`` is float32; a number only lifts the category, and then to the
  default dtype: ``int64_t * 2.5`` is float32 (NumPy gives float64 in each case).
- Integer and float tensors give the float tensor's dtype (NumPy widens int64 + float32 to
  float64).
- A zero-dimensional tensor is in between: it changes the dtype only when it is of a higher
  category than the tensors with dimensions (``float32_t + tensor(1.0, dtype=float64)`` is
  float32, ``int64_t + tensor(1.5, dtype=float64)`` is float64).

Categories rank bool < integer < floating < complex. Within a category, two tensors widen as
usual (float32 with float64 gives float64).
"""
from __future__ import annotations

from .. import autograd, backend
from ..autograd import Function
from ..backend import get_array_module

DEFAULT_FLOAT = backend.numpy.float32  # what integer data becomes once a float enters
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_NUMBER_DTYPES = {"b": backend.numpy.bool_, "u": backend.numpy.int64, "i": backend.numpy.int64,
                  "f": DEFAULT_FLOAT, "c": backend.numpy.complex64}


def is_floating(xp, dtype) -> bool:
    """True if ``dtype`` is a floating-point or complex dtype (one that can carry gradients)."""
    return xp.dtype(dtype).kind in "fc"


def _number_dtype(xp, value):
    """The dtype a number stands for: only its category counts (bool, int64, float32, complex64)."""
    if hasattr(value, "dtype"):
        kind = value.dtype.kind
    else:
        kind = "b" if isinstance(value, bool) else "i" if isinstance(value, int) else \
            "f" if isinstance(value, float) else "c"
    return xp.dtype(_NUMBER_DTYPES[kind])


def _promote_types(xp, a, b):
    """The dtype of an op on tensors of dtypes ``a`` and ``b`` (``torch.promote_types``)."""
    if a == b:
        return a
    ka, kb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ka != kb:  # int64 with float16 is float16: the higher category keeps its own width
        return a if ka > kb else b
    return xp.promote_types(a, b)


def _combine(xp, higher, lower):
    """Let a lower tier of operands (``lower``) change the dtype ``higher`` found so far."""
    if higher is None:
        return lower
    if lower is None or _CATEGORY[higher.kind] >= _CATEGORY[lower.kind]:
        return higher
    return _promote_types(xp, higher, lower)


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op on ``operands`` (Tensors, at least one, and numbers).

    >>> import minigrad
    >>> result_type(minigrad.tensor([1, 2]), 2.5)
    dtype('float32')
    """
    xp = get_array_module(next(x.data for x in operands if isinstance(x, autograd.Tensor)))
    dims = zero_dim = numbers = None
    for x in operands:
        if isinstance(x, autograd.Tensor):
            if x.data.ndim:
                dims = x.data.dtype if dims is None else _promote_types(xp, dims, x.data.dtype)
            else:
                zero_dim = x.data.dtype if zero_dim is None else _promote_types(xp, zero_dim, x.data.dtype)
        elif x is not None:
            d = _number_dtype(xp, x)
            numbers = d if numbers is None else _promote_types(xp, numbers, d)
    return _combine(xp, dims, _combine(xp, zero_dim, numbers))


class Cast(Function):
    """y = x converted to ``dtype``.   dx = G converted back to x's dtype.

    A cast changes the precision, not the value, so its derivative is 1; converting G back
    keeps every tensor's gradient in the tensor's own dtype.
    """

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.astype(ctx.dtype), None


def cast(x, dtype):
    """``x`` as ``dtype``: ``x`` itself if it already is, as ``Tensor.to`` in PyTorch.

    A cast to an integer or bool dtype gives a tensor that does not require grad (PyTorch's
    rule: only floating-point tensors carry gradients).
    """
    if x.data.dtype == dtype:
        return x
    if not is_floating(get_array_module(x.data), dtype):
        return autograd.Tensor(x.data.astype(dtype))
    return Cast.apply(x, dtype)


def _as(x, dtype):
    if isinstance(x, autograd.Tensor):
        return cast(x, dtype)
    if hasattr(x, "item"):  # a NumPy scalar counts as a Python number, as in PyTorch
        return x.item()
    return x


def promote(*operands, floating: bool = False):
    """``operands`` brought to their ``result_type``: Tensors cast (differentiably), NumPy
    scalars turned into Python numbers, which NumPy never lets widen an array.

    ``floating=True`` is true division's rule: an integer result becomes the default float.
    """
    if len(operands) == 2:  # the hot path: two tensors of one dtype, or a float tensor and a number
        a, b = operands
        if not isinstance(a, autograd.Tensor):
            a, b = b, a
        if isinstance(a, autograd.Tensor):
            dtype = a.data.dtype
            if isinstance(b, autograd.Tensor):
                if b.data.dtype == dtype and (dtype.kind == "f" or not floating):
                    return operands
            elif dtype.kind == "f" and type(b) in (float, int):
                return operands
    dtype = result_type(*operands)
    if floating and dtype.kind not in "fc":
        dtype = DEFAULT_FLOAT
    return tuple(_as(x, dtype) for x in operands)


def check_same_dtype(name, *tensors):
    """Matrix products do not promote in PyTorch: mixed dtypes raise instead (None skipped)."""
    first = tensors[0].data.dtype
    for t in tensors[1:]:
        if t is not None and t.data.dtype != first:
            dtypes = " and ".join(str(t.data.dtype) for t in tensors if t is not None)
            raise RuntimeError(f"{name}: expected all operands to have the same dtype, got {dtypes}; cast them "
                               "to one, e.g. with .float() or .double() (matrix products do not promote, as in "
                               "PyTorch)")


"""Elementwise ops: exp, log, abs, sqrt, clamp, maximum, minimum, where, masked_fill, tril, triu.

Those with two or three operands broadcast them (NumPy rules) and promote their dtypes as
PyTorch does (``ops/dtypes.py``); ``sum_to`` folds each gradient back to its input's shape.
At a kink each takes PyTorch's one-sided choice, given in its docstring.
"""
from .. import autograd
from ..autograd import Function, sum_to
from ..backend import get_array_module
from .arithmetic import broadcast_check
from .dtypes import cast, promote, result_type


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _check_tensor(name, x, what="input"):
    if not isinstance(x, autograd.Tensor):
        raise TypeError(f"{name}: {what} must be a minigrad Tensor, got {type(x).__name__}; "
                        "wrap it with minigrad.tensor(...)")


def _check_mask(name, mask, what="mask"):
    _check_tensor(name, mask, what)
    if mask.data.dtype.kind != "b":
        raise TypeError(f"{name}: {what} must be a bool tensor, got {mask.data.dtype}; "
                        "make one with a comparison, e.g. x > 0")


def _pairwise(fn, name, a, b):
    _check_tensor(name, a)
    _check_tensor(name, b, "other")
    broadcast_check(name, a, b)
    return fn.apply(*promote(a, b))


def _check_matrix(name, x):
    _check_tensor(name, x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a tensor of at least 2 dimensions (matrices in the last two), "
                         f"got shape {x.shape}")


class Exp(Function):
    """y = exp(x).   dx = G * y   (exp is its own derivative, so the output is saved)."""

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y


def exp(x):
    """e to the power of each element (``torch.exp``)."""
    return Exp.apply(x)


class Log(Function):
    """y = log(x), the natural logarithm.   dx = G / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / x


def log(x):
    """The natural logarithm elementwise: the ``Log`` op."""
    return Log.apply(x)


class Abs(Function):
    """y = |x|.   dx = G * sign(x),  with sign(0) = 0: no slope at the kink, as in PyTorch."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * get_array_module(x).sign(x)


def abs(x):
    """The absolute value of each element (``torch.abs``); the gradient at 0 is 0."""
    return Abs.apply(x)


class Sqrt(Function):
    """y = sqrt(x).   dx = G / (2 y)   (infinite at x = 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output / (2 * y)


def sqrt(x):
    """The square root of each element (``torch.sqrt``); the gradient at 0 is infinite."""
    return Sqrt.apply(x)


class Clamp(Function):
    """y = min(max(x, lo), hi); either bound may be None, a number or a tensor (broadcast).

        dx  = sum_to(G * [lo <= x <= hi], x.shape)       the gradient passes at the bounds
        dlo = sum_to(G * [x < lo and lo < hi], lo.shape)  (just [x < lo] without hi)
        dhi = sum_to(G * [x > hi or hi < lo], hi.shape)   (just [x > hi] without lo)

    PyTorch's conventions: x exactly at a bound keeps its gradient; where lo > hi the output
    is hi, so hi gets the gradient; where lo == hi and x is outside, nobody gets it.
    """

    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = get_array_module(x)
        ctx.save_for_backward(x, lo, hi)
        y = x if lo is None else xp.maximum(x, lo)
        return y if hi is None else xp.minimum(y, hi)

    @staticmethod
    def backward(ctx, grad_output):
        x, lo, hi = ctx.saved_tensors
        g = grad_output
        passes = True
        if lo is not None:
            passes = passes & (x >= lo)
        if hi is not None:
            passes = passes & (x <= hi)
        dx = sum_to(g * passes, x.shape) if ctx.needs_input_grad[0] else None
        dlo = dhi = None
        if ctx.needs_input_grad[1]:
            below = x < lo if hi is None else (x < lo) & (lo < hi)
            dlo = sum_to(g * below, lo.shape)
        if ctx.needs_input_grad[2]:
            above = x > hi if lo is None else (x > hi) | (hi < lo)
            dhi = sum_to(g * above, hi.shape)
        return dx, dlo, dhi


def clamp(x, min=None, max=None):
    """``x`` limited to [min, max] (``torch.clamp``); bounds are numbers, tensors or None."""
    _check_tensor("clamp", x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    broadcast_check("clamp", x, *(b for b in (min, max) if b is not None))
    return Clamp.apply(*promote(x, min, max))


clip = clamp


class Maximum(Function):
    """c = maximum(a, b), broadcast.

        da = sum_to(G * [a > b] + G/2 * [a == b], a.shape)
        db = sum_to(G * [b > a] + G/2 * [a == b], b.shape)
    A tie splits the gradient half and half, as PyTorch does. The forward saves where a won
    and where they tied, so ``Minimum`` shares this backward.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a > b, a == b)
        ctx.shapes = _shape(a), _shape(b)
        return get_array_module(a).maximum(a, b)

    @staticmethod
    def backward(ctx, grad_output):
        a_wins, tie = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        half = grad_output * 0.5 * tie
        da = sum_to(grad_output * a_wins + half, a_shape) if ctx.needs_input_grad[0] else None
        db = sum_to(grad_output * ~(a_wins | tie) + half, b_shape) if ctx.needs_input_grad[1] else None
        return da, db


def maximum(a, b):
    """The elementwise larger of two tensors (``torch.maximum``)."""
    return _pairwise(Maximum, "maximum", a, b)


class Minimum(Maximum):
    """c = minimum(a, b), broadcast.

        da = sum_to(G * [a < b] + G/2 * [a == b], a.shape),  db likewise with a and b swapped.
    Maximum's backward, with "a won" meaning a < b.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a < b, a == b)
        ctx.shapes = _shape(a), _shape(b)
        return get_array_module(a).minimum(a, b)


def minimum(a, b):
    """The elementwise smaller of two tensors (``torch.minimum``)."""
    return _pairwise(Minimum, "minimum", a, b)


class Where(Function):
    """y = a where cond, else b (all three broadcast).

        da = sum_to(where(cond, G, 0), a.shape),   db = sum_to(where(cond, 0, G), b.shape)
    """

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond, ctx.shapes = cond, (_shape(a), _shape(b))
        return get_array_module(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        zero = xp.zeros((), dtype=grad_output.dtype)
        a_shape, b_shape = ctx.shapes
        da = sum_to(xp.where(ctx.cond, grad_output, zero), a_shape) if ctx.needs_input_grad[1] else None
        db = sum_to(xp.where(ctx.cond, zero, grad_output), b_shape) if ctx.needs_input_grad[2] else None
        return None, da, db


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` holds, else of ``other`` (``torch.where``).

    ``input`` and ``other`` may be numbers; the result's dtype is PyTorch's promotion of the two
    (``where(c, 1.0, 0)`` is float32).
    """
    _check_mask("where", condition, "condition")
    broadcast_check("where", condition, input, other)
    if not isinstance(input, autograd.Tensor) and not isinstance(other, autograd.Tensor):
        dtype = result_type(condition, input, other)  # a bool condition never decides the dtype
        input = autograd.Tensor(get_array_module(condition.data).asarray(input, dtype=dtype))
    return Where.apply(condition, *promote(input, other))


class MaskedFill(Function):
    """y = value where mask, else x (mask broadcast to x's shape).   dx = where(mask, 0, G)."""

    @staticmethod
    def forward(ctx, x, mask, value):
        xp = get_array_module(x)
        ctx.mask = mask
        return xp.where(mask, value, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_output):
        xp = get_array_module(grad_output)
        return xp.where(ctx.mask, xp.zeros((), dtype=grad_output.dtype), grad_output), None, None


def masked_fill(x, mask, value):
    """``x`` with ``value`` written where ``mask`` is True (``Tensor.masked_fill``).

    ``value`` is a number (cast to x's dtype), or a zero-dimensional tensor, which then gets
    its gradient too (the sum of G over the filled places).
    """
    _check_tensor("masked_fill", x)
    _check_mask("masked_fill", mask)
    broadcast_check("masked_fill", x, mask)
    if len(mask.shape) > x.ndim or any(m not in (1, n) for m, n in zip(mask.shape[::-1], x.shape[::-1])):
        raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the tensor's "
                         f"shape {x.shape}; the result keeps the tensor's shape")
    if isinstance(value, autograd.Tensor):
        if value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-dimensional tensor, got shape "
                             f"{value.shape}; use where(mask, values, x) for a tensor of values")
        return where(mask, cast(value, x.dtype), x)
    return MaskedFill.apply(x, mask, value)


class Triangle(Function):
    """y = tril(x, k) (``upper`` False) or triu(x, k) (True): x with the elements above (below)
    diagonal k zeroed, on the last two axes.   dx = the same triangle of G."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.part, ctx.diagonal = "triu" if upper else "tril", diagonal
        return getattr(get_array_module(x), ctx.part)(x, diagonal)

    @staticmethod
    def backward(ctx, grad_output):
        return getattr(get_array_module(grad_output), ctx.part)(grad_output, ctx.diagonal), None, None


def tril(x, diagonal=0):
    """The lower triangle of the last two axes, from diagonal ``diagonal`` down (``torch.tril``)."""
    _check_matrix("tril", x)
    return Triangle.apply(x, diagonal, False)


def triu(x, diagonal=0):
    """The upper triangle of the last two axes, from diagonal ``diagonal`` up (``torch.triu``)."""
    _check_matrix("triu", x)
    return Triangle.apply(x, diagonal, True)

"""Arithmetic with NumPy broadcasting, powers, and the matrix product.

Shapes: ``a`` and ``b`` broadcast to the output's shape; ``sum_to`` folds each gradient back
to its input's shape (see ``minigrad.autograd.sum_to``). A Python number may stand for either
operand; it gets no gradient. Dtypes follow PyTorch's promotion (``ops/dtypes.py``): a number
never widens a tensor, and integer tensors divided give float32.
"""
import math
from numbers import Number

from .. import autograd
from ..autograd import Function, sum_to
from ..backend import get_array_module
from .dtypes import check_same_dtype, promote


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _check_operands(name, a, b):
    for x in (a, b):
        if not isinstance(x, (autograd.Tensor, Number)):
            raise TypeError(f"{name}: expected Tensors or Python numbers, got {type(x).__name__}; "
                            "wrap arrays with minigrad.tensor(...)")


def broadcast_check(name, *operands):
    """Raise, naming the op and the shapes, unless the operands' shapes broadcast together."""
    shapes = [_shape(getattr(x, "data", x)) for x in operands]
    for sizes in zip(*(reversed(s) for s in shapes)):
        if len({n for n in sizes if n != 1}) > 1:
            raise ValueError(f"{name}: shapes {' and '.join(str(s) for s in shapes)} do not broadcast "
                             "(trailing axes must be equal or 1)")


def _binary(fn, name, a, b, floating=False):
    _check_operands(name, a, b)
    broadcast_check(name, a, b)
    return fn.apply(*promote(a, b, floating=floating))


def _log(xp, a):
    """log(a) for an array or a number; a number's log stays a Python number (no dtype of its own)."""
    if hasattr(a, "shape"):
        return xp.log(a)
    return math.log(a) if a > 0 else -math.inf if a == 0 else math.nan


class Add(Function):
    """c = a + b.   da = sum_to(G, a.shape),  db = sum_to(G, b.shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        a_shape, b_shape = ctx.shapes
        return sum_to(grad_output, a_shape), sum_to(grad_output, b_shape)


def add(a, b):
    """a + b with broadcasting."""
    return _binary(Add, "add", a, b)


class Sub(Function):
    """c = a - b.   da = sum_to(G, a.shape),  db = -sum_to(G, b.shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return a - b

    @staticmethod
    def backward(ctx, grad_output):
        a_shape, b_shape = ctx.shapes
        db = -sum_to(grad_output, b_shape) if ctx.needs_input_grad[1] else None
        return sum_to(grad_output, a_shape), db


def sub(a, b):
    """a - b with broadcasting."""
    return _binary(Sub, "sub", a, b)


class Mul(Function):
    """c = a * b.   da = sum_to(G * b, a.shape),  db = sum_to(G * a, b.shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        da = sum_to(grad_output * b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = sum_to(grad_output * a, _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


def mul(a, b):
    """a * b with broadcasting."""
    return _binary(Mul, "mul", a, b)


class Div(Function):
    """c = a / b.   da = sum_to(G / b, a.shape),  db = sum_to(-G * a / b**2, b.shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        da = sum_to(grad_output / b, _shape(a)) if ctx.needs_input_grad[0] else None
        db = sum_to(-grad_output * a / (b * b), _shape(b)) if ctx.needs_input_grad[1] else None
        return da, db


def div(a, b):
    """a / b with broadcasting: true division, so integer tensors give float32, as in PyTorch."""
    return _binary(Div, "div", a, b, floating=True)


class Neg(Function):
    """c = -a.   da = -G."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad_output):
        return -grad_output


def neg(a):
    """-a elementwise (``torch.neg``)."""
    return Neg.apply(a)


class Pow(Function):
    """c = a ** b, each a tensor or a number, broadcast.

        da = sum_to(G * b * a ** (b - 1), a.shape),   0 where b == 0
        db = sum_to(G * c * log(a), b.shape),         0 where a == 0 and b >= 0

    PyTorch's conventions at the edges: where b == 0, c = 1 whatever a is, so its slope in a is
    0 (even at a = 0, where b * a ** (b - 1) would be 0 * inf). Where a == 0 and b >= 0, c stays
    0 (or 1) as b moves, so its slope in b is 0 rather than 0 * log(0). A negative base has no
    real logarithm: the gradient of b is nan there, as in PyTorch, while the gradient of a is
    finite (for instance (-2) ** 2 has slope -4 in a).
    """

    @staticmethod
    def forward(ctx, a, b):
        c = a ** b
        ctx.save_for_backward(a, b, c)
        return c

    @staticmethod
    def backward(ctx, grad_output):
        a, b, c = ctx.saved_tensors
        xp = get_array_module(grad_output)
        zero = xp.zeros((), dtype=grad_output.dtype)
        da = db = None
        if ctx.needs_input_grad[0]:
            da = sum_to(xp.where(b == 0, zero, grad_output * b * a ** (b - 1)), _shape(a))
        if ctx.needs_input_grad[1]:
            db = sum_to(xp.where((a == 0) & (b >= 0), zero, grad_output * c * _log(xp, a)), _shape(b))
        return da, db


def pow(a, exponent):
    """a ** exponent, either of them a tensor or a number (``torch.pow``)."""
    _check_operands("pow", a, exponent)
    broadcast_check("pow", a, exponent)
    a, exponent = promote(a, exponent)
    if isinstance(exponent, Number) and not isinstance(a, Number) and a.data.dtype.kind in "iu" and exponent < 0:
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed (exponent {exponent}); "
                           "make the tensor float first, e.g. x.float() ** -1")
    return Pow.apply(a, exponent)


class MatMul(Function):
    """C = A @ B, NumPy's matmul (1-D operands and batch broadcasting included).

    Shapes for the 2-D case: A (m, k), B (k, n), C and G (m, n).
        dA = G @ B.T      (m, n) @ (n, k) -> (m, k)
        dB = A.T @ G      (k, m) @ (m, n) -> (k, n)
    A 1-D operand is read as a row (A) or a column (B) and the added axis dropped again;
    batch axes that broadcast are summed away with ``sum_to``.
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad_output):
        a, b = ctx.saved_tensors
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad_output  # restore the axes that 1-D operands dropped: n's first, then m's
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if ctx.needs_input_grad[0]:
            da = g @ b2.swapaxes(-1, -2)
            da = sum_to(da, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            db = a2.swapaxes(-1, -2) @ g
            db = sum_to(db, b2.shape).reshape(b.shape)
        return da, db


def matmul(a, b):
    """a @ b, NumPy's matmul semantics; both operands of one dtype, as PyTorch requires."""
    _check_operands("matmul", a, b)
    sa, sb = _shape(getattr(a, "data", a)), _shape(getattr(b, "data", b))
    if not sa or not sb:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: {sa} @ {sb} (Expect: a.shape[-1] == "
                         f"b.shape[-2], Actual: {ka} != {kb})")
    check_same_dtype("matmul", a, b)
    return MatMul.apply(a, b)

"""Arithmetic with NumPy broadcasting, and the matrix product.

Shapes: ``a`` and ``b`` broadcast to the output's shape; ``sum_to`` folds each gradient back
to its input's shape (see ``minigrad.autograd.sum_to``). A Python number may stand for either
operand; it gets no gradient.
"""
import math
from numbers import Number

from .. import autograd
from ..autograd import Function, sum_to


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


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


class Neg(Function):
    """c = -a.   da = -G."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad_output):
        return -grad_output


class Pow(Function):
    """c = a ** p for a constant number p.   da = G * p * a ** (p - 1)."""

    @staticmethod
    def forward(ctx, a, p):
        ctx.save_for_backward(a)
        ctx.p = p
        return a ** p

    @staticmethod
    def backward(ctx, grad_output):
        (a,) = ctx.saved_tensors
        p = ctx.p
        return grad_output * p * a ** (p - 1), None


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


def _check_operands(name, a, b):
    for x in (a, b):
        if not isinstance(x, (autograd.Tensor, Number)):
            raise TypeError(f"{name}: expected Tensors or Python numbers, got {type(x).__name__}; "
                            "wrap arrays with minigrad.tensor(...)")


def _broadcast_check(name, a, b):
    sa, sb = _shape(getattr(a, "data", a)), _shape(getattr(b, "data", b))
    if sa != sb:
        for x, y in zip(reversed(sa), reversed(sb)):
            if x != y and x != 1 and y != 1:
                raise ValueError(f"{name}: shapes {sa} and {sb} do not broadcast (NumPy rules: "
                                 "trailing axes must be equal or 1)")


def _binary(fn, name, a, b):
    _check_operands(name, a, b)
    _broadcast_check(name, a, b)
    return fn.apply(a, b)


def add(a, b):
    """a + b with broadcasting."""
    return _binary(Add, "add", a, b)


def sub(a, b):
    """a - b with broadcasting."""
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """a * b with broadcasting."""
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """a / b with broadcasting."""
    return _binary(Div, "div", a, b)


def neg(a):
    """-a: the ``Neg`` op."""
    return Neg.apply(a)


def pow(a, exponent):
    """a ** exponent for a constant Python number exponent."""
    if not isinstance(exponent, (int, float)):
        raise TypeError(f"pow: the exponent must be a Python number, got {type(exponent).__name__}; "
                        "for a tensor exponent write exp(b * log(a))")
    return Pow.apply(a, exponent)


def rpow(base, a):
    """base ** a for a constant positive number base, as exp(a * log(base))."""
    from .elementwise import exp

    return exp(a * math.log(base))


def matmul(a, b):
    """a @ b, NumPy's matmul semantics."""
    _check_operands("matmul", a, b)
    sa, sb = _shape(getattr(a, "data", a)), _shape(getattr(b, "data", b))
    if not sa or not sb:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ValueError(f"matmul: inner dimensions differ: {sa} @ {sb} (Expect: a.shape[-1] == "
                         f"b.shape[-2], Actual: {ka} != {kb})")
    return MatMul.apply(a, b)

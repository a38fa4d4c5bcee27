"""Elementwise exp and log."""
from ..autograd import Function
from ..backend import get_array_module


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


def exp(x):
    """e ** x elementwise: the ``Exp`` op."""
    return Exp.apply(x)


def log(x):
    """The natural logarithm elementwise: the ``Log`` op."""
    return Log.apply(x)

"""Activations: ReLU, sigmoid, tanh, and softmax / log-softmax along an axis."""
from ..autograd import Function
from ..backend import get_array_module


class ReLU(Function):
    """y = max(x, 0).   dx = G * (x > 0).

    At the kink x = 0 the derivative is taken as 0, as in PyTorch. ``y > 0`` is the same mask
    as ``x > 0``, so only the output is saved.
    """

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (y > 0)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)).   dx = G * y * (1 - y).

    Computed from e = exp(-|x|), which never overflows: y = 1/(1+e) for x >= 0 and e/(1+e)
    for x < 0.
    """

    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))
        y = xp.where(x >= 0, 1, e) / (1 + e)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y * (1 - y)


class Tanh(Function):
    """y = tanh(x).   dx = G * (1 - y**2)."""

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (1 - y * y)


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along ``axis``.

    dx = y * (G - sum(G * y, axis))   (the Jacobian diag(y) - y y^T applied to G).
    Subtracting the max changes nothing mathematically and keeps exp from overflowing.
    """

    @staticmethod
    def forward(ctx, x, axis):
        e = get_array_module(x).exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))) along ``axis`` (log-sum-exp, stable).

    dx = G - softmax(x) * sum(G, axis),  with softmax(x) = exp(y).
    """

    @staticmethod
    def forward(ctx, x, axis):
        xp = get_array_module(x)
        s = x - x.max(axis=axis, keepdims=True)
        y = s - xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        xp = get_array_module(y)
        return grad_output - xp.exp(y) * grad_output.sum(axis=ctx.axis, keepdims=True), None


def relu(x):
    """max(x, 0) elementwise: the ``ReLU`` op."""
    return ReLU.apply(x)


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise: the ``Sigmoid`` op."""
    return Sigmoid.apply(x)


def tanh(x):
    """tanh(x) elementwise: the ``Tanh`` op."""
    return Tanh.apply(x)


def softmax(x, dim=-1):
    """exp(x) / sum(exp(x)) along ``dim``, stable: the ``Softmax`` op."""
    return Softmax.apply(x, dim)


def log_softmax(x, dim=-1):
    """x - log(sum(exp(x))) along ``dim``, by log-sum-exp: the ``LogSoftmax`` op."""
    return LogSoftmax.apply(x, dim)

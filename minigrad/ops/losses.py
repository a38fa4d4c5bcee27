"""Loss functions, each fused into one op with a short, stable backward.

``reduction`` is 'mean' (the default), 'sum' or 'none', as in PyTorch. With 'mean' the 1/n
lives here, in the loss: every gradient flowing back into the network is already divided by n.
"""
from ..autograd import Function
from ..backend import get_array_module


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.sum() / losses.size  # = losses.mean(), without NumPy's slower Python wrapper
    if reduction == "sum":
        return losses.sum()
    return losses


def _upstream(grad_output, reduction, n, shape):
    """The upstream gradient for each element: G/n for 'mean', G for 'sum', G_i for 'none'."""
    if reduction == "mean":
        return grad_output / n
    if reduction == "sum":
        return grad_output
    return grad_output.reshape(shape)


class SoftmaxCrossEntropy(Function):
    """Softmax followed by negative log-likelihood, fused (``nn.CrossEntropyLoss``).

    Shapes: logits Z (n, C), labels y (n,) integers in [0, C).
        loss_i = logsumexp(Z_i) - Z_i[y_i],  logsumexp(z) = m + log(sum(exp(z - m))), m = max(z)
        dZ = (softmax(Z) - onehot(y)) * G_i,  G_i = G / n for 'mean'
    Subtracting the row max m keeps exp from overflowing, so logits of +-1e4 give finite
    losses and gradients. The one-hot is never built: 1 is subtracted at the label positions.
    """

    @staticmethod
    def forward(ctx, z, y, reduction):
        xp = get_array_module(z)
        rows = xp.arange(z.shape[0])
        s = z - z.max(axis=1, keepdims=True)
        e = xp.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        losses = xp.log(sum_e[:, 0]) - s[rows, y]
        ctx.save_for_backward(e / sum_e, y)
        ctx.reduction, ctx.rows = reduction, rows
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        p, y = ctx.saved_tensors
        n = p.shape[0]
        g = _upstream(grad_output, ctx.reduction, n, (n, 1))
        dz = p * g  # softmax * G_i, then subtract G_i at the labels: (p - onehot) * G_i
        dz[ctx.rows, y] -= g if g.ndim < 2 else g[:, 0]
        return dz, None, None


class BinaryCrossEntropy(Function):
    """Binary cross-entropy on probabilities p in [0, 1] (``nn.BCELoss``).

        loss = -(y * log(p) + (1 - y) * log(1 - p)),  each log clamped at -100 as in PyTorch
        dp = (p - y) / max(p * (1 - p), 1e-12) * G_i,   dy = (log(1 - p) - log(p)) * G_i
    The clamp keeps p = 0 or 1 from giving an infinite loss; prefer BCEWithLogitsLoss, which
    never needs it.
    """

    @staticmethod
    def forward(ctx, p, y, reduction):
        xp = get_array_module(p)
        log_p = xp.maximum(xp.log(p), -100)
        log_1mp = xp.maximum(xp.log1p(-p), -100)
        ctx.save_for_backward(p, y, log_p, log_1mp)
        ctx.reduction = reduction
        return _reduce(-(y * log_p + (1 - y) * log_1mp), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        p, y, log_p, log_1mp = ctx.saved_tensors
        xp = get_array_module(p)
        g = _upstream(grad_output, ctx.reduction, p.size, p.shape)
        dp = (p - y) / xp.maximum(p * (1 - p), 1e-12) * g if ctx.needs_input_grad[0] else None
        dy = (log_1mp - log_p) * g if ctx.needs_input_grad[1] else None
        return dp, dy, None


class BCEWithLogits(Function):
    """Sigmoid followed by binary cross-entropy, fused and stable (``nn.BCEWithLogitsLoss``).

        loss = max(z, 0) - z * y + log1p(exp(-|z|))     (= -(y log s + (1-y) log(1-s)), s = sigmoid(z))
        dz = (sigmoid(z) - y) * G_i,   dy = -z * G_i
    exp only ever sees -|z| <= 0, so z = +-1e4 gives a finite loss and gradient.
    """

    @staticmethod
    def forward(ctx, z, y, reduction):
        xp = get_array_module(z)
        e = xp.exp(-xp.abs(z))
        ctx.save_for_backward(z, y, xp.where(z >= 0, 1, e) / (1 + e))
        ctx.reduction = reduction
        return _reduce(xp.maximum(z, 0) - z * y + xp.log1p(e), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        z, y, s = ctx.saved_tensors
        g = _upstream(grad_output, ctx.reduction, z.size, z.shape)
        dz = (s - y) * g if ctx.needs_input_grad[0] else None
        dy = -z * g if ctx.needs_input_grad[1] else None
        return dz, dy, None


class MSE(Function):
    """Mean squared error (``nn.MSELoss``).

        loss = (x - y) ** 2,   dx = 2 * (x - y) * G_i,   dy = -dx
    """

    @staticmethod
    def forward(ctx, x, y, reduction):
        d = x - y
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = 2 * d * _upstream(grad_output, ctx.reduction, d.size, d.shape)
        return (dx if ctx.needs_input_grad[0] else None), (-dx if ctx.needs_input_grad[1] else None), None

"""Layer normalisation over the last axes, with an optional elementwise affine."""
from ..autograd import Function
from ..backend import get_array_module


class LayerNorm(Function):
    """y = xhat * w + b,  xhat = (x - mean) / sqrt(var + eps), over the last ``ndim`` axes.

    Shapes: x and G (*) + normalized_shape, w and b normalized_shape (either may be None).
    mean and var (biased: divided by n, the number of normalised elements) are taken over the
    normalised axes, one pair per leading position; sigma = sqrt(var + eps).
        g  = G * w                                                  (g = G without a weight)
        dx = (g - mean(g) - xhat * mean(g * xhat)) / sigma          means over the normalised axes
        dw = sum(G * xhat),   db = sum(G)                           sums over the leading axes
    mean(g) is what shifting x moves (every xhat moves with the mean), mean(g * xhat) what
    scaling x moves (sigma scales with it); derivation in docs/ops/attention.md.
    """

    @staticmethod
    def forward(ctx, x, w, b, ndim, eps):
        xp = get_array_module(x)
        axes = tuple(range(x.ndim - ndim, x.ndim))
        xc = x - x.mean(axis=axes, keepdims=True)
        rstd = 1 / xp.sqrt((xc * xc).mean(axis=axes, keepdims=True) + eps)
        xhat = xc * rstd
        ctx.save_for_backward(xhat, rstd, w)
        ctx.axes = axes
        y = xhat if w is None else xhat * w
        return y if b is None else y + b

    @staticmethod
    def backward(ctx, grad_output):
        xhat, rstd, w = ctx.saved_tensors
        axes, (needs_x, needs_w, needs_b) = ctx.axes, ctx.needs_input_grad[:3]
        lead = tuple(range(xhat.ndim - len(axes)))
        dx = dw = db = None
        if needs_x:
            g = grad_output if w is None else grad_output * w
            dx = rstd * (g - g.mean(axis=axes, keepdims=True)
                         - xhat * (g * xhat).mean(axis=axes, keepdims=True))
        if needs_w:
            dw = (grad_output * xhat).sum(axis=lead)
        if needs_b:
            db = grad_output.sum(axis=lead)
        return dx, dw, db, None, None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise ``input`` over its last ``len(normalized_shape)`` axes. See ``LayerNorm``."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or tuple(input.shape[-len(shape):]) != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: normalized_shape {shape} must be the last axes of the input, "
                         f"but the input has shape {tuple(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ValueError(f"layer_norm: {name} has shape {tuple(p.shape)} but normalized_shape is "
                             f"{shape}; they must be equal")
    return LayerNorm.apply(input, weight, bias, len(shape), eps)

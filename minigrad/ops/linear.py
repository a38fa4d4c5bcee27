"""The fused linear layer, the hot path of every MLP."""
from ..autograd import Function
from ..backend import get_array_module
from .dtypes import check_same_dtype


class Linear(Function):
    """Z = X @ W + b, with W stored as (in, out) so that the code reads like the course.

    Shapes: X (n, in), W (in, out), b (out,), Z and G = dLoss/dZ (n, out).
        dX = G @ W.T        (n, out) @ (out, in) -> (n, in)
        dW = X.T @ G        (in, n) @ (n, out)   -> (in, out)
        db = G.sum(0)       b was broadcast over the n rows, so its gradient sums them

    The textbook writes dW = X.T @ DZ / n, with DZ the per-example gradient. Here the mean
    loss already divided by n when it produced G (G = DZ / n), so the layer must not divide
    again. X may have extra leading axes (*, in); they are flattened into n.
    dX is skipped when X needs no gradient (the input batch), saving a matrix product.
    dW is computed with ``xp.dot``: for one example (n = 1) X.T @ G is an outer product, which
    NumPy's ``@`` runs in a slow loop outside BLAS (7 times slower than ``dot`` here, measured in
    benchmarks/); ``dot`` calls BLAS and is as fast as ``@`` for every other n.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        # (*, in) folded to (n, in): NumPy runs (12, 64, 128) @ (128, 512) as 12 small products,
        # 20-35% slower than one (768, 128) @ (128, 512) (docs/benchmarks.md, the GPT's step)
        z = x.reshape(-1, x.shape[-1]) @ w if x.ndim > 2 else x @ w
        if b is not None:
            z += b  # z is a fresh array: adding in place saves a copy of the activations
        return z.reshape(*x.shape[:-1], w.shape[1]) if x.ndim > 2 else z

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        xp = get_array_module(x)
        needs_x, needs_w, needs_b = ctx.needs_input_grad
        g = grad_output
        shape = x.shape
        if x.ndim > 2:  # (*, in): fold the leading axes into the batch
            x, g = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
        dx = g @ w.T if needs_x else None
        if dx is not None and len(shape) > 2:
            # unfold only what was folded: reshaping (n, in) to itself gives a view, which the
            # engine must copy before keeping it as a leaf's .grad (200 KB at batch 64, MNIST)
            dx = dx.reshape(shape)
        dw = xp.dot(x.T, g) if needs_w else None  # X.T @ G, see the docstring
        db = g.sum(0) if needs_b else None
        return dx, dw, db


def linear(x, weight, bias=None):
    """Z = x @ weight + bias, weight of shape (in, out). See ``Linear``.

    x, weight and bias must share one dtype: as in PyTorch, a matrix product does not promote.
    """
    if x.shape[-1] != weight.shape[0]:
        raise ValueError(f"linear: input has {x.shape[-1]} features but the weight expects "
                         f"{weight.shape[0]} (Expect: x.shape[-1] == weight.shape[0], Actual: "
                         f"{x.shape[-1]} != {weight.shape[0]}; x is {x.shape}, weight is {weight.shape})")
    check_same_dtype("linear", x, weight, bias)
    return Linear.apply(x, weight, bias)

# Worked answers to the exercises of notebook 03. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 3.1
class MyLinear(minigrad.Function):
    """Z = X @ W + b.  X (n, in), W (in, out), b (out,); grad_output G is (n, out)."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        dx = grad_output @ w.T     # (n, out) @ (out, in) -> (n, in)
        dw = x.T @ grad_output     # (in, n) @ (n, out) -> (in, out); G already holds the loss's 1/n
        db = grad_output.sum(axis=0)  # b was added to every row
        return dx, dw, db


# %% Exercise 3.2
def sum_back(g, shape):
    """g summed down to shape: over the axes broadcasting added in front, and over the axes
    where shape has size 1 (kept, with keepdims)."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


class BiasAdd(minigrad.Function):
    """c = a + b, with NumPy broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        return sum_back(grad_output, ctx.a_shape), sum_back(grad_output, ctx.b_shape)


# %% Exercise 3.3
shapes = {
    "Z": (2, 5, 3),
    "G": (2, 5, 3),
    "dX": (2, 5, 4),
    "dW": (4, 3),
    "db": (3,),
}

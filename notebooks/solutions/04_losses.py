# Worked answers to the exercises of notebook 04. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 4.1
class MyBCE(minigrad.Function):
    """L = mean(max(z, 0) - z * y + log(1 + exp(-|z|))) over the elements of z; y is 0 or 1."""

    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        s = 1 / (1 + np.exp(-z))
        return (s - y) / z.size * grad_output, None  # the mean's 1/n, then the chain rule


# %% Exercise 4.2
class MyHuber(minigrad.Function):
    """L = mean(huber(x - y)) with delta = 1, over the elements of x."""

    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = np.clip(d, -1, 1) / d.size * grad_output  # d inside, delta * sign(d) outside
        return dx, -dx  # d = x - y: y enters with a minus sign


# %% Exercise 4.3
grad = [[-0.25, 0.25], [0.375, -0.375]]  # P = [[1/2, 1/2], [3/4, 1/4]], (P - Y) / n with n = 2

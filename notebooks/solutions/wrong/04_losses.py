# Wrong answers to the exercises of notebook 04, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 4.1 | so divide by n
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (1 / (1 + np.exp(-z)) - y) * grad_output, None


# %% Exercise 4.1 | the loss is a mean over the n elements
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (1 / (1 + np.exp(-z)) - y) / len(z) * grad_output, None  # len: the first axis only


# %% Exercise 4.1 | is the sigmoid's own derivative
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        s = 1 / (1 + np.exp(-z))
        return s * (1 - s) / z.size * grad_output, None


# %% Exercise 4.1 | not the logit z
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (z - y) / z.size * grad_output, None


# %% Exercise 4.1 | the sign is flipped
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (y - 1 / (1 + np.exp(-z))) / z.size * grad_output, None


# %% Exercise 4.1 | multiplies it by grad_output
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (1 / (1 + np.exp(-z)) - y) / z.size, None


# %% Exercise 4.1 | returned 1 gradients for 2 inputs
class MyBCE(minigrad.Function):
    @staticmethod
    def forward(ctx, z, y):
        ctx.save_for_backward(z, y)
        return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()

    @staticmethod
    def backward(ctx, grad_output):
        z, y = ctx.saved_tensors
        return (1 / (1 + np.exp(-z)) - y) / z.size * grad_output


# %% Exercise 4.2 | clip d to [-delta, delta]
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = d / d.size * grad_output
        return dx, -dx


# %% Exercise 4.2 | the absolute error's gradient everywhere
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = np.sign(d) / d.size * grad_output
        return dx, -dx


# %% Exercise 4.2 | the 0.5 cancels the 2
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = np.where(np.abs(d) < 1, 2 * d, 2 * np.sign(d)) / d.size * grad_output
        return dx, -dx


# %% Exercise 4.2 | -delta where d < -delta
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = np.where(np.abs(d) < 1, d, 1.0) / d.size * grad_output  # the slope of |d| - 0.5 is 1, it seems
        return dx, -dx


# %% Exercise 4.2 | the sign is flipped
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = np.clip(d, -1, 1) / d.size * grad_output
        return dx, dx


# %% Exercise 4.2 | gave no gradient for y
class MyHuber(minigrad.Function):
    @staticmethod
    def forward(ctx, x, y):
        d = x - y
        ctx.save_for_backward(d)
        return np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5).mean()

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        return np.clip(d, -1, 1) / d.size * grad_output, None  # y is the target: no gradient, it seems


# %% Exercise 4.3 | divides it by 2
grad = [[-0.5, 0.5], [0.75, -0.75]]

# %% Exercise 4.3 | P - Y, not Y - P
grad = [[0.25, -0.25], [-0.375, 0.375]]

# %% Exercise 4.3 | subtract the one-hot label
grad = [[0.25, 0.25], [0.375, 0.125]]

# Wrong answers to the exercises of notebook 03, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 3.1 | the layer must not divide again
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        n = x.shape[0]
        return grad_output @ w.T, x.T @ grad_output / n, grad_output.sum(axis=0)


# %% Exercise 3.1 | dW = X.T @ G is (3, 2)
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.T, grad_output.T @ x, grad_output.sum(axis=0)


# %% Exercise 3.1 | a gradient of shape (1, 2) for an input of shape (2,)
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.T, x.T @ grad_output, grad_output


# %% Exercise 3.1 | the gradient of b is wrong
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.T, x.T @ grad_output, grad_output[0]  # right for a batch of one only


# %% Exercise 3.1 | a gradient of shape (12, 8)
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.T, np.outer(x, grad_output), grad_output.sum(axis=0)


# %% Exercise 3.1 | returned 2 gradients for 3 inputs
class MyLinear(minigrad.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return x.T @ grad_output, grad_output.sum(axis=0)  # x is the data: no gradient, it seems


# %% Exercise 3.2 | for an input of shape (2,)
class BiasAdd(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output


# %% Exercise 3.2 | a is (2, 3) and b is (2, 1)
class BiasAdd(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, grad_output.sum(axis=0)  # the bias case only


# %% Exercise 3.2 | a gradient of shape (2, 3) for an input of shape (2, 1)
class BiasAdd(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        def back(shape):  # the axes in front only: the size-1 axes are forgotten
            return grad_output.sum(axis=tuple(range(grad_output.ndim - len(shape))))
        return back(ctx.a_shape), back(ctx.b_shape)


# %% Exercise 3.2 | this is the mean over the broadcast axes
class BiasAdd(minigrad.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.a_shape, ctx.b_shape = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, grad_output):
        def back(shape):
            g = grad_output.mean(axis=tuple(range(grad_output.ndim - len(shape))))
            return g.mean(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
        return back(ctx.a_shape), back(ctx.b_shape)


# %% Exercise 3.3 | the leading axes stay
shapes = {"Z": (10, 3), "G": (10, 3), "dX": (10, 4), "dW": (4, 3), "db": (3,)}

# %% Exercise 3.3 | db sums G over both leading axes
shapes = {"Z": (2, 5, 3), "G": (2, 5, 3), "dX": (2, 5, 4), "dW": (4, 3), "db": (5, 3)}

# %% Exercise 3.3 | X.T @ G sums over all 10
shapes = {"Z": (2, 5, 3), "G": (2, 5, 3), "dX": (2, 5, 4), "dW": (2, 4, 3), "db": (3,)}

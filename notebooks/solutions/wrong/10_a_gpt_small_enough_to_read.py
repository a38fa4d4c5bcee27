# Wrong answers to the exercises of notebook 10, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 10.1 | the Jacobian's diagonal alone
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along the last axis; x, y and G of shape (..., n)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (1 - y) * grad_output


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.1 | must keep its axis (keepdims=True)
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along the last axis; x, y and G of shape (..., n)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(axis=-1))


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.1 | multiply by Y
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along the last axis; x, y and G of shape (..., n)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output - (grad_output * y).sum(axis=-1, keepdims=True)


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.1 | the sum is weighted by Y
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along the last axis; x, y and G of shape (..., n)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - grad_output.sum(axis=-1, keepdims=True))


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.1 | not over the rows
class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along the last axis; x, y and G of shape (..., n)."""

    @staticmethod
    def forward(ctx, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(axis=0, keepdims=True))


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.2 | the future leaked
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    return scores.softmax(-1) @ v


# %% Exercise 10.2 | the future leaked
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    past = minigrad.tril(minigrad.ones(T, T, dtype=minigrad.bool_))  # True where allowed (attn_mask's convention)
    return scores.masked_fill(past, float("-inf")).softmax(-1) @ v


# %% Exercise 10.2 | Each position sees itself
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    future = minigrad.triu(minigrad.ones(T, T, dtype=minigrad.bool_))
    return scores.masked_fill(future, float("-inf")).softmax(-1) @ v


# %% Exercise 10.2 | the future leaked
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    future = minigrad.triu(minigrad.ones(T, T, dtype=minigrad.bool_), 1)
    return scores.masked_fill(future, float("-inf")).softmax(-2) @ v  # normalised over the queries


# %% Exercise 10.2 | the scores are not scaled
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    future = minigrad.triu(minigrad.ones(T, T, dtype=minigrad.bool_), 1)
    return (q @ k.transpose(-2, -1)).masked_fill(future, float("-inf")).softmax(-1) @ v


# %% Exercise 10.2 | not by d
def causal_attention(q, k, v):
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / d
    future = minigrad.triu(minigrad.ones(T, T, dtype=minigrad.bool_), 1)
    return scores.masked_fill(future, float("-inf")).softmax(-1) @ v


# %% Exercise 10.3 | each head is a batch of its own
shapes = {
    "x": (2, 6, 32),
    "qkv": (2, 6, 96),
    "q": (2, 6, 4, 8),
    "scores": (2, 4, 6, 6),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 12 * 32 * 32 + 2 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights


# %% Exercise 10.3 | one score per query and key
shapes = {
    "x": (2, 6, 32),
    "qkv": (2, 6, 96),
    "q": (2, 4, 6, 8),
    "scores": (2, 4, 8, 8),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 12 * 32 * 32 + 2 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights


# %% Exercise 10.3 | the queries, keys and values side by side
shapes = {
    "x": (2, 6, 32),
    "qkv": (3, 2, 6, 32),
    "q": (2, 4, 6, 8),
    "scores": (2, 4, 6, 6),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 12 * 32 * 32 + 2 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights


# %% Exercise 10.3 | the two LayerNorms have a weight
shapes = {
    "x": (2, 6, 32),
    "qkv": (2, 6, 96),
    "q": (2, 4, 6, 8),
    "scores": (2, 4, 6, 6),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 12 * 32 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights


# %% Exercise 10.3 | the Linear layers of this block have no biases
shapes = {
    "x": (2, 6, 32),
    "qkv": (2, 6, 96),
    "q": (2, 4, 6, 8),
    "scores": (2, 4, 6, 6),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 12 * 32 * 32 + 11 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights


# %% Exercise 10.3 | the MLP has two matrices
shapes = {
    "x": (2, 6, 32),
    "qkv": (2, 6, 96),
    "q": (2, 4, 6, 8),
    "scores": (2, 4, 6, 6),
    "y_heads": (2, 4, 6, 8),
    "y": (2, 6, 32),
    "mlp_hidden": (2, 6, 128),
    "out": (2, 6, 32),
}
block_parameters = 8 * 32 * 32 + 2 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights

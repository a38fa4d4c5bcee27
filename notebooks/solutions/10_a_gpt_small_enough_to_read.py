# Worked answers to the exercises of notebook 10. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 10.1
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
        # J^T G with J = diag(y) - y y^T, row by row: y * G - y * (y . G)
        return y * (grad_output - (grad_output * y).sum(axis=-1, keepdims=True))


def softmax(x):
    return Softmax.apply(x)


# %% Exercise 10.2
def causal_attention(q, k, v):
    """softmax(q @ k^T / sqrt(d) + mask) @ v: q, k (..., T, d), v (..., T, dv) -> (..., T, dv),
    where position i sees positions 0..i only."""
    T, d = q.shape[-2], q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)                       # (..., T, T)
    future = minigrad.triu(minigrad.ones(T, T, dtype=minigrad.bool_), 1)   # True where key j > query i
    weights = scores.masked_fill(future, float("-inf")).softmax(-1)        # each row sums to 1 over 0..i
    return weights @ v


# %% Exercise 10.3
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
block_parameters = 12 * 32 * 32 + 2 * 32  # c_attn 3d^2, attn.c_proj d^2, the MLP 8d^2, two LayerNorm weights

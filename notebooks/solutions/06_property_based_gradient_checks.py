# Worked answers to the exercises of notebook 06. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 6.1
class MaxOverDim(Function):
    """y = x.max(axis=dim), the axis dropped.   dx = G at the maximum of each slice, 0 elsewhere."""

    @staticmethod
    def forward(ctx, x, dim):
        y = x.max(axis=dim, keepdims=True)
        ctx.save_for_backward(x == y)
        ctx.dim = dim
        return y.squeeze(axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        # G has one value per slice: give the reduced axis back so it lines up with x
        return mask * xp.expand_dims(grad_output, ctx.dim), None


# %% Exercise 6.2
def test_backward(op):
    """Raise if op(a, b)'s backward disagrees with central differences on some input."""
    # broadcastable shapes (sum_to), values of both signs in [-3, 3], and gradcheck's random
    # upstream gradient: each catches a bug the others miss
    @settings(max_examples=40, deadline=None, database=None)
    @given(st.broadcastable_tensors(num_shapes=2))
    def check(ab):
        assert minigrad.gradcheck(op, list(ab))

    check()


# %% Exercise 6.3
class Take(Function):
    """y = x[idx] for a 1-D x and an integer array idx.
    dx = zeros(x.shape), with G[k] added at idx[k] for every k."""

    @staticmethod
    def forward(ctx, x, idx):
        ctx.save_for_backward(idx)
        ctx.shape = x.shape
        return x[idx]

    @staticmethod
    def backward(ctx, grad_output):
        (idx,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        dx = xp.zeros(ctx.shape, dtype=grad_output.dtype)
        xp.add.at(dx, idx, grad_output)  # unbuffered: an index named twice gets both gradients
        return dx, None

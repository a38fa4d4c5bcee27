# Wrong answers to the exercises of notebook 06, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 6.1 | broadcast along the wrong one
class MaxOverDim(Function):
    @staticmethod
    def forward(ctx, x, dim):
        y = x.max(axis=dim, keepdims=True)
        ctx.save_for_backward(x == y)
        ctx.dim = dim
        return y.squeeze(axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return mask * grad_output, None


# %% Exercise 6.1 | only the largest element of each slice
class MaxOverDim(Function):
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
        return xp.broadcast_to(xp.expand_dims(grad_output, ctx.dim), mask.shape).copy(), None


# %% Exercise 6.1 | that is the mask alone
class MaxOverDim(Function):
    @staticmethod
    def forward(ctx, x, dim):
        y = x.max(axis=dim, keepdims=True)
        ctx.save_for_backward(x == y)
        ctx.dim = dim
        return y.squeeze(axis=dim)

    @staticmethod
    def backward(ctx, grad_output):
        (mask,) = ctx.saved_tensors
        return mask.astype(grad_output.dtype), None


# %% Exercise 6.1 | returned 1 gradients for 2 inputs
class MaxOverDim(Function):
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
        return mask * xp.expand_dims(grad_output, ctx.dim)


# %% Exercise 6.2 | whose backward forgets sum_to
def test_backward(op):
    @settings(max_examples=40, deadline=None, database=None)
    @given(st.tensors(shape=(2, 3)), st.tensors(shape=(2, 3)))
    def check(a, b):
        assert minigrad.gradcheck(op, [a, b])

    check()


# %% Exercise 6.2 | it is right where a > 0
def test_backward(op):
    @settings(max_examples=40, deadline=None, database=None)
    @given(st.broadcastable_tensors(num_shapes=2, low=0.1))
    def check(ab):
        assert minigrad.gradcheck(op, list(ab))

    check()


# %% Exercise 6.2 | right when the upstream gradient is all ones
def test_backward(op):
    from minigrad.gradcheck import numerical_gradients

    @settings(max_examples=40, deadline=None, database=None)
    @given(st.broadcastable_tensors(num_shapes=2))
    def check(ab):
        a, b = ab
        out = op(a, b)
        out.sum().backward()  # the upstream gradient is all ones
        expected = numerical_gradients(op, [a.detach().requires_grad_(), b.detach().requires_grad_()],
                                       np.ones(out.shape))
        np.testing.assert_allclose(a.grad.numpy(), expected[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b.grad.numpy(), expected[1], rtol=1e-4, atol=1e-6)

    check()


# %% Exercise 6.2 | your test fails on a correct op
def test_backward(op):
    @settings(max_examples=40, deadline=None, database=None)
    @given(st.broadcastable_tensors(num_shapes=2))
    def check(ab):
        a, b = (t.float() for t in ab)  # float32: central differences are too imprecise
        assert minigrad.gradcheck(op, [a, b])

    check()


# %% Exercise 6.3 | only one of its gradients arrived
class Take(Function):
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
        dx[idx] = grad_output
        return dx, None


# %% Exercise 6.3 | a gradient of shape
class Take(Function):
    @staticmethod
    def forward(ctx, x, idx):
        ctx.save_for_backward(idx)
        ctx.shape = x.shape
        return x[idx]

    @staticmethod
    def backward(ctx, grad_output):
        (idx,) = ctx.saved_tensors
        return grad_output[idx], None

# Worked answers to the exercises of notebook 02. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 2.1
def topological_order(root):
    """Every value reachable from root through _prev, each once, each after the values it was made from."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        v, inputs_done = stack.pop()
        if inputs_done:
            order.append(v)  # everything v was made from is in the order already
        elif v not in visited:
            visited.add(v)
            stack.append((v, True))  # back on the stack, under its inputs: appended after them
            stack.extend((child, False) for child in v._prev)
    return order


# %% Exercise 2.2
def mul_backward(a, b, out):
    """Add d(out)/da * out.grad into a.grad, and d(out)/db * out.grad into b.grad."""
    a.grad += b.data * out.grad  # d(ab)/da = b; += keeps what other uses of a sent
    b.grad += a.data * out.grad  # for x * x both lines add to x.grad: 2 x out.grad


# %% Exercise 2.3
accumulates = {"a", "b", "d"}  # a: in c and d; b: in c and f; d: twice in e = d * d
grad_a = 16.0   # 2d (b + 1) with d = ab + a = -4, b + 1 = -2
grad_b = -15.0  # 2d a + 1: through c, and directly through f = e + b


# %% Exercise 2.4
class Sigmoid(Function):
    """s = 1 / (1 + exp(-x)) elementwise.   dx = G * s * (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)  # the output: the derivative is written with s alone
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s * (1 - s)

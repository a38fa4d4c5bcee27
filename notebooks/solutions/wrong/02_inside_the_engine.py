# Wrong answers to the exercises of notebook 02, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 2.1 | keep the nodes still to finish on a list used as a stack
def topological_order(root):
    order, visited = [], set()

    def visit(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                visit(child)
            order.append(v)
    visit(root)
    return order


# %% Exercise 2.1 | comes before its input
def topological_order(root):
    order, visited, stack = [], set(), [root]
    while stack:
        v = stack.pop()
        if v not in visited:
            visited.add(v)
            order.append(v)
            stack.extend(v._prev)
    return order[::-1]


# %% Exercise 2.1 | Keep a set of the nodes already visited
def topological_order(root):
    order, stack = [], [(root, False)]
    while stack:
        v, inputs_done = stack.pop()
        if inputs_done:
            order.append(v)
        else:
            stack.append((v, True))
            stack.extend((child, False) for child in v._prev)
    return order


# %% Exercise 2.1 | starts at the root
def topological_order(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        v, inputs_done = stack.pop()
        if inputs_done:
            order.insert(0, v)
        elif v not in visited:
            visited.add(v)
            stack.append((v, True))
            stack.extend((child, False) for child in v._prev)
    return order


# %% Exercise 2.1 | missing from your order
def topological_order(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        v, inputs_done = stack.pop()
        if inputs_done:
            if v._prev:  # a leaf has no backward to run, so it seems not to matter
                order.append(v)
        elif v not in visited:
            visited.add(v)
            stack.append((v, True))
            stack.extend((child, False) for child in v._prev)
    return order


# %% Exercise 2.2 | Use +=
def mul_backward(a, b, out):
    a.grad = b.data * out.grad
    b.grad = a.data * out.grad


# %% Exercise 2.2 | is the other input's data
def mul_backward(a, b, out):
    a.grad += a.data * out.grad
    b.grad += b.data * out.grad


# %% Exercise 2.2 | multiplies it by out.grad
def mul_backward(a, b, out):
    a.grad += b.data
    b.grad += a.data


# %% Exercise 2.3 | d is missing from accumulates
accumulates = {"a", "b"}
grad_a = 16.0
grad_b = -15.0

# %% Exercise 2.3 | c should not be in accumulates
accumulates = {"a", "b", "c", "d"}
grad_a = 16.0
grad_b = -15.0

# %% Exercise 2.3 | dd/da = b + 1, not b
accumulates = {"a", "b", "d"}
grad_a = 24.0
grad_b = -15.0

# %% Exercise 2.3 | e = d * d uses d twice
accumulates = {"a", "b", "d"}
grad_a = 8.0
grad_b = -15.0

# %% Exercise 2.3 | b also reaches f directly
accumulates = {"a", "b", "d"}
grad_a = 16.0
grad_b = -16.0


# %% Exercise 2.4 | x * (1 - x) uses the input
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x * (1 - x)


# %% Exercise 2.4 | the chain rule multiplies it by grad_output
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return s * (1 - s)


# %% Exercise 2.4 | the factor (1 - s) is missing
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s


# %% Exercise 2.4 | Sigmoid's forward is wrong
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 - np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s * (1 - s)


# %% Exercise 2.4 | Sigmoid's backward raised AttributeError
class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.s = s
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved
        return grad_output * s * (1 - s)

# Wrong answers to the exercises of notebook 08, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 8.1 | only the weights were counted
def mlp_parameters(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:]))


# %% Exercise 8.1 | one bias per input was counted
def mlp_parameters(sizes):
    return sum(a * b + a for a, b in zip(sizes, sizes[1:]))


# %% Exercise 8.1 | counts a bias for the inputs too
def mlp_parameters(sizes):
    return sum((a + 1) * (b + 1) for a, b in zip(sizes, sizes[1:]))


# %% Exercise 8.1 | raised IndexError
def mlp_parameters(sizes):
    return sizes[0] * sizes[1] + sizes[1] + sizes[1] * sizes[2] + sizes[2]  # only for two layers


# %% Exercise 8.2 | frozen parameters were counted
def count_trainable(model):
    return sum(p.numel() for p in model.parameters())


# %% Exercise 8.2 | the shared weight was counted twice
def count_trainable(model):
    return sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False) if p.requires_grad)


# %% Exercise 8.2 | the number of parameter tensors
def count_trainable(model):
    return len([p for p in model.parameters() if p.requires_grad])

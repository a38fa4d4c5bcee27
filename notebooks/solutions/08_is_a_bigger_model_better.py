# Worked answers to the exercises of notebook 08. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 8.1
def mlp_parameters(sizes):
    """The number of parameters of the MLP with layer sizes sizes, e.g. [784, 100, 10]."""
    # a layer a -> b: a * b weights and b biases, one per output unit
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


# %% Exercise 8.2
def count_trainable(model):
    """The number of elements of model's distinct parameters that require a gradient."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

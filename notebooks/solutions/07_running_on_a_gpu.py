# Worked answers to the exercises of notebook 07. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 7.1
def one_hot(labels, num_classes):
    """(n,) integer labels -> (n, num_classes) float32 array, on the labels' device."""
    xp = get_array_module(labels)  # numpy for NumPy labels, cupy for CuPy labels
    out = xp.zeros((len(labels), num_classes), dtype=xp.float32)
    out[xp.arange(len(labels)), labels] = 1.0
    return out


# %% Exercise 7.2
predictions = {
    "x + d": ("cpu", "float64"),        # d kept the NumPy array's float64; float32 + float64 -> float64
    "x * 2.5": ("cpu", "float32"),      # a Python number does not change the dtype
    "i / 2": ("cpu", "float32"),        # true division gives the default float dtype
    "x + minigrad.tensor(2.0, dtype=minigrad.float64)": ("cpu", "float32"),  # a 0-d tensor does not promote
    "g * 2.0": ("cuda", "float32"),
    "g + x": "error",                   # no silent copies between devices
    "g + d.to('cuda')": ("cuda", "float64"),
}

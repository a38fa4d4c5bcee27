# Wrong answers to the exercises of notebook 07, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 7.1 | Implicit conversion to a NumPy array is not allowed
def one_hot(labels, num_classes):
    xp = get_array_module(labels)
    out = np.zeros((len(labels), num_classes), dtype=np.float32)
    out[xp.arange(len(labels)), labels] = 1.0
    return out


# %% Exercise 7.1 | returned a NumPy array, in host memory
def one_hot(labels, num_classes):
    if not isinstance(labels, np.ndarray):
        labels = labels.get()  # to the host, where NumPy works
    return np.eye(num_classes, dtype=np.float32)[labels]


# %% Exercise 7.1 | a NumPy array in host memory met an array on the GPU
def one_hot(labels, num_classes):
    return (labels[:, None] == np.arange(num_classes)).astype(np.float32)


# %% Exercise 7.1 | expected float32
def one_hot(labels, num_classes):
    xp = get_array_module(labels)
    return xp.eye(num_classes)[labels]


# %% Exercise 7.2 | keeps the array's dtype
predictions = {"x + d": ("cpu", "float32"), "x * 2.5": ("cpu", "float32"), "i / 2": ("cpu", "float32"),
               "x + minigrad.tensor(2.0, dtype=minigrad.float64)": ("cpu", "float32"),
               "g * 2.0": ("cuda", "float32"), "g + x": "error", "g + d.to('cuda')": ("cuda", "float64")}

# %% Exercise 7.2 | NumPy would give float64
predictions = {"x + d": ("cpu", "float64"), "x * 2.5": ("cpu", "float32"), "i / 2": ("cpu", "float64"),
               "x + minigrad.tensor(2.0, dtype=minigrad.float64)": ("cpu", "float32"),
               "g * 2.0": ("cuda", "float32"), "g + x": "error", "g + d.to('cuda')": ("cuda", "float64")}

# %% Exercise 7.2 | a 0-d tensor does not promote
predictions = {"x + d": ("cpu", "float64"), "x * 2.5": ("cpu", "float32"), "i / 2": ("cpu", "float32"),
               "x + minigrad.tensor(2.0, dtype=minigrad.float64)": ("cpu", "float64"),
               "g * 2.0": ("cuda", "float32"), "g + x": "error", "g + d.to('cuda')": ("cuda", "float64")}

# %% Exercise 7.2 | never copies between devices behind your back
predictions = {"x + d": ("cpu", "float64"), "x * 2.5": ("cpu", "float32"), "i / 2": ("cpu", "float32"),
               "x + minigrad.tensor(2.0, dtype=minigrad.float64)": ("cpu", "float32"),
               "g * 2.0": ("cuda", "float32"), "g + x": ("cuda", "float32"), "g + d.to('cuda')": ("cuda", "float64")}

# %% Exercise 7.2 | answer a (device, dtype) pair
predictions = {"x + d": "float64", "x * 2.5": "float32", "i / 2": "float32",
               "x + minigrad.tensor(2.0, dtype=minigrad.float64)": "float32",
               "g * 2.0": "float32", "g + x": "error", "g + d.to('cuda')": "float64"}

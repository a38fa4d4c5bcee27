# Worked answers to the exercises of notebook 01. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 1.1
def sigmoid_prime(x):
    """ds/dx at every element of the NumPy array x."""
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s)  # d/dx (1 + e^-x)^-1 = e^-x / (1 + e^-x)^2 = s (1 - s)


# %% Exercise 1.2
def dy_dx(x):
    """The derivative of exp(sin(3x)) at every element of the NumPy array x."""
    u = 3 * x
    v = np.sin(u)
    return np.exp(v) * np.cos(u) * 3  # dy/dv * dv/du * du/dx


# %% Exercise 1.3
shapes = {
    "G_Yhat": (8, 3),
    "G_W2": (5, 3),
    "G_b2": (3,),
    "G_H": (8, 5),
    "G_Z1": (8, 5),
    "G_W1": (4, 5),
    "G_b1": (5,),
}

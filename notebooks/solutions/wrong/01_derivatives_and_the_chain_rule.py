# Wrong answers to the exercises of notebook 01, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 1.1 | x * (1 - x) applies the formula to x
def sigmoid_prime(x):
    return x * (1 - x)


# %% Exercise 1.1 | that is s(x) itself
def sigmoid_prime(x):
    return 1 / (1 + np.exp(-x))


# %% Exercise 1.1 | raised FloatingPointError
def sigmoid_prime(x):
    with np.errstate(all="raise"):
        return np.exp(-x) / (1 + np.exp(-x)) ** 2 / np.sign(x) ** 2


# %% Exercise 1.2 | the derivative of the innermost function
def dy_dx(x):
    return np.exp(np.sin(3 * x)) * np.cos(3 * x)


# %% Exercise 1.2 | not nested
def dy_dx(x):
    return np.exp(np.cos(3 * x)) * 3


# %% Exercise 1.3 | W1 is (4, 5)
shapes = {"G_Yhat": (8, 3), "G_W2": (5, 3), "G_b2": (3,), "G_H": (8, 5), "G_Z1": (8, 5),
          "G_W1": (5, 4), "G_b1": (5,)}

# %% Exercise 1.3 | sums G_Yhat over the n examples
shapes = {"G_Yhat": (8, 3), "G_W2": (5, 3), "G_b2": (8, 3), "G_H": (8, 5), "G_Z1": (8, 5),
          "G_W1": (4, 5), "G_b1": (5,)}

# Worked answers to the exercises of notebook 12. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 12.1
def kaiming_std(fan_in):
    """The std of a ReLU layer's weights that keeps the signal's scale, for fan_in inputs."""
    # z symmetric around 0: h = max(z, 0) keeps half of it, so E[h^2] = Var(z) / 2, and
    # Var(z_next) = fan_in * Var(W) * Var(z) / 2 stays Var(z) when Var(W) = 2 / fan_in.
    return np.sqrt(2 / fan_in)


# %% Exercise 12.2
def momentum_step(p, grad, buf, lr, momentum):
    """One step of SGD with momentum; buf is None on the first step. Returns (new p, new buf)."""
    buf = grad.copy() if buf is None else momentum * buf + grad
    return p - lr * buf, buf


# %% Exercise 12.3
def adam_step(p, grad, m, v, t, lr):
    """One step of Adam at step t (from 1); m and v are zeros before the first step.
    Returns (new p, new m, new v)."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)  # at t = 1: grad itself
    v_hat = v / (1 - beta2 ** t)  # at t = 1: grad ** 2, so the step is lr * grad / (|grad| + eps)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v

# Wrong answers to the exercises of notebook 12, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 12.1 | that is the variance
def kaiming_std(fan_in):
    return 2 / fan_in


# %% Exercise 12.1 | ReLU sets half of its inputs to 0
def kaiming_std(fan_in):
    return 1 / np.sqrt(fan_in)


# %% Exercise 12.1 | not only the 2
def kaiming_std(fan_in):
    return np.sqrt(2) / fan_in


# %% Exercise 12.2 | with no (1 - momentum)
def momentum_step(p, grad, buf, lr, momentum):
    buf = np.zeros_like(grad) if buf is None else buf
    buf = momentum * buf + (1 - momentum) * grad
    return p - lr * buf, buf


# %% Exercise 12.2 | not the gradient
def momentum_step(p, grad, buf, lr, momentum):
    buf = grad if buf is None else momentum * buf + grad
    return p - lr * grad, buf


# %% Exercise 12.2 | return a tuple (new p, new buf)
def momentum_step(p, grad, buf, lr, momentum):
    buf = grad if buf is None else momentum * buf + grad
    p -= lr * buf
    return p


# %% Exercise 12.3 | no bias correction
def adam_step(p, grad, m, v, t, lr):
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    return p - lr * m / (np.sqrt(v) + eps), m, v


# %% Exercise 12.3 | eps is added after the square root
def adam_step(p, grad, m, v, t, lr):
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return p - lr * m_hat / np.sqrt(v_hat + eps), m, v


# %% Exercise 12.3 | v averages the squared gradient
def adam_step(p, grad, m, v, t, lr):
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(np.abs(v_hat)) + eps), m, v

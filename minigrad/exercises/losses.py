"""Checks for the exercises of notebook 4, losses: the backward of binary cross-entropy on
logits, the backward of a new loss (Huber's), and the value of a softmax cross-entropy gradient."""
from __future__ import annotations

import math

import numpy

from .checking import attempted, check_backward, compare, exercise, explained, first_failure, matches, show


@exercise("Exercise 4.1, the backward of binary cross-entropy on logits")
def check_bce_backward(bce_function):
    """Check a ``minigrad.Function`` class computing the mean binary cross-entropy of logits z and
    0/1 targets y (``apply(z, y)``): its gradient of z under a random upstream gradient, against
    central differences of max(z, 0) - z y + log(1 + exp(-|z|)) averaged, for hypothesis-drawn
    shapes, logits and targets."""
    from hypothesis import strategies as st

    from ..factories import tensor
    from ..testing.strategies import arrays, binary_targets, shapes

    name = getattr(bce_function, "__name__", "your Function")

    def attempt(problem):
        z, y = problem
        target = tensor(y)
        s, n = 1 / (1 + numpy.exp(-z)), z.size
        hints = [
            (lambda got, exp, g: n > 1 and matches(got, exp * n),
             f"this is n = {n} times too large: the loss is a mean over the n elements, so divide by n."),
            (lambda got, exp, g: matches(got, s * (1 - s) * g / n),
             "s (1 - s) is the sigmoid's own derivative: the cross-entropy's derivative cancels it, leaving s - y."),
            (lambda got, exp, g: matches(got, (z - y) * g / n),
             "use the probability s = sigmoid(z), not the logit z: dL/dz = (s - y) / n."),
        ]
        explained(lambda: check_backward(name, lambda z: bce_function.apply(z, target),
                                         lambda z: (z.relu() - z * target + ((-z.abs()).exp() + 1).log()).mean(),
                                         [z], hints=hints, names=["z"]),
                  f"(the targets: y = {show(y)})")

    rng = numpy.random.default_rng(1)  # not the upstream gradient's seed
    attempt((rng.standard_normal(4) * 3, numpy.array([1.0, 0.0, 0.0, 1.0])))

    @st.composite
    def problems(draw):
        shape = draw(shapes(max_dims=2))
        return draw(arrays(shape, -6.0, 6.0)), draw(binary_targets(shape)).numpy()

    first_failure(problems(), attempt, max_examples=30)
    return "dL/dz = (sigmoid(z) - y) / n, times grad_output: the sigmoid's derivative cancelled out."


@exercise("Exercise 4.2, the backward of the Huber loss")
def check_huber_backward(huber_function):
    """Check a ``minigrad.Function`` class computing the mean Huber loss with delta = 1 of
    predictions x and targets y (``apply(x, y)``): its gradients of x and y under a random
    upstream gradient, against central differences of the loss built from elementary ops, for
    hypothesis-drawn shapes and values on both sides of |x - y| = 1."""
    from hypothesis import strategies as st

    from ..testing.strategies import arrays, shapes

    name = getattr(huber_function, "__name__", "your Function")

    def reference(x, y):
        d = x - y
        m = d.abs().clamp(max=1.0)  # 0.5 m^2 + (|d| - m) is 0.5 d^2 inside |d| < 1, |d| - 0.5 outside
        return (0.5 * m * m + d.abs() - m).mean()

    def attempt(problem):
        x, y = problem
        d, n = x - y, x.size
        hints = [
            (lambda got, exp, g: matches(got, d * g / n),
             "that is the squared error's gradient everywhere: beyond |d| = delta the loss is linear, its slope "
             "delta * sign(d); clip d to [-delta, delta]."),
            (lambda got, exp, g: matches(got, numpy.sign(d) * g / n),
             "that is the absolute error's gradient everywhere: inside |d| < delta the loss is 0.5 d^2, its "
             "slope d."),
            (lambda got, exp, g: matches(got, numpy.where(abs(d) < 1, d, 1.0) * g / n),
             "beyond |d| = delta the slope is delta * sign(d): -delta where d < -delta."),
            (lambda got, exp, g: matches(got, 2 * exp),
             "twice too large: the derivative of 0.5 d^2 is d, the 0.5 cancels the 2."),
            (lambda got, exp, g: n > 1 and matches(got, exp * n),
             f"n = {n} times too large: the loss is a mean over the n elements, so divide by n."),
        ]
        check_backward(name, huber_function.apply, reference, [x, y], hints=hints, names=["x", "y"])

    rng = numpy.random.default_rng(1)
    attempt((numpy.array([0.5, -2.0, 3.0, 0.25]), rng.standard_normal(4) * 0.1))  # |d| both sides of 1

    @st.composite
    def problems(draw):
        shape = draw(shapes(max_dims=2))
        return draw(arrays(shape)), draw(arrays(shape))

    first_failure(problems(), attempt, max_examples=30)
    return ("dx = clip(x - y, -delta, delta) * G / n and dy = -dx: the squared error's gradient near the target, "
            "a bounded one far from it, so an outlier cannot dominate.")


# Exercise 4.3: two examples, two classes, labels 0 and 1.
_LOGITS = numpy.array([[0.0, 0.0], [math.log(3.0), 0.0]])
_LABELS = numpy.array([0, 1])


def _mean_cross_entropy(z):
    m = z.max(axis=1, keepdims=True)
    log_p = z - m - numpy.log(numpy.exp(z - m).sum(axis=1, keepdims=True))
    return -log_p[numpy.arange(len(z)), _LABELS].mean()


@exercise("Exercise 4.3, predict a cross-entropy gradient")
def check_cross_entropy_gradient(grad):
    """Check the predicted gradient of the mean softmax cross-entropy with respect to the logits
    Z = [[0, 0], [log 3, 0]] with labels [0, 1] (a (2, 2) array or nested list), against
    central differences of the loss."""
    said = attempted("grad", grad)
    from ..factories import tensor
    from ..gradcheck import numerical_gradients

    logits = tensor(_LOGITS.copy(), requires_grad=True)
    expected = numerical_gradients(lambda t: tensor(_mean_cross_entropy(t.data)), [logits], numpy.float64(1.0))[0]
    z = _LOGITS
    p = numpy.exp(z) / numpy.exp(z).sum(axis=1, keepdims=True)
    onehot = numpy.eye(2)[_LABELS]
    hints = [
        (lambda got, exp: matches(got, p - onehot),
         "that is P - Y per example: the mean over n = 2 examples divides it by 2."),
        (lambda got, exp: matches(got, onehot - p) or matches(got, (onehot - p) / 2),
         "the sign is flipped: P - Y, not Y - P."),
        (lambda got, exp: matches(got, p / 2) or matches(got, p), "subtract the one-hot label: P - Y, not P."),
    ]
    compare("grad", said, expected, inputs="Z = [[0, 0], [log 3, 0]] and labels [0, 1]", hints=hints,
            rtol=1e-4, atol=1e-6)
    return "P = [[1/2, 1/2], [3/4, 1/4]], so (P - Y) / 2 = [[-1/4, 1/4], [3/8, -3/8]]: each row sums to zero."

"""Checks for the exercises of notebook 1, derivatives and the chain rule."""
from __future__ import annotations

import numpy

from .checking import call, central_difference, check_shapes, compare, exercise, first_failure, show


def _sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


def _check_derivative(what, answer, f, low, high, hints_at):
    """Compare ``answer(x)`` with central differences of ``f`` on a fixed x, then on x drawn by
    hypothesis in [low, high]; ``hints_at(x)`` gives the (test, sentence) hints for that x."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def attempt(x):
        got = call(what, answer, x.copy())
        compare(what, got, central_difference(f, x), inputs=f"x = {show(x)}", hints=hints_at(x), rtol=1e-5, atol=1e-8)

    attempt(numpy.array([-1.0, 0.0, 0.5, 2.0]))  # a first, readable example
    first_failure(hnp.arrays(numpy.float64, st.integers(1, 6), elements=st.floats(low, high, width=64)), attempt)


@exercise("Exercise 1.1, the derivative of the sigmoid")
def check_sigmoid_derivative(sigmoid_prime):
    """Check ``sigmoid_prime(x)``, elementwise on an array, against central differences of
    s(x) = 1 / (1 + exp(-x)) at hypothesis-drawn x in [-8, 8]."""
    def hints_at(x):
        s = _sigmoid(x)
        return [
            (lambda got, exp: numpy.allclose(got, x * (1 - x)),
             "x * (1 - x) applies the formula to x; write it with s = sigmoid(x)."),
            (lambda got, exp: numpy.allclose(got, s), "that is s(x) itself, not its derivative."),
            (lambda got, exp: numpy.allclose(got, s * (1 + s)), "check the sign inside: s(x) * (1 - s(x))."),
        ]
    _check_derivative("sigmoid_prime(x)", sigmoid_prime, _sigmoid, -8.0, 8.0, hints_at)
    return "s'(x) = s(x) (1 - s(x)); the backward of sigmoid multiplies grad_output by exactly this."


def _y(x):
    return numpy.exp(numpy.sin(3 * x))


@exercise("Exercise 1.2, the chain rule through three functions")
def check_chain_rule(dy_dx):
    """Check ``dy_dx(x)``, the derivative of y = exp(sin(3x)), elementwise, against central
    differences at hypothesis-drawn x in [-3, 3]."""
    def hints_at(x):
        return [
            (lambda got, exp: numpy.allclose(3 * got, exp),
             "you left out the derivative of the innermost function, d(3x)/dx = 3."),
            (lambda got, exp: numpy.allclose(got, _y(x) * 3),
             "the middle link is missing: d sin(u)/du = cos(u), at u = 3x."),
            (lambda got, exp: numpy.allclose(got, numpy.exp(numpy.cos(3 * x)) * 3),
             "each local derivative is evaluated at its own input and multiplied, not nested: "
             "exp(sin(3x)) * cos(3x) * 3."),
        ]
    _check_derivative("dy_dx(x)", dy_dx, _y, -3.0, 3.0, hints_at)
    return "one factor per link of the chain, each at its own input: what backward does, link by link."


# The two-layer network of notebook 1: X (n, 4) -> 5 hidden units -> 3 outputs, n = 8.
_SHAPES = {"G_Yhat": (8, 3), "G_W2": (5, 3), "G_b2": (3,), "G_H": (8, 5), "G_Z1": (8, 5),
           "G_W1": (4, 5), "G_b1": (5,)}
_WHY = {
    "G_Yhat": "The gradient of the loss with respect to Y_hat has Y_hat's shape (n, 3).",
    "G_W2": "A gradient has the shape of what it is the gradient of: W2 is (5, 3). H.T @ G_Yhat is (5, n) @ (n, 3).",
    "G_b2": "b2 is (3,): the bias gradient sums G_Yhat over the n examples.",
    "G_H": "H is (n, 5): G_Yhat @ W2.T is (n, 3) @ (3, 5).",
    "G_Z1": "ReLU works elementwise, so G_Z1 has Z1's shape, (n, 5).",
    "G_W1": "W1 is (4, 5): X.T @ G_Z1 is (4, n) @ (n, 5).",
    "G_b1": "b1 is (5,): the sum over the examples of G_Z1.",
}


@exercise("Exercise 1.3, predict the gradients' shapes")
def check_gradient_shapes(shapes: dict):
    """Check a dict of predicted shapes, name -> tuple, for the gradients of notebook 1's
    two-layer network with n = 8 examples: G_Yhat, G_W2, G_b2, G_H, G_Z1, G_W1, G_b1."""
    check_shapes(shapes, _SHAPES, _WHY)
    return "every gradient has the shape of the tensor it belongs to; n appears only where the batch does."

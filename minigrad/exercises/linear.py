"""Checks for the exercises of notebook 3, the linear layer: its backward as a Function, a
broadcasting add whose backward forgot to sum, and the shapes of the gradients."""
from __future__ import annotations

import numpy

from .checking import check_backward, check_shapes, exercise, explained, first_failure

_SHAPE_ERROR = "they must match"  # the engine's words when a backward returns a gradient of the wrong shape


def _divided_by_n(got, expected, g):
    n = g.shape[0] if g.ndim else 1
    return n > 1 and numpy.allclose(got * n, expected, rtol=1e-4, atol=1e-6)


@exercise("Exercise 3.1, the linear layer's backward")
def check_linear_backward(linear_function):
    """Check a ``minigrad.Function`` class computing Z = X @ W + b (X (n, in), W (in, out),
    b (out,)): its gradients of X, W and b under a random upstream gradient, against central
    differences of ``x @ w + b``, for a batch of one and for hypothesis-drawn sizes."""
    from hypothesis import strategies as st

    from ..testing.strategies import arrays

    name = getattr(linear_function, "__name__", "your Function")
    hints = [(_divided_by_n, "this is the right gradient divided by n: the mean loss already put 1/n into "
                             "grad_output, so the layer must not divide again.")]

    def attempt(problem):
        x, w, b = problem
        (n, n_in), n_out = x.shape, w.shape[1]
        explained(lambda: check_backward(name, linear_function.apply, lambda x, w, b: x @ w + b, [x, w, b],
                                         hints=hints, names=["X", "W", "b"]),
                  f"Hint: each gradient has its input's shape: for n = {n}, in = {n_in}, out = {n_out}, "
                  f"dX = G @ W.T is {(n, n_in)}, dW = X.T @ G is {(n_in, n_out)}, db = G.sum(0) is {(n_out,)}.",
                  when=_SHAPE_ERROR)

    rng = numpy.random.default_rng(1)  # not the upstream gradient's seed (0): X must not equal G
    for n in (1, 4):  # a batch of one first: there X.T @ G is an outer product
        attempt((rng.standard_normal((n, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)))

    @st.composite
    def problems(draw):
        n, n_in, n_out = (draw(st.integers(1, 4)) for _ in range(3))
        return draw(arrays((n, n_in))), draw(arrays((n_in, n_out))), draw(arrays((n_out,)))

    first_failure(problems(), attempt, max_examples=25)
    return "dX = G @ W.T, dW = X.T @ G, db = G.sum(0): each the shape of its input, for any n, one included."


@exercise("Exercise 3.2, fix the broadcasting add")
def check_broadcast_add(add_function):
    """Check a ``minigrad.Function`` class computing c = a + b with NumPy broadcasting: its
    gradients, against central differences of ``a + b``, for a bias added to every row and for
    hypothesis-drawn shapes that broadcast (either side may be stretched)."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from ..testing.strategies import arrays

    name = getattr(add_function, "__name__", "your Function")
    hints = [(lambda got, exp, g: 0 < got.size < g.size and numpy.allclose(got * (g.size / got.size), exp),
              "this is the mean over the broadcast axes: every copy of the input added its own share to the "
              "loss, so the gradient is their sum.")]

    def attempt(pair):
        a, b = pair
        explained(lambda: check_backward(name, add_function.apply, lambda a, b: a + b, [a, b],
                                         hints=hints, names=["a", "b"]),
                  f"Hint: a is {a.shape} and b is {b.shape}: broadcasting repeated each along the axes it "
                  "lacked and its axes of size 1, so its gradient sums grad_output over exactly those axes, "
                  "down to its own shape (minigrad.autograd.sum_to(grad_output, shape) does it).",
                  when=_SHAPE_ERROR)

    rng = numpy.random.default_rng(1)  # not the upstream gradient's seed (0): a must not equal G
    # a bias added to every row, one added to every column, then both sides stretched
    for a_shape, b_shape in [((3, 2), (2,)), ((2, 3), (2, 1)), ((3, 1), (1, 4))]:
        attempt((rng.standard_normal(a_shape), rng.standard_normal(b_shape)))

    @st.composite
    def pairs(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
        return tuple(draw(arrays(s)) for s in shapes.input_shapes)

    first_failure(pairs(), attempt, max_examples=40)
    return "each input's gradient is grad_output summed down to its shape: the backward of broadcasting."


# X (2, 5, 4): 2 sequences of 5 vectors each; W (4, 3); b (3,).
_SHAPES = {"Z": (2, 5, 3), "G": (2, 5, 3), "dX": (2, 5, 4), "dW": (4, 3), "db": (3,)}
_WHY = {
    "Z": "X @ W acts on the last axis: (2, 5, 4) @ (4, 3) -> (2, 5, 3); the leading axes stay.",
    "G": "G = dL/dZ has Z's shape.",
    "dX": "dX has X's shape: G @ W.T is (2, 5, 3) @ (3, 4).",
    "dW": "dW has W's shape: the 2 x 5 = 10 rows are folded into n, and X.T @ G sums over all 10.",
    "db": "db has b's shape: b was added to all 10 rows, so db sums G over both leading axes.",
}


@exercise("Exercise 3.3, predict the shapes")
def check_linear_shapes(shapes: dict):
    """Check a dict of predicted shapes, name -> tuple, for Z = X @ W + b with X (2, 5, 4),
    W (4, 3), b (3,): Z, G (dL/dZ), dX, dW and db."""
    check_shapes(shapes, _SHAPES, _WHY)
    return "leading axes behave as more examples: they stay in Z, G and dX, and are summed out of dW and db."

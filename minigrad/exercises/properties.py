"""Checks for the exercises of notebook 6, property-based gradient checks."""
from __future__ import annotations

import numpy

from ..autograd import Function, sum_to
from ..backend import get_array_module
from .checking import NotAttempted, Wrong, check_backward, exercise, first_failure


def _max_problems():
    """(x as a float64 array with no ties, dim): shapes of 1 to 3 axes, any axis."""
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    @st.composite
    def draw(draw):
        shape = draw(mst.shapes(min_dims=1, max_dims=3))
        dim = draw(st.integers(0, len(shape) - 1))
        return draw(mst.distinct_tensors(shape)).detach().numpy(), dim
    return draw()


@exercise("Exercise 6.1, the backward of max over a dim")
def check_max_backward(MaxOverDim):
    """Check the Function ``MaxOverDim`` (``apply(x, dim)`` gives ``x.max(axis=dim)``, the axis
    dropped) against central differences of ``minigrad.amax`` under a random upstream gradient,
    for hypothesis-drawn shapes and dims, values distinct (``distinct_tensors``: no ties, which
    central differences cannot judge)."""
    from .. import amax

    def attempt(problem):
        x, dim = problem
        mask = x == x.max(axis=dim, keepdims=True)

        def aligned_wrong(got, exp, g):  # G broadcast against x without the reduced axis put back
            try:
                return numpy.allclose(got, mask * g)
            except ValueError:
                return False

        hints = [
            (lambda got, exp, g: numpy.allclose(got, mask),
             "that is the mask alone, the local derivative: the chain rule multiplies it by G."),
            (lambda got, exp, g: numpy.allclose(got, numpy.broadcast_to(numpy.expand_dims(g, dim), x.shape)),
             "every element got its slice's gradient: only the largest element of each slice "
             "changed the output, so only it gets G; the others get 0."),
            (aligned_wrong,
             "G lost the reduced axis, so it broadcast along the wrong one: put the axis back first "
             "(xp.expand_dims(grad_output, dim)), then multiply by the mask."),
        ]
        check_backward(f"MaxOverDim over dim={dim}", lambda t: MaxOverDim.apply(t, dim),
                       lambda t: amax(t, dim), [x], hints=hints)

    attempt((numpy.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0], [-2.0, 1.5, 0.25]]), 1))
    first_failure(_max_problems(), attempt, max_examples=40)
    return "dx = G, with the reduced axis put back, at the maximum of each slice; 0 elsewhere."


class _ScaleExp(Function):
    """c = a * exp(b).   da = sum_to(G * exp(b), a.shape),  db = sum_to(G * a * exp(b), b.shape)."""

    @staticmethod
    def forward(ctx, a, b):
        e = get_array_module(b).exp(b)
        ctx.save_for_backward(a, e)
        return a * e

    @staticmethod
    def backward(ctx, grad_output):
        a, e = ctx.saved_tensors
        return sum_to(grad_output * e, a.shape), sum_to(grad_output * a * e, e.shape)


class _NoSumTo(_ScaleExp):
    """Right when a and b have the same shape, wrong when they broadcast."""

    @staticmethod
    def backward(ctx, grad_output):
        a, e = ctx.saved_tensors
        return grad_output * e, grad_output * a * e


class _AbsA(_ScaleExp):
    """Right where a > 0: db uses |a|."""

    @staticmethod
    def backward(ctx, grad_output):
        a, e = ctx.saved_tensors
        xp = get_array_module(a)
        return sum_to(grad_output * e, a.shape), sum_to(grad_output * xp.abs(a) * e, e.shape)


class _IgnoresUpstream(_ScaleExp):
    """Right only when grad_output is all ones: da ignores it."""

    @staticmethod
    def backward(ctx, grad_output):
        a, e = ctx.saved_tensors
        xp = get_array_module(a)
        return sum_to(xp.broadcast_to(e, grad_output.shape), a.shape), sum_to(grad_output * a * e, e.shape)


_BROKEN = [
    (_NoSumTo, "whose backward forgets sum_to: it is right when a and b have the same shape and wrong "
               "when they broadcast. Draw shapes that broadcast together (st.broadcastable_tensors)."),
    (_AbsA, "whose db uses |a| instead of a: it is right where a > 0 and wrong where a < 0. Draw values "
            "of both signs (st.tensors draws them in [-3, 3] by default)."),
    (_IgnoresUpstream, "whose da ignores grad_output: it is right when the upstream gradient is all ones "
                       "(as after out.sum().backward()) and wrong otherwise. Compare under a random upstream "
                       "gradient, as minigrad.gradcheck does."),
]


def _run(test_backward, op):
    """None if the student's test passed on ``op``, else the exception it raised."""
    try:
        test_backward(op)
    except NotImplementedError:
        raise NotAttempted("test_backward still raises NotImplementedError: replace that line with your test "
                           "and run the cell again.") from None
    except Exception as e:  # noqa: BLE001 -- any failure of the student's test counts as "caught"
        return e
    return None


@exercise("Exercise 6.2, a property test that catches broken backwards")
def check_property_test(test_backward):
    """Run the student's ``test_backward(op)`` on a correct ``op(a, b) = a * exp(b)``, where it
    must pass, and on three broken ones (no ``sum_to``; ``|a|`` for ``a``; ``grad_output``
    ignored), where it must fail (raise)."""
    error = _run(test_backward, _ScaleExp.apply)
    if error is not None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise Wrong(f"your test fails on a correct op, a * exp(b): {type(error).__name__}: {first}\n  A test that "
                    "fails a correct op cannot tell a bug from a right answer: draw float64 tensors that "
                    "require a gradient, and compare with gradcheck's tolerances.")
    for op, sentence in _BROKEN:  # the first miss is enough to say, and saves running the rest
        if _run(test_backward, op.apply) is None:
            raise Wrong("your test passed a broken op " + sentence)
    return ("it passes the right op and catches all three bugs: broadcasting, both signs and a random upstream "
            "gradient are what a gradient test must cover.")


def _take_problems():
    """(x 1-D float64 array, idx int64 array): indices that often repeat."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from ..testing import strategies as mst

    @st.composite
    def draw(draw):
        n = draw(st.integers(1, 5))
        x = draw(mst.arrays((n,)))
        idx = draw(hnp.arrays(numpy.int64, st.integers(1, 8), elements=st.integers(0, n - 1)))
        return x, idx
    return draw()


@exercise("Exercise 6.3, fix the backward of indexing with repeated indices")
def check_take(Take):
    """Check the Function ``Take`` (``apply(x, idx)`` gives ``x[idx]`` for a 1-D x and an integer
    array idx) against central differences of minigrad's indexing, over hypothesis-drawn x and
    indices that repeat; and with x used twice (``Take(x, i) * Take(x, j)``)."""
    from .. import tensor

    def attempt(problem):
        x, idx = problem
        buffered = numpy.zeros_like(x)

        def lost_repeats(got, exp, g):  # dx[idx] += G keeps one write per index
            buffered[...] = 0
            buffered[idx] += g
            return numpy.allclose(got, buffered)

        hint = [(lost_repeats, "where idx names an element twice only one of its gradients arrived: "
                               "dx[idx] += G (and dx[idx] = G) writes each element once. Add every one with "
                               "xp.add.at(dx, idx, grad_output).")]
        check_backward(f"Take with idx = {idx.tolist()}", lambda t: Take.apply(t, idx),
                       lambda t: t[tensor(idx)], [x], hints=hint)
        j = idx[::-1].copy()
        check_backward(f"Take(x, {idx.tolist()}) * Take(x, {j.tolist()}), x used twice",
                       lambda t: Take.apply(t, idx) * Take.apply(t, j),
                       lambda t: t[tensor(idx)] * t[tensor(j)], [x])

    attempt((numpy.array([1.0, -2.0, 0.5]), numpy.array([0, 2, 0, 0])))
    first_failure(_take_problems(), attempt, max_examples=40)
    return "dx starts at zero and every G[k] is added at idx[k]: repeats add up, as in GetItem's backward."

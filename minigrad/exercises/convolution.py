"""Checks for the exercises of notebook 9, convolution."""
from __future__ import annotations

import numbers

import numpy

from .checking import Wrong, call, check_backward, exercise, first_failure, matches

_FORMULA = "floor((H + 2p - d(k-1) - 1) / s) + 1"


def _size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


# (the size a classic mistake gives, the hint naming it); the first that explains a wrong size is shown
_SIZE_MISTAKES = [
    (lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
     "dilation d spreads the kernel's k cells over d(k-1) + 1 pixels: the formula has d(k-1), not k - 1."),
    (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
     "padding p is added on both sides: 2p."),
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
     "count the first window too: the windows start at 0, s, 2s, ..., so there is one more than the steps, + 1."),
    (lambda n, k, s, p, d: -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1,
     "floor, not ceil: a window that would hang over the edge of the (padded) input is not computed."),
    (lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1,
     "a dilated kernel spans d(k-1) + 1 pixels, not d*k."),
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) + 1,
     "the stride s divides: with stride s the kernel visits every s-th position."),
]


_FIRST = ((2, 3, 11, 9), 4, 3, 2, 1, 2)
# problems on which the classic mistakes give different sizes, to tell them apart
_PROBES = [((1, 1, 12, 12), 1, k, s, p, d) for k in (1, 2, 3) for s in (1, 2, 3) for p in (0, 1, 2) for d in (1, 2)]


def _mistake(conv_output_shape, problem):
    """The hint of the first classic mistake that explains every size the answer gives, on
    ``problem`` and on the probes; None if none does."""
    said = {}
    for shape, o, k, s, p, d in [problem] + _PROBES:
        try:
            got = conv_output_shape(shape, o, k, s, p, d)
            said[(shape[2], k, s, p, d)], said[(shape[3], k, s, p, d)] = int(got[2]), int(got[3])
        except Exception:  # noqa: BLE001 -- an answer that fails on a probe fits no mistake
            return None
    for mistake, hint in _SIZE_MISTAKES:
        if all(mistake(*key) == size for key, size in said.items()):
            return hint
    return None


def _conv_problems():
    from hypothesis import strategies as st

    @st.composite
    def problems(draw):
        k, s, p, d = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(0, 2)), draw(st.integers(1, 3))
        reach = d * (k - 1) + 1
        h, w = (max(1, reach - 2 * p) + draw(st.integers(0, 8)) for _ in range(2))
        return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w), draw(st.integers(1, 4)), k, s, p, d
    return problems()


@exercise("Exercise 9.1, the output shape of a convolution")
def check_conv_output_shape(conv_output_shape):
    """Check ``conv_output_shape(input_shape, out_channels, kernel_size, stride, padding, dilation)``
    (ints: a square kernel, the same stride, padding and dilation along both axes) against the
    shape ``F.conv2d`` gives, on a fixed problem and on hypothesis-drawn ones."""
    from .. import factories, no_grad
    from ..nn import functional as F

    def attempt(problem):
        shape, o, k, s, p, d = problem
        args = f"conv_output_shape({shape}, out_channels={o}, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
        got = call(args, conv_output_shape, shape, o, k, s, p, d)
        with no_grad():
            expected = tuple(F.conv2d(factories.zeros(*shape), factories.zeros(o, shape[1], k, k),
                                      stride=s, padding=p, dilation=d).shape)
        if isinstance(got, list):
            got = tuple(got)
        if not isinstance(got, tuple) or len(got) != 4:
            raise Wrong(f"{args} returned {got!r}; return a tuple of 4 ints, (N, out_channels, Ho, Wo).")
        for v in got:
            if not isinstance(v, numbers.Integral):
                raise Wrong(f"{args} returned {got!r}: a shape holds ints, and {v!r} is a {type(v).__name__}; "
                            "use // (floor division), not /.")
        got = tuple(int(v) for v in got)
        if got == expected:
            return
        msg = f"{args} returned {got}; F.conv2d gives {expected}."
        if got[:2] != expected[:2]:
            raise Wrong(msg + f" The batch N = {shape[0]} is kept, and there is one output channel per kernel: "
                        f"out_channels = {o}, whatever the {shape[1]} input channels.")
        for axis, letter, n, size, said in (("Ho", "H", shape[2], expected[2], got[2]),
                                            ("Wo", "W", shape[3], expected[3], got[3])):
            msg += (f"\n  {axis} = {_FORMULA.replace('H', letter)} = floor(({n} + 2*{p} - {d}*({k}-1) - 1) / {s}) + 1"
                    f" = {size}" + ("" if said == size else f", not {said}"))
        hint = _mistake(conv_output_shape, problem)
        raise Wrong(msg + (f"\n  Hint: {hint}" if hint else ""))

    attempt(_FIRST)  # a first, readable example, every argument in play
    first_failure(_conv_problems(), attempt, max_examples=100)
    return "Ho = floor((H + 2p - d(k-1) - 1) / s) + 1: the same count for every convolution and pooling window."


def _even_images():
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    return st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3), st.integers(1, 2)).flatmap(
        lambda s: mst.distinct_tensors((s[0], s[1], 2 * s[2], 2 * s[3]))).map(lambda t: t.data.copy())


@exercise("Exercise 9.2, the backward of 2x2 max pooling")
def check_max_pool_backward(max_pool_2x2):
    """Check ``max_pool_2x2(x)`` (the student's Function) for x (N, C, H, W), H and W even, against
    ``F.max_pool2d(x, 2)`` and central differences of it under a random upstream gradient, on
    hypothesis-drawn images whose values are all distinct (no ties)."""
    from ..nn import functional as F

    def spread(g):
        return numpy.kron(g, numpy.ones((2, 2)))  # each window's value copied onto its 4 cells

    hints = [
        (lambda got, exp, g: matches(got, spread(g) / 4),
         "G / 4 on every cell of the window is average pooling's backward; max pooling sends all of G "
         "to the window's maximum and 0 to the other three cells."),
        (lambda got, exp, g: matches(got, spread(g)),
         "every cell of the window got G: only the maximum moved y, so only it gets G (mask with x == y)."),
        (lambda got, exp, g: got.shape == exp.shape and numpy.array_equal(got, (exp != 0).astype(float)),
         "this is the mask of the maxima alone: the chain rule multiplies it by grad_output."),
    ]

    def attempt(x):
        check_backward("max_pool_2x2", max_pool_2x2, lambda t: F.max_pool2d(t, 2), [x], hints)

    attempt(numpy.random.default_rng(9).permutation(16).reshape(1, 1, 4, 4) / 10 - 0.8)  # a first, readable example
    first_failure(_even_images(), attempt, max_examples=30)
    return "max pooling routes each window's gradient to the one input that won: a switch, not an average."


def _im2col(x, k):
    from numpy.lib.stride_tricks import sliding_window_view

    c = x.shape[1]
    return sliding_window_view(x, (k, k), axis=(2, 3)).transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, -1)


def _overwritten_dx(x, w, g):
    """dX as col2im with = in place of +=: each pixel keeps the gradient of the last patch that covered it."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    ho, wo = h - k + 1, wd - k + 1
    gm = g.transpose(1, 0, 2, 3).reshape(o, -1)
    dcols = (w.reshape(o, -1).T @ gm).reshape(c, k, k, n, ho, wo)
    dx = numpy.zeros(x.shape)
    for a in range(k):
        for e in range(k):
            dx[:, :, a:a + ho, e:e + wo] = dcols[:, a, e].transpose(1, 0, 2, 3)
    return dx


def _conv_inputs():
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    @st.composite
    def inputs(draw):
        n, c, o = (draw(st.integers(1, 2)) for _ in range(3))
        k = draw(st.integers(1, 3))
        h, w = (k + draw(st.integers(0, 2)) for _ in range(2))
        return tuple(draw(mst.arrays(s)) for s in ((n, c, h, w), (o, c, k, k), (o,)))
    return inputs()


@exercise("Exercise 9.3, repair the im2col convolution's backward")
def check_conv_backward(conv2d_im2col):
    """Check ``conv2d_im2col(X, K, b)`` (stride 1, no padding; the student's repaired Function)
    against ``F.conv2d`` and central differences of it, for X, K and b, under a random upstream
    gradient, on a fixed problem with overlapping patches and on hypothesis-drawn ones."""
    from ..nn import functional as F

    def attempt(arrays):
        x, w, _ = arrays
        gm_of = (lambda g: g.transpose(1, 0, 2, 3).reshape(w.shape[0], -1))
        hints = [
            (lambda got, exp, g: matches(got, (_im2col(x, w.shape[2]) @ gm_of(g).T).reshape(w.shape)),
             "dK = G @ cols.T is (O, C*k*k); cols @ G.T is its transpose, (C*k*k, O), and reshaping it to "
             "(O, C, k, k) does not undo the transpose."),
            (lambda got, exp, g: matches(got, _overwritten_dx(x, w, g)),
             "a pixel covered by several patches must collect the sum of their gradients: col2im adds (+=), "
             "where = keeps only the last patch's."),
        ]
        check_backward("conv2d_im2col", conv2d_im2col, F.conv2d, list(arrays), hints, names=["X", "K", "b"])

    rng = numpy.random.default_rng(9)
    attempt((rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((2, 1, 2, 2)), rng.standard_normal(2)))
    first_failure(_conv_inputs(), attempt, max_examples=25)
    return "the convolution's backward is the linear layer's, then col2im sums each pixel's patches."

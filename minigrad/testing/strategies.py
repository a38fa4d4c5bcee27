"""Hypothesis strategies for checking ops, public so that a student can test a new op in a line.

>>> from hypothesis import given
>>> import minigrad
>>> from minigrad.testing import strategies as st
>>> @given(st.tensors())
... def test_double_exp(x):
...     minigrad.gradcheck(lambda t: (2 * t).exp(), [x])
>>> test_double_exp()

Values are float64 (gradient checks need it) and bounded, so that exp and friends stay finite.
"""
from __future__ import annotations

import numpy
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..factories import tensor


def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Array shapes, small enough that central differences over every element stay quick."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def arrays(shape=None, low: float = -3.0, high: float = 3.0, away_from=(), margin: float = 1e-3,
           dtype=numpy.float64):
    """NumPy arrays with values in [low, high], each at least ``margin`` from every point of
    ``away_from`` (the kinks: 0 for ReLU and abs, where central differences straddle the corner)."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    if away_from:
        elements = elements.filter(lambda v: all(abs(v - k) > margin for k in away_from))
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=elements)


@st.composite
def tensors(draw, shape=None, low=-3.0, high=3.0, away_from=(), margin=1e-3, requires_grad=True):
    """float64 Tensors that require a gradient, values in [low, high] at least ``margin`` away
    from each point of ``away_from``."""
    data = draw(arrays(shape, low, high, away_from, margin))
    return tensor(data, requires_grad=requires_grad)


@st.composite
def broadcastable_tensors(draw, num_shapes: int = 2, low=-3.0, high=3.0, away_from=()):
    """``num_shapes`` float64 Tensors whose shapes broadcast together (NumPy rules), e.g.
    (3, 1, 4) with (2, 4) -- the case where a backward must sum over the broadcast axes."""
    found = draw(hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=0, max_dims=3, max_side=4))
    return tuple(draw(tensors(s, low, high, away_from)) for s in found.input_shapes)


@st.composite
def positive_tensors(draw, shape=None, low=0.1, high=3.0):
    """Tensors with values in [low, high] > 0, for log, division and fractional powers."""
    return draw(tensors(shape, low, high))


@st.composite
def logits_and_labels(draw, max_batch: int = 5, max_classes: int = 5, scale: float = 5.0):
    """(logits (n, C) float64 Tensor requiring grad, labels (n,) int64 Tensor in [0, C))."""
    n = draw(st.integers(1, max_batch))
    c = draw(st.integers(2, max_classes))
    z = draw(arrays((n, c), -scale, scale))
    y = draw(hnp.arrays(numpy.int64, (n,), elements=st.integers(0, c - 1)))
    return tensor(z, requires_grad=True), tensor(y)


@st.composite
def probabilities(draw, shape=None, margin: float = 0.05):
    """float64 Tensors of probabilities in [margin, 1 - margin], away from 0 and 1 where
    log p and log(1 - p) blow up and BCE's clamp would change the derivative."""
    return draw(tensors(shape, margin, 1 - margin))


@st.composite
def binary_targets(draw, shape):
    """0/1 float64 targets of ``shape`` (no gradient)."""
    data = draw(hnp.arrays(numpy.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    return tensor(data)


@st.composite
def matmul_pairs(draw, max_side: int = 4):
    """Two float64 Tensors whose shapes fit ``a @ b``: 1-D, 2-D and batched (broadcasting)."""
    kind = draw(st.sampled_from(["mm", "mv", "vm", "vv", "batched"]))
    m, k, n = (draw(st.integers(1, max_side)) for _ in range(3))
    if kind == "mm":
        sa, sb = (m, k), (k, n)
    elif kind == "mv":
        sa, sb = (m, k), (k,)
    elif kind == "vm":
        sa, sb = (k,), (k, n)
    elif kind == "vv":
        sa, sb = (k,), (k,)
    else:
        batch = draw(st.integers(1, 3))
        sa, sb = draw(st.sampled_from([((batch, m, k), (k, n)), ((batch, m, k), (batch, k, n)),
                                       ((m, k), (batch, k, n)), ((batch, 1, m, k), (batch, k, n))]))
    return draw(tensors(sa)), draw(tensors(sb))


@st.composite
def broadcast_shapes_into(draw, shape, min_dims: int = 1):
    """Shapes that broadcast to ``shape`` without growing it: some trailing axes of ``shape``,
    each kept or set to 1 (the shapes of a mask or a bias that NumPy stretches to ``shape``)."""
    n = draw(st.integers(min(min_dims, len(shape)), len(shape)))
    return tuple(draw(st.sampled_from([side, 1])) for side in shape[len(shape) - n:])


@st.composite
def attention_inputs(draw, max_side: int = 4, masks=("none", "causal", "bool", "float")):
    """(query, key, value, kwargs) for ``scaled_dot_product_attention(query, key, value, **kwargs)``.

    query (*, L, E), key (*, M, E), value (*, M, Ev) for L queries and M keys, with leading
    axes that broadcast together; kwargs may hold ``is_causal=True``, a bool ``attn_mask``
    (rows with no True included: the fully masked query), a float ``attn_mask`` that requires
    a gradient, each of a shape that broadcasts to the attention weights' (*, L, M) (* from
    query and key), and a ``scale``.
    """
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=2, max_side=3))
    L, M, E, Ev = (draw(st.integers(1, max_side)) for _ in range(4))
    bq, bk, bv = batch.input_shapes
    query, key, value = draw(tensors(bq + (L, E))), draw(tensors(bk + (M, E))), draw(tensors(bv + (M, Ev)))
    kind, kwargs = draw(st.sampled_from(masks)), {}
    if kind == "causal":
        kwargs["is_causal"] = True
    elif kind != "none":
        # At least (L, M): PyTorch's attention refuses a 1-D mask ("Dimension out of range").
        shape = draw(broadcast_shapes_into(numpy.broadcast_shapes(bq, bk) + (L, M), min_dims=2))
        kwargs["attn_mask"] = (tensor(draw(hnp.arrays(numpy.bool_, shape))) if kind == "bool"
                               else draw(tensors(shape)))
    if draw(st.booleans()):
        kwargs["scale"] = draw(st.floats(0.1, 2.0))
    return query, key, value, kwargs


@st.composite
def distinct_tensors(draw, shape, gap: float = 0.05):
    """float64 Tensors of ``shape`` whose values are all at least ``gap`` apart (a shuffled grid):
    for max and max pooling, where a near-tie inside a window would be straddled by the finite
    difference and make the numerical gradient meaningless."""
    n = int(numpy.prod(shape))
    order = draw(st.permutations(range(n)))
    data = (numpy.array(order, dtype=numpy.float64) - n / 2) * gap
    return tensor(data.reshape(shape), requires_grad=True)


@st.composite
def conv_problems(draw, dims: int = 2, max_batch: int = 2, max_group_channels: int = 2, max_groups: int = 3,
                  max_kernel: int = 3, max_extra: int = 2):
    """``(x, weight, bias, kwargs)`` for ``F.conv1d``/``F.conv2d(x, weight, bias, **kwargs)``.

    Random batch, channels (a multiple of the groups, depthwise included), kernel, stride,
    dilation, groups, padding (ints, 'same' or 'valid') and bias or none; the input is at least
    as large as the dilated kernel after padding, up to ``max_extra`` cells larger.
    """
    groups = draw(st.integers(1, max_groups))
    cin = groups * draw(st.integers(1, max_group_channels))
    cout = groups * draw(st.integers(1, max_group_channels))
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = draw(st.sampled_from(["ints", "same", "valid"]))
    stride = (1,) * dims if padding == "same" else tuple(draw(st.integers(1, 2)) for _ in range(dims))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(dims)) if padding == "ints" else (0,) * dims
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    sizes = tuple(max(1, r - 2 * p) + draw(st.integers(0, max_extra)) for r, p in zip(reach, pads))
    x = draw(tensors((draw(st.integers(1, max_batch)), cin) + sizes))
    weight = draw(tensors((cout, cin // groups) + kernel))
    bias = draw(st.one_of(st.none(), tensors((cout,))))
    return x, weight, bias, dict(stride=stride, padding=pads if padding == "ints" else padding,
                                 dilation=dilation, groups=groups)


@st.composite
def pool_problems(draw, dims: int = 2, max_batch: int = 2, max_channels: int = 2, max_kernel: int = 3,
                  dilation: bool = True):
    """``(x, kwargs)`` for ``F.max_pool2d(x, **kwargs)`` (and avg_pool2d with ``dilation=False``):
    kernel, stride, padding (at most half the kernel, as PyTorch requires), dilation and
    ceil_mode, with an input at least as large as the window; values all distinct (see
    ``distinct_tensors``)."""
    kernel = tuple(draw(st.integers(1, max_kernel)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dil = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dil)]
    # at least the dilated kernel: then every window holds a real pixel, never padding alone
    # (PyTorch's max pooling reads outside the input for such a window)
    sizes = tuple(r + draw(st.integers(0, 3)) for r in reach)
    x = draw(distinct_tensors((draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels))) + sizes))
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if dilation:
        kwargs["dilation"] = dil
    return x, kwargs


__all__ = ["shapes", "arrays", "tensors", "broadcastable_tensors", "positive_tensors", "logits_and_labels",
           "probabilities", "binary_targets", "matmul_pairs", "assume", "broadcast_shapes_into", "attention_inputs",
           "distinct_tensors", "conv_problems", "pool_problems"]

"""Every op: forward against NumPy, backward against central differences (gradcheck, float64,
random upstream gradient) over hypothesis-drawn shapes and values, kinks tested exactly."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck
from minigrad.testing import strategies as st

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=st.broadcastable_tensors())
def test_binary_broadcasting(name, pair):
    op, ref = BINARY[name]
    a, b = pair
    np.testing.assert_allclose(op(a, b).data, ref(a.data, b.data), rtol=1e-12)
    assert gradcheck(op, [a, b])


@given(a=st.tensors(), data=hst.data())
def test_div(a, data):
    b = data.draw(st.positive_tensors(shape=a.shape[-1:]))  # broadcasts over a's leading axes
    np.testing.assert_allclose((a / b).data, a.data / b.data, rtol=1e-12)
    assert gradcheck(lambda x, y: x / y, [a, b])


@given(pair=st.broadcastable_tensors())
def test_node_used_twice_with_broadcasting(pair):
    a, b = pair
    assert gradcheck(lambda x, y: x * y + x * x - y, [a, b])


@given(x=st.tensors())
def test_reflected_scalar_ops(x):
    np.testing.assert_allclose((1 - x).data, 1 - x.data)
    np.testing.assert_allclose((2 / (x * x + 1)).data, 2 / (x.data ** 2 + 1))
    assert gradcheck(lambda t: 1 - t, [x])
    assert gradcheck(lambda t: 3 * t + 2, [x])
    assert gradcheck(lambda t: 2 / (t * t + 1), [x])
    assert gradcheck(lambda t: -t, [x])


@given(x=st.positive_tensors(), p=hst.sampled_from([2, 3, 0.5, -1.5]))
def test_pow(x, p):
    np.testing.assert_allclose((x ** p).data, x.data ** p, rtol=1e-12)
    assert gradcheck(lambda t: t ** p, [x])
    assert gradcheck(lambda t: 2.0 ** t, [x])


@given(pair=st.matmul_pairs())
def test_matmul(pair):
    a, b = pair
    np.testing.assert_allclose((a @ b).data, a.data @ b.data, rtol=1e-12)
    assert gradcheck(lambda x, y: x @ y, [a, b])


@given(x=st.tensors(low=-4, high=4))
def test_exp(x):
    np.testing.assert_allclose(x.exp().data, np.exp(x.data), rtol=1e-12)
    assert gradcheck(lambda t: t.exp(), [x])


@given(x=st.positive_tensors())
def test_log(x):
    np.testing.assert_allclose(x.log().data, np.log(x.data), rtol=1e-12)
    assert gradcheck(lambda t: t.log(), [x])


@given(x=st.tensors(away_from=(0.0,), margin=1e-3))
def test_relu(x):
    np.testing.assert_array_equal(x.relu().data, np.maximum(x.data, 0))
    assert gradcheck(lambda t: t.relu(), [x])


def test_relu_kink_is_zero_as_pytorch():
    x = minigrad.tensor([-1.0, 0.0, 2.0], dtype=minigrad.float64, requires_grad=True)
    x.relu().backward(minigrad.tensor([5.0, 7.0, 11.0], dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 11.0])


@given(x=st.tensors(low=-8, high=8))
def test_sigmoid_tanh(x):
    np.testing.assert_allclose(x.sigmoid().data, 1 / (1 + np.exp(-x.data)), rtol=1e-12)
    np.testing.assert_allclose(x.tanh().data, np.tanh(x.data), rtol=1e-12)
    assert gradcheck(lambda t: t.sigmoid(), [x])
    assert gradcheck(lambda t: t.tanh(), [x])


def test_sigmoid_extremes_are_finite():
    x = minigrad.tensor([-1e4, 1e4], requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_array_equal(y.data, [0.0, 1.0])
    y.sum().backward()
    assert np.isfinite(x.grad.data).all()


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_softmax_and_log_softmax(x, data):
    axis = data.draw(hst.integers(-x.ndim, x.ndim - 1))
    e = np.exp(x.data - x.data.max(axis=axis, keepdims=True))
    ref = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(F.softmax(x, axis).data, ref, rtol=1e-10)
    np.testing.assert_allclose(F.log_softmax(x, axis).data, np.log(ref), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: F.softmax(t, axis), [x])
    assert gradcheck(lambda t: F.log_softmax(t, axis), [x])


def _axes(draw, ndim):
    return draw(hst.one_of(hst.none(), hst.integers(-ndim, ndim - 1),
                           hst.lists(hst.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                           .map(tuple)))


@given(x=st.tensors(), data=hst.data())
def test_sum_and_mean(x, data):
    axis, keepdims = _axes(data.draw, x.ndim), data.draw(hst.booleans())
    np.testing.assert_allclose(x.sum(axis, keepdims).data, x.data.sum(axis=axis, keepdims=keepdims), rtol=1e-12)
    np.testing.assert_allclose(x.mean(axis, keepdims).data, x.data.mean(axis=axis, keepdims=keepdims), rtol=1e-12)
    assert gradcheck(lambda t: t.sum(axis, keepdims), [x])
    assert gradcheck(lambda t: t.mean(axis, keepdims), [x])


@given(x=st.tensors(), data=hst.data())
def test_max(x, data):
    # distinct values at least 1e-3 apart, so the argmax does not flip under the +-1e-6 nudges
    assume_distinct = np.unique(np.round(x.data, 3)).size == x.data.size
    st.assume(assume_distinct)
    axis, keepdims = _axes(data.draw, x.ndim), data.draw(hst.booleans())
    np.testing.assert_array_equal(x.max(axis, keepdims).data, x.data.max(axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: t.max(axis, keepdims), [x])


def test_max_ties_share_the_gradient():
    x = minigrad.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], dtype=minigrad.float64, requires_grad=True)
    x.max(axis=1).backward(minigrad.tensor([4.0, 5.0], dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.data, [[0, 2, 2], [5, 0, 0]])


@given(x=st.tensors(shape=st.shapes(min_dims=2, max_dims=3)))
def test_reshape_transpose(x):
    np.testing.assert_array_equal(x.reshape(-1).data, x.data.reshape(-1))
    np.testing.assert_array_equal(x.T.data, x.data.T)
    np.testing.assert_array_equal(x.transpose(0, 1).data, x.data.swapaxes(0, 1))
    assert gradcheck(lambda t: t.reshape(x.shape[0], -1) * 2, [x])
    assert gradcheck(lambda t: t.T, [x])
    assert gradcheck(lambda t: t.transpose(0, -1), [x])


@given(x=st.tensors(shape=st.shapes(min_dims=2, max_dims=2, min_side=2)), data=hst.data())
def test_getitem(x, data):
    n = x.shape[0]
    rows = np.array(data.draw(hst.lists(hst.integers(0, n - 1), min_size=1, max_size=6)))
    for index in (0, slice(1, None), (slice(None), 0), rows, (rows, 0), x.data > 0):
        np.testing.assert_array_equal(x[index].data, x.data[index])
        assert gradcheck(lambda t: t[index], [x])


def test_getitem_repeated_index_accumulates():
    x = minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    x[minigrad.tensor([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 1.0])


@given(data=hst.data(), bias=hst.booleans())
def test_linear(data, bias):
    n, fin, fout = (data.draw(hst.integers(1, 4)) for _ in range(3))
    x = data.draw(st.tensors((n, fin)))
    w = data.draw(st.tensors((fin, fout)))
    b = data.draw(st.tensors((fout,))) if bias else None
    ref = x.data @ w.data + (b.data if bias else 0)
    np.testing.assert_allclose(F.linear(x, w, b).data, ref, rtol=1e-12)
    assert gradcheck(lambda *t: F.linear(*t), [x, w] + ([b] if bias else []))


def test_linear_skips_input_gradient_nobody_asked_for():
    x = minigrad.randn(3, 4, dtype=minigrad.float64)  # an input batch: no gradient wanted
    w = minigrad.randn(4, 2, dtype=minigrad.float64, requires_grad=True)
    out = F.linear(x, w)
    ctx = out._ctx
    assert ctx.needs_input_grad == [False, True, False]
    dx, dw, db = ctx.fn.backward(ctx, np.ones((3, 2)))
    assert dx is None and db is None and dw.shape == (4, 2)


@given(pair=st.logits_and_labels(), reduction=hst.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy(pair, reduction):
    z, y = pair
    logp = z.data - z.data.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    losses = -logp[np.arange(len(y.data)), y.data]
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(F.cross_entropy(z, y, reduction=reduction).data, ref, rtol=1e-10)
    assert gradcheck(lambda t: F.cross_entropy(t, y, reduction=reduction), [z])


@given(data=hst.data(), reduction=hst.sampled_from(["mean", "sum", "none"]))
def test_binary_cross_entropy(data, reduction):
    shape = data.draw(st.shapes(max_dims=2))
    p = data.draw(st.probabilities(shape))
    y = data.draw(st.probabilities(shape))  # soft targets: the target gradient is checked too
    losses = -(y.data * np.log(p.data) + (1 - y.data) * np.log(1 - p.data))
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, reduction=reduction).data, ref, rtol=1e-10)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), [p, y])


@given(data=hst.data(), reduction=hst.sampled_from(["mean", "sum", "none"]))
def test_bce_with_logits(data, reduction):
    shape = data.draw(st.shapes(max_dims=2))
    z = data.draw(st.tensors(shape, -6, 6))
    y = data.draw(st.probabilities(shape))
    s = 1 / (1 + np.exp(-z.data))
    losses = -(y.data * np.log(s) + (1 - y.data) * np.log(1 - s))
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, y, reduction=reduction).data, ref, rtol=1e-9)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction), [z, y])


@given(pair=st.broadcastable_tensors(num_shapes=1), data=hst.data(), reduction=hst.sampled_from(["mean", "sum", "none"]))
def test_mse(pair, data, reduction):
    (x,) = pair
    y = data.draw(st.tensors(x.shape))
    d2 = (x.data - y.data) ** 2
    ref = {"mean": d2.mean(), "sum": d2.sum(), "none": d2}[reduction]
    np.testing.assert_allclose(F.mse_loss(x, y, reduction=reduction).data, ref, rtol=1e-12)
    assert gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y])


@pytest.mark.parametrize("big", [1e4, -1e4])
def test_losses_stay_finite_at_extreme_logits(big):
    z = minigrad.tensor([[big, 0.0, -big], [0.0, big, 1.0]], requires_grad=True)
    loss = F.cross_entropy(z, minigrad.tensor([2, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(z.grad.data).all()
    rows = np.array([[big, 0.0, -big], [0.0, big, 1.0]])
    m = rows.max(1, keepdims=True)
    ref = (m[:, 0] + np.log(np.exp(rows - m).sum(1)) - rows[[0, 1], [2, 0]]).mean()
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-6)  # about 1e4: costly, not inf or nan
    z2 = minigrad.tensor([big, -big, big], requires_grad=True)
    loss2 = F.binary_cross_entropy_with_logits(z2, minigrad.tensor([0.0, 1.0, 1.0]))
    loss2.backward()
    zz, yy = np.array([big, -big, big]), np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(loss2.item(), np.mean(np.maximum(zz, 0) - zz * yy), rtol=1e-6)
    assert np.isfinite(z2.grad.data).all()


def test_bce_on_probabilities_clamps_log_at_minus_100_as_pytorch():
    p = minigrad.tensor([0.0, 1.0], dtype=minigrad.float64, requires_grad=True)
    y = minigrad.tensor([1.0, 0.0], dtype=minigrad.float64)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [100.0, 100.0])
    loss.sum().backward()
    assert np.isfinite(p.grad.data).all()

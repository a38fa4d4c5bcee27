"""Every op: forward against NumPy, backward against central differences (gradcheck, float64,
random upstream gradient) over hypothesis-drawn shapes and values, kinks tested exactly."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst
from hypothesis.extra import numpy as hnp

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


def _f64(values, requires_grad=True):
    return minigrad.tensor(values, dtype=minigrad.float64, requires_grad=requires_grad)


@given(pair=st.broadcastable_tensors(), data=hst.data())
def test_pow_with_a_tensor_exponent(pair, data):
    base, exponent = pair
    base = minigrad.tensor(np.abs(base.data) + 0.1, requires_grad=True)  # a positive base: log(a) is real
    np.testing.assert_allclose((base ** exponent).data, base.data ** exponent.data, rtol=1e-12)
    assert gradcheck(lambda a, b: a ** b, [base, exponent])
    assert gradcheck(lambda a, b: a.pow(b) * a ** 2.0 + b ** 2, [base, exponent])  # both used twice
    number = data.draw(hst.sampled_from([0.5, 2.0, 3]))
    assert gradcheck(lambda b: number ** b, [exponent])


@given(x=st.tensors(away_from=(0.0,), margin=0.05), p=hst.sampled_from([2, 3, -1, -2, 2.0]))
def test_pow_of_negative_bases_with_integer_exponents(x, p):
    np.testing.assert_allclose((x ** p).data, x.data ** float(p), rtol=1e-12)
    assert gradcheck(lambda t: t ** p, [x])


def test_pow_conventions_at_zero_exactly_as_pytorch():
    a = _f64([0.0, 0.0, 0.0, 2.0, -2.0, 0.0])
    b = _f64([0.0, 2.0, 0.5, 0.0, 2.0, -1.0])
    y = a ** b
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 0.0, 1.0, 4.0, np.inf])
    y.backward(_f64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], False))
    # da = G b a^(b-1), 0 where b == 0;  db = G y log(a), 0 where a == 0 and b >= 0
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0, np.inf, 0.0, -20.0, -np.inf])
    np.testing.assert_array_equal(b.grad.data[:4], [0.0, 0.0, 0.0, 4.0 * np.log(2.0)])
    assert np.isnan(b.grad.data[4]) and b.grad.data[5] == -np.inf  # log of a negative base; inf * log(0)
    t = _f64([-1.0, 0.0, 0.5, 2.0])
    z = 0 ** t
    np.testing.assert_array_equal(z.data, [np.inf, 1.0, 0.0, 0.0])
    z.backward(_f64([1.0, 1.0, 1.0, 1.0], False))
    np.testing.assert_array_equal(t.grad.data, [-np.inf, 0.0, 0.0, 0.0])
    t.grad = None
    n = (-2.0) ** t
    np.testing.assert_array_equal(n.data[[0, 1, 3]], [-0.5, 1.0, 4.0])
    n.backward(_f64([1.0, 1.0, 1.0, 1.0], False))
    assert np.isnan(t.grad.data).all()  # (-2) ** t has no real derivative in t, as in PyTorch


def test_integer_to_a_negative_integer_power_raises():
    with pytest.raises(RuntimeError, match="pow: integers to negative integer powers"):
        minigrad.tensor([1, 2]) ** -1


@given(x=st.tensors(away_from=(0.0,), margin=1e-3))
def test_abs(x):
    np.testing.assert_array_equal(abs(x).data, np.abs(x.data))
    assert gradcheck(lambda t: t.abs() * t, [x])


@given(x=st.positive_tensors())
def test_sqrt(x):
    np.testing.assert_allclose(x.sqrt().data, np.sqrt(x.data), rtol=1e-12)
    assert gradcheck(lambda t: t.sqrt() + t.sqrt() * t, [x])


def test_abs_and_sqrt_at_zero_as_pytorch():
    x = _f64([-2.0, 0.0, 3.0])
    x.abs().backward(_f64([5.0, 7.0, 11.0], False))
    np.testing.assert_array_equal(x.grad.data, [-5.0, 0.0, 11.0])  # sign(0) = 0
    y = _f64([0.0, 4.0])
    y.sqrt().backward(_f64([1.0, 1.0], False))
    np.testing.assert_array_equal(y.grad.data, [np.inf, 0.25])


@given(data=hst.data())
def test_clamp_with_number_bounds(data):
    lo, hi = data.draw(hst.sampled_from([(-1.0, 1.0), (0.0, None), (None, 0.5), (-0.5, -0.5)]))
    x = data.draw(st.tensors(away_from=tuple(b for b in (lo, hi) if b is not None), margin=1e-3))
    ref = np.clip(x.data, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    np.testing.assert_array_equal(x.clamp(lo, hi).data, ref)
    np.testing.assert_array_equal(minigrad.clip(x, lo, hi).data, ref)
    assert gradcheck(lambda t: t.clamp(min=lo, max=hi) * t, [x])


@given(values=st.broadcastable_tensors(num_shapes=3))
def test_clamp_with_tensor_bounds(values):
    x, lo, hi = values
    out_shape = np.broadcast_shapes(x.shape, lo.shape, hi.shape)
    st.assume(np.abs(np.broadcast_to(x.data, out_shape) - np.broadcast_to(lo.data, out_shape)).min() > 1e-3)
    st.assume(np.abs(np.broadcast_to(x.data, out_shape) - np.broadcast_to(hi.data, out_shape)).min() > 1e-3)
    st.assume(np.abs(np.broadcast_to(lo.data, out_shape) - np.broadcast_to(hi.data, out_shape)).min() > 1e-3)
    np.testing.assert_array_equal(x.clamp(lo, hi).data, np.minimum(np.maximum(x.data, lo.data), hi.data))
    assert gradcheck(lambda a, b, c: minigrad.clamp(a, b, c), [x, lo, hi])
    assert gradcheck(lambda a, b: a.clamp(min=b) + a.clamp(max=b), [x, lo])


def test_clamp_gradient_at_the_bounds_as_pytorch():
    x = _f64([-1.0, -0.5, 0.0, 0.5, 1.0])
    x.clamp(-0.5, 0.5).backward(_f64([1.0, 2.0, 3.0, 4.0, 5.0], False))
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 3.0, 4.0, 0.0])  # passes where lo <= x <= hi
    x, lo, hi = _f64([-1.0, 0.0, 1.0, 2.0, 3.0]), _f64([0.0, 0.0, 1.0, 3.0, 3.0]), _f64([0.0, 1.0, 1.0, 2.0, 5.0])
    y = x.clamp(lo, hi)
    np.testing.assert_array_equal(y.data, [0.0, 0.0, 1.0, 2.0, 3.0])  # lo > hi gives hi
    y.backward(_f64([1.0, 2.0, 3.0, 4.0, 5.0], False))
    np.testing.assert_array_equal(x.grad.data, [0.0, 2.0, 3.0, 0.0, 5.0])
    np.testing.assert_array_equal(lo.grad.data, [0.0, 0.0, 0.0, 0.0, 0.0])  # lo == hi: nobody gets it
    np.testing.assert_array_equal(hi.grad.data, [0.0, 0.0, 0.0, 4.0, 0.0])


@pytest.mark.parametrize("name, ref", [("maximum", np.maximum), ("minimum", np.minimum)])
@given(pair=st.broadcastable_tensors())
def test_maximum_minimum(name, ref, pair):
    a, b = pair
    shape = np.broadcast_shapes(a.shape, b.shape)
    st.assume(np.abs(np.broadcast_to(a.data, shape) - np.broadcast_to(b.data, shape)).min() > 1e-3)
    op = getattr(minigrad, name)
    np.testing.assert_array_equal(op(a, b).data, ref(a.data, b.data))
    assert gradcheck(op, [a, b])
    assert gradcheck(lambda x, y: op(x, y) * x + getattr(x, name)(y * 0.5), [a, b])


def test_maximum_minimum_ties_split_the_gradient_as_pytorch():
    a, b = _f64([1.0, 2.0, 3.0]), _f64([1.0, 1.0, 4.0])
    (minigrad.maximum(a, b) * 2 + minigrad.minimum(a, b) * 10).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [6.0, 2.0, 10.0])
    np.testing.assert_array_equal(b.grad.data, [6.0, 10.0, 2.0])


@given(values=st.broadcastable_tensors(num_shapes=3))
def test_where(values):
    c, a, b = values
    cond = c > 0
    np.testing.assert_array_equal(minigrad.where(cond, a, b).data, np.where(cond.data, a.data, b.data))
    assert gradcheck(lambda x, y: minigrad.where(cond, x, y) * x, [a, b])
    assert gradcheck(lambda x: minigrad.where(cond, x, 0.5) + x.where(cond, -1.0), [a])


@given(values=st.broadcastable_tensors(num_shapes=2), value=hst.sampled_from([0.0, -1e9, 2.5]))
def test_masked_fill(values, value):
    x, m = values
    st.assume(np.broadcast_shapes(x.shape, m.shape) == x.shape)
    mask = m > 0
    np.testing.assert_array_equal(x.masked_fill(mask, value).data, np.where(mask.data, value, x.data))
    assert gradcheck(lambda t: t.masked_fill(mask, value) * t, [x])
    fill = _f64(2.5)
    assert gradcheck(lambda t, v: t.masked_fill(mask, v), [x, fill])  # a 0-d tensor value gets its gradient


@given(x=st.tensors(shape=st.shapes(min_dims=2, max_dims=3)), diagonal=hst.integers(-3, 3))
def test_tril_triu(x, diagonal):
    np.testing.assert_array_equal(x.tril(diagonal).data, np.tril(x.data, diagonal))
    np.testing.assert_array_equal(minigrad.triu(x, diagonal).data, np.triu(x.data, diagonal))
    assert gradcheck(lambda t: t.tril(diagonal) * t, [x])
    assert gradcheck(lambda t: minigrad.triu(t, diagonal), [x])


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_softmax_methods(x, data):
    dim = data.draw(hst.integers(-x.ndim, x.ndim - 1))
    np.testing.assert_allclose(x.softmax(dim).data, F.softmax(x, dim).data, rtol=1e-12)
    assert gradcheck(lambda t: t.softmax(dim) * t.log_softmax(dim), [x])


@given(x=st.tensors())
def test_casts_pass_the_gradient_back_in_the_input_dtype(x):
    y = x.float()
    assert y.dtype == minigrad.float32 and y.grad_fn is not None
    upstream = np.random.default_rng(0).standard_normal(x.shape).astype(np.float32)
    (y * minigrad.tensor(upstream)).sum().backward()
    assert x.grad.dtype == minigrad.float64
    np.testing.assert_array_equal(x.grad.data, upstream.astype(np.float64))  # d(cast)/dx = 1, exactly
    assert gradcheck(lambda t: t.to(minigrad.float64) * t.double(), [x])  # a cast to its own dtype is t


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


@hst.composite
def distinct_tensors(draw, shape=None, min_dims=1, min_side=1):
    """Tensors whose values are 0.25 apart, so that no max, min or top-k flips under gradcheck's
    +-1e-6 nudges (drawn as a shuffled grid rather than filtered, which would reject most)."""
    shape = draw(st.shapes(min_dims=min_dims, min_side=min_side)) if shape is None else shape
    order = draw(hst.permutations(range(int(np.prod(shape)))))
    return minigrad.tensor((np.array(order, dtype=np.float64) * 0.25 - 2.0).reshape(shape), requires_grad=True)


@given(x=distinct_tensors(), data=hst.data())
def test_amax_amin(x, data):
    axis, keepdims = _axes(data.draw, x.ndim), data.draw(hst.booleans())
    np.testing.assert_array_equal(x.amax(axis, keepdims).data, x.data.max(axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(x.amin(dim=axis, keepdim=keepdims).data, x.data.min(axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: t.amax(axis, keepdims), [x])
    assert gradcheck(lambda t: t.amin(axis=axis, keepdims=keepdims) * t.amax(), [x])  # x used twice


@given(x=distinct_tensors(), data=hst.data())
def test_max_min_with_dim_return_values_and_indices(x, data):
    dim, keepdim = data.draw(hst.integers(-x.ndim, x.ndim - 1)), data.draw(hst.booleans())
    for name, ref, arg in (("max", np.max, np.argmax), ("min", np.min, np.argmin)):
        values, indices = getattr(x, name)(dim, keepdim)
        np.testing.assert_array_equal(values.data, ref(x.data, axis=dim, keepdims=keepdim))
        np.testing.assert_array_equal(indices.data, arg(x.data, axis=dim, keepdims=keepdim))
        assert indices.dtype == minigrad.int64 and not indices.requires_grad
        assert gradcheck(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values, [x])


def test_amax_ties_share_the_gradient():
    x = minigrad.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]], dtype=minigrad.float64, requires_grad=True)
    x.amax(dim=1).backward(minigrad.tensor([4.0, 5.0], dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.data, [[0, 2, 2], [5, 0, 0]])


def test_max_ties_exactly_as_pytorch():
    """max() of all elements splits a tie evenly; max(dim) gives it all to the first index."""
    x = minigrad.tensor([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]], dtype=minigrad.float64, requires_grad=True)
    x.max().backward(minigrad.tensor(6.0, dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.data, [[0, 2, 2], [2, 0, 0]])
    x.grad = None
    values, indices = x.max(dim=1)
    values.backward(minigrad.tensor([4.0, 5.0], dtype=minigrad.float64))
    np.testing.assert_array_equal(indices.data, [1, 0])
    np.testing.assert_array_equal(x.grad.data, [[0, 4, 0], [5, 0, 0]])
    x.grad = None
    x.min(dim=0).values.backward(minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64))
    np.testing.assert_array_equal(x.grad.data, [[1, 0, 0], [0, 2, 3]])


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3, min_side=2)), data=hst.data())
def test_var_and_std(x, data):
    axis, keepdims = _axes(data.draw, x.ndim), data.draw(hst.booleans())
    correction = data.draw(hst.sampled_from([0, 1]))
    ref = x.data.var(axis=axis, keepdims=keepdims, ddof=correction)
    np.testing.assert_allclose(x.var(axis, keepdim=keepdims, correction=correction).data, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.std(axis, bool(correction), keepdims).data, np.sqrt(ref), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda t: t.var(axis, keepdim=keepdims, correction=correction), [x])
    st.assume((ref > 1e-3).all())  # sqrt's slope blows up near a zero variance
    assert gradcheck(lambda t: t.std(axis, correction=correction) * t.sum(), [x])


@given(x=distinct_tensors(), data=hst.data())
def test_topk(x, data):
    dim = data.draw(hst.integers(-x.ndim, x.ndim - 1))
    k = data.draw(hst.integers(1, x.shape[dim]))
    largest = data.draw(hst.booleans())
    values, indices = x.topk(k, dim, largest)
    order = np.argsort(-x.data if largest else x.data, axis=dim)
    ref_idx = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(indices.data, ref_idx)
    np.testing.assert_array_equal(values.data, np.take_along_axis(x.data, ref_idx, dim))
    assert gradcheck(lambda t: t.topk(k, dim, largest).values, [x])


@given(x=st.tensors(shape=st.shapes(min_dims=2, max_dims=3)), data=hst.data())
def test_gather(x, data):
    dim = data.draw(hst.integers(0, x.ndim - 1))
    shape = tuple(data.draw(hst.integers(1, 4)) if d == dim else data.draw(hst.integers(1, n))
                  for d, n in enumerate(x.shape))
    index = data.draw(hnp.arrays(np.int64, shape, elements=hst.integers(0, x.shape[dim] - 1)))
    reference = np.take_along_axis(x.data[tuple(slice(0, n) if d != dim else slice(None)
                                                 for d, n in enumerate(shape))], index, dim)
    np.testing.assert_array_equal(x.gather(dim, minigrad.tensor(index)).data, reference)
    assert gradcheck(lambda t: t.gather(dim, minigrad.tensor(index)), [x])  # repeats accumulate


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


@given(x=st.tensors(shape=st.shapes(min_dims=0, max_dims=3)), data=hst.data())
def test_unsqueeze_squeeze_flatten(x, data):
    dim = data.draw(hst.integers(-x.ndim - 1, x.ndim))
    np.testing.assert_array_equal(x.unsqueeze(dim).data, np.expand_dims(x.data, dim))
    ones = tuple(i for i, n in enumerate(x.shape) if n == 1)
    np.testing.assert_array_equal(x.squeeze().data, np.squeeze(x.data))
    np.testing.assert_array_equal(x.squeeze(ones).data, np.squeeze(x.data, ones))
    start = data.draw(hst.integers(0, max(x.ndim - 1, 0)))
    end = data.draw(hst.integers(start, max(x.ndim - 1, 0)))
    flat = x.flatten(start, end)
    assert flat.shape == (x.shape[:start] + (int(np.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
                          if x.ndim else (1,))
    assert gradcheck(lambda t: t.unsqueeze(dim).squeeze(dim) * t.flatten(start, end).reshape(t.shape), [x])


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_permute(x, data):
    dims = data.draw(hst.permutations(range(x.ndim)))
    np.testing.assert_array_equal(x.permute(*dims).data, x.data.transpose(dims))
    assert gradcheck(lambda t: t.permute(dims), [x])


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_expand(x, data):
    lead = data.draw(hst.lists(hst.integers(1, 3), max_size=2))
    sizes = lead + [data.draw(hst.integers(1, 3)) if n == 1 else data.draw(hst.sampled_from([n, -1]))
                    for n in x.shape]
    target = tuple(lead) + tuple(n if s == -1 else s for n, s in zip(x.shape, sizes[len(lead):]))
    np.testing.assert_array_equal(x.expand(*sizes).data, np.broadcast_to(x.data, target))
    assert gradcheck(lambda t: t.expand(sizes) * 1.5, [x])  # repeated elements sum their gradients


def test_expand_refuses_a_size_that_is_not_1():
    with pytest.raises(ValueError, match=r"expand: the size of dimension 0 \(3\) must be 1"):
        minigrad.zeros(3, 1).expand(4, 2)


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_split_chunk(x, data):
    dim = data.draw(hst.integers(-x.ndim, x.ndim - 1))
    size = data.draw(hst.integers(1, x.shape[dim] + 1))
    pieces = x.split(size, dim)
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces], dim), x.data)
    assert all(p.shape[dim] == size for p in pieces[:-1])
    chunks = data.draw(hst.integers(1, 4))
    per = -(-x.shape[dim] // chunks)
    assert [p.shape[dim] for p in x.chunk(chunks, dim)] == [min(per, x.shape[dim] - s)
                                                            for s in range(0, x.shape[dim], per)]
    assert gradcheck(lambda t: minigrad.cat([p * (i + 1) for i, p in enumerate(t.split(size, dim))], dim), [x])


@given(x=st.tensors(shape=st.shapes(min_dims=1, max_dims=3)), data=hst.data())
def test_cat_stack(x, data):
    dim = data.draw(hst.integers(-x.ndim, x.ndim - 1))
    extra = tuple(data.draw(hst.integers(1, 3)) if d == dim % x.ndim else n for d, n in enumerate(x.shape))
    y = data.draw(st.tensors(shape=extra))
    np.testing.assert_array_equal(minigrad.cat([x, y, x], dim).data, np.concatenate([x.data, y.data, x.data], dim))
    assert gradcheck(lambda a, b: minigrad.cat([a, b, a * 2], dim), [x, y])
    sdim = data.draw(hst.integers(-x.ndim - 1, x.ndim))
    np.testing.assert_array_equal(minigrad.stack([x, x * 2], sdim).data, np.stack([x.data, x.data * 2], sdim))
    assert gradcheck(lambda a: minigrad.stack([a, a * a], sdim), [x])


def test_cat_says_which_tensor_does_not_fit():
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\), tensor 0 has \(3, 4\)"):
        minigrad.cat([minigrad.zeros(3, 4), minigrad.zeros(2, 4)], dim=1)


@given(x=st.tensors(shape=st.shapes(min_dims=2, max_dims=2)))
def test_clone_and_contiguous(x):
    y = x.clone()
    assert y.data is not x.data and y.grad_fn is not None
    assert x.contiguous() is x
    t = x.T
    assert t.contiguous().is_contiguous() and (t.contiguous() is t) == t.data.flags.c_contiguous
    assert gradcheck(lambda t: t.clone() * t + t.T.contiguous().T, [x])


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

"""Convolution, pooling, batch norm and dropout (issue 12) beyond the fixed cases of the op
registry: gradchecks and PyTorch parity over hypothesis-drawn geometries, max-pooling ties
exactly as PyTorch breaks them, the layers' defaults, buffers and modes, and the errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import minigrad
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import strategies as st

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
tF = torch.nn.functional


def as_torch(t):
    return None if t is None else torch.tensor(t.data, requires_grad=t.requires_grad)


def assert_matches_torch(ours, theirs, inputs, rtol=1e-12, atol=1e-12, exact=False):
    """Forward ``ours(*inputs)`` against ``theirs`` on copies, then backward with one random
    upstream gradient; every input gradient must agree (bit for bit if ``exact``)."""
    copies = [as_torch(t) for t in inputs]
    out, ref = ours(*inputs), theirs(*copies)
    assert out.shape == tuple(ref.shape)
    if exact:
        compare = np.testing.assert_array_equal
    else:
        def compare(a, b):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    compare(out.data, ref.detach().numpy())
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    for t in inputs:
        if t is not None:
            t.grad = None
    out.backward(minigrad.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for t, r in zip(inputs, copies):
        if t is not None and t.requires_grad:
            compare(t.grad.data, r.grad.numpy())


# -- convolution ---------------------------------------------------------------------------

@settings(max_examples=40)
@given(st.conv_problems(dims=2))
def test_conv2d_gradcheck_and_pytorch_parity(problem):
    x, w, b, kw = problem
    minigrad.gradcheck(lambda *t: F.conv2d(t[0], t[1], t[2] if len(t) > 2 else None, **kw),
                       [x, w] + ([b] if b is not None else []))
    assert_matches_torch(lambda x, w, b: F.conv2d(x, w, b, **kw), lambda x, w, b: tF.conv2d(x, w, b, **kw), [x, w, b])


@settings(max_examples=25)
@given(st.conv_problems(dims=1, max_kernel=4))
def test_conv1d_gradcheck_and_pytorch_parity(problem):
    x, w, b, kw = problem
    minigrad.gradcheck(lambda x, w: F.conv1d(x, w, b, **kw), [x, w])
    assert_matches_torch(lambda x, w, b: F.conv1d(x, w, b, **kw), lambda x, w, b: tF.conv1d(x, w, b, **kw), [x, w, b])


def test_conv_input_used_twice_adds_both_gradients():
    """The same image convolved twice (a diamond): its gradient is the sum of both paths."""
    x = minigrad.randn(2, 3, 5, 5, dtype=minigrad.float64, requires_grad=True)
    w1 = minigrad.randn(4, 3, 3, 3, dtype=minigrad.float64, requires_grad=True)
    w2 = minigrad.randn(4, 3, 3, 3, dtype=minigrad.float64, requires_grad=True)
    assert minigrad.gradcheck(lambda x, a, b: F.conv2d(x, a, padding=1) * F.conv2d(x, b, padding=1), [x, w1, w2])


def test_conv2d_layer_matches_torch_layer_with_the_same_weights():
    minigrad.manual_seed(0)
    ours = nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), dilation=(1, 2), groups=1).double()
    theirs = torch.nn.Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), dilation=(1, 2)).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))  # the same (out, in, kh, kw) layout
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    x = np.random.default_rng(1).standard_normal((4, 3, 11, 13))
    np.testing.assert_allclose(ours(minigrad.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-13)
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("groups, kernel", [(1, 5), (2, (3, 2)), (6, 3)])
def test_conv2d_default_init_is_pytorchs(groups, kernel):
    """Kaiming uniform with a = sqrt(5): weight and bias in +-1/sqrt(in/groups * kh * kw)."""
    minigrad.manual_seed(0)
    layer = nn.Conv2d(6, 12, kernel, groups=groups)
    k = (kernel, kernel) if isinstance(kernel, int) else kernel
    bound = 1 / np.sqrt(6 // groups * k[0] * k[1])
    assert layer.weight.shape == tuple(torch.nn.Conv2d(6, 12, kernel, groups=groups).weight.shape)
    for p in (layer.weight, layer.bias):
        assert p.dtype == minigrad.float32 and p.requires_grad
        assert np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # spread over the interval, not squeezed
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.1 * bound


# -- pooling -------------------------------------------------------------------------------

@settings(max_examples=40)
@given(st.pool_problems())
def test_max_pool2d_gradcheck_and_pytorch_parity(problem):
    x, kw = problem
    minigrad.gradcheck(lambda x: F.max_pool2d(x, **kw), [x])
    assert_matches_torch(lambda x: F.max_pool2d(x, **kw), lambda x: tF.max_pool2d(x, **kw), [x], exact=True)


@settings(max_examples=40)
@given(st.pool_problems(dilation=False), hst.booleans())
def test_avg_pool2d_gradcheck_and_pytorch_parity(problem, count_include_pad):
    x, kw = problem
    kw["count_include_pad"] = count_include_pad
    minigrad.gradcheck(lambda x: F.avg_pool2d(x, **kw), [x])
    assert_matches_torch(lambda x: F.avg_pool2d(x, **kw), lambda x: tF.avg_pool2d(x, **kw), [x])


@settings(max_examples=60)
@given(hst.data())
def test_max_pool2d_ties_go_where_pytorch_sends_them(data):
    """Many equal values per window: each window's gradient lands on the same element as in
    PyTorch (the first maximum, row by row). The set of elements that get a gradient is the
    same exactly; where overlapping windows send several gradients to one element, the sums
    agree to rounding (the two add them in a different order)."""
    x, kw = data.draw(st.pool_problems())
    ties = np.random.default_rng(data.draw(hst.integers(0, 2**16))).integers(-1, 2, x.shape).astype(np.float64)
    ours, theirs = minigrad.tensor(ties, requires_grad=True), torch.tensor(ties, requires_grad=True)
    out, ref = F.max_pool2d(ours, **kw), tF.max_pool2d(theirs, **kw)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    upstream = np.random.default_rng(1).uniform(1, 2, out.shape)  # positive: no sum cancels to 0
    out.backward(minigrad.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(ours.grad.data != 0, theirs.grad.numpy() != 0)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-14)
    if all(s >= k for s, k in zip(kw["stride"], kw["kernel_size"])) and kw["dilation"] == (1, 1):
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())  # no overlap: bit for bit


def test_max_pool2d_propagates_nan_as_pytorch():
    x = np.arange(32.0).reshape(1, 2, 4, 4)
    x[0, 0, 1, 2] = np.nan
    ours, theirs = F.max_pool2d(minigrad.tensor(x), 2).data, tF.max_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(ours, theirs)
    assert np.isnan(ours[0, 0, 0, 1]) and np.isnan(ours).sum() == 1


def test_max_pool2d_tie_takes_the_first_maximum_in_the_window():
    x = minigrad.tensor([[[[1.0, 3.0], [3.0, 3.0]]]], requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[0.0, 1.0], [0.0, 0.0]]]]


@settings(max_examples=30)
@given(hst.integers(1, 2), hst.integers(1, 3), hst.integers(1, 9), hst.integers(1, 9), hst.integers(1, 5),
       hst.one_of(hst.none(), hst.integers(1, 5)))
def test_adaptive_avg_pool2d_any_sizes(n, c, h, w, oh, ow):
    x = minigrad.tensor(np.random.default_rng(h * 10 + w).standard_normal((n, c, h, w)), requires_grad=True)
    size = (oh, ow)
    minigrad.gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [x])
    assert_matches_torch(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: tF.adaptive_avg_pool2d(x, size), [x])


def test_pool_layers_match_torch_layers():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 8))
    for ours, theirs in [(nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1)),
                         (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
                         (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3)))]:
        np.testing.assert_allclose(ours(minigrad.tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-12)
        assert repr(ours) == repr(theirs)


# -- batch norm ----------------------------------------------------------------------------

@settings(max_examples=30)
@given(hst.data())
def test_batch_norm_gradcheck_and_pytorch_parity(data):
    ndim = data.draw(hst.sampled_from([2, 3, 4]))
    shape = (data.draw(hst.integers(2, 4)), data.draw(hst.integers(1, 3))) + \
        tuple(data.draw(hst.integers(1, 3)) for _ in range(ndim - 2))
    c = shape[1]
    x = data.draw(st.tensors(shape))
    w, b = data.draw(st.tensors((c,))), data.draw(st.tensors((c,)))
    training = data.draw(hst.booleans())
    mean, var = np.linspace(-0.5, 0.5, c), np.linspace(0.5, 2.0, c)
    st.assume(not training or x.data.var(axis=(0,) + tuple(range(2, ndim))).min() > 1e-3)

    def ours(x, w, b):
        return F.batch_norm(x, minigrad.tensor(mean), minigrad.tensor(var), w, b, training, 0.1, 1e-5)

    def theirs(x, w, b):
        return tF.batch_norm(x, torch.tensor(mean), torch.tensor(var), w, b, training, 0.1, 1e-5)

    minigrad.gradcheck(ours, [x, w, b])
    assert_matches_torch(ours, theirs, [x, w, b], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("layer, shape", [("BatchNorm2d", (6, 3, 4, 5)), ("BatchNorm1d", (8, 3)),
                                          ("BatchNorm1d", (5, 3, 7))])
def test_batch_norm_layer_tracks_running_statistics_as_pytorch(layer, shape, momentum):
    ours = getattr(nn, layer)(3, momentum=momentum).double()
    theirs = getattr(torch.nn, layer)(3, momentum=momentum).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        w, b = rng.uniform(0.5, 2, 3), rng.standard_normal(3)
        ours.weight.data[...], ours.bias.data[...] = w, b
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    for step in range(4):  # training: batch statistics, running ones updated
        x = rng.standard_normal(shape) * (step + 1) + step
        np.testing.assert_allclose(ours(minigrad.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12, atol=1e-12)
    state, ref_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(ref_state)
    for k in state:
        np.testing.assert_allclose(state[k].data, ref_state[k].numpy(), rtol=1e-12, atol=1e-14)
    assert int(ours.num_batches_tracked.item()) == 4 and ours.num_batches_tracked.dtype == minigrad.int64
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(minigrad.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours(minigrad.tensor(x[:1])).data, ours(minigrad.tensor(x)).data[:1], rtol=1e-12)


def test_batch_norm_without_running_stats_uses_the_batch_in_eval_too():
    ours, theirs = nn.BatchNorm2d(2, affine=False, track_running_stats=False), \
        torch.nn.BatchNorm2d(2, affine=False, track_running_stats=False)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert list(ours.parameters()) == []
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(minigrad.tensor(x)).data, theirs(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_batch_norm_buffers_save_load_and_move(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    model(minigrad.randn(5, 1, 6, 6))
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert len(list(model.parameters())) == 4  # the buffers are no parameters: optimisers never see them
    minigrad.save(model.state_dict(), tmp_path / "m.npz")
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    fresh.load_state_dict(minigrad.load(tmp_path / "m.npz"))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k].data, v.data)
    fresh.double()
    assert fresh[1].running_var.dtype == minigrad.float64
    assert fresh[1].num_batches_tracked.dtype == minigrad.int64  # casts reach floating-point buffers only
    with pytest.raises(RuntimeError, match="missing keys: 1.running_mean"):
        fresh.load_state_dict({k: v for k, v in model.state_dict().items() if k != "1.running_mean"})


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(minigrad.randn(1, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 4-D input"):
        nn.BatchNorm2d(3)(minigrad.randn(4, 3))


# -- dropout -------------------------------------------------------------------------------

def test_dropout_is_inverted_reproducible_and_off_in_eval():
    x = minigrad.randn(200, 50, requires_grad=True)
    layer = nn.Dropout(0.3)
    minigrad.manual_seed(7)
    y1 = layer(x)
    minigrad.manual_seed(7)
    y2 = layer(x)
    np.testing.assert_array_equal(y1.data, y2.data)
    kept = y1.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(y1.data[kept], x.data[kept] / np.float32(0.7), rtol=1e-6)
    y1.sum().backward()
    np.testing.assert_allclose(x.grad.data, kept / np.float32(0.7), rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    assert F.dropout(x, 0.3, training=False) is x


def test_dropout_scales_as_pytorchs():
    x = np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32)
    ours = F.dropout(minigrad.tensor(x), 0.25).data
    theirs = tF.dropout(torch.tensor(x), 0.25).numpy()
    for y in (ours, theirs):  # the same set of outputs: 0, or x / (1 - p) computed in float32
        kept = y != 0
        np.testing.assert_array_equal(y[kept], (torch.tensor(x) * (1 / 0.75)).numpy()[kept])


def test_dropout2d_drops_whole_channels_and_edge_probabilities():
    x = minigrad.randn(8, 16, 3, 3) + 10
    y = nn.Dropout2d(0.5)(x).data.reshape(8, 16, -1)
    assert ((y == 0).all(-1) | (y != 0).all(-1)).all() and (y == 0).any()
    assert (F.dropout(x, 1.0).data == 0).all()
    assert F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


# -- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: nn.Conv2d(1, 6, 5)(minigrad.randn(2, 1, 3, 3)), r"Conv2d\(1, 6, kernel_size=\(5, 5\).*spans 5x5 but the "
                                                             r"padded input is only 3x3"),
    (lambda: nn.Conv2d(1, 6, 5)(minigrad.randn(64, 28, 28)), r"got 64 channels.*one image without the batch axis"),
    (lambda: nn.Conv2d(3, 6, 3)(minigrad.randn(2, 784)), r"expected a 4-D input \(N, C, H, W\)"),
    (lambda: nn.Conv2d(4, 6, 3, groups=3), "divisible by groups"),
    (lambda: F.conv2d(minigrad.randn(2, 4, 5, 5), minigrad.randn(6, 2, 3, 3), groups=4), "do not split into groups"),
    (lambda: F.conv2d(minigrad.randn(1, 2, 5, 5), minigrad.randn(3, 2, 3, 3), stride=2, padding="same"),
     "'same' is not supported for strided"),
    (lambda: F.max_pool2d(minigrad.randn(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda: nn.MaxPool2d(4)(minigrad.randn(1, 1, 3, 3)), "larger than the padded input"),
])
def test_errors_name_the_layer_and_the_shapes(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_conv1d_refuses_a_conv2d_weight():
    with pytest.raises(ValueError, match=r"conv1d: weight must have shape \(out_channels, in_channels/groups, k\)"):
        F.conv1d(minigrad.randn(2, 3, 9), minigrad.randn(4, 3, 3, 3))


def test_conv_refuses_mixed_dtypes():
    with pytest.raises(TypeError, match="input is float64 but weight is float32"):
        nn.Conv2d(1, 2, 3)(minigrad.randn(1, 1, 4, 4, dtype=minigrad.float64))

"""``minigrad.quantization``: observers and qparams equal to PyTorch 2.13's, exact integer
accumulation, dynamic / static / QAT flows, and int8 checkpoints 4x smaller that load back."""
import copy
import os

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad import quantization as Q
from minigrad.quantization.modules import FLOAT32_EXACT

torch = pytest.importorskip("torch")
TO = pytest.importorskip("torch.ao.quantization")


def mlp(seed=0, hidden=16):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, hidden), nn.ReLU(), nn.Linear(hidden, 5))


def batches(seed=0, n=3, size=(32, 20), scale=2.0):
    rng = np.random.default_rng(seed)
    return [minigrad.tensor((rng.standard_normal(size) * scale + rng.uniform(-1, 1)).astype(np.float32))
            for _ in range(n)]


# -- observers and qparams: PyTorch's formulas, bit for bit -----------------------------------

OBSERVERS = [
    (lambda: Q.MinMaxObserver(), lambda: TO.MinMaxObserver()),
    (lambda: Q.MinMaxObserver(reduce_range=True), lambda: TO.MinMaxObserver(reduce_range=True)),
    (lambda: Q.MinMaxObserver(dtype=Q.qint8, qscheme=Q.per_tensor_symmetric),
     lambda: TO.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
    (lambda: Q.MinMaxObserver(dtype=Q.quint8, qscheme=Q.per_tensor_symmetric),
     lambda: TO.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric)),
    (lambda: Q.MinMaxObserver(quant_min=0, quant_max=15), lambda: TO.MinMaxObserver(quant_min=0, quant_max=15)),
    (lambda: Q.MovingAverageMinMaxObserver(averaging_constant=0.1),
     lambda: TO.MovingAverageMinMaxObserver(averaging_constant=0.1)),
    (lambda: Q.PerChannelMinMaxObserver(ch_axis=1),
     lambda: TO.PerChannelMinMaxObserver(ch_axis=1, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)),
    (lambda: Q.PerChannelMinMaxObserver(ch_axis=0, dtype=Q.quint8, qscheme=Q.per_channel_affine),
     lambda: TO.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.quint8, qscheme=torch.per_channel_affine)),
]


@pytest.mark.parametrize("make", OBSERVERS, ids=range(len(OBSERVERS)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_observer_qparams_equal_pytorch_s(make, seed):
    ours, theirs = make[0](), make[1]()
    for x in batches(seed):
        assert ours(x) is x
        theirs(torch.tensor(x.data))
    scale, zero_point = ours.calculate_qparams()
    t_scale, t_zero_point = theirs.calculate_qparams()
    assert scale.dtype == np.float32 and scale.data.tobytes() == t_scale.numpy().tobytes()
    assert np.array_equal(zero_point.data, t_zero_point.numpy())


def test_observer_state_dict_and_errors():
    obs = Q.MinMaxObserver()
    with pytest.raises(RuntimeError, match="no values observed"):
        obs.calculate_qparams()
    obs(minigrad.tensor([-1.0, 3.0]))
    assert sorted(obs.state_dict()) == ["max_val", "min_val"]
    assert (float(obs.min_val.data), float(obs.max_val.data)) == (-1.0, 3.0)
    with pytest.raises(ValueError, match="per_channel"):
        Q.PerChannelMinMaxObserver(qscheme=Q.per_tensor_affine)
    with pytest.raises(ValueError, match="do not fit qint8"):
        Q.MinMaxObserver(dtype=Q.qint8, quant_min=-200, quant_max=0)
    with pytest.raises(TypeError, match="qint8 or quint8"):
        Q.MinMaxObserver(dtype=minigrad.float32)


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("name", ["normal", "student_t", "relu", "relu_outlier"])
def test_histogram_observer_never_does_worse_than_min_max_nor_than_pytorch_s(name, bits):
    """At 8 bits the L2-best range clips almost nothing (one outlier clipped costs more than the
    rounding of all the others), so all three agree; at 4 bits clipping pays, and the exhaustive
    search finds it where PyTorch's (whose error model assumes 256 levels) does not."""
    rng = np.random.default_rng(0)
    x = {"normal": rng.standard_normal(20_000), "student_t": rng.standard_t(3, 20_000),
         "relu": np.maximum(rng.standard_normal(20_000), 0),
         "relu_outlier": np.r_[np.maximum(rng.standard_normal(19_999), 0), 60.0]}[name].astype(np.float32)
    qmax = 2 ** bits - 1
    ours = Q.HistogramObserver(quant_min=0, quant_max=qmax)
    minmax = Q.MinMaxObserver(quant_min=0, quant_max=qmax)
    theirs = TO.HistogramObserver(quant_min=0, quant_max=qmax)
    for part in np.array_split(x, 5):  # the range grows between parts: counts are re-binned
        ours(minigrad.tensor(part))
        minmax(minigrad.tensor(part))
        theirs(torch.tensor(part))
    assert ours.histogram.data.sum() == x.size

    def error(obs):
        scale, zero_point = obs.calculate_qparams()
        s, z = float(scale[0]), int(zero_point[0])
        return np.mean((s * (np.clip(np.rint(x / s) + z, 0, qmax) - z) - x) ** 2)

    ours_err, mm_err, t_err = error(ours), error(minmax), error(theirs)
    assert ours_err <= mm_err * 1.001
    assert ours_err <= t_err * 1.2
    if bits == 4 and name in ("normal", "student_t"):
        assert ours_err < 0.6 * min(mm_err, t_err)


def test_quantize_and_dequantize_match_pytorch():
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    q = Q.quantize(x, 0.02, 130, 0, 255, Q.quint8)
    assert q.dtype == np.uint8
    theirs = torch.quantize_per_tensor(torch.tensor(x), 0.02, 130, torch.quint8)
    assert np.array_equal(q.data, theirs.int_repr().numpy())
    r = Q.dequantize(q, 0.02, 130)
    assert np.all(np.abs(r.data - x)[(x > -2.6) & (x < 2.5)] <= 0.01 + 1e-7)
    s, z = np.array([0.01, 0.02, 0.005, 0.03], np.float32), np.zeros(4, np.int64)
    qc = Q.quantize(x, s, z, -128, 127, Q.qint8, axis=1)
    theirs = torch.quantize_per_channel(torch.tensor(x), torch.tensor(s), torch.tensor(z), 1, torch.qint8)
    assert np.array_equal(qc.data, theirs.int_repr().numpy())


# -- exact integer accumulation ----------------------------------------------------------------

def test_integer_matmul_is_exact_on_each_side_of_the_float32_bound():
    k = 800
    b = np.full((k, 3), 127, np.int8)  # odd products: partial sums past 2^24 would need rounding
    b[::2, 1] = -128
    for per_row, dtype in [(FLOAT32_EXACT // (k * 128), np.float32), (255, np.float64)]:
        a = np.full((4, k), per_row | 1, np.int16)
        got = Q.integer_matmul(a, b)
        assert got.dtype == dtype
        assert np.array_equal(got.astype(np.int64), a.astype(np.int64) @ b.astype(np.int64))
    a = np.full((4, k + 1), 255, np.int16)  # an odd number of odd terms: an odd total past 2^24
    b = np.vstack([b, b[:1]])
    exact = a.astype(np.int64) @ b.astype(np.int64)
    assert abs(exact).max() > FLOAT32_EXACT
    assert not np.array_equal((a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64), exact), \
        "float32 BLAS past 2^24 rounds: the bound is what makes the fast path exact"
    big = np.full((2, 3), 2 ** 40, np.int64)
    assert Q.integer_matmul(big, np.full((3, 2), 2 ** 20, np.int64)).dtype == np.int64


# -- dynamic quantisation ---------------------------------------------------------------------

def reference_linear(x, q_w, s_w, bias, s_x, z_x, qmin=0, qmax=255):
    """The scheme in int64 and float64: S_x S_w (q_x - Z_x) @ q_w + b."""
    q_x = np.clip(np.rint(x * (1.0 / s_x)) + z_x, qmin, qmax).astype(np.int64)
    return (s_x * s_w.astype(np.float64)) * ((q_x - z_x) @ q_w.astype(np.int64)) + bias


def test_dynamic_linear_is_the_scheme_exactly_and_its_weights_are_pytorch_s():
    layer = mlp()[0]
    q = Q.DynamicQuantizedLinear.from_float(layer)
    assert q.weight.dtype == np.int8 and q.weight.shape == (20, 16) and q.weight_scale.shape == (16,)
    obs = TO.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    w_t = torch.tensor(layer.weight.data.T.copy())
    obs(w_t)
    t_scale, t_zero = obs.calculate_qparams()
    assert q.weight_scale.data.tobytes() == t_scale.numpy().tobytes()
    assert np.array_equal(q.weight.data.T, torch.quantize_per_channel(w_t, t_scale, t_zero, 0, torch.qint8).int_repr())
    for x in batches(3):
        s_x, z_x = Q.qparams_from_min_max(x.data.min(), x.data.max(), 0, 255, symmetric=False)
        ref = reference_linear(x.data, q.weight.data, q.weight_scale.data, layer.bias.data, float(s_x), int(z_x))
        np.testing.assert_allclose(q(x).data, ref, rtol=1e-6, atol=1e-6)


def test_dynamic_error_is_within_the_rounding_bound():
    model = mlp()
    layer, q = model[0], Q.DynamicQuantizedLinear.from_float(model[0])
    x = batches(4)[0]
    s_x = float(Q.qparams_from_min_max(x.data.min(), x.data.max(), 0, 255, False)[0])
    s_w = q.weight_scale.data
    # |x w - x~ w~| <= |x| |w - w~| + |x - x~| |w~|, each rounding at most half a step
    bound = np.abs(x.data) @ np.broadcast_to(s_w / 2, layer.weight.shape) \
        + (s_x / 2) * np.abs(q.weight_float().data).sum(0)
    assert np.all(np.abs(q(x).data - layer(x).data) <= bound + 1e-5)


def test_quantize_dynamic_swaps_linear_layers_in_a_copy():
    model = mlp()
    q = Q.quantize_dynamic(model, {nn.Linear}, dtype=Q.qint8)
    assert [type(m).__name__ for m in q] == ["DynamicQuantizedLinear", "ReLU", "DynamicQuantizedLinear"]
    assert type(model[0]) is nn.Linear  # the original is untouched
    only_first = Q.quantize_dynamic(model, {"0"})
    assert type(only_first[0]) is Q.DynamicQuantizedLinear and type(only_first[2]) is nn.Linear
    assert type(Q.quantize_dynamic(nn.Linear(3, 2))) is Q.DynamicQuantizedLinear
    assert list(q.parameters()) == []
    with pytest.raises(ValueError, match="qint8"):
        Q.quantize_dynamic(model, dtype=minigrad.float32)
    with pytest.raises(ValueError, match="only Linear, Conv2d layers can be quantised"):
        Q.quantize_dynamic(model, {nn.ReLU})


def test_quantized_checkpoint_is_about_four_times_smaller_and_loads_back(tmp_path):
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    q = Q.quantize_dynamic(model)
    minigrad.save(model.state_dict(), tmp_path / "float.npz")
    minigrad.save(q.state_dict(), tmp_path / "int8.npz")
    ratio = os.path.getsize(tmp_path / "float.npz") / os.path.getsize(tmp_path / "int8.npz")
    assert 3.7 < ratio < 4.0  # int8 weights; float32 biases and per-unit scales stay
    fresh = Q.quantize_dynamic(nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)))
    fresh.load_state_dict(minigrad.load(tmp_path / "int8.npz"))
    assert fresh[0].weight.dtype == np.int8
    x = batches(size=(8, 784))[0]
    assert np.array_equal(fresh(x).data, q(x).data)


def test_a_pruned_model_quantises_with_its_zeros():
    model = mlp()
    nn.utils.prune.l1_unstructured(model[0], "weight", 0.5)
    q = Q.quantize_dynamic(model)
    assert np.array_equal(q[0].weight.data == 0, model[0].weight_mask.data == 0)


# -- convolutions ------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [dict(), dict(stride=2, padding=1), dict(padding=(2, 1), dilation=(1, 2)),
                                    dict(padding="same", bias=False)])
def test_dynamic_conv2d_is_the_scheme_exactly_and_its_weights_are_pytorch_s(config):
    import conv_reference as ref

    minigrad.manual_seed(3)
    conv = nn.Conv2d(3, 4, (3, 2), **config)
    q = Q.DynamicQuantizedConv2d.from_float(conv)
    assert q.weight.dtype == np.int8 and q.weight.shape == conv.weight.shape and q.weight_scale.shape == (4,)
    obs = TO.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    obs(torch.tensor(conv.weight.data))
    t_scale, t_zero = obs.calculate_qparams()
    assert q.weight_scale.data.tobytes() == t_scale.numpy().tobytes()
    theirs = torch.quantize_per_channel(torch.tensor(conv.weight.data), t_scale, t_zero, 0, torch.qint8)
    assert np.array_equal(q.weight.data, theirs.int_repr().numpy())
    x = minigrad.tensor(np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(np.float32))
    s_x, z_x = Q.qparams_from_min_max(x.data.min(), x.data.max(), 0, 255, symmetric=False)
    centred = np.clip(np.rint(x.data * (1.0 / float(s_x))) + int(z_x), 0, 255) - int(z_x)
    # the loops of the plain reference on the integers, in float64 (exact), then the scales
    acc = ref.conv(centred.astype(np.float64), q.weight.data.astype(np.float64), stride=conv.stride,
                   padding=conv.padding, dilation=conv.dilation)
    expected = float(s_x) * q.weight_scale.data.astype(np.float64).reshape(-1, 1, 1) * acc
    if conv.bias is not None:
        expected += conv.bias.data.reshape(-1, 1, 1)
    np.testing.assert_allclose(q(x).data, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(q(x).data, conv(x).data, atol=0.05)  # and near the float layer


def test_lenet_quantised_whole_keeps_its_accuracy_at_a_quarter_of_the_size(tmp_path):
    from minigrad.models import LeNet5

    minigrad.manual_seed(0)
    model = LeNet5()
    rng = np.random.default_rng(1)
    x = minigrad.tensor(rng.random((64, 1, 28, 28)).astype(np.float32))
    y = (model(x).data.argmax(1))  # an untrained net's own labels: a function to keep
    model.qconfig = Q.default_qconfig
    prepared = Q.prepare(model)
    with minigrad.no_grad():
        prepared(x)
    q = Q.convert(prepared)
    assert [type(m).__name__ for m in q.features if "Conv" in type(m).__name__] == ["QuantizedConv2d"] * 2
    with minigrad.no_grad():
        assert (q(x).data.argmax(1) == y).mean() > 0.9
    dynamic = Q.quantize_dynamic(model, {nn.Linear, nn.Conv2d})
    assert type(dynamic.features[0]) is Q.DynamicQuantizedConv2d
    minigrad.save(model.state_dict(), tmp_path / "f.npz")
    minigrad.save(dynamic.state_dict(), tmp_path / "q.npz")
    assert os.path.getsize(tmp_path / "f.npz") / os.path.getsize(tmp_path / "q.npz") > 3.5
    with pytest.raises(TypeError, match="groups=1"):
        Q.DynamicQuantizedConv2d.from_float(nn.Conv2d(4, 4, 3, groups=2))


# -- static quantisation -----------------------------------------------------------------------

def test_prepare_calibrate_convert():
    model = mlp()
    with pytest.raises(ValueError, match="model.qconfig"):
        Q.prepare(model)
    model.qconfig = Q.default_qconfig
    prepared = Q.prepare(model)
    assert not hasattr(model[0], "input_observer")  # a copy
    calibration = batches(5)
    with minigrad.no_grad():
        for x in calibration:
            prepared(x)
    converted = Q.convert(prepared)
    assert [type(m).__name__ for m in converted] == ["QuantizedLinear", "ReLU", "QuantizedLinear"]
    lo = min(float(x.data.min()) for x in calibration)
    hi = max(float(x.data.max()) for x in calibration)
    s_x, z_x = Q.qparams_from_min_max(lo, hi, 0, 255, False)
    assert converted[0].input_scale.data[0] == s_x and converted[0].input_zero_point.data[0] == z_x
    x = batches(6)[0]
    first = converted[0]
    ref = reference_linear(x.data, first.weight.data, first.weight_scale.data, model[0].bias.data, float(s_x), int(z_x))
    np.testing.assert_allclose(first(x).data, ref, rtol=1e-6, atol=1e-6)
    assert sorted(converted.state_dict())[:3] == ["0.bias", "0.input_scale", "0.input_zero_point"]


def test_a_submodule_with_qconfig_none_stays_float():
    model = mlp()
    model.qconfig = Q.default_qconfig
    model[2].qconfig = None
    prepared = Q.prepare(model)
    with minigrad.no_grad():
        prepared(batches()[0])
    converted = Q.convert(prepared)
    assert type(converted[0]) is Q.QuantizedLinear and type(converted[2]) is nn.Linear
    with pytest.raises(ValueError, match="no layer to convert"):
        Q.convert(mlp())


# -- quantisation-aware training ---------------------------------------------------------------

def test_fake_quantize_module_matches_pytorch_s():
    ours = Q.FakeQuantize()
    theirs = TO.FakeQuantize(observer=TO.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                             dtype=torch.quint8)
    for x in batches(7):
        x.data = x.data.astype(np.float64)
        x.requires_grad = True
        xt = torch.tensor(x.data, requires_grad=True)
        y, yt = ours(x), theirs(xt)
        np.testing.assert_array_equal(ours.scale.data, theirs.scale.numpy())
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(minigrad.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())


def test_qat_trains_through_the_straight_through_estimator_and_converts_to_the_same_function():
    model = mlp(hidden=32)
    model.qconfig = Q.default_qat_qconfig
    qat = Q.prepare_qat(model)
    assert type(qat[0]) is Q.QATLinear and qat[0].weight is not model[0].weight  # prepare_qat copied
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((64, 20)).astype(np.float32))
    y = minigrad.tensor((rng.standard_normal((64, 20))[:, :5] + x.data[:, :5]).argmax(1))
    opt = optim.Adam(qat.parameters(), lr=0.01)
    losses = []
    for _ in range(60):
        loss = nn.CrossEntropyLoss()(qat(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert qat[0].weight.grad is not None and np.abs(qat[0].weight.grad.data).sum() > 0
    qat.apply(Q.disable_observer)
    with minigrad.no_grad():
        simulated = qat(x).data
    converted = Q.convert(qat)
    assert [type(m).__name__ for m in converted] == ["QuantizedLinear", "ReLU", "QuantizedLinear"]
    np.testing.assert_allclose(converted(x).data, simulated, rtol=1e-4, atol=1e-4)


def test_disable_fake_quant_gives_the_float_layer():
    model = mlp()
    model.qconfig = Q.default_qat_qconfig
    qat = Q.prepare_qat(model)
    qat.apply(Q.disable_fake_quant)
    x = batches()[0]
    assert np.array_equal(qat(x).data, model(x).data)
    qat.apply(Q.enable_fake_quant)
    assert not np.array_equal(qat(x).data, model(x).data)
    with pytest.raises(ValueError, match="FakeQuantize"):
        bad = copy.deepcopy(model)
        bad.qconfig = Q.default_qconfig
        Q.prepare_qat(bad)


def test_the_article_mlp_keeps_its_accuracy_in_int8():
    from minigrad.data import DataLoader
    from minigrad.datasets import MNISTSample

    train_set, test_set = MNISTSample(train=True), MNISTSample(train=False)
    x_test = minigrad.tensor(test_set.data.reshape(-1, 784) / np.float32(255))
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(4):
        for images, labels in DataLoader(train_set, batch_size=32, shuffle=True, seed=0):
            loss = nn.CrossEntropyLoss()(model(images.view(images.shape[0], -1)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def accuracy(m):
        with minigrad.no_grad():
            return float((m(x_test).argmax(axis=1).numpy() == test_set.targets).mean())

    model.qconfig = Q.default_qconfig
    prepared = Q.prepare(model)
    with minigrad.no_grad():
        prepared(minigrad.tensor(train_set.data[:500].reshape(-1, 784) / np.float32(255)))
    float_acc = accuracy(model)
    assert float_acc > 0.9
    for quantized in (Q.quantize_dynamic(model), Q.convert(prepared)):
        assert abs(accuracy(quantized) - float_acc) <= 0.005

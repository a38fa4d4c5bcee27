"""nn.init: PyTorch's gains and fans (for minigrad's (in, out) Linear weight), each
distribution's bounds and moments, in-place writes, seeding, and the errors."""
import math
import warnings

import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                 ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                 ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)])
def test_calculate_gain_is_pytorchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_gain_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="not a number"):
        init.calculate_gain("leaky_relu", True)


def test_fans_of_a_linear_layer_are_pytorchs_for_the_same_layer():
    ours, theirs = nn.Linear(7, 3), torch.nn.Linear(7, 3)
    assert ours.weight.shape == (7, 3) and tuple(theirs.weight.shape) == (3, 7)  # stored transposed
    assert init.calculate_fan_in_and_fan_out(ours.weight) == (7, 3)
    assert init.calculate_fan_in_and_fan_out(ours.weight) == torch.nn.init._calculate_fan_in_and_fan_out(theirs.weight)
    kernel = minigrad.zeros(8, 4, 3, 5)  # (out, in, kh, kw): PyTorch's convolution layout
    assert init.calculate_fan_in_and_fan_out(kernel) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.zeros(8, 4, 3, 5)) == (60, 120)
    assert init._calculate_fan_in_and_fan_out is init.calculate_fan_in_and_fan_out  # PyTorch code calls this
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(minigrad.zeros(3))


def _bound(name, weight, **kwargs):
    """The bound PyTorch's uniform initialiser uses for a torch weight (read from its std)."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    if name == "kaiming_uniform_":
        fan = fan_in if kwargs.get("mode", "fan_in") == "fan_in" else fan_out
        gain = torch.nn.init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
        return math.sqrt(3.0) * gain / math.sqrt(fan)
    return kwargs.get("gain", 1.0) * math.sqrt(6.0 / (fan_in + fan_out))


@pytest.mark.parametrize("name, kwargs", [("kaiming_uniform_", {}), ("kaiming_uniform_", dict(mode="fan_out")),
                                          ("kaiming_uniform_", dict(a=math.sqrt(5))),
                                          ("kaiming_uniform_", dict(nonlinearity="relu")),
                                          ("xavier_uniform_", {}), ("xavier_uniform_", dict(gain=2.0))])
def test_uniform_initialisers_draw_pytorchs_distribution_for_a_linear_layer(name, kwargs):
    minigrad.manual_seed(0)
    layer = nn.Linear(300, 200)
    before = layer.weight.data
    assert getattr(init, name)(layer.weight, **kwargs) is layer.weight
    assert layer.weight.data is before and layer.weight.dtype == np.float32  # in place, dtype kept
    bound = _bound(name, torch.nn.Linear(300, 200).weight, **kwargs)
    w = layer.weight.data
    assert -bound <= w.min() and w.max() <= bound
    assert w.min() < -0.98 * bound and w.max() > 0.98 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("name, kwargs, std", [
    ("normal_", dict(mean=0.5, std=0.1), 0.1),
    ("kaiming_normal_", dict(nonlinearity="relu"), math.sqrt(2 / 300)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 200)),
    ("xavier_normal_", dict(gain=0.5), 0.5 * math.sqrt(2 / 500)),
])
def test_normal_initialisers(name, kwargs, std):
    minigrad.manual_seed(1)
    w = minigrad.zeros(300, 200, dtype=minigrad.float64)
    getattr(init, name)(w, **kwargs)
    assert w.data.std() == pytest.approx(std, rel=0.02)
    assert w.data.mean() == pytest.approx(kwargs.get("mean", 0.0), abs=4 * std / math.sqrt(w.data.size))


def _truncated_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std**2) restricted to [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (alpha, beta)]
    mass = (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2))) / 2
    m = mean + std * (pdf[0] - pdf[1]) / mass
    var = std ** 2 * (1 + (alpha * pdf[0] - beta * pdf[1]) / mass - ((pdf[0] - pdf[1]) / mass) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0),  # PyTorch's default: redraws
                                             (0.0, 0.02, -2.0, 2.0),  # GPT's init: nothing to redraw
                                             (0.0, 1.0, 1.0, 3.0),  # a tail: rejection from a uniform proposal
                                             (2.0, 0.5, -1.0, 1.5)])
def test_trunc_normal_is_the_truncated_normal(mean, std, a, b):
    minigrad.manual_seed(2)
    w = minigrad.zeros(200, 250, dtype=minigrad.float64)
    init.trunc_normal_(w, mean, std, a, b)
    m, s = _truncated_moments(mean, std, a, b)
    assert a <= w.data.min() and w.data.max() <= b
    assert w.data.mean() == pytest.approx(m, abs=5 * s / math.sqrt(w.data.size))
    assert w.data.std() == pytest.approx(s, rel=0.02)


def test_trunc_normal_warns_as_pytorch_when_the_mean_is_far_outside():
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(minigrad.zeros(10), mean=5.0, std=1.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3)])
def test_orthogonal(shape):
    w = minigrad.zeros(*shape, dtype=minigrad.float64)
    init.orthogonal_(w, gain=2.0)
    flat = w.data.reshape(shape[0], -1) / 2.0
    small = min(flat.shape)
    product = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(product, np.eye(small), atol=1e-12)


def test_constant_ones_zeros_eye_keep_the_array_and_dtype():
    w = minigrad.randn(3, 4)
    data = w.data
    assert init.constant_(w, 0.25) is w and (w.data == 0.25).all() and w.data is data
    assert (init.ones_(w).data == 1).all() and (init.zeros_(w).data == 0).all()
    np.testing.assert_array_equal(init.eye_(w).data, np.eye(3, 4))
    assert w.dtype == np.float32 and w.data is data
    with pytest.raises(ValueError, match="only 2-D"):
        init.eye_(minigrad.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="expected a minigrad Tensor"):
        init.normal_(np.zeros(3))


def test_a_seed_or_a_generator_repeats_the_draw_and_nothing_is_recorded():
    a, b = minigrad.zeros(4, 4), minigrad.zeros(4, 4)
    minigrad.manual_seed(3)
    init.kaiming_normal_(a)
    minigrad.manual_seed(3)
    init.kaiming_normal_(b)
    np.testing.assert_array_equal(a.data, b.data)
    init.uniform_(a, generator=np.random.default_rng(9))
    init.uniform_(b, generator=np.random.default_rng(9))
    np.testing.assert_array_equal(a.data, b.data)
    p = nn.Parameter(minigrad.zeros(3, 2))
    init.xavier_uniform_(p)
    assert p.is_leaf and p.requires_grad and p.grad is None


def test_zero_element_tensors_warn_and_apply_initialises_a_model():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(minigrad.zeros(0, 3))
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            init.zeros_(m.bias)
            init.kaiming_normal_(m.weight, nonlinearity="relu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.apply(init_weights)
    assert all((m.bias.data == 0).all() for m in model if isinstance(m, nn.Linear))


def test_linear_reset_parameters_uses_pytorchs_bounds():
    layer = nn.Linear(50, 30)
    layer.weight.data[...] = 0
    layer.reset_parameters()
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert p.data.std() > 0 and np.abs(p.data).max() <= bound
    assert nn.Linear(5, 2, bias=False).bias is None

"""The activations beyond ReLU/sigmoid/tanh: erf against math.erf, each backward against central
differences over hypothesis-drawn values, kinks and thresholds exactly, and PyTorch parity over
their parameters (the registry, tests/op_cases.py, covers one setting of each)."""
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck, nn
from minigrad.ops.activations import erf
from minigrad.testing import strategies as st


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.maximum(np.abs(ref), np.finfo(np.float64).tiny))


def test_erf_is_within_a_few_ulps_of_math_erf():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(20000) * 3, rng.uniform(-7, 7, 20000), np.linspace(-30, 30, 6001),
                        rng.standard_normal(100) * 1e-12,
                        # each side of the boundary between the two intervals and of the clip at 6
                        np.nextafter(0.46875, [0, 1]), np.nextafter(6.0, [0, 10]), -np.nextafter(6.0, [0, 10]),
                        [0.0, -0.0, 4.0, 27.0, 1e300, -1e300]])
    ref = np.array([math.erf(v) for v in x])
    got = erf(x)
    assert _ulps(got, ref).max() <= 4
    assert np.abs(got - ref).max() <= 2.3e-16
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf])), [1.0, -1.0])
    assert np.isnan(erf(np.array([np.nan]))).all()


def test_erf_keeps_float32_and_is_odd():
    x = np.linspace(-5, 5, 1001)
    y32 = erf(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, [math.erf(v) for v in x.astype(np.float32)], atol=3e-7)
    np.testing.assert_array_equal(erf(-x), -erf(x))


def test_erf_float32_has_its_own_rational_within_5e_7():
    """float32 takes a cheaper rational (Eigen's); every float32 from -8 to 8 in steps of 4e-5,
    and the ends of its clip at 4."""
    x = np.concatenate([np.linspace(-8, 8, 400001), np.nextafter(4.0, [0, 8]), [0.0, -0.0]]).astype(np.float32)
    got = erf(x)
    assert got.dtype == np.float32
    assert np.abs(got - [math.erf(v) for v in x.astype(np.float64)]).max() <= 5e-7
    np.testing.assert_array_equal(erf(-x), -got)
    np.testing.assert_array_equal(erf(np.float32([np.inf, -np.inf])), [1.0, -1.0])
    assert np.isnan(erf(np.float32([np.nan]))).all()


@given(x=st.tensors(away_from=(0.0,), margin=1e-3), slope=hst.sampled_from([0.01, 0.2, -0.5, 1.5]))
def test_leaky_relu(x, slope):
    np.testing.assert_array_equal(F.leaky_relu(x, slope).data, np.where(x.data > 0, x.data, slope * x.data))
    assert gradcheck(lambda t: F.leaky_relu(t, slope), [x])


@given(x=st.tensors(low=-6, high=6, away_from=(0.0,), margin=1e-3), alpha=hst.sampled_from([1.0, 0.5, 2.0]))
def test_elu(x, alpha):
    np.testing.assert_allclose(F.elu(x, alpha).data, np.where(x.data > 0, x.data, alpha * np.expm1(x.data)),
                               rtol=1e-14)
    assert gradcheck(lambda t: F.elu(t, alpha), [x])


@given(x=st.tensors(low=-9, high=9), approximate=hst.sampled_from(["none", "tanh"]))
def test_gelu(x, approximate):
    if approximate == "none":
        ref = 0.5 * x.data * (1 + np.array([math.erf(v / math.sqrt(2)) for v in x.data.ravel()]).reshape(x.shape))
    else:
        ref = 0.5 * x.data * (1 + np.tanh(math.sqrt(2 / math.pi) * (x.data + 0.044715 * x.data ** 3)))
    np.testing.assert_allclose(F.gelu(x, approximate=approximate).data, ref, rtol=1e-13, atol=1e-15)
    assert gradcheck(lambda t: F.gelu(t, approximate=approximate), [x])


@given(x=st.tensors(low=-8, high=8))
def test_silu(x):
    np.testing.assert_allclose(F.silu(x).data, x.data / (1 + np.exp(-x.data)), rtol=1e-13, atol=1e-15)
    assert gradcheck(F.silu, [x])


@given(data=hst.data(), beta=hst.sampled_from([1.0, 0.5, 3.0]), threshold=hst.sampled_from([20.0, 2.0]))
def test_softplus(data, beta, threshold):
    # away from the threshold, where the formula switches (and, for a low threshold, jumps)
    x = data.draw(st.tensors(low=-6, high=6, away_from=(threshold / beta,), margin=1e-3))
    ref = np.where(beta * x.data > threshold, x.data, np.log1p(np.exp(beta * x.data)) / beta)
    np.testing.assert_allclose(F.softplus(x, beta, threshold).data, ref, rtol=1e-13)
    assert gradcheck(lambda t: F.softplus(t, beta, threshold), [x])


def test_kinks_and_thresholds_take_pytorchs_values():
    g = minigrad.tensor([5.0, 7.0, 11.0], dtype=minigrad.float64)
    for fn, expected in ((lambda t: F.leaky_relu(t, 0.1), [0.5, 0.7, 11.0]),  # slope at 0: negative_slope
                         (lambda t: F.elu(t, 2.0), [5 * 2 * math.exp(-1), 7 * 2.0, 11.0]),  # at 0: alpha
                         (lambda t: F.softplus(t, 1.0, 0.0), [5 / (1 + math.e), 3.5, 11.0])):  # at threshold: formula
        x = minigrad.tensor([-1.0, 0.0, 2.0], dtype=minigrad.float64, requires_grad=True)
        fn(x).backward(g)
        np.testing.assert_allclose(x.grad.data, expected, rtol=1e-15)


def test_extreme_inputs_stay_finite_and_quiet():
    x = minigrad.tensor([-1e4, -40.0, 0.0, 40.0, 1e4], dtype=minigrad.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in exp, no invalid value
        for fn in (F.gelu, lambda t: F.gelu(t, approximate="tanh"), F.silu, F.softplus, F.elu,
                   lambda t: F.softplus(t, beta=-1.0)):
            x.grad = None
            y = fn(x)
            y.sum().backward()
            assert np.isfinite(y.data).all() and np.isfinite(x.grad.data).all()
    np.testing.assert_array_equal(F.gelu(x).data[[0, 4]], [-0.0, 1e4])


torch = pytest.importorskip("torch")
tF = torch.nn.functional

SETTINGS = (
    [("leaky_relu", dict(negative_slope=s)) for s in (0.01, 0.3, -0.2)]
    + [("elu", dict(alpha=a)) for a in (1.0, 0.25, 3.0)]
    + [("gelu", dict(approximate=a)) for a in ("none", "tanh")]
    + [("silu", {})]
    + [("softplus", dict(beta=b, threshold=t)) for b, t in itertools.product((1.0, 0.5, 4.0, -1.0), (20.0, 1.0))]
)


@pytest.mark.parametrize("name, kwargs", SETTINGS, ids=[f"{n}-{k}" for n, k in SETTINGS])
def test_matches_pytorch_for_each_setting(name, kwargs):
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(300) * 4, [0.0, 1e-9, -1e-9, 30.0, -30.0, 0.25, 5.0]])
    g = rng.standard_normal(x.shape)
    ours, theirs = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = getattr(F, name)(ours, **kwargs), getattr(tF, name)(theirs, **kwargs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    out.backward(minigrad.tensor(g))
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_modules_match_their_functions():
    x = minigrad.randn(3, 4, dtype=minigrad.float64)
    for module, fn in ((nn.LeakyReLU(0.3), lambda t: F.leaky_relu(t, 0.3)), (nn.GELU("tanh"), lambda t: F.gelu(t, "tanh")),
                       (nn.Softplus(2.0, 3.0), lambda t: F.softplus(t, 2.0, 3.0)), (nn.ELU(0.5), lambda t: F.elu(t, 0.5)),
                       (nn.SiLU(), F.silu), (nn.LogSoftmax(dim=0), lambda t: F.log_softmax(t, 0))):
        np.testing.assert_array_equal(module(x).data, fn(x).data)

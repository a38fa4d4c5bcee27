"""The losses and their options: forward against a direct NumPy transcription of PyTorch's
formula, backward against central differences over hypothesis-drawn shapes, options and
values, PyTorch parity in float64 for every combination of options, and the errors."""
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst
from hypothesis.extra import numpy as hnp
from op_cases import Case, _ce_ref, _nll_ref, _smooth_l1_ref, _soft_ce_ref

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck, nn
from minigrad.testing import strategies as st

REDUCTIONS = hst.sampled_from(["mean", "sum", "none"])


@hst.composite
def class_problems(draw, soft=False):
    """(logits, target, weight-or-None, ignore_index) over (C,), (N, C) and (N, C, d...) shapes."""
    c = draw(hst.integers(2, 4))
    shape = draw(hst.sampled_from([(c,), (draw(hst.integers(1, 4)), c), (2, c, draw(hst.integers(1, 3))),
                                   (1, c, 2, 2)]))
    z = draw(st.tensors(shape, -4, 4))
    weight = draw(hst.none() | hnp.arrays(np.float64, (c,), elements=hst.floats(0.25, 3.0)))
    weight = None if weight is None else minigrad.tensor(weight)
    label_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if soft:
        t = draw(hnp.arrays(np.float64, shape, elements=hst.floats(0.05, 1.0)))
        t = t / t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        return z, minigrad.tensor(t, requires_grad=True), weight, -100
    ignore_index = draw(hst.sampled_from([-100, 0, c - 1]))
    labels = draw(hnp.arrays(np.int64, label_shape, elements=hst.integers(0, c - 1)))
    if draw(hst.booleans()):
        labels.reshape(-1)[::2] = ignore_index
    st.assume(labels.size == 0 or (labels != ignore_index).any())  # an all-ignored mean is nan (tested apart)
    return z, minigrad.tensor(labels), weight, ignore_index


def _w(weight):
    return None if weight is None else weight.data


@given(problem=class_problems(), eps=hst.sampled_from([0.0, 0.1, 0.5]), reduction=REDUCTIONS)
def test_cross_entropy_with_class_indices(problem, eps, reduction):
    z, y, weight, ignore = problem
    kwargs = dict(weight=weight, ignore_index=ignore, label_smoothing=eps, reduction=reduction)
    ref = _ce_ref(z.data, y.data, _w(weight), ignore, eps, reduction)
    np.testing.assert_allclose(F.cross_entropy(z, y, **kwargs).data, ref, rtol=1e-12, atol=1e-14)
    assert gradcheck(lambda t: F.cross_entropy(t, y, **kwargs), [z])


@given(problem=class_problems(soft=True), eps=hst.sampled_from([0.0, 0.2]), reduction=REDUCTIONS)
def test_cross_entropy_with_probabilities(problem, eps, reduction):
    z, t, weight, _ = problem
    kwargs = dict(weight=weight, label_smoothing=eps, reduction=reduction)
    ref = _soft_ce_ref(z.data, t.data, _w(weight), eps, reduction)
    np.testing.assert_allclose(F.cross_entropy(z, t, **kwargs).data, ref, rtol=1e-12, atol=1e-14)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, **kwargs), [z, t])  # the target's gradient too


@given(problem=class_problems(), reduction=REDUCTIONS)
def test_nll_loss(problem, reduction):
    x, y, weight, ignore = problem
    kwargs = dict(weight=weight, ignore_index=ignore, reduction=reduction)
    np.testing.assert_allclose(F.nll_loss(x, y, **kwargs).data, _nll_ref(x.data, y.data, _w(weight), ignore, reduction),
                               rtol=1e-13, atol=1e-15)
    assert gradcheck(lambda t: F.nll_loss(t, y, **kwargs), [x])


def test_cross_entropy_is_nll_of_log_softmax():
    z = minigrad.randn(5, 3, 2, dtype=minigrad.float64)
    y = minigrad.tensor([[0, 2], [1, -100], [2, 2], [0, 1], [-100, 0]])
    w = minigrad.tensor([0.3, 1.0, 2.0], dtype=minigrad.float64)
    np.testing.assert_allclose(F.cross_entropy(z, y, weight=w).item(),
                               F.nll_loss(F.log_softmax(z, dim=1), y, weight=w).item(), rtol=1e-14)


def test_ignored_labels_get_no_gradient_and_an_all_ignored_mean_is_nan():
    z = minigrad.randn(4, 3, dtype=minigrad.float64, requires_grad=True)
    y = minigrad.tensor([1, -100, 2, -100])
    F.cross_entropy(z, y, label_smoothing=0.2).backward()
    assert (z.grad.data[[1, 3]] == 0).all() and (z.grad.data[[0, 2]] != 0).all()
    np.testing.assert_allclose(F.cross_entropy(z, y).item(), _ce_ref(z.data, y.data), rtol=1e-14)  # mean of 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 / 0
        assert np.isnan(F.cross_entropy(z, minigrad.tensor([-100] * 4)).item())  # as PyTorch
        assert np.isnan(F.nll_loss(z, minigrad.tensor([-100] * 4)).item())
    assert F.cross_entropy(z, minigrad.tensor([-100] * 4), reduction="sum").item() == 0
    for eps in (0.0, 0.3):  # the mean is nan, but nothing flows back (PyTorch's gradient is 0 too)
        z.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            F.cross_entropy(z, minigrad.tensor([-100] * 4), weight=minigrad.ones(3, dtype=minigrad.float64),
                            label_smoothing=eps).backward()
        np.testing.assert_array_equal(z.grad.data, 0)


def test_the_articles_cross_entropy_keeps_its_fused_op():
    z, y = minigrad.randn(8, 10, requires_grad=True), minigrad.randint(0, 10, 8)
    assert F.cross_entropy(z, y).grad_fn.__name__ == "SoftmaxCrossEntropy"
    assert nn.CrossEntropyLoss()(z, y).grad_fn.__name__ == "SoftmaxCrossEntropy"
    for kwargs in (dict(weight=minigrad.ones(10)), dict(label_smoothing=0.1), dict(ignore_index=3)):
        assert F.cross_entropy(z, y, **kwargs).grad_fn.__name__ == "CrossEntropy"
    assert F.cross_entropy(z, minigrad.tensor([-100] + [1] * 7)).grad_fn.__name__ == "CrossEntropy"


@given(pair=st.broadcastable_tensors(num_shapes=1), data=hst.data(), reduction=REDUCTIONS)
def test_l1_loss(pair, data, reduction):
    (x,) = pair
    y = data.draw(st.tensors(x.shape))
    st.assume(np.abs(x.data - y.data).min() > 1e-3)  # away from the kink at x == y
    d = np.abs(x.data - y.data)
    np.testing.assert_allclose(F.l1_loss(x, y, reduction=reduction).data,
                               {"mean": d.mean(), "sum": d.sum(), "none": d}[reduction], rtol=1e-13, atol=1e-15)
    assert gradcheck(lambda a, b: F.l1_loss(a, b, reduction=reduction), [x, y])


def test_l1_kink_is_zero_as_pytorch():
    x = minigrad.tensor([1.0, 2.0, 3.0], dtype=minigrad.float64, requires_grad=True)
    F.l1_loss(x, minigrad.tensor([0.0, 2.0, 5.0], dtype=minigrad.float64), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, -1.0])


@given(pair=st.broadcastable_tensors(num_shapes=1), data=hst.data(), beta=hst.sampled_from([0.3, 1.0, 2.5]),
       reduction=REDUCTIONS)
def test_smooth_l1_and_huber(pair, data, beta, reduction):
    (x,) = pair
    y = data.draw(st.tensors(x.shape))
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction]
    smooth = _smooth_l1_ref(x.data - y.data, beta)
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction=reduction, beta=beta).data, reduce(smooth), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(F.huber_loss(x, y, reduction=reduction, delta=beta).data, reduce(beta * smooth),
                               rtol=1e-13, atol=1e-15)
    # the derivative is continuous at |d| = beta, so central differences may straddle it
    assert gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, y])
    assert gradcheck(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=beta), [x, y])


def test_smooth_l1_with_beta_zero_is_l1():
    x, y = minigrad.randn(5, dtype=minigrad.float64), minigrad.randn(5, dtype=minigrad.float64)
    assert F.smooth_l1_loss(x, y, beta=0.0).item() == F.l1_loss(x, y).item()


@given(data=hst.data(), reduction=hst.sampled_from(["mean", "batchmean", "sum", "none"]), log_target=hst.booleans())
def test_kl_div(data, reduction, log_target):
    shape = data.draw(st.shapes(max_dims=3))
    x = data.draw(st.tensors(shape, -3, 0))
    t = data.draw(st.tensors(shape, -3, 0) if log_target else st.probabilities(shape))
    p, log_p = (np.exp(t.data), t.data) if log_target else (t.data, np.log(t.data))
    losses = p * (log_p - x.data)
    ref = {"mean": losses.mean(), "batchmean": losses.sum() / shape[0], "sum": losses.sum(), "none": losses}[reduction]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 'mean' warns, as PyTorch's does
        np.testing.assert_allclose(F.kl_div(x, t, reduction=reduction, log_target=log_target).data, ref, rtol=1e-12, atol=1e-15)
        assert gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t])


def test_kl_div_treats_zero_target_as_zero_loss_and_warns_on_mean():
    x = minigrad.tensor([[-1.0, -0.5]], dtype=minigrad.float64)
    t = minigrad.tensor([[0.0, 1.0]], dtype=minigrad.float64)
    assert F.kl_div(x, t, reduction="sum").item() == 0.5
    with pytest.warns(UserWarning, match="'batchmean'"):
        F.kl_div(x, t)


@given(data=hst.data(), reduction=REDUCTIONS, weighted=hst.booleans(), pos=hst.booleans())
def test_bce_with_logits_weight_and_pos_weight(data, reduction, weighted, pos):
    shape = data.draw(st.shapes(min_dims=2, max_dims=2))
    z = data.draw(st.tensors(shape, -6, 6))
    y = data.draw(st.probabilities(shape))
    w = minigrad.tensor(data.draw(hnp.arrays(np.float64, shape[-1:], elements=hst.floats(0.25, 3)))) if weighted else None
    pw = minigrad.tensor(data.draw(hnp.arrays(np.float64, shape[-1:], elements=hst.floats(0.25, 4)))) if pos else None
    s = 1 / (1 + np.exp(-z.data))
    losses = -((1 if pw is None else pw.data) * y.data * np.log(s) + (1 - y.data) * np.log(1 - s)) \
        * (1 if w is None else w.data)
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    kwargs = dict(weight=w, pos_weight=pw, reduction=reduction)
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(z, y, **kwargs).data, ref, rtol=1e-11, atol=1e-15)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kwargs), [z, y])


@given(data=hst.data(), reduction=REDUCTIONS)
def test_bce_weight(data, reduction):
    shape = data.draw(st.shapes(min_dims=2, max_dims=2))
    p, y = data.draw(st.probabilities(shape)), data.draw(st.probabilities(shape))
    w = minigrad.tensor(data.draw(hnp.arrays(np.float64, shape[:1] + (1,), elements=hst.floats(0.25, 3))))
    losses = -(y.data * np.log(p.data) + (1 - y.data) * np.log(1 - p.data)) * w.data
    ref = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    np.testing.assert_allclose(F.binary_cross_entropy(p, y, weight=w, reduction=reduction).data, ref, rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction), [p, y])


def test_pos_weight_is_stable_at_extreme_logits():
    z = minigrad.tensor([1e4, -1e4, 0.0], dtype=minigrad.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, minigrad.tensor([0.0, 1.0, 1.0], dtype=minigrad.float64),
                                              pos_weight=minigrad.tensor([3.0], dtype=minigrad.float64))
    loss.backward()
    np.testing.assert_allclose(loss.item(), (1e4 + 3e4 + 3 * np.log(2)) / 3, rtol=1e-12, atol=1e-15)
    assert np.isfinite(z.grad.data).all()


# -- PyTorch parity over every combination of options ------------------------------------

torch = pytest.importorskip("torch")
tF = torch.nn.functional
import test_torch_parity  # noqa: E402  (after the skip: it needs torch)


def _parity(fn, host):
    """fn(F, *tensors) with minigrad's F and torch's, same float64 inputs: values and gradients,
    checked as the registry's cases are (test_torch_parity.test_op_matches_pytorch)."""
    case = Case("parity", lambda *t: fn(F, *t), [lambda rng, a=a: a for a in host], None,
                torch=lambda *t: fn(tF, *t))
    test_torch_parity.test_op_matches_pytorch(case)


def _const(t, values):
    return (minigrad.tensor(np.asarray(values), dtype=t.dtype) if isinstance(t, minigrad.Tensor)
            else torch.tensor(values, dtype=t.dtype))


W3 = [0.5, 2.0, 1.25]
SHAPES = [(3,), (5, 3), (2, 3, 4)]


@pytest.mark.parametrize("shape, weighted, ignore_index, eps, reduction",
                         list(itertools.product(SHAPES, [False, True], [-100, 1], [0.0, 0.15], ["mean", "sum", "none"])))
def test_cross_entropy_with_labels_matches_pytorch(shape, weighted, ignore_index, eps, reduction):
    rng = np.random.default_rng(sum(shape) + weighted + int(eps * 100))
    z = rng.standard_normal(shape)
    y = rng.integers(0, 3, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if y.size > 1:
        y.reshape(-1)[::3] = ignore_index
    kwargs = dict(ignore_index=ignore_index, label_smoothing=eps, reduction=reduction)

    def fn(F_, z_, y_):
        return F_.cross_entropy(z_, y_, weight=_const(z_, W3) if weighted else None, **kwargs)
    _parity(fn, [z, y])
    _parity(lambda F_, z_, y_: F_.nll_loss(F_.log_softmax(z_, dim=1 if z_.ndim > 1 else 0), y_,
                                           weight=_const(z_, W3) if weighted else None, ignore_index=ignore_index,
                                           reduction=reduction), [z, y])


@pytest.mark.parametrize("shape, weighted, eps, reduction",
                         list(itertools.product(SHAPES, [False, True], [0.0, 0.15], ["mean", "sum", "none"])))
def test_cross_entropy_with_probabilities_matches_pytorch(shape, weighted, eps, reduction):
    rng = np.random.default_rng(len(shape))
    z = rng.standard_normal(shape)
    t = rng.uniform(0.1, 1.0, shape)
    t /= t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    _parity(lambda F_, a, b: F_.cross_entropy(a, b, weight=_const(a, W3) if weighted else None, label_smoothing=eps,
                                              reduction=reduction), [z, t])


REGRESSION = [("l1_loss", {}), ("mse_loss", {}), ("smooth_l1_loss", dict(beta=0.4)), ("smooth_l1_loss", dict(beta=0.0)),
              ("huber_loss", dict(delta=0.6)), ("huber_loss", dict(delta=2.0))]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("loss, kwargs, weighted", [(n, k, False) for n, k in REGRESSION]  # smooth_l1 has no weight
                         + [(n, k, True) for n, k in REGRESSION if n != "smooth_l1_loss"])
def test_regression_losses_match_pytorch(loss, kwargs, weighted, reduction):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    w = np.arange(1.0, 13).reshape(4, 3) / 4

    def fn(F_, a, b):
        weight = {"weight": _const(a, w)} if weighted else {}
        return getattr(F_, loss)(a, b, reduction=reduction, **kwargs, **weight)
    _parity(fn, [x, y])


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_pytorch(reduction, log_target):
    rng = np.random.default_rng(6)
    x = np.log(rng.dirichlet(np.ones(5), 4))
    t = np.log(rng.dirichlet(np.ones(5), 4)) if log_target else rng.dirichlet(np.ones(5), 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _parity(lambda F_, a, b: F_.kl_div(a, b, reduction=reduction, log_target=log_target), [x, t])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", [None, [[1.0], [2.0], [0.5], [1.5]], [1.0, 0.25, 3.0]])
@pytest.mark.parametrize("pos_weight", [None, [3.0, 0.5, 1.0], [2.0]])
def test_binary_cross_entropies_match_pytorch(reduction, weight, pos_weight):
    rng = np.random.default_rng(7)
    z, y, p = rng.standard_normal((4, 3)) * 3, rng.uniform(0, 1, (4, 3)), rng.uniform(0.05, 0.95, (4, 3))

    def with_logits(F_, a, b):
        return F_.binary_cross_entropy_with_logits(a, b, weight=None if weight is None else _const(a, weight),
                                                   pos_weight=None if pos_weight is None else _const(a, pos_weight),
                                                   reduction=reduction)
    _parity(with_logits, [z, y])
    if pos_weight is None:
        _parity(lambda F_, a, b: F_.binary_cross_entropy(a, b, weight=None if weight is None else _const(a, weight),
                                                         reduction=reduction), [p, y])


def test_loss_modules_match_pytorch_modules():
    rng = np.random.default_rng(8)
    z, y = rng.standard_normal((6, 4, 2)), rng.integers(0, 4, (6, 2))
    w = rng.uniform(0.5, 2, 4)
    ours = nn.CrossEntropyLoss(weight=minigrad.tensor(w), ignore_index=2, label_smoothing=0.05)
    theirs = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=2, label_smoothing=0.05)
    np.testing.assert_allclose(ours(minigrad.tensor(z), minigrad.tensor(y)).item(),
                               theirs(torch.tensor(z), torch.tensor(y)).item(), rtol=1e-12, atol=1e-15)
    x, t = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    for mine, ref in ((nn.L1Loss(), torch.nn.L1Loss()), (nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3)),
                      (nn.HuberLoss(delta=0.4), torch.nn.HuberLoss(delta=0.4)),
                      (nn.KLDivLoss(reduction="batchmean", log_target=True),
                       torch.nn.KLDivLoss(reduction="batchmean", log_target=True)),
                      (nn.BCEWithLogitsLoss(pos_weight=minigrad.tensor(np.full(5, 2.0))),
                       torch.nn.BCEWithLogitsLoss(pos_weight=torch.full((5,), 2.0, dtype=torch.float64)))):
        target = 1 / (1 + np.exp(-t)) if isinstance(mine, nn.BCEWithLogitsLoss) else t
        np.testing.assert_allclose(mine(minigrad.tensor(x), minigrad.tensor(target)).item(),
                                   ref(torch.tensor(x), torch.tensor(target)).item(), rtol=1e-12, atol=1e-15)
    nll, ref_nll = nn.NLLLoss(ignore_index=0), torch.nn.NLLLoss(ignore_index=0)
    np.testing.assert_allclose(nll(minigrad.tensor(z), minigrad.tensor(y)).item(),
                               ref_nll(torch.tensor(z), torch.tensor(y)).item(), rtol=1e-12, atol=1e-15)


# -- errors: what is wrong, and how to fix it ------------------------------------------------

def test_loss_errors_say_what_to_do():
    z = minigrad.randn(4, 3)
    y = minigrad.tensor([0, 1, 2, 1])
    with pytest.raises(TypeError, match="weight must be a Tensor, got the string 'sum'.*reduction='sum'"):
        F.cross_entropy(z, y, "sum")
    with pytest.raises(ValueError, match=r"weight has shape \(4,\); it must be \(3,\), one per class"):
        F.cross_entropy(z, y, weight=minigrad.ones(4))
    with pytest.raises(RuntimeError, match="no gradient flows into weight.*detach"):
        F.cross_entropy(z, y, weight=minigrad.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match="weight is float64 but input is float32"):
        F.cross_entropy(z, y, weight=minigrad.ones(3, dtype=minigrad.float64))
    with pytest.raises(ValueError, match=r"label 3 is outside \[0, 3\)"):
        F.cross_entropy(z, minigrad.tensor([0, 3, -100, 1]))
    with pytest.raises(ValueError, match=r"label -1 is outside"):
        F.nll_loss(z, minigrad.tensor([0, -1, 1, 1]))
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(z, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is not supported for a target of probabilities"):
        F.cross_entropy(z, minigrad.rand(4, 3), ignore_index=1)
    with pytest.raises(TypeError, match="class probabilities and must be floating point"):
        F.cross_entropy(z, minigrad.zeros(4, 3, dtype=minigrad.int64))
    with pytest.raises(ValueError, match=r"target has shape \(4, 2\) but input \(4, 3, 2, 2\) needs labels of shape "
                                         r"\(4, 2, 2\)"):
        F.cross_entropy(minigrad.randn(4, 3, 2, 2), minigrad.zeros(4, 2, dtype=minigrad.int64))
    with pytest.raises(ValueError, match="beta must be >= 0"):
        F.smooth_l1_loss(z, z, beta=-1.0)
    with pytest.raises(ValueError, match="delta must be > 0"):
        nn.HuberLoss(delta=0.0)(z, z)
    with pytest.raises(ValueError, match="kl_div: reduction must be one of"):
        F.kl_div(z, z, reduction="avg")
    with pytest.raises(ValueError, match=r"pos_weight has shape \(4,\); it must broadcast"):
        F.binary_cross_entropy_with_logits(z, z, pos_weight=minigrad.ones(4))
    with pytest.raises(ValueError, match="it must be the input's shape"):
        F.mse_loss(z, z, weight=minigrad.ones(3))

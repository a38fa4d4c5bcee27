"""``nn.distillation_loss``: Hinton et al.'s soft-target loss against PyTorch's composition, its
gradient against the derived formula T (p_s - p_t) / n, and the matching-logits limit."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import nn

torch = pytest.importorskip("torch")


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def logits(seed, n=6, c=5, scale=3.0):
    return np.random.default_rng(seed).standard_normal((n, c)) * scale


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), T=st.sampled_from([1.0, 2.0, 4.0, 20.0]),
       alpha=st.sampled_from([0.0, 0.5, 0.9, 1.0]))
def test_matches_pytorch_composition_forward_and_backward(seed, T, alpha):
    s, t = logits(seed), logits(seed + 1)
    y = np.random.default_rng(seed).integers(0, 5, 6)
    ours = minigrad.tensor(s, requires_grad=True)
    teacher = minigrad.tensor(t, requires_grad=True)
    loss = nn.distillation_loss(ours, teacher, minigrad.tensor(y), temperature=T, alpha=alpha)
    loss.backward()
    ts = torch.tensor(s, requires_grad=True)
    tF = torch.nn.functional
    soft = tF.kl_div(tF.log_softmax(ts / T, 1), tF.log_softmax(torch.tensor(t) / T, 1), reduction="batchmean",
                     log_target=True)
    ref = alpha * T * T * soft + (1 - alpha) * tF.cross_entropy(ts, torch.tensor(y))
    ref.backward()
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, ts.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert teacher.grad is None  # the teacher is a constant


@pytest.mark.parametrize("T", [1.0, 3.0, 10.0])
def test_soft_gradient_is_T_times_the_difference_of_softened_probabilities_over_n(T):
    s, t = logits(0), logits(1)
    x = minigrad.tensor(s, requires_grad=True)
    nn.distillation_loss(x, minigrad.tensor(t), temperature=T, alpha=1.0).backward()
    np.testing.assert_allclose(x.grad.data, T * (softmax(s / T) - softmax(t / T)) / len(s), rtol=1e-12, atol=1e-15)


def test_high_temperature_tends_to_matching_zero_mean_logits():
    """Hinton et al. section 2.1: for T >> |z|, the soft gradient is (s - t)/(C n) once each
    row's logits have zero mean."""
    s, t = logits(2, scale=0.5), logits(3, scale=0.5)
    s, t = s - s.mean(1, keepdims=True), t - t.mean(1, keepdims=True)
    x = minigrad.tensor(s, requires_grad=True)
    nn.distillation_loss(x, minigrad.tensor(t), temperature=1000.0, alpha=1.0).backward()
    np.testing.assert_allclose(x.grad.data, (s - t) / (5 * 6), rtol=2e-3)


def test_gradcheck_and_module_form():
    s = minigrad.tensor(logits(4), requires_grad=True)
    t, y = minigrad.tensor(logits(5)), minigrad.tensor([0, 1, 2, 3, 4, 0])
    assert minigrad.gradcheck(lambda a: nn.distillation_loss(a, t, y, 2.5, 0.6), [s])
    loss = nn.DistillationLoss(temperature=2.5, alpha=0.6)
    assert loss(s, t, y).item() == nn.distillation_loss(s, t, y, 2.5, 0.6).item()
    assert "temperature=2.5" in repr(loss)


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=0.0), "temperature"), (dict(alpha=1.5), "alpha"),
])
def test_errors(kwargs, match):
    s = minigrad.tensor(logits(0))
    with pytest.raises(ValueError, match=match):
        nn.distillation_loss(s, s, **kwargs)
    with pytest.raises(ValueError, match="same shape"):
        nn.distillation_loss(s, minigrad.tensor(logits(0, c=4)))

"""nn.utils against torch.nn.utils 2.13, in float64: gradient clipping and the flat vector."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import nn
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (4,), (2, 2, 3), (1,)]


def _both(grads, with_grad=None):
    """Parameters (zeros) in both libraries whose .grad are ``grads``; ``with_grad`` masks some off."""
    with_grad = with_grad or [True] * len(grads)
    ours, theirs = [], []
    for g, has in zip(grads, with_grad):
        p = nn.Parameter(minigrad.zeros(*g.shape, dtype=minigrad.float64))
        q = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        if has:
            p.grad = minigrad.tensor(g.copy())
            q.grad = torch.tensor(g.copy())
        ours.append(p)
        theirs.append(q)
    return ours, theirs


def _grads(seed, scale):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) * scale for s in SHAPES]


@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1e-3, 0.1, 1.0, 30.0]),
       norm_type=st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0, "inf"]),
       max_norm=st.sampled_from([0.01, 1.0, 5.0, 1e3]),
       with_grad=st.lists(st.booleans(), min_size=4, max_size=4))
def test_clip_grad_norm_matches_pytorch(seed, scale, norm_type, max_norm, with_grad):
    ours, theirs = _both(_grads(seed, scale), with_grad)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, minigrad.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.data, ref.numpy(), rtol=1e-12, atol=1e-300)
    for p, q in zip(ours, theirs):
        assert (p.grad is None) == (q.grad is None)
        if q.grad is not None:
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_caps_the_joint_norm_and_keeps_the_direction():
    grads = _grads(0, 10.0)
    ours, _ = _both(grads)
    before = np.concatenate([g.ravel() for g in grads])
    total = clip_grad_norm_(iter(ours), max_norm=1.0)
    after = np.concatenate([p.grad.data.ravel() for p in ours])
    assert total.item() == pytest.approx(np.linalg.norm(before), rel=1e-12)
    assert np.linalg.norm(after) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(after / np.linalg.norm(after), before / np.linalg.norm(before), rtol=1e-12)


def test_clip_grad_norm_a_lone_tensor_float32_and_no_grads():
    p = nn.Parameter(minigrad.tensor([3.0, 4.0]))
    p.grad = minigrad.tensor([3.0, 4.0])
    total = clip_grad_norm_(p, 1.0)
    ref_p = torch.tensor([3.0, 4.0], requires_grad=True)
    ref_p.grad = torch.tensor([3.0, 4.0])
    ref = torch.nn.utils.clip_grad_norm_(ref_p, 1.0)
    assert total.dtype == np.float32 and total.item() == ref.item() == 5.0
    np.testing.assert_array_equal(p.grad.data, ref_p.grad.numpy())  # float32 arithmetic, bit for bit
    empty = clip_grad_norm_([nn.Parameter(minigrad.zeros(2))], 1.0)
    assert empty.item() == 0.0 and empty.dtype == np.float32  # torch.tensor(0.)
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf * 0, as PyTorch computes it
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_non_finite(bad):
    grads = [np.array([1.0, bad]), np.array([2.0])]
    ours, theirs = _both(grads)
    with pytest.raises(RuntimeError, match="non-finite|cannot be clipped"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[1].grad.data, [2.0])  # nothing was scaled
    total = clip_grad_norm_(ours, 1.0)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    np.testing.assert_array_equal(total.data, ref.numpy())
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.data, q.grad.numpy())


@given(seed=st.integers(0, 2**16), clip=st.sampled_from([0.0, 0.1, 0.5, 2.0]))
def test_clip_grad_value_matches_pytorch(seed, clip):
    ours, theirs = _both(_grads(seed, 1.0), [True, False, True, True])
    assert clip_grad_value_(ours, clip) is None
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for p, q in zip(ours, theirs):
        if q.grad is not None:
            np.testing.assert_array_equal(p.grad.data, q.grad.numpy())


def test_parameters_to_vector_and_back_match_pytorch():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    ref = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)).double()
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters()):
            q.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))
            p.data = q.detach().numpy().copy()  # both in torch's layout, so the vectors compare
    vec = parameters_to_vector(model.parameters())
    ref_vec = torch.nn.utils.parameters_to_vector(ref.parameters())
    np.testing.assert_array_equal(vec.data, ref_vec.detach().numpy())
    assert vec.shape == (4 * 3 + 3 + 3 * 2 + 2,) and not vec.requires_grad

    new = np.arange(vec.numel(), dtype=np.float64)
    new_t = minigrad.tensor(new)
    vector_to_parameters(new_t, model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), ref.parameters())
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.data, q.detach().numpy())
    new_t.data[0] = -1.0  # as in PyTorch, the parameters are views into the vector
    assert next(model.parameters()).data.flat[0] == -1.0


def test_vector_to_parameters_errors():
    model = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(np.zeros(8), model.parameters())
    with pytest.raises(ValueError, match="hold 8 values but vec only 5"):
        vector_to_parameters(minigrad.zeros(5), model.parameters())
    with pytest.raises(ValueError, match="1-D"):
        vector_to_parameters(minigrad.zeros(2, 4), model.parameters())


def test_clip_inside_a_training_loop_matches_pytorch():
    """The idiom: backward, clip, step, for a few steps of an MLP, with the norm logged."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 5)) * 4, rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    ref = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p, q in zip(model.parameters(), ref.parameters()):
            q.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))
    opt = minigrad.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.5, momentum=0.9)
    for _ in range(5):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(minigrad.tensor(x)), minigrad.tensor(y)).backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        ref_opt.zero_grad()
        torch.nn.CrossEntropyLoss()(ref(torch.tensor(x)), torch.tensor(y)).backward()
        ref_norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        ref_opt.step()
        assert norm.item() == pytest.approx(ref_norm.item(), rel=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):
        theirs = q.detach().numpy()
        np.testing.assert_allclose(p.data, theirs.T if p.ndim == 2 else theirs, rtol=1e-10, atol=1e-13)

"""``nn.utils.prune`` against ``torch.nn.utils.prune`` 2.13: the same masks (transposed for a
Linear, whose weight minigrad stores as (in, out)), the same re-parametrisation, composition,
state dict and removal, and pruned weights that stay zero while training."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import nn, optim
from minigrad.nn.utils import prune

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")


def pair(n_in=7, n_out=5, seed=0, dtype=np.float64):
    """A minigrad Linear and a torch Linear holding the same (transposed) weights."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((n_in, n_out)).astype(dtype), rng.standard_normal(n_out).astype(dtype)
    m = nn.Linear(n_in, n_out, dtype=dtype)
    m.weight.data[...] = w
    m.bias.data[...] = b
    t = torch.nn.Linear(n_in, n_out, dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(w.T))
        t.bias.copy_(torch.tensor(b))
    return m, t


class Kernel(nn.Module):
    """A 4-D parameter laid out as PyTorch's convolution weight (out, in, kh, kw): the same in both."""

    def __init__(self, w):
        super().__init__()
        self.weight = nn.Parameter(minigrad.tensor(w))


class TorchKernel(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(w))


def linear_mask(m):
    return m.weight_mask.data.T  # minigrad's (in, out) mask as PyTorch's (out, in)


# One step of a pruning sequence: (minigrad call, torch call). Linear dims are translated.
STEPS = {
    "l1_fraction": (lambda m: prune.l1_unstructured(m, "weight", 0.3),
                    lambda t: tprune.l1_unstructured(t, "weight", 0.3)),
    "l1_count": (lambda m: prune.l1_unstructured(m, "weight", 4),
                 lambda t: tprune.l1_unstructured(t, "weight", 4)),
    "l1_half_even": (lambda m: prune.l1_unstructured(m, "weight", 0.5),
                     lambda t: tprune.l1_unstructured(t, "weight", 0.5)),
    "ln2_outputs": (lambda m: prune.ln_structured(m, "weight", 0.4, 2, dim=1),
                    lambda t: tprune.ln_structured(t, "weight", 0.4, 2, dim=0)),
    "ln1_inputs": (lambda m: prune.ln_structured(m, "weight", 2, 1, dim=0),
                   lambda t: tprune.ln_structured(t, "weight", 2, 1, dim=1)),
    "lninf_outputs_neg_dim": (lambda m: prune.ln_structured(m, "weight", 1, math.inf, dim=-1),
                              lambda t: tprune.ln_structured(t, "weight", 1, math.inf, dim=-2)),
    "identity": (lambda m: prune.identity(m, "weight"), lambda t: tprune.identity(t, "weight")),
    "bias_l1": (lambda m: prune.l1_unstructured(m, "bias", 2), lambda t: tprune.l1_unstructured(t, "bias", 2)),
}


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=4),
       shape=st.tuples(st.integers(4, 9), st.integers(3, 8)), seed=st.integers(0, 2**16))
def test_linear_masks_match_pytorch_through_any_sequence_of_prunings(steps, shape, seed):
    m, t = pair(*shape, seed=seed)
    for step in steps:
        ours, theirs = STEPS[step]
        try:
            theirs(t)
        except ValueError:  # a count larger than what is left: both refuse
            with pytest.raises(ValueError, match="smaller than"):
                ours(m)
            break
        ours(m)
    if hasattr(t, "weight_mask"):
        assert np.array_equal(linear_mask(m), t.weight_mask.numpy())
    assert np.array_equal(m.weight.data.T, t.weight.detach().numpy())
    if "bias_l1" in steps:
        assert np.array_equal(m.bias_mask.data, t.bias_mask.numpy())
    x = np.random.default_rng(seed).standard_normal((3, shape[0]))
    np.testing.assert_allclose(m(minigrad.tensor(x)).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("n", [1, 2, math.inf, -math.inf, 0.5])
def test_ln_structured_on_a_4d_kernel_matches_pytorch_with_the_same_dim(dim, n):
    w = np.random.default_rng(3).standard_normal((6, 4, 3, 3))
    m, t = Kernel(w), TorchKernel(w)
    if n != -math.inf:  # after unstructured pruning most channels' min |w| is 0: a tie
        prune.l1_unstructured(m, "weight", 0.25)
        tprune.l1_unstructured(t, "weight", 0.25)
    prune.ln_structured(m, "weight", 0.34, n, dim)
    tprune.ln_structured(t, "weight", 0.34, n, dim)
    assert np.array_equal(m.weight_mask.data, t.weight_mask.numpy())


def test_fro_is_the_2_norm():  # PyTorch takes 'fro' over at most two axes, so a Linear here
    m, t = pair(seed=8)
    prune.ln_structured(m, "weight", 3, "fro", dim=0)
    tprune.ln_structured(t, "weight", 3, "fro", dim=1)
    assert np.array_equal(linear_mask(m), t.weight_mask.numpy())


def test_importance_scores_rank_instead_of_the_weights():
    m, t = pair(seed=5)
    scores = np.random.default_rng(6).standard_normal((7, 5))
    prune.l1_unstructured(m, "weight", 0.4, importance_scores=minigrad.tensor(scores))
    tprune.l1_unstructured(t, "weight", 0.4, importance_scores=torch.tensor(scores.T.copy()))
    assert np.array_equal(linear_mask(m), t.weight_mask.numpy())
    prune.ln_structured(m, "weight", 2, 2, dim=1, importance_scores=minigrad.tensor(scores))
    tprune.ln_structured(t, "weight", 2, 2, dim=0, importance_scores=torch.tensor(scores.T.copy()))
    assert np.array_equal(linear_mask(m), t.weight_mask.numpy())


@pytest.mark.parametrize("amount", [0.6, 25])
def test_global_unstructured_matches_pytorch_and_ranks_across_layers(amount):
    (m1, t1), (m2, t2) = pair(8, 6, seed=1), pair(6, 4, seed=2)
    m2.weight.data *= 0.1  # the second layer's weights are smaller: it should lose more of them
    with torch.no_grad():
        t2.weight *= 0.1
    prune.l1_unstructured(m1, "weight", 0.2)  # composes with an earlier per-layer pruning
    tprune.l1_unstructured(t1, "weight", 0.2)
    prune.global_unstructured([(m1, "weight"), (m2, "weight")], pruning_method=prune.L1Unstructured, amount=amount)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight")], pruning_method=tprune.L1Unstructured,
                               amount=amount)
    assert np.array_equal(linear_mask(m1), t1.weight_mask.numpy())
    assert np.array_equal(linear_mask(m2), t2.weight_mask.numpy())
    assert m2.weight_mask.data.mean() < m1.weight_mask.data.mean()


def test_custom_from_mask_multiplies_into_the_existing_mask():
    m, t = pair(seed=4)
    custom = (np.arange(35).reshape(7, 5) % 3 != 0).astype(np.float64)
    prune.l1_unstructured(m, "weight", 10)
    tprune.l1_unstructured(t, "weight", 10)
    prune.custom_from_mask(m, "weight", minigrad.tensor(custom))
    tprune.custom_from_mask(t, "weight", torch.tensor(custom.T))
    assert np.array_equal(linear_mask(m), t.weight_mask.numpy())
    assert len(m._forward_pre_hooks[0][0]) == 2  # a PruningContainer of the two methods


def test_iterative_fractions_compound_on_what_is_left():
    m = nn.Linear(100, 100)
    for _ in range(3):
        prune.l1_unstructured(m, "weight", 0.2)
    assert m.weight_mask.data.sum() == 10_000 - 2000 - 1600 - 1280  # 0.8 ** 3 kept, as PyTorch


def test_amount_rounds_half_to_even_as_python():
    m = nn.Linear(5, 1)
    prune.l1_unstructured(m, "weight", 0.5)  # round(2.5) == 2
    assert m.weight_mask.data.sum() == 3


def test_ties_prune_the_lower_index_first_and_the_count_matches_pytorch():
    """PyTorch's topk leaves the order of equal values unspecified (its CPU kernel's choice
    depends on the size); minigrad takes the lower row-major index. Both prune the same number
    of entries and only entries no larger than every kept one."""
    w = np.tile([0.5, -0.5, 0.5, 2.0], (6, 1))  # 18 entries of |w| = 0.5, 6 of 2.0
    m, t = Kernel(w), TorchKernel(w)
    prune.l1_unstructured(m, "weight", 7)
    tprune.l1_unstructured(t, "weight", 7)
    mask, theirs = m.weight_mask.data, t.weight_mask.numpy()
    assert mask.sum() == theirs.sum() == 24 - 7
    small = np.flatnonzero(np.abs(w).reshape(-1) == 0.5)
    assert np.array_equal(np.flatnonzero(mask.reshape(-1) == 0), small[:7])
    assert np.abs(w)[theirs == 0].max() <= np.abs(w)[theirs == 1].min()


def test_random_methods_prune_the_right_count_and_repeat_with_the_seed():
    masks = []
    for _ in range(2):
        minigrad.manual_seed(11)
        m = nn.Linear(10, 8)
        prune.random_unstructured(m, "weight", 0.3)
        prune.random_structured(m, "weight", 3, dim=1)
        masks.append(m.weight_mask.data.copy())
    assert np.array_equal(masks[0], masks[1])
    kept_units = masks[0].any(axis=0)
    assert kept_units.sum() == 5
    assert masks[0][:, kept_units].sum() == pytest.approx(80 * 0.7 * 5 / 8, abs=8)  # random: roughly
    m = nn.Linear(10, 8)
    prune.random_unstructured(m, "weight", 24)
    assert m.weight_mask.data.sum() == 56


def test_reparametrisation_names_and_hooks_are_pytorch_s():
    m, t = pair()
    orig = m.weight
    prune.l1_unstructured(m, "weight", 0.5)
    tprune.l1_unstructured(t, "weight", 0.5)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in m.named_buffers()] == ["weight_mask"]
    assert m.weight_orig is orig and not isinstance(m.weight, nn.Parameter)
    assert m.weight_mask.dtype == orig.dtype
    assert prune.is_pruned(m) and prune.is_pruned(nn.Sequential(nn.ReLU(), m))
    assert not prune.is_pruned(nn.Linear(2, 2))


def test_training_keeps_pruned_weights_at_zero_and_an_earlier_optimiser_still_works():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))
    sgd = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # built before pruning
    x, y = minigrad.randn(16, 6), minigrad.randint(0, 3, (16,))
    nn.CrossEntropyLoss()(model(x), y).backward()
    sgd.step()  # momentum now holds non-zero velocity for every weight
    prune.l1_unstructured(model[0], "weight", 0.5)
    prune.ln_structured(model[2], "weight", 1, 2, dim=1)
    adamw = optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.1)
    for opt in (sgd, adamw):
        for _ in range(5):
            opt.zero_grad()
            loss = nn.CrossEntropyLoss()(model(x), y)
            loss.backward()
            opt.step()
    model(x)  # the hook recomputes weight = weight_orig * weight_mask
    for layer in (model[0], model[2]):
        assert np.all(layer.weight.data[layer.weight_mask.data == 0] == 0)
        assert np.all(layer.weight_orig.grad.data[layer.weight_mask.data == 0] == 0)
    assert model[2].weight_mask.data.any(axis=0).sum() == 2


def test_state_dict_round_trips_through_a_file(tmp_path):
    minigrad.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    prune.l1_unstructured(model[0], "weight", 0.5)
    prune.l1_unstructured(model[0], "weight", 0.5)
    minigrad.save(model.state_dict(), tmp_path / "pruned.npz")
    fresh = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(RuntimeError, match="weight_orig"):
        fresh.load_state_dict(minigrad.load(tmp_path / "pruned.npz"))  # not re-parametrised yet
    prune.identity(fresh[0], "weight")  # as in PyTorch: prune first, then load
    fresh.load_state_dict(minigrad.load(tmp_path / "pruned.npz"))
    x = minigrad.randn(3, 5)
    assert np.array_equal(fresh(x).data, model(x).data)
    assert np.array_equal(fresh[0].weight_mask.data, model[0].weight_mask.data)


def test_remove_makes_the_pruning_permanent():
    m, t = pair()
    orig = m.weight
    prune.ln_structured(m, "weight", 2, 2, dim=1)
    tprune.ln_structured(t, "weight", 2, 2, dim=0)
    prune.remove(m, "weight")
    tprune.remove(t, "weight")
    assert m.weight is orig and isinstance(m.weight, nn.Parameter)
    assert list(m.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    assert np.array_equal(m.weight.data.T, t.weight.detach().numpy())
    assert (m.weight.data == 0).all(axis=0).sum() == 2
    assert not prune.is_pruned(m) and m._forward_pre_hooks == []
    with pytest.raises(ValueError, match="has to be pruned before"):
        prune.remove(m, "weight")


def test_prune_method_on_a_bare_tensor():
    w = minigrad.tensor([[1.0, -3.0], [0.5, 2.0]])
    assert prune.L1Unstructured(amount=2).prune(w).tolist() == [[0.0, -3.0], [0.0, 2.0]]


@pytest.mark.parametrize("call, error, match", [
    (lambda m: prune.l1_unstructured(m, "weight", 1.5), ValueError, "range"),
    (lambda m: prune.l1_unstructured(m, "weight", -1), ValueError, "non-negative"),
    (lambda m: prune.l1_unstructured(m, "weight", "half"), TypeError, "amount"),
    (lambda m: prune.l1_unstructured(m, "weight", 100), ValueError, "smaller than"),
    (lambda m: prune.ln_structured(m, "weight", 1, 2, dim=2), IndexError, "dim=2"),
    (lambda m: prune.ln_structured(m, "bias", 1, 2, dim=0), ValueError, "at least 2 dimensions"),
    (lambda m: prune.l1_unstructured(m, "kernel", 0.5), ValueError, "no parameter 'kernel'"),
    (lambda m: prune.l1_unstructured(m, "weight", 0.5, importance_scores=minigrad.ones(5, 7)), ValueError,
     "importance_scores"),
    (lambda m: prune.custom_from_mask(m, "weight", minigrad.ones(5, 7)), ValueError, "mask has shape"),
])
def test_errors_say_what_is_wrong_and_leave_the_module_as_it_was(call, error, match):
    m, _ = pair()
    before = {k: v.data.copy() for k, v in m.state_dict().items()}
    with pytest.raises(error, match=match):
        call(m)
    assert {k: v.data.tolist() for k, v in m.state_dict().items()} == {k: v.tolist() for k, v in before.items()}
    assert isinstance(m.weight, nn.Parameter) and not prune.is_pruned(m)


def test_a_failed_second_pruning_keeps_the_first():
    m, _ = pair()
    prune.l1_unstructured(m, "weight", 30)
    prune.l1_unstructured(m, "weight", 2)
    mask = m.weight_mask.data.copy()
    with pytest.raises(ValueError, match="smaller than"):
        prune.l1_unstructured(m, "weight", 4)  # only 3 entries are left
    assert np.array_equal(m.weight_mask.data, mask)
    assert len(m._forward_pre_hooks) == 1 and len(m._forward_pre_hooks[0][0]) == 2
    m(minigrad.randn(2, 7, dtype=minigrad.float64))
    assert np.array_equal(m.weight.data, m.weight_orig.data * mask)


def test_a_conv2d_takes_pytorch_s_dim_unchanged():
    """A convolution's weight is (out, in, kh, kw) in both libraries: dim=0 removes filters in
    both, and the masks are equal without a transpose."""
    minigrad.manual_seed(0)
    conv = nn.Conv2d(3, 8, 3)
    theirs = torch.nn.Conv2d(3, 8, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(conv.weight.data))
        theirs.bias.copy_(torch.tensor(conv.bias.data))
    prune.ln_structured(conv, "weight", 0.25, 2, dim=0)
    tprune.ln_structured(theirs, "weight", 0.25, 2, dim=0)
    prune.l1_unstructured(conv, "weight", 0.3)
    tprune.l1_unstructured(theirs, "weight", 0.3)
    assert np.array_equal(conv.weight_mask.data, theirs.weight_mask.numpy())
    x = minigrad.randn(2, 3, 6, 6)
    np.testing.assert_allclose(conv(x).data, theirs(torch.tensor(x.data)).detach().numpy(), rtol=1e-5, atol=1e-5)

"""``nn.utils.sparsity``: counting what pruning zeroed, removing dead hidden units exactly, and
storing sparse weights (CSR, deflated)."""
import numpy as np
import pytest

import minigrad
from minigrad import nn
from minigrad.nn.utils import prune
from minigrad.nn.utils import sparsity as sp


def mlp(activation=nn.ReLU, dtype=minigrad.float64, seed=0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 9, dtype=dtype), activation(), nn.Linear(9, 7, dtype=dtype), activation(),
                         nn.Linear(7, 3, dtype=dtype))


def test_sparsity_counts_the_effective_weights_even_before_the_next_forward():
    model = mlp()
    prune.l1_unstructured(model[0], "weight", 0.5)
    prune.ln_structured(model[2], "weight", 2, 1, dim=1)
    state = model.state_dict()
    fresh = mlp(seed=1)
    prune.identity(fresh[0], "weight")
    prune.identity(fresh[2], "weight")
    fresh.load_state_dict(state)  # fresh[0].weight (the hook's output) is stale until a call
    rows = sp.sparsity(fresh)
    assert rows["0.weight"] == (54, 108)
    assert rows["2.weight"] == (18, 63)
    assert rows["4.weight"] == (0, 21)
    assert rows["total"] == (72, 192)
    assert "0.bias" in sp.sparsity(fresh, weights_only=False)
    assert "2.weight" in sp.sparsity_report(fresh) and "37.5%" in sp.sparsity_report(fresh)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_shrink_removes_dead_units_and_computes_the_same_function(activation):
    """Sigmoid's dead units output 0.5, not 0: their constant is folded into the next bias."""
    model = mlp(activation)
    prune.ln_structured(model[0], "weight", 4, 2, dim=1)   # 4 hidden units of layer 1 lose their inputs
    prune.ln_structured(model[2], "weight", 3, 2, dim=0)   # 3 of layer 1's units lose their outputs
    prune.ln_structured(model[4], "weight", 2, 1, dim=0)   # 2 of layer 2's units lose their outputs
    generator_state = minigrad.default_generator().bit_generator.state
    small = sp.shrink(model)
    assert minigrad.default_generator().bit_generator.state == generator_state
    x = minigrad.randn(5, 12, dtype=minigrad.float64)
    with minigrad.no_grad():
        np.testing.assert_allclose(small(x).data, model(x).data, rtol=1e-12, atol=1e-12)
    assert small[0].out_features < 9 and small[2].out_features == 5
    assert not prune.is_pruned(small)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_removing_live_units_is_dropping_their_contribution():
    model = mlp()
    first, second = sp.remove_hidden_units(model[0], model[1], model[2], keep=[0, 2, 3, 8])
    reference = mlp()
    reference[2].weight.data[[1, 4, 5, 6, 7]] = 0  # the dropped units feed nothing
    x = minigrad.randn(4, 12, dtype=minigrad.float64)
    with minigrad.no_grad():
        np.testing.assert_allclose(second(model[1](first(x))).data, reference[:3](x).data, rtol=1e-12)
    assert (first.out_features, second.in_features) == (4, 4)


def test_remove_hidden_units_refuses_what_it_cannot_do():
    model = mlp()
    with pytest.raises(ValueError, match="outputs but second has"):
        sp.remove_hidden_units(model[0], model[1], model[4])
    with pytest.raises(TypeError, match="must be an nn.Linear"):
        sp.remove_hidden_units(model[0], model[1], model[1])
    with pytest.raises(IndexError, match="outside 0..8"):
        sp.remove_hidden_units(model[0], model[1], model[2], keep=[9])
    with pytest.raises(ValueError, match="no hidden unit would be left"):
        sp.remove_hidden_units(model[0], model[1], model[2], keep=[])
    no_bias = nn.Linear(9, 7, bias=False, dtype=minigrad.float64)
    prune.ln_structured(model[0], "weight", 1, 2, dim=1)
    with pytest.raises(ValueError, match="no bias"):
        sp.remove_hidden_units(model[0], nn.Sigmoid(), no_bias)
    with pytest.raises(TypeError, match="Sequential"):
        sp.shrink(model[0])


@pytest.mark.parametrize("shape, index", [((5, 8), np.uint16), ((3, 70_000), np.int32)])
def test_csr_round_trips_through_a_checkpoint(tmp_path, shape, index):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32) * (rng.random(shape) < 0.2)
    a[1] = 0  # an empty row
    csr = sp.to_csr(minigrad.tensor(a))
    assert csr["columns"].dtype == index and len(csr["row_starts"]) == shape[0] + 1
    minigrad.save(csr, tmp_path / "w.npz")
    assert np.array_equal(sp.from_csr(minigrad.load(tmp_path / "w.npz")).data, a)
    with pytest.raises(ValueError, match="expected a matrix"):
        sp.to_csr(a[0])


def test_storage_bytes_shrink_with_sparsity():
    minigrad.manual_seed(0)
    layer = nn.Linear(300, 100)
    before = sp.storage_bytes(layer)
    assert before["dense"] == 4 * (300 * 100 + 100)
    prune.l1_unstructured(layer, "weight", 0.9)
    after = sp.storage_bytes(layer)
    assert after["dense"] == before["dense"]
    assert after["csr"] == 3000 * (4 + 2) + 4 * 301 + 4 * 100  # values, uint16 columns, row starts; bias
    assert after["deflated"] < before["deflated"] / 3

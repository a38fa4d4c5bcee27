"""Embedding and layer norm: forward against NumPy, backward against central differences (and the
scatter-add exactly), padding_idx, PyTorch's initialisation and modules, and the errors."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst
from hypothesis.extra import numpy as hnp
from op_cases import layer_norm_reference

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck, nn
from minigrad.testing import strategies as st


# -- embedding -----------------------------------------------------------------------------

@given(data=hst.data())
def test_embedding_picks_rows_and_scatters_the_gradient_back(data):
    n, dim = data.draw(hst.integers(1, 6)), data.draw(hst.integers(1, 4))
    idx = data.draw(hnp.arrays(np.int64, st.shapes(min_dims=1, max_dims=3), elements=hst.integers(0, n - 1)))
    w = data.draw(st.tensors((n, dim)))
    out = F.embedding(minigrad.tensor(idx), w)
    np.testing.assert_array_equal(out.data, w.data[idx])
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(minigrad.tensor(g))
    expected = np.zeros((n, dim))
    for i, row in zip(idx.reshape(-1), g.reshape(-1, dim)):
        expected[i] += row  # a row picked twice gets both gradients
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-12, atol=1e-15)
    assert gradcheck(lambda t: F.embedding(minigrad.tensor(idx), t), [w])


def test_repeated_indices_accumulate():
    w = minigrad.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    F.embedding(minigrad.tensor([[2, 0, 2], [2, 1, 0]]), w).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [[2, 2], [1, 1], [3, 3]])


@pytest.mark.parametrize("padding_idx", [1, -2])
def test_padding_row_is_used_but_gets_no_gradient(padding_idx):
    w = minigrad.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
    out = F.embedding(minigrad.tensor([2, 2, 1, 0]), w, padding_idx=padding_idx)  # -2 is row 2
    np.testing.assert_array_equal(out.data, w.data[[2, 2, 1, 0]])
    out.sum().backward()
    padded = padding_idx % 4
    expected = np.array([[1, 1], [1, 1], [2, 2], [0, 0]], dtype=float)
    expected[padded] = 0
    np.testing.assert_array_equal(w.grad.data, expected)


def test_nn_embedding_initialises_as_pytorch():
    minigrad.manual_seed(0)
    emb = nn.Embedding(1000, 64, padding_idx=3)
    w = emb.weight.data
    assert emb.weight.shape == (1000, 64) and emb.weight.dtype == minigrad.float32 and emb.weight.requires_grad
    np.testing.assert_array_equal(w[3], 0)
    others = np.delete(w, 3, axis=0)
    assert abs(others.mean()) < 0.01 and abs(others.std() - 1) < 0.01  # N(0, 1), 64,000 draws
    minigrad.manual_seed(0)
    np.testing.assert_array_equal(nn.Embedding(1000, 64, padding_idx=3).weight.data, w)
    assert [name for name, _ in emb.named_parameters()] == ["weight"]
    assert repr(emb) == "Embedding(1000, 64, padding_idx=3)"
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4


def test_nn_embedding_matches_pytorch_forward_and_backward():
    torch = pytest.importorskip("torch")
    emb = nn.Embedding(7, 3, padding_idx=0).double()
    ref = torch.nn.Embedding(7, 3, padding_idx=0).double()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(emb.weight.data))  # same layout: (num_embeddings, dim)
    idx = np.array([[0, 3, 3, 6], [1, 0, 2, 3]])
    out, r = emb(minigrad.tensor(idx)), ref(torch.tensor(idx))
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(minigrad.tensor(g))
    r.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, r.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(emb.weight.grad.data, ref.weight.grad.numpy(), rtol=1e-12)


def test_from_pretrained_copies_and_freezes():
    table = minigrad.randn(4, 2)
    emb = nn.Embedding.from_pretrained(table)
    np.testing.assert_array_equal(emb.weight.data, table.data)
    assert not emb.weight.requires_grad and emb.weight.data is not table.data
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


@pytest.mark.parametrize("args, error, message", [
    ((minigrad.tensor([0.0, 1.0]), minigrad.randn(3, 2)), TypeError, "input must be a tensor of integer indices"),
    ((minigrad.tensor([0, 3]), minigrad.randn(3, 2)), IndexError, r"index 3 is out of range for 3 embeddings"),
    ((minigrad.tensor([-1, 0]), minigrad.randn(3, 2)), IndexError, "index -1 is out of range"),
    ((minigrad.tensor([0]), minigrad.randn(3)), ValueError, r"weight must be a 2-D tensor"),
    ((minigrad.tensor([0]), minigrad.randn(3, 2), 3), ValueError, r"padding_idx 3 is out of range for 3 embeddings"),
])
def test_embedding_errors_say_what_is_wrong(args, error, message):
    with pytest.raises(error, match="embedding: .*" + message):
        F.embedding(*args)


# -- layer norm ----------------------------------------------------------------------------

@given(data=hst.data(), weight=hst.booleans(), bias=hst.booleans())
def test_layer_norm_over_one_to_three_axes(data, weight, bias):
    x = data.draw(st.tensors(st.shapes(min_dims=1, max_dims=4, max_side=4)))
    ndim = data.draw(hst.integers(1, min(3, x.ndim)))
    shape = x.shape[x.ndim - ndim:]
    w = data.draw(st.tensors(shape)) if weight else None
    b = data.draw(st.tensors(shape)) if bias else None
    out = F.layer_norm(x, shape, w, b)
    ref = layer_norm_reference(x.data, ndim, None if w is None else w.data, None if b is None else b.data)
    np.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
    inputs = [x] + [t for t in (w, b) if t is not None]
    assert gradcheck(lambda xx, *wb: F.layer_norm(xx, shape, *_affine(weight, bias, wb)), inputs)


def _affine(weight, bias, wb):
    wb = list(wb)
    return (wb.pop(0) if weight else None), (wb.pop(0) if bias else None)


@given(x=st.tensors(st.shapes(min_dims=2, max_dims=3)))
def test_layer_norm_fused_backward_equals_the_engine_through_primitives(x):
    """The compact formula against the chain rule of mean, sub, mul, pow and div, op by op."""
    def by_primitives(t):
        centred = t - t.mean(axis=-1, keepdims=True)
        return centred / ((centred * centred).mean(axis=-1, keepdims=True) + 1e-5) ** 0.5

    g = minigrad.tensor(np.random.default_rng(0).standard_normal(x.shape))
    grads = []
    for fn in (lambda t: F.layer_norm(t, x.shape[-1:]), by_primitives):
        x.grad = None
        out = fn(x)
        out.backward(g)
        grads.append((out.data, x.grad.data))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_layer_norm_output_has_zero_mean_and_unit_variance():
    x = minigrad.tensor(np.random.default_rng(0).normal(5.0, 3.0, (4, 100)))
    y = F.layer_norm(x, (100,)).data
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 9 / (9 + 1e-5), rtol=1e-2)  # eps shrinks it a hair


def test_nn_layer_norm_initialises_and_matches_pytorch():
    torch = pytest.importorskip("torch")
    ln = nn.LayerNorm((3, 4), eps=1e-4)
    assert [name for name, _ in ln.named_parameters()] == ["weight", "bias"]
    np.testing.assert_array_equal(ln.weight.data, 1)
    np.testing.assert_array_equal(ln.bias.data, 0)
    assert not list(nn.LayerNorm(4, elementwise_affine=False).parameters())
    assert [name for name, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    ln.double()
    ref = torch.nn.LayerNorm((3, 4), eps=1e-4).double()
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p, q in zip(ln.parameters(), ref.parameters()):
            p.data = rng.standard_normal(p.shape)
            q.copy_(torch.tensor(p.data))
    x = rng.standard_normal((2, 3, 4))
    out, r = ln(minigrad.tensor(x)), ref(torch.tensor(x))
    g = rng.standard_normal(out.shape)
    out.backward(minigrad.tensor(g))
    r.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, r.detach().numpy(), rtol=1e-12, atol=1e-14)
    for p, q in zip(ln.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("call, message", [
    (lambda: F.layer_norm(minigrad.randn(2, 3), (4,)), r"normalized_shape \(4,\) must be the last axes"),
    (lambda: F.layer_norm(minigrad.randn(3), (2, 3)), r"normalized_shape \(2, 3\) must be the last axes"),
    (lambda: F.layer_norm(minigrad.randn(2, 3), 3, minigrad.ones(4)), r"weight has shape \(4,\)"),
    (lambda: nn.LayerNorm(0), "LayerNorm: normalized_shape must be a positive int"),
])
def test_layer_norm_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()

"""Scaled dot-product attention: the fused op against NumPy, central differences, the same
attention built from primitive ops, and PyTorch; masks, fully masked rows, dropout, errors."""
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst
from op_cases import attention_reference

import minigrad
import minigrad.nn.functional as F
from minigrad import gradcheck
from minigrad.models import attention_from_primitives
from minigrad.testing import strategies as st

sdpa = F.scaled_dot_product_attention
KINDS = ["none", "causal", "bool", "float"]  # one run per kind of mask, so none is starved of examples


def _host_kwargs(kwargs):
    mask = kwargs.get("attn_mask")
    if kwargs.get("is_causal"):
        return None, kwargs.get("scale")
    return (None if mask is None else mask.data), kwargs.get("scale")


def _inputs(q, k, v, kwargs):
    """The tensors gradcheck nudges: q, k, v and a float mask that requires a gradient."""
    mask = kwargs.get("attn_mask")
    return [q, k, v] + ([mask] if mask is not None and mask.requires_grad else [])


def _call(fn, kwargs):
    """``fn(q, k, v, [mask])`` with the mask passed back in as attn_mask where it was nudged."""
    rest = {key: val for key, val in kwargs.items() if key != "attn_mask"}
    mask = kwargs.get("attn_mask")
    if mask is not None and mask.requires_grad:
        return lambda q, k, v, m: fn(q, k, v, attn_mask=m, **rest)
    return lambda q, k, v: fn(q, k, v, attn_mask=mask, **rest)


@pytest.mark.parametrize("kind", KINDS)
@given(data=hst.data())
def test_forward_matches_numpy_and_backward_matches_central_differences(kind, data):
    q, k, v, kwargs = data.draw(st.attention_inputs(masks=(kind,)))
    mask, scale = _host_kwargs(kwargs)
    if kwargs.get("is_causal"):
        mask = np.tril(np.ones((q.shape[-2], k.shape[-2]), bool))
    out = sdpa(q, k, v, **kwargs)
    np.testing.assert_allclose(out.data, attention_reference(q.data, k.data, v.data, mask, scale),
                               rtol=1e-10, atol=1e-12)
    assert gradcheck(_call(sdpa, kwargs), _inputs(q, k, v, kwargs))


@pytest.mark.parametrize("kind", KINDS)
@given(data=hst.data())
def test_fused_op_equals_attention_from_primitives(kind, data):
    """Forward and every gradient: the fused backward against the engine's chain of primitives."""
    q, k, v, kwargs = data.draw(st.attention_inputs(masks=(kind,)))
    mask = kwargs.get("attn_mask")
    if mask is not None and mask.dtype == bool:
        st.assume(mask.data.any(axis=-1).all())  # the primitives give nan for a fully masked row
    tensors = _inputs(q, k, v, kwargs)
    fused, prim = _call(sdpa, kwargs)(*tensors), _call(attention_from_primitives, kwargs)(*tensors)
    np.testing.assert_allclose(fused.data, prim.data, rtol=1e-10, atol=1e-12)
    upstream = minigrad.tensor(np.random.default_rng(0).standard_normal(fused.shape))
    grads = []
    for out in (fused, prim):
        for t in tensors:
            t.grad = None
        out.backward(upstream)
        grads.append([t.grad.data for t in tensors])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@given(data=hst.data())
def test_fused_and_primitive_attention_match_pytorch(kind, data):
    torch = pytest.importorskip("torch")
    q, k, v, kwargs = data.draw(st.attention_inputs(masks=(kind,)))
    mask = kwargs.get("attn_mask")
    tensors = _inputs(q, k, v, kwargs)
    theirs = [torch.tensor(t.data, requires_grad=True) for t in tensors]
    t_kwargs = dict(kwargs)
    if mask is not None and not mask.requires_grad:
        t_kwargs["attn_mask"] = torch.tensor(mask.data)
    ref = _call(torch.nn.functional.scaled_dot_product_attention, t_kwargs)(*theirs)
    upstream = np.random.default_rng(0).standard_normal(tuple(ref.shape))
    ref.backward(torch.tensor(upstream))
    fns = [sdpa]
    if mask is None or mask.dtype != bool or mask.data.any(axis=-1).all():
        fns.append(attention_from_primitives)
    for fn in fns:
        for t in tensors:
            t.grad = None
        out = _call(fn, kwargs)(*tensors)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=fn.__name__)
        out.backward(minigrad.tensor(upstream))
        for a, b in zip(tensors, theirs):
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=fn.__name__)


@given(x=st.tensors(st.shapes(min_dims=2, max_dims=3)))
def test_self_attention_uses_one_tensor_three_times(x):
    """q = k = v = x: the engine adds the three gradients of one node."""
    assert gradcheck(lambda t: sdpa(t, t, t), [x])
    assert gradcheck(lambda t: sdpa(t, t, t, is_causal=True), [x])


def test_fully_masked_row_gives_zeros_and_no_gradient_as_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 2)])
    mask = np.ones((3, 5), bool)
    mask[1] = False
    float_mask = np.where(mask, 0.0, -np.inf)
    for m, tm in ((mask, torch.tensor(mask)), (float_mask, torch.tensor(float_mask))):
        ours = [minigrad.tensor(a, requires_grad=True) for a in (q, k, v)]
        out = sdpa(*ours, attn_mask=minigrad.tensor(m))
        np.testing.assert_array_equal(out.data[:, 1], 0)
        out.sum().backward()
        np.testing.assert_array_equal(ours[0].grad.data[:, 1], 0)
        theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        ref = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=tm)
        ref.sum().backward()
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, atol=1e-14)
    with np.errstate(invalid="ignore"):  # the course version: softmax of an all -inf row is 0/0
        prim = attention_from_primitives(*(minigrad.tensor(a) for a in (q, k, v)), attn_mask=minigrad.tensor(mask))
    assert np.isnan(prim.data[:, 1]).all() and np.isfinite(prim.data[:, [0, 2]]).all()


def test_float32_stays_float32_with_a_float64_mask_or_scale():
    q = minigrad.randn(2, 3, 4)
    mask = minigrad.zeros(3, 3, dtype=minigrad.float64, requires_grad=True)
    out = sdpa(q, q, q, attn_mask=mask)
    assert out.dtype == minigrad.float32
    out.sum().backward()
    assert mask.grad.dtype == minigrad.float64  # each gradient in its input's dtype
    assert sdpa(q, q, q, is_causal=True).dtype == minigrad.float32
    assert sdpa(q, q, q, scale=np.float64(0.5)).dtype == minigrad.float32


def test_only_the_inputs_that_need_a_gradient_get_one():
    q, k = minigrad.randn(2, 3, 4), minigrad.randn(2, 5, 4)
    v = minigrad.randn(2, 5, 3, requires_grad=True)
    out = sdpa(q, k, v)
    dq, dk, dv, dmask, *_ = out._ctx.fn.backward(out._ctx, np.ones(out.shape, np.float32))
    assert dq is None and dk is None and dmask is None and dv.shape == v.shape


# -- dropout -------------------------------------------------------------------------------

def test_dropout_is_inverted_and_reproducible_under_manual_seed():
    rng = np.random.default_rng(0)
    q, k, v = (minigrad.tensor(rng.standard_normal(s)) for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)])
    minigrad.manual_seed(3)
    first = sdpa(q, k, v, dropout_p=0.5)
    second = sdpa(q, k, v, dropout_p=0.5)
    minigrad.manual_seed(3)
    again = sdpa(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(first.data, again.data)
    assert not np.array_equal(first.data, second.data)
    keep = np.random.default_rng(3).random((2, 3, 5)) >= 0.5  # the draw the op makes after the seed
    np.testing.assert_allclose(first.data, attention_reference(q.data, k.data, v.data, keep=keep, p=0.5),
                               rtol=1e-12)


def test_dropout_keeps_each_weight_with_probability_one_minus_p():
    """On a uniform attention (all keys equal) each kept weight is 1/S / (1 - p), each dropped 0."""
    p, n_keys = 0.25, 40
    q, k = minigrad.zeros(1, 500, 2, dtype=minigrad.float64), minigrad.zeros(1, n_keys, 2, dtype=minigrad.float64)
    v = minigrad.tensor(np.eye(n_keys)[None])  # output row = the dropped-out attention weights
    minigrad.manual_seed(0)
    w = sdpa(q, k, v, dropout_p=p).data
    assert set(np.unique(np.round(w * n_keys * (1 - p), 12))) == {0.0, 1.0}
    kept = (w > 0).mean()
    assert abs(kept - (1 - p)) < 0.01  # 20,000 draws: the standard error is 0.003
    assert abs(w.sum(-1).mean() - 1) < 0.01  # inverted scaling keeps the expected row sum at 1


def test_no_dropout_draws_nothing():
    x = minigrad.randn(2, 3, 4)
    minigrad.manual_seed(5)
    sdpa(x, x, x)
    after = minigrad.randn(3).data
    minigrad.manual_seed(5)
    np.testing.assert_array_equal(after, minigrad.randn(3).data)


# -- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("make, kwargs, message", [
    (lambda: (minigrad.randn(2, 3, 4), minigrad.randn(2, 5, 3), minigrad.randn(2, 5, 3)), {},
     r"shapes do not fit: query \(2, 3, 4\), key \(2, 5, 3\)"),
    (lambda: (minigrad.randn(2, 3, 4), minigrad.randn(2, 5, 4), minigrad.randn(2, 6, 3)), {},
     "key.shape\\[-2\\] == value.shape\\[-2\\]"),
    (lambda: (minigrad.randn(2, 3, 4), minigrad.randn(3, 5, 4), minigrad.randn(3, 5, 3)), {},
     r"batch\) axes of query, key and value do not broadcast: \(2,\) and \(3,\)"),
    (lambda: (minigrad.randn(3, 4), minigrad.randn(5, 4), minigrad.randn(5, 2)),
     {"attn_mask": minigrad.zeros(2, 5)}, r"attn_mask of shape \(2, 5\) does not broadcast to the attention "
     r"weights' shape \(3, 5\)"),
    (lambda: (minigrad.randn(3, 4), minigrad.randn(5, 4), minigrad.randn(5, 2)),
     {"attn_mask": minigrad.zeros(2, 3, 5)}, r"attn_mask of shape \(2, 3, 5\) does not broadcast"),
    (lambda: (minigrad.randn(4),) * 3, {}, "query needs at least 2 axes"),
    (lambda: (minigrad.randn(3, 4), minigrad.randn(3, 4), minigrad.randn(3, 4)),
     {"attn_mask": minigrad.ones(3, 3), "is_causal": True}, "either attn_mask or is_causal"),
    (lambda: (minigrad.randn(3, 4),) * 3, {"dropout_p": 1.0}, r"dropout_p must be in \[0, 1\)"),
])
def test_errors_say_what_is_wrong(make, kwargs, message):
    with pytest.raises(ValueError, match="scaled_dot_product_attention: .*" + message):
        sdpa(*make(), **kwargs)


@pytest.mark.parametrize("args, message", [
    ((minigrad.randn(3, 4), minigrad.randn(3, 4), minigrad.randn(3, 4, dtype=minigrad.float64)),
     "must share one floating dtype, got float32, float32 and float64"),
    ((minigrad.randn(3, 4),) * 3 + (minigrad.tensor(np.ones((3, 3), np.int64)),), "attn_mask must be bool"),
])
def test_type_errors_say_what_is_wrong(args, message):
    with pytest.raises(TypeError, match="scaled_dot_product_attention: .*" + message):
        sdpa(*args)


def test_attention_benchmark_runs_and_its_variants_agree():
    """benchmarks/attention.py: the variants compute the same thing; measures nothing."""
    root = str(pathlib.Path(__file__).resolve().parents[1])
    sys.path.insert(0, root)
    try:
        from benchmarks import attention
    finally:
        sys.path.remove(root)
    variants = ["fused", "primitives"] + (["torch"] if attention.common.torch_or_none() else [])
    for causal in (True, False):
        assert attention.check_same_results(variants, causal) < 1e-4
    row = attention.bench(True, variants, repeats=1, chunk=0.001)
    assert all(row["ms"][v] > 0 for v in variants) and row["ratios"]["fused/primitives"] > 0

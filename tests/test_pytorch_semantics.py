"""Where NumPy's rules and PyTorch's differ, minigrad follows PyTorch: dtype promotion, the
order of mixed indices, what casts and reductions return, and the factories' dtypes. Each of
these gave a different answer silently before, and each test here failed on that code.

The comparisons with PyTorch itself are skipped where torch is not installed; the rest run
everywhere.
"""
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as hst

import minigrad
import minigrad.nn.functional as F


def _torch():
    return pytest.importorskip("torch")


# -- type promotion -------------------------------------------------------------------------

def test_uint8_images_divided_by_a_float_stay_float32():
    images = minigrad.tensor(np.array([[0, 128, 255]], dtype=np.uint8))
    scaled = images / 255.0
    assert scaled.dtype == minigrad.float32  # NumPy gives float64
    np.testing.assert_allclose(scaled.data, [[0.0, 128 / 255, 1.0]], rtol=1e-6)


def test_integer_true_division_gives_float32():
    a, b = minigrad.tensor([1, 2, 3]), minigrad.tensor([2, 2, 2])
    assert (a / b).dtype == minigrad.float32 and (a / 2).dtype == minigrad.float32 and (1 / a).dtype == minigrad.float32
    np.testing.assert_array_equal((a / b).data, [0.5, 1.0, 1.5])


def test_numbers_never_widen_a_tensor():
    x = minigrad.ones(3)
    for number in (np.float64(2.0), 2.0, 2, np.int64(2), np.float32(2.0)):
        assert (x * number).dtype == minigrad.float32, number
        assert (number * x).dtype == minigrad.float32, number
        assert (x + number).dtype == minigrad.float32 and (x - number).dtype == minigrad.float32, number
    ints = minigrad.tensor([1, 2], dtype=minigrad.int32)
    assert (ints * 2.5).dtype == minigrad.float32  # an int tensor and a float: the default float
    assert (ints * np.int64(3)).dtype == minigrad.int32
    assert (minigrad.tensor([True, False]) + 2).dtype == minigrad.int64


def test_mixed_float_tensors_promote_and_each_gradient_keeps_its_dtype():
    a = minigrad.ones(2, 3, requires_grad=True)
    b = minigrad.ones(3, dtype=minigrad.float64, requires_grad=True)
    out = a * b
    assert out.dtype == minigrad.float64
    out.sum().backward()
    assert a.grad.dtype == minigrad.float32 and b.grad.dtype == minigrad.float64
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0, 2.0])


def test_zero_dimensional_tensors_count_less_than_tensors_with_dimensions():
    x = minigrad.ones(3)
    assert (x + minigrad.tensor(1.0, dtype=minigrad.float64)).dtype == minigrad.float32
    assert (minigrad.tensor([1, 2]) + minigrad.tensor(1.5, dtype=minigrad.float64)).dtype == minigrad.float64


def test_promotion_table_matches_pytorch():
    torch = _torch()
    dtypes = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
    numbers = [True, 3, 2.5, np.float64(2.5), np.int64(3), np.float32(1.5)]
    for da in dtypes:
        a = minigrad.tensor(np.ones(2, dtype=da))
        ta = torch.ones(2, dtype=getattr(torch, da))
        for db in dtypes:
            for zero_dim in (False, True):
                b = minigrad.tensor(np.ones(() if zero_dim else 2, dtype=db))
                tb = torch.ones(() if zero_dim else 2, dtype=getattr(torch, db))
                assert str(minigrad.result_type(a, b)) == str(torch.result_type(ta, tb)).replace("torch.", ""), (da, db)
                if "bool" not in (da, db):
                    assert str((a + b).dtype) == str((ta + tb).dtype).replace("torch.", ""), (da, db, zero_dim)
        for n in numbers:
            expected = str(torch.result_type(ta, n.item() if hasattr(n, "item") else n)).replace("torch.", "")
            assert str(minigrad.result_type(a, n)) == expected, (da, n)


def test_comparisons_return_bool_in_the_promoted_dtype():
    x = minigrad.tensor([0.1, 0.2])
    assert (x == np.float64(0.1)).dtype == minigrad.bool_
    # 0.1 rounds to the same float32 on both sides, as in PyTorch; NumPy compares in float64
    np.testing.assert_array_equal((x == np.float64(0.1)).data, [True, False])
    assert (minigrad.tensor(3) > 2).data.item() is True  # a 0-d comparison is a tensor, not a NumPy bool


@pytest.mark.parametrize("op, name", [(lambda a, b: a == b, "eq"), (lambda a, b: a != b, "ne"),
                                      (lambda a, b: a < b, "lt"), (lambda a, b: a >= b, "ge")])
def test_comparisons_of_shapes_that_do_not_broadcast_name_the_op_and_the_shapes(op, name):
    a, b = minigrad.tensor([1, 2, 3]), minigrad.tensor([1, 2])
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(3,\) and \(2,\) do not broadcast"):
        op(a, b)
    assert op(a, minigrad.tensor([[1], [2]])).shape == (2, 3)  # broadcasting itself still works


@pytest.mark.parametrize("op", ["matmul", "linear"])
def test_mixed_float_matrix_products_raise_as_pytorch(op):
    a, b = minigrad.ones(2, 3), minigrad.ones(3, 4, dtype=minigrad.float64)
    with pytest.raises(RuntimeError, match=rf"{op}: expected all operands to have the same dtype, got float32 "
                                           r"and float64; cast them to one, e.g. with \.float\(\) or \.double\(\)"):
        a @ b if op == "matmul" else F.linear(a, b)


# -- casts ----------------------------------------------------------------------------------

def test_casts_are_ops_and_integer_casts_need_no_gradient():
    x = minigrad.tensor([1.5, -2.5], requires_grad=True)
    assert x.float() is x and x.to(minigrad.float32) is x
    d = x.double()
    assert d.dtype == minigrad.float64 and not d.is_leaf and d.requires_grad
    (d * d).sum().backward()  # before, .double() made a new leaf and x.grad stayed None
    assert x.grad.dtype == minigrad.float32
    np.testing.assert_array_equal(x.grad.data, [3.0, -5.0])
    for cast, dtype in ((x.long, minigrad.int64), (x.int, minigrad.int32), (x.bool, minigrad.bool_)):
        y = cast()
        assert y.dtype == dtype and not y.requires_grad
    np.testing.assert_array_equal(x.long().data, [1, -2])  # truncation toward zero, as in PyTorch
    assert x.half().dtype == minigrad.float16
    assert x.type() == "minigrad.FloatTensor" and x.type(minigrad.float64).dtype == minigrad.float64
    assert x.type("minigrad.LongTensor").dtype == minigrad.int64
    assert x.to(minigrad.ones(1, dtype=minigrad.float64)).dtype == minigrad.float64


# -- indexing -------------------------------------------------------------------------------

def test_a_slice_between_an_int_and_a_list_keeps_pytorch_order():
    x = minigrad.tensor(np.arange(60.0).reshape(3, 4, 5), requires_grad=True)
    y = x[0, :, [0, 1, 0]]
    assert y.shape == (4, 3)  # NumPy: (3, 4)
    np.testing.assert_array_equal(y.data, x.data[0][:, [0, 1, 0]])
    y.sum().backward()
    expected = np.zeros((3, 4, 5))
    expected[0, :, 0], expected[0, :, 1] = 2.0, 1.0  # column 0 was picked twice
    np.testing.assert_array_equal(x.grad.data, expected)


@hst.composite
def torch_indices(draw, ndim=4, size=3):
    """A PyTorch index for a tensor of ``ndim`` axes of ``size``: ints, slices, lists of one
    length (advanced indices broadcast together), None and at most one Ellipsis."""
    kinds = draw(hst.lists(hst.sampled_from(["int", "slice", "list", "none", "ellipsis"]), min_size=1, max_size=5))
    length = draw(hst.integers(1, 3))
    items, dims, ellipsis = [], 0, False
    for kind in kinds:
        if kind == "none":
            items.append(None)
        elif kind == "ellipsis" and not ellipsis:
            items.append(Ellipsis)
            ellipsis = True
        elif dims < ndim and kind == "int":
            items.append(draw(hst.integers(-size, size - 1)))
            dims += 1
        elif dims < ndim and kind == "slice":
            items.append(slice(draw(hst.integers(0, 1)), None, draw(hst.sampled_from([1, 2]))))
            dims += 1
        elif dims < ndim and kind == "list":
            items.append(draw(hst.lists(hst.integers(0, size - 1), min_size=length, max_size=length)))
            dims += 1
    return tuple(items)


@given(index=torch_indices())
@example(index=(0, slice(None), [0, 1, 0]))  # where NumPy's order differs: an int and a list, a slice between
@example(index=(0, Ellipsis, [1, 2]))
@example(index=([0, 2], slice(None), 1))
@example(index=(1, None, slice(None), [2, 2]))
@example(index=([0, 1], 0, [1, 1], slice(1, None)))
@example(index=(slice(None), 1, slice(None), [0, 2]))
def test_indexing_matches_pytorch(index):
    torch = _torch()
    x = minigrad.tensor(np.arange(81.0).reshape(3, 3, 3, 3), requires_grad=True)
    tx = torch.tensor(x.data, requires_grad=True)
    ref = tx[index]
    out = x[index]
    assert out.shape == tuple(ref.shape), index
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(minigrad.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_boolean_masks_and_tensor_indices():
    x = minigrad.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.data, [1.0, 4.0])
    (picked * minigrad.tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[10.0, 0.0], [0.0, 20.0]])
    rows = x[minigrad.tensor([1, 1, 0])]
    assert rows.shape == (3, 2)
    assert x[0, minigrad.tensor([True, False])].shape == (1,)


# -- reductions -----------------------------------------------------------------------------

def test_max_and_min_with_a_dim_return_values_and_indices():
    x = minigrad.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = x.max(dim=1)
    assert isinstance(out, tuple) and out._fields == ("values", "indices")
    values, indices = out
    np.testing.assert_array_equal(values.data, [5.0, 7.0])
    np.testing.assert_array_equal(indices.data, [1, 0])
    assert x.min(0, keepdim=True).indices.shape == (1, 3)
    assert x.max(axis=0).values.shape == (3,)  # axis is an alias of dim, as in PyTorch
    assert x.max().shape == ()
    np.testing.assert_array_equal(x.max(minigrad.full((3,), 4.0)).data, [[4.0, 5.0, 4.0], [7.0, 4.0, 4.0]])


def test_reductions_take_dim_keepdim_and_numpy_aliases():
    x = minigrad.tensor(np.arange(24.0).reshape(2, 3, 4))
    for name in ("sum", "mean", "amax", "amin", "var", "std"):
        fn = getattr(x, name)
        a = fn(dim=(0, 2), keepdim=True)
        b = fn(axis=(0, 2), keepdims=True)
        c = fn([0, 2], True) if name not in ("var", "std") else fn((0, 2), keepdim=True)
        assert a.shape == b.shape == c.shape == (1, 3, 1), name
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(IndexError, match=r"sum: dim 3 is out of range for a tensor of shape \(2, 3, 4\)"):
        x.sum(dim=3)


def test_reductions_match_pytorch():
    torch = _torch()
    data = np.random.default_rng(0).standard_normal((3, 4, 5))
    data[0, 1, :] = 9.0  # a tie
    x, t = minigrad.tensor(data), torch.tensor(data)
    for dim in (None, 0, -1):
        for keepdim in (False, True):
            kw = {} if dim is None else dict(dim=dim, keepdim=keepdim)
            for name in ("argmax", "argmin", "var", "std", "sum", "mean", "amax", "amin"):
                ours, theirs = getattr(x, name)(**kw), getattr(t, name)(**kw)
                assert ours.shape == tuple(theirs.shape), (name, kw)
                np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12)
            if dim is not None:
                for name in ("max", "min"):
                    ours, theirs = getattr(x, name)(**kw), getattr(t, name)(**kw)
                    np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
    assert x.argmax(keepdim=True).shape == tuple(t.argmax(keepdim=True).shape)
    np.testing.assert_allclose(x.var(0, False).data, t.var(0, False).numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.var(correction=2).data, t.var(correction=2).numpy(), rtol=1e-12)


def test_mean_of_integers_raises_as_pytorch():
    with pytest.raises(RuntimeError, match="mean: could not infer the output dtype: the input must be floating"):
        minigrad.tensor([1, 2]).mean()
    assert minigrad.tensor([1, 2]).sum().dtype == minigrad.int64
    assert minigrad.tensor([True, True]).sum().item() == 2


def test_topk_returns_values_and_indices():
    x = minigrad.tensor([1.0, 3.0, 2.0, 5.0], requires_grad=True)
    values, indices = minigrad.topk(x, 2)
    np.testing.assert_array_equal(values.data, [5.0, 3.0])
    np.testing.assert_array_equal(indices.data, [3, 1])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0, 1.0])
    with pytest.raises(RuntimeError, match="topk: k=5 is out of range"):
        x.topk(5)


# -- shapes ---------------------------------------------------------------------------------

def test_split_and_chunk_sizes_match_pytorch():
    torch = _torch()
    for n in range(1, 8):
        x, t = minigrad.arange(n), torch.arange(n)
        for k in range(1, 5):
            assert [p.shape for p in x.chunk(k)] == [tuple(p.shape) for p in t.chunk(k)], (n, k)
            assert [p.shape for p in x.split(k)] == [tuple(p.shape) for p in t.split(k)], (n, k)
    assert [p.shape for p in minigrad.zeros(5, 2).split([2, 3])] == [(2, 2), (3, 2)]


def test_squeeze_unsqueeze_flatten_permute_expand_shapes():
    x = minigrad.zeros(2, 1, 3, 1)
    assert x.squeeze().shape == (2, 3) and x.squeeze(1).shape == (2, 3, 1) and x.squeeze(0).shape == x.shape
    assert x.squeeze((1, 3)).shape == (2, 3)
    assert x.unsqueeze(-1).shape == (2, 1, 3, 1, 1) and x.unsqueeze(0).shape == (1, 2, 1, 3, 1)
    assert x.flatten().shape == (6,) and x.flatten(1).shape == (2, 3) and x.flatten(0, 2).shape == (6, 1)
    assert x.permute(3, 2, 1, 0).shape == (1, 3, 1, 2) and x.permute((0, 2, 1, 3)).shape == (2, 3, 1, 1)
    assert x.expand(4, 2, 5, 3, -1).shape == (4, 2, 5, 3, 1)
    with pytest.raises(ValueError, match="permute: .* is not a permutation"):
        x.permute(0, 0, 1, 2)


def test_where_and_masked_fill_dtypes_follow_pytorch():
    cond = minigrad.tensor([True, False])
    assert minigrad.where(cond, 1.0, 0).dtype == minigrad.float32
    assert minigrad.where(cond, minigrad.tensor([1, 2]), 2.5).dtype == minigrad.float32
    np.testing.assert_array_equal(minigrad.tensor([1, 2]).masked_fill(cond, 7.9).data, [7, 2])
    with pytest.raises(TypeError, match="where: condition must be a bool tensor, got float32"):
        minigrad.where(minigrad.ones(2), 1.0, 0.0)


# -- factories ------------------------------------------------------------------------------

def test_full_infers_its_dtype_from_the_value_as_pytorch():
    assert minigrad.full((2,), 3).dtype == minigrad.int64  # before: float32
    assert minigrad.full((2,), 3.0).dtype == minigrad.float32
    assert minigrad.full((2,), True).dtype == minigrad.bool_
    assert minigrad.full((2, 2), 1, dtype=minigrad.float64).dtype == minigrad.float64


def test_eye_linspace_empty():
    np.testing.assert_array_equal(minigrad.eye(2, 3).data, np.eye(2, 3))
    assert minigrad.eye(3).dtype == minigrad.float32
    np.testing.assert_allclose(minigrad.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1.0])
    assert minigrad.linspace(0, 1, 5).dtype == minigrad.float32
    e = minigrad.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == minigrad.float32
    assert minigrad.empty((4,), dtype=minigrad.int64).dtype == minigrad.int64


def test_from_numpy_shares_memory():
    a = np.zeros(3)
    t = minigrad.from_numpy(a)
    a[0] = 5.0
    assert t.dtype == minigrad.float64 and t.data[0] == 5.0
    t.data[1] = 7.0
    assert a[1] == 7.0
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        minigrad.from_numpy([1.0])


def test_multinomial_follows_the_seed_and_the_weights():
    weights = minigrad.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    minigrad.manual_seed(0)
    first = minigrad.multinomial(weights, 1)
    minigrad.manual_seed(0)
    assert first.dtype == minigrad.int64 and first.shape == (2, 1)
    np.testing.assert_array_equal(first.data, minigrad.multinomial(weights, 1).data)
    assert first.data[1, 0] == 0  # the only category with weight
    draws = minigrad.multinomial(minigrad.tensor([1.0, 3.0]), 4000, replacement=True).data
    assert abs((draws == 1).mean() - 0.75) < 0.03
    without = minigrad.multinomial(minigrad.ones(2, 5), 5).data
    assert all(sorted(row) == [0, 1, 2, 3, 4] for row in without)  # each drawn once
    with pytest.raises(RuntimeError, match="cannot draw 6 samples without replacement from 5"):
        minigrad.multinomial(minigrad.ones(5), 6)
    gen = np.random.default_rng(3)
    assert minigrad.multinomial(minigrad.ones(4), 2, generator=gen).shape == (2,)


def test_one_hot():
    labels = minigrad.tensor([0, 2, 1])
    np.testing.assert_array_equal(minigrad.one_hot(labels).data, np.eye(3, dtype=np.int64)[[0, 2, 1]])
    assert minigrad.one_hot(labels, num_classes=5).shape == (3, 5)
    assert minigrad.one_hot(labels).dtype == minigrad.int64
    assert minigrad.one_hot(minigrad.tensor([[1], [0]]), 2).shape == (2, 1, 2)
    with pytest.raises(RuntimeError, match=r"one_hot: class values must be in \[0, 2\)"):
        minigrad.one_hot(labels, 2)
    with pytest.raises(TypeError, match="one_hot: expected an integer"):
        minigrad.one_hot(minigrad.tensor([0.0]))


def test_linear_module_refuses_mixed_float_dtypes_as_pytorch():
    """nn.Linear skips F.linear's checks for speed; a float64 batch into float32 weights must
    still raise rather than silently compute in float64."""
    layer = minigrad.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=r"Linear\(3, 2\): expected all operands to have the same dtype"):
        layer(minigrad.tensor(np.ones((4, 3)), dtype=minigrad.float64))
    assert layer(minigrad.ones(4, 3)).dtype == minigrad.float32

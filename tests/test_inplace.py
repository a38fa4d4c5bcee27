"""In-place ops and the version counter: the update idioms courses write by hand, PyTorch's
errors where the graph would be corrupted, views, and parity with PyTorch in float64.

Each test of a silent wrong result names it; on the engine before in-place ops existed those
tests fail (a rebinding ``w -= ...``, a parameter silently dropped from its module, ...).
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as hst

import minigrad
import minigrad.testing.strategies as st
from minigrad import autograd, nn

f64 = minigrad.float64


def leaf(values, dtype=f64):
    return minigrad.tensor(values, dtype=dtype, requires_grad=True)


# -- the update idioms ---------------------------------------------------------------------

def test_update_under_no_grad_changes_the_same_leaf_in_place():
    """Silent before: ``w -= lr * w.grad`` made a new tensor that no longer required grad."""
    w = leaf([1.0, 2.0])
    array = w.data
    (w * w).sum().backward()
    same = w
    with minigrad.no_grad():
        w -= 0.1 * w.grad
    assert w is same and w.data is array
    np.testing.assert_allclose(w.data, [0.8, 1.6])
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    w.grad = None
    (w * w).sum().backward()  # and it keeps training
    np.testing.assert_allclose(w.grad.data, [1.6, 3.2])


def test_loop_over_parameters_updates_the_model():
    """Silent before: ``p -= ...`` rebound the loop variable and left the model unchanged."""
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    before = [p.data.copy() for p in model.parameters()]
    model(minigrad.randn(5, 3)).sum().backward()
    with minigrad.no_grad():
        for p in model.parameters():
            p -= 0.5 * p.grad
    for b, p in zip(before, model.parameters()):
        np.testing.assert_allclose(p.data, b - 0.5 * p.grad.data, rtol=1e-6)


def test_updating_a_module_attribute_keeps_it_registered():
    """Silent before: ``m.weight -= ...`` replaced the Parameter by a plain tensor, which the
    module then no longer listed (so no optimiser, state_dict or .to() saw it)."""
    m = nn.Linear(3, 2)
    weight = m.weight
    m(minigrad.randn(4, 3)).sum().backward()
    with minigrad.no_grad():
        m.weight -= 0.1 * m.weight.grad
        m.bias.sub_(m.bias.grad, alpha=0.1)
    assert m.weight is weight and isinstance(m.weight, nn.Parameter)
    assert {name for name, _ in m.named_parameters()} == {"weight", "bias"}
    assert any(p is weight for p in m.parameters()) and m.weight.is_leaf and m.weight.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_raises_while_recording():
    w = leaf([1.0, 2.0])
    for change in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(3.0),
                   lambda: w.normal_(), lambda: w.copy_(minigrad.ones(2, dtype=f64))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            change()
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w += 1
    with pytest.raises(RuntimeError, match="setitem: a leaf Variable"):
        w[0] = 5.0
    with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
        w[0:1].mul_(2)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])  # nothing was written


def test_a_view_made_under_no_grad_refuses_in_place_while_recording():
    w = leaf([1.0, 2.0, 3.0])
    y = w * 1
    with minigrad.no_grad():
        v = y[1:]
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        v.mul_(2)


def test_in_place_methods_return_self_and_compute_what_they_say():
    t = minigrad.tensor([1.0, -2.0, 3.0])
    assert t.add_(1) is t and t.tolist() == [2.0, -1.0, 4.0]
    t.sub_(minigrad.tensor([1.0, 1.0, 1.0]), alpha=2)
    assert t.tolist() == [0.0, -3.0, 2.0]
    t.mul_(2).div_(4)
    assert t.tolist() == [0.0, -1.5, 1.0]
    t.clamp_(-1.0, 0.5)
    assert t.tolist() == [0.0, -1.0, 0.5]
    t.clamp_(min=0.0)
    assert t.tolist() == [0.0, 0.0, 0.5]
    t.fill_(7)
    assert t.tolist() == [7.0, 7.0, 7.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    t.copy_(minigrad.tensor([1, 2, 3]))  # cast to float32, as PyTorch's copy_
    assert t.dtype == np.float32 and t.tolist() == [1.0, 2.0, 3.0]
    t[1] = 9
    t[minigrad.tensor([True, False, True])] = -1.0
    assert t.tolist() == [-1.0, 9.0, -1.0]
    with pytest.raises(RuntimeError, match="clamp_: at least one"):
        t.clamp_()


def test_random_fills_follow_the_seed():
    t = minigrad.zeros(1000, dtype=f64)
    minigrad.manual_seed(5)
    t.normal_(2.0, 0.5)
    first = t.data.copy()
    assert abs(first.mean() - 2.0) < 0.1 and abs(first.std() - 0.5) < 0.05
    minigrad.manual_seed(5)
    t.normal_(2.0, 0.5)
    np.testing.assert_array_equal(t.data, first)
    t.uniform_(-1.0, 3.0)
    assert -1.0 <= t.data.min() and t.data.max() < 3.0 and t._version == 3


def test_in_place_errors_name_the_op_shapes_and_dtypes():
    with pytest.raises(RuntimeError, match=r"add_: .*can't be cast to the tensor's dtype int64"):
        minigrad.tensor([1, 2]).add_(1.5)
    with pytest.raises(RuntimeError, match=r"add_: .*\(3,\).*\(2,3\).*can't change its tensor's shape"):
        minigrad.zeros(3).add_(minigrad.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"mul_: output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)"):
        (minigrad.zeros(3) * 1).mul_(minigrad.ones(2, 3, requires_grad=True))
    with pytest.raises(TypeError, match="add_: expected Tensors or Python numbers, got ndarray"):
        minigrad.zeros(3).add_(np.ones(3))
    with pytest.raises(IndexError, match=r"setitem: index 5 is invalid for a tensor of shape \(3,\)"):
        minigrad.zeros(3)[5] = 1.0
    with pytest.raises(RuntimeError, match=r"setitem: could not broadcast"):
        minigrad.zeros(3)[0:2] = minigrad.ones(3)


# -- the version counter -------------------------------------------------------------------

def test_version_counts_in_place_changes_shared_with_views_and_detach():
    x = minigrad.zeros(4)
    v, d = x[1:3], x.detach()
    assert x._version == 0
    x.add_(1)
    v.mul_(2)
    d[0] = 5.0
    assert x._version == v._version == d._version == 3
    assert x.tolist() == [5.0, 2.0, 2.0, 1.0]  # one memory, three names
    assert (x + 1)._version == 0  # an op's result starts afresh


def test_backward_refuses_a_saved_input_changed_in_place():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    z = y * y  # Mul saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: the float64 tensor of shape \(3,\) "
                                           r"that Mul saved \(its input 0\) is at version 1; expected version 0"):
        z.sum().backward()


def test_backward_refuses_a_saved_output_changed_in_place():
    x = leaf([0.5, 1.0])
    y = x.exp()  # Exp saves its output
    with minigrad.no_grad():
        y[0] = 0.0
    with pytest.raises(RuntimeError, match=r"Exp saved \(its output\) is at version 1; expected version 0"):
        y.sum().backward()


def test_a_change_through_detach_is_caught_too():
    x = leaf([1.0, 2.0])
    y = x * x
    x.detach().add_(1)
    with pytest.raises(RuntimeError, match="Mul saved"):
        y.sum().backward()


def test_no_stricter_than_pytorch_an_op_that_saved_nothing_still_backpropagates():
    x = leaf([1.0, 2.0])
    y = x + 1  # Add saves nothing
    x.detach().add_(1)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    w = leaf([3.0, 4.0])
    h = w * 2
    z = h + 1  # h is changed after z was made, but Add did not save it
    h.mul_(3)
    (z.sum() + h.sum()).backward()
    np.testing.assert_array_equal(w.grad.data, [8.0, 8.0])  # d/dw (2w + 1 + 6w)


def test_an_intermediate_the_op_computed_itself_is_not_checked():
    x = leaf([0.3, -0.2])
    z = x.sigmoid()  # saves its own output array, which nothing else can reach
    x.detach().mul_(2)
    z.sum().backward()  # x was not saved: fine, as in PyTorch


def test_an_in_place_op_keeps_what_it_needs_of_the_old_value():
    x = leaf([1.0, 2.0])
    b = leaf([3.0, 4.0])
    y = x * 1
    y.mul_(b)  # d/db needs y's old value, which mul_ overwrites: it keeps a copy
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


# -- recorded in-place ops -----------------------------------------------------------------

def test_in_place_on_a_non_leaf_is_recorded_and_the_tensor_takes_the_new_node():
    x = leaf([1.0, 2.0])
    y = x * 2
    first = y.grad_fn
    y.add_(x)
    assert y.grad_fn is not first and not y.is_leaf
    y.backward(minigrad.tensor([1.0, 1.0], dtype=f64))
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_ops_recorded_before_an_in_place_op_keep_the_old_node():
    x = leaf([0.5, 1.0])
    y = x * 1
    z = y.exp()  # reads y before mul_ (and saves only its own output)
    y.mul_(5)
    (z.sum() + y.sum()).backward()
    np.testing.assert_allclose(x.grad.data, np.exp([0.5, 1.0]) + 5)  # not 5 exp(x) + 5: z read old y


def test_writing_into_a_plain_tensor_makes_it_part_of_the_graph():
    w = leaf([1.0, 2.0, 3.0])
    buf = minigrad.zeros(2, 3, dtype=f64)
    buf[0] = w * 2
    buf[1].copy_(w)
    assert buf.requires_grad and not buf.is_leaf
    (buf * minigrad.tensor([[1.0], [10.0]], dtype=f64)).sum().backward()
    np.testing.assert_array_equal(w.grad.data, [12.0, 12.0, 12.0])


def test_augmented_assignment_through_an_index():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    h = x * 1
    h[:, 0] += x[:, 1]  # Python: t = h[:, 0]; t += ...; h[:, 0] = t
    h.sum().backward()
    np.testing.assert_array_equal(h.data, [[3.0, 2.0], [7.0, 4.0]])
    np.testing.assert_array_equal(x.grad.data, [[1.0, 2.0], [1.0, 2.0]])


def test_a_view_made_before_its_base_changed_sees_the_new_history():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    v = y[1:]
    y.mul_(2)
    (v * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 6.0, 6.0])


def test_retain_grad_moves_to_the_new_node_and_hooks_stay_with_the_old():
    x = leaf([1.0, 2.0])
    y = x * 1
    seen = []
    y.register_hook(lambda g: seen.append(g.data.copy()))
    y.retain_grad()
    y.mul_(3)
    (y * 2).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [2.0, 2.0])  # the gradient of y after mul_
    np.testing.assert_array_equal(seen[0], [6.0, 6.0])      # before it, as PyTorch


def test_the_graph_with_an_in_place_op_is_freed_without_a_cycle():
    import gc
    import weakref

    x = leaf(np.ones(1000))
    y = x * 2
    y.mul_(x)
    ref = weakref.ref(y)
    gc.disable()
    try:
        del y
        assert ref() is None  # freed by reference counting alone
    finally:
        gc.enable()


@given(x=st.tensors(shape=(3, 4)), data=hst.data())
def test_setitem_gradient_matches_central_differences(x, data):
    rows = data.draw(hst.lists(hst.integers(0, 2), min_size=1, max_size=3, unique=True))
    v = data.draw(st.tensors(shape=(len(rows), 4)))

    def f(x, v):
        y = x * 1.5
        y[rows] = v * v
        return y

    assert minigrad.gradcheck(f, [x, v])


# -- parity with PyTorch ---------------------------------------------------------------------

@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _h_add_index(m, a, b):
    h = a * 1
    h[:, 0] += b[:, 1]
    return h


def _write_through_view(m, a, b):
    y = a * 1
    y.T[0] = b[:, 0] * 3
    y.reshape(12)[3:5].mul_(7)
    return y * b


def _chain(m, a, b):
    y = a + 0
    y += b
    y -= a * b
    y *= b
    y /= b * b + 1
    return y.add_(b, alpha=0.5).sub_(a, alpha=2.0)


def _buffer(m, a, b):
    buf = m.zeros(3, 4, dtype=m.float64)
    buf[1] = a[0] * b[1]
    buf[0].copy_(b[2])
    buf[[2, 0]] += a[:2]
    return buf * a


def _view_of_view(m, a, b):
    y = a * 1
    w = y[1][1:3]
    w.mul_(b[0, :2])
    v = y[2:]
    y.div_(b * b + 1)
    return y * 2 + v.sum()


@pytest.mark.parametrize("fn", [_h_add_index, _write_through_view, _chain, _buffer, _view_of_view],
                         ids=lambda f: f.__name__.strip("_"))
def test_in_place_programs_match_pytorch(torch, fn):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ours = [minigrad.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    out, ref = fn(minigrad, *ours), fn(torch, *theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    up = rng.standard_normal(out.shape)
    out.backward(minigrad.tensor(up))
    ref.backward(torch.tensor(up))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-14)


def _saved_then_changed(m, x):
    y = x * 2
    z = y * y
    y.add_(1)
    return z


def _output_changed(m, x):
    y = x.exp()
    y.mul_(2)
    return y


def _add_then_changed(m, x):
    y = x * 2
    z = y + 1
    y.mul_(3)
    return z + y


def _changed_through_view(m, x):
    y = x * 2
    z = y * y
    y[0:1].add_(1)  # a slice: NumPy's y[0] on a 1-d array is a copy, not a view
    return z


@pytest.mark.parametrize("fn, raises", [(_saved_then_changed, True), (_output_changed, True),
                                        (_add_then_changed, False), (_changed_through_view, True)],
                         ids=["saved_input", "saved_output", "add_saves_nothing", "through_a_view"])
def test_version_errors_where_pytorch_raises_and_only_there(torch, fn, raises):
    x = np.array([0.5, 1.5])
    ours, theirs = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = fn(minigrad, ours), fn(torch, theirs)
    if raises:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            ref.sum().backward()
        with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*is at version \d; expected version \d"):
            out.sum().backward()
    else:
        ref.sum().backward()
        out.sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)


def test_versions_count_as_pytorch(torch):
    for m in (minigrad, torch):
        x = m.zeros(4, dtype=m.float64)
        v = x[1:]
        x.add_(1)
        v.mul_(2)
        x[0] = 3.0
        x += 1
        assert (x._version, v._version) == (4, 4), m.__name__


def test_leaf_errors_as_pytorch(torch):
    for m in (minigrad, torch):
        w = m.ones(3, dtype=m.float64, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            w.add_(1)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[:2].mul_(2)
        with m.no_grad():
            w.add_(1)
        assert w.is_leaf and w.requires_grad and w.data.tolist() == [2.0, 2.0, 2.0]


def test_autograd_inplace_is_the_one_path(torch):
    """A new in-place op is one line over the out-of-place one (here exp_, saving its output)."""
    x = np.array([0.25, 0.75])
    ours, theirs = minigrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = ours * 2
    autograd.inplace("exp_", y, lambda t: t.exp())
    ref = (theirs * 2).exp_()
    (y * 3).sum().backward()
    (ref * 3).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)


def _hooked(m, x, w, seen):
    x.register_hook(lambda g: g * 3)
    h = (x * w).tanh()
    h.retain_grad()
    h.register_hook(lambda g: seen.append(g.detach().numpy().copy()))
    h.register_hook(lambda g: g + 1)
    out = (h * h).sum() + (h * w).sum()
    return out, h


def test_hooks_retain_grad_and_autograd_grad_match_pytorch(torch):
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal(3)
    results = {}
    for name, m in (("ours", minigrad), ("torch", torch)):
        xs, ws = m.tensor(x, requires_grad=True), m.tensor(w, requires_grad=True)
        seen = []
        out, h = _hooked(m, xs, ws, seen)
        gw, gh = m.autograd.grad(out, [ws, h], retain_graph=True)
        out.backward()
        results[name] = [seen[0], xs.grad.numpy(), ws.grad.numpy(), h.grad.numpy(),
                         gw.detach().numpy(), gh.detach().numpy()]
    for ours, theirs in zip(results["ours"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_grad_of_a_hooked_tensor_as_pytorch(torch):
    """A leaf's hooks shape what grad returns for it; a non-leaf's own hooks run after capture."""
    for m in (minigrad, torch):
        x = m.ones(2, dtype=m.float64, requires_grad=True)
        x.register_hook(lambda g: g * 3)
        y = x * 1
        y.register_hook(lambda g: g * 5)
        gy, gx = m.autograd.grad((y * 2).sum(), [y, x])
        assert gy.tolist() == [2.0, 2.0] and gx.tolist() == [30.0, 30.0], m.__name__

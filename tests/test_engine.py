"""The engine: accumulation, graph shapes, depth, no_grad, freeing, and its error messages."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad
from minigrad import autograd, nn, optim

f64 = minigrad.float64


def test_diamond_node_used_twice_accumulates():
    x = minigrad.tensor(3.0, dtype=f64, requires_grad=True)
    a = x * 2
    y = a * a + a  # a feeds two ops: dy/da = 2a + 1, dy/dx = 2 * (2a + 1)
    y.backward()
    assert x.grad.item() == 2 * (2 * 6 + 1)


def test_same_tensor_twice_in_one_op():
    x = minigrad.tensor([1.0, -2.0], dtype=f64, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, -4.0])


def test_two_heads_share_a_trunk():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    h = x.exp()
    head1, head2 = (h * 2).sum(), (h * h).sum()
    head1.backward(retain_graph=True)
    head2.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp([1.0, 2.0]) + 2 * np.exp([2.0, 4.0]))


def test_ten_thousand_op_chain_needs_no_recursion():
    x = minigrad.tensor(1.0, dtype=f64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001 ** 10_000, rtol=1e-9)


def test_no_grad_builds_no_graph():
    w = minigrad.randn(3, requires_grad=True)
    with minigrad.no_grad():
        y = (w * 2).sum()
    assert not y.requires_grad and y.grad_fn is None

    @minigrad.no_grad()
    def f(t):
        return t * 2

    assert f(w).grad_fn is None
    assert minigrad.is_grad_enabled()
    with minigrad.no_grad():
        with minigrad.enable_grad():
            assert (w * 2).requires_grad


def test_second_backward_without_retain_graph_raises():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])  # grads accumulate, as PyTorch


def test_graph_is_freed_after_backward():
    x = minigrad.randn(100, 100, requires_grad=True)
    h = (x * 2).relu()
    ref = weakref.ref(h)
    loss = h.sum()
    del h
    assert ref() is not None  # the graph still holds the intermediate
    loss.backward()
    gc.collect()
    assert ref() is None  # backward released it, though `loss` is still alive


def test_memory_of_many_training_steps_does_not_grow():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    x, y = minigrad.randn(8, 20), minigrad.randint(0, 3, 8)

    def steps(n):
        for _ in range(n):
            opt.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            opt.step()

    steps(50)
    tracemalloc.start()
    steps(1000)
    first, _ = tracemalloc.get_traced_memory()
    steps(9000)
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second - first < 64 * 1024, (first, second)


def test_backward_on_non_scalar_needs_gradient():
    x = minigrad.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar.*shape \(2, 3\).*gradient="):
        (x * 2).backward()
    (x * 2).backward(minigrad.ones(2, 3))
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones((2, 3)))


def test_backward_gradient_shape_must_match():
    x = minigrad.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        (x * 2).backward(minigrad.ones(3))


def test_backward_without_graph_is_explained():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigrad.tensor(1.0).backward()


def test_requires_grad_on_integer_tensor_is_refused():
    with pytest.raises(RuntimeError, match="only floating-point.*int64"):
        minigrad.tensor([1, 2, 3], requires_grad=True)
    t = minigrad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="int64"):
        t.requires_grad = True


def test_a_wrong_gradient_shape_names_the_op():
    class Broken(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output.sum(0)

    x = minigrad.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned a gradient of shape \(3,\).*\(2, 3\)"):
        Broken.apply(x).sum().backward()


def test_a_custom_function_in_pytorch_shape():
    class Cube(minigrad.Function):
        """y = x**3.   dx = G * 3 x**2."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x ** 2

    x = minigrad.tensor([1.0, -2.0, 0.5], dtype=f64, requires_grad=True)
    assert minigrad.gradcheck(Cube.apply, [x])


def test_leaf_grad_is_its_own_writable_array():
    x = minigrad.randn(3, requires_grad=True)
    x.sum().backward()  # Sum's backward is a broadcast view
    x.grad.data += 1
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones(3))


def test_reflected_operators():
    x = minigrad.tensor([1.0, 2.0, 4.0])
    np.testing.assert_array_equal((1 - x).data, [0.0, -1.0, -3.0])
    np.testing.assert_array_equal((8 / x).data, [8.0, 4.0, 2.0])
    np.testing.assert_array_equal((2 + x).data, [3.0, 4.0, 6.0])
    np.testing.assert_array_equal((3 * x).data, [3.0, 6.0, 12.0])
    np.testing.assert_allclose((2 ** x).data, [2.0, 4.0, 16.0])
    assert (1 - x).dtype == np.float32 and (0.5 * x).dtype == np.float32


def test_comparisons_and_argmax_have_no_gradient():
    x = minigrad.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True)
    assert (x > 2).dtype == np.bool_ and not (x > 2).requires_grad
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    assert ((x.argmax(1) == minigrad.tensor([1, 0])).sum().item()) == 2


def test_broadcast_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        minigrad.randn(2, 3) + minigrad.randn(4)
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ.*3 != 4"):
        minigrad.randn(2, 3) @ minigrad.randn(4, 5)
    with pytest.raises(TypeError, match="minigrad.tensor"):
        minigrad.randn(2) + np.ones(2)


def test_tensor_basics():
    t = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.dtype == np.float32 and t.shape == (2, 2) and t.ndim == 2 and t.device == "cpu"
    assert minigrad.tensor([1, 2]).dtype == np.int64
    assert minigrad.tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert t.view(4).shape == (4,) and t.reshape(1, 4).shape == (1, 4) and t.view(-1, 1).shape == (4, 1)
    assert t[1, 0].item() == 3.0 and t.T[0, 1].item() == 3.0
    assert isinstance(t.numpy(), np.ndarray) and t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    d = minigrad.tensor([1.0], requires_grad=True).detach()
    assert not d.requires_grad
    assert "tensor([[1., 2.]," in repr(t)
    with pytest.raises(ValueError, match="cannot reshape.*\\(2, 2\\).*\\(3,\\)"):
        t.view(3)
    with pytest.raises(ValueError, match="one-element"):
        t.item()


def test_factories_and_seed():
    minigrad.manual_seed(3)
    a = minigrad.randn(2, 3)
    minigrad.manual_seed(3)
    b = minigrad.randn(2, 3)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and minigrad.zeros(2, 2).dtype == np.float32
    assert minigrad.ones_like(a).shape == (2, 3) and minigrad.zeros_like(a, dtype=f64).dtype == f64
    assert minigrad.arange(5).dtype == np.int64 and minigrad.arange(0.0, 1.0, 0.5).dtype == np.float32
    r = minigrad.rand(1000)
    assert 0 <= r.data.min() and r.data.max() < 1
    assert minigrad.randn_like(a).shape == a.shape and minigrad.rand_like(a).shape == a.shape


def test_post_accumulate_grad_hook_sees_the_accumulated_gradient():
    w = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.data.copy()))
    (w * w).sum().backward()
    (3 * w).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    np.testing.assert_array_equal(seen[1], [5.0, 7.0])  # called after each accumulation
    with pytest.raises(RuntimeError, match="only a leaf"):
        (w * 2).register_post_accumulate_grad_hook(print)
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append("second"))
    handle.remove()
    w.sum().backward()
    assert len(seen) == 3 and not isinstance(seen[-1], str)


# -- gradients never alias -------------------------------------------------------------------

def test_two_leaves_fed_by_one_array_get_their_own_gradients():
    """Silent before: Add hands the same array to a and b, and both .grad shared it."""
    a, b = minigrad.tensor([1.0, 2.0], requires_grad=True), minigrad.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) * 2).sum().backward()
    a.grad.data[0] = 100.0
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])
    c, d = minigrad.tensor([1.0], requires_grad=True), minigrad.tensor([2.0], requires_grad=True)
    (((c + 0) + (d + 0)) * 3).sum().backward()  # passed on through two more nodes each
    c.grad.data += 1
    np.testing.assert_array_equal(d.grad.data, [3.0])


def test_the_gradient_passed_to_backward_is_not_kept_by_a_leaf():
    """Silent before: the leaf's .grad was the caller's own array."""
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    g = minigrad.tensor([1.0, 1.0])
    x.backward(g)
    x.grad.data[0] = 7.0
    (x + 0).backward(g)
    np.testing.assert_array_equal(g.data, [1.0, 1.0])
    raw = np.ones(2, dtype=np.float32)
    y = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (y * 1).backward(raw)
    y.grad.data[1] = 5.0
    assert raw.tolist() == [1.0, 1.0]


def test_a_fresh_gradient_is_kept_without_a_copy():
    made = []

    class Twice(minigrad.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            dx = grad_output * 2
            made.append(weakref.ref(dx))
            return dx

    x = minigrad.randn(3, requires_grad=True)
    (Twice.apply(x) * 3).sum().backward()
    assert x.grad.data is made[0]()  # no one else held it: no copy was needed


# -- one way to make a tensor ------------------------------------------------------------------

def test_tensor_shares_arrays_and_copies_everything_else_by_type():
    """Before, the rule was "has __array_namespace__": NumPy 1.26 arrays lack it (so they were
    copied), and any object with that attribute was kept as the tensor's data, unconverted."""
    a = np.zeros(3)
    assert minigrad.Tensor(a).data is a

    class Foreign:  # array-like with the attribute, but not an array minigrad can compute on
        __array_namespace__ = None

        def __array__(self, dtype=None, copy=None):
            return np.arange(3.0)

    t = minigrad.Tensor(Foreign())
    assert isinstance(t.data, np.ndarray) and t.tolist() == [0.0, 1.0, 2.0]
    s = minigrad.Tensor(np.float64(2.5))
    assert isinstance(s.data, np.ndarray) and s.shape == () and s.item() == 2.5


def test_every_tensor_has_every_slot():
    x = minigrad.randn(2, requires_grad=True)
    with minigrad.no_grad():
        made_without_grad = x * 2
    for t in (x, x * 2, made_without_grad, minigrad.tensor(1.0), x.detach()):
        for name in minigrad.Tensor.__slots__:
            if name != "__weakref__":
                getattr(t, name)  # raises AttributeError for a slot left unset


# -- autograd API ------------------------------------------------------------------------------

def test_retain_grad_keeps_a_non_leaf_gradient():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    y = x * 3
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [6.0, 12.0])
    y.grad.data[0] = 0.0
    np.testing.assert_array_equal(x.grad.data, [18.0, 36.0])  # not aliased with y.grad
    with pytest.raises(RuntimeError, match="retain_grad: can't retain_grad on a tensor that has requires_grad=False"):
        minigrad.ones(2).retain_grad()


def test_register_hook_on_leaves_and_non_leaves_can_replace_the_gradient():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.data.copy()))
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])
    np.testing.assert_array_equal(x.grad.data, [100.0, 180.0])  # (2y + 1) * 2 * 10
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor that doesn't require"):
        minigrad.ones(2).register_hook(print)
    z = minigrad.tensor([1.0, 2.0], requires_grad=True)
    z.register_hook(lambda g: g[:1])
    with pytest.raises(RuntimeError, match=r"hook '<lambda>' has changed the size of the gradient from \(2,\) to \(1,\)"):
        (z * 2).sum().backward()


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    w = minigrad.tensor([3.0, 4.0], dtype=f64, requires_grad=True)
    h = x * w
    out = (h * h).sum()
    gx, gh = autograd.grad(out, [x, h], retain_graph=True)
    np.testing.assert_array_equal(gx.data, [18.0, 64.0])  # 2 x w**2
    np.testing.assert_array_equal(gh.data, [6.0, 16.0])  # 2 h
    assert x.grad is None and w.grad is None
    (gw,) = autograd.grad([out], w, grad_outputs=[minigrad.tensor(2.0, dtype=f64)])
    np.testing.assert_array_equal(gw.data, [12.0, 64.0])  # 2 * 2 x**2 w
    unused = minigrad.tensor([1.0], dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError, match="index 0 appears to not have been used in the graph; pass allow_unused=True"):
        autograd.grad((x * 2).sum(), unused)
    assert autograd.grad((x * 2).sum(), [unused, x], allow_unused=True)[0] is None
    with pytest.raises(RuntimeError, match="grad: one of the differentiated Tensors does not require grad"):
        autograd.grad((x * 2).sum(), minigrad.ones(2))
    with pytest.raises(NotImplementedError, match="create_graph"):
        autograd.grad((x * 2).sum(), x, create_graph=True)


def test_grad_runs_only_the_part_of_the_graph_it_needs():
    ran = []

    class Spy(minigrad.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, grad_output):
            ran.append(True)
            return grad_output

    x = minigrad.tensor([1.0], requires_grad=True)
    side = Spy.apply(minigrad.tensor([2.0], requires_grad=True))
    autograd.grad((x * 3 + side).sum(), x)
    assert not ran


def test_backward_with_inputs_accumulates_only_into_them():
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    w = minigrad.tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    assert w.grad is None
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])
    y = x * 2
    (y * w).sum().backward(inputs=[y])
    np.testing.assert_array_equal(y.grad.data, [3.0, 4.0])


def test_backward_of_several_outputs():
    x = minigrad.tensor([1.0, 2.0], dtype=f64, requires_grad=True)
    autograd.backward([(x * 2).sum(), x * x], [None, minigrad.tensor([1.0, 10.0], dtype=f64)])
    np.testing.assert_array_equal(x.grad.data, [4.0, 42.0])
    with pytest.raises(RuntimeError, match="backward: got 1 gradients for 2 outputs"):
        autograd.backward([x * 2, x * 3], [minigrad.ones(2)])


def test_grad_modes():
    """Silent before: ``@no_grad`` without parentheses raised; set_grad_enabled did not exist."""
    x = minigrad.ones(2, requires_grad=True)

    @minigrad.no_grad
    def bare(t):
        return t * 2

    @minigrad.inference_mode()
    def inference(t):
        return t * 2

    assert not bare(x).requires_grad and not inference(x).requires_grad and bare.__name__ == "bare"
    assert minigrad.is_grad_enabled()
    minigrad.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        minigrad.set_grad_enabled(True)
    with minigrad.set_grad_enabled(False):
        assert not minigrad.is_grad_enabled()
        with minigrad.enable_grad():
            assert (x * 2).requires_grad
    assert minigrad.is_grad_enabled()

    @minigrad.set_grad_enabled(False)
    def off():
        return minigrad.is_grad_enabled()

    assert minigrad.is_grad_enabled() and off() is False and minigrad.is_grad_enabled()
    with minigrad.inference_mode(False):
        assert minigrad.is_grad_enabled()


def test_topological_order_is_public():
    x = minigrad.tensor([1.0], requires_grad=True)
    y = x * 2
    z = y * y
    order = autograd.topological_order(z)
    assert order == [autograd.node_of(z), autograd.node_of(y), x] or order[-1] is x
    assert [type(n).__name__ for n in order] == ["Context", "Context", "Tensor"]
    assert autograd.node_of(minigrad.ones(1)) is None


# -- Python protocols, as PyTorch -------------------------------------------------------------

def test_format_a_scalar_tensor():
    """Before, f"{loss:.4f}" raised TypeError."""
    loss = minigrad.tensor(1.234567)
    assert f"{loss:.3f}" == "1.235" and f"{loss}" == str(loss.item())  # PyTorch: a 0-d tensor is its number
    assert f"{minigrad.tensor([1.0, 2.0])}" == "tensor([1., 2.])"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{minigrad.tensor([1.0]):.2f}"


def test_numpy_asarray_of_a_tensor():
    """Silent before: np.asarray(t) built an object array of Tensors."""
    t = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a.dtype == np.float32 and a.shape == (2, 2) and a is t.data
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(RuntimeError, match="requires grad.*detach"):
        np.asarray(minigrad.ones(2, requires_grad=True))


def test_len_and_iteration_over_the_first_axis():
    """Silent before: list() of a 0-d tensor was []; now it raises as PyTorch does."""
    m = minigrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=f64, requires_grad=True)
    assert len(m) == 3
    rows = list(m)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    (rows[0] * rows[2]).sum().backward()  # the rows are in the graph
    np.testing.assert_array_equal(m.grad.data, [[5.0, 6.0], [0.0, 0.0], [1.0, 2.0]])
    s = minigrad.tensor(1.0)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(s)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(s)

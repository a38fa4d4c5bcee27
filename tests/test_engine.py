"""The engine: accumulation, graph shapes, depth, no_grad, freeing, and its error messages."""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim

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

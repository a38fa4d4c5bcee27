"""The op registry: every differentiable op as one or more cases, each with how to make its
inputs, how to call it, a plain NumPy reference for its forward and PyTorch's version of it.

This one list drives ``test_devices.py`` (each case forward against NumPy, backward against
central differences, on every device), ``test_torch_parity.py`` (forward and backward against
PyTorch in float64), ``test_cupy_namespace.py`` (each case run while recording what the engine
asks of its array module) and ``test_docs.py`` (every ``Function`` in ``minigrad.ops`` is
reached by some case and has a row in docs/gradients.md). Adding an op touches this list.
"""
from __future__ import annotations

import numpy as np

import minigrad
import minigrad.nn.functional as F


SAME = "same"  # torch=SAME: the case's own ``fn`` runs unchanged on torch tensors


class Case:
    """``fn(*tensors)`` with inputs drawn by ``makers`` (each ``rng -> host array``).

    Float inputs require a gradient; integer inputs (labels) do not. ``reference`` computes
    the forward from the same inputs as float64 NumPy arrays. ``torch`` is the same computation
    written for ``torch`` tensors (``SAME`` when ``fn`` itself runs on them), or None where
    PyTorch has no counterpart. ``gradcheck=False`` for a case whose numerical derivative is
    undefined on purpose (a tie in max).
    """

    def __init__(self, name, fn, makers, reference, torch=None, gradcheck=True):
        self.name, self.fn, self.makers, self.reference, self.gradcheck = name, fn, makers, reference, gradcheck
        self.torch = fn if torch is SAME else torch

    def __repr__(self):
        return self.name

    def host_inputs(self, seed=0):
        rng = np.random.default_rng(seed)
        return [make(rng) for make in self.makers]


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape):
    return lambda rng: rng.uniform(0.5, 2.0, shape)


def probability(*shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


def off_kink(*shape):
    """Values at least 0.1 away from 0, so ReLU's kink is never straddled by a finite difference."""
    return lambda rng: rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def labels(n, classes):
    return lambda rng: rng.integers(0, classes, n)


def constant(values):
    return lambda rng: np.array(values, dtype=np.float64)


def _on(t, index):
    """An integer index tensor on ``t``'s device (a GPU tensor is indexed by a GPU array)."""
    return minigrad.tensor(index, dtype=minigrad.int64, device=t.device)


def _softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _cross_entropy(z, y):
    return -np.log(_softmax(z, 1)[np.arange(len(y)), y])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _torch():
    import torch  # optional: only the parity test calls the torch forms, and it skips without torch

    return torch


def _tF():
    return _torch().nn.functional


def _iadd(a, b):
    y = a * 2
    y += b
    return y


def _setitem_slice(a, v):  # the same code on minigrad, NumPy and torch
    y = a * 2
    y[1, ::2] = v
    return y


def _setitem_rows(a, v):
    y = a * 1
    y[[2, 0]] = v * v
    return y


def _mul_through_view(a, b):
    y = a * 1
    y[1].mul_(b)  # writes through the view y[1] into y: y's history becomes CopySlices
    return y


def _mul_through_view_ref(a, b):
    y = a * 1
    y[1] *= b
    return y


def _view_after_base_changed(a, b):
    y = a * 1
    v = y[1:]
    y.mul_(b)  # v now reads the new values, so its gradient must flow through mul_
    return v * 3


CASES = [
    # -- arithmetic (ops/arithmetic.py) --
    Case("add_broadcast", lambda a, b: a + b, [normal(3, 4), normal(4)], lambda a, b: a + b, torch=SAME),
    Case("add_number", lambda a: a + 2.5, [normal(3, 4)], lambda a: a + 2.5, torch=SAME),
    Case("sub_broadcast", lambda a, b: a - b, [normal(3, 1), normal(1, 4)], lambda a, b: a - b, torch=SAME),
    Case("rsub_number", lambda a: 1 - a, [normal(5)], lambda a: 1 - a, torch=SAME),
    Case("mul_broadcast", lambda a, b: a * b, [normal(2, 3, 4), normal(3, 1)], lambda a, b: a * b, torch=SAME),
    Case("div_broadcast", lambda a, b: a / b, [normal(3, 4), positive(4)], lambda a, b: a / b, torch=SAME),
    Case("rdiv_number", lambda a: 2 / a, [positive(3, 2)], lambda a: 2 / a, torch=SAME),
    Case("neg", lambda a: -a, [normal(3, 4)], lambda a: -a, torch=SAME),
    Case("pow_int", lambda a: a ** 3, [normal(3, 4)], lambda a: a ** 3, torch=SAME),
    Case("pow_half", lambda a: a ** 0.5, [positive(3, 4)], lambda a: a ** 0.5, torch=SAME),
    Case("rpow", lambda a: 2 ** a, [normal(3, 4)], lambda a: 2 ** a, torch=SAME),
    Case("matmul_2d", lambda a, b: a @ b, [normal(3, 4), normal(4, 5)], lambda a, b: a @ b, torch=SAME),
    Case("matmul_vec_mat", lambda a, b: a @ b, [normal(4), normal(4, 5)], lambda a, b: a @ b, torch=SAME),
    Case("matmul_mat_vec", lambda a, b: a @ b, [normal(3, 4), normal(4)], lambda a, b: a @ b, torch=SAME),
    Case("matmul_batched", lambda a, b: a @ b, [normal(2, 3, 4), normal(4, 5)], lambda a, b: a @ b, torch=SAME),
    # -- new arithmetic cases go here --
    # -- in-place (tensor.py's in-place section, ops/inplace.py): on a non-leaf, as a graph allows --
    Case("iadd_operator", _iadd, [normal(3, 4), normal(4)], lambda a, b: a * 2 + b, torch=SAME),
    Case("add__alpha", lambda a, b: (a * 2).add_(b, alpha=0.5), [normal(3, 4), normal(3, 4)],
         lambda a, b: a * 2 + 0.5 * b, torch=SAME),
    Case("sub__alpha", lambda a, b: (a * 2).sub_(b, alpha=3.0), [normal(3, 4), normal(4)],
         lambda a, b: a * 2 - 3 * b, torch=SAME),
    Case("mul_", lambda a, b: (a * 2).mul_(b), [normal(3, 4), normal(3, 1)], lambda a, b: a * 2 * b, torch=SAME),
    Case("div_", lambda a, b: (a * 2).div_(b), [normal(3, 4), positive(4)], lambda a, b: a * 2 / b, torch=SAME),
    Case("mul__self", lambda a: (a * 2).mul_(a), [normal(3, 4)], lambda a: a * 2 * a, torch=SAME),
    Case("setitem_slice", _setitem_slice, [normal(3, 4), normal(2)], _setitem_slice, torch=SAME),
    Case("setitem_rows", _setitem_rows, [normal(3, 4), normal(2, 4)], _setitem_rows, torch=SAME),
    Case("copy_broadcast", lambda a, b: (a * 2).copy_(b) * a, [normal(3, 4), normal(4)],
         lambda a, b: np.broadcast_to(b, a.shape) * a, torch=SAME),
    Case("fill_", lambda a: (a * 2).fill_(1.5) * a, [normal(3, 4)], lambda a: 1.5 * a, torch=SAME),
    Case("mul__through_view", _mul_through_view, [normal(3, 4), normal(4)], _mul_through_view_ref, torch=SAME),
    Case("view_after_base_changed", _view_after_base_changed, [normal(3, 4), normal(3, 4)],
         lambda a, b: (a * b)[1:] * 3, torch=SAME),
    # -- new in-place cases go here --


    # -- elementwise and activations (ops/elementwise.py, ops/activations.py) --
    Case("exp", lambda a: a.exp(), [normal(3, 4)], np.exp, torch=SAME),
    Case("log", lambda a: a.log(), [positive(3, 4)], np.log, torch=SAME),
    # -- new elementwise cases go here --

    Case("relu", lambda a: a.relu(), [off_kink(4, 5)], lambda a: np.maximum(a, 0), torch=SAME),
    Case("sigmoid", lambda a: a.sigmoid(), [normal(4, 5)], _sigmoid, torch=SAME),
    Case("tanh", lambda a: a.tanh(), [normal(4, 5)], np.tanh, torch=SAME),
    Case("softmax_last", lambda a: minigrad.softmax(a, dim=-1), [normal(3, 5)], lambda a: _softmax(a, -1),
         torch=lambda a: _torch().softmax(a, dim=-1)),
    Case("softmax_first", lambda a: minigrad.softmax(a, dim=0), [normal(3, 5)], lambda a: _softmax(a, 0),
         torch=lambda a: _torch().softmax(a, dim=0)),
    Case("log_softmax", lambda a: F.log_softmax(a, dim=1), [normal(3, 5)], lambda a: np.log(_softmax(a, 1)),
         torch=lambda a: _tF().log_softmax(a, dim=1)),
    # -- new activation cases go here --

    # -- reductions (ops/reductions.py) --
    Case("sum_all", lambda a: a.sum(), [normal(3, 4)], lambda a: a.sum(), torch=SAME),
    Case("sum_axis_keepdims", lambda a: a.sum(axis=1, keepdims=True), [normal(3, 4)],
         lambda a: a.sum(axis=1, keepdims=True), torch=lambda a: a.sum(1, keepdim=True)),
    Case("sum_axes", lambda a: a.sum(axis=(0, 2)), [normal(2, 3, 4)], lambda a: a.sum(axis=(0, 2)),
         torch=lambda a: a.sum((0, 2))),
    Case("mean_all", lambda a: a.mean(), [normal(3, 4)], lambda a: a.mean(), torch=SAME),
    Case("mean_axis", lambda a: a.mean(axis=0), [normal(3, 4)], lambda a: a.mean(axis=0), torch=lambda a: a.mean(0)),
    Case("max_all", lambda a: a.max(), [normal(3, 4)], lambda a: a.max(), torch=lambda a: a.amax()),
    Case("max_axis", lambda a: a.max(axis=1), [normal(3, 4)], lambda a: a.max(axis=1), torch=lambda a: a.amax(1)),
    Case("max_ties", lambda a: a.max(axis=1), [constant([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])],
         lambda a: a.max(axis=1), torch=lambda a: a.amax(1), gradcheck=False),
    # -- new reduction cases go here --

    # -- shape (ops/shape.py) --
    Case("reshape", lambda a: a.reshape(4, 3), [normal(3, 4)], lambda a: a.reshape(4, 3), torch=SAME),
    Case("view_flat", lambda a: a.view(-1), [normal(2, 3, 2)], lambda a: a.reshape(-1), torch=SAME),
    Case("flatten", lambda a: a.flatten(1), [normal(2, 3, 2)], lambda a: a.reshape(2, -1), torch=SAME),
    Case("transpose_T", lambda a: a.T, [normal(3, 4)], lambda a: a.T, torch=SAME),
    Case("transpose_swap", lambda a: a.transpose(0, 2), [normal(2, 3, 4)], lambda a: a.swapaxes(0, 2), torch=SAME),
    Case("getitem_basic", lambda a: a[1:, ::2], [normal(3, 4)], lambda a: a[1:, ::2], torch=SAME),
    Case("getitem_int", lambda a: a[1], [normal(3, 4)], lambda a: a[1], torch=SAME),
    Case("getitem_repeated_rows", lambda a: a[[0, 0, 2]], [normal(3, 4)], lambda a: a[[0, 0, 2]], torch=SAME),
    Case("getitem_pairs", lambda a: a[_on(a, [0, 2, 0]), _on(a, [1, 3, 1])], [normal(3, 4)],
         lambda a: a[np.array([0, 2, 0]), np.array([1, 3, 1])],
         torch=lambda a: a[_torch().tensor([0, 2, 0]), _torch().tensor([1, 3, 1])]),
    # -- new shape cases go here --

    # -- layers (ops/linear.py); PyTorch stores the weight as (out, in) --
    Case("linear", lambda x, w, b: F.linear(x, w, b), [normal(5, 4), normal(4, 3), normal(3)],
         lambda x, w, b: x @ w + b, torch=lambda x, w, b: _tF().linear(x, w.T, b)),
    Case("linear_no_bias", lambda x, w: F.linear(x, w), [normal(5, 4), normal(4, 3)], lambda x, w: x @ w,
         torch=lambda x, w: _tF().linear(x, w.T)),
    Case("linear_3d", lambda x, w, b: F.linear(x, w, b), [normal(2, 5, 4), normal(4, 3), normal(3)],
         lambda x, w, b: x @ w + b, torch=lambda x, w, b: _tF().linear(x, w.T, b)),
    # -- new layer cases go here --

    # -- losses (ops/losses.py) --
    Case("cross_entropy_mean", lambda z, y: F.cross_entropy(z, y), [normal(6, 4), labels(6, 4)],
         lambda z, y: _cross_entropy(z, y).mean(), torch=lambda z, y: _tF().cross_entropy(z, y)),
    Case("cross_entropy_sum", lambda z, y: F.cross_entropy(z, y, reduction="sum"), [normal(6, 4), labels(6, 4)],
         lambda z, y: _cross_entropy(z, y).sum(), torch=lambda z, y: _tF().cross_entropy(z, y, reduction="sum")),
    Case("cross_entropy_none", lambda z, y: F.cross_entropy(z, y, reduction="none"), [normal(6, 4), labels(6, 4)],
         _cross_entropy, torch=lambda z, y: _tF().cross_entropy(z, y, reduction="none")),
    Case("binary_cross_entropy", lambda p, y: F.binary_cross_entropy(p, y), [probability(4, 3), probability(4, 3)],
         lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(),
         torch=lambda p, y: _tF().binary_cross_entropy(p, y)),
    Case("bce_with_logits", lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
         [normal(4, 3), probability(4, 3)],
         lambda z, y: -(y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z))).sum(),
         torch=lambda z, y: _tF().binary_cross_entropy_with_logits(z, y, reduction="sum")),
    Case("mse_loss", lambda x, y: F.mse_loss(x, y), [normal(4, 3), normal(4, 3)], lambda x, y: ((x - y) ** 2).mean(),
         torch=lambda x, y: _tF().mse_loss(x, y)),
    # -- new loss cases go here --
]


def make_tensors(host, device, dtype):
    """Tensors on ``device``: float arrays cast to ``dtype`` and requiring a gradient, ints as int64."""
    tensors = []
    for a in host:
        if a.dtype.kind == "f":
            tensors.append(minigrad.tensor(a, dtype=dtype, device=device, requires_grad=True))
        else:
            tensors.append(minigrad.tensor(a, dtype=minigrad.int64, device=device))
    return tensors


def run_case(case, device, dtype, seed=0):
    """Forward and backward (with a seeded random upstream gradient) of ``case`` on ``device``.

    Returns the output tensor, the input tensors (with ``.grad`` filled in) and the host inputs.
    """
    host = case.host_inputs(seed)
    tensors = make_tensors(host, device, dtype)
    out = case.fn(*tensors)
    upstream = np.random.default_rng(seed + 1).standard_normal(out.shape)
    out.backward(minigrad.tensor(upstream, dtype=out.dtype, device=device))
    return out, tensors, host

"""The op registry: every differentiable op as one or more cases, each with how to make its
inputs, how to call it, a plain NumPy reference for its forward and PyTorch's version of it.

This one list drives ``test_devices.py`` (each case forward against NumPy, backward against
central differences, on every device), ``test_torch_parity.py`` (forward and backward against
PyTorch in float64), ``test_cupy_namespace.py`` (each case run while recording what the engine
asks of its array module) and ``test_docs.py`` (every ``Function`` in ``minigrad.ops`` is
reached by some case and has a row in docs/gradients.md). Adding an op touches this list.
"""
from __future__ import annotations

import math

import numpy as np

import conv_reference as ref

import minigrad
import minigrad.nn.functional as F
import minigrad.ops.quantize as FQ


SAME = "same"  # torch=SAME: the case's own ``fn`` runs unchanged on torch tensors


class Case:
    """``fn(*tensors)`` with inputs drawn by ``makers`` (each ``rng -> host array``).

    Float inputs require a gradient; integer inputs (labels) do not. ``reference`` computes
    the forward from the same inputs as float64 NumPy arrays. ``torch`` is the same computation
    written for ``torch`` tensors (``SAME`` when ``fn`` itself runs on them), or None where
    PyTorch has no counterpart. ``gradcheck=False`` for a case whose numerical derivative is
    undefined on purpose (a tie in max) or meaningless (a cast to float32 rounds the nudges away).
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


def beside(points, *shape):
    """Values 0.1 to 0.4 to either side of the given kinks (spaced at least 1 apart): both sides
    of each kink are exercised, the kink itself never (the kink cases use ``constant``)."""
    points = np.asarray(points, dtype=np.float64)
    return lambda rng: (rng.choice(points, shape) + rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 0.4, shape))



def labels(n, classes, ignored=None):
    """Integer labels of shape ``n`` in [0, classes); with ``ignored``, every third one is that value."""
    def make(rng):
        y = rng.integers(0, classes, n)
        if ignored is not None:
            y.reshape(-1)[::3] = ignored
        return y
    return make


def distribution(*shape):
    """Class probabilities along axis 1 (axis 0 for a 1-D shape): positive, summing to 1."""
    def make(rng):
        p = rng.uniform(0.1, 1.0, shape)
        return p / p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
    return make


def wide(*shape, scale=4.0):
    """Normal values times ``scale``: reaches every interval of erf's approximation in GELU."""
    return lambda rng: rng.standard_normal(shape) * scale


def away_from(point, *shape):
    """Values in [-2, 2] at least 0.1 from ``point`` (a threshold where a function switches formula)."""
    return lambda rng: point + rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def constant(values):
    return lambda rng: np.array(values, dtype=np.float64)


def _on(t, index):
    """An integer index tensor on ``t``'s device (a GPU tensor is indexed by a GPU array)."""
    return minigrad.tensor(index, dtype=minigrad.int64, device=t.device)


def _idx(index):
    """The same index for a torch tensor."""
    return _torch().tensor(index)


def _softmax(x, axis):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def _cross_entropy(z, y):
    return -np.log(_softmax(z, 1)[np.arange(len(y)), y])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# -- embedding, layer norm, attention (issue 13): inputs and NumPy references --

def indices(shape, n):
    """Integer indices in [0, n) of ``shape``: with more positions than n, some repeat."""
    return lambda rng: rng.integers(0, n, shape)


def layer_norm_reference(x, ndim, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - ndim, x.ndim))
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return (y if w is None else y * w) + (0 if b is None else b)


def attention_reference(q, k, v, mask=None, scale=None, keep=None, p=0.0):
    """softmax(q k^T scale + mask) v; a row with no visible key gives zeros, as PyTorch."""
    s = q @ k.swapaxes(-1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    e = np.exp(s - np.max(s, -1, keepdims=True, initial=-1e300))
    z = e.sum(-1, keepdims=True)
    w = e / np.where(z > 0, z, 1)
    return (w if keep is None else w * keep / (1 - p)) @ v


def _seeded(seed, fn):
    """``fn()`` with minigrad's generator at ``seed``, restored afterwards: the same dropout mask
    on every call (as gradcheck needs) without disturbing the draws of other tests."""
    gen = minigrad.default_generator()
    saved = gen.bit_generator.state
    gen.bit_generator.state = np.random.default_rng(seed).bit_generator.state
    try:
        return fn()
    finally:
        gen.bit_generator.state = saved


def _keep(seed, p, shape):
    """The keep mask that minigrad's dropout draws after ``_seeded(seed, ...)``: u >= p."""
    return np.random.default_rng(seed).random(shape) >= p


def _mask_on(t, mask):
    """A constant bool mask on ``t``'s device, of ``t``'s array type: the engine refuses to mix
    array types, and the CuPy check runs the cases on a recording subclass of ndarray."""
    m = minigrad.tensor(mask, device=t.device)
    if type(m.data) is not type(t.data):
        m.data = m.data.view(type(t.data))
    return m


# Query 1 sees no key: the fully masked row, which gives zeros and zero gradients (PyTorch too).
MASK = np.array([[True, False, True, True, False], [False] * 5, [True, True, False, False, True]])


# -- quantisation (issue 14): inputs and NumPy references --
# (ops/quantize.py) Scales are powers of two: PyTorch rounds a per-tensor scale to float32 and
# keeps per-channel scales in float32, so other scales would differ from float64 in the 8th digit.

QSCALES, QZEROS = [0.125, 0.25, 0.0625, 0.5], [0, 2, -3, 1]


def fake_quantize_reference(x, scale, zero_point, quant_min, quant_max):
    return (np.clip(np.rint(x / scale) + zero_point, quant_min, quant_max) - zero_point) * scale


def _fq_channels(x, axis=1):
    """Per-channel fake quantisation with QSCALES / QZEROS along ``axis``, minigrad or torch."""
    if isinstance(x, minigrad.Tensor):
        return FQ.fake_quantize_per_channel_affine(x, _const(x, QSCALES), _const(x, QZEROS), axis, -8, 7)
    return _torch().fake_quantize_per_channel_affine(x, _torch().tensor(QSCALES, dtype=_torch().float32),
                                                     _torch().tensor(QZEROS, dtype=_torch().int32), axis, -8, 7)


TEACHER = np.random.default_rng(99).standard_normal((6, 4)) * 2  # fixed teacher logits: a constant


def _distill(s, y, T=2.0, alpha=0.7):
    """Hinton et al.'s loss, minigrad's or written out with torch's ops."""
    if isinstance(s, minigrad.Tensor):
        return minigrad.nn.distillation_loss(s, _const(s, TEACHER), y, T, alpha)
    tF = _tF()
    return alpha * T * T * tF.kl_div(tF.log_softmax(s / T, 1), tF.log_softmax(_torch().tensor(TEACHER) / T, 1),
                                     reduction="batchmean", log_target=True) + (1 - alpha) * tF.cross_entropy(s, y)


def _distill_reference(s, y, T=2.0, alpha=0.7):
    p_t, log_p_s = _softmax(TEACHER / T, 1), np.log(_softmax(s / T, 1))
    return alpha * T * T * (p_t * (np.log(p_t) - log_p_s)).sum() / len(s) + (1 - alpha) * _cross_entropy(s, y).mean()


def _fq_channels_reference(x, axis=1):
    shape = [1] * x.ndim
    shape[axis] = len(QSCALES)
    return fake_quantize_reference(x, np.reshape(QSCALES, shape), np.reshape(QZEROS, shape), -8, 7)


def _const(t, values):
    """A constant like ``t`` (a class weight, a pos_weight): t's dtype and device, no gradient.
    Works for minigrad and torch tensors alike, so one case body serves both."""
    if isinstance(t, minigrad.Tensor):
        c = minigrad.tensor(np.asarray(values, dtype=np.float64), dtype=t.dtype, device=t.device)
        if type(c.data) is not type(t.data):  # test_cupy_namespace records arrays as an ndarray subclass
            c.data = c.data.view(type(t.data))
        return c
    return _torch().tensor(values, dtype=t.dtype)


def functional_case(name, call, makers, reference, gradcheck=True):
    """A case written once as ``call(F, *tensors)``: run with minigrad's ``nn.functional`` as F,
    and with torch's for the parity test."""
    return Case(name, lambda *t: call(F, *t), makers, reference, torch=lambda *t: call(_tF(), *t),
                gradcheck=gradcheck)


def _erf(x):
    return np.vectorize(math.erf)(x)


def _gelu(x):
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _rows(a):
    """(N, C, d...) or (C,) -> rows (M, C), the class axis last."""
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1]) if a.ndim > 1 else a.reshape(1, -1)


def _log_softmax_rows(z):
    rows = _rows(z)
    s = rows - rows.max(1, keepdims=True)
    return s - np.log(np.exp(s).sum(1, keepdims=True))


def _reduced(losses, reduction, shape, divisor):
    if reduction == "none":
        return losses.reshape(shape)
    return losses.sum() if reduction == "sum" else losses.sum() / divisor


def _ce_ref(z, y, weight=None, ignore_index=-100, eps=0.0, reduction="mean"):
    """PyTorch's cross_entropy with class indices, written directly (a dense smoothed one-hot)."""
    log_p = _log_softmax_rows(z)
    n_classes = log_p.shape[1]
    w = np.ones(n_classes) if weight is None else np.asarray(weight)
    labels_ = np.asarray(y).reshape(-1)
    valid = labels_ != ignore_index
    safe = np.where(valid, labels_, 0)
    q = np.eye(n_classes)[safe] * (1 - eps) + eps / n_classes
    losses = -(w * q * log_p).sum(1) * valid
    return _reduced(losses, reduction, np.shape(y), (w[safe] * valid).sum())


def _soft_ce_ref(z, t, weight=None, eps=0.0, reduction="mean"):
    log_p = _log_softmax_rows(z)
    n_classes = log_p.shape[1]
    q = _rows(t) * (1 - eps) + eps / n_classes
    w = np.ones(n_classes) if weight is None else np.asarray(weight)
    losses = -(w * q * log_p).sum(1)
    return _reduced(losses, reduction, z.shape[:1] + z.shape[2:] if z.ndim > 1 else (), len(losses))


def _nll_ref(x, y, weight=None, ignore_index=-100, reduction="mean"):
    rows = _rows(x)
    w = np.ones(rows.shape[1]) if weight is None else np.asarray(weight)
    labels_ = np.asarray(y).reshape(-1)
    valid = labels_ != ignore_index
    safe = np.where(valid, labels_, 0)
    losses = -w[safe] * rows[np.arange(len(safe)), safe] * valid
    return _reduced(losses, reduction, np.shape(y), (w[safe] * valid).sum())


def _smooth_l1_ref(d, beta):
    a = np.abs(d)
    return np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta)


W4 = [0.5, 1.0, 2.0, 1.5]  # class weights for 4 classes


def distinct(*shape):
    """Values at least 0.05 apart (a shuffled grid), so that no max-pooling window holds a
    near-tie that a finite difference would straddle."""
    return lambda rng: rng.permutation(np.prod(shape)).reshape(shape) * 0.05 - np.prod(shape) * 0.025


def ties(*shape):
    """Small integers: many exact ties inside each pooling window."""
    return lambda rng: rng.integers(-1, 2, shape).astype(np.float64)


RUNNING_MEAN, RUNNING_VAR = np.array([0.3, -0.2, 0.1]), np.array([0.8, 1.5, 0.6])


def _reseeded(fn, seed=0):
    """``fn`` after ``manual_seed(seed)``: the same dropout mask on every call (gradcheck calls it often)."""
    def call(*args):
        minigrad.manual_seed(seed)
        return fn(*args)
    return call


def _dropout_reference(x, p, shape=None, seed=0):
    keep = np.random.default_rng(seed).random(x.shape if shape is None else shape) >= p
    return x * keep / (1 - p)


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
    Case("pow_tensor_exponent", lambda a, b: a ** b, [positive(3, 4), normal(4)], lambda a, b: a ** b, torch=SAME),
    Case("pow_method_broadcast", lambda a, b: a.pow(b), [positive(3, 1), normal(1, 4)], lambda a, b: a ** b,
         torch=SAME),
    Case("pow_negative_base", lambda a: a ** 3.0 + a ** -2, [off_kink(3, 4)], lambda a: a ** 3.0 + a ** -2.0,
         torch=SAME),
    Case("pow_zero_base_conventions", lambda a, b: a ** b, [constant([0.0, 0.0, 0.0, 2.0, -2.0]),
                                                            constant([0.0, 2.0, 0.5, 0.0, 2.0])],
         lambda a, b: a ** b, torch=SAME, gradcheck=False),
    Case("rpow_zero", lambda a: 0.0 ** a, [positive(3, 4)], lambda a: 0.0 ** a, torch=SAME),
    Case("rpow_zero_at_zero", lambda a: 0 ** a, [constant([0.0, 1.0, 2.5])], lambda a: 0.0 ** a, torch=SAME,
         gradcheck=False),
    Case("rpow_negative_base", lambda a: (-2.0) ** a, [constant([1.0, 2.0, 3.0])], lambda a: (-2.0) ** a,
         torch=SAME, gradcheck=False),
    Case("add_mixed_float_dtypes", lambda a, b: a + b.float(), [normal(3, 4), normal(4)],
         lambda a, b: a + b.astype(np.float32), torch=SAME, gradcheck=False),  # float32 rounding: test_ops checks it
    Case("cast_half_and_back", lambda a: a.half().to(a.dtype) * a, [normal(3, 4)],
         lambda a: a.astype(np.float16).astype(a.dtype) * a, torch=SAME, gradcheck=False),
    Case("cast_type_and_to", lambda a: a.to(minigrad.float32).type(a.dtype) + a.float().double().to(a),
         [normal(3, 4)], lambda a: 2 * a.astype(np.float32).astype(a.dtype),
         torch=lambda a: a.to(_torch().float32).type(a.dtype) + a.float().double().to(a), gradcheck=False),
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
    Case("abs", lambda a: a.abs(), [off_kink(3, 4)], np.abs, torch=SAME),
    Case("abs_kink", lambda a: abs(a), [constant([-1.0, 0.0, 2.0])], np.abs, torch=SAME, gradcheck=False),
    Case("sqrt", lambda a: a.sqrt(), [positive(3, 4)], np.sqrt, torch=SAME),
    Case("clamp_numbers", lambda a: a.clamp(-0.5, 0.5), [beside([-0.5, 0.5], 4, 5)], lambda a: np.clip(a, -0.5, 0.5),
         torch=SAME),
    Case("clamp_min_only", lambda a: minigrad.clamp(a, min=0.5), [beside([0.5], 4, 5)], lambda a: np.maximum(a, 0.5),
         torch=lambda a: _torch().clamp(a, min=0.5)),
    Case("clip_max_only", lambda a: a.clip(max=-0.5), [beside([-0.5], 4, 5)], lambda a: np.minimum(a, -0.5),
         torch=SAME),
    Case("clamp_at_the_bounds", lambda a: a.clamp(-0.5, 0.5), [constant([-1.0, -0.5, 0.0, 0.5, 1.0])],
         lambda a: np.clip(a, -0.5, 0.5), torch=SAME, gradcheck=False),
    Case("clamp_tensor_bounds", lambda a, lo, hi: minigrad.clamp(a, lo, hi), [normal(3, 4), normal(4), normal(3, 1)],
         lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi), torch=lambda a, lo, hi: _torch().clamp(a, lo, hi)),
    Case("clamp_tensor_bounds_ties", lambda a, lo, hi: a.clamp(lo, hi),
         [constant([-1.0, 0.0, 1.0, 2.0, 3.0]), constant([0.0, 0.0, 1.0, 3.0, 3.0]),
          constant([0.0, 1.0, 1.0, 2.0, 5.0])],
         lambda a, lo, hi: np.minimum(np.maximum(a, lo), hi), torch=SAME, gradcheck=False),
    Case("maximum", lambda a, b: minigrad.maximum(a, b), [normal(3, 4), normal(4)], np.maximum,
         torch=lambda a, b: _torch().maximum(a, b)),
    Case("minimum", lambda a, b: a.minimum(b), [normal(3, 1), normal(4)], np.minimum, torch=SAME),
    Case("maximum_minimum_ties", lambda a, b: a.maximum(b) * 2 + a.minimum(b),
         [constant([1.0, 2.0, 3.0]), constant([1.0, 1.0, 4.0])], lambda a, b: np.maximum(a, b) * 2 + np.minimum(a, b),
         torch=SAME, gradcheck=False),
    Case("where", lambda a, b: minigrad.where(a > 0, a, b), [off_kink(3, 4), normal(4)],
         lambda a, b: np.where(a > 0, a, b), torch=lambda a, b: _torch().where(a > 0, a, b)),
    Case("where_number", lambda a: minigrad.where(a > 0, a, 0.0) + a.where(a < 0, 1.0), [off_kink(3, 4)],
         lambda a: np.where(a > 0, a, 0.0) + np.where(a < 0, a, 1.0),
         torch=lambda a: _torch().where(a > 0, a, 0.0) + a.where(a < 0, 1.0)),
    Case("masked_fill", lambda a: a.masked_fill(a[0] > 0, -1.0), [off_kink(3, 4)],
         lambda a: np.where(a[0] > 0, -1.0, a), torch=SAME),
    Case("tril_triu", lambda a: a.tril() + minigrad.triu(a, 1) * 2 + a.tril(-1), [normal(2, 3, 4)],
         lambda a: np.tril(a) + np.triu(a, 1) * 2 + np.tril(a, -1),
         torch=lambda a: a.tril() + _torch().triu(a, 1) * 2 + a.tril(-1)),

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
    Case("softmax_methods", lambda a: a.softmax(0) + a.log_softmax(-1), [normal(3, 5)],
         lambda a: _softmax(a, 0) + np.log(_softmax(a, -1)), torch=SAME),
    functional_case("leaky_relu", lambda F_, a: F_.leaky_relu(a, 0.2), [off_kink(4, 5)],
                    lambda a: np.where(a > 0, a, 0.2 * a)),
    functional_case("elu", lambda F_, a: F_.elu(a, alpha=1.3), [off_kink(4, 5)],
                    lambda a: np.where(a > 0, a, 1.3 * np.expm1(a))),
    functional_case("gelu", lambda F_, a: F_.gelu(a), [wide(4, 5)], _gelu),
    functional_case("gelu_tanh", lambda F_, a: F_.gelu(a, approximate="tanh"), [wide(4, 5)], _gelu_tanh),
    functional_case("silu", lambda F_, a: F_.silu(a), [wide(4, 5)], lambda a: a / (1 + np.exp(-a))),
    functional_case("softplus", lambda F_, a: F_.softplus(a), [wide(4, 5)], lambda a: np.log1p(np.exp(a))),
    functional_case("softplus_beta_threshold", lambda F_, a: F_.softplus(a, beta=2.0, threshold=1.0),
                    [away_from(0.5, 4, 5)], lambda a: np.where(2 * a > 1, a, np.log1p(np.exp(2 * a)) / 2)),
    Case("log_softmax_3d", lambda a: F.log_softmax(a, dim=1), [normal(2, 3, 4)],
         lambda a: a - a.max(1, keepdims=True) - np.log(np.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)),
         torch=lambda a: _tF().log_softmax(a, dim=1)),

    # -- reductions (ops/reductions.py) --
    Case("sum_all", lambda a: a.sum(), [normal(3, 4)], lambda a: a.sum(), torch=SAME),
    Case("sum_axis_keepdims", lambda a: a.sum(axis=1, keepdims=True), [normal(3, 4)],
         lambda a: a.sum(axis=1, keepdims=True), torch=lambda a: a.sum(1, keepdim=True)),
    Case("sum_axes", lambda a: a.sum(axis=(0, 2)), [normal(2, 3, 4)], lambda a: a.sum(axis=(0, 2)),
         torch=lambda a: a.sum((0, 2))),
    Case("mean_all", lambda a: a.mean(), [normal(3, 4)], lambda a: a.mean(), torch=SAME),
    Case("mean_axis", lambda a: a.mean(axis=0), [normal(3, 4)], lambda a: a.mean(axis=0), torch=lambda a: a.mean(0)),
    Case("max_all", lambda a: a.max(), [normal(3, 4)], lambda a: a.max(), torch=SAME),
    Case("amax_axis", lambda a: a.amax(axis=1), [normal(3, 4)], lambda a: a.max(axis=1), torch=lambda a: a.amax(1)),
    Case("amax_ties", lambda a: a.amax(1), [constant([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])],
         lambda a: a.max(axis=1), torch=SAME, gradcheck=False),
    # -- new reduction cases go here --
    Case("max_all_ties", lambda a: a.max() + a.min(), [constant([[1.0, 3.0, 3.0], [0.0, 2.0, 0.0]])],
         lambda a: a.max() + a.min(), torch=SAME, gradcheck=False),
    Case("max_dim", lambda a: a.max(dim=1).values, [normal(3, 4)], lambda a: a.max(axis=1), torch=SAME),
    Case("max_dim_keepdim", lambda a: a.max(0, keepdim=True)[0], [normal(3, 4)], lambda a: a.max(0, keepdims=True),
         torch=SAME),
    Case("max_min_dim_ties", lambda a: a.max(1).values + a.min(dim=-1).values,
         [constant([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [0.0, 5.0, 0.0]])], lambda a: a.max(1) + a.min(1),
         torch=SAME, gradcheck=False),
    Case("min_all", lambda a: a.min(), [normal(3, 4)], lambda a: a.min(), torch=SAME),
    Case("min_dim", lambda a: a.min(0).values, [normal(3, 4)], lambda a: a.min(0), torch=SAME),
    Case("amin_dims", lambda a: a.amin(dim=(0, 2)), [normal(2, 3, 4)], lambda a: a.min(axis=(0, 2)), torch=SAME),
    Case("amin_ties", lambda a: a.amin(0), [constant([[1.0, 3.0], [1.0, 2.0]])], lambda a: a.min(0), torch=SAME,
         gradcheck=False),
    Case("sum_dim_keepdim", lambda a: a.sum(dim=(0, 2), keepdim=True), [normal(2, 3, 4)],
         lambda a: a.sum(axis=(0, 2), keepdims=True), torch=SAME),
    Case("mean_dim", lambda a: a.mean(dim=-1), [normal(3, 4)], lambda a: a.mean(-1), torch=SAME),
    Case("var_all", lambda a: a.var(), [normal(3, 4)], lambda a: a.var(ddof=1), torch=SAME),
    Case("var_dim_keepdim", lambda a: a.var(1, keepdim=True), [normal(3, 4)], lambda a: a.var(1, ddof=1, keepdims=True),
         torch=SAME),
    Case("var_population", lambda a: a.var(dim=0, correction=0) + a.var(0, unbiased=False), [normal(3, 4)],
         lambda a: 2 * a.var(0), torch=SAME),
    Case("std", lambda a: a.std() + a.std(dim=(0, 1)) + a.std(1, unbiased=False).sum(), [normal(2, 3)],
         lambda a: 2 * a.std(ddof=1) + a.std(1).sum(), torch=SAME),
    Case("topk", lambda a: a.topk(2).values, [normal(3, 5)], lambda a: -np.sort(-a, 1)[:, :2], torch=SAME),
    Case("topk_smallest_dim0", lambda a: minigrad.topk(a, 2, dim=0, largest=False)[0], [normal(3, 5)],
         lambda a: np.sort(a, 0)[:2], torch=lambda a: _torch().topk(a, 2, dim=0, largest=False)[0]),

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
    Case("unsqueeze_squeeze", lambda a: a.unsqueeze(1).squeeze(2) * a.squeeze().unsqueeze(-1), [normal(3, 1, 4)],
         lambda a: a * a.reshape(3, 4, 1), torch=SAME),
    Case("squeeze_dim", lambda a: a.squeeze(1) + a.squeeze((0, 1)), [normal(1, 1, 4)], lambda a: 2 * a.reshape(1, 4),
         torch=SAME),
    Case("permute", lambda a: a.permute(2, 0, 1), [normal(2, 3, 4)], lambda a: a.transpose(2, 0, 1), torch=SAME),
    Case("expand", lambda a: a.expand(2, 3, 4) + a.expand(-1, 4), [normal(3, 1)],
         lambda a: np.broadcast_to(a, (2, 3, 4)) + np.broadcast_to(a, (3, 4)), torch=SAME),
    Case("expand_as", lambda a, b: a.expand_as(b) * b, [normal(4), normal(3, 4)], lambda a, b: a * b, torch=SAME),
    Case("flatten_range", lambda a: a.flatten(0, 1), [normal(2, 3, 4)], lambda a: a.reshape(6, 4), torch=SAME),
    Case("split_chunk", lambda a: a.split(2, dim=1)[0] * a.split([1, 3], 1)[1][:, 1:] + a.chunk(3)[2].sum(),
         [normal(5, 4)], lambda a: a[:, :2] * a[:, 2:] + a[4:].sum(), torch=SAME),
    Case("contiguous_clone", lambda a: a.T.contiguous() * a.clone().T, [normal(3, 4)], lambda a: a.T * a.T, torch=SAME),
    Case("cat", lambda a, b: minigrad.cat([a, b, a], dim=1), [normal(3, 2), normal(3, 4)],
         lambda a, b: np.concatenate([a, b, a], 1), torch=lambda a, b: _torch().cat([a, b, a], dim=1)),
    Case("stack", lambda a, b: minigrad.stack([a, b, a], dim=-1), [normal(3, 2), normal(3, 2)],
         lambda a, b: np.stack([a, b, a], -1), torch=lambda a, b: _torch().stack([a, b, a], dim=-1)),
    Case("gather_repeated", lambda a: a.gather(1, _on(a, [[0, 0], [3, 1], [2, 2]])), [normal(3, 4)],
         lambda a: np.take_along_axis(a, np.array([[0, 0], [3, 1], [2, 2]]), 1),
         torch=lambda a: a.gather(1, _idx([[0, 0], [3, 1], [2, 2]]))),
    Case("getitem_int_slice_list", lambda a: a[0, :, [0, 1, 0]], [normal(3, 4, 5)],
         lambda a: a[0][:, [0, 1, 0]], torch=SAME),
    Case("getitem_int_ellipsis_list", lambda a: a[1, ..., [2, 2]] + a[_on(a, 0), :, [1, 3]],
         [normal(3, 4, 5)], lambda a: a[1][:, [2, 2]] + a[0][:, [1, 3]],
         torch=lambda a: a[1, ..., [2, 2]] + a[_idx(0), :, [1, 3]]),
    Case("getitem_none_between", lambda a: a[0, None, :, [1, 2]], [normal(3, 4, 5)],
         lambda a: a[0][None][:, :, [1, 2]], torch=SAME),
    Case("getitem_mask", lambda a: a[a > 0] * 2 + a[a[:, 0] > 0].sum(), [off_kink(4, 3)],
         lambda a: a[a > 0] * 2 + a[a[:, 0] > 0].sum(), torch=SAME),

    # -- layers (ops/linear.py); PyTorch stores the weight as (out, in) --
    Case("linear", lambda x, w, b: F.linear(x, w, b), [normal(5, 4), normal(4, 3), normal(3)],
         lambda x, w, b: x @ w + b, torch=lambda x, w, b: _tF().linear(x, w.T, b)),
    Case("linear_no_bias", lambda x, w: F.linear(x, w), [normal(5, 4), normal(4, 3)], lambda x, w: x @ w,
         torch=lambda x, w: _tF().linear(x, w.T)),
    Case("linear_3d", lambda x, w, b: F.linear(x, w, b), [normal(2, 5, 4), normal(4, 3), normal(3)],
         lambda x, w, b: x @ w + b, torch=lambda x, w, b: _tF().linear(x, w.T, b)),
    # -- new layer cases go here --

    # -- embedding, layer norm, attention (issue 13) --
    # (ops/embedding.py, ops/layer_norm.py, ops/attention.py)
    Case("embedding", lambda i, w: F.embedding(i, w), [indices((3, 4), 5), normal(5, 3)], lambda i, w: w[i],
         torch=lambda i, w: _tF().embedding(i, w)),
    Case("embedding_padding_idx", lambda i, w: F.embedding(i, w, padding_idx=1),
         [lambda rng: np.array([[1, 0, 1], [3, 1, 0]]), normal(4, 2)], lambda i, w: w[i],
         torch=lambda i, w: _tF().embedding(i, w, padding_idx=1), gradcheck=False),  # row 1's gradient is 0 by design
    Case("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), [normal(2, 3, 4), normal(4), normal(4)],
         lambda x, w, b: layer_norm_reference(x, 1, w, b), torch=lambda x, w, b: _tF().layer_norm(x, (4,), w, b)),
    Case("layer_norm_2d_weight_only", lambda x, w: F.layer_norm(x, (3, 4), w, eps=1e-3),
         [normal(2, 3, 4), normal(3, 4)], lambda x, w: layer_norm_reference(x, 2, w, eps=1e-3),
         torch=lambda x, w: _tF().layer_norm(x, (3, 4), w, eps=1e-3)),
    Case("layer_norm_no_affine", lambda x: F.layer_norm(x, (5,)), [normal(3, 5)], lambda x: layer_norm_reference(x, 1),
         torch=lambda x: _tF().layer_norm(x, (5,))),
    Case("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
         [normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 6)], attention_reference,
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v)),
    Case("sdpa_causal", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         [normal(2, 2, 4, 3), normal(2, 2, 4, 3), normal(2, 2, 4, 3)],
         lambda q, k, v: attention_reference(q, k, v, np.tril(np.ones((4, 4), bool))),
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v, is_causal=True)),
    Case("sdpa_bool_mask_broadcast", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, _mask_on(q, MASK)),
         [normal(2, 2, 3, 4), normal(2, 2, 5, 4), normal(2, 2, 5, 3)],
         lambda q, k, v: attention_reference(q, k, v, MASK),
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v, _torch().tensor(MASK))),
    Case("sdpa_float_mask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
         [normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 3), normal(3, 5)], attention_reference,
         torch=lambda q, k, v, m: _tF().scaled_dot_product_attention(q, k, v, m)),
    Case("sdpa_batch_broadcast_scale", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.7),
         [normal(2, 1, 3, 4), normal(1, 2, 5, 4), normal(2, 2, 5, 3)],
         lambda q, k, v: attention_reference(q, k, v, scale=0.7),
         torch=lambda q, k, v: _tF().scaled_dot_product_attention(q, k, v, scale=0.7)),
    Case("sdpa_dropout", lambda q, k, v: _seeded(7, lambda: F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)),
         [normal(2, 3, 4), normal(2, 5, 4), normal(2, 5, 3)],
         lambda q, k, v: attention_reference(q, k, v, keep=_keep(7, 0.4, (2, 3, 5)), p=0.4)),  # PyTorch's draws differ

    # -- convolution, pooling, normalisation (issue 12: ops/conv.py, pooling.py, normalization.py,
    # dropout.py); weights are laid out as PyTorch's, so the torch forms take the same arrays --
    Case("conv2d", lambda x, w, b: F.conv2d(x, w, b), [normal(2, 3, 6, 5), normal(4, 3, 3, 3), normal(4)],
         ref.conv, torch=lambda x, w, b: _tF().conv2d(x, w, b)),
    Case("conv2d_stride_padding", lambda x, w: F.conv2d(x, w, stride=2, padding=(1, 2)),
         [normal(2, 2, 7, 6), normal(3, 2, 3, 2)], lambda x, w: ref.conv(x, w, stride=2, padding=(1, 2)),
         torch=lambda x, w: _tF().conv2d(x, w, stride=2, padding=(1, 2))),
    Case("conv2d_same_dilation", lambda x, w, b: F.conv2d(x, w, b, padding="same", dilation=(2, 1)),
         [normal(2, 2, 6, 6), normal(3, 2, 2, 3), normal(3)],
         lambda x, w, b: ref.conv(x, w, b, padding="same", dilation=(2, 1)),
         torch=lambda x, w, b: _tF().conv2d(x, w, b, padding="same", dilation=(2, 1))),
    Case("conv2d_groups", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), groups=2),
         [normal(2, 4, 5, 6), normal(6, 2, 3, 3), normal(6)], lambda x, w, b: ref.conv(x, w, b, (1, 2), groups=2),
         torch=lambda x, w, b: _tF().conv2d(x, w, b, stride=(1, 2), groups=2)),
    Case("conv2d_depthwise", lambda x, w: F.conv2d(x, w, padding=1, groups=3),
         [normal(2, 3, 5, 5), normal(3, 1, 3, 3)], lambda x, w: ref.conv(x, w, padding=1, groups=3),
         torch=lambda x, w: _tF().conv2d(x, w, padding=1, groups=3)),
    Case("conv2d_unbatched", lambda x, w: F.conv2d(x, w), [normal(2, 5, 5), normal(3, 2, 2, 2)],
         lambda x, w: ref.conv(x[None], w)[0], torch=lambda x, w: _tF().conv2d(x, w)),
    Case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
         [normal(2, 4, 9), normal(6, 2, 3), normal(6)],
         lambda x, w, b: ref.conv(x, w, b, stride=2, padding=1, dilation=2, groups=2),
         torch=lambda x, w, b: _tF().conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)),
    Case("max_pool2d", lambda x: F.max_pool2d(x, 2), [distinct(2, 3, 6, 5)], lambda x: ref.pool(x, 2),
         torch=lambda x: _tF().max_pool2d(x, 2)),
    Case("max_pool2d_overlap_padding", lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
         [distinct(2, 2, 6, 7)], lambda x: ref.pool(x, 3, 2, 1, ceil_mode=True),
         torch=lambda x: _tF().max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)),
    Case("max_pool2d_dilation", lambda x: F.max_pool2d(x, (2, 3), stride=1, dilation=(2, 1)),
         [distinct(1, 2, 6, 6)], lambda x: ref.pool(x, (2, 3), 1, dilation=(2, 1)),
         torch=lambda x: _tF().max_pool2d(x, (2, 3), stride=1, dilation=(2, 1))),
    Case("max_pool2d_ties", lambda x: F.max_pool2d(x, 3, stride=1), [ties(2, 3, 6, 6)], lambda x: ref.pool(x, 3, 1),
         torch=lambda x: _tF().max_pool2d(x, 3, stride=1), gradcheck=False),
    Case("max_pool1d", lambda x: F.max_pool1d(x, 3, stride=2, padding=1), [distinct(2, 3, 8)],
         lambda x: ref.pool(x, 3, 2, 1), torch=lambda x: _tF().max_pool1d(x, 3, stride=2, padding=1)),
    Case("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [normal(2, 3, 6, 5)], lambda x: ref.pool(x, 2, reduce="mean"),
         torch=lambda x: _tF().avg_pool2d(x, 2)),
    Case("avg_pool2d_padding_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
         [normal(2, 2, 6, 7)], lambda x: ref.pool(x, 3, 2, 1, reduce="mean", ceil_mode=True, count_include_pad=False),
         torch=lambda x: _tF().avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)),
    Case("avg_pool2d_count_pad", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         [normal(2, 2, 6, 7)], lambda x: ref.pool(x, 3, 2, 1, reduce="mean", ceil_mode=True),
         torch=lambda x: _tF().avg_pool2d(x, 3, 2, 1, ceil_mode=True)),
    Case("avg_pool1d", lambda x: F.avg_pool1d(x, 2, 1), [normal(2, 3, 5)], lambda x: ref.pool(x, 2, 1, reduce="mean"),
         torch=lambda x: _tF().avg_pool1d(x, 2, 1)),
    Case("adaptive_avg_pool2d_global", lambda x: F.adaptive_avg_pool2d(x, 1), [normal(2, 3, 5, 4)],
         lambda x: ref.adaptive_avg_pool2d(x, 1), torch=lambda x: _tF().adaptive_avg_pool2d(x, 1)),
    Case("adaptive_avg_pool2d_uneven", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [normal(2, 2, 5, 7)],
         lambda x: ref.adaptive_avg_pool2d(x, (3, 2)), torch=lambda x: _tF().adaptive_avg_pool2d(x, (3, 2))),
    Case("batch_norm_train", lambda x, w, b: F.batch_norm(x, _const(x, [0, 0, 0]), _const(x, [1, 1, 1]), w, b,
                                                          training=True),
         [normal(4, 3, 2, 3), normal(3), normal(3)], lambda x, w, b: ref.batch_norm(x, w, b),
         torch=lambda x, w, b: _tF().batch_norm(x, _torch().zeros(3, dtype=x.dtype), _torch().ones(3, dtype=x.dtype),
                                                w, b, training=True)),
    Case("batch_norm_train_1d_no_affine", lambda x: F.batch_norm(x, None, None, training=True, eps=1e-3),
         [normal(5, 3)], lambda x: ref.batch_norm(x, eps=1e-3),
         torch=lambda x: _tF().batch_norm(x, None, None, training=True, eps=1e-3)),
    Case("batch_norm_eval", lambda x, w, b: F.batch_norm(x, _const(x, RUNNING_MEAN), _const(x, RUNNING_VAR), w, b),
         [normal(4, 3, 3), normal(3), normal(3)],
         lambda x, w, b: ref.batch_norm(x, w, b, RUNNING_MEAN, RUNNING_VAR),
         torch=lambda x, w, b: _tF().batch_norm(x, _torch().tensor(RUNNING_MEAN), _torch().tensor(RUNNING_VAR), w, b)),
    # PyTorch draws its own masks, so dropout has no torch form; tests/test_conv.py checks its semantics
    Case("dropout", _reseeded(lambda x: F.dropout(x, 0.4)), [normal(4, 5)], lambda x: _dropout_reference(x, 0.4)),
    Case("dropout2d", _reseeded(lambda x: F.dropout2d(x, 0.5)), [normal(3, 4, 2, 2)],
         lambda x: _dropout_reference(x, 0.5, (3, 4, 1, 1))),

    # -- quantisation (issue 14) --
    # (ops/quantize.py) gradcheck=False: the straight-through estimator is by design not the
    # derivative of the rounding (0 almost everywhere); its backward is checked against PyTorch.
    Case("fake_quantize_per_tensor", lambda x: FQ.fake_quantize_per_tensor_affine(x, 0.0625, 3, -20, 30),
         [wide(4, 5, scale=1.5)], lambda x: fake_quantize_reference(x, 0.0625, 3, -20, 30),
         torch=lambda x: _torch().fake_quantize_per_tensor_affine(x, 0.0625, 3, -20, 30), gradcheck=False),
    Case("fake_quantize_per_channel", _fq_channels, [wide(3, 4, scale=2.0)], _fq_channels_reference,
         torch=SAME, gradcheck=False),
    Case("fake_quantize_per_channel_axis0_used_twice", lambda x: _fq_channels(x, 0) * x, [wide(4, 2, 3, scale=2.0)],
         lambda x: _fq_channels_reference(x, 0) * x, torch=SAME, gradcheck=False),
    Case("distillation_loss", _distill, [normal(6, 4), labels(6, 4)], _distill_reference, torch=SAME),

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
    functional_case("cross_entropy_weight", lambda F_, z, y: F_.cross_entropy(z, y, weight=_const(z, W4)),
                    [normal(6, 4), labels(6, 4)], lambda z, y: _ce_ref(z, y, W4)),
    functional_case("cross_entropy_ignore_index",
                    lambda F_, z, y: F_.cross_entropy(z, y, reduction="sum"),
                    [normal(6, 4), labels(6, 4, ignored=-100)], lambda z, y: _ce_ref(z, y, reduction="sum")),
    functional_case("cross_entropy_weight_ignore_class",
                    lambda F_, z, y: F_.cross_entropy(z, y, weight=_const(z, W4), ignore_index=1),
                    [normal(6, 4), labels(6, 4, ignored=1)], lambda z, y: _ce_ref(z, y, W4, ignore_index=1)),
    functional_case("cross_entropy_smoothing", lambda F_, z, y: F_.cross_entropy(z, y, label_smoothing=0.1),
                    [normal(6, 4), labels(6, 4)], lambda z, y: _ce_ref(z, y, eps=0.1)),
    functional_case("cross_entropy_smoothing_weight_ignore",
                    lambda F_, z, y: F_.cross_entropy(z, y, weight=_const(z, W4), label_smoothing=0.2),
                    [normal(6, 4), labels(6, 4, ignored=-100)], lambda z, y: _ce_ref(z, y, W4, eps=0.2)),
    functional_case("cross_entropy_smoothing_none",
                    lambda F_, z, y: F_.cross_entropy(z, y, weight=_const(z, W4), label_smoothing=0.3,
                                                      reduction="none"),
                    [normal(6, 4), labels(6, 4, ignored=-100)],
                    lambda z, y: _ce_ref(z, y, W4, eps=0.3, reduction="none")),
    functional_case("cross_entropy_nd", lambda F_, z, y: F_.cross_entropy(z, y),
                    [normal(2, 4, 3, 2), labels((2, 3, 2), 4)], lambda z, y: _ce_ref(z, y)),
    functional_case("cross_entropy_nd_weight_ignore_none",
                    lambda F_, z, y: F_.cross_entropy(z, y, weight=_const(z, W4), reduction="none"),
                    [normal(2, 4, 3), labels((2, 3), 4, ignored=-100)],
                    lambda z, y: _ce_ref(z, y, W4, reduction="none")),
    functional_case("cross_entropy_one_example", lambda F_, z, y: F_.cross_entropy(z, y),
                    [normal(5), labels((), 5)], lambda z, y: _ce_ref(z, y)),
    functional_case("cross_entropy_probabilities", lambda F_, z, t: F_.cross_entropy(z, t),
                    [normal(6, 4), distribution(6, 4)], lambda z, t: _soft_ce_ref(z, t)),
    functional_case("cross_entropy_probabilities_weight_smoothing",
                    lambda F_, z, t: F_.cross_entropy(z, t, weight=_const(z, W4), label_smoothing=0.1,
                                                      reduction="sum"),
                    [normal(6, 4), distribution(6, 4)], lambda z, t: _soft_ce_ref(z, t, W4, 0.1, "sum")),
    functional_case("cross_entropy_probabilities_nd_none",
                    lambda F_, z, t: F_.cross_entropy(z, t, reduction="none"),
                    [normal(2, 4, 3), distribution(2, 4, 3)], lambda z, t: _soft_ce_ref(z, t, reduction="none")),
    functional_case("nll_loss", lambda F_, x, y: F_.nll_loss(x, y), [normal(6, 4), labels(6, 4)], _nll_ref),
    functional_case("nll_loss_weight_ignore",
                    lambda F_, x, y: F_.nll_loss(x, y, weight=_const(x, W4), ignore_index=2),
                    [normal(6, 4), labels(6, 4, ignored=2)], lambda x, y: _nll_ref(x, y, W4, 2)),
    functional_case("nll_loss_nd_none", lambda F_, x, y: F_.nll_loss(x, y, reduction="none"),
                    [normal(2, 4, 3), labels((2, 3), 4, ignored=-100)], lambda x, y: _nll_ref(x, y, reduction="none")),
    functional_case("l1_loss", lambda F_, x, y: F_.l1_loss(x, y), [normal(4, 3), normal(4, 3)],
                    lambda x, y: np.abs(x - y).mean()),
    functional_case("l1_loss_weight", lambda F_, x, y: F_.l1_loss(x, y, weight=_const(x, np.arange(1.0, 13).reshape(4, 3))),
                    [normal(4, 3), normal(4, 3)],
                    lambda x, y: (np.abs(x - y) * np.arange(1.0, 13).reshape(4, 3)).sum() / 78),
    functional_case("smooth_l1_loss", lambda F_, x, y: F_.smooth_l1_loss(x, y, beta=0.5, reduction="sum"),
                    [normal(4, 3), normal(4, 3)], lambda x, y: _smooth_l1_ref(x - y, 0.5).sum()),
    functional_case("huber_loss", lambda F_, x, y: F_.huber_loss(x, y, delta=0.7), [normal(4, 3), normal(4, 3)],
                    lambda x, y: (0.7 * _smooth_l1_ref(x - y, 0.7)).mean()),
    functional_case("mse_loss_weight", lambda F_, x, y: F_.mse_loss(x, y, weight=_const(x, np.arange(1.0, 13).reshape(4, 3))),
                    [normal(4, 3), normal(4, 3)],
                    lambda x, y: ((x - y) ** 2 * np.arange(1.0, 13).reshape(4, 3)).sum() / 78),
    functional_case("kl_div_batchmean", lambda F_, x, t: F_.kl_div(x, t, reduction="batchmean"),
                    [normal(4, 3), probability(4, 3)], lambda x, t: (t * (np.log(t) - x)).sum() / 4),
    functional_case("kl_div_log_target", lambda F_, x, t: F_.kl_div(x, t, reduction="sum", log_target=True),
                    [normal(4, 3), normal(4, 3)], lambda x, t: (np.exp(t) * (t - x)).sum()),
    functional_case("kl_div_none", lambda F_, x, t: F_.kl_div(x, t, reduction="none"),
                    [normal(4, 3), probability(4, 3)], lambda x, t: t * (np.log(t) - x)),
    functional_case("binary_cross_entropy_weight",
                    lambda F_, p, y: F_.binary_cross_entropy(p, y, weight=_const(p, [1.0, 2.0, 0.5])),
                    [probability(4, 3), probability(4, 3)],
                    lambda p, y: (-(y * np.log(p) + (1 - y) * np.log(1 - p)) * [1.0, 2.0, 0.5]).mean()),
    functional_case("bce_with_logits_pos_weight",
                    lambda F_, z, y: F_.binary_cross_entropy_with_logits(z, y, pos_weight=_const(z, [3.0, 0.5, 1.0])),
                    [wide(4, 3, scale=3.0), probability(4, 3)],
                    lambda z, y: (-([3.0, 0.5, 1.0] * y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z)))).mean()),
    functional_case("bce_with_logits_weight_pos_weight_none",
                    lambda F_, z, y: F_.binary_cross_entropy_with_logits(
                        z, y, weight=_const(z, [[1.0], [2.0], [0.5], [1.5]]), pos_weight=_const(z, [2.0, 1.0, 0.25]),
                        reduction="none"),
                    [normal(4, 3), probability(4, 3)],
                    lambda z, y: -([2.0, 1.0, 0.25] * y * np.log(_sigmoid(z)) + (1 - y) * np.log(1 - _sigmoid(z)))
                    * [[1.0], [2.0], [0.5], [1.5]]),
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

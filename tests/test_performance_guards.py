"""Guards for what makes a training step fast, checked as facts rather than timings.

The speeds themselves are measured by ``python -m benchmarks.train_step`` (docs/benchmarks.md);
a wall-clock assertion would fail on a busy machine and pass on a broken one. These tests pin
the reasons instead: a float32 step stays float32, no gradient is computed that nobody asked for,
the graph is freed by ``backward``, the optimiser updates in place, and the benchmark runs.
"""
import json
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim
from minigrad.ops import activations, linear, losses

ROOT = Path(__file__).resolve().parents[1]
OPS_OF_THE_MLP = (linear.Linear, activations.ReLU, losses.SoftmaxCrossEntropy)


def _mlp_step_parts(batch=8, hidden=16, seed=0):
    minigrad.manual_seed(seed)
    model = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    gen = np.random.default_rng(seed)
    x = minigrad.tensor(gen.random((batch, 784), dtype=np.float32))
    y = minigrad.tensor(gen.integers(0, 10, batch))
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y


@pytest.fixture
def backward_log(monkeypatch):
    """Record, for each backward of the MLP's ops, the upstream gradient and what it returned."""
    log = []
    for op in OPS_OF_THE_MLP:
        def recording(ctx, grad_output, _original=op.backward, _op=op):
            grads = _original(ctx, grad_output)
            log.append((_op.__name__, grad_output, grads if isinstance(grads, tuple) else (grads,)))
            return grads
        monkeypatch.setattr(op, "backward", staticmethod(recording))
    return log


@pytest.mark.parametrize("batch", [1, 64])
def test_float32_step_keeps_every_array_float32(batch, backward_log):
    # an int64 one-hot or a float64 scale (Python float through a 0-d float64 array) in a
    # backward would upcast everything after it, and NumPy would then run float64 kernels
    model, loss_fn, opt, x, y = _mlp_step_parts(batch=batch)
    opt.zero_grad()
    z1 = model[0](x)
    a1 = model[1](z1)
    z2 = model[2](a1)
    loss = loss_fn(z2, y)
    for t in (z1, a1, z2, loss):
        assert t.dtype == np.float32
    loss.backward()
    assert [name for name, _, _ in backward_log] == ["SoftmaxCrossEntropy", "Linear", "ReLU", "Linear"]
    for name, grad_output, grads in backward_log:
        assert grad_output.dtype == np.float32, name
        for g in grads:
            assert g is None or g.dtype == np.float32, name
    opt.step()
    for p in model.parameters():
        assert p.dtype == np.float32 and p.grad.dtype == np.float32


def test_no_gradient_is_computed_for_the_input_batch(backward_log):
    model, loss_fn, _, x, y = _mlp_step_parts()
    loss_fn(model(x), y).backward()
    first_linear = backward_log[-1]
    assert first_linear[0] == "Linear"
    dx, dw, db = first_linear[2]
    assert dx is None and dw is not None and db is not None  # dX = G @ W.T skipped: x needs none
    assert x.grad is None
    assert backward_log[0][2][1:] == (None, None)  # nor for the labels or the reduction


def test_input_gradient_is_not_a_view_to_copy(backward_log):
    # a gradient that is a view of another array is copied before it becomes a leaf's .grad
    # (the engine cannot tell who else holds it); Linear's dX for a 2-D input is a fresh array,
    # so an input that requires grad (saliency, adversarial examples) takes it without a copy
    model, loss_fn, _, x, y = _mlp_step_parts(batch=64)
    x.requires_grad = True
    loss_fn(model(x), y).backward()
    dx = backward_log[-1][2][0]
    assert dx.base is None and dx.shape == x.shape

def test_no_graph_is_kept_after_backward():
    model, loss_fn, _, x, y = _mlp_step_parts()
    z1 = model[0](x)
    a1 = model[1](z1)
    loss = loss_fn(model[2](a1), y)
    nodes = [loss, a1, z1]
    loss.backward()
    assert all(t._ctx.inputs is None and t._ctx.saved_tensors is None for t in nodes)  # arrays released
    hidden = weakref.ref(z1)
    del z1, a1, loss, nodes
    assert hidden() is None  # nothing (no parameter, no gradient) still points into the graph
    for p in model.parameters():
        assert p.grad.grad_fn is None and not p.grad.requires_grad


def test_optimizer_and_zero_grad_work_in_place():
    model, loss_fn, opt, x, y = _mlp_step_parts()
    arrays = [p.data for p in model.parameters()]
    before = [a.copy() for a in arrays]
    loss_fn(model(x), y).backward()
    opt.step()
    for p, a, b in zip(model.parameters(), arrays, before):
        assert p.data is a  # updated in place: no new array per step
        assert not np.array_equal(a, b)
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())  # set_to_none: nothing to fill with 0


def test_weight_gradient_of_one_example_is_the_outer_product():
    # batch 1 takes xp.dot (BLAS), not @ (a slow loop for an inner dimension of 1)
    gen = np.random.default_rng(1)
    x, g = gen.random((1, 784), dtype=np.float32), gen.random((1, 100), dtype=np.float32)
    w = minigrad.tensor(gen.random((784, 100), dtype=np.float32), requires_grad=True)
    b = minigrad.tensor(np.zeros(100, np.float32), requires_grad=True)
    minigrad.nn.functional.linear(minigrad.tensor(x), w, b).backward(minigrad.tensor(g))
    np.testing.assert_allclose(w.grad.numpy(), np.outer(x, g), rtol=1e-6)
    assert w.grad.dtype == np.float32 and w.grad.data.flags.c_contiguous


def test_import_pulls_in_nothing_heavy():
    code = ("import sys, minigrad; heavy = ('torch', 'cupy', 'scipy', 'matplotlib', 'pandas', 'hypothesis'); "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_benchmark_quick_mode_runs(tmp_path):
    # proves the command runs and the variants agree on the losses; measures nothing
    path = tmp_path / "train_step.json"
    out = subprocess.run([sys.executable, "-m", "benchmarks.train_step", "--quick", "--variants", "numpy,minigrad",
                          "--json", str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "minigrad/numpy" in out.stdout
    result = json.loads(path.read_text())
    for row in result["tables"]["1"]:
        assert row["loss_check"]["max_rel_diff"] < 1e-4
        assert row["steps_per_s"]["minigrad"] > 0 and row["ratios"]["minigrad/numpy"] > 0


def test_memory_and_overhead_benchmarks_run_in_process():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import memory, ops_overhead
    finally:
        sys.path.remove(str(ROOT))
    for variant in ("numpy", "minigrad"):
        peaks = memory.child(variant, batch=4, hidden=8, steps=2)
        assert peaks["traced_peak_mib"] > 0
    rows = ops_overhead.measure(rounds=1, number=3)
    assert {r["op"] for r in rows} >= {"add", "matmul", "linear", "cross_entropy"}


def test_step_breakdown_runs_and_its_ops_only_step_matches_the_floor():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks import common, step_breakdown
    finally:
        sys.path.remove(str(ROOT))
    weights, batches = common.make_weights(16), common.make_batches(8, 3)
    floor, ops_only = common.build_step("numpy", weights), step_breakdown.ops_only_step(weights)
    for x, y in batches * 2:  # the same losses step after step: the same arrays, the same updates
        np.testing.assert_allclose(float(ops_only(x, y)), floor(x, y), rtol=1e-5)
    times = step_breakdown.decomposition(batch=2, hidden=8, rounds=1, steps=2)
    assert set(times) == {"numpy", "ops only", "minigrad"} and min(times.values()) > 0
    assert min(step_breakdown.after_traffic(rounds=1, steps=2, nbytes=1000).values()) > 0

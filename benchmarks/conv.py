"""Convolutions: LeNet-5 training steps and single conv layers, minigrad against hand-written
NumPy (benchmarks/numpy_conv.py, the floor) and PyTorch, one thread, interleaved in one run.

    python -m benchmarks.conv [--quick] [--json PATH]

Three parts:

- LeNet-5's training step (forward, loss, backward, SGD) at batch 64 from the same weights on
  the same batches (a five-step loss check first proves the variants compute the same thing);
- one conv layer's forward and backward (dx, dW, db; stride 1, 'same' padding) over a grid of
  channels, image sizes, kernels and batches;
- the peak memory (tracemalloc) of 10 LeNet-5 steps, each variant in a fresh process.

As in ``train_step``: each variant runs one timed chunk per round, in an order that rotates
from round to round; a table gives the median rate over the rounds, a ratio the median over
rounds of the ratio within a round.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from . import common
from .numpy_conv import NumpyLeNet, conv_layer_step

LR = 0.05
# (batch, in channels, out channels, image size, kernel)
GRID = [(1, 1, 6, 28, 5), (64, 1, 6, 28, 5), (64, 6, 16, 14, 5), (128, 1, 16, 28, 3), (8, 16, 32, 32, 3),
        (128, 16, 32, 16, 3), (32, 32, 64, 8, 3), (16, 64, 64, 16, 5), (128, 64, 64, 8, 3)]
FULL = dict(batch=64, repeats=7, chunk=0.3, grid=GRID, memory_steps=10)
QUICK = dict(batch=16, repeats=2, chunk=0.02, grid=GRID[:2], memory_steps=2)

# the floor's parameter names -> minigrad's LeNet5 and torch's Sequential (their module paths)
MINIGRAD_NAMES = {"conv1": "features.0", "conv2": "features.3", "fc1": "classifier.1", "fc2": "classifier.3",
                  "fc3": "classifier.5"}
TORCH_INDEX = {"conv1": 0, "conv2": 3, "fc1": 7, "fc2": 9, "fc3": 11}


def lenet_params(seed: int = 1) -> dict:
    """LeNet-5's weights, uniform in +-1/sqrt(fan_in) as PyTorch initialises them: convolutions
    (out, in, k, k), linear layers (in, out)."""
    rng = np.random.default_rng(seed)
    shapes = {"conv1": ((6, 1, 5, 5), 25), "conv2": ((16, 6, 5, 5), 150), "fc1": ((400, 120), 400),
              "fc2": ((120, 84), 120), "fc3": ((84, 10), 84)}
    params = {}
    for name, (shape, fan_in) in shapes.items():
        bound = 1 / np.sqrt(fan_in)
        params[name + ".weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        out = shape[0] if name.startswith("conv") else shape[1]
        params[name + ".bias"] = rng.uniform(-bound, bound, out).astype(np.float32)
    return params


def lenet_batches(batch: int, n_batches: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [(rng.random((batch, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, batch))
            for _ in range(n_batches)]


def build_lenet(variant: str, params: dict, batches):
    """(step, data) for one variant: ``step(*data[i])`` trains one batch and returns the loss."""
    if variant == "numpy":
        return NumpyLeNet(params, LR).step, batches
    if variant == "minigrad":
        import minigrad
        from minigrad import models, nn, optim

        model = models.LeNet5()
        model.load_state_dict({MINIGRAD_NAMES[k.split(".")[0]] + "." + k.split(".")[1]: v for k, v in params.items()})
        step = common.training_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=LR))
        return step, [(minigrad.tensor(x), minigrad.tensor(y)) for x, y in batches]
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                          nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    with torch.no_grad():
        for k, v in params.items():
            layer, kind = k.split(".")
            value = v.T if layer.startswith("fc") and kind == "weight" else v  # torch's Linear is (out, in)
            getattr(model[TORCH_INDEX[layer]], kind).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    step = common.training_step(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=LR))
    return step, [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]


def interleaved(runners: dict, repeats: int, chunk: float) -> dict:
    """Rates (calls per second, wall and CPU) of each ``runners[v] = (fn, data)``, in rounds.

    Each round runs every variant for about ``chunk`` seconds, in an order that rotates."""
    variants = list(runners)
    calls = {}
    for v, (fn, data) in runners.items():
        _time(fn, data, 2)  # warm up: first calls allocate and fill caches
        calls[v] = max(2, int(chunk / max(_time(fn, data, 3)[0] / 3, 1e-7)))
    wall = {v: [] for v in variants}
    cpu = {v: [] for v in variants}
    for r in range(repeats):
        for v in variants[r % len(variants):] + variants[:r % len(variants)]:
            w, c = _time(*runners[v], calls[v])
            wall[v].append(calls[v] / w)
            cpu[v].append(calls[v] / max(c, 1e-9))
    return {"per_s": {v: statistics.median(wall[v]) for v in variants},
            "per_cpu_s": {v: statistics.median(cpu[v]) for v in variants},
            "ratios": _ratios(wall), "cpu_ratios": _ratios(cpu), "rounds": wall}


def _time(fn, data, k):
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(k):
        fn(*data[i % len(data)])
    return time.perf_counter() - t0, time.process_time() - c0


def _ratios(rates):
    return {f"minigrad/{v}": statistics.median(m / o for m, o in zip(rates["minigrad"], rates[v]))
            for v in rates if v != "minigrad"}


def bench_lenet(batch: int, repeats: int, chunk: float, variants):
    params, batches = lenet_params(), lenet_batches(batch, 8)
    losses = {}
    for v in variants:  # the same five steps from the same start: the same losses
        step, data = build_lenet(v, params, batches)
        losses[v] = [common.loss_value(step(*data[i])) for i in range(5)]
    worst = max(abs(a - b) / abs(b) for v in variants for a, b in zip(losses[v], losses["numpy"]))
    if worst > 1e-4:
        raise AssertionError(f"the LeNet-5 variants do not compute the same thing: {losses}")
    result = interleaved({v: build_lenet(v, params, batches) for v in variants}, repeats, chunk)
    return {"batch": batch, **result, "loss_check": {"losses": losses, "max_rel_diff": worst}}


def conv_layer_runner(variant: str, n: int, c: int, o: int, size: int, k: int):
    """(fn, data): one forward and backward of a conv layer, stride 1, padding k // 2."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size), dtype=np.float32)
    w = (rng.standard_normal((o, c, k, k), dtype=np.float32) / np.sqrt(c * k * k)).astype(np.float32)
    b = rng.standard_normal(o, dtype=np.float32)
    g = rng.standard_normal((n, o, size, size), dtype=np.float32)
    if variant == "numpy":
        return conv_layer_step, [(x, w, b, g)]
    if variant == "minigrad":
        import minigrad
        import minigrad.nn.functional as F

        ts = [minigrad.tensor(a, requires_grad=True) for a in (x, w, b)]

        def fn(x, w, b, g):
            x.grad = w.grad = b.grad = None
            F.conv2d(x, w, b, padding=k // 2).backward(g)
        return fn, [(*ts, minigrad.tensor(g))]
    import torch

    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]

    def fn(x, w, b, g):
        x.grad = w.grad = b.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=k // 2).backward(g)
    return fn, [(*ts, torch.from_numpy(g))]


def bench_grid(grid, repeats: int, chunk: float, variants):
    rows = []
    for n, c, o, size, k in grid:
        result = interleaved({v: conv_layer_runner(v, n, c, o, size, k) for v in variants}, repeats, chunk)
        rows.append({"batch": n, "in": c, "out": o, "size": size, "kernel": k, **result})
    return rows


# -- memory --------------------------------------------------------------------------------

def memory_child(variant: str, batch: int, steps: int) -> dict:
    """Peak tracemalloc of ``steps`` LeNet-5 steps in this (fresh) process, batches made before."""
    import tracemalloc

    with common.threads(1):
        warm, warm_data = build_lenet(variant, lenet_params(), lenet_batches(2, 1))
        for _ in range(2):  # lazy library set-up lands before the baseline
            warm(*warm_data[0])
        del warm, warm_data
        params, batches = lenet_params(), lenet_batches(batch, 2)
        tracemalloc.start()
        step, data = build_lenet(variant, params, batches)
        for i in range(steps):
            step(*data[i % len(data)])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return {"traced_peak_mib": peak / 2**20}


def bench_memory(batch: int, steps: int):
    out = {}
    for v in ("numpy", "minigrad"):  # torch allocates where tracemalloc cannot see
        done = subprocess.run([sys.executable, "-m", "benchmarks.conv", "--child", v, str(batch), str(steps)],
                              capture_output=True, text=True, check=True)
        out[v] = json.loads(done.stdout.strip().splitlines()[-1])["traced_peak_mib"]
    out["minigrad/numpy"] = out["minigrad"] / out["numpy"]
    # the im2col buffers of the two convolutions, float32
    out["cols_mib"] = {"conv1": batch * 28 * 28 * 25 * 4 / 2**20, "conv2": batch * 10 * 10 * 150 * 4 / 2**20}
    return out


# -- report --------------------------------------------------------------------------------

def _table(head, rows):
    return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] +
                     ["| " + " | ".join(r) + " |" for r in rows])


def format_report(result) -> str:
    variants, lenet = result["variants"], result["lenet"]
    others = [v for v in variants if v != "minigrad"]

    def cells(r, unit):
        return [f"{r['per_s'][v]:,.{unit}f}" for v in variants] + \
            [f"{r['ratios'][f'minigrad/{v}']:.2f} ({r['cpu_ratios'][f'minigrad/{v}']:.2f})" for v in others]

    parts = [f"LeNet-5 training step, batch {lenet['batch']}, 1 thread (steps/s; ratios wall (CPU)):",
             _table([f"{v} steps/s" for v in variants] + [f"minigrad/{v}" for v in others], [cells(lenet, 1)]),
             "", "one conv layer, forward + backward, stride 1, 'same' padding, 1 thread (calls/s):",
             _table(["batch", "in", "out", "size", "kernel"] + [f"{v}/s" for v in variants] +
                    [f"minigrad/{v}" for v in others],
                    [[str(r[k]) for k in ("batch", "in", "out", "size", "kernel")] + cells(r, 0)
                     for r in result["grid"]])]
    if "memory" in result:
        m = result["memory"]
        parts += ["", f"peak memory of {result['memory_steps']} LeNet-5 steps at batch {lenet['batch']} "
                  f"(tracemalloc): numpy {m['numpy']:.1f} MiB, minigrad {m['minigrad']:.1f} MiB, "
                  f"minigrad/numpy {m['minigrad/numpy']:.2f}; im2col buffers {m['cols_mib']['conv1']:.1f} + "
                  f"{m['cols_mib']['conv2']:.1f} MiB"]
    return "\n".join(parts)


def main(argv=None):
    parser = common.arg_parser(__doc__, "conv")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "BATCH", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory part")
    args = common.parse_args(parser, argv)
    if args.child:
        v, b, s = args.child
        print(json.dumps(memory_child(v, int(b), int(s))))
        return None
    plan = QUICK if args.quick else FULL
    variants = common.available_variants()
    info = common.machine_info()
    print(common.describe(info))
    with common.threads(1):
        result = {"variants": variants, "repeats": plan["repeats"], "chunk_s": plan["chunk"],
                  "lenet": bench_lenet(plan["batch"], plan["repeats"], plan["chunk"], variants),
                  "grid": bench_grid(plan["grid"], plan["repeats"], plan["chunk"], variants)}
    if not args.no_memory:
        result["memory"], result["memory_steps"] = bench_memory(plan["batch"], plan["memory_steps"]), \
            plan["memory_steps"]
    print()
    print(format_report(result))
    result["machine"] = info
    if args.json:
        common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()

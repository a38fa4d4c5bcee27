"""Microseconds per op on tiny arrays: what the framework adds to each NumPy call.

    python -m benchmarks.ops_overhead [--quick] [--json PATH]

On a 4x4 float32 array the arithmetic is nothing, so the time is the framework's: building a
Tensor, recording the graph, and in backward walking it and accumulating gradients. Columns:
the bare NumPy call; the op with inputs that require a gradient (forward, graph recorded); and
forward plus ``backward(gradient=ones)``. Timed at one thread, interleaved, median of rounds.
"""
from __future__ import annotations

import statistics
import timeit

import numpy as np

from . import common

SHAPE = (4, 4)


def _cases():
    """name -> (numpy call, minigrad factory, torch factory); each factory(inputs) -> forward()."""
    import minigrad
    import minigrad.nn.functional as F

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(SHAPE).astype(np.float32) for _ in range(2))
    bias = rng.standard_normal(SHAPE[1]).astype(np.float32)
    labels = rng.integers(0, SHAPE[1], SHAPE[0])
    cases = {
        "add": (lambda: a + b, lambda x, y, v: x + y, lambda x, y, v: x + y),
        "mul": (lambda: a * b, lambda x, y, v: x * y, lambda x, y, v: x * y),
        "matmul": (lambda: a @ b, lambda x, y, v: x @ y, lambda x, y, v: x @ y),
        "relu": (lambda: np.maximum(a, 0), lambda x, y, v: x.relu(), lambda x, y, v: x.relu()),
        "sum": (lambda: a.sum(), lambda x, y, v: x.sum(), lambda x, y, v: x.sum()),
        "linear": (lambda: a @ b + bias, lambda x, y, v: F.linear(x, y, v), None),
        "cross_entropy": (None, lambda x, y, v: F.cross_entropy(x, minigrad.tensor(labels)), None),
    }
    mg = [minigrad.tensor(t, requires_grad=True) for t in (a, b, bias)]
    torch = common.torch_or_none()
    tt = None
    if torch is not None:
        tt = [torch.tensor(t, requires_grad=True) for t in (a, b, bias)]
        tl = torch.tensor(labels)
        cases["linear"] = cases["linear"][:2] + (lambda x, y, v: torch.nn.functional.linear(x, y.T, v),)
        cases["cross_entropy"] = cases["cross_entropy"][:2] + (
            lambda x, y, v: torch.nn.functional.cross_entropy(x, tl),)
    # cross_entropy's labels are made once, outside the timing
    mg_labels = minigrad.tensor(labels)
    cases["cross_entropy"] = (cases["cross_entropy"][0], lambda x, y, v: F.cross_entropy(x, mg_labels),
                              cases["cross_entropy"][2])
    return cases, mg, tt


def _timer(fn, number):
    return timeit.timeit(fn, number=number) / number * 1e6


def _with_backward(fwd, inputs, ones):
    def run():
        out = fwd(*inputs)
        out.backward(ones(out))
    return run


def measure(rounds: int, number: int):
    import minigrad

    torch = common.torch_or_none()
    cases, mg, tt = _cases()
    rows = []
    for name, (np_call, mg_fwd, torch_fwd) in cases.items():
        fns = {}
        if np_call is not None:
            fns["numpy"] = np_call
        fns["minigrad"] = lambda f=mg_fwd: f(*mg)
        fns["minigrad fwd+bwd"] = _with_backward(mg_fwd, mg, lambda out: minigrad.ones_like(out))
        if torch is not None and torch_fwd is not None:
            fns["torch"] = lambda f=torch_fwd: f(*tt)
            fns["torch fwd+bwd"] = _with_backward(torch_fwd, tt, lambda out: torch.ones_like(out))
        times = {k: [] for k in fns}
        for _ in range(rounds):
            for k, f in fns.items():
                times[k].append(_timer(f, number))
        rows.append({"op": name, "us": {k: statistics.median(v) for k, v in times.items()}})
    return rows


def format_table(rows) -> str:
    cols = ["numpy", "minigrad", "minigrad fwd+bwd", "torch", "torch fwd+bwd"]
    lines = [f"microseconds per op on {SHAPE[0]}x{SHAPE[1]} float32, 1 thread (inputs require grad)",
             "| op | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for r in rows:
        lines.append(f"| {r['op']} | " + " | ".join(f"{r['us'][c]:.1f}" if c in r["us"] else "-" for c in cols) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = common.arg_parser(__doc__, "ops_overhead")
    args = common.parse_args(parser, argv)
    with common.threads(1):
        rows = measure(rounds=2 if args.quick else 9, number=200 if args.quick else 2000)
    print(format_table(rows))
    if args.json:
        common.write_json(args.json, {"shape": SHAPE, "rows": rows, "machine": common.machine_info()})
    return rows


if __name__ == "__main__":
    main()

"""Attention forward + backward: minigrad's fused op, the same attention from primitive ops, PyTorch.

    python -m benchmarks.attention [--quick] [--repeats N] [--json PATH]

At nanoGPT's CPU sizes (batch 12, 4 heads, 64 tokens, 32 features per head, float32), one
call is ``scaled_dot_product_attention(q, k, v, is_causal=...)`` followed by ``backward`` of
a fixed upstream gradient, with the inputs' gradients cleared first (as ``zero_grad`` would).
Variants: ``fused`` (``F.scaled_dot_product_attention``, one op with its backward written out),
``primitives`` (``minigrad.models.attention_from_primitives``, six ops the engine chains) and
``torch`` (``torch.nn.functional.scaled_dot_product_attention``, when installed). One thread,
interleaved: in every round each variant runs one chunk of about ``--chunk`` seconds, in an
order that rotates between rounds. Reported: median calls per second over rounds (wall clock;
CPU time alongside) and each ratio as the median over rounds of the ratio within a round.
Before timing, the variants' outputs and gradients must agree.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from . import common

SHAPE = dict(batch=12, heads=4, tokens=64, head_dim=32)
FULL = dict(repeats=7, chunk=0.3)
QUICK = dict(repeats=2, chunk=0.02)


def _host_inputs(seed=0):
    rng = np.random.default_rng(seed)
    b, h, t, d = SHAPE["batch"], SHAPE["heads"], SHAPE["tokens"], SHAPE["head_dim"]
    return [rng.standard_normal((b, h, t, d)).astype(np.float32) for _ in range(4)]  # q, k, v, upstream


def build(variant: str, causal: bool):
    """(call, tensors): ``call()`` runs forward + backward and returns the output; ``tensors``
    are q, k, v, whose ``.grad`` it fills."""
    q, k, v, g = _host_inputs()
    if variant == "torch":
        import torch

        tensors = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
        upstream = torch.tensor(g)
        attend = torch.nn.functional.scaled_dot_product_attention
    else:
        import minigrad
        import minigrad.nn.functional as F
        from minigrad.models import attention_from_primitives

        tensors = [minigrad.tensor(a, requires_grad=True) for a in (q, k, v)]
        upstream = minigrad.tensor(g)
        attend = F.scaled_dot_product_attention if variant == "fused" else attention_from_primitives

    def call():
        for t in tensors:
            t.grad = None
        out = attend(*tensors, is_causal=causal)
        out.backward(upstream)
        return out

    return call, tensors


def _host(t):
    return t.detach().numpy() if hasattr(t, "detach") else t.numpy()


def check_same_results(variants, causal, rtol=1e-4, atol=1e-5):
    """Every variant's output and gradients against the fused op's (float32: to 1e-4)."""
    results = {}
    for v in variants:
        call, tensors = build(v, causal)
        results[v] = [_host(call())] + [_host(t.grad) for t in tensors]
    worst = 0.0
    for v in variants:
        for a, b in zip(results[v], results["fused"]):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"{v} differs from fused")
            worst = max(worst, float(np.max(np.abs(a - b))))
    return worst


def _run(call, k: int):
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(k):
        call()
    return time.perf_counter() - t0, time.process_time() - c0


def bench(causal: bool, variants, repeats: int, chunk: float):
    worst = check_same_results(variants, causal)
    calls, counts = {}, {}
    for v in variants:
        call, _ = build(v, causal)
        _run(call, 3)  # warm up
        counts[v] = max(3, int(chunk / max(_run(call, 5)[0] / 5, 1e-7)))
        calls[v] = call
    rates = {v: [] for v in variants}
    cpu_rates = {v: [] for v in variants}
    for r in range(repeats):
        for v in variants[r % len(variants):] + variants[:r % len(variants)]:
            wall, cpu = _run(calls[v], counts[v])
            rates[v].append(counts[v] / wall)
            cpu_rates[v].append(counts[v] / max(cpu, 1e-9))
    pairs = [(a, b) for a in variants for b in variants if a != b and a != "torch" and
             (a, b) in {("fused", "primitives"), ("fused", "torch"), ("primitives", "torch")}]
    return {"causal": causal, "calls_per_chunk": counts, "max_abs_diff_vs_fused": worst,
            "ms": {v: 1e3 / statistics.median(rates[v]) for v in variants},
            "cpu_ms": {v: 1e3 / statistics.median(cpu_rates[v]) for v in variants},
            "ratios": {f"{a}/{b}": statistics.median(x / y for x, y in zip(rates[a], rates[b])) for a, b in pairs},
            "cpu_ratios": {f"{a}/{b}": statistics.median(x / y for x, y in zip(cpu_rates[a], cpu_rates[b]))
                           for a, b in pairs},
            "rounds": rates}


def format_table(rows, variants) -> str:
    ratio_names = list(rows[0]["ratios"])
    head = ["mask"] + [f"{v} ms" for v in variants] + [f"speed {r}" for r in ratio_names]
    lines = [f"forward + backward, q/k/v ({SHAPE['batch']}, {SHAPE['heads']}, {SHAPE['tokens']}, "
             f"{SHAPE['head_dim']}) float32, 1 thread; median ms per call (CPU ms); speed ratios: "
             "median of per-round ratios of calls/s (CPU time)",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = ["causal" if r["causal"] else "none"]
        cells += [f"{r['ms'][v]:.2f} ({r['cpu_ms'][v]:.2f})" for v in variants]
        cells += [f"{r['ratios'][n]:.2f} ({r['cpu_ratios'][n]:.2f})" for n in ratio_names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = common.arg_parser(__doc__, "attention")
    parser.add_argument("--repeats", type=int, help="rounds per case (default 7)")
    parser.add_argument("--chunk", type=float, help="seconds per variant per round (default 0.3)")
    args = common.parse_args(parser, argv)
    settings = dict(QUICK if args.quick else FULL)
    settings.update({k: getattr(args, k) for k in ("repeats", "chunk") if getattr(args, k) is not None})
    variants = ["fused", "primitives"] + (["torch"] if common.torch_or_none() is not None else [])
    info = common.machine_info()
    print(common.describe(info))
    with common.threads(1):
        rows = [bench(causal, variants, **settings) for causal in (True, False)]
    print(format_table(rows, variants))
    if args.json:
        common.write_json(args.json, {"shape": SHAPE, "variants": variants, **settings, "rows": rows, "machine": info})
    return rows


if __name__ == "__main__":
    main()

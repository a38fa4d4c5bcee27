"""Steps per second of the article's MLP: minigrad against hand-written NumPy and PyTorch.

    python -m benchmarks.train_step [--quick] [--repeats N] [--json PATH]

For each (batch, hidden) and each thread count, the variants run in rounds: in every round each
variant runs one timed chunk of about ``--chunk`` seconds, in an order that rotates from round
to round, so a burst of load from elsewhere on the machine hits all of them alike. Reported:
the median steps per second over the rounds, and each ratio as the median over rounds of the
ratio within a round (the two chunks of a pair ran seconds apart). Before timing, a few steps
from the same weights on the same batches check that the variants compute the same losses.
"""
from __future__ import annotations

import statistics
import time

from . import common

FULL = dict(configs=[(1, 100), (64, 100), (512, 100), (1, 1024), (64, 1024), (512, 1024)],
            thread_counts=(1, 2), repeats=7, chunk=0.2)
QUICK = dict(configs=[(1, 100), (64, 100)], thread_counts=(1,), repeats=2, chunk=0.02)


def check_same_losses(weights, batches, variants, steps: int = 5, rtol: float = 1e-4):
    """Train each variant ``steps`` steps from the same start; their losses must agree."""
    losses = {}
    for v in variants:
        step, data = common.build(v, weights, batches)
        losses[v] = [common.loss_value(step(*data[i % len(data)])) for i in range(steps)]
    ref = losses["numpy"]
    worst = max(abs(a - b) / max(abs(b), 1e-6) for v in variants for a, b in zip(losses[v], ref))
    if worst > rtol:
        raise AssertionError(f"the variants do not compute the same thing: losses {losses}")
    return losses, worst


def _run(step, data, k: int):
    """Seconds for ``k`` steps: (wall clock, CPU time of this process)."""
    nb = len(data)
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(k):
        step(*data[i % nb])
    return time.perf_counter() - t0, time.process_time() - c0


def bench_config(batch: int, hidden: int, variants, repeats: int, chunk: float):
    weights = common.make_weights(hidden)
    batches = common.make_batches(batch, max(4, min(64, 4096 // batch)))
    losses, worst = check_same_losses(weights, batches, variants)
    runners, steps = {}, {}
    for v in variants:
        step, data = common.build(v, weights, batches)
        _run(step, data, 3)  # warm up: first calls allocate, fill caches, start thread pools
        per_step = max(_run(step, data, 5)[0] / 5, 1e-7)
        runners[v], steps[v] = (step, data), max(3, int(chunk / per_step))
    rates = {v: [] for v in variants}
    cpu_rates = {v: [] for v in variants}
    for r in range(repeats):
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        for v in order:
            wall, cpu = _run(*runners[v], steps[v])
            rates[v].append(steps[v] / wall)
            cpu_rates[v].append(steps[v] / max(cpu, 1e-9))
    result = {"batch": batch, "hidden": hidden, "steps_per_chunk": steps,
              "steps_per_s": {v: statistics.median(rates[v]) for v in variants},
              "steps_per_cpu_s": {v: statistics.median(cpu_rates[v]) for v in variants},
              "rounds": rates, "cpu_rounds": cpu_rates, "loss_check": {"losses": losses, "max_rel_diff": worst}}
    result["ratios"] = _paired_ratios(rates, variants)
    result["cpu_ratios"] = _paired_ratios(cpu_rates, variants)
    return result


def _paired_ratios(rates, variants):
    return {f"minigrad/{v}": statistics.median(m / o for m, o in zip(rates["minigrad"], rates[v]))
            for v in variants if v != "minigrad"}


def run(configs, thread_counts, repeats, chunk, variants=None):
    variants = list(variants or common.available_variants())
    tables = {}
    for n in thread_counts:
        with common.threads(n):
            tables[str(n)] = [bench_config(b, h, variants, repeats, chunk) for b, h in configs]
    return {"variants": variants, "repeats": repeats, "chunk_s": chunk, "tables": tables}


def format_table(rows, variants, threads: int) -> str:
    head = ["batch", "hidden"] + [f"{v} steps/s" for v in variants] + \
           [f"minigrad/{v}" for v in variants if v != "minigrad"]
    body = [[str(r["batch"]), str(r["hidden"])] + [f"{r['steps_per_s'][v]:,.0f}" for v in variants]
            + [f"{r['ratios'][f'minigrad/{v}']:.2f}" for v in variants if v != "minigrad"] for r in rows]
    lines = [f"{threads} thread{'s' if threads > 1 else ''} (median steps/s over rounds; ratios: "
             "median of per-round ratios)", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def main(argv=None):
    parser = common.arg_parser(__doc__, "train_step")
    parser.add_argument("--repeats", type=int, help="rounds per configuration (default 7)")
    parser.add_argument("--chunk", type=float, help="seconds per timed chunk (default 0.2)")
    parser.add_argument("--configs", help="batch x hidden pairs, e.g. 1x100,64x100 (default: all six)")
    parser.add_argument("--threads", help="thread counts, e.g. 1,2 (default)")
    parser.add_argument("--variants", help="a subset of numpy,minigrad,torch (numpy and minigrad are needed)")
    args = common.parse_args(parser, argv)
    plan = dict(QUICK if args.quick else FULL)
    if args.configs:
        plan["configs"] = [tuple(int(n) for n in c.split("x")) for c in args.configs.split(",")]
    if args.threads:
        plan["thread_counts"] = tuple(int(n) for n in args.threads.split(","))
    if args.variants:
        plan["variants"] = [v for v in common.available_variants() if v in args.variants.split(",")]
    if args.repeats:
        plan["repeats"] = args.repeats
    if args.chunk:
        plan["chunk"] = args.chunk
    info = common.machine_info()
    print(common.describe(info))
    result = run(**plan)
    for n, rows in result["tables"].items():
        print()
        print(format_table(rows, result["variants"], int(n)))
    result["machine"] = info
    if args.json:
        common.write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()

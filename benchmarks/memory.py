"""Peak memory of a training run, each variant in a fresh process.

    python -m benchmarks.memory [--quick] [--json PATH]

Each variant runs in its own subprocess, so one's allocations and allocator caches cannot
hide another's. Two measures:

- ``traced``: the peak of ``tracemalloc`` from just before the model is built to the end of
  training (the batches, already in each library's form, are made before). NumPy reports its array buffers to tracemalloc, so for NumPy and minigrad this is
  the weights, the gradients, the activations and every temporary, and nothing else. torch
  allocates outside Python's tracing, so it has no figure here.
- ``rss``: the process's peak resident set during training (Linux's VmHWM, its counter reset
  just before the model is built) minus the resident set at that moment (after imports, data,
  and a few steps of a tiny model that set up the libraries' lazy buffers). Coarser (pages,
  allocator caches), but it sees torch too. Linux only; elsewhere it is left out.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from . import common

FULL = dict(configs=[(64, 100), (512, 1024)], steps=20)
QUICK = dict(configs=[(64, 100)], steps=3)


def rss_mib(field: str = "VmRSS"):
    """The process's resident set (or its peak, VmHWM) from /proc, in MiB; None elsewhere."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter (Linux: write 5 to clear_refs), so VmHWM is ours."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(variant: str, batch: int, hidden: int, steps: int) -> dict:
    """Train ``steps`` steps in this process and return its peaks (run in a fresh process)."""
    import tracemalloc

    with common.threads(1):
        # a few steps of a tiny model first, so that lazy library set-up (BLAS buffers, torch's
        # kernels) lands before the baseline and is not counted as this model's memory
        warm, warm_data = common.build(variant, common.make_weights(8), common.make_batches(2, 1))
        for _ in range(3):
            warm(*warm_data[0])
        del warm, warm_data
        data = common.convert_batches(variant, common.make_batches(batch, 4))
        weights = common.make_weights(hidden)
        can_reset = reset_peak_rss()
        base_rss = rss_mib()
        tracemalloc.start()
        step = common.build_step(variant, weights)
        for i in range(steps):
            step(*data[i % len(data)])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_rss = rss_mib("VmHWM")
    rss = peak_rss - base_rss if can_reset and peak_rss is not None and base_rss is not None else None
    return {"traced_peak_mib": None if variant == "torch" else peak / 2**20, "rss_peak_mib": rss}


def measure(configs, steps):
    rows = []
    for batch, hidden in configs:
        row = {"batch": batch, "hidden": hidden, "steps": steps}
        for v in common.available_variants():
            out = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--child", v, str(batch), str(hidden),
                                  str(steps)], capture_output=True, text=True, check=True)
            row[v] = json.loads(out.stdout.strip().splitlines()[-1])
        np_traced = row["numpy"]["traced_peak_mib"]
        row["minigrad/numpy traced"] = row["minigrad"]["traced_peak_mib"] / np_traced
        rows.append(row)
    return rows


def format_table(rows) -> str:
    variants = [v for v in common.VARIANTS if v in rows[0]]
    head = ["batch", "hidden"] + [f"{v} traced MiB" for v in variants if v != "torch"] + \
           [f"{v} RSS MiB" for v in variants] + ["minigrad/numpy (traced)"]
    lines = ["peak memory of a training run (traced: tracemalloc peak, NumPy buffers included; "
             "RSS: peak resident set above the pre-model one)",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [str(r["batch"]), str(r["hidden"])] + [f"{r[v]['traced_peak_mib']:.1f}" for v in variants if v != "torch"]
        cells += ["-" if r[v]["rss_peak_mib"] is None else f"{r[v]['rss_peak_mib']:.1f}" for v in variants] + [f"{r['minigrad/numpy traced']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = common.arg_parser(__doc__, "memory")
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "BATCH", "HIDDEN", "STEPS"), help=argparse.SUPPRESS)
    args = common.parse_args(parser, argv)
    if args.child:
        v, b, h, s = args.child
        print(json.dumps(child(v, int(b), int(h), int(s))))
        return None
    plan = QUICK if args.quick else FULL
    rows = measure(**plan)
    print(format_table(rows))
    if args.json:
        common.write_json(args.json, {"rows": rows, "machine": common.machine_info()})
    return rows


if __name__ == "__main__":
    main()

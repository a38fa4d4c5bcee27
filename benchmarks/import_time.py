"""Seconds for ``import minigrad`` in a fresh interpreter, beside NumPy's and torch's.

    python -m benchmarks.import_time [--quick] [--json PATH]

Each import runs in a new process (a second import in the same one is free); the median of
several runs is reported. ``minigrad`` includes NumPy's import, which it needs.
"""
from __future__ import annotations

import statistics
import subprocess
import sys

from . import common

CODE = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"


def seconds(module: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CODE.format(mod=module)], capture_output=True, text=True,
                             check=True)
        times.append(float(out.stdout))
    return statistics.median(times)


def measure(runs: int) -> dict:
    modules = ["numpy", "minigrad"] + (["torch"] if common.torch_or_none() is not None else [])
    return {m: seconds(m, runs) for m in modules}


def main(argv=None):
    parser = common.arg_parser(__doc__, "import_time")
    args = common.parse_args(parser, argv)
    result = measure(runs=2 if args.quick else 7)
    print("import time, fresh process, median: " + ", ".join(f"{m} {s:.3f} s" for m, s in result.items()))
    if args.json:
        common.write_json(args.json, {"seconds": result})
    return result


if __name__ == "__main__":
    main()

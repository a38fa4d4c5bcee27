"""Throughput of data-parallel training on this machine, and what the all-reduce costs.

    python benchmarks/distributed.py                 # runs every configuration, prints a table
    mpiexec -n 2 python benchmarks/distributed.py --worker mlp --threads 1   # one configuration

For the article's MLP (784-100-10) and a wide one (784-4096-4096-10), float32, SGD with
momentum, per-rank batch 32 of synthetic MNIST-shaped data, it times each training step in four
parts on every rank:

- compute:   forward + backward on this rank's batch, without the sync inside backward
- sync:      the gradient averaging that backward's last parameter hook runs
             (``synchronize_gradients()``, timed by wrapping it): packing, the all-reduce,
             unpacking, and any wait for a slower rank (on a shared machine, mostly that wait)
- step:      optimizer.step()
- all-reduce alone: after a barrier, one all-reduce of a buffer the size of all gradients;
             the pure cost of moving and adding the bytes.

Configurations: 1 rank with 1 BLAS thread, 1 rank with 2 BLAS threads (the other way to use
two cores), 2 ranks with 1 BLAS thread each. Figures are medians over the timed steps, then
over ``--repeat`` runs; other developers share these 2 cores, so they are noisy: compare them,
do not quote them to 3 digits. Then a table of what the all-reduce would need to stay under
10% of a step on more ranks over a network (see ``scaling``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

MODELS = {"mlp": (784, 100, 10), "wide": (784, 4096, 4096, 10)}
STEPS = {"mlp": (30, 300), "wide": (3, 20)}  # (warm-up, timed)
BATCH = 32


def worker(name: str, batch: int) -> None:
    import numpy

    import minigrad
    from minigrad import distributed as dist
    from minigrad import nn, optim

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes = MODELS[name]
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    minigrad.manual_seed(0)
    model = dist.DistributedDataParallel(nn.Sequential(*layers[:-1]))
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = numpy.random.default_rng(rank)
    x = minigrad.tensor(rng.random((batch, sizes[0]), dtype=numpy.float32))
    y = minigrad.tensor(rng.integers(0, sizes[-1], batch))
    warmup, timed = STEPS[name]
    parts = {"compute": [], "sync": [], "step": [], "total": []}
    synced = []  # seconds spent in the sync that backward's last hook runs
    sync = model.synchronize_gradients

    def timed_sync():
        t = time.perf_counter()
        sync()
        synced.append(time.perf_counter() - t)

    model.synchronize_gradients = timed_sync  # the hook calls it through the instance
    dist.barrier()
    for i in range(warmup + timed):
        synced.clear()
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()  # averages the gradients before it returns
        t1 = time.perf_counter()
        optimizer.step()
        t2 = time.perf_counter()
        assert len(synced) == 1, f"backward ran {len(synced)} syncs, expected 1"
        if i >= warmup:
            for k, v in zip(parts, (t1 - t0 - synced[0], synced[0], t2 - t1, t2 - t0)):
                parts[k].append(v)
    n_params = sum(p.data.size for p in model.parameters())
    grad_bytes = sum(p.data.nbytes for p in model.parameters())
    flat = numpy.ones(n_params, dtype=numpy.float32)
    alone = []
    for _ in range(max(5, timed // 4)):
        dist.barrier()
        t0 = time.perf_counter()
        dist.all_reduce(flat)
        alone.append(time.perf_counter() - t0)
    medians = {k: statistics.median(v) for k, v in parts.items()}
    medians["all_reduce_alone"] = statistics.median(alone)
    everyone = dist.all_gather_object(medians)
    if rank == 0:
        # a step ends when the slowest rank's step ends
        result = {k: max(m[k] for m in everyone) for k in medians}
        result.update(model=name, ranks=world, threads=int(os.environ.get("OPENBLAS_NUM_THREADS", 0)),
                      batch_per_rank=batch, params=n_params, grad_bytes=grad_bytes,
                      buckets=len(model._buckets) if world > 1 else 0, timed_steps=timed)
        print(json.dumps(result), flush=True)


def mpiexec() -> str:
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit('benchmarks/distributed.py: no mpiexec; pip install "minigrad-course[distributed]"')
    return found


def run(name: str, ranks: int, threads: int, batch: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                         os.environ.get("PYTHONPATH")])))
    out = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker", name,
                          "--batch", str(batch)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _num(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def table(results: list[dict]) -> str:
    rows = ["| model | ranks x BLAS threads | steps/s (range over runs) | samples/s | compute ms | sync ms "
            "| sync share | all-reduce alone ms (share) | optimizer ms |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        low, high = r.get("steps_per_s_range", (1 / r["total"],) * 2)
        rows.append(
            f"| {r['model']} ({r['params'] / 1e6:.2f} M params, {r['grad_bytes'] / 2**20:.1f} MiB) "
            f"| {r['ranks']} x {r['threads']} | {_num(1 / r['total'])} ({_num(low)}-{_num(high)}) "
            f"| {r['ranks'] * r['batch_per_rank'] / r['total']:.0f} "
            f"| {1e3 * r['compute']:.2f} | {1e3 * r['sync']:.2f} | {r['sync'] / r['total']:.0%} "
            f"| {1e3 * r['all_reduce_alone']:.2f} ({r['all_reduce_alone'] / r['total']:.0%}) | {1e3 * r['step']:.2f} |")
    return "\n".join(rows)


LATENCY_S = 5e-6  # per message between machines (MPI over InfiniBand: 1-5 us; Ethernet/TCP: 20-50 us)


def scaling(results: list[dict], share: float = 0.10) -> str:
    """The bandwidth that keeps a ring all-reduce under ``share`` of the step, from the 1-rank timings.

    Ring all-reduce of S bytes over R ranks: each rank sends (and receives) 2 (R-1)/R * S bytes
    in 2 (R-1) messages, so t = 2 (R-1) * latency + 2 (R-1)/R * S / bandwidth. The step is the
    1-rank compute + optimizer time t_c (the per-rank batch stays the same, so it does not
    change with R) plus t; t <= share * (t_c + t) means t <= t_c * share / (1 - share).
    """
    rows = ["| model | gradient bytes S | step without sync t_c | ranks R | bytes sent per rank per step "
            "| bandwidth for all-reduce <= 10% of step |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        if r["ranks"] != 1 or r["threads"] != 1:
            continue
        t_c = r["compute"] + r["step"]
        budget = t_c * share / (1 - share)
        for ranks in (2, 8, 64, 1024):
            sent = 2 * (ranks - 1) / ranks * r["grad_bytes"]
            left = budget - 2 * (ranks - 1) * LATENCY_S
            need = f"{sent / left / 1e9:.1f} GB/s ({8 * sent / left / 1e9:.0f} Gbit/s)" if left > 0 else \
                "none: the latency alone is over budget"
            rows.append(f"| {r['model']} | {r['grad_bytes'] / 1e6:.2f} MB | {1e3 * t_c:.2f} ms | {ranks} "
                        f"| {sent / 1e6:.2f} MB | {need} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=list(MODELS), help="run one configuration (under mpiexec)")
    parser.add_argument("--batch", type=int, default=BATCH, help="per-rank batch size")
    parser.add_argument("--repeat", type=int, default=3,
                        help="run every configuration this many times, interleaved; report the median")
    parser.add_argument("--json", help="also write the raw results here")
    parser.add_argument("--from-json", help="print the tables of results saved with --json, run nothing")
    args = parser.parse_args()
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())["median"]
        print(table(results) + "\n\n" + scaling(results))
        return
    if args.worker:
        return worker(args.worker, args.batch)
    configs = [(name, ranks, threads) for name in MODELS for ranks, threads in ((1, 1), (1, 2), (2, 1))]
    runs = {c: [] for c in configs}
    for i in range(args.repeat):
        for c in configs:
            runs[c].append(run(*c, args.batch))
            print(f"done {i + 1}/{args.repeat}: {c[0]} {c[1]} rank(s) x {c[2]} thread(s)", file=sys.stderr, flush=True)
    results = []
    for c in configs:
        merged = dict(runs[c][0])
        for k in ("compute", "sync", "step", "total", "all_reduce_alone"):
            merged[k] = statistics.median(r[k] for r in runs[c])
        merged["steps_per_s_range"] = (min(1 / r["total"] for r in runs[c]), max(1 / r["total"] for r in runs[c]))
        results.append(merged)
    print(table(results))
    print()
    print(scaling(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"median": results, "runs": [r for c in configs for r in runs[c]]}, indent=1))


if __name__ == "__main__":
    main()

"""Throughput of data-parallel training on this machine, and what the all-reduce costs.

    python benchmarks/distributed.py                 # runs every configuration, prints a table
    mpiexec -n 2 python benchmarks/distributed.py --worker mlp --threads 1   # one configuration

For the article's MLP (784-100-10) and a wide one (784-4096-4096-10), float32, SGD with
momentum, per-rank batch 32 of synthetic MNIST-shaped data, it times each training step in four
parts on every rank:

- compute:   forward + backward on this rank's batch
- sync:      model.synchronize_gradients(): packing, the all-reduce, unpacking, and any wait for
             a slower rank (on a shared machine, mostly that wait)
- step:      optimizer.step()
- all-reduce alone: after a barrier, one all-reduce of a buffer the size of all gradients;
             the pure cost of moving and adding the bytes.

Configurations: 1 rank with 1 BLAS thread, 1 rank with 2 BLAS threads (the other way to use
two cores), 2 ranks with 1 BLAS thread each. Figures are medians over the timed steps; other
developers share these 2 cores, so they are noisy: compare them, do not quote them to 3 digits.
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
    dist.barrier()
    for i in range(warmup + timed):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        t1 = time.perf_counter()
        model.synchronize_gradients()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if i >= warmup:
            for k, v in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
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
        sys.exit('benchmarks/distributed.py: no mpiexec; pip install "minigrad[distributed]"')
    return found


def run(name: str, ranks: int, threads: int, batch: int) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                         os.environ.get("PYTHONPATH")])))
    out = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker", name,
                          "--batch", str(batch)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    rows = ["| model | ranks x BLAS threads | steps/s | samples/s | compute ms | sync ms | "
            "sync share | all-reduce alone ms | optimizer ms |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        rows.append(
            f"| {r['model']} ({r['params'] / 1e6:.2f} M params, {r['grad_bytes'] / 2**20:.1f} MiB) "
            f"| {r['ranks']} x {r['threads']} | {1 / r['total']:.1f} | {r['ranks'] * r['batch_per_rank'] / r['total']:.0f} "
            f"| {1e3 * r['compute']:.2f} | {1e3 * r['sync']:.2f} | {r['sync'] / r['total']:.0%} "
            f"| {1e3 * r['all_reduce_alone']:.2f} | {1e3 * r['step']:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", choices=list(MODELS), help="run one configuration (under mpiexec)")
    parser.add_argument("--batch", type=int, default=BATCH, help="per-rank batch size")
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.batch)
    results = []
    for name in MODELS:
        for ranks, threads in ((1, 1), (1, 2), (2, 1)):
            results.append(run(name, ranks, threads, args.batch))
            print(f"done: {name} {ranks} rank(s) x {threads} thread(s)", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

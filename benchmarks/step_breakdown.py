"""Where minigrad's extra time in the article's step goes: the ops' own array code, or the framework.

    python -m benchmarks.step_breakdown [--quick]

Three steps of the 784-100-10 MLP run interleaved at one thread, CPU time per step:

- **numpy**: the hand-written step (``numpy_reference.py``);
- **ops only**: minigrad's own ``Linear``, ``ReLU`` and ``SoftmaxCrossEntropy`` forward and
  backward, called directly on arrays in the step's order, and the SGD update: every array
  operation minigrad does, with no Tensor, module, input check or graph walk;
- **minigrad**: the step as a user writes it (``common.training_step``).

``ops only - numpy`` is what the ops' array code costs beyond the hand-written lines;
``minigrad - ops only`` is the framework around them. A second measure shows why that framework
costs more inside a batch-64 step than at batch 1: the same small step (4x4 arrays, so nearly all
Python) timed alone, and right after copying 1.5 MB, about the memory a batch-64 step streams
through its matrix products and update, which pushes the interpreter's code and objects out of
the core's caches.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from . import common


def ops_only_step(weights, lr: float = common.LR):
    """The article's step from minigrad's ops called directly on arrays (see the module docstring)."""
    from minigrad.autograd import Context
    from minigrad.ops.activations import ReLU
    from minigrad.ops.linear import Linear
    from minigrad.ops.losses import SoftmaxCrossEntropy

    params = [np.array(a, dtype=np.float32) for a in weights]
    w1, b1, w2, b2 = params

    def ctx(*needs):
        c = Context()
        c.needs_input_grad = list(needs)
        return c

    def step(x, y):
        c1, cr, c2, cl = ctx(False, True, True), ctx(True), ctx(True, True, True), ctx(True, False, False)
        loss = np.asarray(SoftmaxCrossEntropy.forward(cl, Linear.forward(c2, ReLU.forward(cr, Linear.forward(
            c1, x, w1, b1)), w2, b2), y, "mean"))
        g2 = SoftmaxCrossEntropy.backward(cl, np.ones_like(loss))[0]
        g1, dw2, db2 = Linear.backward(c2, g2)
        _, dw1, db1 = Linear.backward(c1, ReLU.backward(cr, g1))
        for p, g in zip(params, (dw1, db1, dw2, db2)):
            p -= lr * g
        return loss

    return step


def _cpu_per_step(step, data, k):
    c = time.process_time()
    for i in range(k):
        step(*data[i % len(data)])
    return (time.process_time() - c) / k * 1e6


def decomposition(batch: int = 64, hidden: int = 100, rounds: int = 9, steps: int = 1000):
    """Median CPU microseconds per step of numpy, ops only and minigrad, interleaved in rounds."""
    weights, batches = common.make_weights(hidden), common.make_batches(batch, 64)
    runners = {"numpy": common.build("numpy", weights, batches),
               "ops only": (ops_only_step(weights), batches),
               "minigrad": common.build("minigrad", weights, batches)}
    losses = [float(step(*data[0])) for step, data in runners.values()]
    assert max(losses) - min(losses) < 1e-4 * abs(losses[0]), losses  # the same computation
    names, times = list(runners), {v: [] for v in runners}
    for v in names:
        _cpu_per_step(*runners[v], max(steps // 5, 1))
    for r in range(rounds):
        for v in names[r % 3:] + names[:r % 3]:
            times[v].append(_cpu_per_step(*runners[v], steps))
    return {v: statistics.median(t) for v, t in times.items()}


def after_traffic(rounds: int = 7, steps: int = 2000, nbytes: int = 1_500_000):
    """Median CPU microseconds of a minigrad step on 4x4 arrays, alone and after copying ``nbytes``."""
    import minigrad
    from minigrad import nn, optim

    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4))
    step = common.training_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0))
    x, y = minigrad.tensor(np.ones((2, 4), np.float32)), minigrad.tensor(np.array([0, 3]))
    src = np.ones(nbytes, np.uint8)
    dst = np.empty_like(src)

    def timed(copy_first):
        total = 0.0
        for _ in range(steps):
            if copy_first:
                dst[...] = src
            c = time.process_time()
            step(x, y)
            total += time.process_time() - c
        return total / steps * 1e6

    alone, after = [], []
    for _ in range(rounds):
        alone.append(timed(False))
        after.append(timed(True))
    return {"alone": statistics.median(alone), "after copying": statistics.median(after)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: proves it runs, measures little")
    args = parser.parse_args(argv)
    rounds, steps = (3, 20) if args.quick else (9, 1000)
    print(common.describe(common.machine_info()))
    with common.threads(1):
        for batch in (1, 64):
            t = decomposition(batch, rounds=rounds, steps=steps * (4 if batch == 1 else 1))
            print(f"batch {batch}: numpy {t['numpy']:.1f} us, ops only {t['ops only']:.1f} us, minigrad "
                  f"{t['minigrad']:.1f} us per step (CPU time); the ops' array code "
                  f"{t['ops only'] - t['numpy']:+.1f} us, the framework {t['minigrad'] - t['ops only']:+.1f} us")
        t = after_traffic(rounds=rounds, steps=steps * 2)
        print(f"minigrad step on 4x4 arrays: {t['alone']:.1f} us alone, {t['after copying']:.1f} us right after "
              "copying 1.5 MB")


if __name__ == "__main__":
    main()

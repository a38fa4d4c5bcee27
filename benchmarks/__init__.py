"""Benchmarks of minigrad against hand-written NumPy and PyTorch (run from the repository root).

    python -m benchmarks.train_step        steps per second of the article's MLP, side by side
    python -m benchmarks.ops_overhead      microseconds per op on tiny arrays, forward and backward
    python -m benchmarks.memory            peak memory of a training run, each variant in its own process

    python -m benchmarks                   all of the above, and import time (--quick: seconds)

``numpy_reference`` holds the floor: the same training step written by hand in NumPy.
``gpu.py`` and ``distributed.py`` are scripts, run by path (see their docstrings).
"""

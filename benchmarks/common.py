"""What the benchmarks share: the model's data and weights, the three variants, thread limits.

Every variant trains the article's MLP (784-H-10, ReLU, softmax cross-entropy with a mean over
the batch, SGD) in float32 from the same initial weights on the same batches. Each gets its
batches already in its own form (NumPy arrays, minigrad Tensors, torch tensors), made before
any timing, so what is timed is the training step itself.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys

import numpy as np

from .numpy_reference import NumpyMLP

N_IN, N_OUT = 784, 10
LR = 0.05
VARIANTS = ("numpy", "minigrad", "torch")


def make_batches(batch: int, n_batches: int, seed: int = 0):
    """``n_batches`` batches of MNIST-shaped data: x (batch, 784) float32 in [0, 1), y (batch,) int64."""
    rng = np.random.default_rng(seed)
    x = rng.random((batch * n_batches, N_IN), dtype=np.float32)
    y = rng.integers(0, N_OUT, size=batch * n_batches, dtype=np.int64)
    return [(x[i * batch:(i + 1) * batch].copy(), y[i * batch:(i + 1) * batch].copy()) for i in range(n_batches)]


def make_weights(hidden: int, seed: int = 1):
    """W1 (784, H), b1 (H,), W2 (H, 10), b2 (10,), uniform in +-1/sqrt(fan_in) as nn.Linear does."""
    rng = np.random.default_rng(seed)

    def uniform(fan_in, shape):
        bound = 1 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)

    return uniform(N_IN, (N_IN, hidden)), uniform(N_IN, (hidden,)), uniform(hidden, (hidden, N_OUT)), uniform(hidden, (N_OUT,))


def torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def available_variants():
    return [v for v in VARIANTS if v != "torch" or torch_or_none() is not None]


def build(variant: str, weights, batches, lr: float = LR):
    """(step, data): ``step(*data[i])`` runs one training step and returns the loss (0-d)."""
    return build_step(variant, weights, lr), convert_batches(variant, batches)


def convert_batches(variant: str, batches):
    """The batches as the variant's user would hold them: arrays, minigrad Tensors, torch tensors."""
    if variant == "minigrad":
        import minigrad

        return [(minigrad.tensor(x), minigrad.tensor(y)) for x, y in batches]
    if variant == "torch":
        import torch

        return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]
    return batches


def build_step(variant: str, weights, lr: float = LR):
    """A fresh model from ``weights`` and its training step ``step(x, y) -> loss``."""
    return {"numpy": _build_numpy, "minigrad": _build_minigrad, "torch": _build_torch}[variant](weights, lr)


def _build_numpy(weights, lr):
    return NumpyMLP(*weights, lr=lr).step


def _build_minigrad(weights, lr):
    from minigrad import nn, optim

    w1, b1, w2, b2 = weights
    model = nn.Sequential(nn.Linear(N_IN, w1.shape[1]), nn.ReLU(), nn.Linear(w1.shape[1], N_OUT))
    model.load_state_dict({"0.weight": w1, "0.bias": b1, "2.weight": w2, "2.bias": b2})
    return training_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr))


def _build_torch(weights, lr):
    import torch
    from torch import nn

    w1, b1, w2, b2 = weights
    model = nn.Sequential(nn.Linear(N_IN, w1.shape[1]), nn.ReLU(), nn.Linear(w1.shape[1], N_OUT))
    with torch.no_grad():  # torch stores weights (out, in)
        for layer, w, b in ((model[0], w1, b1), (model[2], w2, b2)):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    return training_step(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=lr))


def training_step(model, loss_fn, opt):
    """``step(x, y)``: one training step of ``model`` (minigrad or torch, the same code), returning the loss."""
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def loss_value(loss) -> float:
    return float(loss.item() if hasattr(loss, "item") else loss)


@contextlib.contextmanager
def threads(n: int):
    """Limit BLAS and OpenMP pools (threadpoolctl, when installed) and torch's to ``n`` threads."""
    torch = torch_or_none()
    before = torch.get_num_threads() if torch is not None else None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=n)
    with limits:
        if torch is not None:
            torch.set_num_threads(n)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(before)


def machine_info() -> dict:
    """Versions, CPU, BLAS and its kernel, and the environment variables that change them."""
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                            "OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ},
    }
    torch = torch_or_none()
    info["torch"] = torch.__version__ if torch is not None else None
    try:
        import threadpoolctl

        info["threadpoolctl"] = threadpoolctl.__version__
        info["pools"] = [{k: p.get(k) for k in ("internal_api", "prefix", "version", "architecture", "num_threads")}
                         for p in threadpoolctl.threadpool_info()]
    except ImportError:
        info["threadpoolctl"] = None
    import minigrad

    info["minigrad"] = minigrad.__version__
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe(info: dict) -> str:
    blas = [f"{p['internal_api']} {p['version']} ({p['architecture']} kernels)" for p in info.get("pools", [])
            if p.get("architecture")]
    lines = [f"machine: {info['cpu']}, {info['cores']} cores; {info['platform']}",
             f"python {info['python']}, numpy {info['numpy']}, minigrad {info['minigrad']}, torch {info['torch']}, "
             f"threadpoolctl {info['threadpoolctl']}",
             "BLAS: " + ("; ".join(blas) if blas else "unknown (install threadpoolctl to see the kernel)")]
    if info["threadpoolctl"] is None:
        lines.append("warning: threadpoolctl is not installed (pip install \"minigrad-course[bench]\"), so the BLAS "
                     "thread count is not limited: the 1-thread table limits only torch")
    if info["env"]:
        lines.append("environment: " + ", ".join(f"{k}={v}" for k, v in info["env"].items()))
    if "OPENBLAS_CORETYPE" in info["env"]:
        lines.append("note: OPENBLAS_CORETYPE forces an older BLAS kernel; for the figures run with "
                     "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks`")
    return "\n".join(lines)


def write_json(path: str, payload: dict) -> None:
    import json

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)


def arg_parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The options every benchmark shares: --quick, and --json (default results/NAME.json)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: proves it runs, measures little")
    parser.add_argument("--json", metavar="PATH.json",
                        help=f"where to write the results (default benchmarks/results/{name}.json; "
                        "a --quick run writes nothing unless given this)")
    parser.set_defaults(results_name=name)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.json is not None and not args.json.endswith(".json"):
        # `--json none` once wrote a file named "none" at the root: only a .json path is taken
        parser.error(f"--json expects a path ending in .json, got {args.json!r}; "
                     "leave --json out of a --quick run to write nothing")
    if args.json is None:  # a quick run must not overwrite the recorded figures
        args.json = "" if args.quick else f"benchmarks/results/{args.results_name}.json"
    return args

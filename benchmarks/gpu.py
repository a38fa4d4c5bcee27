"""The GPU check in one run: the test suite under CuPy, the training command, and speed.

1. ``python -m pytest -q`` with CuPy and a GPU present, so every ``device`` test runs its
   'cuda' case (the GPU results must match the CPU's; see tests/test_devices.py).
2. ``python -m minigrad train --device cuda`` for one epoch on the bundled MNIST sample, then
   ``evaluate --device cpu`` of the checkpoint it wrote (a GPU checkpoint read on the CPU);
   skipped if this checkout has no ``minigrad/cli.py``.
3. Training steps per second of a float32 MLP, minigrad on CuPy against PyTorch on the same GPU
   in the same process: the article's 784-100-10 at batch 64, and 784-4096-4096-10 at batch
   4096. Each step is forward, cross-entropy, zero_grad, backward and SGD with momentum on one
   batch already on the device. The two frameworks alternate, round by round, after a
   warm-up; the GPU is synchronised before the clock starts and before it stops; the table
   gives the median of the rounds. Matrix products run in plain float32 on both sides (no
   TF32: CuPy's default, and PyTorch is told so).

On a GPU machine (at most --budget seconds, 540 by default, which fits a 10-minute slot):
    python benchmarks/gpu.py --out gpu.json
Without a GPU, the same code on the CPU, small, to see that it runs:
    python benchmarks/gpu.py --device cpu --quick
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # this checkout's minigrad, not an installed one

import minigrad  # noqa: E402
from minigrad import nn, optim  # noqa: E402

CONFIGS = {"article": ((784, 100, 10), 64), "large": ((784, 4096, 4096, 10), 4096)}
QUICK_CONFIGS = {"article": ((784, 100, 10), 64), "large-quick": ((784, 512, 512, 10), 256)}


def run_command(args, timeout, env=None):
    """Run a command from the repository root; return its exit code, time and last lines."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        output = e.stdout or ""
        code, output = "timeout", output.decode(errors="replace") if isinstance(output, bytes) else output
    seconds = round(time.perf_counter() - start, 1)
    tail = output.strip().splitlines()[-15:]
    print(f"$ {' '.join(args)}\n  exit {code} after {seconds:.0f} s\n  " + "\n  ".join(tail), flush=True)
    return {"command": " ".join(args), "exit": code, "seconds": seconds, "tail": tail}


def run_tests(timeout):
    return run_command([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"], timeout)


def run_cli(device, timeout):
    if not os.path.exists(os.path.join(ROOT, "minigrad", "cli.py")):
        print("no minigrad/cli.py in this checkout: training command skipped", flush=True)
        return {"skipped": "no minigrad/cli.py in this checkout"}
    out = tempfile.mkdtemp(prefix="minigrad-gpu-")
    train = run_command([sys.executable, "-m", "minigrad", "train", "--device", device, "--epochs", "1",
                         "--no-progress", "--out", out], timeout)
    evaluate = run_command([sys.executable, "-m", "minigrad", "evaluate", "--device", "cpu",
                            "--checkpoint", os.path.join(out, "checkpoint.npz")], timeout)
    return {"train": train, "evaluate_on_cpu": evaluate}


# -- the two training steps ----------------------------------------------------------------

def minigrad_step(sizes, batch, device):
    minigrad.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [nn.Linear(n_in, n_out)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    model = nn.Sequential(*layers).to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = minigrad.randn(batch, sizes[0], device=device)
    y = minigrad.randint(0, sizes[-1], batch, device=device)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, (minigrad.cuda.synchronize if device != "cpu" else lambda: None)


def torch_step(sizes, batch, device):
    import torch

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers += [torch.nn.Linear(n_in, n_out)] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, sizes[0], device=device)
    y = torch.randint(0, sizes[-1], (batch,), device=device)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, (torch.cuda.synchronize if device != "cpu" else lambda: None)


def steps_per_second(step, sync, n):
    sync()
    start = time.perf_counter()
    for _ in range(n):
        loss = step()
    sync()
    return n / (time.perf_counter() - start), loss


def benchmark(name, sizes, batch, device, rounds, round_seconds, warmup):
    """Interleaved rounds of minigrad and PyTorch; returns the medians and every round."""
    frameworks = {"minigrad": minigrad_step(sizes, batch, device)}
    try:
        frameworks["pytorch"] = torch_step(sizes, batch, device)
    except Exception as e:  # noqa: BLE001 - no PyTorch (or none with CUDA): minigrad alone
        print(f"PyTorch unavailable ({e}); timing minigrad alone", flush=True)
    steps = {}
    for fw, (step, sync) in frameworks.items():
        steps_per_second(step, sync, warmup)  # CuPy compiles its kernels here, cuBLAS warms up
        rate, _ = steps_per_second(step, sync, 3)
        steps[fw] = max(3, int(rate * round_seconds))
    rates = {fw: [] for fw in frameworks}
    losses = {}
    for r in range(rounds):
        order = list(frameworks) if r % 2 == 0 else list(reversed(frameworks))
        for fw in order:
            step, sync = frameworks[fw]
            rate, loss = steps_per_second(step, sync, steps[fw])
            rates[fw].append(rate)
            losses[fw] = float(loss.detach())  # once per round, outside the clock
    result = {"config": name, "sizes": list(sizes), "batch": batch, "steps_per_round": steps,
              "rounds": rates, "median_steps_per_s": {fw: statistics.median(v) for fw, v in rates.items()},
              "final_loss": losses}
    med = result["median_steps_per_s"]
    result["minigrad_over_pytorch"] = med["minigrad"] / med["pytorch"] if "pytorch" in med else None
    return result


def environment(device):
    env = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "python": platform.python_version(), "machine": platform.machine(), "device": device,
           "minigrad": minigrad.__version__, "numpy": __import__("numpy").__version__}
    try:
        import torch

        env["torch"] = torch.__version__
        if device != "cpu":
            env["torch_sees_gpu"] = torch.cuda.is_available()
    except ImportError:
        env["torch"] = None
    if device != "cpu":
        import cupy

        env["cupy"] = cupy.__version__
        env["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
        env["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return env


def print_table(results):
    print(f"\n{'config (sizes, batch)':<40} {'minigrad steps/s':>17} {'PyTorch steps/s':>16} {'minigrad/PyTorch':>17}")
    for r in results:
        med = r["median_steps_per_s"]
        torch_rate = f"{med['pytorch']:.1f}" if "pytorch" in med else "-"
        ratio = f"{r['minigrad_over_pytorch']:.3f}" if r["minigrad_over_pytorch"] else "-"
        label = f"{r['config']} ({'-'.join(map(str, r['sizes']))}, {r['batch']})"
        print(f"{label:<40} {med['minigrad']:>17.1f} {torch_rate:>16} {ratio:>17}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    p.add_argument("--quick", action="store_true", help="small sizes and short rounds (a smoke run)")
    p.add_argument("--skip-tests", action="store_true", help="do not run the test suite")
    p.add_argument("--skip-cli", action="store_true", help="do not run the training command")
    p.add_argument("--rounds", type=int, default=None, help="timed rounds per framework (default 7, quick 3)")
    p.add_argument("--out", default="gpu-benchmark.json", help="where the JSON goes")
    p.add_argument("--budget", type=float, default=540,
                   help="seconds for the whole run: the tests and the training command get what the "
                        "timing (about 2 minutes) leaves (default 540)")
    args = p.parse_args(argv)
    start = time.monotonic()

    def seconds_left(reserve):
        return max(20, int(args.budget - (time.monotonic() - start) - reserve))

    if args.device != "cpu" and not minigrad.cuda.is_available():
        minigrad.tensor([0.0], device=args.device)  # raises, saying whether CuPy or the GPU is missing
    rounds = args.rounds or (3 if args.quick else 7)
    report = {"environment": environment(args.device)}
    print(json.dumps(report["environment"]), flush=True)
    if not args.skip_tests:
        report["tests"] = run_tests(timeout=min(330, seconds_left(120 + 150)))
    if not args.skip_cli:
        report["training_command"] = run_cli(args.device, timeout=min(120, seconds_left(120) // 2))
    configs = QUICK_CONFIGS if args.quick else CONFIGS
    report["benchmarks"] = [benchmark(name, sizes, batch, args.device, rounds,
                                      round_seconds=0.2 if args.quick else 1.0, warmup=3 if args.quick else 10)
                            for name, (sizes, batch) in configs.items()]
    print_table(report["benchmarks"])
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {args.out}")
    failed = [k for k in ("tests",) if k in report and report[k]["exit"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

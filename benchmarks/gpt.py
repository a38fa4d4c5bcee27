"""The GPT of minigrad/models/gpt.py: minigrad against PyTorch running the very same file.

    python -m benchmarks.gpt [--quick] [--json PATH]
        the training step of nanoGPT's CPU configuration, one thread: speed (interleaved),
        peak memory (each framework in a fresh process) and where minigrad's time goes
    python -m benchmarks.gpt --train {minigrad,torch} [--threads N] [--max-iters N] [--json PATH]
        nanoGPT's CPU recipe end to end (2,000 steps: minutes), the losses it reaches and its time

PyTorch runs ``minigrad/models/gpt.py`` itself with its three import lines swapped for
PyTorch's (``torch_gpt``), from the weights minigrad initialised (``copy_weights``: minigrad's
``nn.Linear`` stores its weight as (in, out), PyTorch's as (out, in)), on the same batches
(``minigrad.gpt_cli.get_batch`` from the same NumPy seed), with the same recipe
(``minigrad.gpt_cli.training_step``). The two runs of ``--train`` are separate processes, so
that both can run at once, each on one core, and see the same load from the rest of the
machine; the figures are in docs/benchmarks.md and docs/gpt.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

from . import common
from .memory import reset_peak_rss, rss_mib

ROOT = Path(__file__).resolve().parents[1]
GPT_FILE = ROOT / "minigrad" / "models" / "gpt.py"
IMPORTS = {"import minigrad as torch ": "import torch ",
           "from minigrad import nn ": "from torch import nn ",
           "from minigrad.nn import functional as F ": "from torch.nn import functional as F "}
REFERENCE = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, bias=False)
TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, dropout=0.0, bias=False)
FULL = dict(repeats=7, chunk=1.0, profile_steps=10, memory_steps=5)
QUICK = dict(repeats=2, chunk=0.05, profile_steps=2, memory_steps=2)


# --- the same model file on both frameworks -------------------------------------------------

def torch_gpt():
    """minigrad/models/gpt.py run with PyTorch's imports: a module with GPT and GPTConfig."""
    source = GPT_FILE.read_text()
    for ours, theirs in IMPORTS.items():
        if source.count(ours) != 1:
            raise RuntimeError(f"{GPT_FILE}: expected the import line {ours.strip()!r} once")
        source = source.replace(ours, theirs)
    module = types.ModuleType("gpt_on_torch")
    module.__file__ = str(GPT_FILE)
    # dont_inherit: this file's `from __future__ import annotations` must not reach the model
    exec(compile(source, f"{GPT_FILE} (imports swapped for torch)", "exec", dont_inherit=True), module.__dict__)
    return module


def linear_weights(model) -> set:
    """Names of the ``nn.Linear`` weights of a minigrad model: transposed from PyTorch's."""
    from minigrad import nn

    return {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Linear)}


def copy_weights(model, torch_model) -> None:
    """Every parameter of the minigrad ``model`` into ``torch_model``, transposing the Linears'."""
    import torch

    ours, transposed = dict(model.named_parameters()), linear_weights(model)
    with torch.no_grad():
        for name, p in torch_model.named_parameters():
            a = ours[name].detach().numpy()
            p.copy_(torch.from_numpy(np.ascontiguousarray(a.T if name in transposed else a)))


def build(framework: str, config: dict, seed: int = 0, vocab_size: int = 65):
    """(framework module, model, optimizer) for nanoGPT's recipe, from minigrad's init under ``seed``."""
    import minigrad
    from minigrad.models.gpt import GPT, GPTConfig
    from minigrad.gpt_cli import DEFAULTS

    minigrad.manual_seed(seed)
    model = GPT(GPTConfig(vocab_size=vocab_size, **config))
    fw = minigrad
    if framework == "torch":
        import torch

        gpt = torch_gpt()
        torch_model = gpt.GPT(gpt.GPTConfig(vocab_size=vocab_size, **config))
        copy_weights(model, torch_model)
        model, fw = torch_model, torch
    optimizer = model.configure_optimizers(DEFAULTS["weight_decay"], DEFAULTS["lr"],
                                           (DEFAULTS["beta1"], DEFAULTS["beta2"]))
    return fw, model, optimizer


def step_function(framework: str, config: dict, batches):
    """``step(i)``: one training step on batch ``i % len(batches)``; returns the loss as a float."""
    from minigrad.gpt_cli import DEFAULTS, to_tensors, training_step

    fw, model, optimizer = build(framework, config)
    data = [to_tensors(fw, "cpu", x, y) for x, y in batches]

    def step(i):
        x, y = data[i % len(data)]
        return training_step(model, optimizer, x, y, DEFAULTS["lr"], DEFAULTS["grad_clip"], fw).item()

    return step, model, optimizer


def make_batches(config: dict, n: int, seed: int = 0):
    from minigrad.datasets import TinyShakespeare
    from minigrad.gpt_cli import DEFAULTS, get_batch

    rng = np.random.default_rng(seed)
    data = TinyShakespeare().train_data
    return [get_batch(data, config["block_size"], DEFAULTS["batch_size"], rng) for _ in range(n)]


# --- the training step: speed, memory, profile ------------------------------------------------

def bench_step(config: dict, variants, repeats: int, chunk: float):
    """Interleaved rounds: each variant runs about ``chunk`` seconds of steps per round, in an
    order that rotates; the steps' losses must agree first (same weights, same batches)."""
    batches = make_batches(config, 8)
    check = {v: [step_function(v, config, batches)[0](i) for i in range(3)] for v in variants}
    worst = max(abs(a - b) for v in variants for a, b in zip(check[v], check["minigrad"]))
    if worst > 1e-4:
        raise AssertionError(f"minigrad and PyTorch do not compute the same steps: {check}")
    steps, counts, i = {}, {}, 0
    for v in variants:
        steps[v] = step_function(v, config, batches)[0]
        for _ in range(2):
            steps[v](0)
        t0 = time.perf_counter()
        steps[v](1)
        counts[v] = max(2, int(chunk / max(time.perf_counter() - t0, 1e-6)))
    wall, cpu = {v: [] for v in variants}, {v: [] for v in variants}
    for r in range(repeats):
        for v in variants[r % len(variants):] + variants[:r % len(variants)]:
            c0, t0 = time.process_time(), time.perf_counter()
            for _ in range(counts[v]):
                steps[v](i)
                i += 1
            wall[v].append((time.perf_counter() - t0) / counts[v])
            cpu[v].append((time.process_time() - c0) / counts[v])
    result = {"steps_per_chunk": counts, "loss_check": check, "max_loss_diff": worst,
              "ms": {v: 1e3 * statistics.median(wall[v]) for v in variants},
              "cpu_ms": {v: 1e3 * statistics.median(cpu[v]) for v in variants},
              "rounds_ms": {v: [1e3 * s for s in wall[v]] for v in variants}}
    if "torch" in variants:  # speed of minigrad relative to PyTorch: above 1 means faster
        result["minigrad/torch"] = statistics.median(t / m for m, t in zip(wall["minigrad"], wall["torch"]))
        result["minigrad/torch cpu"] = statistics.median(t / m for m, t in zip(cpu["minigrad"], cpu["torch"]))
    return result


def memory_child(framework: str, config: dict, steps: int) -> dict:
    """Peak memory of building the model and training it ``steps`` steps, in this process (a
    fresh one): the resident set's peak above the resident set just before the model was built
    (after the imports and the batches; Linux), and for minigrad also the peak of what NumPy
    allocated from then on (tracemalloc): weights, gradients, AdamW's two moments, and the
    activations and temporaries of a step. PyTorch allocates outside tracemalloc's view."""
    import tracemalloc

    with common.threads(1):
        batches = make_batches(config, 4)
        warm = step_function(framework, TINY, make_batches(TINY, 2))[0]
        for i in range(3):  # the libraries' lazy set-up (kernels, pools), before the baseline
            warm(i)
        del warm
        base = rss_mib() if reset_peak_rss() else None
        tracemalloc.start()
        step, model, optimizer = step_function(framework, config, batches)
        for i in range(steps):
            step(i)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_rss = rss_mib("VmHWM")
    return {"rss_peak_above_start_mib": None if base is None or peak_rss is None else peak_rss - base,
            "traced_peak_mib": peak / 2**20 if framework == "minigrad" else None}


def measure_memory(config: dict, variants, steps: int) -> dict:
    out = {}
    for v in variants:
        done = subprocess.run([sys.executable, "-m", "benchmarks.gpt", "--memory-child", v, json.dumps(config),
                               str(steps)], capture_output=True, text=True, check=True, cwd=ROOT)
        out[v] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


FAMILIES = {  # minigrad's Function classes by what they are in the GPT
    "matrix products (nn.Linear, the head)": ("Linear", "MatMul"),
    "attention (fused op)": ("ScaledDotProductAttention",),
    "GELU": ("GELU",),
    "layer norm": ("LayerNorm",),
    "embeddings": ("Embedding",),
    "cross-entropy": ("SoftmaxCrossEntropy",),
    "split, view, transpose, contiguous": ("GetItem", "Reshape", "Transpose", "Clone", "Permute"),
    "residual adds": ("Add",),
}


def _function_classes():
    from minigrad.autograd import Function

    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.add(sub)
            stack.append(sub)
    return found


def profile_minigrad(config: dict, steps: int) -> dict:
    """CPU ms per step in each op family (forward and backward), in the optimizer, the gradient
    clipping, and the rest (the engine's bookkeeping and the model's Python), over ``steps``
    steps after two warm-up steps. Every op's forward and backward is wrapped in a timer for
    the measurement and unwrapped after."""
    import minigrad
    from minigrad.gpt_cli import DEFAULTS, to_tensors

    spent = {}
    originals = []
    for cls in _function_classes():
        for kind in ("forward", "backward"):
            if kind not in cls.__dict__:
                continue
            fn = cls.__dict__[kind].__func__ if isinstance(cls.__dict__[kind], staticmethod) else cls.__dict__[kind]

            def timed(ctx, *args, _fn=fn, _key=(cls.__name__, kind)):
                t0 = time.process_time()
                try:
                    return _fn(ctx, *args)
                finally:
                    spent[_key] = spent.get(_key, 0.0) + time.process_time() - t0

            originals.append((cls, kind, cls.__dict__[kind]))
            setattr(cls, kind, staticmethod(timed))
    try:
        fw, model, optimizer = build("minigrad", config)
        data = [to_tensors(fw, "cpu", x, y) for x, y in make_batches(config, 4)]
        parts = {"forward": 0.0, "backward": 0.0, "gradient clipping": 0.0, "optimizer (AdamW)": 0.0}
        with common.threads(1):
            for i in range(steps + 2):
                if i == 2:
                    spent.clear()
                    parts = dict.fromkeys(parts, 0.0)
                x, y = data[i % len(data)]
                t0 = time.process_time()
                _, loss = model(x, y)
                t1 = time.process_time()
                loss.backward()
                t2 = time.process_time()
                minigrad.nn.utils.clip_grad_norm_(model.parameters(), DEFAULTS["grad_clip"])
                t3 = time.process_time()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                t4 = time.process_time()
                for k, s in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    parts[k] += s
    finally:
        for cls, kind, original in originals:
            setattr(cls, kind, original)
    per_step = {k: 1e3 * v / steps for k, v in spent.items()}
    families = {}
    for family, names in FAMILIES.items():
        families[family] = sum(v for (name, _), v in per_step.items() if name in names)
    known = {n for names in FAMILIES.values() for n in names}
    families["other ops"] = sum(v for (name, _), v in per_step.items() if name not in known)
    ops_total = sum(per_step.values())
    families["engine and Python (graph, modules, calls)"] = 1e3 * (parts["forward"] + parts["backward"]) / steps - ops_total
    families["gradient clipping"] = 1e3 * parts["gradient clipping"] / steps
    families["optimizer (AdamW)"] = 1e3 * parts["optimizer (AdamW)"] / steps
    return {"families_ms": families, "total_ms": 1e3 * sum(parts.values()) / steps,
            "ops_ms": {f"{name}.{kind}": v for (name, kind), v in sorted(per_step.items(), key=lambda kv: -kv[1])}}


TORCH_FAMILIES = {  # PyTorch's kernels (aten:: names, forward and backward) by the same families
    "matrix products (nn.Linear, the head)": {"mm", "addmm", "bmm", "matmul", "linear"},
    "attention (fused op)": {"scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
                             "_scaled_dot_product_flash_attention_for_cpu_backward"},
    "GELU": {"gelu", "gelu_backward"},
    "layer norm": {"layer_norm", "native_layer_norm", "native_layer_norm_backward"},
    "embeddings": {"embedding", "embedding_backward", "embedding_dense_backward", "index_select"},
    "cross-entropy": {"cross_entropy_loss", "log_softmax", "_log_softmax", "_log_softmax_backward_data",
                      "nll_loss", "nll_loss_nd", "nll_loss_forward", "nll_loss_backward"},
    "split, view, transpose, contiguous": {"split", "split_with_sizes", "view", "transpose", "t", "clone", "copy_",
                                           "contiguous", "reshape", "_unsafe_view", "narrow", "slice", "cat",
                                           "as_strided", "expand", "permute", "unsqueeze", "squeeze", "select"},
    "residual adds": {"add"},
}


def profile_torch(config: dict, steps: int) -> dict:
    """PyTorch's self CPU time per step by the same families (torch.profiler), the optimizer and
    clipping in their own rows. The profiler slows PyTorch's small ops down (here the profiled
    step took twice as long as the timed one), so its shares, not its milliseconds, compare."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    from minigrad.gpt_cli import DEFAULTS, to_tensors

    fw, model, optimizer = build("torch", config)
    data = [to_tensors(fw, "cpu", x, y) for x, y in make_batches(config, 4)]
    with common.threads(1):
        for i in range(2):
            x, y = data[i]
            model(x, y)[1].backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for i in range(steps):
                x, y = data[i % len(data)]
                _, loss = model(x, y)
                loss.backward()
                with record_function("gradient clipping"):
                    torch.nn.utils.clip_grad_norm_(model.parameters(), DEFAULTS["grad_clip"])
                with record_function("optimizer (AdamW)"):
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
    ranges = ("gradient clipping", "optimizer (AdamW)")
    families = dict.fromkeys(list(TORCH_FAMILIES) + ["other ops", *ranges], 0.0)
    for e in prof.events():
        if e.name in ranges:  # the optimizer's and the clipping's ops count there, as a whole
            families[e.name] += e.cpu_time_total / 1e3 / steps
            continue
        parent = e.cpu_parent
        while parent is not None and parent.name not in ranges:
            parent = parent.cpu_parent
        if parent is None:
            if e.name.startswith(("autograd::", "torch::autograd")) or e.name.endswith("Backward0"):
                family = "engine and Python (graph, modules, calls)"
            else:
                name = e.name.removeprefix("aten::")
                family = next((f for f, names in TORCH_FAMILIES.items() if name in names), "other ops")
            families[family] = families.get(family, 0.0) + e.self_cpu_time_total / 1e3 / steps
    total = sum(families.values())
    return {"families_ms": families, "total_ms": total}


# --- nanoGPT's recipe end to end --------------------------------------------------------------

def train_run(framework: str, max_iters: int, threads: int, seed: int = 0, config: dict = REFERENCE,
              eval_interval: int = 250, eval_iters: int = 20, final_eval_batches: int = 200) -> dict:
    """nanoGPT's train_shakespeare_char CPU line on ``framework``: returns the losses at every
    evaluation (nanoGPT's estimate: ``eval_iters`` random batches per split), a final
    validation loss over ``final_eval_batches`` batches that are the same for both frameworks,
    and the wall and CPU time of the training (evaluations excluded)."""
    from minigrad.datasets import TinyShakespeare
    from minigrad.gpt_cli import DEFAULTS, estimate_loss, get_batch, nanogpt_lr, to_tensors, training_step

    corpus = TinyShakespeare()
    splits = {"train": corpus.train_data, "val": corpus.val_data}
    with common.threads(threads):
        fw, model, optimizer = build(framework, config, seed, corpus.vocab_size)
        batches, eval_batches = np.random.default_rng(seed), np.random.default_rng([seed, 1])
        evals, losses, wall, cpu = [], [], 0.0, 0.0
        load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
        for it in range(max_iters + 1):
            if it % eval_interval == 0 or it == max_iters:
                evals.append({"iter": it, **estimate_loss(model, splits, eval_iters, config["block_size"],
                                                          DEFAULTS["batch_size"], eval_batches, fw),
                              "wall_s": wall})
                print(f"{framework} step {it}: {evals[-1]}", file=sys.stderr, flush=True)
                if load:
                    load.append(os.getloadavg()[0])
            if it == max_iters:
                break
            x, y = to_tensors(fw, "cpu", *get_batch(corpus.train_data, config["block_size"],
                                                    DEFAULTS["batch_size"], batches))
            lr = nanogpt_lr(it, DEFAULTS["lr"], DEFAULTS["min_lr"], DEFAULTS["warmup_iters"], max_iters)
            c0, t0 = time.process_time(), time.perf_counter()
            losses.append(training_step(model, optimizer, x, y, lr, DEFAULTS["grad_clip"], fw).item())
            wall, cpu = wall + time.perf_counter() - t0, cpu + time.process_time() - c0
        final = estimate_loss(model, {"val": corpus.val_data}, final_eval_batches, config["block_size"],
                              DEFAULTS["batch_size"], np.random.default_rng(12345), fw)["val"]
    return {"framework": framework, "threads": threads, "max_iters": max_iters, "seed": seed, "config": config,
            "recipe": {k: DEFAULTS[k] for k in ("batch_size", "lr", "min_lr", "warmup_iters", "weight_decay",
                                                 "beta1", "beta2", "grad_clip")} | {"lr_decay_iters": max_iters},
            "evals": evals, "train_loss": losses, "final_val_loss_200_batches": final,
            "train_wall_s": wall, "train_cpu_s": cpu, "load_average_1min": load}


# --- reporting --------------------------------------------------------------------------------

def format_report(config, step, memory, profiles) -> str:
    lines = [f"training step: {config['n_layer']} layers, {config['n_head']} heads, {config['n_embd']} channels, "
             f"block {config['block_size']}, batch 12, float32, one thread",
             "| | " + " | ".join(step["ms"]) + " |", "|---|" + "---|" * len(step["ms"]),
             "| ms per step (CPU ms) | " + " | ".join(f"{step['ms'][v]:.1f} ({step['cpu_ms'][v]:.1f})"
                                                     for v in step["ms"]) + " |"]
    if "minigrad/torch" in step:
        lines.append(f"speed minigrad/torch: {step['minigrad/torch']:.2f} wall, {step['minigrad/torch cpu']:.2f} CPU")
    lines.append("peak memory: " + "; ".join(
        f"{v}: RSS +{m['rss_peak_above_start_mib']:.1f} MiB" + (f", NumPy's allocations {m['traced_peak_mib']:.1f} MiB"
                                                                if m["traced_peak_mib"] is not None else "")
        for v, m in memory.items() if m["rss_peak_above_start_mib"] is not None))
    names = list(profiles)
    lines += ["where the CPU time of a step goes: ms (share of the step); PyTorch's from its profiler, "
              "which slows it down: compare its shares",
              "| family | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for family in profiles[names[0]]["families_ms"]:
        cells = [f"{profiles[n]['families_ms'].get(family, 0.0):.1f} "
                 f"({profiles[n]['families_ms'].get(family, 0.0) / profiles[n]['total_ms']:.0%})" for n in names]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines.append("| total | " + " | ".join(f"{profiles[n]['total_ms']:.1f}" for n in names) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = common.arg_parser(__doc__, "gpt")
    parser.add_argument("--train", choices=["minigrad", "torch"], help="run nanoGPT's recipe on this framework")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads for --train (default 1)")
    parser.add_argument("--max-iters", type=int, default=2000, help="steps for --train (default 2000)")
    parser.add_argument("--seed", type=int, default=0,
                        help="for --train: initial weights and batches (default 0); another seed measures the noise")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = common.parse_args(parser, argv)
    if args.memory_child:
        v, config, steps = args.memory_child
        print(json.dumps(memory_child(v, json.loads(config), int(steps))))
        return None
    if args.train:
        if args.quick:
            result = train_run(args.train, 20, args.threads, config=TINY, eval_interval=10, eval_iters=2,
                               final_eval_batches=2)
        else:
            result = train_run(args.train, args.max_iters, args.threads, seed=args.seed)
        result["machine"] = common.machine_info()
        print(json.dumps({k: result[k] for k in ("framework", "final_val_loss_200_batches", "train_wall_s",
                                                 "train_cpu_s")} | {"last_eval": result["evals"][-1]}))
        if args.json or not args.quick:
            seed = f"_seed{args.seed}" if args.seed else ""
            common.write_json(args.json or f"benchmarks/results/gpt_train_{args.train}{seed}.json", result)
        return result
    settings = QUICK if args.quick else FULL
    config = TINY if args.quick else REFERENCE
    variants = ["minigrad"] + (["torch"] if common.torch_or_none() is not None else [])
    info = common.machine_info()
    print(common.describe(info))
    with common.threads(1):
        step = bench_step(config, variants, settings["repeats"], settings["chunk"])
    memory = measure_memory(config, variants, settings["memory_steps"])
    profiles = {"minigrad": profile_minigrad(config, settings["profile_steps"])}
    if "torch" in variants:
        profiles["torch"] = profile_torch(config, settings["profile_steps"])
    print(format_report(config, step, memory, profiles))
    payload = {"config": config, **settings, "step": step, "memory": memory, "profiles": profiles, "machine": info}
    if args.json:
        common.write_json(args.json, payload)
    return payload


if __name__ == "__main__":
    main()

"""``python -m minigrad prune | quantize | distill``: make a trained network smaller.

Each reads a checkpoint written by ``minigrad train`` (the 784-H-10 MLP, or ``--model lenet``
or ``resnet``) and prints the model before and after:
held-out accuracy, parameter count, checkpoint size on disk and the time to classify the
held-out set. The outputs go into ``--out``:

    prune      checkpoint.npz   the pruned network, dense (``minigrad evaluate`` reads it; with
                                --structured, MLP only, it is a smaller 784-H'-10 network)
               sparse.npz       unstructured: its weights as CSR (``load_sparse``)
    quantize   quantized.npz    int8 weights of the Linear and Conv2d layers, one scale per
                                output unit or channel (``load_quantized``)
    distill    checkpoint.npz   the student, a 784-N-10 MLP (``minigrad evaluate`` reads it),
                                taught by any of the three

and ``metrics.json`` with the figures printed. The recipes are Han et al. 2015 (prune by
magnitude, retrain at a lower learning rate, repeat), PyTorch's int8 quantisation and Hinton et
al. 2015 (soft targets at a temperature); docs/compression.md has the measured results.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import minigrad
from minigrad import nn, optim, quantization
from minigrad.cli import (build_model, load_checkpoint, load_dataset, model_input, model_name,
                          predict, rebuild_model, save_checkpoint, to_device)
from minigrad.cli_guards import CLIError, claim_out_dir, format_bytes, write_text_atomic
from minigrad.data import DataLoader
from minigrad.nn.utils import prune, sparsity

QUANTIZED_KIND, SPARSE_KIND = "minigrad.cli int8", "minigrad.cli csr"
NO_INSIST = SimpleNamespace(hidden=None, activation=None)  # rebuild_model: whatever the checkpoint holds


# --- measuring --------------------------------------------------------------------------

def measure(model, kind: str, test_set, device: str, path: Path | None = None) -> dict:
    """Accuracy on ``test_set``, parameters (all, and non-zero), bytes of ``path`` and the
    time to classify the whole set in batches of 1000: this process's CPU time (best of 3),
    which other programs running at the same time disturb less than the wall clock."""
    loader = DataLoader(test_set, batch_size=1000)
    predicted, true = predict(model, loader, device, kind)
    seconds = []
    for _ in range(3):
        start = time.process_time()
        predict(model, loader, device, kind)
        seconds.append(time.process_time() - start)
    # a quantised model holds its weights and biases as buffers
    arrays = list(sparsity.effective_parameters(model).values()) + \
        [b.data for name, b in model.named_buffers() if name.rsplit(".", 1)[-1] in ("weight", "bias")]
    return {"accuracy": float((predicted == true).mean()),
            "parameters": int(sum(a.size for a in arrays)),
            "nonzero": int(sum(int(np.count_nonzero(to_device_host(a))) for a in arrays)),
            "bytes": os.path.getsize(path) if path is not None else None,
            "ms_per_1000": 1000 * min(seconds) / len(test_set) * 1000}


def report(title: str, columns: dict, extra: dict | None = None) -> None:
    """One row per figure, one column per model."""
    names = list(columns)
    width = max(14, *(len(n) + 2 for n in names))
    print(title)
    print(f"{'':<24}" + "".join(f"{n:>{width}}" for n in names))
    rows = [("held-out accuracy", lambda m: f"{m['accuracy']:.2%}"),
            ("parameters", lambda m: f"{m['parameters']:,}"),
            ("  non-zero", lambda m: f"{m['nonzero']:,}"),
            ("checkpoint", lambda m: format_bytes(m["bytes"]) if m["bytes"] is not None else "-"),
            ("CPU ms per 1000 images", lambda m: f"{m['ms_per_1000']:.2f}")]
    for label, cell in rows:
        print(f"{label:<24}" + "".join(f"{cell(columns[n]):>{width}}" for n in names))
    for label, value in (extra or {}).items():
        print(f"{label:<24}{value}")


def to_device_host(a):
    return minigrad.tensor(a).to("cpu").numpy()


# --- training ---------------------------------------------------------------------------

def fit(model, kind: str, train_set, args, epochs: int, teacher=None, teacher_kind: str = "mlp") -> None:
    """SGD with momentum over ``train_set``; with a ``teacher``, on Hinton et al.'s loss (each
    network gets the images in its own form: flat for an MLP)."""
    if not epochs:
        return
    minigrad.manual_seed(args.seed)
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    cross_entropy = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(1, epochs + 1):
        for images, labels in loader:
            images, y = images.to(args.device), labels.to(args.device)
            logits = model(model_input(images, kind))
            if teacher is None:
                loss = cross_entropy(logits, y)
            else:
                with minigrad.no_grad():
                    soft = teacher(model_input(images, teacher_kind))
                loss = nn.distillation_loss(logits, soft, y, args.temperature, args.alpha)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not math.isfinite(loss.item()):
            raise CLIError(f"the loss became {loss.item()} in epoch {epoch}: training diverged; try a "
                           f"smaller --lr than {args.lr}")


def data_for(ckpt: dict, args, train: bool):
    dataset = args.dataset or ckpt["dataset"]
    data_dir = args.data_dir if args.data_dir is not None else (
        ckpt["data_dir"] if dataset == ckpt["dataset"] and ckpt["data_dir"] else None)
    return load_dataset(dataset, data_dir, args.download, train=train)


def checkpoint_args(ckpt: dict, kind: str, hidden: int) -> SimpleNamespace:
    """What ``cli.save_checkpoint`` records, for a ``kind`` network of ``hidden`` units."""
    return SimpleNamespace(model=kind, hidden=hidden, activation=ckpt["arch"]["activation"],
                           dataset=ckpt["dataset"], data_dir=ckpt["data_dir"] or None)


def load(path: str):
    """(checkpoint, model, kind) from a 'minigrad train' checkpoint."""
    ckpt = load_checkpoint(path)
    model, kind = rebuild_model(ckpt, path, NO_INSIST)
    return ckpt, model, kind


def prunable(model) -> list:
    """(module, 'weight') for every Linear and convolution: the weights Han et al. prune."""
    return [(m, "weight") for m in model.modules() if type(m) in (nn.Linear, nn.Conv1d, nn.Conv2d)]


def write_metrics(out: Path, metrics: dict) -> None:
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=1))


# --- prune ------------------------------------------------------------------------------

def prune_command(args) -> int:
    ckpt, model, kind = load(args.checkpoint)
    if args.structured and kind != "mlp":
        raise CLIError(f"--structured removes hidden units of the 784-H-10 MLP; {args.checkpoint} holds "
                       f"{model_name(kind, None)}: prune its weights without --structured")
    model = to_device(model, args.device)
    train_set, test_set = data_for(ckpt, args, True), data_for(ckpt, args, False)
    out = Path(args.out)
    with claim_out_dir(out):
        before = measure(model, kind, test_set, args.device, Path(args.checkpoint))
        keep_per_round = (1 - args.amount) ** (1 / args.rounds)
        for _ in range(args.rounds):
            if args.structured:  # whole hidden units: the output columns of the first layer
                prune.ln_structured(model[0], "weight", 1 - keep_per_round, n=2, dim=1)
            else:
                prune.global_unstructured(prunable(model), pruning_method=prune.L1Unstructured,
                                          amount=1 - keep_per_round)
            fit(model, kind, train_set, args, args.retrain_epochs)
        extra = {}
        if args.structured:
            model = sparsity.shrink(model)  # the dead units go: smaller dense matrices
        else:
            for layer, name in prunable(model):
                prune.remove(layer, name)
        hidden = model[0].out_features if kind == "mlp" else ckpt["arch"]["hidden"]
        save_checkpoint(out / "checkpoint.npz", model, checkpoint_args(ckpt, kind, hidden), ckpt["epoch"],
                        measure(model, kind, test_set, args.device)["accuracy"])
        after = measure(model, kind, test_set, args.device, out / "checkpoint.npz")
        if not args.structured:
            minigrad.save({"kind": SPARSE_KIND, "arch": dict(ckpt["arch"]),
                           "model": {k: {"csr": sparsity.to_csr(v.reshape(v.shape[0], -1)), "shape": list(v.shape)}
                                     if v.ndim >= 2 else v for k, v in model.state_dict().items()}},
                          str(out / "sparse.npz"))
            after["sparse_bytes"] = os.path.getsize(out / "sparse.npz")
            extra["sparse.npz (CSR)"] = f"{format_bytes(after['sparse_bytes'])}, " \
                                        f"{before['bytes'] / after['sparse_bytes']:.1f}x smaller than the dense file"
        how = "structured: hidden units" if args.structured else "unstructured: weights, by magnitude"
        report(f"{model_name(kind, ckpt['arch']['hidden'])} pruned {args.amount:.0%} ({how}) in {args.rounds} "
               f"round(s), {args.retrain_epochs} retraining epoch(s) each", {"before": before, "after": after}, extra)
        write_metrics(out, {"command": "prune", "model": kind, "amount": args.amount, "structured": args.structured,
                            "rounds": args.rounds, "retrain_epochs": args.retrain_epochs, "hidden": hidden,
                            "before": before, "after": after})
    print(f"wrote {out / 'checkpoint.npz'}" + ("" if args.structured else f", {out / 'sparse.npz'}"))
    return 0


def load_sparse(path) -> nn.Module:
    """The network in a ``sparse.npz`` written by ``minigrad prune``, dense again."""
    ckpt = _load_kind(path, SPARSE_KIND, "prune")
    state = {k: sparsity.from_csr(v["csr"]).reshape(tuple(v["shape"])) if isinstance(v, dict) else v
             for k, v in ckpt["model"].items()}
    arch = ckpt["arch"]
    model = build_model(arch["hidden"], arch["activation"], arch.get("model", "mlp"))
    model.load_state_dict(state)
    return model


# --- quantize ---------------------------------------------------------------------------

def quantize_command(args) -> int:
    ckpt, model, kind = load(args.checkpoint)
    model = to_device(model, args.device)
    test_set = data_for(ckpt, args, False)
    out = Path(args.out)
    with claim_out_dir(out):
        before = measure(model, kind, test_set, args.device, Path(args.checkpoint))
        if args.mode == "dynamic":
            qmodel = quantization.quantize_dynamic(model, {nn.Linear, nn.Conv2d}, dtype=quantization.qint8)
        else:
            model.qconfig = quantization.histogram_qconfig if args.observer == "histogram" \
                else quantization.default_qconfig
            prepared = quantization.prepare(model)
            train_set = data_for(ckpt, args, True)
            predict(prepared, DataLoader(train_set, batch_size=1000, sampler=range(
                min(args.calibration_size, len(train_set)))), args.device, kind)  # calibration: observe
            qmodel = quantization.convert(prepared)
        minigrad.save({"kind": QUANTIZED_KIND, "arch": dict(ckpt["arch"]), "mode": args.mode,
                       "dataset": ckpt["dataset"], "data_dir": ckpt["data_dir"],
                       "model": qmodel.state_dict()}, str(out / "quantized.npz"))
        after = measure(qmodel, kind, test_set, args.device, out / "quantized.npz")
        how = "dynamic (activation ranges per batch)" if args.mode == "dynamic" else \
            f"static ({args.observer} observer, {min(args.calibration_size, len(test_set))} calibration images)"
        report(f"{model_name(kind, ckpt['arch']['hidden'])}, int8 quantisation, {how}",
               {"float32": before, "int8": after}, {"size ratio": f"{before['bytes'] / after['bytes']:.2f}x smaller"})
        write_metrics(out, {"command": "quantize", "model": kind, "mode": args.mode, "observer": args.observer,
                            "before": before, "after": after})
    print(f"wrote {out / 'quantized.npz'}")
    return 0


def load_quantized(path) -> nn.Module:
    """The int8 network in a ``quantized.npz`` written by ``minigrad quantize``."""
    ckpt = _load_kind(path, QUANTIZED_KIND, "quantize")
    arch = ckpt["arch"]
    kind = arch.get("model", "mlp")
    model = build_model(arch["hidden"], arch["activation"], kind)
    if ckpt["mode"] == "dynamic":
        qmodel = quantization.quantize_dynamic(model, {nn.Linear, nn.Conv2d})
    else:  # the structure of a converted model; its values come from the file
        model.qconfig = quantization.default_qconfig
        prepared = quantization.prepare(model)
        with minigrad.no_grad():
            prepared.eval()(model_input(minigrad.zeros(1, 1, 28, 28), kind))
        qmodel = quantization.convert(prepared)
    qmodel.load_state_dict(ckpt["model"])
    return qmodel


def _load_kind(path, kind: str, command: str) -> dict:
    ckpt = minigrad.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != kind:
        raise CLIError(f"{path} was not written by 'minigrad {command}' (no '{kind}' kind entry)")
    return ckpt


# --- distill ----------------------------------------------------------------------------

def distill_command(args) -> int:
    ckpt, teacher, teacher_kind = load(args.teacher)
    teacher = to_device(teacher, args.device).eval()
    train_set, test_set = data_for(ckpt, args, True), data_for(ckpt, args, False)
    activation = ckpt["arch"]["activation"]
    out = Path(args.out)
    with claim_out_dir(out):
        columns = {f"teacher {model_name(teacher_kind, ckpt['arch']['hidden'])}":
                   measure(teacher, teacher_kind, test_set, args.device, Path(args.teacher))}
        minigrad.manual_seed(args.seed)
        student = to_device(build_model(args.student_hidden, activation), args.device)
        initial = {k: v.data.copy() for k, v in student.state_dict().items()}
        if args.compare:  # the same student, same start, same batches, on the labels alone
            alone = to_device(build_model(args.student_hidden, activation), args.device)
            alone.load_state_dict(initial)
            fit(alone, "mlp", train_set, args, args.epochs)
            columns["student alone"] = measure(alone, "mlp", test_set, args.device)
        fit(student, "mlp", train_set, args, args.epochs, teacher=teacher, teacher_kind=teacher_kind)
        save_checkpoint(out / "checkpoint.npz", student, checkpoint_args(ckpt, "mlp", args.student_hidden),
                        args.epochs, measure(student, "mlp", test_set, args.device)["accuracy"])
        columns["distilled student"] = measure(student, "mlp", test_set, args.device, out / "checkpoint.npz")
        report(f"distillation into 784-{args.student_hidden}-10, T = {args.temperature}, alpha = {args.alpha}, "
               f"{args.epochs} epochs", columns)
        write_metrics(out, {"command": "distill", "teacher": teacher_kind, "temperature": args.temperature,
                            "alpha": args.alpha, "epochs": args.epochs, "student_hidden": args.student_hidden,
                            "models": columns})
    print(f"wrote {out / 'checkpoint.npz'}")
    return 0


# --- arguments --------------------------------------------------------------------------

def add_commands(commands, data_options, number) -> None:
    """Register prune, quantize and distill on the ``minigrad`` parser's subcommands.

    From cli.py: ``data_options(parser, default)`` adds --dataset/--data-dir/--download/--device,
    ``number(kind, allowed, requirement)`` makes an argparse type that says what it expects.
    """
    commands.metavar = commands.metavar[:-1] + ",prune,quantize,distill}"
    fraction = number(float, lambda v: 0 < v < 1, "a fraction between 0 and 1 (0.9 removes 90%)")
    count = number(int, lambda v: v >= 1, "1 or more")
    epochs = number(int, lambda v: v >= 0, "0 or more")
    rate = number(float, lambda v: v > 0 and math.isfinite(v), "positive")
    weight = number(float, lambda v: 0 <= v <= 1, "in [0, 1]")

    def training_options(p, lr, epochs_default=None):
        if epochs_default is not None:
            p.add_argument("--epochs", type=epochs, default=epochs_default)
        p.add_argument("--lr", type=rate, default=lr, help=f"SGD learning rate (default {lr})")
        p.add_argument("--momentum", type=number(float, lambda v: 0 <= v < 1, "in [0, 1)"), default=0.9)
        p.add_argument("--batch-size", type=count, default=64)
        p.add_argument("--seed", type=number(int, lambda v: v >= 0, "0 or more"), default=0)

    p = commands.add_parser("prune", help="remove weights or hidden units of a trained network",
                            description="Prune a 'minigrad train' checkpoint by magnitude (Han et al. "
                                        "2015), optionally in rounds with retraining; see 'minigrad --help'.")
    p.add_argument("--checkpoint", required=True, metavar="PATH")
    data_options(p, None)
    p.add_argument("--amount", type=fraction, default=0.9,
                   help="fraction of the weights (or, with --structured, of the hidden units) to remove "
                        "(default 0.9)")
    p.add_argument("--structured", action="store_true",
                   help="remove whole hidden units (L2 norm of their input weights), giving a smaller "
                        "dense network, instead of single weights")
    p.add_argument("--rounds", type=count, default=1,
                   help="prune in this many rounds of equal ratio, retraining after each (default 1)")
    p.add_argument("--retrain-epochs", type=epochs, default=0,
                   help="epochs of retraining after each round, pruned weights held at zero (default 0)")
    training_options(p, lr=0.01)
    p.add_argument("--out", default="runs/pruned", metavar="DIR")
    p.set_defaults(func=prune_command)

    q = commands.add_parser("quantize", help="int8 weights and activations for a trained network",
                            description="Quantise a 'minigrad train' checkpoint to int8; see 'minigrad --help'.")
    q.add_argument("--checkpoint", required=True, metavar="PATH")
    data_options(q, None)
    q.add_argument("--mode", choices=["dynamic", "static"], default="dynamic",
                   help="dynamic: each batch's own activation range; static: ranges fixed by a "
                        "calibration pass over training images (default dynamic)")
    q.add_argument("--observer", choices=["minmax", "histogram"], default="minmax",
                   help="static: how the calibration chooses the ranges (default minmax)")
    q.add_argument("--calibration-size", type=count, default=1000,
                   help="static: training images to calibrate on (default 1000)")
    q.add_argument("--out", default="runs/quantized", metavar="DIR")
    q.set_defaults(func=quantize_command)

    d = commands.add_parser("distill", help="train a small student on a trained network's soft targets",
                            description="Train a 784-N-10 student on a teacher checkpoint's outputs at a "
                                        "temperature (Hinton et al. 2015); see 'minigrad --help'.")
    d.add_argument("--teacher", required=True, metavar="PATH")
    d.add_argument("--student-hidden", type=count, required=True, metavar="N", help="the student's hidden units")
    data_options(d, None)
    d.add_argument("--temperature", type=rate, default=4.0, help="softmax temperature T (default 4)")
    d.add_argument("--alpha", type=weight, default=0.9,
                   help="weight of the soft targets; 1 - alpha weighs the labels (default 0.9)")
    training_options(d, lr=0.05, epochs_default=10)
    d.add_argument("--compare", action="store_true",
                   help="also train the same student from the same start on the labels alone")
    d.add_argument("--out", default="runs/distilled", metavar="DIR")
    d.set_defaults(func=distill_command)


__all__ = ["add_commands", "load_quantized", "load_sparse", "measure"]

"""``python -m minigrad train`` / ``evaluate``: the article's 784-100-10 network on MNIST
(``python -m minigrad gpt ...``, the character-level GPT, lives in ``minigrad.gpt_cli``).

The default run needs no network and no flags: it trains on the 5,000 MNIST digits shipped
with minigrad (``minigrad.datasets.MNISTSample``) and reports held-out accuracy each epoch.
Into ``--out`` go ``checkpoint.npz`` (rewritten atomically after every epoch, so Ctrl-C
leaves the last complete one), ``metrics.json`` and, with matplotlib, ``curves.png``.

User errors (a bad option, missing data, an unusable checkpoint) end in one line on stderr,
``minigrad: error: ...``, and exit status 2; Ctrl-C ends a run with status 130.

``OMP_NUM_THREADS=1 mpiexec -n 4 python -m minigrad train --distributed`` trains data-parallel
on 4 processes (``minigrad.distributed``, docs/distributed.md): ``--batch-size`` per process, so
a global batch 4 times larger; only rank 0 prints and writes files; an error on any rank ends
them all.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad import distributed, nn, optim
from minigrad.data import DataLoader
from minigrad.datasets import (MNIST, DownloadError, FashionMNIST, IDXError, MNISTSample,
                               cache_dir)

DATASETS = {"mnist-sample": MNISTSample, "mnist": MNIST, "fashion-mnist": FashionMNIST}
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
IN_FEATURES, NUM_CLASSES = 28 * 28, 10
CHECKPOINT_KIND = "minigrad.cli mlp"


class CLIError(Exception):
    """A mistake the user can fix; shown as one line, never as a traceback."""


# --- data and model ---------------------------------------------------------------------

def load_dataset(name: str, data_dir: str | None, download: bool, train: bool):
    """The training (``train=True``) or held-out split of a data set named on the command line."""
    cls = DATASETS[name]
    if cls is MNISTSample:
        if data_dir:
            raise CLIError(f"--data-dir is for --dataset mnist or fashion-mnist; "
                           f"--dataset {name} is bundled with minigrad and reads no directory")
        return MNISTSample(train=train)
    # The cache is ours to fill; a directory the user names is only read unless --download.
    root = Path(data_dir).expanduser() if data_dir else cache_dir()
    if data_dir and not download and cls.find(root) is None:
        stems = ", ".join(f"{f.removesuffix('.gz')}[.gz]" for f, _ in cls.resources)
        raise CLIError(f"--data-dir {data_dir} has no {cls.name} files (needs {stems}, in it "
                       f"or in {cls.name}/ or {cls.name}/raw/ below it); add --download "
                       f"to fetch them there")
    try:
        return cls(root, train=train, download=True)
    except DownloadError as error:
        raise CLIError(f"{error}; put the files in a directory and pass --data-dir, or leave "
                       f"out --dataset to train on the bundled sample") from None
    except IDXError as error:
        raise CLIError(str(error)) from None
    except OSError as error:
        raise CLIError(f"cannot read or write {root}: {error}") from None


def build_model(hidden: int, activation: str) -> nn.Module:
    """784 -> hidden -> 10: the article's network, logits out (the loss applies softmax)."""
    return nn.Sequential(nn.Linear(IN_FEATURES, hidden), ACTIVATIONS[activation](),
                         nn.Linear(hidden, NUM_CLASSES))


# Per optimizer: (default lr, default momentum); Adam keeps its own moment estimates.
OPTIMIZERS = {"sgd": (0.1, 0.9), "adam": (1e-3, None)}


def resolve_optimizer_defaults(args) -> None:
    """Fill in ``args.lr`` and ``args.momentum`` where the user left them out."""
    default_lr, default_momentum = OPTIMIZERS[args.optimizer]
    if args.momentum is not None and default_momentum is None:
        raise CLIError(f"--momentum is for --optimizer sgd; {args.optimizer} keeps its own "
                       f"moment estimates")
    if args.lr is None:
        args.lr = default_lr
    if args.momentum is None:
        args.momentum = default_momentum


def make_optimizer(name: str, params, lr: float, momentum: float | None):
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum)
    return optim.Adam(params, lr=lr)


def to_device(obj, device: str):
    try:
        return obj.to(device)
    except Exception as error:  # noqa: BLE001 - the engine's message says why (no GPU, no CuPy)
        raise CLIError(f"--device {device}: {error}") from None


def predict(model, loader, device: str) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true labels over a whole loader, as NumPy arrays."""
    model.eval()
    predicted, true = [], []
    with minigrad.no_grad():
        for images, labels in loader:
            logits = model(images.to(device).view(images.shape[0], -1))
            predicted.append(logits.argmax(axis=1).numpy())
            true.append(labels.numpy())
    model.train()
    return np.concatenate(predicted), np.concatenate(true)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n: int = NUM_CLASSES) -> np.ndarray:
    """``m[i, j]``: how many samples of class i were predicted as j."""
    return np.bincount(true * n + predicted, minlength=n * n).reshape(n, n)


# --- files ------------------------------------------------------------------------------

def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_checkpoint(path: Path, model, args, epoch: int, accuracy: float) -> None:
    minigrad.save({
        "kind": CHECKPOINT_KIND,
        "arch": {"in_features": IN_FEATURES, "hidden": args.hidden,
                 "out_features": NUM_CLASSES, "activation": args.activation},
        "model": model.state_dict(),
        "dataset": args.dataset,
        "data_dir": args.data_dir or "",
        "epoch": epoch,
        "held_out_accuracy": accuracy,
    }, str(path))


def plot_curves(path: Path, metrics: dict) -> str:
    """Write the loss and accuracy curves; return a line saying what happened."""
    try:
        import matplotlib
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install 'minigrad[plot]')"
    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    epochs = [e["epoch"] for e in metrics["epochs"]]
    per_epoch = max(1, metrics["batches_per_epoch"])
    steps = np.arange(1, len(metrics["batch_loss"]) + 1) / per_epoch
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(steps, metrics["batch_loss"], lw=0.6, alpha=0.5, label="batch")
    ax_loss.plot(epochs, [e["train_loss"] for e in metrics["epochs"]], "o-", label="epoch mean")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * e["held_out_accuracy"] for e in metrics["epochs"]], "o-")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="held-out accuracy")
    fig.suptitle(f"minigrad {metrics['config']['dataset']}, "
                 f"784-{metrics['config']['hidden']}-10")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"wrote {path}"


def progress(iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        print("no progress bar: tqdm is not installed (pip install tqdm)", file=sys.stderr)
        return iterable
    return tqdm(iterable, **kwargs)


# --- commands ---------------------------------------------------------------------------

def train(args) -> int:
    started = time.perf_counter()
    # --distributed: join the mpiexec job; without it every `run.` call below is a no-op.
    try:
        run = distributed.setup_for_training(args.distributed)
    except ImportError as error:  # --distributed without mpi4py: say what to install
        raise CLIError(f"--distributed: {error}") from None
    say = print if run.is_main else (lambda *a, **k: None)  # only rank 0 reports and writes
    resolve_optimizer_defaults(args)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(f"--out {args.out}: {error.strerror or error}") from None
    train_set = load_dataset(args.dataset, args.data_dir, args.download, train=True)
    test_set = load_dataset(args.dataset, args.data_dir, args.download, train=False)

    minigrad.manual_seed(args.seed)
    device = run.device(args.device)
    model = run.wrap(to_device(build_model(args.hidden, args.activation), device))
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    sampler = run.sampler(train_set, seed=args.seed)  # this rank's part of each epoch, or None
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None,
                        sampler=sampler, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=1000)

    checkpoint, metrics_path = out / "checkpoint.npz", out / "metrics.json"
    metrics = {"config": {k: getattr(args, k) for k in (
                   "dataset", "data_dir", "epochs", "batch_size", "lr", "momentum", "hidden",
                   "activation", "optimizer", "seed", "device")},
               "ranks": run.world_size, "global_batch_size": args.batch_size * run.world_size,
               "train_size": len(train_set), "held_out_size": len(test_set),
               "batches_per_epoch": len(loader), "epochs": [], "batch_loss": [],
               "interrupted": False}
    say(f"training 784-{args.hidden}-10 ({args.activation}) on {args.dataset}: "
          f"{len(train_set)} train / {len(test_set)} held-out images, "
          f"{args.optimizer} lr={args.lr}" + (f" momentum={args.momentum}"
                                               if args.momentum is not None else "")
          + f", batch {args.batch_size}"
          + (f" x {run.world_size} ranks = {args.batch_size * run.world_size}" if run.enabled else "")
          + f", {args.epochs} epochs, seed {args.seed}")
    try:
        # On a GPU, reading a loss back makes the host wait for the GPU: losses stay on the
        # device and are read 50 at a time. On the CPU reading is free, so every step.
        read_every = 1 if str(device) == "cpu" else 50
        for epoch in range(1, args.epochs + 1):
            epoch_start, total, count, pending = time.perf_counter(), 0.0, 0, []
            run.set_epoch(epoch)  # a new shuffle of the shards, the same on every rank
            bar = progress(loader, args.progress and run.is_main, desc=f"epoch {epoch}/{args.epochs}",
                           unit="batch", leave=False, file=sys.stderr)
            for step, (images, labels) in enumerate(bar, start=1):
                images, labels = images.to(device), labels.to(device)
                loss = loss_fn(model(images.view(images.shape[0], -1)), labels)
                optimizer.zero_grad()
                loss.backward()  # with --distributed, DDP averages the gradients in here
                optimizer.step()
                pending.append((loss.detach(), len(labels)))
                if len(pending) < read_every and step < len(loader):
                    continue
                for loss_value, n in pending:
                    value = run.mean(loss_value.item())  # the global batch's loss, the same on every rank
                    if not math.isfinite(value):
                        raise CLIError(f"the loss became {value} in epoch {epoch}; "
                                       f"try a smaller --lr than {args.lr}")
                    metrics["batch_loss"].append(value)
                    total, count = total + value * n, count + n
                pending = []
                if bar is not loader:
                    bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
            if not run.is_main:
                continue
            predicted, true = predict(model, test_loader, device)
            accuracy = float((predicted == true).mean())
            metrics["epochs"].append({"epoch": epoch, "train_loss": total / count,
                                      "held_out_accuracy": accuracy,
                                      "seconds": time.perf_counter() - epoch_start})
            save_checkpoint(checkpoint, run.unwrap(model), args, epoch, accuracy)
            write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
            print(f"epoch {epoch:>{len(str(args.epochs))}}/{args.epochs}: "
                  f"train loss {total / count:.4f}, held-out accuracy {accuracy:.2%}")
    except KeyboardInterrupt:
        metrics["interrupted"] = True
        done = len(metrics["epochs"])
        if not run.is_main:
            return 130
        if done:
            write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
            print(f"\ninterrupted in epoch {done + 1}; the checkpoint of epoch {done} is "
                  f"intact at {checkpoint}", file=sys.stderr)
        else:
            print("\ninterrupted before the first epoch ended; no checkpoint written",
                  file=sys.stderr)
        return 130

    if not run.is_main:
        return 0
    seconds = time.perf_counter() - started
    metrics["final"] = {"train_loss": metrics["epochs"][-1]["train_loss"],
                        "held_out_accuracy": metrics["epochs"][-1]["held_out_accuracy"],
                        "seconds": seconds}
    write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
    plot_note = plot_curves(out / "curves.png", metrics)
    print(f"held-out accuracy {metrics['final']['held_out_accuracy']:.2%} after "
          f"{args.epochs} epochs in {seconds:.1f} s")
    print(f"wrote {checkpoint}, {metrics_path}; {plot_note}")
    return 0


def load_checkpoint(path: str) -> dict:
    if not Path(path).is_file():
        raise CLIError(f"--checkpoint {path}: no such file")
    try:
        ckpt = minigrad.load(path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user error
        raise CLIError(f"--checkpoint {path} is not a minigrad checkpoint ({error})") from None
    if not isinstance(ckpt, dict) or str(ckpt.get("kind", "")) != CHECKPOINT_KIND:
        raise CLIError(f"--checkpoint {path} was not written by 'minigrad train' "
                       f"(it has no '{CHECKPOINT_KIND}' kind entry)")
    return ckpt


def rebuild_model(ckpt: dict, path: str, args):
    """The model the checkpoint describes, with its weights; CLIError if they disagree."""
    arch = ckpt["arch"]
    hidden, activation = int(arch["hidden"]), str(arch["activation"])
    if (int(arch["in_features"]), int(arch["out_features"])) != (IN_FEATURES, NUM_CLASSES) \
            or activation not in ACTIVATIONS:
        raise CLIError(f"--checkpoint {path}: architecture {dict(arch)} is not a "
                       f"{IN_FEATURES}-H-{NUM_CLASSES} network that this command builds")
    for option, want, have in (("--hidden", args.hidden, hidden),
                               ("--activation", args.activation, activation)):
        if want is not None and want != have:
            raise CLIError(f"--checkpoint {path} holds a 784-{hidden}-10 {activation} network, "
                           f"not the {option} {want} one asked for")
    model = build_model(hidden, activation)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if expected != found:
        raise CLIError(f"--checkpoint {path}: weights {found} do not fit the recorded "
                       f"784-{hidden}-10 architecture, which needs {expected}")
    model.load_state_dict(ckpt["model"])
    return model


def evaluate(args) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    model = to_device(rebuild_model(ckpt, args.checkpoint, args), args.device)
    dataset = args.dataset or str(ckpt["dataset"])
    data_dir = args.data_dir if args.data_dir is not None else (str(ckpt["data_dir"]) or None)
    test_set = load_dataset(dataset, data_dir, args.download, train=False)
    predicted, true = predict(model, DataLoader(test_set, batch_size=args.batch_size),
                              args.device)
    matrix = confusion_matrix(true, predicted)
    correct = int(np.trace(matrix))
    print(f"{args.checkpoint}: 784-{ckpt['arch']['hidden']}-10 after epoch "
          f"{int(ckpt['epoch'])}, evaluated on {dataset} held-out ({len(test_set)} images)")
    print(f"accuracy {correct / len(test_set):.2%} ({correct}/{len(test_set)})")
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = max(4, len(str(matrix.max())) + 1)
    print("     " + "".join(f"{j:>{width}}" for j in range(NUM_CLASSES)))
    for i, row in enumerate(matrix):
        print(f"{i:>4} " + "".join(f"{v:>{width}}" for v in row))
    return 0


# --- argument parsing -------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"minigrad: error: {message} (see '{self.prog} --help')\n")


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _momentum(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a float, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minigrad", description="Train and evaluate the article's MNIST "
                     "network with minigrad.")
    commands = parser.add_subparsers(dest="command", metavar="{train,evaluate,gpt}",
                                     parser_class=_Parser)

    def data_options(p, default):
        p.add_argument("--dataset", choices=list(DATASETS), default=default,
                       help="mnist-sample: 5,000 real MNIST digits shipped with minigrad, "
                            "no network (the default); mnist, fashion-mnist: the full sets")
        p.add_argument("--data-dir", default=None, metavar="DIR",
                       help="directory with the four IDX files (.gz or raw); default: "
                            "$MINIGRAD_DATA or ~/.cache/minigrad, downloaded there if missing")
        p.add_argument("--download", action="store_true",
                       help="fetch missing files into --data-dir")
        p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")

    t = commands.add_parser("train", help="train the 784-H-10 network",
                            description="Train the 784-H-10 network; see 'minigrad --help'.")
    data_options(t, "mnist-sample")
    t.add_argument("--epochs", type=_positive(int), default=10)
    t.add_argument("--batch-size", type=_positive(int), default=64)
    t.add_argument("--lr", type=_positive(float), default=None,
                   help="learning rate (default: 0.1 for sgd, 0.001 for adam)")
    t.add_argument("--momentum", type=_momentum, default=None,
                   help="SGD momentum in [0, 1) (default 0.9; 0 for plain SGD)")
    t.add_argument("--hidden", type=_positive(int), default=100, help="hidden units")
    t.add_argument("--activation", choices=list(ACTIVATIONS), default="relu")
    t.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="runs/latest", metavar="DIR",
                   help="where checkpoint.npz, metrics.json, curves.png go (default runs/latest)")
    t.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of mpiexec (mpiexec -n 4 python -m "
                        "minigrad train --distributed); --batch-size is per process; needs "
                        "pip install 'minigrad[distributed]'")
    t.set_defaults(func=train)

    e = commands.add_parser("evaluate", help="accuracy and confusion matrix of a checkpoint",
                            description="Evaluate a checkpoint written by 'minigrad train'.")
    e.add_argument("--checkpoint", required=True, metavar="PATH")
    data_options(e, None)
    e.add_argument("--batch-size", type=_positive(int), default=1000)
    e.add_argument("--hidden", type=_positive(int), default=None,
                   help="insist on this hidden size (default: the checkpoint's)")
    e.add_argument("--activation", choices=list(ACTIVATIONS), default=None)
    e.set_defaults(func=evaluate)

    from minigrad import gpt_cli  # its own module: it imports this one for CLIError
    gpt_cli.add_parser(commands, _positive)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: train, evaluate or gpt")
    try:
        return args.func(args)
    except CLIError as error:
        if distributed.is_initialized() and distributed.get_world_size() > 1:
            # this rank alone may have failed: end every rank rather than leave them waiting
            distributed.abort(2, f"minigrad: error: {error}")
        print(f"minigrad: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nminigrad: interrupted", file=sys.stderr)
        return 130

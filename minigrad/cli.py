"""``python -m minigrad train`` / ``evaluate``: the article's 784-100-10 network on MNIST
(or, with ``--model lenet`` / ``--model resnet``, a convolutional network from ``minigrad.models``;
``python -m minigrad gpt ...``, the character-level GPT, lives in ``minigrad.gpt_cli``).

The default run needs no network and no flags: it trains on the 5,000 MNIST digits shipped
with minigrad (``minigrad.datasets.MNISTSample``) and reports held-out accuracy each epoch.
Into ``--out`` go ``checkpoint.npz`` (rewritten atomically after every epoch, so Ctrl-C
leaves the last complete one), ``metrics.json`` and, with matplotlib, ``curves.png``.

User errors (a bad option, missing data, an unusable checkpoint, a diverging run) end in one
line on stderr, ``minigrad: error: ...``, and exit status 2; Ctrl-C ends a run with status 130,
SIGTERM with 143, and what was saved before is intact (docs/guarantees.md says what is checked).

``OMP_NUM_THREADS=1 mpiexec -n 4 python -m minigrad train --distributed`` trains data-parallel
on 4 processes (``minigrad.distributed``, docs/distributed.md): ``--batch-size`` per process, so
a global batch 4 times larger; only rank 0 prints and writes files; an error or an interrupt on
any rank ends them all, and ranks started with different settings are refused.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad import distributed, models, nn, optim
from minigrad.backend import get_array_module
from minigrad.cli_guards import (CLIError, Terminated, claim_out_dir, format_bytes,
                                 ignore_stop_signals, memory_limit, signals_deferred,
                                 stop_signals_handled, write_atomic, write_text_atomic)
from minigrad.data import DataLoader
from minigrad.datasets import (MNIST, DownloadError, FashionMNIST, IDXError, MNISTSample,
                               cache_dir)

DATASETS = {"mnist-sample": MNISTSample, "mnist": MNIST, "fashion-mnist": FashionMNIST}
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
IN_FEATURES, NUM_CLASSES = 28 * 28, 10
CHECKPOINT_KIND = "minigrad.cli mlp"


# --- data and model ---------------------------------------------------------------------

def load_dataset(name: str, data_dir: str | None, download: bool, train: bool,
                 recorded_in: str | None = None):
    """The training (``train=True``) or held-out split of a data set named on the command line.

    ``recorded_in``: the checkpoint that ``data_dir`` was read from, when the user did not pass
    ``--data-dir``, so that an error names where the directory came from.
    """
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
        where = (f"the data directory {data_dir} recorded in {recorded_in}" if recorded_in
                 else f"--data-dir {data_dir}")
        fix = ("pass --data-dir with the directory that holds them now, or add --download to "
               "fetch them" if recorded_in else "add --download to fetch them there")
        raise CLIError(f"{where} has no {cls.name} files (needs {stems}, in it or in "
                       f"{cls.name}/ or {cls.name}/raw/ below it); {fix}")
    try:
        return cls(root, train=train, download=True)
    except DownloadError as error:
        raise CLIError(f"{error}; put the files in a directory and pass --data-dir, or leave "
                       f"out --dataset to train on the bundled sample") from None
    except IDXError as error:
        raise CLIError(str(error)) from None
    except OSError as error:
        raise CLIError(f"cannot read or write {root}: {error}") from None


def build_model(hidden: int, activation: str, model: str = "mlp") -> nn.Module:
    """784 -> hidden -> 10, the article's network (``model='mlp'``), or LeNet-5 or the small
    ResNet of ``minigrad.models``; logits out (the loss applies softmax)."""
    if model == "mlp":
        return models.mlp(IN_FEATURES, hidden, NUM_CLASSES, activation)
    return models.build(model, num_classes=NUM_CLASSES)


def model_name(model: str, hidden) -> str:
    """How the command line names a network: '784-100-10', 'LeNet-5', 'ResNet'."""
    return f"784-{hidden}-10" if model == "mlp" else {"lenet": "LeNet-5", "resnet": "ResNet"}[model]


def model_input(images, model: str):
    """The MLP takes each image flattened to 784 values; the convolutional networks take (N, 1, 28, 28)."""
    return images.view(images.shape[0], -1) if models.takes_flat(model) else images


def parameter_count(hidden: int) -> int:
    return (IN_FEATURES + 1) * hidden + (hidden + 1) * NUM_CLASSES


def check_model_fits(hidden: int, optimizer: str) -> None:
    """Refuse a --hidden whose network cannot fit in memory, before allocating any of it: a
    huge allocation either fails deep inside NumPy or succeeds lazily and gets the process
    killed by the system when the weights are first written."""
    # float32 weights, gradients and optimizer state (momentum, or Adam's two moments), plus
    # the float64 random draw the first layer is initialised from
    need = 4 * parameter_count(hidden) * (2 + (2 if optimizer == "adam" else 1)) \
        + 8 * IN_FEATURES * hidden
    limit = memory_limit()
    if limit is not None and need > limit:
        raise CLIError(f"--hidden {hidden} needs about {format_bytes(need)} of memory for the weights, "
                       f"their gradients and the {optimizer} state, more than the {format_bytes(limit)} "
                       f"here; choose a smaller --hidden")


# Per optimizer: (default lr, default momentum); Adam keeps its own moment estimates.
OPTIMIZERS = {"sgd": (0.1, 0.9), "adam": (1e-3, None)}
# --preset NAME: settings taken where the command line leaves them out. "article" is the
# article's loop as its code reads (plain SGD, lr 0.01); the defaults are tuned for the sample.
PRESETS = {"tuned": {}, "article": {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0}}


def resolve_optimizer_defaults(args) -> None:
    """Fill in ``args.lr`` and ``args.momentum`` where the user left them out, from
    ``--preset`` first, then from the optimizer's defaults."""
    preset = PRESETS[getattr(args, "preset", "tuned")]
    if preset.get("optimizer", args.optimizer) != args.optimizer:
        raise CLIError(f"--preset {args.preset} trains with {preset['optimizer']}; leave out "
                       f"--optimizer {args.optimizer}, or the preset")
    for name in ("lr", "momentum"):
        if getattr(args, name) is None and name in preset:
            setattr(args, name, preset[name])
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


def predict(model, loader, device: str, kind: str = "mlp") -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true labels over a whole loader, as NumPy arrays (``kind``: the --model)."""
    model.eval()
    predicted, true = [], []
    with minigrad.no_grad():
        for images, labels in loader:
            logits = model(model_input(images.to(device), kind))
            predicted.append(logits.argmax(axis=1).numpy())
            true.append(labels.numpy())
    model.train()
    return np.concatenate(predicted), np.concatenate(true)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n: int = NUM_CLASSES) -> np.ndarray:
    """``m[i, j]``: how many samples of class i were predicted as j."""
    return np.bincount(true * n + predicted, minlength=n * n).reshape(n, n)


def save_checkpoint(path: Path, model, args, epoch: int, accuracy: float) -> None:
    minigrad.save({
        "kind": CHECKPOINT_KIND,
        "arch": {"model": args.model, "in_features": IN_FEATURES, "hidden": args.hidden,
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
        return "plot skipped: matplotlib is not installed (pip install 'minigrad-course[plot]')"
    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    epochs = [e["epoch"] for e in metrics["epochs"]]
    per_epoch = max(1, metrics["batches_per_epoch"])
    steps = np.arange(1, len(metrics["batch_loss"]) + 1) / per_epoch
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(steps, metrics["batch_loss"], lw=0.6, alpha=0.5, label="batch")
    # An epoch's mean loss averages the whole epoch: drawn at its middle, not at its end.
    ax_loss.plot([e - 0.5 for e in epochs], [e["train_loss"] for e in metrics["epochs"]], "o-",
                 label="epoch mean")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="training loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [100 * e["held_out_accuracy"] for e in metrics["epochs"]], "o-")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="held-out accuracy")
    config = metrics["config"]
    fig.suptitle(f"minigrad {config['dataset']}, "
                 f"{model_name(config.get('model', 'mlp'), config['hidden'])}")
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, dpi=100, format="png"))
    plt.close(fig)
    return f"wrote {path}"


def progress(iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    from tqdm import tqdm  # a dependency; imported here so that `minigrad evaluate` starts faster

    return tqdm(iterable, **kwargs)


# --- commands ---------------------------------------------------------------------------

# Divergence: the mean of the last DIVERGED_WINDOW batch losses above DIVERGED_FACTOR times the
# first batch's. Measured on the bundled sample: healthy runs stay below 2 times (batch 4 with
# the default --lr reaches 1.7, Adam at --lr 0.1 2.3 before it recovers to 67%), while --lr 3
# reaches 13 times and --lr 10 over 100 times within the first ten batches. The mean, not one
# batch, so that a single bad batch early on is not taken for divergence.
DIVERGED_WINDOW, DIVERGED_FACTOR = 10, 4.0
# A rank other than 0 that is interrupted waits this long before ending the job: rank 0, when
# it was interrupted too, first finishes its save and says what it kept.
INTERRUPT_GRACE_S = 2.0


def run_settings(args, train_set, test_set) -> dict:
    """What every rank of a distributed run must have been given alike, by option name."""
    settings = {f"--{k.replace('_', '-')}": getattr(args, k) for k in (
        "dataset", "epochs", "batch_size", "lr", "momentum", "hidden", "activation", "optimizer",
        "seed", "device")}
    settings["training images"], settings["held-out images"] = len(train_set), len(test_set)
    return settings


def train(args) -> int:
    started = time.perf_counter()
    # --distributed: join the mpiexec job; without it every `run.` call below is a no-op.
    try:
        run = distributed.setup_for_training(args.distributed, timeout=args.collective_timeout)
    except ImportError as error:  # --distributed without mpi4py: say what to install
        raise CLIError(f"--distributed: {error}") from None
    resolve_optimizer_defaults(args)
    check_model_fits(args.hidden, args.optimizer)
    out = Path(args.out)
    # Only rank 0 writes files, so only rank 0 checks --out and holds it.
    with claim_out_dir(out) if run.is_main else contextlib.nullcontext():
        return _train(args, run, out, started)


# A run that overflows ends with check_divergence's one line; NumPy's warnings about the
# overflow, from deep inside an op, would only bury it.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def _train(args, run, out: Path, started: float) -> int:
    say = print if run.is_main else (lambda *a, **k: None)  # only rank 0 reports and writes
    checkpoint, metrics_path = out / "checkpoint.npz", out / "metrics.json"
    train_set = load_dataset(args.dataset, args.data_dir, args.download, train=True)
    test_set = load_dataset(args.dataset, args.data_dir, args.download, train=False)
    differences = run.differences(run_settings(args, train_set, test_set))
    if differences:
        raise CLIError("the ranks were started with different settings: " + "; ".join(differences)
                       + "; start every rank with the same options", every_rank=True)

    if run.is_main:  # a plot of an earlier run must not sit beside this run's files
        (out / "curves.png").unlink(missing_ok=True)
    minigrad.manual_seed(args.seed)
    device = run.device(args.device)
    try:
        model = run.wrap(to_device(build_model(args.hidden, args.activation, args.model), device))
    except MemoryError:
        raise CLIError(f"--hidden {args.hidden}: not enough memory for the network; choose a "
                       f"smaller --hidden") from None
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    sampler = run.sampler(train_set, seed=args.seed)  # this rank's part of each epoch, or None
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None,
                        sampler=sampler, seed=args.seed)
    test_loader = DataLoader(test_set, batch_size=1000)

    metrics = {"config": {k: getattr(args, k) for k in (
                   "model", "dataset", "data_dir", "epochs", "batch_size", "lr", "momentum", "hidden",
                   "activation", "optimizer", "seed", "device", "preset")},
               "ranks": run.world_size, "global_batch_size": args.batch_size * run.world_size,
               "train_size": len(train_set), "held_out_size": len(test_set),
               "batches_per_epoch": len(loader), "epochs": [], "batch_loss": [],
               "interrupted": False}
    say(f"training {model_name(args.model, args.hidden)}"
        + (f" ({args.activation})" if args.model == "mlp" else "") + f" on {args.dataset}: "
          f"{len(train_set)} train / {len(test_set)} held-out images, "
          f"{args.optimizer} lr={args.lr}" + (f" momentum={args.momentum}"
                                               if args.momentum is not None else "")
          + f", batch {args.batch_size}"
          + (f" x {run.world_size} ranks = {args.batch_size * run.world_size}" if run.enabled else "")
          + f", {args.epochs} epochs, seed {args.seed}")
    saved = 0  # the epoch that checkpoint.npz holds, once this run has written it
    epoch = 0
    try:
        # On a GPU, reading a loss back makes the host wait for the GPU: losses stay on the
        # device and are read 50 at a time. On the CPU reading is free, so every step.
        read_every = 1 if str(device) == "cpu" else 50
        recent = collections.deque(maxlen=DIVERGED_WINDOW)
        for epoch in range(1, args.epochs + 1):
            epoch_start, total, count, pending = time.perf_counter(), 0.0, 0, []
            run.set_epoch(epoch)  # a new shuffle of the shards, the same on every rank
            bar = progress(loader, args.progress and run.is_main, desc=f"epoch {epoch}/{args.epochs}",
                           unit="batch", leave=False, file=sys.stderr)
            for step, (images, labels) in enumerate(bar, start=1):
                images, labels = images.to(device), labels.to(device)
                loss = loss_fn(model(model_input(images, args.model)), labels)
                optimizer.zero_grad()
                loss.backward()  # with --distributed, DDP averages the gradients in here
                optimizer.step()
                pending.append((loss.detach(), len(labels)))
                if len(pending) < read_every and step < len(loader):
                    continue
                for loss_value, n in pending:
                    value = run.mean(loss_value.item())  # the global batch's loss, the same on every rank
                    metrics["batch_loss"].append(value)
                    recent.append(value)
                    check_divergence(metrics["batch_loss"][0], recent, epoch, args.lr, saved, checkpoint)
                    total, count = total + value * n, count + n
                pending = []
                if bar is not loader:
                    bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
            if not run.is_main:
                continue
            predicted, true = predict(model, test_loader, device, args.model)
            accuracy = float((predicted == true).mean())
            plain = run.unwrap(model)
            check_weights_finite(plain, epoch, args.lr, saved, checkpoint)
            # The checkpoint first, then the metrics that list it: metrics.json never names an
            # epoch that checkpoint.npz does not hold, even when interrupted in between.
            try:
                with signals_deferred():
                    save_checkpoint(checkpoint, plain, args, epoch, accuracy)
                    saved = epoch
                    metrics["epochs"].append({"epoch": epoch, "train_loss": total / count,
                                              "held_out_accuracy": accuracy,
                                              "seconds": time.perf_counter() - epoch_start})
                    write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
            except OSError as error:  # a full disk, a directory changed under the run
                raise CLIError(f"--out {out}: cannot save epoch {epoch}: {error.strerror or error}"
                               f"{_kept(saved, checkpoint)}") from None
            print(f"epoch {epoch:>{len(str(args.epochs))}}/{args.epochs}: "
                  f"train loss {total / count:.4f}, held-out accuracy {accuracy:.2%}")
    except (KeyboardInterrupt, Terminated) as stop:
        ignore_stop_signals()
        if run.is_main:
            report_interrupt(stop, metrics, metrics_path, checkpoint, epoch, saved)
        return end_interrupted_job(stop)

    if not run.is_main:
        return 0
    seconds = time.perf_counter() - started
    metrics["final"] = {"train_loss": metrics["epochs"][-1]["train_loss"],
                        "held_out_accuracy": metrics["epochs"][-1]["held_out_accuracy"],
                        "seconds": seconds}
    plot_note = write_final_files(out, metrics, plot_curves, _kept(saved, checkpoint))
    print(f"held-out accuracy {metrics['final']['held_out_accuracy']:.2%} after "
          f"{args.epochs} epochs in {seconds:.1f} s")
    print(f"wrote {checkpoint}, {metrics_path}; {plot_note}")
    return 0


def write_final_files(out: Path, metrics: dict, plot, kept: str) -> str:
    """``out``/metrics.json, then the plot ``plot(out / "curves.png", metrics)``; returns the
    plot's line. A failure to write is a CLIError that ends with ``kept``, what the run leaves."""
    try:
        with signals_deferred():
            write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=1))
        return plot(out / "curves.png", metrics)
    except OSError as error:
        raise CLIError(f"--out {out}: cannot write the final metrics or plot: "
                       f"{error.strerror or error}{kept}") from None


def _kept(saved: int, checkpoint: Path) -> str:
    """For an error message: the checkpoint this run leaves, if it wrote one and it is there."""
    if saved and checkpoint.is_file():
        return f"; the checkpoint of epoch {saved} is kept at {checkpoint}"
    return ""


def check_divergence(first: float, recent, epoch: int, lr: float, saved: int, checkpoint: Path) -> None:
    """End the run when the loss is not finite or has grown far above where it started.

    ``recent`` holds the latest batch losses, averaged over the ranks, so every rank decides
    alike and the error ends them together.
    """
    value = recent[-1]
    if not math.isfinite(value):
        raise CLIError(f"the loss became {value} in epoch {epoch}: training diverged; try a "
                       f"smaller --lr than {lr}{_kept(saved, checkpoint)}", every_rank=True)
    mean = sum(recent) / len(recent)
    if len(recent) == recent.maxlen and mean > DIVERGED_FACTOR * first:
        raise CLIError(f"the loss grew from {first:.3g} to {mean:.3g} (mean of the last "
                       f"{len(recent)} batches) in epoch {epoch}: training diverged; try a "
                       f"smaller --lr than {lr}{_kept(saved, checkpoint)}", every_rank=True)


def check_weights_finite(model, epoch: int, lr: float, saved: int, checkpoint: Path) -> None:
    """A checkpoint with NaN or infinite weights is never written (``evaluate`` refuses one)."""
    for name, p in model.named_parameters():
        if not bool(get_array_module(p.data).isfinite(p.data).all()):
            raise CLIError(f"the weights ({name}) became NaN or infinite in epoch {epoch}: "
                           f"training diverged; try a smaller --lr than {lr}{_kept(saved, checkpoint)}")


def report_interrupt(stop, metrics: dict, metrics_path: Path, checkpoint: Path, epoch: int,
                     saved: int) -> None:
    """Say what an interrupted run kept; every claim is about files already on disk."""
    how = stop_name(stop)
    if saved:
        metrics["interrupted"] = True
        write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
        where = f"after epoch {saved} was saved" if saved == epoch else f"in epoch {epoch}"
        print(f"\n{how} {where}; the checkpoint of epoch {saved} is intact at {checkpoint}",
              file=sys.stderr)
    else:
        earlier = f" ({checkpoint} is an earlier run's)" if checkpoint.exists() else ""
        print(f"\n{how} before the first epoch ended; this run wrote no checkpoint{earlier}",
              file=sys.stderr)


def stop_name(stop) -> str:
    return "interrupted" if isinstance(stop, KeyboardInterrupt) else "terminated (SIGTERM)"


def in_job_of_several() -> bool:
    return distributed.is_initialized() and distributed.get_world_size() > 1


def end_interrupted_job(stop) -> int:
    """After Ctrl-C or SIGTERM: in a job of several ranks, end every rank (this one may have been
    the only one signalled, and the others would wait for it); return the exit status."""
    code = 128 + (signal.SIGINT if isinstance(stop, KeyboardInterrupt) else signal.SIGTERM)
    if in_job_of_several():
        if distributed.get_rank() != 0:
            time.sleep(INTERRUPT_GRACE_S)
        distributed.abort(code, stop_name(stop))
    return code


def read_checkpoint(path: str, kind: str, writer: str) -> dict:
    """What the checkpoint file at ``path`` holds, if ``writer`` (a command) wrote it: its
    ``kind`` entry says so. CLIError for a missing, unreadable or foreign file."""
    if not Path(path).is_file():
        raise CLIError(f"--checkpoint {path}: no such file")
    try:
        ckpt = minigrad.load(path)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user error
        raise CLIError(f"--checkpoint {path} is not a minigrad checkpoint ({error})") from None
    if not isinstance(ckpt, dict) or str(ckpt.get("kind", "")) != kind:
        raise CLIError(f"--checkpoint {path} was not written by '{writer}' "
                       f"(it has no '{kind}' kind entry)")
    return ckpt


def load_checkpoint(path: str) -> dict:
    ckpt = read_checkpoint(path, CHECKPOINT_KIND, "minigrad train")
    check_checkpoint_entries(ckpt, path)
    return ckpt


def check_checkpoint_entries(ckpt: dict, path: str) -> None:
    """Every entry ``evaluate`` reads, present and of its type, and finite weights: a checkpoint
    edited by hand, or written by a run that diverged, gets one line naming the entry."""
    def entry(mapping, key, kind, want, prefix=""):
        value = mapping.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            found = "nothing" if key not in mapping else f"{type(value).__name__} {value!r:.40}"
            raise CLIError(f"--checkpoint {path}: the entry '{prefix}{key}' should be {want}, "
                           f"found {found}; was the file changed after 'minigrad train' wrote it?")
        return value

    arch = entry(ckpt, "arch", dict, "a dict")
    for key in ("in_features", "hidden", "out_features"):
        entry(arch, key, int, "an integer", "arch.")
    entry(arch, "activation", str, "a string", "arch.")
    if "model" in arch:  # checkpoints from before --model hold the MLP and lack the entry
        entry(arch, "model", str, "a string", "arch.")
    if entry(ckpt, "dataset", str, "a string") not in DATASETS:
        raise CLIError(f"--checkpoint {path}: the entry 'dataset' is {ckpt['dataset']!r}, not one "
                       f"of {', '.join(DATASETS)}")
    entry(ckpt, "data_dir", str, "a directory name or ''")
    entry(ckpt, "epoch", int, "an integer")
    for name, value in entry(ckpt, "model", dict, "a dict of weights").items():
        data = value.data if isinstance(value, minigrad.Tensor) else value
        # floats, except BatchNorm's integer step counter (num_batches_tracked)
        kinds = "fiu" if isinstance(name, str) and name.endswith("num_batches_tracked") else "f"
        if not (isinstance(name, str) and isinstance(data, np.ndarray) and data.dtype.kind in kinds):
            raise CLIError(f"--checkpoint {path}: the weight {name!r} should be a floating-point "
                           f"array, found {type(data).__name__} "
                           f"{getattr(data, 'dtype', '')}; was the file changed after "
                           f"'minigrad train' wrote it?")
        if not np.isfinite(data).all():
            raise CLIError(f"--checkpoint {path}: the weight {name} holds NaN or infinite values "
                           f"(the run that wrote it diverged); retrain with a smaller --lr")


def rebuild_model(ckpt: dict, path: str, args):
    """The model the checkpoint describes, with its weights, and its --model name; CLIError if
    they disagree. Checkpoints from before --model existed hold the MLP."""
    arch = ckpt["arch"]
    kind = arch.get("model", "mlp")
    hidden, activation = arch["hidden"], arch["activation"]
    if (arch["in_features"], arch["out_features"]) != (IN_FEATURES, NUM_CLASSES) \
            or hidden < 1 or activation not in ACTIVATIONS or kind not in models.MODELS:
        raise CLIError(f"--checkpoint {path}: architecture {dict(arch)} is not a "
                       f"network that this command builds ({', '.join(models.MODELS)} for "
                       f"{IN_FEATURES} inputs and {NUM_CLASSES} classes)")
    name = model_name(kind, hidden)
    for option, want, have in (("--hidden", args.hidden, hidden),
                               ("--activation", args.activation, activation)):
        if want is not None and (kind != "mlp" or want != have):
            raise CLIError(f"--checkpoint {path} holds a {name}{' ' + activation if kind == 'mlp' else ''} network, "
                           f"not the {option} {want} one asked for")
    found = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    # Counted before building: an edited 'hidden' must not make us allocate a huge network.
    if kind == "mlp" and sum(math.prod(shape) for shape in found.values()) != parameter_count(hidden):
        raise CLIError(f"--checkpoint {path}: weights {found} do not fit the recorded "
                       f"784-{hidden}-10 architecture, which has {parameter_count(hidden)} "
                       f"weights")
    model = build_model(hidden, activation, kind)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if expected != found:
        raise CLIError(f"--checkpoint {path}: weights {found} do not fit the recorded "
                       f"{name} architecture, which needs {expected}")
    model.load_state_dict(ckpt["model"])
    return model, kind


def evaluate(args) -> int:
    ckpt = load_checkpoint(args.checkpoint)
    model, kind = rebuild_model(ckpt, args.checkpoint, args)
    model = to_device(model, args.device)
    dataset = args.dataset or ckpt["dataset"]
    # The directory the checkpoint records belongs to its data set; errors about it say where
    # it came from, since the user did not type it.
    recorded_in = None
    if args.data_dir is not None:
        data_dir = args.data_dir
    elif dataset == ckpt["dataset"] and ckpt["data_dir"]:
        data_dir, recorded_in = ckpt["data_dir"], args.checkpoint
    else:
        data_dir = None
    test_set = load_dataset(dataset, data_dir, args.download, train=False, recorded_in=recorded_in)
    predicted, true = predict(model, DataLoader(test_set, batch_size=args.batch_size),
                              args.device, kind)
    matrix = confusion_matrix(true, predicted)
    correct = int(np.trace(matrix))
    arch = ckpt["arch"]
    print(f"{args.checkpoint}: {model_name(kind, arch['hidden'])} after epoch "
          f"{ckpt['epoch']}, evaluated on {dataset} held-out ({len(test_set)} images)")
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


def _number(kind, allowed, requirement: str):
    """An argparse type: a ``kind`` for which ``allowed(value)`` holds."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not allowed(value):
            raise argparse.ArgumentTypeError(f"must be {requirement}, got {text}")
        return value
    return parse


def _positive(kind):
    return _number(kind, lambda v: v > 0 and math.isfinite(v), "positive")


_momentum = _number(float, lambda v: 0 <= v < 1, "in [0, 1)")
_seed = _number(int, lambda v: v >= 0, "0 or more (NumPy's generators take no negative seed)")


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

    t = commands.add_parser("train", help="train the 784-H-10 network (or --model lenet, resnet)",
                            description="Train the 784-H-10 network; see 'minigrad --help'.")
    data_options(t, "mnist-sample")
    t.add_argument("--epochs", type=_positive(int), default=10)
    t.add_argument("--batch-size", type=_positive(int), default=64)
    t.add_argument("--lr", type=_positive(float), default=None,
                   help="learning rate (default: 0.1 for sgd, 0.001 for adam)")
    t.add_argument("--momentum", type=_momentum, default=None,
                   help="SGD momentum in [0, 1) (default 0.9; 0 for plain SGD)")
    t.add_argument("--model", choices=list(models.MODELS), default="mlp",
                   help="mlp: the article's 784-H-10 network (the default); lenet: LeNet-5; "
                        "resnet: a small ResNet with BatchNorm (minigrad.models)")
    t.add_argument("--hidden", type=_positive(int), default=100, help="hidden units (--model mlp)")
    t.add_argument("--activation", choices=list(ACTIVATIONS), default="relu")
    t.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd")
    t.add_argument("--preset", choices=list(PRESETS), default="tuned",
                   help="tuned: the defaults above; article: the article's plain SGD at lr 0.01 "
                        "(options given on the command line still win)")
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--out", default="runs/latest", metavar="DIR",
                   help="where checkpoint.npz, metrics.json, curves.png go (default runs/latest)")
    t.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of mpiexec (mpiexec -n 4 python -m "
                        "minigrad train --distributed); --batch-size is per process; needs "
                        "pip install 'minigrad-course[distributed]'")
    t.add_argument("--collective-timeout", type=_positive(float), default=300.0, metavar="SECONDS",
                   help="with --distributed: end the job, naming the rank, when a rank has waited "
                        "this long for the others in one exchange (default 300)")
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
    from minigrad import compress_cli  # prune, quantize, distill (issue 14); it imports this module
    compress_cli.add_commands(commands, data_options, _number)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command: train, evaluate or gpt")
    with stop_signals_handled():
        try:
            return args.func(args)
        except CLIError as error:
            message = f"minigrad: error: {error}"
            if in_job_of_several():
                if not error.every_rank:
                    # this rank alone may have failed: end every rank rather than leave them waiting
                    distributed.abort(2, message)
                if distributed.get_rank() != 0:
                    return 2  # the same error on every rank: rank 0 says it once
            print(message, file=sys.stderr)
            return 2
        except (KeyboardInterrupt, Terminated) as stop:  # outside the training loop's own handler
            ignore_stop_signals()
            if not in_job_of_several() or distributed.get_rank() == 0:
                print(f"\nminigrad: {stop_name(stop)}", file=sys.stderr)
            return end_interrupted_job(stop)

"""``python -m minigrad gpt train`` / ``gpt sample``: a character-level GPT on tiny shakespeare.

``gpt train`` trains ``minigrad.models.gpt.GPT`` on the corpus shipped with minigrad (no
network), with nanoGPT's recipe: random windows of ``--block-size`` characters from the first
90% of the text, AdamW that decays the matrices only, the learning rate warmed up linearly for
``--warmup-iters`` steps and then decayed along a cosine to ``--min-lr``, gradients clipped to
norm ``--grad-clip``. Every ``--eval-interval`` steps (and after the last) it estimates the
train and validation losses on ``--eval-iters`` batches each, and when the validation loss is
the lowest so far rewrites ``OUT/checkpoint.npz``, atomically: the file is whole or absent,
never half written, so Ctrl-C or SIGTERM leaves the best one so far (and ``metrics.json`` never
names a step the checkpoint does not hold). One run at a time may write into an ``--out``. The
checkpoint records the model's
configuration and the vocabulary, so ``gpt sample`` needs nothing else. Into ``--out`` also go
``metrics.json`` and, with matplotlib, ``curves.png``.

``gpt sample --checkpoint OUT/checkpoint.npz --prompt "ROMEO:"`` prints text generated from the
prompt. The defaults train nanoGPT's CPU configuration (4 layers, 4 heads, 128 channels, 64
characters of context, batch 12, 2,000 steps); docs/gpt.md says what it reaches and how fast.

The helpers above the commands (``get_batch``, ``nanogpt_lr``, ``training_step``,
``estimate_loss``) take the framework as an argument, so ``benchmarks/gpt.py`` runs the very
same recipe on PyTorch.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad.cli import end_interrupted_job, progress, read_checkpoint, stop_name, to_device, write_final_files
from minigrad.cli_guards import (CLIError, Terminated, claim_out_dir, ignore_stop_signals, signals_deferred,
                                 write_atomic, write_text_atomic)
from minigrad.datasets import CharVocab, TinyShakespeare
from minigrad.models.gpt import GPT, GPTConfig

CHECKPOINT_KIND = "minigrad gpt"
# nanoGPT's train_shakespeare_char.py with the README's CPU line (4 layers, 4 heads, 128
# channels, block 64, batch 12, 2,000 steps, lr decayed over those 2,000 steps, no dropout);
# the rest (warm-up 100, min lr 1e-4, beta2 0.99) from that config file, and weight decay 0.1,
# beta1 0.9 and clipping at 1.0 from nanoGPT's train.py.
DEFAULTS = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=2000,
                lr=1e-3, min_lr=1e-4, warmup_iters=100, weight_decay=0.1, beta1=0.9, beta2=0.99,
                grad_clip=1.0, eval_interval=250, eval_iters=20, dropout=0.0)


# --- the recipe, for minigrad or PyTorch --------------------------------------------------

def get_batch(data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator):
    """``batch_size`` windows of ``block_size`` token ids from random places of ``data``, and the
    same windows shifted by one (the next token at every position): x, y of shape (B, T), int64."""
    ix = rng.integers(0, len(data) - block_size, size=batch_size)
    x = np.stack([data[i:i + block_size] for i in ix])
    y = np.stack([data[i + 1:i + 1 + block_size] for i in ix])
    return x, y


def nanogpt_lr(it: int, lr: float, min_lr: float, warmup_iters: int, lr_decay_iters: int) -> float:
    """nanoGPT's schedule: linear warm-up to ``lr`` over ``warmup_iters`` steps, then half a
    cosine down to ``min_lr`` at ``lr_decay_iters``, ``min_lr`` after that."""
    if it < warmup_iters:
        return lr * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / max(1, lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) * (lr - min_lr)


def to_tensors(framework, device, *arrays):
    """Each NumPy array as a ``framework`` tensor on ``device`` (``from_numpy``, then ``to``)."""
    return [framework.from_numpy(a).to(device) for a in arrays]


def training_step(model, optimizer, x, y, lr: float, grad_clip: float, framework=minigrad):
    """One update: set the learning rate, forward, backward, clip, step; returns the loss."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    _, loss = model(x, y)
    loss.backward()
    if grad_clip:
        framework.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


def estimate_loss(model, splits: dict, eval_iters: int, block_size: int, batch_size: int,
                  rng: np.random.Generator, framework=minigrad, device="cpu") -> dict:
    """The mean loss over ``eval_iters`` random batches of each split, in eval mode (no dropout)."""
    model.eval()
    out = {}
    with framework.no_grad():
        for name, data in splits.items():
            losses = [model(*to_tensors(framework, device, *get_batch(data, block_size, batch_size, rng)))[1].item()
                      for _ in range(eval_iters)]
            out[name] = float(np.mean(losses))
    model.train()
    return out


def unigram_entropy(data: np.ndarray) -> float:
    """-sum p log p of the characters' frequencies in ``data`` (nats): the loss of the best
    model that ignores the context, knowing even ``data``'s own frequencies."""
    p = np.bincount(data) / len(data)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


# --- files --------------------------------------------------------------------------------

def save_checkpoint(path: Path, model, config: GPTConfig, vocab: CharVocab, it: int, losses: dict) -> None:
    """Save the model's state dict, config, vocabulary, step and estimated losses to ``path`` (what ``gpt
    sample`` loads)."""
    minigrad.save({"kind": CHECKPOINT_KIND, "config": dataclasses.asdict(config),
                   "vocab": "".join(vocab.chars), "model": model.state_dict(), "iter": it,
                   "train_loss": losses["train"], "val_loss": losses["val"]}, str(path))


def plot_curves(path: Path, metrics: dict) -> str:
    """The per-step training loss, the estimated losses and the unigram baseline; a line saying
    what happened."""
    try:
        import matplotlib
    except ImportError:
        return "plot skipped: matplotlib is not installed (pip install 'minigrad-course[plot]')"
    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    evals = metrics["evals"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(len(metrics["train_loss"])), metrics["train_loss"], lw=0.5, alpha=0.4,
            label="batch loss")
    ax.plot([e["iter"] for e in evals], [e["train"] for e in evals], "o-", label="train (estimated)")
    ax.plot([e["iter"] for e in evals], [e["val"] for e in evals], "o-", label="validation (estimated)")
    ax.axhline(metrics["unigram_val_entropy"], color="gray", ls="--", label="unigram baseline (val)")
    c = metrics["config"]
    ax.set(xlabel="step", ylabel="cross-entropy (nats per character)",
           title=f"minigrad GPT on tiny shakespeare: {c['n_layer']} layers, {c['n_head']} heads, "
                 f"{c['n_embd']} channels")
    ax.legend()
    fig.tight_layout()
    write_atomic(path, lambda f: fig.savefig(f, dpi=100, format="png"))
    plt.close(fig)
    return f"wrote {path}"


# --- commands -----------------------------------------------------------------------------

def train(args) -> int:
    """``minigrad gpt train``: train a GPT on tiny shakespeare into ``--out`` (checkpoint, metrics,
    curves); returns the exit status."""
    started = time.perf_counter()
    if args.n_embd % args.n_head:
        raise CLIError(f"--n-embd {args.n_embd} is not a multiple of --n-head {args.n_head}; each head "
                       f"gets n_embd / n_head channels (e.g. --n-embd {args.n_head * max(1, args.n_embd // args.n_head)})")
    out = Path(args.out)
    with claim_out_dir(out):  # refuses an --out that another run is writing into
        return _train(args, out, started)


# A diverging run ends with one line saying so; NumPy's warnings about the overflow, from
# deep inside an op, would only bury it.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def _train(args, out: Path, started: float) -> int:
    (out / "curves.png").unlink(missing_ok=True)  # an earlier run's plot must not sit beside this run's files
    corpus = TinyShakespeare()
    splits = {"train": corpus.train_data, "val": corpus.val_data}
    config = GPTConfig(block_size=args.block_size, vocab_size=corpus.vocab_size, n_layer=args.n_layer,
                       n_head=args.n_head, n_embd=args.n_embd, dropout=args.dropout, bias=args.bias,
                       tie_weights=args.tie_weights)
    minigrad.manual_seed(args.seed)
    model = to_device(GPT(config), args.device)
    optimizer = model.configure_optimizers(args.weight_decay, args.lr, (args.beta1, args.beta2))
    batches, eval_batches = np.random.default_rng(args.seed), np.random.default_rng([args.seed, 1])
    decay_iters = args.lr_decay_iters or args.max_iters
    checkpoint, metrics_path = out / "checkpoint.npz", out / "metrics.json"
    metrics = {"config": {**dataclasses.asdict(config), **{k: getattr(args, k) for k in (
                   "batch_size", "max_iters", "lr", "min_lr", "warmup_iters", "weight_decay", "beta1", "beta2",
                   "grad_clip", "eval_interval", "eval_iters", "seed", "device")}, "lr_decay_iters": decay_iters},
               "parameters": model.get_num_params(non_embedding=False),
               "unigram_val_entropy": unigram_entropy(corpus.val_data),
               "evals": [], "train_loss": [], "interrupted": False}
    print(f"training a GPT of {metrics['parameters']:,} parameters ({args.n_layer} layers, {args.n_head} heads, "
          f"{args.n_embd} channels, context {args.block_size}) on tiny shakespeare, {args.max_iters} steps of "
          f"batch {args.batch_size}, AdamW lr {args.lr} (cosine to {args.min_lr}), seed {args.seed}, "
          f"on {args.device}; unigram baseline on val: {metrics['unigram_val_entropy']:.4f}")
    best, saved, tokens = math.inf, None, args.batch_size * args.block_size
    bar = progress(range(args.max_iters + 1), args.progress, unit="step", file=sys.stderr, leave=False)
    say = bar.write if hasattr(bar, "write") else print
    try:
        for it in bar:
            if it % args.eval_interval == 0 or it == args.max_iters:
                losses = estimate_loss(model, splits, args.eval_iters, args.block_size, args.batch_size,
                                       eval_batches, device=args.device)
                seconds = time.perf_counter() - started
                metrics["evals"].append({"iter": it, **losses, "seconds": seconds})
                improved = losses["val"] < best
                # The checkpoint first, then the metrics that describe it, both before an
                # interrupt is handled: metrics.json never names a step checkpoint.npz lacks.
                try:
                    with signals_deferred():
                        if improved:
                            best = losses["val"]
                            save_checkpoint(checkpoint, model, config, corpus, it, losses)
                            saved = it
                        write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
                except OSError as error:  # a full disk, a directory changed under the run
                    raise CLIError(f"--out {out}: cannot save step {it}: {error.strerror or error}"
                                   f"{_kept(saved, checkpoint)}") from None
                say(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f} "
                    f"({seconds:.0f} s{', saved' if improved else ''})")
            if it == args.max_iters:
                break
            t0 = time.perf_counter()
            x, y = to_tensors(minigrad, args.device, *get_batch(corpus.train_data, args.block_size,
                                                                args.batch_size, batches))
            lr = nanogpt_lr(it, args.lr, args.min_lr, args.warmup_iters, decay_iters)
            loss = training_step(model, optimizer, x, y, lr, args.grad_clip).item()
            if not math.isfinite(loss):
                raise CLIError(f"the loss became {loss} at step {it}; try a smaller --lr than {args.lr}"
                               + (f" or a smaller --grad-clip than {args.grad_clip}" if args.grad_clip else
                                  " or clip the gradients (--grad-clip 1)") + _kept(saved, checkpoint))
            metrics["train_loss"].append(loss)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tokens / (time.perf_counter() - t0):,.0f}",
                                refresh=False)
    except (KeyboardInterrupt, Terminated) as stop:
        ignore_stop_signals()
        metrics["interrupted"] = True
        if saved is not None:
            write_text_atomic(metrics_path, json.dumps(metrics, indent=1))
        kept = (f"the checkpoint of step {saved} (the best so far) is intact at {checkpoint}" if saved is not None
                else "this run wrote no checkpoint")
        print(f"\n{stop_name(stop)} at step {len(metrics['train_loss'])}; {kept}", file=sys.stderr)
        return end_interrupted_job(stop)
    seconds = time.perf_counter() - started
    last = metrics["evals"][-1]
    metrics["final"] = {"train_loss": last["train"], "val_loss": last["val"], "best_val_loss": best,
                        "seconds": seconds, "tokens_per_second": tokens * args.max_iters / seconds}
    plot_note = write_final_files(out, metrics, plot_curves, _kept(saved, checkpoint))
    print(f"validation loss {last['val']:.4f} after {args.max_iters} steps in {seconds:.0f} s "
          f"(unigram baseline {metrics['unigram_val_entropy']:.4f}, best {best:.4f})")
    print(f"wrote {checkpoint}, {metrics_path}; {plot_note}")
    return 0


def _kept(saved, checkpoint: Path) -> str:
    """For an error message: the checkpoint this run leaves, if it wrote one and it is there."""
    return f"; the checkpoint of step {saved} is kept at {checkpoint}" if saved is not None and checkpoint.is_file() else ""


def load_checkpoint(path: str):
    """(model, vocab, checkpoint) from a file ``gpt train`` wrote; CLIError for anything else."""
    ckpt = read_checkpoint(path, CHECKPOINT_KIND, "minigrad gpt train")
    fields = {f.name for f in dataclasses.fields(GPTConfig)}
    try:
        config = GPTConfig(**{k: v for k, v in dict(ckpt["config"]).items() if k in fields})
        vocab = CharVocab(str(ckpt["vocab"]))
        if vocab.vocab_size != config.vocab_size:
            raise ValueError(f"its vocabulary has {vocab.vocab_size} characters, its config says {config.vocab_size}")
        model = GPT(config)
    except (KeyError, TypeError, ValueError, AssertionError) as error:
        raise CLIError(f"--checkpoint {path} does not describe a GPT this version can rebuild: {error}") from None
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError) as error:  # load_state_dict lists every mismatch, one per line
        problems = [line.strip() for line in str(error).splitlines()[1:]] or [str(error)]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CLIError(f"--checkpoint {path}: its weights do not fit the GPT its configuration describes: "
                       f"{problems[0]}{more}") from None
    return model, vocab, ckpt


def sample(args) -> int:
    """``minigrad gpt sample``: print ``--num-samples`` texts generated from a checkpoint after
    ``--prompt``; returns the exit status."""
    model, vocab, ckpt = load_checkpoint(args.checkpoint)
    model = to_device(model, args.device)
    model.eval()
    try:
        start = vocab.encode(args.prompt)
    except ValueError as error:
        raise CLIError(f"--prompt: {error}") from None
    if len(start) == 0:
        raise CLIError("--prompt is empty; give at least one character (the default is a newline)")
    minigrad.manual_seed(args.seed)
    idx = minigrad.tensor(start[None, :]).to(args.device)
    for i in range(args.num_samples):
        out = model.generate(idx, args.max_new_tokens, temperature=args.temperature, top_k=args.top_k)
        if i:
            print("---------------")
        print(vocab.decode(out[0]))
    return 0


# --- argument parsing ---------------------------------------------------------------------

def _bounded(kind, low, high=math.inf, low_ok=True):
    """An argparse type: a ``kind`` in [low, high) (or (low, high) without ``low_ok``)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from None
        if not (low <= value if low_ok else low < value) or not value < high:
            lo = "[" if low_ok else "("
            raise argparse.ArgumentTypeError(f"must be in {lo}{low}, {high}), got {text}")
        return value
    return parse


def add_parser(commands, positive) -> None:
    """Add ``gpt train`` and ``gpt sample`` to the ``minigrad`` command's subparsers;
    ``positive(kind)`` is the command line's type for a positive int or float."""
    g = commands.add_parser("gpt", help="train a character-level GPT on tiny shakespeare, or sample from one",
                            description="A character-level GPT (minigrad.models.gpt) on the bundled tiny "
                                        "shakespeare corpus: 'gpt train', then 'gpt sample'.")
    sub = g.add_subparsers(dest="gpt_command", metavar="{train,sample}", parser_class=type(g))
    g.set_defaults(func=lambda args: g.error("choose a command: gpt train or gpt sample"))
    d = DEFAULTS
    t = sub.add_parser("train", help="train a GPT", description="Train a GPT on tiny shakespeare; see "
                       "'minigrad gpt --help'. The defaults are nanoGPT's CPU configuration.")
    for flag, kind, help_text in (
            ("--n-layer", int, "transformer blocks"), ("--n-head", int, "attention heads per block"),
            ("--n-embd", int, "channels (a multiple of --n-head)"),
            ("--block-size", int, "characters of context"), ("--batch-size", int, "windows per step"),
            ("--max-iters", int, "training steps"), ("--lr", float, "peak learning rate"),
            ("--eval-interval", int, "steps between loss estimates (and checkpoints)"),
            ("--eval-iters", int, "batches per loss estimate")):
        t.add_argument(flag, type=positive(kind), default=d[flag[2:].replace("-", "_")],
                       help=f"{help_text} (default {d[flag[2:].replace('-', '_')]})")
    t.add_argument("--min-lr", type=_bounded(float, 0), default=d["min_lr"],
                   help=f"learning rate at the end of the cosine decay (default {d['min_lr']})")
    t.add_argument("--warmup-iters", type=_bounded(int, 0), default=d["warmup_iters"],
                   help=f"steps of linear warm-up (default {d['warmup_iters']})")
    t.add_argument("--lr-decay-iters", type=positive(int), default=None,
                   help="step at which the cosine reaches --min-lr (default: --max-iters)")
    t.add_argument("--weight-decay", type=_bounded(float, 0), default=d["weight_decay"],
                   help=f"AdamW's decay of the matrices (default {d['weight_decay']})")
    t.add_argument("--beta1", type=_bounded(float, 0, 1), default=d["beta1"])
    t.add_argument("--beta2", type=_bounded(float, 0, 1), default=d["beta2"])
    t.add_argument("--grad-clip", type=_bounded(float, 0), default=d["grad_clip"],
                   help=f"clip the gradients' norm to this; 0: no clipping (default {d['grad_clip']})")
    t.add_argument("--dropout", type=_bounded(float, 0, 1), default=d["dropout"],
                   help=f"dropout rate in [0, 1) (default {d['dropout']})")
    t.add_argument("--bias", action="store_true", help="biases in the Linear layers and LayerNorms")
    t.add_argument("--no-tie-weights", dest="tie_weights", action="store_false",
                   help="a head of its own instead of the token-embedding table")
    t.add_argument("--seed", type=_bounded(int, 0), default=0)
    t.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    t.add_argument("--out", default="runs/gpt", metavar="DIR",
                   help="where checkpoint.npz, metrics.json, curves.png go (default runs/gpt)")
    t.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    t.set_defaults(func=train)

    s = sub.add_parser("sample", help="print text generated by a trained GPT",
                       description="Generate text from a checkpoint written by 'minigrad gpt train'.")
    s.add_argument("--checkpoint", required=True, metavar="PATH")
    s.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    s.add_argument("--max-new-tokens", type=positive(int), default=500, help="characters to generate (default 500)")
    s.add_argument("--temperature", type=positive(float), default=0.8,
                   help="below 1: likelier characters, above 1: more surprising ones (default 0.8)")
    s.add_argument("--top-k", type=positive(int), default=None,
                   help="draw only from the k likeliest characters (default: all)")
    s.add_argument("--num-samples", type=positive(int), default=1)
    s.add_argument("--seed", type=_bounded(int, 0), default=0)
    s.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    s.set_defaults(func=sample)

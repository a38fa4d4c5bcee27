"""The GPT of minigrad/models/gpt.py and ``python -m minigrad gpt``: shapes, learning, sampling,
gradients, the same file on PyTorch, checkpoints and the command line's errors. Tiny configs only:
the reference run (nanoGPT's CPU configuration) is ``python -m benchmarks.gpt --train``."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import cli
from minigrad.datasets import TinyShakespeare
from minigrad.gpt_cli import get_batch, load_checkpoint, nanogpt_lr, unigram_entropy
from minigrad.models.gpt import GPT, GPTConfig
from test_cli import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(block_size=8, vocab_size=11, n_layer=2, n_head=2, n_embd=8)


def tiny(seed=0, **overrides):
    minigrad.manual_seed(seed)
    return GPT(GPTConfig(**{**TINY, **overrides}))


def tokens(*shape, vocab=11, seed=1):
    return minigrad.tensor(np.random.default_rng(seed).integers(0, vocab, shape))


# --- the model ---------------------------------------------------------------------------------

def test_forward_shapes_and_the_last_position_alone_without_targets():
    model = tiny()
    idx = tokens(3, 8)
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, 11) and loss.shape == () and loss.dtype == minigrad.float32
    last, none = model(idx)
    assert last.shape == (3, 1, 11) and none is None
    np.testing.assert_allclose(last.detach().numpy()[:, 0], logits.detach().numpy()[:, -1], rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="block size is only 8"):
        model(tokens(1, 9))


def test_initial_loss_is_that_of_uniform_guessing_and_parameters_are_counted_once():
    model = tiny(n_embd=16, vocab_size=65)
    idx, targets = tokens(4, 8, vocab=65, seed=1), tokens(4, 8, vocab=65, seed=2)
    assert abs(float(model(idx, targets)[1]) - np.log(65)) < 0.05  # N(0, 0.02) weights: near-uniform logits
    # tied: the head's weight is the embedding table, listed once among the parameters
    assert model.lm_head.weight is model.transformer.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "transformer.wte.weight" in names and "lm_head.weight" not in names
    untied = tiny(n_embd=16, vocab_size=65, tie_weights=False)
    assert untied.get_num_params() == model.get_num_params() + 65 * 16
    assert model.get_num_params(non_embedding=False) == sum(p.numel() for p in model.parameters())
    assert model.get_num_params() == model.get_num_params(non_embedding=False) - 8 * 16


def test_gpt2_initialisation_scales_the_residual_projections():
    model = tiny(n_embd=64, n_layer=4, vocab_size=65, block_size=64)
    std = {n: float(p.detach().numpy().std()) for n, p in model.named_parameters() if p.ndim == 2}
    for name, s in std.items():
        want = 0.02 / np.sqrt(2 * 4) if name.endswith("c_proj.weight") else 0.02
        assert abs(s - want) < 0.15 * want, (name, s, want)


def test_loss_falls_when_training_on_a_tiny_slice():
    model = tiny(n_layer=1, n_embd=16, vocab_size=65, block_size=16)
    optimizer = model.configure_optimizers(0.1, 1e-2, (0.9, 0.99))
    data = TinyShakespeare().train_data[:2000]
    x, y = (minigrad.tensor(a) for a in get_batch(data, 16, 8, np.random.default_rng(0)))
    losses = []
    for _ in range(30):
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < 0.6 * losses[0], losses  # one batch, learnt by heart


def test_dropout_acts_in_training_mode_only():
    model = tiny(dropout=0.5)
    idx = tokens(2, 8)
    a, b = model(idx, idx)[1], model(idx, idx)[1]
    assert float(a) != float(b)  # embeddings, attention weights, residual branches: new masks each call
    model.eval()
    assert float(model(idx, idx)[1]) == float(model(idx, idx)[1])
    assert float(model(idx, idx)[1]) == float(tiny(dropout=0.0).eval()(idx, idx)[1])  # same weights, no masks


def test_configure_optimizers_decays_matrices_only():
    model = tiny(bias=True)
    decay, no_decay = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95)).param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_generate_is_reproducible_under_a_seed_and_top_k_1_is_greedy():
    model = tiny().eval()
    start = tokens(2, 3)
    minigrad.manual_seed(5)
    a = model.generate(start, 12, temperature=0.9, top_k=5)
    minigrad.manual_seed(5)
    b = model.generate(start, 12, temperature=0.9, top_k=5)
    minigrad.manual_seed(6)
    c = model.generate(start, 12, temperature=0.9, top_k=5)
    assert a.shape == (2, 15) and (a.numpy()[:, :3] == start.numpy()).all()
    assert (a.numpy() == b.numpy()).all() and not (a.numpy() == c.numpy()).all()
    # top_k=1 leaves one token: the argmax of the logits, whatever the seed; and the context is
    # cropped to the last block_size tokens once the sequence outgrows it
    greedy = model.generate(start, 10, top_k=1).numpy()
    idx = start.numpy()
    for _ in range(10):
        logits, _ = model(minigrad.tensor(idx[:, -8:]))
        idx = np.concatenate([idx, logits.detach().numpy()[:, -1].argmax(-1)[:, None]], axis=1)
    assert (greedy == idx).all()


def test_gradients_of_a_tiny_gpt_against_central_differences():
    """Every parameter of a one-layer GPT with biases, float64, element by element (both the
    loss and the logits, each against a random upstream gradient), tied and untied."""
    for tie in (True, False):
        model = tiny(n_layer=1, n_embd=4, vocab_size=5, block_size=4, bias=True, tie_weights=tie).double()
        idx, targets = tokens(2, 4, vocab=5, seed=3), tokens(2, 4, vocab=5, seed=4)
        params = list(model.parameters())
        assert minigrad.gradcheck(lambda *_: model(idx, targets)[1], params)
        assert minigrad.gradcheck(lambda *_: model(idx, targets)[0], params)


def test_gradient_along_random_directions_of_all_parameters_at_a_larger_size():
    """d/de L(theta + e v) by central differences against sum(grad * v), for three random unit
    directions v through all 10k parameters at once (float64)."""
    model = tiny(n_layer=2, n_embd=16, vocab_size=65, block_size=16).double()
    idx, targets = tokens(3, 16, vocab=65, seed=5), tokens(3, 16, vocab=65, seed=6)
    params = list(model.parameters())
    model(idx, targets)[1].backward()
    grads = [p.grad.numpy().copy() for p in params]
    rng, eps = np.random.default_rng(0), 1e-6
    for _ in range(3):
        v = [rng.standard_normal(p.shape) for p in params]
        norm = np.sqrt(sum(float((d * d).sum()) for d in v))
        v = [d / norm for d in v]
        values = []
        for sign in (1, -1):
            for p, d in zip(params, v):
                p.data += sign * eps * d
            with minigrad.no_grad():
                values.append(float(model(idx, targets)[1]))
            for p, d in zip(params, v):
                p.data -= sign * eps * d
        numerical = (values[0] - values[1]) / (2 * eps)
        analytic = sum(float((g * d).sum()) for g, d in zip(grads, v))
        assert abs(numerical - analytic) <= 1e-9 + 1e-6 * abs(analytic), (numerical, analytic)


# --- the same file on PyTorch --------------------------------------------------------------------

@pytest.mark.parametrize("tie", [True, False], ids=["tied", "untied"])
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
def test_the_model_file_runs_on_pytorch_with_its_imports_swapped(tie, bias):
    torch = pytest.importorskip("torch")
    from benchmarks.gpt import IMPORTS, copy_weights, torch_gpt

    source = (ROOT / "minigrad" / "models" / "gpt.py").read_text()
    swapped = source
    for ours, theirs in IMPORTS.items():
        swapped = swapped.replace(ours, theirs)
    changed = [(a, b) for a, b in zip(source.splitlines(), swapped.splitlines()) if a != b]
    assert len(changed) == 3 and all(a.startswith(("import minigrad", "from minigrad")) for a, _ in changed)

    config = dict(TINY, bias=bias, tie_weights=tie)
    model = tiny(**config).double()
    gpt = torch_gpt()
    torch_model = gpt.GPT(gpt.GPTConfig(**config)).double()
    copy_weights(model, torch_model)
    idx, targets = np.random.default_rng(7).integers(0, 11, (2, 2, 8))
    logits, loss = model(minigrad.tensor(idx), minigrad.tensor(targets))
    loss.backward()
    t_logits, t_loss = torch_model(torch.from_numpy(idx), torch.from_numpy(targets))
    t_loss.backward()
    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert abs(float(loss) - t_loss.item()) < 1e-12
    ours = dict(model.named_parameters())
    theirs = dict(torch_model.named_parameters())
    assert ours.keys() == theirs.keys() and model.state_dict().keys() == torch_model.state_dict().keys()
    from benchmarks.gpt import linear_weights
    transposed = linear_weights(model)
    for name, p in theirs.items():
        g = p.grad.numpy()
        np.testing.assert_allclose(ours[name].grad.numpy(), g.T if name in transposed else g,
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    # greedy generation (top_k=1 draws the argmax whatever the generator) gives the same text
    model.eval(), torch_model.eval()
    start = idx[:, :3]
    np.testing.assert_array_equal(model.generate(minigrad.tensor(start), 10, top_k=1).numpy(),
                                  torch_model.generate(torch.from_numpy(start), 10, top_k=1).numpy())


def test_benchmark_runs_the_same_recipe_on_both_frameworks():
    """benchmarks/gpt.py --quick: 20 steps of a tiny GPT from the same weights on the same batches;
    the float32 losses of minigrad and PyTorch agree. Measures nothing."""
    pytest.importorskip("torch")
    from benchmarks import gpt

    runs = [gpt.main(["--quick", "--train", fw]) for fw in ("minigrad", "torch")]
    np.testing.assert_allclose(runs[0]["train_loss"], runs[1]["train_loss"], rtol=1e-4)
    assert runs[0]["train_loss"][-1] < runs[0]["train_loss"][0]
    report = gpt.main(["--quick"])
    assert report["step"]["max_loss_diff"] < 1e-4
    assert set(report["profiles"]) == {"minigrad", "torch"}


# --- the recipe's helpers ------------------------------------------------------------------------

def test_get_batch_targets_are_the_inputs_shifted_by_one():
    data = np.arange(100)
    x, y = get_batch(data, 7, 5, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 7) and x.dtype == np.int64
    assert (y == x + 1).all() and x.max() < 100 and y.max() < 100


def test_nanogpt_schedule_warms_up_then_follows_the_cosine_down_to_min_lr():
    lr = [nanogpt_lr(it, 1e-3, 1e-4, 100, 2000) for it in range(2101)]
    assert lr[0] == pytest.approx(1e-3 / 101) and lr[99] == pytest.approx(1e-3 * 100 / 101)
    assert lr[100] == pytest.approx(1e-3) and lr[1050] == pytest.approx(5.5e-4)
    assert lr[2000] == pytest.approx(1e-4) and lr[2100] == 1e-4
    assert all(a >= b for a, b in zip(lr[100:], lr[101:]))


def test_unigram_entropy():
    assert unigram_entropy(np.array([0, 1, 0, 1])) == pytest.approx(np.log(2))
    assert unigram_entropy(np.array([3, 3, 3])) == 0.0


# --- the command line ----------------------------------------------------------------------------

TRAIN = ["gpt", "train", "--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16",
         "--batch-size", "8", "--max-iters", "40", "--eval-interval", "20", "--eval-iters", "2", "--warmup-iters", "5",
         "--no-progress"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpt")
    assert cli.main([*TRAIN, "--out", str(out)]) == 0
    return out


def test_train_writes_checkpoint_metrics_and_curves(trained, capsys):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert [e["iter"] for e in metrics["evals"]] == [0, 20, 40]
    assert len(metrics["train_loss"]) == 40
    assert metrics["evals"][-1]["val"] < metrics["evals"][0]["val"]
    assert metrics["unigram_val_entropy"] == pytest.approx(3.3373, abs=1e-4)
    assert metrics["config"]["n_embd"] == 16 and metrics["config"]["lr_decay_iters"] == 40
    model, vocab, ckpt = load_checkpoint(str(trained / "checkpoint.npz"))
    assert vocab.vocab_size == 65 and model.config.n_embd == 16 and int(ckpt["iter"]) == 40
    assert float(ckpt["val_loss"]) == pytest.approx(metrics["final"]["best_val_loss"])
    if (trained / "curves.png").exists():
        assert (trained / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_repeats_under_a_seed(trained, tmp_path):
    assert cli.main([*TRAIN, "--max-iters", "20", "--out", str(tmp_path)]) == 0
    again = json.loads((tmp_path / "metrics.json").read_text())["train_loss"]
    first = json.loads((trained / "metrics.json").read_text())["train_loss"]
    # the same losses while the learning rates are the same: warm-up, then the top of the cosine
    # (from the step after, the cosine decays over the other --max-iters)
    assert again[:7] == first[:7] and again[7] != first[7]


def test_sample_from_the_checkpoint_prints_the_prompt_and_its_continuation(trained):
    args = ["gpt", "sample", "--checkpoint", trained / "checkpoint.npz", "--prompt", "ROMEO:",
            "--max-new-tokens", "50", "--top-k", "10", "--seed", "3"]
    first, second = run_cli(*args), run_cli(*args)
    assert first.returncode == 0, first.stderr
    text = first.stdout[:-1]  # print's newline
    assert text.startswith("ROMEO:") and len(text) == 56
    assert first.stdout == second.stdout
    two = run_cli(*args, "--num-samples", "2")
    assert two.returncode == 0 and two.stdout.count("---------------") == 1


def test_cli_errors_are_one_clear_line(trained, tmp_path):
    assert_one_line_error(run_cli("gpt"), "choose a command: gpt train or gpt sample")
    assert_one_line_error(run_cli("gpt", "train", "--n-embd", "30", "--n-head", "4"),
                          "--n-embd 30 is not a multiple of --n-head 4")
    assert_one_line_error(run_cli("gpt", "train", "--dropout", "1"), "--dropout", "[0, 1)")
    assert_one_line_error(run_cli("gpt", "train", "--max-iters", "0"), "--max-iters", "positive")
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", tmp_path / "nothing.npz"), "no such file")
    minigrad.save({"kind": "minigrad.cli mlp"}, str(tmp_path / "mlp.npz"))
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", tmp_path / "mlp.npz"),
                          "was not written by 'minigrad gpt train'")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", tmp_path / "junk.npz"), "not a minigrad checkpoint")
    ckpt = minigrad.load(str(trained / "checkpoint.npz"))
    ckpt["config"]["n_embd"] = 32
    minigrad.save(ckpt, str(tmp_path / "edited.npz"))
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", tmp_path / "edited.npz"),
                          "weights do not fit the GPT its configuration describes", "(65, 16)", "9 more")
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", trained / "checkpoint.npz", "--prompt", "naïve €"),
                          "--prompt", "'ï' is not in the vocabulary")
    assert_one_line_error(run_cli("gpt", "sample", "--checkpoint", trained / "checkpoint.npz", "--temperature", "0"),
                          "--temperature", "positive")


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning", "ignore:overflow:RuntimeWarning")
def test_a_diverging_run_stops_with_an_error(tmp_path, capsys):
    code = cli.main([*TRAIN, "--lr", "1e6", "--grad-clip", "0", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    # at lr 1e6 the loss leaves the floats within a few steps
    assert code == 2 and "the loss became" in err and "try a smaller --lr" in err


def test_ctrl_c_keeps_the_best_checkpoint_and_a_second_run_cannot_share_the_directory(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    args = [*TRAIN, "--max-iters", "100000", "--eval-interval", "5", "--out", tmp_path]
    run = subprocess.Popen([sys.executable, "-m", "minigrad", *map(str, args)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "checkpoint.npz").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "checkpoint.npz").exists(), "no checkpoint within 60 s"
        assert_one_line_error(run_cli(*TRAIN, "--out", tmp_path), "is in use by another")
        time.sleep(0.5)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert "interrupted at step" in err and "(the best so far) is intact at" in err and "Traceback" not in err
    model, _, ckpt = load_checkpoint(str(tmp_path / "checkpoint.npz"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] and int(ckpt["iter"]) in [e["iter"] for e in metrics["evals"]]

"""The main job end to end: ``python -m minigrad train`` / ``evaluate``, its files and errors."""

import importlib.util
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
from minigrad.datasets import write_idx

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=120, **env_vars):
    """``python -m minigrad ARGS`` in a fresh process, as a user would type it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_vars}
    return subprocess.run([sys.executable, "-m", "minigrad", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minigrad: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def train_in_process(out, *extra):
    code = cli.main(["train", "--epochs", "3", "--no-progress", "--out", str(out), *extra])
    assert code == 0
    return json.loads((out / "metrics.json").read_text())


# --- end to end -------------------------------------------------------------------------

def test_train_on_bundled_sample_reaches_85_percent_and_repeats(tmp_path, capsys):
    first = train_in_process(tmp_path / "a", "--seed", "3")
    printed = capsys.readouterr().out
    assert "held-out accuracy" in printed and "epoch 3/3" in printed
    assert first["final"]["held_out_accuracy"] >= 0.85
    assert [e["epoch"] for e in first["epochs"]] == [1, 2, 3]
    assert len(first["batch_loss"]) == 3 * first["batches_per_epoch"]
    assert first["epochs"][-1]["train_loss"] < first["epochs"][0]["train_loss"]
    assert (tmp_path / "a" / "checkpoint.npz").is_file()
    if importlib.util.find_spec("matplotlib") is not None:     # the optional 'plot' extra
        assert (tmp_path / "a" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "plot skipped" in printed

    second = train_in_process(tmp_path / "b", "--seed", "3")
    assert second["final"]["train_loss"] == first["final"]["train_loss"]
    assert second["batch_loss"] == first["batch_loss"]
    other = train_in_process(tmp_path / "c", "--seed", "4", "--epochs", "1")
    per_epoch = first["batches_per_epoch"]
    assert other["batch_loss"] != first["batch_loss"][:per_epoch]


def test_article_preset_is_plain_sgd_at_lr_0_01_and_options_still_win(tmp_path):
    article = train_in_process(tmp_path / "a", "--preset", "article", "--epochs", "1")
    config = article["config"]
    assert (config["preset"], config["optimizer"], config["lr"], config["momentum"]) == \
        ("article", "sgd", 0.01, 0.0)
    tuned = train_in_process(tmp_path / "t", "--epochs", "1")["config"]
    assert (tuned["preset"], tuned["lr"], tuned["momentum"]) == ("tuned", 0.1, 0.9)
    assert article["batch_loss"] != train_in_process(tmp_path / "t2", "--epochs", "1")["batch_loss"]
    mixed = train_in_process(tmp_path / "m", "--preset", "article", "--lr", "0.05", "--epochs", "1")
    assert (mixed["config"]["lr"], mixed["config"]["momentum"]) == (0.05, 0.0)


def test_article_preset_with_adam():
    assert_one_line_error(run_cli("train", "--preset", "article", "--optimizer", "adam"),
                          "--preset article trains with sgd")


def test_evaluate_reports_accuracy_and_confusion_matrix(tmp_path):
    metrics = train_in_process(tmp_path, "--hidden", "32", "--epochs", "2")
    result = run_cli("evaluate", "--checkpoint", tmp_path / "checkpoint.npz")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    correct = round(metrics["final"]["held_out_accuracy"] * 1000)
    assert f"accuracy {correct / 10:.2f}% ({correct}/1000)" in result.stdout
    header = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    rows = [list(map(int, line.split()))[1:] for line in lines[header + 2: header + 12]]
    matrix = np.array(rows)
    assert matrix.shape == (10, 10) and matrix.sum() == 1000 and np.trace(matrix) == correct
    assert (matrix.sum(axis=1) == 100).all()          # 100 held-out digits per class


def test_full_dataset_from_data_dir_offline(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 64), ("t10k", 20)):
        write_idx(data / f"{split}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(data / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    result = run_cli("train", "--dataset", "mnist", "--data-dir", data, "--epochs", "1",
                     "--batch-size", "16", "--out", tmp_path / "out", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "64 train / 20 held-out images" in result.stdout
    saved = minigrad.load(tmp_path / "out" / "checkpoint.npz")
    assert saved["dataset"] == "mnist" and saved["data_dir"] == str(data)


def test_progress_bar_shows_running_loss(tmp_path):
    pytest.importorskip("tqdm")
    # An epoch can end inside tqdm's default 0.1 s between redraws: redraw on every batch.
    result = run_cli("train", "--epochs", "1", "--out", tmp_path, TQDM_MININTERVAL="0")
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stderr and "63/63" in result.stderr     # 4000 / 64
    assert "loss=" in result.stderr


def test_plot_skipped_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # import matplotlib now fails
    assert cli.main(["train", "--epochs", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    assert "plot skipped: matplotlib is not installed" in capsys.readouterr().out
    assert not (tmp_path / "curves.png").exists()


def test_ctrl_c_keeps_last_complete_checkpoint(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "minigrad", "train", "--epochs", "10000",
                             "--no-progress", "--out", str(tmp_path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "checkpoint.npz").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"intact at {tmp_path / 'checkpoint.npz'}" in err
    saved = minigrad.load(tmp_path / "checkpoint.npz")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] and saved["epoch"] >= 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files
    result = run_cli("evaluate", "--checkpoint", tmp_path / "checkpoint.npz")
    assert result.returncode == 0 and "accuracy" in result.stdout


# --- bad input: one line, exit 2, no traceback ------------------------------------------

def test_unknown_dataset():
    assert_one_line_error(run_cli("train", "--dataset", "cifar10"),
                          "--dataset", "invalid choice: 'cifar10'")


def test_data_dir_without_files(tmp_path):
    assert_one_line_error(run_cli("train", "--dataset", "mnist", "--data-dir", tmp_path),
                          f"--data-dir {tmp_path} has no MNIST files",
                          "train-images-idx3-ubyte[.gz]", "--download")


def test_data_dir_with_bundled_sample():
    assert_one_line_error(run_cli("train", "--data-dir", "/tmp"), "--data-dir is for")


@pytest.mark.parametrize("option,value", [("--batch-size", "0"), ("--batch-size", "-4"),
                                          ("--lr", "0"), ("--lr", "-0.1"), ("--lr", "nan"),
                                          ("--epochs", "0")])
def test_non_positive_numbers(option, value):
    assert_one_line_error(run_cli("train", option, value), option, "must be positive")


def test_momentum_with_adam():
    assert_one_line_error(run_cli("train", "--optimizer", "adam", "--momentum", "0.5"),
                          "--momentum is for --optimizer sgd")


def test_checkpoint_of_different_architecture(tmp_path):
    train_in_process(tmp_path, "--hidden", "16", "--epochs", "1")
    path = tmp_path / "checkpoint.npz"
    assert_one_line_error(run_cli("evaluate", "--checkpoint", path, "--hidden", "100"),
                          "holds a 784-16-10 relu network, not the --hidden 100 one")
    # Weights that contradict the recorded architecture.
    ckpt = minigrad.load(path)
    ckpt["arch"]["hidden"] = 100
    minigrad.save(ckpt, tmp_path / "edited.npz")
    assert_one_line_error(run_cli("evaluate", "--checkpoint", tmp_path / "edited.npz"),
                          "do not fit the recorded 784-100-10 architecture")


def test_checkpoint_not_from_train(tmp_path):
    minigrad.save({"weights": minigrad.zeros(3)}, tmp_path / "other.npz")
    assert_one_line_error(run_cli("evaluate", "--checkpoint", tmp_path / "other.npz"),
                          "was not written by 'minigrad train'")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    assert_one_line_error(run_cli("evaluate", "--checkpoint", tmp_path / "junk.npz"),
                          "is not a minigrad checkpoint")
    assert_one_line_error(run_cli("evaluate", "--checkpoint", tmp_path / "missing.npz"),
                          "no such file")


def test_no_command():
    assert_one_line_error(run_cli(), "choose a command")


@pytest.mark.skipif(minigrad.cuda.is_available(), reason="a GPU is present: cuda works here")
def test_cuda_without_gpu_is_a_clear_error(tmp_path):
    assert_one_line_error(run_cli("train", "--device", "cuda", "--out", tmp_path),
                          "--device cuda: ", "CUDA was asked for")

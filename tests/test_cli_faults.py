"""``python -m minigrad train`` / ``evaluate`` tell the truth when things go wrong: what an
interrupt says was kept is on disk, one run per --out, bad options and edited checkpoints get
one line, a diverging run is stopped. Each test injects its fault itself."""
import contextlib
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
from minigrad.cli_guards import LOCK_NAME
from minigrad.datasets import write_idx

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "minigrad", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def start_cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "minigrad", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minigrad: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)


# --- interrupts -------------------------------------------------------------------------

# Ctrl-C (or SIGTERM) delivered while the checkpoint of epoch `epoch` is being written: the
# wrapper signals its own process on entering save(), then lets the save run.
INTERRUPT_DURING_SAVE = """
import os, signal, sys
import minigrad
from minigrad.cli import main
real_save, calls = minigrad.save, []
def save(*args, **kwargs):
    calls.append(1)
    if len(calls) == int(sys.argv[1]):
        os.kill(os.getpid(), int(sys.argv[2]))
    real_save(*args, **kwargs)
minigrad.save = save
sys.exit(main(["train", "--epochs", "5", "--no-progress", "--hidden", "16", "--out", sys.argv[3]]))
"""


@pytest.mark.parametrize("epoch, signum", [(1, signal.SIGINT), (2, signal.SIGINT), (2, signal.SIGTERM)])
def test_interrupt_during_save_claims_only_what_is_on_disk(tmp_path, epoch, signum):
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_DURING_SAVE, str(epoch), str(int(signum)), str(tmp_path)],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 128 + signum, proc.stderr
    assert "Traceback" not in proc.stderr
    claim = f"the checkpoint of epoch {epoch} is intact at {tmp_path / 'checkpoint.npz'}"
    assert claim in proc.stderr, proc.stderr
    assert minigrad.load(tmp_path / "checkpoint.npz")["epoch"] == epoch
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == list(range(1, epoch + 1)) and metrics["interrupted"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.npz", "metrics.json"]  # no temp or lock file


def test_sigterm_ends_a_run_like_ctrl_c(tmp_path):
    proc = start_cli("train", "--epochs", 10_000, "--no-progress", "--out", tmp_path)
    try:
        wait_for(tmp_path / "checkpoint.npz", proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err, err
    epoch = int(err.split("the checkpoint of epoch ")[1].split()[0])
    assert minigrad.load(tmp_path / "checkpoint.npz")["epoch"] == epoch


# --- one run per --out ------------------------------------------------------------------

def test_a_second_run_into_the_same_out_is_refused(tmp_path):
    first = start_cli("train", "--epochs", 10_000, "--no-progress", "--out", tmp_path)
    try:
        wait_for(tmp_path / "checkpoint.npz", first)
        second = run_cli("train", "--epochs", 1, "--no-progress", "--out", tmp_path)
        one_line_error(second, f"--out {tmp_path} is in use by another 'minigrad train' (pid {first.pid})")
        assert second.stdout == ""  # refused before loading data or training
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=30)
    finally:
        first.kill()
    assert first.returncode == 130, err
    # the first run's files are its own: the refused run wrote nothing
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["epochs"] == 10_000
    # the lock went with the first run, so a third run may use the directory
    third = run_cli("train", "--epochs", 1, "--no-progress", "--out", tmp_path)
    assert third.returncode == 0, third.stderr


def test_a_killed_run_leaves_no_lock_behind(tmp_path):
    proc = start_cli("train", "--epochs", 10_000, "--no-progress", "--out", tmp_path)
    try:
        wait_for(tmp_path / "checkpoint.npz", proc)
    finally:
        proc.kill()  # SIGKILL: nothing of ours runs, the lock file stays
        proc.communicate()
    assert (tmp_path / LOCK_NAME).exists()
    after = run_cli("train", "--epochs", 1, "--no-progress", "--out", tmp_path)
    assert after.returncode == 0, after.stderr
    assert not (tmp_path / LOCK_NAME).exists()


# --- bad input: one line, before any training -------------------------------------------

def test_negative_seed():
    one_line_error(run_cli("train", "--seed", "-1"), "--seed", "must be 0 or more")


def test_hidden_too_large_for_memory_is_refused_before_allocating(tmp_path):
    start = time.monotonic()
    line = one_line_error(run_cli("train", "--hidden", 1_000_000_000, "--out", tmp_path), "--hidden 1000000000",
                          "of memory", "choose a smaller --hidden")
    assert "TiB" in line and time.monotonic() - start < 20


def test_out_where_an_output_is_a_directory(tmp_path):
    (tmp_path / "checkpoint.npz").mkdir()
    result = run_cli("train", "--epochs", 1, "--no-progress", "--out", tmp_path)
    one_line_error(result, f"{tmp_path / 'checkpoint.npz'} is not a file")
    assert "epoch 1/1" not in result.stdout  # checked before training, not after the first epoch


def test_out_that_stops_being_writable_during_the_run(tmp_path):
    """checkpoint.npz replaced by a directory between two epochs: the next save fails, in one
    line that names the epoch the run could not save, and claims no checkpoint (it is gone)."""
    proc = start_cli("train", "--epochs", 10_000, "--no-progress", "--hidden", 16, "--out", tmp_path)
    try:
        wait_for(tmp_path / "checkpoint.npz", proc)
        while proc.poll() is None:  # the run may replace the file between our unlink and mkdir
            with contextlib.suppress(FileNotFoundError, FileExistsError, IsADirectoryError):
                (tmp_path / "checkpoint.npz").unlink()
                (tmp_path / "checkpoint.npz").mkdir()
            time.sleep(0.01)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    line = one_line_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
                          f"--out {tmp_path}: cannot save epoch ")
    assert "is kept" not in line


def test_out_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    one_line_error(run_cli("train", "--out", tmp_path / "file" / "run"), f"--out {tmp_path / 'file' / 'run'}")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_out_where_no_file_can_be_created():
    """/proc takes no new files, even from root: refused before training, in one line."""
    result = run_cli("train", "--epochs", 1, "--no-progress", "--out", "/proc")
    one_line_error(result, "--out /proc cannot be written")
    assert "epoch 1/1" not in result.stdout


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_out_that_cannot_be_written(tmp_path):
    tmp_path.chmod(0o555)
    try:
        result = run_cli("train", "--epochs", 1, "--no-progress", "--out", tmp_path)
    finally:
        tmp_path.chmod(0o755)
    one_line_error(result, f"--out {tmp_path} cannot be written")
    assert "epoch 1/1" not in result.stdout


# --- evaluate: edited checkpoints, a data directory nobody passed --------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "--epochs", "1", "--hidden", "16", "--no-progress", "--out", str(out)]) == 0
    return minigrad.load(out / "checkpoint.npz")


def _drop(key):
    return lambda c: c.pop(key)


def _set(value, *keys):
    def edit(c):
        for key in keys[:-1]:
            c = c[key]
        c[keys[-1]] = value
    return edit


def _weights(make):
    def edit(c):
        c["model"]["0.weight"] = make(c["model"]["0.weight"].numpy())
    return edit


@pytest.mark.parametrize("edit, fragment", [
    (_drop("arch"), "the entry 'arch' should be a dict, found nothing"),
    (_set("sixteen", "arch", "hidden"), "the entry 'arch.hidden' should be an integer, found str 'sixteen'"),
    (_set(1_000_000_000, "arch", "hidden"), "do not fit the recorded 784-1000000000-10 architecture"),
    (_set(-3, "arch", "hidden"), "is not a network that this command builds"),
    (_set([1, 2], "model"), "the entry 'model' should be a dict of weights, found list"),
    (_set("cifar10", "dataset"), "the entry 'dataset' is 'cifar10', not one of"),
    (_set(None, "data_dir"), "the entry 'data_dir' should be a directory name"),
    (_set("three", "epoch"), "the entry 'epoch' should be an integer, found str"),
    (_weights(lambda w: np.full(w.shape, "x")), "the weight '0.weight' should be a floating-point array"),
    (_weights(lambda w: np.where(w > 0, np.nan, w)), "the weight 0.weight holds NaN or infinite values"),
    (_weights(lambda w: np.full_like(w, np.inf)), "the weight 0.weight holds NaN or infinite values"),
], ids=["no-arch", "hidden-str", "hidden-huge", "hidden-negative", "model-list", "dataset", "data-dir",
        "epoch-str", "str-weights", "nan-weights", "inf-weights"])
def test_edited_checkpoint_gets_one_line(tmp_path, checkpoint, capsys, edit, fragment):
    edited = {**checkpoint, "arch": dict(checkpoint["arch"]), "model": dict(checkpoint["model"])}
    edit(edited)
    minigrad.save(edited, tmp_path / "edited.npz")
    capsys.readouterr()
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "edited.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("minigrad: error: --checkpoint ") and fragment in err[0], err


def test_evaluate_does_not_blame_a_data_dir_nobody_passed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 20)):
        write_idx(data / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(data / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    assert cli.main(["train", "--dataset", "mnist", "--data-dir", str(data), "--epochs", "1", "--no-progress",
                     "--out", str(tmp_path / "run")]) == 0
    for f in data.iterdir():
        f.unlink()
    path = tmp_path / "run" / "checkpoint.npz"
    line = one_line_error(run_cli("evaluate", "--checkpoint", path),
                          f"the data directory {data} recorded in {path} has no MNIST files",
                          "pass --data-dir")
    assert not line.startswith("minigrad: error: --data-dir")
    # Another data set than the checkpoint's reads none of its recorded directory.
    other = run_cli("evaluate", "--checkpoint", path, "--dataset", "mnist-sample")
    assert other.returncode == 0 and "accuracy" in other.stdout, other.stderr


# --- divergence ---------------------------------------------------------------------------

@pytest.mark.parametrize("lr, fragment", [("10", "the loss grew from"), ("1e30", "the loss became nan")])
def test_divergence_ends_the_run(tmp_path, lr, fragment):
    result = run_cli("train", "--lr", lr, "--epochs", 3, "--no-progress", "--out", tmp_path)
    line = one_line_error(result, fragment, "training diverged", f"try a smaller --lr than {float(lr)}")
    assert "epoch 1" in line
    assert not (tmp_path / "checkpoint.npz").exists()  # it diverged within the first epoch


def test_a_noisy_healthy_run_is_not_taken_for_divergence(tmp_path):
    """Batches of 4 at the default --lr: the noisiest healthy run measured (its loss averaged
    over 10 batches reaches 1.7 times the first) trains to the end."""
    result = run_cli("train", "--batch-size", 4, "--epochs", 1, "--no-progress", "--out", tmp_path)
    assert result.returncode == 0, result.stderr

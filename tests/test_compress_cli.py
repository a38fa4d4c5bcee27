"""``python -m minigrad prune | quantize | distill`` end to end: what they print, the files they
write (which load back and, where they are ordinary checkpoints, ``evaluate`` reads), errors."""
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

import minigrad
from minigrad import cli, compress_cli
from minigrad.datasets import MNISTSample


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet")
    assert cli.main(["train", "--model", "lenet", "--epochs", "2", "--no-progress", "--out", str(out)]) == 0
    return out / "checkpoint.npz"


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher")
    assert cli.main(["train", "--epochs", "3", "--hidden", "64", "--no-progress", "--out", str(out)]) == 0
    return out / "checkpoint.npz"


def run(*args):
    assert cli.main([str(a) for a in args]) == 0


def metrics(out):
    return json.loads((out / "metrics.json").read_text())


def accuracy(model):
    test = MNISTSample(train=False)
    with minigrad.no_grad():
        logits = model(minigrad.tensor(test.data.reshape(-1, 784) / np.float32(255)))
    return float((logits.argmax(axis=1).numpy() == test.targets).mean())


def test_iterative_unstructured_pruning_with_retraining(teacher, tmp_path, capsys):
    run("prune", "--checkpoint", teacher, "--amount", "0.9", "--rounds", "2", "--retrain-epochs", "1",
        "--out", tmp_path)
    printed = capsys.readouterr().out
    assert "784-64-10 pruned 90% (unstructured" in printed and "held-out accuracy" in printed and "sparse.npz" in printed
    m = metrics(tmp_path)
    assert m["before"]["nonzero"] == m["before"]["parameters"] == 784 * 64 + 64 + 64 * 10 + 10
    weights = 784 * 64 + 64 * 10
    assert abs((m["after"]["nonzero"] - 74) / weights - 0.1) < 0.002  # the biases (74) are not pruned
    assert m["after"]["accuracy"] > m["before"]["accuracy"] - 0.05
    assert m["after"]["sparse_bytes"] < m["before"]["bytes"] / 4
    dense, _ = cli.rebuild_model(cli.load_checkpoint(str(tmp_path / "checkpoint.npz")), "",
                                 SimpleNamespace(hidden=None, activation=None))
    sparse = compress_cli.load_sparse(tmp_path / "sparse.npz")
    for a, b in zip(dense.state_dict().values(), sparse.state_dict().values()):
        assert np.array_equal(a.data, b.data)
    assert accuracy(sparse) == m["after"]["accuracy"]
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "checkpoint.npz")]) == 0


def test_structured_pruning_gives_a_smaller_network_that_evaluate_reads(teacher, tmp_path, capsys):
    run("prune", "--checkpoint", teacher, "--amount", "0.5", "--structured", "--out", tmp_path)
    m = metrics(tmp_path)
    assert m["hidden"] == 32
    assert m["after"]["parameters"] == 784 * 32 + 32 + 32 * 10 + 10
    assert m["after"]["bytes"] < 0.55 * m["before"]["bytes"]
    capsys.readouterr()
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "checkpoint.npz")]) == 0
    assert "784-32-10" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [[], ["--mode", "static"], ["--mode", "static", "--observer", "histogram"]])
def test_quantize_writes_a_four_times_smaller_checkpoint_that_loads_back(teacher, tmp_path, capsys, extra):
    run("quantize", "--checkpoint", teacher, "--out", tmp_path, *extra)
    assert "int8 quantisation" in capsys.readouterr().out
    m = metrics(tmp_path)
    assert 3.6 < m["before"]["bytes"] / m["after"]["bytes"] < 4.0
    assert abs(m["after"]["accuracy"] - m["before"]["accuracy"]) <= 0.01
    assert os.path.getsize(tmp_path / "quantized.npz") == m["after"]["bytes"]
    qmodel = compress_cli.load_quantized(tmp_path / "quantized.npz")
    assert qmodel[0].weight.dtype == np.int8
    assert accuracy(qmodel) == m["after"]["accuracy"]


def test_distill_trains_a_student_and_compares_it_with_the_student_alone(teacher, tmp_path, capsys):
    run("distill", "--teacher", teacher, "--student-hidden", "8", "--epochs", "2", "--temperature", "3",
        "--compare", "--out", tmp_path)
    assert "distillation into 784-8-10, T = 3.0" in capsys.readouterr().out
    models = metrics(tmp_path)["models"]
    assert list(models) == ["teacher 784-64-10", "student alone", "distilled student"]
    assert models["distilled student"]["parameters"] == 784 * 8 + 8 + 8 * 10 + 10
    assert models["distilled student"]["accuracy"] > 0.7
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "checkpoint.npz")]) == 0


def test_commands_run_in_a_fresh_process_and_errors_are_one_line(teacher, tmp_path):
    result = run_cli("quantize", "--checkpoint", teacher, "--out", tmp_path / "q")
    assert result.returncode == 0, result.stderr
    assert "size ratio" in result.stdout
    assert_one_line_error(run_cli("prune", "--checkpoint", teacher, "--amount", "1.5"), "--amount", "fraction")
    assert_one_line_error(run_cli("prune", "--checkpoint", tmp_path / "q" / "quantized.npz"),
                          "was not written by 'minigrad train'")
    assert_one_line_error(run_cli("distill", "--teacher", tmp_path / "missing.npz", "--student-hidden", "4"),
                          "no such file")
    help_text = run_cli("--help").stdout
    assert "prune,quantize,distill}" in help_text


def test_lenet_is_pruned_quantised_and_distilled(lenet, tmp_path, capsys):
    """LeNet-5: its convolutions are pruned and quantised with its Linear layers."""
    run("prune", "--checkpoint", lenet, "--amount", "0.8", "--out", tmp_path / "p")
    m = metrics(tmp_path / "p")
    assert m["model"] == "lenet" and abs(m["after"]["nonzero"] / m["before"]["nonzero"] - 0.2) < 0.01
    assert cli.main(["evaluate", "--checkpoint", str(tmp_path / "p" / "checkpoint.npz")]) == 0
    sparse = compress_cli.load_sparse(tmp_path / "p" / "sparse.npz")
    assert sparse.features[0].weight.shape == (6, 1, 5, 5) and (sparse.features[0].weight.data == 0).any()
    run("quantize", "--checkpoint", lenet, "--mode", "static", "--out", tmp_path / "q")
    m = metrics(tmp_path / "q")
    assert "LeNet-5, int8 quantisation, static" in capsys.readouterr().out
    assert 3.2 < m["before"]["bytes"] / m["after"]["bytes"] < 3.9  # small layers: the file's index weighs
    assert abs(m["after"]["accuracy"] - m["before"]["accuracy"]) <= 0.01
    qmodel = compress_cli.load_quantized(tmp_path / "q" / "quantized.npz")
    assert type(qmodel.classifier[1]).__name__ == "QuantizedLinear"
    assert type(qmodel.features[0]).__name__ == "QuantizedConv2d"
    run("distill", "--teacher", lenet, "--student-hidden", "16", "--epochs", "1", "--out", tmp_path / "d")
    assert list(metrics(tmp_path / "d")["models"]) == ["teacher LeNet-5", "distilled student"]
    assert_one_line_error(run_cli("prune", "--checkpoint", lenet, "--structured"), "--structured", "LeNet-5")

"""minigrad.models (LeNet-5, the small ResNet) and ``python -m minigrad train --model``."""
import json

import numpy as np
import pytest
from test_cli import assert_one_line_error, run_cli

import minigrad
from minigrad import cli, models, nn, optim
from minigrad.datasets import MNISTSample


@pytest.mark.parametrize("name, params", [("lenet", 61706), ("resnet", 77754)])
def test_models_take_mnist_images_and_give_logits(name, params):
    minigrad.manual_seed(0)
    model = models.build(name)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model(minigrad.rand(3, 1, 28, 28)).shape == (3, 10)


def test_models_match_pytorch_parameter_counts():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    lenet = tnn.Sequential(tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Conv2d(6, 16, 5),
                           tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(),
                           tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    assert sum(p.numel() for p in lenet.parameters()) == sum(p.numel() for p in models.LeNet5().parameters())


def test_resnet_block_shortcut_and_modes():
    block = models.BasicBlock(16, 32, stride=2)
    assert block.shortcut is not None and models.BasicBlock(16, 16).shortcut is None
    assert block(minigrad.randn(2, 16, 14, 14)).shape == (2, 32, 7, 7)
    model = models.ResNet(blocks=(2, 1, 1))
    assert len(list(model.stages[0])) == 2
    model.eval()  # running statistics: an image's output no longer depends on its batch
    x = minigrad.randn(4, 1, 28, 28)
    np.testing.assert_allclose(model(x[:1]).data, model(x).data[:1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["lenet", "resnet"])
def test_a_few_steps_lower_the_loss_on_one_batch(name):
    minigrad.manual_seed(0)
    model = models.build(name)
    images, labels = MNISTSample().get_batch(np.arange(32))
    x, y = minigrad.tensor(images), minigrad.tensor(labels)
    opt, loss_fn = optim.SGD(model.parameters(), lr=0.05, momentum=0.9), nn.CrossEntropyLoss()
    losses = []
    for _ in range(15):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        models.build("vgg")
    assert_one_line_error(run_cli("train", "--model", "vgg"), "--model", "invalid choice")


def test_train_lenet_then_evaluate_rebuilds_it(tmp_path):
    assert cli.main(["train", "--model", "lenet", "--epochs", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["config"]["model"] == "lenet"
    assert metrics["final"]["held_out_accuracy"] > 0.5  # one epoch on 4,000 digits
    ckpt = minigrad.load(tmp_path / "checkpoint.npz")
    assert ckpt["arch"]["model"] == "lenet" and "features.0.weight" in ckpt["model"]
    result = run_cli("evaluate", "--checkpoint", tmp_path / "checkpoint.npz")
    assert result.returncode == 0, result.stderr
    correct = round(metrics["final"]["held_out_accuracy"] * 1000)
    assert "LeNet-5 after epoch 1" in result.stdout and f"({correct}/1000)" in result.stdout
    assert_one_line_error(run_cli("evaluate", "--checkpoint", tmp_path / "checkpoint.npz", "--hidden", "100"),
                          "holds a LeNet-5 network, not the --hidden 100 one")


def test_resnet_checkpoint_with_batch_norm_buffers_evaluates(tmp_path):
    """The checkpoint holds the running statistics; evaluate rebuilds the ResNet and uses them."""
    minigrad.manual_seed(0)
    model = models.build("resnet")
    model(minigrad.rand(8, 1, 28, 28))  # training mode: the running statistics move
    args = cli.make_parser().parse_args(["train", "--model", "resnet"])
    cli.save_checkpoint(tmp_path / "r.npz", model, args, epoch=1, accuracy=0.1)
    ckpt = minigrad.load(tmp_path / "r.npz")
    assert "stem.1.running_mean" in ckpt["model"] and "stem.1.num_batches_tracked" in ckpt["model"]
    rebuilt, kind = cli.rebuild_model(ckpt, "r.npz", cli.make_parser().parse_args(
        ["evaluate", "--checkpoint", "r.npz"]))
    assert kind == "resnet"
    np.testing.assert_array_equal(rebuilt.stem[1].running_var.data, model.stem[1].running_var.data)
    result = run_cli("evaluate", "--checkpoint", tmp_path / "r.npz")
    assert result.returncode == 0, result.stderr
    assert "ResNet after epoch 1" in result.stdout


def test_old_mlp_checkpoints_without_a_model_entry_still_evaluate(tmp_path):
    model = cli.build_model(16, "relu")
    args = cli.make_parser().parse_args(["train", "--hidden", "16"])
    cli.save_checkpoint(tmp_path / "old.npz", model, args, epoch=1, accuracy=0.1)
    ckpt = minigrad.load(tmp_path / "old.npz")
    del ckpt["arch"]["model"]
    minigrad.save(ckpt, tmp_path / "old.npz")
    result = run_cli("evaluate", "--checkpoint", tmp_path / "old.npz")
    assert result.returncode == 0 and "784-16-10 after epoch 1" in result.stdout


# -- the convolution benchmark's floor computes what minigrad computes -----------------------

def _benchmarks():
    import pathlib
    import sys

    root = str(pathlib.Path(__file__).resolve().parents[1])
    sys.path.insert(0, root)
    try:
        from benchmarks import common, conv, numpy_conv
    finally:
        sys.path.remove(root)
    return common, conv, numpy_conv


def test_conv_benchmark_variants_agree_and_run_quickly():
    common, conv, numpy_conv = _benchmarks()
    variants = [v for v in common.available_variants()]
    result = conv.bench_lenet(batch=4, repeats=1, chunk=0.01, variants=variants)
    assert result["loss_check"]["max_rel_diff"] < 1e-4 and result["per_s"]["minigrad"] > 0
    assert conv.memory_child("minigrad", batch=4, steps=2)["traced_peak_mib"] > 0
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in ((2, 3, 6, 6), (4, 3, 3, 3), (4,)))
    g = rng.standard_normal((2, 4, 6, 6))
    y, dx, dw, db = numpy_conv.conv_layer_step(x, w, b, g)
    xs, ws, bs = (minigrad.tensor(a, requires_grad=True) for a in (x, w, b))
    out = minigrad.nn.functional.conv2d(xs, ws, bs, padding=1)
    out.backward(minigrad.tensor(g))
    for ours, floor in ((out, y), (xs.grad, dx), (ws.grad, dw), (bs.grad, db)):
        np.testing.assert_allclose(ours.data, floor, rtol=1e-10, atol=1e-12)

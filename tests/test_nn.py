"""nn: Module bookkeeping, layers, losses, and their error messages."""
import numpy as np
import pytest

import minigrad
from minigrad import nn


def mlp():
    return nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def test_module_lists_its_parameters_in_order():
    model = mlp()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert [p.shape for p in model.parameters()] == [(784, 100), (100,), (100, 10), (10,)]
    assert all(p.requires_grad and isinstance(p, nn.Parameter) for p in model.parameters())
    assert len(list(model.children())) == 3 and len(list(model.modules())) == 4
    assert isinstance(model[0], nn.Linear) and len(model) == 3 and isinstance(model[1:], nn.Sequential)


def test_linear_initialisation_follows_pytorch_bounds():
    minigrad.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        assert -bound <= p.data.min() and p.data.max() <= bound
        assert p.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)  # uniform's std


def test_repr_reads_like_pytorch():
    assert repr(mlp()) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=100, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=100, out_features=10, bias=True)\n)")


def test_train_eval_and_zero_grad():
    model = mlp()
    assert model.training and not model.eval().training and not model[0].training
    model.train()
    model(minigrad.randn(2, 784)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_linear_wrong_feature_count_names_layer_and_numbers():
    with pytest.raises(ValueError, match=r"Linear\(784, 100\).*Expect: x.shape\[-1\] == 784, Actual: 785"):
        nn.Linear(784, 100)(minigrad.randn(2, 785))


def test_flatten_and_view_as_in_the_article():
    images = minigrad.rand(5, 1, 28, 28)
    assert nn.Flatten()(images).shape == (5, 784)
    assert images.view(images.shape[0], -1).shape == (5, 784)


def test_state_dict_round_trip_and_strict_errors():
    a, b = mlp(), mlp()
    b.load_state_dict(a.state_dict())
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    sd = a.state_dict()
    del sd["0.bias"]
    sd["extra.weight"] = minigrad.zeros(3)
    sd["2.weight"] = minigrad.zeros(10, 100)
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(sd)
    msg = str(err.value)
    assert "missing keys: 0.bias" in msg and "unexpected keys: extra.weight" in msg
    assert "2.weight: checkpoint has shape (10, 100), model has (100, 10)" in msg
    sd2 = a.state_dict()
    sd2["extra"] = minigrad.zeros(1)
    missing, unexpected = b.load_state_dict(sd2, strict=False)
    assert missing == [] and unexpected == ["extra"]


def test_custom_module_registers_submodules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 3)
            self.fc2 = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert net(minigrad.randn(5, 4)).shape == (5, 2)

    class Forgot(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super\\(\\).__init__\\(\\)"):
        Forgot()


def test_cross_entropy_errors():
    crit = nn.CrossEntropyLoss()
    z = minigrad.randn(4, 10)
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\)"):
        crit(z, minigrad.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match=r"label -1 is outside"):
        crit(z, minigrad.tensor([0, 1, 2, -1]))
    with pytest.raises(TypeError, match="integer class indices.*float32"):
        crit(z, minigrad.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"batch sizes differ.*4 rows.*\(3,\)"):
        crit(z, minigrad.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CrossEntropyLoss(reduction="avg")


def test_bce_errors():
    p = minigrad.rand(4)
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 1\], found 2"):
        nn.BCELoss()(p, minigrad.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match="input values must lie in.*logits"):
        nn.BCELoss()(p * 3 - 1, minigrad.tensor([0.0, 1.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"shapes differ: \(4,\) vs \(4, 1\)"):
        nn.BCEWithLogitsLoss()(p, minigrad.zeros(4, 1))
    with pytest.raises(TypeError, match="floating point"):
        nn.MSELoss()(p, minigrad.tensor([0, 1, 1, 0]))


def test_loss_modules_match_functional():
    z, y = minigrad.randn(6, 4), minigrad.randint(0, 4, 6)
    np.testing.assert_allclose(nn.CrossEntropyLoss(reduction="sum")(z, y).item(),
                               nn.functional.cross_entropy(z, y, "sum").item())
    p, t = minigrad.rand(6) * 0.8 + 0.1, minigrad.rand(6).round() if hasattr(minigrad.Tensor, "round") else (minigrad.rand(6) > 0.5).float()
    assert nn.BCELoss()(p, t).shape == () and nn.MSELoss(reduction="none")(p, t).shape == (6,)

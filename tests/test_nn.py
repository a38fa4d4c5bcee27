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
                               nn.functional.cross_entropy(z, y, reduction="sum").item())
    p, t = minigrad.rand(6) * 0.8 + 0.1, minigrad.rand(6).round() if hasattr(minigrad.Tensor, "round") else (minigrad.rand(6) > 0.5).float()
    assert nn.BCELoss()(p, t).shape == () and nn.MSELoss(reduction="none")(p, t).shape == (6,)


# -- shared parameters, buffers, registration ----------------------------------------------

class Tied(nn.Module):
    """An encoder and a decoder sharing one weight (tied embeddings), and a layer used twice."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 4)
        self.dec = nn.Linear(4, 4)
        self.dec.weight = self.enc.weight
        self.twice = nn.Sequential(self.enc, nn.ReLU(), self.enc)

    def forward(self, x):
        return self.dec(self.twice(x))


def test_a_tied_weight_is_listed_and_stepped_once():
    model = Tied()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["enc.weight", "enc.bias", "dec.bias"]
    assert len(list(model.parameters())) == 3
    assert [n for n, _ in model.named_modules()] == ["", "enc", "dec", "twice", "twice.1"]
    assert len(list(model.named_parameters(remove_duplicate=False))) == 8
    assert list(model.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias", "twice.0.weight",
                                        "twice.0.bias", "twice.2.weight", "twice.2.bias"]  # every name, as PyTorch
    w = model.enc.weight
    opt = minigrad.optim.SGD(model.parameters(), lr=0.1)
    model(minigrad.randn(3, 4)).sum().backward()
    before, grad = w.data.copy(), w.grad.data.copy()
    opt.step()
    np.testing.assert_allclose(w.data, before - 0.1 * grad, rtol=1e-6)  # once, not twice


def test_assigning_a_plain_tensor_to_a_parameter_name_raises_instead_of_unregistering():
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="cannot assign a Tensor as parameter 'weight'.*Parameter or None"):
        layer.weight = layer.weight * 0.5
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.weight = nn.Parameter(minigrad.zeros(3, 2))  # replacing it is fine
    assert layer.weight is dict(layer.named_parameters())["weight"] and layer.weight.data.sum() == 0
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and layer.bias is None
    with pytest.raises(TypeError, match="child module 'bias'|parameter 'bias'"):
        layer.bias = 3.0


class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.register_buffer("running", minigrad.zeros(2))
        self.register_buffer("steps", minigrad.tensor(0))
        self.register_buffer("scratch", minigrad.ones(2), persistent=False)

    def forward(self, x):
        return self.fc(x) + self.running


def test_buffers_are_state_move_with_to_and_are_not_parameters():
    m = WithBuffers()
    assert [n for n, _ in m.named_buffers()] == ["running", "steps", "scratch"]
    assert [n for n, _ in m.named_parameters()] == ["fc.weight", "fc.bias"]
    assert list(m.state_dict()) == ["running", "steps", "fc.weight", "fc.bias"]  # persistent only
    m.running = minigrad.ones(2)  # assigning to a buffer's name updates the buffer
    assert m._buffers["running"] is m.running and list(m.buffers())[0] is m.running
    with pytest.raises(TypeError, match="buffer 'running'"):
        m.running = [1.0, 2.0]
    m.double()
    assert m.running.dtype == np.float64 and m.scratch.dtype == np.float64
    assert m.steps.dtype == np.int64  # a cast changes only floating-point tensors, as PyTorch
    assert m.fc.weight.dtype == np.float64
    other = WithBuffers().double()
    other.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(other.running.data, [1.0, 1.0])
    del m.running
    assert "running" not in m.state_dict() and not hasattr(m, "running")


def test_state_dict_shares_data_and_load_state_dict_copies_in_place():
    a, b = mlp(), mlp()
    sd = a.state_dict()
    assert np.shares_memory(sd["0.weight"].data, a[0].weight.data)
    assert not sd["0.weight"].requires_grad and a.state_dict(keep_vars=True)["0.weight"] is a[0].weight
    array = b[0].weight.data
    result = b.load_state_dict(sd)
    assert b[0].weight.data is array  # in place: views and optimisers of b see the new values
    np.testing.assert_array_equal(array, a[0].weight.data)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_registration_rules_follow_pytorch():
    m = nn.Module()
    m.add_module("fc", nn.Linear(2, 3))
    m.register_parameter("scale", nn.Parameter(minigrad.ones(1)))
    m.register_parameter("shift", None)
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc.weight", "fc.bias"] and m.shift is None
    m.plain = 3
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", minigrad.zeros(1))
    with pytest.raises(KeyError, match="contains '.'"):
        m.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="wrap it: nn.Parameter"):
        m.register_parameter("w", minigrad.ones(1))
    del m.fc
    assert [n for n, _ in m.named_children()] == [] and not hasattr(m, "fc")


def test_apply_children_requires_grad_and_lookups():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]  # children first, as PyTorch
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    assert model.get_submodule("1.1") is model[1][1]
    assert model.get_parameter("1.1.bias") is model[1][1].bias
    with pytest.raises(AttributeError, match="no submodule '5'"):
        model.get_submodule("1.5")
    with pytest.raises(AttributeError, match="no parameter 'gamma'"):
        model.get_parameter("0.gamma")
    model[0].requires_grad_(False)
    assert [p.requires_grad for p in model.parameters()] == [False, False, True, True]
    assert model.requires_grad_() is model and all(p.requires_grad for p in model.parameters())
    assert sum(1 for _ in model.parameters(recurse=False)) == 0
    assert [n for n, _ in model.named_parameters(prefix="net")][0] == "net.0.weight"


# -- hooks --------------------------------------------------------------------------------

def test_forward_pre_hook_replaces_arguments_and_forward_hook_replaces_output():
    layer = nn.Linear(3, 2)
    calls = []
    pre = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = layer.register_forward_hook(lambda m, args, out: calls.append((m, args[0].data.sum(), out.shape)))
    out = layer(minigrad.ones(4, 3))
    np.testing.assert_allclose(out.data, np.broadcast_to(layer.bias.data, (4, 2)))  # input zeroed by the pre-hook
    assert calls == [(layer, 0.0, (4, 2))]  # the forward hook sees the replaced arguments
    pre.remove()
    replace = layer.register_forward_hook(lambda m, args, out: out * 0 + 7)
    assert (layer(minigrad.ones(1, 3)).data == 7).all() and len(calls) == 2
    post.remove()
    replace.remove()
    layer(minigrad.ones(1, 3))
    assert len(calls) == 2 and not layer._forward_hooks and not layer._forward_pre_hooks


def test_hooks_single_value_prepend_and_kwargs():
    ident = nn.Identity()
    order = []
    ident.register_forward_pre_hook(lambda m, args: order.append("a"))
    ident.register_forward_pre_hook(lambda m, args: order.append("b"), prepend=True)
    ident.register_forward_pre_hook(lambda m, args: args[0] + 1)  # a bare value becomes the 1-tuple
    assert ident(minigrad.tensor([1.0])).item() == 2.0 and order == ["b", "a"]

    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    s = Scale()
    s.register_forward_pre_hook(lambda m, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    s.register_forward_hook(lambda m, args, kwargs, out: out + kwargs["factor"], with_kwargs=True)
    assert s(minigrad.tensor([2.0])).item() == 9.0
    s.register_forward_pre_hook(lambda m, args, kwargs: "bad", with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or \(args, kwargs\)"):
        s(minigrad.tensor([2.0]))


def test_hook_on_a_submodule_fires_inside_the_model():
    model = mlp()
    seen = []
    model[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    model(minigrad.randn(5, 784))
    assert seen == [(5, 100)]


# -- containers -----------------------------------------------------------------------------

def test_module_list_behaves_as_a_list_and_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and [n for n, _ in layers.named_children()] == ["0", "1", "2"]
    assert len(list(layers.parameters())) == 6
    first, last = layers[0], layers[-1]
    layers.append(nn.ReLU())
    layers.extend([nn.Tanh()])
    layers.insert(1, nn.Sigmoid())
    assert [type(m).__name__ for m in layers] == ["Linear", "Sigmoid", "Linear", "Linear", "ReLU", "Tanh"]
    assert [n for n, _ in layers.named_children()] == [str(i) for i in range(6)] and layers[3] is last
    del layers[1]
    assert layers[0] is first and [n for n, _ in layers.named_children()] == [str(i) for i in range(5)]
    assert layers[2] is last and layers.pop(-1).__class__ is nn.Tanh and len(layers) == 4
    tail = layers[1:3]
    assert isinstance(tail, nn.ModuleList) and list(tail) == [layers[1], layers[2]]
    layers += [nn.Identity()]
    both = layers + nn.ModuleList([nn.ReLU()])
    assert len(layers) == 5 and len(both) == 6 and isinstance(both, nn.ModuleList)
    layers[0] = nn.Identity()
    assert isinstance(layers[0], nn.Identity) and layers._modules["0"] is layers[0]
    with pytest.raises(IndexError, match="index 9 is out of range"):
        layers[9]
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(nn.ReLU())

    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    assert [n for n, _ in Stack().named_parameters()] == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                                         "blocks.1.bias"]
    assert repr(nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh()])) == \
        "ModuleList(\n  (0-1): 2 x ReLU()\n  (2): Tanh()\n)"


def test_module_dict():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
    assert list(heads) == ["cls", "box"] and "box" in heads and len(heads) == 2
    heads["act"] = nn.ReLU()
    heads.update([("out", nn.Identity())])
    assert list(heads.keys()) == ["cls", "box", "act", "out"]
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    assert isinstance(heads.pop("act"), nn.ReLU) and "act" not in heads and not hasattr(heads, "act")
    del heads["out"]
    assert [k for k, _ in heads.items()] == ["cls", "box"] and len(list(heads.values())) == 2
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        heads["keys"] = nn.ReLU()  # as in PyTorch: a key may not shadow a method
    with pytest.raises(ValueError, match="length 3"):
        heads.update([("a", nn.ReLU(), 1)])
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


def test_sequential_with_names_and_growth():
    from collections import OrderedDict

    model = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 4)), ("act", nn.ReLU()), ("out", nn.Linear(4, 1))]))
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    assert model.fc is model[0] and model(minigrad.randn(2, 3)).shape == (2, 1)
    head = model[:2]
    assert isinstance(head, nn.Sequential) and [n for n, _ in head.named_children()] == ["fc", "act"]
    model.append(nn.Sigmoid())
    assert [n for n, _ in model.named_children()] == ["fc", "act", "out", "3"]
    model.insert(0, nn.Identity())
    assert [n for n, _ in model.named_children()] == ["0", "1", "2", "3", "4"]  # renumbered, as PyTorch
    del model[0]
    assert isinstance(model[0], nn.Linear) and len(model) == 4
    joined = model + nn.Sequential(nn.Tanh())
    assert len(joined) == 5 and isinstance(joined[-1], nn.Tanh)
    model += nn.Sequential(nn.Identity())
    model.extend([nn.ReLU()])
    assert len(model) == 6
    with pytest.raises(ValueError, match="another Sequential"):
        model + [nn.ReLU()]


def test_identity_flatten_and_activation_modules():
    x = minigrad.randn(2, 3, 4, 5)
    assert nn.Identity(54, unused=True)(x) is x
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    reprs = [repr(m) for m in (nn.LeakyReLU(0.2), nn.GELU(), nn.GELU("tanh"), nn.Softplus(), nn.ELU(),
                               nn.SiLU(), nn.LogSoftmax(1), nn.ReLU())]
    assert reprs == ["LeakyReLU(negative_slope=0.2)", "GELU(approximate='none')", "GELU(approximate='tanh')",
                     "Softplus(beta=1.0, threshold=20.0)", "ELU(alpha=1.0)", "SiLU()", "LogSoftmax(dim=1)", "ReLU()"]
    with pytest.raises(NotImplementedError, match="inplace=True is not supported.*inplace=False"):
        nn.ReLU(inplace=True)(x)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.warns(UserWarning, match="implicit dimension"):
        nn.Softmax()(minigrad.randn(2, 3))


def test_loss_modules_keep_weights_as_buffers():
    w = minigrad.tensor([1.0, 2.0, 0.5])
    crit = nn.CrossEntropyLoss(weight=w, ignore_index=0, label_smoothing=0.1)
    assert crit.weight is w and list(crit.state_dict()) == ["weight"]
    crit.double()
    assert crit.weight.dtype == np.float64
    bce = nn.BCEWithLogitsLoss(pos_weight=minigrad.tensor([3.0]))
    assert [n for n, _ in bce.named_buffers()] == ["pos_weight"]  # weight=None is not listed
    with pytest.warns(UserWarning, match="reduction='sum' instead"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of"):
        nn.KLDivLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"

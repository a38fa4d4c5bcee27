"""Optimisers: the update rules written in their docstrings, checked by hand."""
import itertools

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim


def param(values):
    return nn.Parameter(minigrad.tensor(values, dtype=minigrad.float64))


def set_grad(p, values):
    p.grad = minigrad.tensor(values, dtype=minigrad.float64)


def test_sgd_momentum_weight_decay_nesterov_by_hand():
    p = param([1.0, -2.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    w, buf = np.array([1.0, -2.0]), None
    for g in ([0.5, 0.25], [-1.0, 2.0], [0.3, 0.3]):
        set_grad(p, g)
        opt.step()
        d = np.array(g) + 0.01 * w
        buf = d.copy() if buf is None else 0.9 * buf + d
        w = w - 0.1 * (d + 0.9 * buf)
        np.testing.assert_allclose(p.data, w, rtol=1e-15)


def test_sgd_dampening():
    p = param([1.0])
    opt = optim.SGD([p], lr=0.5, momentum=0.5, dampening=0.5)
    set_grad(p, [1.0])
    opt.step()  # first step: buf = g (no dampening)
    set_grad(p, [1.0])
    opt.step()  # buf = 0.5 * 1 + 0.5 * 1
    np.testing.assert_allclose(p.data, [1.0 - 0.5 - 0.5], rtol=1e-15)


def test_adam_by_hand():
    p = param([0.5, -1.5])
    opt = optim.Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)
    w, m, v = np.array([0.5, -1.5]), 0.0, 0.0
    for t, g in enumerate(([0.1, -0.2], [0.3, 0.1], [-0.5, 0.05]), start=1):
        set_grad(p, g)
        opt.step()
        d = np.array(g) + 0.1 * w
        m = 0.8 * m + 0.2 * d
        v = 0.9 * v + 0.1 * d * d
        w = w - 0.01 / (1 - 0.8 ** t) * m / (np.sqrt(v) / np.sqrt(1 - 0.9 ** t) + 1e-6)
        np.testing.assert_allclose(p.data, w, rtol=1e-14)


def test_parameters_without_grad_are_skipped_and_zero_grad_clears():
    a, b = param([1.0]), param([2.0])
    opt = optim.SGD([a, b], lr=1.0)
    set_grad(a, [1.0])
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 2.0
    opt.zero_grad()
    assert a.grad is None


def test_param_groups_and_state_dict_round_trip():
    a, b = param([1.0, 2.0]), param([3.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    set_grad(a, [1.0, 1.0])
    set_grad(b, [1.0])
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][1]["params"] == [1] and set(sd["state"]) == {0, 1}
    a2, b2 = param([1.0, 2.0]), param([3.0])
    opt2 = optim.SGD([{"params": [a2]}, {"params": [b2]}], lr=0.3, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[1]["lr"] == 0.5
    np.testing.assert_array_equal(opt2.state[a2]["momentum_buffer"], opt.state[a]["momentum_buffer"])


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.SGD([param([1.0])], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([param([1.0])], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([param([1.0])], betas=(0.9, 1.0))


# -- PyTorch parity: every option combination, a few steps on a small model, float64 ------------

torch = pytest.importorskip("torch")

TORCH_ONLY_KEYS = {"foreach", "capturable", "differentiable", "fused"}


def _combos(**options):
    keys = list(options)
    return [dict(zip(keys, values)) for values in itertools.product(*options.values())]


def _valid_sgd(kw):
    return not kw["nesterov"] or (kw["momentum"] > 0 and kw["dampening"] == 0)


OPTION_CASES = (
    [("SGD", kw) for kw in _combos(lr=[0.1], momentum=[0.0, 0.9], dampening=[0.0, 0.3],
                                   weight_decay=[0.0, 0.1], nesterov=[False, True], maximize=[False, True])
     if _valid_sgd(kw)]
    + [("Adam", kw) for kw in _combos(lr=[0.05], betas=[(0.9, 0.999), (0.5, 0.8)], eps=[1e-8, 1e-3],
                                      weight_decay=[0.0, 0.1], amsgrad=[False, True], maximize=[False, True],
                                      decoupled_weight_decay=[False, True])]
    + [("AdamW", kw) for kw in _combos(lr=[0.05], betas=[(0.9, 0.999), (0.5, 0.8)], weight_decay=[0.0, 0.1],
                                       amsgrad=[False, True], maximize=[False, True])]
    + [("RMSprop", kw) for kw in _combos(lr=[0.01], alpha=[0.99, 0.5], eps=[1e-8, 1e-2], weight_decay=[0.0, 0.1],
                                         momentum=[0.0, 0.5], centered=[False, True], maximize=[False, True])]
)


def _small_models(seed=0):
    """The same 5-3-2 tanh MLP in both libraries, in float64 (minigrad stores weights (in, out))."""
    rng = np.random.default_rng(seed)
    shapes = [(5, 3), (3,), (3, 2), (2,)]
    values = [rng.standard_normal(s) for s in shapes]
    ours = [param(v) for v in values]
    theirs = [torch.tensor(v.T.copy() if v.ndim == 2 else v, requires_grad=True) for v in values]
    x = rng.standard_normal((6, 5))
    y = rng.standard_normal((6, 2))
    return ours, theirs, x, y


def _loss_ours(ps, x, y):
    w1, b1, w2, b2 = ps
    h = (minigrad.tensor(x) @ w1 + b1).tanh()
    return (((h @ w2 + b2) - minigrad.tensor(y)) ** 2).mean()


def _loss_theirs(ps, x, y):
    w1, b1, w2, b2 = ps
    h = torch.tanh(torch.tensor(x) @ w1.T + b1)
    return ((h @ w2.T + b2 - torch.tensor(y)) ** 2).mean()


def _as_ours(t):
    a = t.detach().numpy()
    return a.T if a.ndim == 2 else a


def _assert_same(ours, theirs, opt, ref_opt):
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, _as_ours(q), rtol=1e-10, atol=1e-12)
        state, ref_state = opt.state[p], ref_opt.state[q]
        assert set(state) == set(ref_state), (state.keys(), ref_state.keys())
        for key, value in ref_state.items():
            if key == "step":
                assert state[key] == int(value.item())
            else:
                np.testing.assert_allclose(state[key], _as_ours(value), rtol=1e-10, atol=1e-12)


def _run_both(name, kwargs, steps=5, groups=None):
    ours, theirs, _, _ = _small_models()
    if groups is None:
        opt = getattr(optim, name)(ours, **kwargs)
        ref_opt = getattr(torch.optim, name)(theirs, **kwargs)
    else:
        opt = getattr(optim, name)([{**g, "params": [ours[i] for i in g["params"]]} for g in groups], **kwargs)
        ref_opt = getattr(torch.optim, name)([{**g, "params": [theirs[i] for i in g["params"]]} for g in groups],
                                             **kwargs)
    _train_both(opt, ref_opt, ours, theirs, steps)
    return opt, ref_opt, ours, theirs


def _train_both(opt, ref_opt, ours, theirs, steps):
    _, _, x, y = _small_models()
    for _ in range(steps):
        opt.zero_grad()
        _loss_ours(ours, x, y).backward()
        opt.step()
        ref_opt.zero_grad()
        _loss_theirs(theirs, x, y).backward()
        ref_opt.step()
        _assert_same(ours, theirs, opt, ref_opt)


@pytest.mark.parametrize("name, kwargs", OPTION_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTION_CASES)])
def test_every_option_matches_pytorch(name, kwargs):
    opt, ref_opt, _, _ = _run_both(name, kwargs)
    ours_groups, ref_groups = opt.state_dict()["param_groups"], ref_opt.state_dict()["param_groups"]
    for g, h in zip(ours_groups, ref_groups):  # the same hyperparameter names and values
        assert g == {k: v for k, v in h.items() if k not in TORCH_ONLY_KEYS}


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05)),
                                          ("AdamW", dict(lr=0.05)), ("RMSprop", dict(lr=0.01, centered=True))])
def test_parameter_groups_with_their_own_options_match_pytorch(name, kwargs):
    groups = [{"params": [0, 1], "lr": 0.02, "weight_decay": 0.3}, {"params": [2, 3]}]
    _run_both(name, kwargs, groups=groups)


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
                                          ("Adam", dict(lr=0.05, amsgrad=True)),
                                          ("AdamW", dict(lr=0.05, weight_decay=0.1)),
                                          ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True))])
def test_state_dict_round_trip_continues_exactly(name, kwargs, tmp_path):
    """Stop after 3 steps, save, load into a fresh optimiser (through a file), and go on: the run
    matches one that never stopped, and PyTorch's."""
    opt, ref_opt, ours, theirs = _run_both(name, kwargs, steps=3)
    minigrad.save(opt.state_dict(), tmp_path / "opt.npz")
    fresh = getattr(optim, name)(ours, lr=123.0)
    fresh.load_state_dict(minigrad.load(tmp_path / "opt.npz"))
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    _train_both(fresh, ref_opt, ours, theirs, 3)


def test_load_state_dict_copies_so_the_two_optimisers_do_not_share_buffers():
    a = param([1.0, 2.0])
    opt = optim.Adam([a], lr=0.1)
    set_grad(a, [1.0, 1.0])
    opt.step()
    b = param([1.0, 2.0])
    opt2 = optim.Adam([b], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[b]["exp_avg"] is not opt.state[a]["exp_avg"]
    set_grad(b, [5.0, 5.0])
    opt2.step()
    np.testing.assert_allclose(opt.state[a]["exp_avg"], [0.1, 0.1])


def test_load_state_dict_refuses_another_model():
    opt = optim.SGD([param([1.0]), param([2.0])], lr=0.1)
    with pytest.raises(ValueError, match="parameter group 0 holds 2 parameters in the state dict and 1 here"):
        optim.SGD([param([1.0])], lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"state dict has 1 parameter group\(s\), this optimiser has 2"):
        optim.SGD([{"params": [param([1.0])]}, {"params": [param([1.0])]}], lr=0.1).load_state_dict(
            {"state": {}, "param_groups": [{"params": [0], "lr": 0.1}]})


def test_state_follows_the_parameter_to_float64():
    p = nn.Parameter(minigrad.tensor([1.0, 2.0]))
    opt = optim.Adam([p], lr=0.1)
    p.grad = minigrad.tensor([1.0, 1.0])
    opt.step()
    p.data = p.data.astype(np.float64)  # what Module.double() does to each parameter
    p.grad = minigrad.tensor([1.0, 1.0], dtype=minigrad.float64)
    opt.step()
    assert opt.state[p]["exp_avg"].dtype == np.float64 and p.dtype == np.float64


def test_closure_is_evaluated_with_grad_enabled_and_its_loss_returned():
    p = param([3.0])
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with minigrad.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.data[0] == pytest.approx(3.0 - 0.1 * 6.0)


# -- the parameter list: PyTorch's checks ---------------------------------------------------

def test_a_lone_tensor_raises_pytorchs_error():
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable of "
                                        "Tensors or dicts, but got minigrad.nn.module.Parameter"):
        optim.SGD(param([1.0]), lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.Adam(minigrad.tensor([1.0]))


def test_group_with_a_lone_tensor_works():
    a, b = param([1.0]), param([2.0])
    opt = optim.SGD([{"params": a}, {"params": b, "lr": 1.0}], lr=0.5)
    set_grad(a, [1.0])
    set_grad(b, [1.0])
    opt.step()
    assert a.data[0] == 0.5 and b.data[0] == 1.0


def test_named_parameters_are_accepted_and_their_names_kept():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("make", [
    lambda p, v: optim.SGD([p], lr=v),
    lambda p, v: optim.SGD([p], lr=0.1, momentum=v),
    lambda p, v: optim.Adam([p], lr=v),
    lambda p, v: optim.Adam([p], eps=v),
    lambda p, v: optim.Adam([p], betas=(0.9, v)),
    lambda p, v: optim.AdamW([p], weight_decay=v),
    lambda p, v: optim.RMSprop([p], alpha=v),
    lambda p, v: optim.SGD([{"params": [p], "lr": v}], lr=0.1),
    lambda p, v: optim.SGD([p], lr=np.float32(v)),
])
def test_nan_or_infinite_hyperparameters_are_refused(make, bad):
    with pytest.raises(ValueError, match=r"must be a finite number|must be >= 0, got -inf|must lie in \[0, 1\)"):
        make(param([1.0]), bad)


def test_add_param_group_refuses_a_non_finite_value_too():
    opt = optim.SGD([param([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="lr must be a finite number, got nan"):
        opt.add_param_group({"params": [param([1.0])], "lr": float("nan")})


def test_a_parameter_listed_twice_is_refused():
    p = param([1.0])
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_other_bad_parameter_lists():
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {param([1.0])}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    x = param([1.0])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([x * 2], lr=0.1)
    with pytest.raises(ValueError, match="RMSprop: alpha must be >= 0"):
        optim.RMSprop([x], alpha=-0.1)


def test_add_param_group_matches_pytorch():
    ours, theirs, x, y = _small_models()
    opt = optim.Adam(ours[:2], lr=0.05)
    ref_opt = torch.optim.Adam(theirs[:2], lr=0.05)
    for step in range(4):
        if step == 2:  # unfreeze the second layer, with its own learning rate
            opt.add_param_group({"params": ours[2:], "lr": 0.01, "amsgrad": True})
            ref_opt.add_param_group({"params": theirs[2:], "lr": 0.01, "amsgrad": True})
        for o in (opt, ref_opt):
            o.zero_grad()
        _loss_ours(ours, x, y).backward()
        _loss_theirs(theirs, x, y).backward()
        opt.step()
        ref_opt.step()
        _assert_same(ours, theirs, opt, ref_opt)
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)  # the defaults fill what the group does not set


def test_repr_lists_each_group_like_pytorch():
    opt = optim.SGD([param([1.0])], lr=0.1)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    lr: 0.1\n" in text and text.endswith(")")

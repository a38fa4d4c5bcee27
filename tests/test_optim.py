"""Optimisers: the update rules written in their docstrings, checked by hand."""
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

"""Against PyTorch (skipped without it): every case of the op registry forward and backward,
and the article's MLP trained 100 steps in float64 from the same weights on the same batches."""
import numpy as np
import pytest
from op_cases import CASES

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny ops: a second thread only spins, and it slows the other tests

rng = np.random.default_rng(0)


@pytest.mark.parametrize("case", [c for c in CASES if c.torch is not None], ids=repr)
def test_op_matches_pytorch(case):
    """Every case of the op registry (tests/op_cases.py) that PyTorch has, in float64."""
    host = case.host_inputs()
    ours = [minigrad.tensor(a, requires_grad=a.dtype.kind == "f") for a in host]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in host]
    out, ref = case.fn(*ours), case.torch(*theirs)
    assert out.shape == tuple(ref.shape), f"{case}: shape {out.shape}, PyTorch gives {tuple(ref.shape)}"
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    if not ref.requires_grad:
        return
    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(minigrad.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    for a, b in zip(ours, theirs):
        if b.requires_grad:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, atol=1e-14)


def _train(opt_name, opt_kwargs, steps=100, batch=32):
    gen = np.random.default_rng(42)
    data = gen.standard_normal((steps * batch, 784))
    labels = (data[:, :10] + 0.3 * data[:, 10:20]).argmax(1)  # a rule the MLP can learn
    minigrad.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)).double()
    ref = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)).double()
    with torch.no_grad():  # the same initial weights (PyTorch stores Linear's weight transposed)
        for (_, p), q in zip(model.named_parameters(), ref.parameters()):
            q.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))
    opt = getattr(optim, opt_name)(model.parameters(), **opt_kwargs)
    ref_opt = getattr(torch.optim, opt_name)(ref.parameters(), **opt_kwargs)
    crit, ref_crit = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    losses, ref_losses = [], []
    for i in range(steps):
        xb, yb = data[i * batch:(i + 1) * batch], labels[i * batch:(i + 1) * batch]
        opt.zero_grad()
        loss = crit(model(minigrad.tensor(xb)), minigrad.tensor(yb))
        loss.backward()
        opt.step()
        ref_opt.zero_grad()
        ref_loss = ref_crit(ref(torch.tensor(xb)), torch.tensor(yb))
        ref_loss.backward()
        ref_opt.step()
        losses.append(loss.item())
        ref_losses.append(ref_loss.item())
    return model, ref, np.array(losses), np.array(ref_losses)


@pytest.mark.parametrize("opt_name, kwargs", [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-3)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-3, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.1)),
    ("Adam", dict(lr=1e-3)),
    ("Adam", dict(lr=1e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    ("AdamW", dict(lr=1e-3, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=1e-3, momentum=0.5, centered=True, weight_decay=1e-3)),
])
def test_mlp_training_matches_pytorch(opt_name, kwargs):
    model, ref, losses, ref_losses = _train(opt_name, kwargs)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    for p, q in zip(model.parameters(), ref.parameters()):
        theirs = q.detach().numpy()
        np.testing.assert_allclose(p.data, theirs.T if p.ndim == 2 else theirs, rtol=1e-10, atol=1e-13)
    assert losses[-10:].mean() < losses[:10].mean()  # and it learned

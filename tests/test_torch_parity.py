"""Against PyTorch (skipped without it): each op's forward and backward, and the article's MLP
trained 100 steps in float64 from the same weights on the same batches, SGD and Adam."""
import numpy as np
import pytest

import minigrad
import minigrad.nn.functional as F
from minigrad import nn, optim

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny ops: a second thread only spins, and it slows the other tests

rng = np.random.default_rng(0)


def both(*arrays, grad=True):
    ours = [minigrad.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    return ours, theirs


X = rng.standard_normal((5, 4))
Y = rng.standard_normal((4,))
P = rng.uniform(0.05, 0.95, (5, 4))
T = rng.integers(0, 4, 5)
B = (rng.uniform(size=(5, 4)) > 0.5).astype(np.float64)

CASES = {
    "add": ((X, Y), lambda a, b: a + b, lambda a, b: a + b),
    "rsub": ((X,), lambda a: 1 - a, lambda a: 1 - a),
    "mul": ((X, Y), lambda a, b: a * b, lambda a, b: a * b),
    "div": ((X, P[0]), lambda a, b: a / b, lambda a, b: a / b),
    "pow": ((P,), lambda a: a ** 1.5, lambda a: a ** 1.5),
    "matmul": ((X, X.T), lambda a, b: a @ b, lambda a, b: a @ b),
    "exp": ((X,), lambda a: a.exp(), lambda a: a.exp()),
    "log": ((P,), lambda a: a.log(), lambda a: a.log()),
    "relu": ((X,), lambda a: a.relu(), lambda a: a.relu()),
    "sigmoid": ((X,), lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "tanh": ((X,), lambda a: a.tanh(), lambda a: a.tanh()),
    "softmax": ((X,), lambda a: F.softmax(a, 1), lambda a: torch.softmax(a, 1)),
    "log_softmax": ((X,), lambda a: F.log_softmax(a, 0), lambda a: torch.log_softmax(a, 0)),
    "sum_axis": ((X,), lambda a: a.sum(1, keepdims=True), lambda a: a.sum(1, keepdim=True)),
    "mean": ((X,), lambda a: a.mean(0), lambda a: a.mean(0)),
    "max": ((X,), lambda a: a.max(1), lambda a: a.amax(1)),
    "getitem": ((X,), lambda a: a[[0, 0, 3], 1:], lambda a: a[[0, 0, 3], 1:]),
    "transpose": ((X,), lambda a: a.T.reshape(-1), lambda a: a.T.reshape(-1)),
    "linear": ((X, X.T[:, :3], Y[:3]), lambda x, w, b: F.linear(x, w, b),
               lambda x, w, b: torch.nn.functional.linear(x, w.T, b)),
    "cross_entropy": ((X, T), lambda z, t: F.cross_entropy(z, t),
                      lambda z, t: torch.nn.functional.cross_entropy(z, t)),
    "cross_entropy_sum": ((X, T), lambda z, t: F.cross_entropy(z, t, "sum"),
                          lambda z, t: torch.nn.functional.cross_entropy(z, t, reduction="sum")),
    "bce": ((P, B), lambda p, y: F.binary_cross_entropy(p, y),
            lambda p, y: torch.nn.functional.binary_cross_entropy(p, y)),
    "bce_logits": ((X, P), lambda z, y: F.binary_cross_entropy_with_logits(z, y, "none"),
                   lambda z, y: torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")),
    "mse": ((X, P), lambda a, b: F.mse_loss(a, b), lambda a, b: torch.nn.functional.mse_loss(a, b)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_pytorch(name):
    arrays, ours_fn, theirs_fn = CASES[name]
    ours, theirs = both(*arrays)
    out, ref = ours_fn(*ours), theirs_fn(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    upstream = rng.standard_normal(out.shape)
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

"""Checks for the exercises of notebook 5, the article's model trained on MNIST."""
from __future__ import annotations

import contextlib
import math

import numpy

from .checking import Wrong, attempted, call, compare, exercise, first_failure, show, to_numpy

_SIZES = (3, 4, 3)  # a tiny 3 -> 4 -> 3 classifier: the loop's order matters, not the size


@contextlib.contextmanager
def _seeded(seed):
    """Draw minigrad's random numbers (initial weights) from ``seed``, then put the student's
    generator back where it was: a check must not change what the notebook draws next."""
    from ..factories import default_generator

    bits = default_generator().bit_generator
    saved = bits.state
    bits.state = numpy.random.default_rng(seed).bit_generator.state
    try:
        yield
    finally:
        bits.state = saved


def _model(weights):
    """The tiny classifier with the given float64 parameters (as NumPy arrays)."""
    from .. import float64, nn, no_grad

    model = nn.Sequential(nn.Linear(_SIZES[0], _SIZES[1]), nn.ReLU(), nn.Linear(_SIZES[1], _SIZES[2])).to(dtype=float64)
    with no_grad():
        for p, w in zip(model.parameters(), weights):
            p.data[...] = w
    return model


def _setup(weights):
    from .. import nn, optim

    model = _model(weights)
    # momentum, so that a gradient left over from one step also shows in the next
    return model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _reference(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def _has_grads(optimizer):
    return all(p.grad is not None for group in optimizer.param_groups for p in group["params"])


def _two_steps(step, weights, batches):
    """Parameters (as NumPy arrays) after each of two calls of ``step``, the losses returned,
    and what the optimiser saw: (call, whether every parameter had a gradient) in order."""
    model, loss_fn, optimizer = _setup(weights)
    events = []
    zero_grad, update = optimizer.zero_grad, optimizer.step
    # The optimiser records its calls, so that a wrong order is named from what happened.
    optimizer.zero_grad = lambda *a, **k: (events.append(("zero_grad", _has_grads(optimizer))), zero_grad(*a, **k))[1]
    optimizer.step = lambda *a, **k: (events.append(("step", _has_grads(optimizer))), update(*a, **k))[1]
    after, losses = [], []
    for x, y in batches:
        losses.append(step(model, loss_fn, optimizer, x, y))
        after.append([p.detach().numpy().copy() for p in model.parameters()])
    events.append(("end", _has_grads(optimizer)))
    return after, losses, events


def _mistake(events):
    """The classic wrong order that the optimiser's record shows, as a sentence; or None."""
    names = [name for name, _ in events]
    if "step" not in names:
        return "optimizer.step() is missing: the gradients were computed but the parameters never moved."
    if "zero_grad" not in names:
        return ("optimizer.zero_grad() is missing: backward() adds to .grad, so the second step applied the sum "
                "of both batches' gradients.")
    if any(name == "step" and not had for name, had in events):
        if events[-1][1]:
            return ("optimizer.step() ran before loss.backward(): step() found no gradients, and backward() made "
                    "them only afterwards, so the parameters never moved.")
        if any(name == "zero_grad" and had for name, had in events):
            return ("zero_grad() ran between backward() and step(): it cleared the gradients step() needed, so "
                    "the parameters never moved.")
        return "loss.backward() is missing: there were no gradients, so step() had nothing to apply."
    return None


def _batches(seed, n):
    from .. import tensor

    rng = numpy.random.default_rng(seed)
    return [(tensor(rng.standard_normal((n, _SIZES[0]))), tensor(rng.integers(0, _SIZES[2], n)))
            for _ in range(2)]


def _initial_weights(seed):
    rng = numpy.random.default_rng(seed)
    shapes = [(_SIZES[0], _SIZES[1]), (_SIZES[1],), (_SIZES[1], _SIZES[2]), (_SIZES[2],)]
    return [rng.uniform(-1, 1, s) for s in shapes]


def _same(a, b):
    return all(numpy.allclose(p, q, rtol=1e-10, atol=1e-12) for p, q in zip(a, b))


@exercise("Exercise 5.1, one step of the training loop")
def check_train_step(train_step):
    """Check ``train_step(model, loss_fn, optimizer, x, y)``: two calls on a small classifier
    (SGD with momentum), with hypothesis-drawn batches and weights, must leave the parameters
    where the article's step (zero_grad, forward, loss, backward, step) leaves them, and return
    each batch's loss before its update. A wrong order is named from the optimiser's record of
    its calls (and whether the gradients were there at each)."""
    from hypothesis import strategies as st

    def attempt(example):
        seed, n = example
        weights, batches = _initial_weights(seed), _batches(seed, n)
        got_after, got_losses, events = _two_steps(lambda *a: call("train_step", train_step, *a), weights, batches)
        want_after, want_losses, _ = _two_steps(_reference, weights, batches)
        if _same(got_after[0], want_after[0]) and _same(got_after[1], want_after[1]):
            for k in range(2):
                if got_losses[k] is None:
                    raise Wrong("train_step returned None: return the batch's loss (the tensor, or loss.item()).")
                compare(f"the loss returned by step {k + 1}", got_losses[k], to_numpy(want_losses[k], "loss"),
                        inputs=f"a batch of {n} examples", rtol=1e-9, atol=1e-12,
                        hints=[(lambda got, exp: True, "return the loss computed on this batch, before the update.")])
            return
        which = 1 if not _same(got_after[0], want_after[0]) else 2
        sentence = _mistake(events)
        if sentence:
            raise Wrong(f"after step {which} on a batch of {n} examples the parameters are not where the article's "
                        f"step leaves them. {sentence}")
        got, want = got_after[which - 1][0], want_after[which - 1][0]
        raise Wrong(f"after step {which} on a batch of {n} examples the first layer's weights differ from "
                    f"the article's step (zero_grad, forward, loss, backward, step).\n  expected "
                    f"{show(want)}\n  got      {show(got)}")

    attempt((0, 4))
    first_failure(st.tuples(st.integers(0, 2 ** 16), st.integers(1, 6)), attempt, max_examples=12)
    return "zero_grad, forward, loss, backward, step: the order of every training loop in this course."


def _argmax_accuracy(z, y):
    return float((z.argmax(axis=1) == y).mean())


@exercise("Exercise 5.2, accuracy from logits")
def check_accuracy(accuracy):
    """Check ``accuracy(logits, labels)``, the fraction of rows whose largest logit is at the
    label (the first one on a tie, as ``argmax``), over hypothesis-drawn logits (n, C) and labels,
    with small integer logits so that ties are common."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from .. import tensor

    @st.composite
    def problems(draw):
        n, c = draw(st.integers(1, 8)), draw(st.integers(2, 5))
        z = draw(hnp.arrays(numpy.float32, (n, c), elements=st.integers(-2, 2).map(float)))
        y = draw(hnp.arrays(numpy.int64, (n,), elements=st.integers(0, c - 1)))
        return z, y

    def attempt(problem):
        z, y = problem
        got = call("accuracy", accuracy, tensor(z), tensor(y))
        expected = _argmax_accuracy(z, y)
        is_max = z[numpy.arange(len(y)), y] == z.max(axis=1)
        compare("accuracy", got, expected, inputs=f"logits = {show(z)} and labels = {show(y)}",
                rtol=1e-6, atol=1e-9, hints=[
                    (lambda g, e: numpy.isclose(g, is_max.mean()),
                     "a tie was counted as right: the prediction is one class, the first of the largest "
                     "logits (argmax), not any class that reaches the maximum."),
                    (lambda g, e: numpy.isclose(g, e * len(y)), "that is the number of correct rows; "
                                                                "the accuracy is a fraction of them."),
                    (lambda g, e: numpy.isclose(g, 100 * e), "a fraction in [0, 1], not a percentage."),
                ])

    attempt((numpy.array([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], numpy.float32), numpy.array([2, 0, 1])))
    first_failure(problems(), attempt, max_examples=80)
    return "argmax along the classes, compare with the labels, mean over the rows (as a float)."


@exercise("Exercise 5.3, predict before you train")
def check_predictions(predictions: dict):
    """Check predictions for the article's 784-100-10 network on the 4,000 training digits:
    ``initial_loss``, the cross-entropy before any training (measured here on freshly
    initialised models over three seeds), and ``steps_per_epoch`` with batches of 64 (counted
    from a DataLoader)."""
    from .. import nn, no_grad, tensor
    from ..data import DataLoader
    from ..datasets import MNISTSample

    for name in ("initial_loss", "steps_per_epoch"):
        if name not in predictions:
            raise Wrong(f"no answer for {name}: give it a number.")
        attempted(name, predictions[name])
    digits = MNISTSample(train=True)
    steps = len(DataLoader(digits, batch_size=64))
    said = predictions["steps_per_epoch"]
    if not isinstance(said, (int, numpy.integer)):
        raise Wrong(f"steps_per_epoch is {said!r}: a number of batches is an integer.")
    if said != steps:
        why = ""
        if said == len(digits) // 64:
            why = (f" {len(digits)} = {len(digits) // 64} * 64 + {len(digits) % 64}: the last, smaller batch "
                   "is a batch too (DataLoader keeps it unless drop_last=True).")
        raise Wrong(f"steps_per_epoch is {steps}, not {said}.{why}")

    x = tensor(digits.data.reshape(len(digits), -1) / numpy.float32(255))
    y = tensor(digits.targets)
    measured = []
    with no_grad():
        for seed in range(3):
            with _seeded(seed):
                model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
            measured.append(nn.CrossEntropyLoss()(model(x), y).item())
    loss = float(numpy.mean(measured))
    said = float(to_numpy(predictions["initial_loss"], "initial_loss"))
    if abs(said - loss) > 0.1:
        hint = ""
        if abs(said - 0.1) < 1e-3:
            hint = " 1/10 is the probability of each class, not the loss: the loss is -ln(1/10)."
        elif abs(said - 1.0) < 1e-3:
            hint = " That is log base 10; cross-entropy uses the natural logarithm."
        elif abs(said) < 1e-3:
            hint = " A loss of 0 means the right class got probability 1: the untrained model knows nothing."
        raise Wrong(f"a fresh 784-100-10 network gives a loss of {loss:.3f} on the training digits "
                    f"(mean of 3 seeds), not {said:g}.{hint} Small random weights give logits near 0, "
                    "so the softmax gives each of the 10 classes about 1/10.")
    return (f"measured: {loss:.3f}, close to ln 10 = {math.log(10):.3f}; a first loss far from it means a "
            "bug or a bad initialisation.")


__all__ = ["check_train_step", "check_accuracy", "check_predictions"]

"""Checks for the exercises of notebook 8, is a bigger model better?"""
from __future__ import annotations

from .checking import Wrong, call, compare, exercise, first_failure


def _built_count(sizes):
    """The parameter count of the MLP with these layer sizes, by building it and counting."""
    from .. import nn

    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return sum(p.numel() for p in nn.Sequential(*layers[:-1]).parameters())


@exercise("Exercise 8.1, the parameter count of an MLP")
def check_mlp_parameters(mlp_parameters):
    """Check ``mlp_parameters(sizes)``, the number of parameters of the MLP with layer sizes
    ``sizes`` (784, 100, 10 for the article's), against models built with those sizes and
    counted, for hypothesis-drawn lists of 2 to 5 sizes."""
    from hypothesis import strategies as st

    def attempt(sizes):
        got = call(f"mlp_parameters({list(sizes)})", mlp_parameters, list(sizes))
        pairs = list(zip(sizes, sizes[1:]))
        weights = sum(a * b for a, b in pairs)
        compare(f"mlp_parameters({list(sizes)})", got, _built_count(sizes), rtol=0, atol=0, hints=[
            (lambda g, e: g == weights, "only the weights were counted: each layer also has one bias per output."),
            (lambda g, e: g == weights + sum(a for a, _ in pairs),
             "one bias per input was counted: a layer a -> b has b biases, one per output unit."),
            (lambda g, e: g == sum((a + 1) * (b + 1) for a, b in pairs),
             "(a + 1) * (b + 1) counts a bias for the inputs too: a layer a -> b has a * b + b."),
            (lambda g, e: g == sum(sizes), "that counts units (neurons), not parameters: a layer a -> b has "
                                           "a * b weights and b biases."),
        ])

    attempt((784, 100, 10))
    first_failure(st.lists(st.integers(1, 50), min_size=2, max_size=5).map(tuple), attempt, max_examples=60)
    return "each layer a -> b holds a * b weights and b biases; 784-100-10 has 79,510."


def _model(widths, tie, freeze):
    """An MLP with ``widths``, optionally ending in two (w, w) layers that share one weight, and
    optionally with its first layer frozen; and its count of distinct trainable numbers,
    worked out from how it was built (not by walking it)."""
    from .. import nn

    layers, count = [], 0
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
        count += a * b + b
    if tie:
        w = widths[-1]
        first, second = nn.Linear(w, w), nn.Linear(w, w)
        second.weight = first.weight  # tied: one tensor, trained once, in two places
        layers += [first, nn.ReLU(), second, nn.ReLU()]
        count += w * w + w + w  # the shared weight once, and each layer's own bias
    if freeze:
        for p in layers[0].parameters():
            p.requires_grad_(False)
        count -= widths[0] * widths[1] + widths[1]
    return nn.Sequential(*layers[:-1]), count


@exercise("Exercise 8.2, count what training can change")
def check_count_trainable(count_trainable):
    """Check ``count_trainable(model)``, the number of numbers an optimiser can train in an
    ``nn.Module``: parameters that require a gradient, a weight shared by two layers counted
    once. The models are MLPs of hypothesis-drawn widths, some with a tied weight, some with
    their first layer frozen; the truth comes from how each was built."""
    from hypothesis import strategies as st

    def attempt(example):
        widths, tie, freeze = example
        model, expected = _model(widths, tie, freeze)
        got = call("count_trainable(model)", count_trainable, model)
        every = _model(widths, tie, False)[1] if freeze else expected
        tied_twice = expected + (widths[-1] ** 2 if tie else 0)
        n_tensors = sum(1 for p in model.parameters() if p.requires_grad)
        what = (f"an MLP with widths {list(widths)}" + (", ending in two tied layers" if tie else "")
                + (", its first layer frozen" if freeze else ""))
        compare("count_trainable(model)", got, expected, inputs=what, rtol=0, atol=0, hints=[
            (lambda g, e: tie and g == tied_twice,
             "the shared weight was counted twice: it is one tensor (model.parameters() gives it once)."),
            (lambda g, e: freeze and g == every,
             "frozen parameters were counted: a parameter with requires_grad False is not trained."),
            (lambda g, e: g == n_tensors, "that is the number of parameter tensors; count their elements, p.numel()."),
        ])

    attempt(((4, 3, 2), True, True))
    examples = st.tuples(st.lists(st.integers(1, 12), min_size=2, max_size=4).map(tuple), st.booleans(), st.booleans())
    first_failure(examples, attempt, max_examples=60)
    return "sum of p.numel() over model.parameters() that require a gradient: a shared tensor comes once."


__all__ = ["check_mlp_parameters", "check_count_trainable"]

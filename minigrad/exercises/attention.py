"""Checks for the exercises of notebook 10, a GPT small enough to read: attention and the block."""
from __future__ import annotations

import math

import numpy

from .checking import (Wrong, attempted, call, check_backward, check_shapes, compare, exercise, first_failure,
                       matches, to_numpy)


def _softmax(x, axis=-1):
    e = numpy.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


_KEEPDIMS = "sum(G * Y, axis=-1) must keep its axis (keepdims=True), so that each row subtracts its own sum."


@exercise("Exercise 10.1, the backward of softmax")
def check_softmax_backward(softmax):
    """Check ``softmax(x)`` (the student's Function, along the last axis) against ``F.softmax(x,
    dim=-1)`` and central differences of it under a random upstream gradient, on a fixed
    (2, 3) input and on hypothesis-drawn ones of 1 to 3 axes."""
    from ..nn import functional as F
    from ..testing import strategies as mst

    def hints_for(x):
        y = _softmax(x)

        def unkept(g):  # the row sums without keepdims: they broadcast along the wrong axis, or not at all
            try:
                return y * (g - (g * y).sum(axis=-1))
            except ValueError:
                return None

        return [
            (lambda got, exp, g: matches(got, y * (1 - y) * g),
             "y * (1 - y) * G is the Jacobian's diagonal alone: every output of a row depends on every input "
             "of the row (dy_i/dx_j = -y_i y_j for j != i), so subtract the row sum: Y * (G - sum(G * Y, -1))."),
            (lambda got, exp, g: matches(got, unkept(g)), _KEEPDIMS),
            (lambda got, exp, g: x.ndim > 1 and matches(got, y * (g - (g * y).sum(axis=0, keepdims=True))),
             "the sum runs over softmax's own axis, the last one (axis=-1), not over the rows."),
            (lambda got, exp, g: matches(got, g - (g * y).sum(axis=-1, keepdims=True)),
             "multiply by Y: dX = Y * (G - sum(G * Y, -1))."),
            (lambda got, exp, g: matches(got, y * (g - g.sum(axis=-1, keepdims=True))),
             "the sum is weighted by Y: sum(G * Y, -1), not sum(G, -1)."),
        ]

    def attempt(x):
        try:
            check_backward("softmax", softmax, lambda t: F.softmax(t, dim=-1), [x], hints_for(x))
        except Wrong as e:
            if "could not be broadcast" not in str(e):
                raise
            raise Wrong(f"{e}\n  Hint: {_KEEPDIMS}") from None

    attempt(numpy.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]))  # a first, readable example
    first_failure(mst.arrays(mst.shapes(1, 3, 1, 4)), attempt, max_examples=40)
    return "dX = Y * (G - sum(G * Y)): the Jacobian diag(y) - y y^T applied to G without ever building it."


def _leak(causal_attention, q, k, v):
    """(i, j) with j > i such that changing the query, key and value at position j changes the
    output at position i; None if the future never leaks. Raises Wrong if the answer fails."""
    from ..factories import tensor

    T = q.shape[-2]
    base = to_numpy(call("causal_attention(q, k, v)", causal_attention, tensor(q), tensor(k), tensor(v)),
                    "causal_attention(q, k, v)")
    rng = numpy.random.default_rng(10)
    for j in range(1, T):
        moved = [a.copy() for a in (q, k, v)]
        for a in moved:
            a[..., j, :] += rng.standard_normal(a[..., j, :].shape)
        out = to_numpy(call("causal_attention(q, k, v)", causal_attention, *(tensor(a) for a in moved)),
                       "causal_attention(q, k, v)")
        if out.shape != base.shape:
            return None
        changed = ~numpy.isclose(out, base, rtol=1e-9, atol=1e-12, equal_nan=True)
        before = [i for i in range(j) if changed[..., i, :].any()]
        if before:
            return before[0], j
    return None


def _attention_inputs():
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    @st.composite
    def inputs(draw):
        lead = draw(st.sampled_from([(), (2,), (1, 2), (2, 3)]))
        T, d, dv = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
        return tuple(draw(mst.arrays(lead + (T, n))) for n in (d, d, dv))
    return inputs()


@exercise("Exercise 10.2, causal self-attention")
def check_causal_attention(causal_attention):
    """Check ``causal_attention(q, k, v)`` (Tensors (*, T, d), (*, T, d), (*, T, dv)) on a fixed
    input and on hypothesis-drawn ones: the output at position i must not change when the
    inputs at a later position change (no future leaks), and it must equal
    ``F.scaled_dot_product_attention(q, k, v, is_causal=True)``."""
    from ..factories import tensor
    from ..nn import functional as F

    def attempt(arrays):
        q, k, v = arrays
        T, d = q.shape[-2:]
        where = f"q, k, v of shapes {q.shape}, {k.shape}, {v.shape}"
        got = call("causal_attention(q, k, v)", causal_attention, *(tensor(a) for a in arrays))
        got = to_numpy(got, "causal_attention(q, k, v)")
        expected = F.scaled_dot_product_attention(*(tensor(a) for a in arrays), is_causal=True).numpy()
        if got.shape != expected.shape:
            raise Wrong(f"causal_attention(q, k, v) has shape {got.shape}, expected {expected.shape} for {where}: "
                        "one output of v's width per query position.")
        leak = _leak(causal_attention, q, k, v)
        if leak:
            i, j = leak
            raise Wrong(f"the future leaked, for {where}: the output at position {i} changed when the query, key "
                        f"and value at position {j} > {i} changed. Position i may see keys 0..i only: hide key j "
                        "from query i where j > i, a mask True above the diagonal, triu(ones(T, T), diagonal=1), "
                        "filled with -inf before the softmax over the keys (the last axis).")
        if numpy.isnan(got).any():
            i = int(numpy.argwhere(numpy.isnan(got))[0][-2])
            raise Wrong(f"NaN at position {i}, for {where}: every key of that row is hidden, so its softmax is "
                        "0 / 0. Each position sees itself: hide only j > i (triu(..., diagonal=1)), not j >= i.")
        scores = q @ numpy.swapaxes(k, -1, -2)
        future = numpy.triu(numpy.ones((T, T), dtype=bool), 1)

        def attention(scale):
            return _softmax(numpy.where(future, -numpy.inf, scores * scale)) @ v

        compare("causal_attention(q, k, v)", got, expected, inputs=where, rtol=1e-6, atol=1e-9, hints=[
            (lambda got, exp: numpy.allclose(got, attention(1.0)),
             "the scores are not scaled: divide q @ k^T by sqrt(d), d = the width of q and k."),
            (lambda got, exp: numpy.allclose(got, attention(1 / d)),
             "divide the scores by sqrt(d), not by d."),
            (lambda got, exp: numpy.allclose(got, attention(1 / math.sqrt(v.shape[-1]))),
             "scale by the width of q and k, d, not by the width of v."),
        ])

    rng = numpy.random.default_rng(10)
    with numpy.errstate(invalid="ignore"):  # a fully hidden row's 0 / 0 is reported, not warned about
        attempt(tuple(rng.standard_normal((1, 4, n)) for n in (3, 3, 2)))  # a first, readable example
        first_failure(_attention_inputs(), attempt, max_examples=40)
    return "softmax(q k^T / sqrt(d) + M) v with M = -inf above the diagonal: each position reads only its past."


# The block of the exercise: GPTConfig(n_embd=32, n_head=4, bias=False), B = 2 windows of T = 6.
_B, _T, _C, _HEADS = 2, 6, 32, 4
_WHY = {
    "x": "The block reads (B, T, C): B windows of T positions, each a vector of C = n_embd numbers.",
    "qkv": "c_attn maps each position's C channels to 3C at once: the queries, keys and values side by side.",
    "q": "view(B, T, n_head, C // n_head) cuts the C channels into n_head heads of C / n_head; transpose(1, 2) "
         "moves the heads in front of the positions, so that each head is a batch of its own.",
    "scores": "q @ k.transpose(-2, -1) is (B, h, T, hs) @ (B, h, hs, T): one score per query and key, per head.",
    "y_heads": "the weights (B, h, T, T) @ v (B, h, T, hs): each head's output has the head size, per position.",
    "y": "transpose(1, 2) and view(B, T, C) put the heads side by side again: (B, T, C).",
    "mlp_hidden": "the MLP widens each position to 4 * n_embd before the GELU.",
    "out": "a block adds to the residual stream: it gives back its input's shape, so blocks stack.",
}


def _block_truth():
    """The shapes met in one run of a Block, caught by forward hooks, and its parameter count."""
    from .. import factories, manual_seed, no_grad
    from ..models.gpt import Block, GPTConfig

    manual_seed(0)
    block = Block(GPTConfig(block_size=_T, n_layer=1, n_head=_HEADS, n_embd=_C, bias=False))
    caught = {}
    block.attn.c_attn.register_forward_hook(lambda m, args, out: caught.setdefault("qkv", out))
    block.attn.c_proj.register_forward_hook(lambda m, args, out: caught.setdefault("y", args[0]))
    block.mlp.c_fc.register_forward_hook(lambda m, args, out: caught.setdefault("mlp_hidden", out))
    x = factories.randn(_B, _T, _C)
    with no_grad():
        out = block(x)
        q, k, v = caught["qkv"].split(_C, dim=2)
        q, k, v = (t.view(_B, _T, _HEADS, _C // _HEADS).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1)
        y_heads = scores.softmax(-1) @ v
    shapes = {"x": x.shape, "qkv": caught["qkv"].shape, "q": q.shape, "scores": scores.shape,
              "y_heads": y_heads.shape, "y": caught["y"].shape, "mlp_hidden": caught["mlp_hidden"].shape,
              "out": out.shape}
    return shapes, sum(p.numel() for p in block.parameters())


@exercise("Exercise 10.3, shapes and parameters through one block")
def check_block_shapes(shapes: dict, block_parameters):
    """Check predicted shapes (name -> tuple) of the tensors met in one GPT ``Block`` with
    n_embd = 32, n_head = 4 and no biases, on a batch of 2 windows of 6 positions, and its
    number of parameters, against a run of minigrad's ``Block`` itself."""
    expected, count = _block_truth()
    check_shapes(shapes, expected, _WHY)
    said = attempted("block_parameters", block_parameters)
    if not isinstance(said, (int, numpy.integer)) or isinstance(said, bool):
        raise Wrong(f"block_parameters is {said!r}; give a number, an int.")
    d = _C
    if said != count:
        hints = {12 * d * d: "the two LayerNorms have a weight of n_embd numbers each.",
                 12 * d * d + 4 * d: "bias=False: the LayerNorms have a weight and no bias.",
                 12 * d * d + 2 * d + 9 * d: "bias=False: the Linear layers of this block have no biases.",
                 8 * d * d + 2 * d: "the MLP has two matrices, n_embd x 4 n_embd and 4 n_embd x n_embd: 8 d^2.",
                 6 * d * d + 2 * d: "c_attn makes queries, keys and values at once: a C x 3C matrix, 3 d^2.",
                 10 * d * d + 2 * d: "the attention has an output projection too, c_proj: C x C, d^2 more.",
                 9 * d * d + 2 * d: "c_attn is C x 3C: 3 d^2 for the queries, keys and values together."}
        raise Wrong(f"block_parameters is {said}; the block has {count} = 12 d^2 + 2 d with d = {d}: "
                    f"3 d^2 (c_attn) + d^2 (attn.c_proj) + 4 d^2 (mlp.c_fc) + 4 d^2 (mlp.c_proj) + 2 d "
                    "(the LayerNorms' weights)." + (f"\n  Hint: {hints[said]}" if said in hints else ""))
    return (f"{count:,} = 12 d^2 + 2 d parameters; the shapes change only inside the attention (heads) and the "
            "MLP (4 d), and the block gives back (B, T, C).")

"""Scaled dot-product attention written from primitive ops, for the course.

``attention_from_primitives`` computes what the fused op ``F.scaled_dot_product_attention``
computes, one public op at a time, so that each step can be printed, drawn and differentiated
by the engine alone: no backward is written here. The fused op (``minigrad/ops/attention.py``)
does the same in one node with its backward written out; the tests check the two against each
other and against PyTorch.
"""
from __future__ import annotations

import math

from ..backend import get_array_module
from ..ops.activations import softmax
from ..tensor import Tensor


def attention_from_primitives(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                              is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value from matmul, add and softmax.

    Shapes: query (*, L, E), key (*, M, E), value (*, M, Ev) -> (*, L, Ev). ``attn_mask`` is a
    bool tensor (True: may attend) or a float tensor added to the scores; ``is_causal`` lets
    query i see keys 0..i only.

    One difference from the fused op, kept on purpose: a query that may attend to no key at
    all has scores that are all -inf, and softmax of such a row is 0/0 = nan here, where the
    fused op (like PyTorch's) returns zeros.
    """
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * scale              # (*, L, M): how well each query fits each key
    if is_causal:
        xp = get_array_module(scores.data)
        attn_mask = Tensor(xp.tril(xp.ones(scores.shape[-2:], dtype=bool)))
    if attn_mask is not None:
        scores = scores + _additive(attn_mask, scores.dtype)     # -inf where a key is hidden: exp(-inf) = 0
    weights = softmax(scores, dim=-1)                             # each row sums to 1 over the keys
    return weights @ value                                        # a weighted average of the values


def _additive(mask: Tensor, dtype) -> Tensor:
    """A bool mask as the float mask that adds 0 where True and -inf where False (no gradient)."""
    if mask.dtype != bool:
        return mask
    xp = get_array_module(mask.data)
    return Tensor(xp.where(mask.data, 0, -xp.inf).astype(dtype))

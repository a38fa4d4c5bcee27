"""Scaled dot-product attention as one op: scores, masked softmax, dropout and the weighted sum."""
import math

from ..autograd import Function, sum_to
from ..backend import device_of, get_array_module, to_device


class ScaledDotProductAttention(Function):
    """O = softmax(Q @ K^T * scale + mask) @ V, batched over the leading axes.

    Shapes: Q (*, L, E) for L queries, K (*, M, E) and V (*, M, Ev) for M keys, O and G
    (*, L, Ev); the leading axes broadcast (NumPy rules), and the mask broadcasts to the shape
    of the scores S, (*, L, M). scale = 1 / sqrt(E) unless given.
        S  = Q @ K^T * scale  (+ mask)       a bool mask puts -inf where it is False
        P  = softmax(S)  along the keys      a row that is all -inf gives P = 0 (as PyTorch)
        O  = (P * D) @ V                     D = keep / (1 - dropout_p), keep ~ Bernoulli(1 - dropout_p);
                                             D = 1 without dropout
        dV = (P * D)^T @ G
        dP = (G @ V^T) * D
        dS = P * (dP - rowsum(dP * P))       softmax's backward, row by row
        dQ = dS @ K * scale,   dK = dS^T @ Q * scale,   dmask = dS   (a float mask only)
    Each gradient is summed back to its input's shape over the broadcast axes (``sum_to``).
    The max of each row is subtracted before exp (softmax is unchanged, exp cannot overflow);
    a fully masked row's max is -inf, so it is shifted by 0 and divided by 1 instead, which
    leaves its zeros rather than 0/0. Saved: Q, K, V, P and D (S and exp(S) are not needed).
    """

    @staticmethod
    def forward(ctx, q, k, v, mask, dropout_p, is_causal, scale):
        # In place where nothing needs the old values (S becomes P): no new (L, M) array per
        # step, about 10% less time for causal attention at nanoGPT's sizes (docs/benchmarks.md).
        xp = get_array_module(q)
        s = q @ k.swapaxes(-1, -2)
        s *= scale
        if is_causal:  # query i sees keys 0..i (top left aligned, as PyTorch)
            mask = xp.tril(xp.ones(s.shape[-2:], dtype=bool))
        if mask is not None:
            s += xp.where(mask, 0, -xp.inf).astype(s.dtype) if mask.dtype == bool else mask
        m = s.max(axis=-1, keepdims=True)
        m[m == -xp.inf] = 0  # a fully masked row: shift by 0, not by -inf (which gives nan)
        s -= m
        p = xp.exp(s, out=s)
        z = p.sum(axis=-1, keepdims=True)
        z[z == 0] = 1  # ... and divide its zeros by 1, not 0
        p /= z
        d = _dropout_scale(p, dropout_p) if dropout_p > 0 else None
        ctx.save_for_backward(q, k, v, p, d)
        ctx.scale, ctx.mask = scale, None if mask is None or is_causal else (mask.shape, mask.dtype)
        return (p if d is None else p * d) @ v

    @staticmethod
    def backward(ctx, grad_output):
        q, k, v, p, d = ctx.saved_tensors
        needs_q, needs_k, needs_v, needs_mask = ctx.needs_input_grad[:4]
        g, scale = grad_output, ctx.scale
        dq = dk = dv = dmask = None
        if needs_v:
            dv = sum_to((p if d is None else p * d).swapaxes(-1, -2) @ g, v.shape)
        if needs_q or needs_k or needs_mask:
            dp = g @ v.swapaxes(-1, -2)
            if d is not None:
                dp *= d
            ds = dp - (dp * p).sum(axis=-1, keepdims=True)
            ds *= p  # dS = P * (dP - rowsum(dP * P))
            if needs_q:
                dq = ds @ k
                dq *= scale
                dq = sum_to(dq, q.shape)
            if needs_k:
                dk = ds.swapaxes(-1, -2) @ q
                dk *= scale
                dk = sum_to(dk, k.shape)
            if needs_mask:
                shape, dtype = ctx.mask
                dmask = sum_to(ds, shape).astype(dtype, copy=False)  # a float64 mask on float32 scores
        return dq, dk, dv, dmask, None, None, None


def _dropout_scale(weights, dropout_p):
    """D = keep / (1 - dropout_p), keep = (u >= dropout_p) with u uniform on [0, 1) drawn from
    minigrad's generator, one per attention weight.

    Drawn on the host and then moved, as ``minigrad.randn`` does, so ``manual_seed`` gives the
    same mask on the CPU and on a GPU.
    """
    from ..factories import default_generator

    keep = default_generator().random(weights.shape) >= dropout_p
    return to_device((keep / (1 - dropout_p)).astype(weights.dtype), device_of(weights))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None):
    """softmax(query @ key^T * scale + mask) @ value, as ``torch.nn.functional.scaled_dot_product_attention``.

    ``attn_mask`` is a bool tensor (True: the query may attend to that key) or a float tensor
    added to the scores; it broadcasts to (*, L, M), L queries and M keys. ``is_causal`` lets query i see keys 0..i
    and excludes ``attn_mask``. ``dropout_p`` drops attention weights at that rate and scales
    the rest by 1 / (1 - dropout_p) whenever it is above 0, in training or not, as PyTorch's
    function does (a module passes 0.0 in eval mode). See ``ScaledDotProductAttention``.
    """
    name = "scaled_dot_product_attention"
    for what, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ValueError(f"{name}: {what} needs at least 2 axes (*, length, features), got shape {t.shape}")
    if not query.dtype == key.dtype == value.dtype or query.dtype.kind != "f":
        raise TypeError(f"{name}: query, key and value must share one floating dtype, got "
                        f"{query.dtype}, {key.dtype} and {value.dtype}; convert with .float() or .double()")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"{name}: shapes do not fit: query {query.shape}, key {key.shape}, value "
                         f"{value.shape} (Expect: query.shape[-1] == key.shape[-1] and "
                         "key.shape[-2] == value.shape[-2])")
    batch = _broadcast_shape(name, query.shape[:-2], key.shape[:-2])
    _broadcast_shape(name, batch, value.shape[:-2])
    if attn_mask is not None:
        if is_causal:
            raise ValueError(f"{name}: pass either attn_mask or is_causal=True, not both; "
                             "for a causal mask combined with another, build the combined mask")
        if attn_mask.dtype != bool and attn_mask.dtype.kind != "f":
            raise TypeError(f"{name}: attn_mask must be bool (True = attend) or floating (added to "
                            f"the scores), got {attn_mask.dtype}")
        weights = batch + (query.shape[-2], key.shape[-2])
        if _broadcast_shape(name, weights, attn_mask.shape, strict=False) != weights:
            raise ValueError(f"{name}: attn_mask of shape {attn_mask.shape} does not broadcast to the "
                             f"attention weights' shape {weights} (*, queries, keys)")
    if not 0 <= dropout_p < 1:
        raise ValueError(f"{name}: dropout_p must be in [0, 1), got {dropout_p}")
    # a Python float: a NumPy float64 scale would turn float32 scores into float64
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    return ScaledDotProductAttention.apply(query, key, value, attn_mask, dropout_p, is_causal, scale)


def _broadcast_shape(name, a, b, strict=True):
    """The shape that ``a`` and ``b`` broadcast to (NumPy rules); None, or an error if ``strict``,
    when they do not broadcast."""
    a, b = (1,) * (len(b) - len(a)) + tuple(a), (1,) * (len(a) - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        if not strict:
            return None
        raise ValueError(f"{name}: the leading (batch) axes of query, key and value do not broadcast: "
                         f"{a} and {b}")
    return tuple(max(x, y) for x, y in zip(a, b))

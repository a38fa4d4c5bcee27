"""Embedding: a lookup table whose rows are picked by integer indices."""
from ..autograd import Function
from ..backend import get_array_module, is_cpu, scatter_add


class Embedding(Function):
    """y = W[idx]: row idx[...] of the table W for every index.

    Shapes: idx (*) integers in [0, num_embeddings), W (num_embeddings, embedding_dim),
    y and G (*, embedding_dim).
        dW = zeros(W.shape);  dW[idx[i]] += G[i] for every position i   (scatter-add)
        dW[padding_idx] = 0                                                   (if given)
    A row picked at several positions gets the sum of their gradients (``add.at``; a plain
    ``dW[idx] = G`` would keep only the last one). The padding row gets no gradient, so it
    stays as it is (zeros, from ``nn.Embedding``), as in PyTorch. The indices get no gradient.
    """

    @staticmethod
    def forward(ctx, idx, w, padding_idx):
        ctx.save_for_backward(idx)
        ctx.shape, ctx.dtype, ctx.padding_idx = w.shape, w.dtype, padding_idx
        return w[idx]

    @staticmethod
    def backward(ctx, grad_output):
        (idx,) = ctx.saved_tensors
        xp = get_array_module(grad_output)
        dw = xp.zeros(ctx.shape, dtype=ctx.dtype)
        scatter_add(xp, dw, idx.reshape(-1), grad_output.reshape(-1, ctx.shape[1]))
        if ctx.padding_idx is not None:
            dw[ctx.padding_idx] = 0
        return None, dw, None


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by the integer tensor ``input``.

    Out-of-range indices are caught on the CPU; on a GPU the check would read the indices back
    to the host every step, so there it is skipped (as ``cross_entropy`` does).
    """
    from ..tensor import Tensor

    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        what = type(input).__name__ if not isinstance(input, Tensor) else f"a {input.dtype} tensor"
        raise TypeError(f"embedding: input must be a tensor of integer indices (int64), got {what}; "
                        "convert with .long()")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"embedding: weight must be a 2-D tensor (num_embeddings, embedding_dim), got {shape}")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} embeddings "
                             f"(expected an int in [{-n}, {n}))")
        padding_idx %= n  # -1 means the last row, as in PyTorch
    if is_cpu(input.data) and input.data.size:
        low, high = int(input.data.min()), int(input.data.max())
        if low < 0 or high >= n:
            raise IndexError(f"embedding: index {low if low < 0 else high} is out of range for {n} "
                             f"embeddings (expected indices in [0, {n}))")
    return Embedding.apply(input, weight, padding_idx)

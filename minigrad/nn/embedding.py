"""``nn.Embedding``: a learned table of vectors, one row per token id."""
from __future__ import annotations

from .. import factories
from ..ops.embedding import embedding
from ..tensor import Tensor
from .module import Module, Parameter


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) for each index ``i`` of the input.

    Initialised as PyTorch does: weight ~ N(0, 1), and the ``padding_idx`` row (if given) set
    to zeros; that row gets no gradient, so it stays zero. See ``ops.embedding``.

    >>> import minigrad
    >>> emb = Embedding(10, 3)
    >>> emb(minigrad.tensor([[1, 2], [2, 9]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, *,
                 _weight: Tensor | None = None, _freeze: bool = False, dtype=None, device=None):
        super().__init__()
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(n, int) or n <= 0:
                raise ValueError(f"Embedding: {name} must be a positive int, got {n!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                 f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        if _weight is not None:  # from_pretrained: the given table, padding row included
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                                 f"{(num_embeddings, embedding_dim)}")
            self.weight = Parameter(factories.tensor(_weight), requires_grad=not _freeze)
            return
        w = factories.randn(num_embeddings, embedding_dim, dtype=dtype or factories.float32, device=device or "cpu")
        if padding_idx is not None:
            w.data[padding_idx] = 0
        self.weight = Parameter(w)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (2-D); frozen (no gradient) by default."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {embeddings.shape}")
        n, dim = embeddings.shape
        return cls(n, dim, padding_idx, _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")

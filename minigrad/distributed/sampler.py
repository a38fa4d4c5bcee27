"""Give each rank its own slice of every epoch: ``DistributedSampler`` (PyTorch's name and rules).

Every rank builds the same shuffled order of the whole dataset (same ``seed``, same ``epoch``, so
no communication is needed) and keeps every ``world_size``-th index starting at its rank::

    order  = [7 2 9 0 4 1 8 3 6 5]        (one permutation, identical on every rank)
    rank 0 = order[0::2] = [7 9 4 8 6]
    rank 1 = order[1::2] = [2 0 1 3 5]

Cut into per-rank batches of ``b``, step k of rank r holds order[k*b*R + r :: R] (b of them), so
the R batches of step k together are exactly ``order[k*b*R : (k+1)*b*R]``: the k-th batch that
one process would take with batch size ``b*R``. That is why data-parallel training can
reproduce big-batch training exactly.

When the dataset size N is not a multiple of the world size R, every rank must still take the
same number of steps (otherwise the ranks with one batch more wait forever in all-reduce):

- ``drop_last=False`` (default, as PyTorch): the order is padded with its own first
  ``R - N % R`` indices, so each rank gets ``ceil(N / R)`` samples; those few samples are seen
  twice that epoch, every other sample exactly once.
- ``drop_last=True``: the last ``N % R`` indices of the (shuffled) order are dropped, so each rank
  gets ``N // R``; those samples are skipped this epoch (a different few each epoch when
  shuffling), every other sample is seen exactly once.

Call ``sampler.set_epoch(epoch)`` at the start of each epoch, or every epoch repeats epoch 0's
order.
"""
from __future__ import annotations

import math

import numpy


class DistributedSampler:
    """Iterate over this rank's dataset indices for the current epoch.

    >>> s = DistributedSampler(range(10), num_replicas=2, rank=1, shuffle=False)
    >>> list(s)
    [1, 3, 5, 7, 9]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .comm import get_rank, get_world_size

            num_replicas = get_world_size() if num_replicas is None else num_replicas
            rank = get_rank() if rank is None else rank
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, num_replicas); "
                             f"got rank={rank}, num_replicas={num_replicas}")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        if self.num_samples == 0:
            raise ValueError(f"DistributedSampler: {n} samples cannot give each of {num_replicas} ranks "
                             "at least one with drop_last=True; use fewer ranks or drop_last=False")

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch's shuffle; the same call on every rank gives the same order everywhere."""
        self.epoch = epoch

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            # seeded by (seed, epoch): every rank draws the same permutation without talking
            order = numpy.random.default_rng((self.seed, self.epoch)).permutation(n)
        else:
            order = numpy.arange(n)
        if self.total_size > n:  # pad by wrapping round (repeats the order if N < R)
            order = numpy.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

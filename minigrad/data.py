"""Datasets and the DataLoader that cuts them into shuffled mini-batches.

PyTorch names, NumPy underneath. A batch is gathered with one fancy index per array when
the data set can do that (``get_batch``; ``TensorDataset`` and the MNIST data sets do), so
an epoch costs one NumPy call per batch, not one Python call per sample.

>>> import numpy as np
>>> from minigrad.data import TensorDataset, DataLoader
>>> ds = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5))
>>> [tuple(y.shape) for x, y in DataLoader(ds, batch_size=2)]
[(2,), (2,), (1,)]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "DataLoader"]


class Dataset:
    """A sized collection of samples: subclasses define ``__getitem__`` and ``__len__``.

    A subclass that holds whole arrays should also define ``get_batch(indices)``, returning
    the batch for an integer index array as a tuple of NumPy arrays with the batch on axis
    0; the DataLoader then fetches a batch in one call instead of one per sample.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _as_array(x) -> np.ndarray:
    if isinstance(x, Tensor):  # on any device: batches are built on the host
        return x.detach().numpy()
    return np.asarray(x)


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given arrays or Tensors, which share their length.

    ``TensorDataset(images, labels)[i] == (images[i], labels[i])`` as NumPy arrays.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or Tensor")
        self.arrays = tuple(_as_array(t) for t in tensors)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: every array needs the same length on axis 0, "
                             f"got shapes {shapes}")
        if lengths[0] == 0:
            raise ValueError(f"TensorDataset: the arrays are empty (shapes "
                             f"{', '.join(str(a.shape) for a in self.arrays)}); a data set needs at least one sample")

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def get_batch(self, indices: np.ndarray) -> tuple:
        """The samples at ``indices`` as one batch per array: the DataLoader's fast path."""
        return tuple(a[indices] for a in self.arrays)


def _collate(samples: list):
    """Stack per-sample fields into batch arrays (the slow path for datasets without get_batch)."""
    first = samples[0]
    if isinstance(first, tuple):
        return tuple(_collate(list(field)) for field in zip(*samples))
    if isinstance(first, bool) or not isinstance(first, numbers.Number):
        return np.stack([np.asarray(s) for s in samples])
    # Python scalars follow minigrad's defaults: ints to int64, floats to float32.
    dtype = np.int64 if isinstance(first, numbers.Integral) else np.float32
    return np.asarray(samples, dtype=dtype)


class DataLoader:
    """Iterate over ``dataset`` in mini-batches of minigrad Tensors on the CPU.

    Args:
        dataset: a ``Dataset`` (anything with ``__len__`` and ``__getitem__``).
        batch_size: samples per batch, a positive integer.
        shuffle: draw a new random order at the start of every epoch (every ``iter()``).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        seed: seeds the NumPy generator used for shuffling; the same seed gives the same
            sequence of epoch orders. ``None`` draws fresh entropy from the OS.
        generator: a ``numpy.random.Generator`` to shuffle with instead of ``seed``.
        sampler: an iterable of dataset indices, iterated afresh every epoch, that decides the
            order instead of ``shuffle`` (so not with ``shuffle=True``), e.g.
            ``DistributedSampler(dataset)`` for this process's share of each epoch.

    Each batch is a tuple of Tensors when samples are tuples (``(images, labels)``), else
    one Tensor. Move it to a device with ``.to(device)``.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 generator: np.random.Generator | None = None, sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if seed is not None and generator is not None:
            raise ValueError("pass seed or generator, not both")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive: the "
                             "sampler decides the order (a DistributedSampler shuffles itself); "
                             "pass shuffle=False")
        n = len(dataset)
        if n == 0:
            raise ValueError(f"DataLoader: the data set ({type(dataset).__name__}) is empty, so every epoch "
                             "would have no batch; check how it was built (its files, split or filter)")
        if drop_last and sampler is None and n < batch_size:
            raise ValueError(f"DataLoader: drop_last=True with batch_size={batch_size} drops all {n} samples, "
                             f"leaving no batch; use a batch_size of at most {n}, or drop_last=False")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.sampler = sampler
        self.generator = generator if generator is not None else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset if self.sampler is None else self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _fetch(self, indices: np.ndarray):
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return get_batch(indices)
        return _collate([self.dataset[int(i)] for i in indices])

    def __iter__(self):
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64)
        elif self.shuffle:
            order = self.generator.permutation(len(self.dataset))
        else:
            order = np.arange(len(self.dataset))
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            batch = self._fetch(order[start:start + self.batch_size])
            # Fancy indexing and stacking made fresh arrays: wrap them, no second copy.
            if isinstance(batch, tuple):
                yield tuple(Tensor(np.asarray(a)) for a in batch)
            else:
                yield Tensor(np.asarray(batch))

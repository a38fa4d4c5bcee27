"""Dataset, TensorDataset and DataLoader."""

import numpy as np
import pytest

import minigrad
from minigrad.data import DataLoader, Dataset, TensorDataset
from minigrad.datasets import MNISTSample


def ids_dataset(n):
    """Sample i is (features [i, -i], label i): an epoch's labels tell which samples came."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    return TensorDataset(x, np.arange(n, dtype=np.int64))


def epoch_labels(loader):
    return np.concatenate([y.numpy() for _, y in loader])


@pytest.mark.parametrize("n,batch_size", [(10, 3), (12, 4), (7, 10), (1, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_exactly_once_per_epoch(n, batch_size, shuffle):
    loader = DataLoader(ids_dataset(n), batch_size=batch_size, shuffle=shuffle, seed=0)
    for _ in range(3):
        labels = epoch_labels(loader)
        assert sorted(labels.tolist()) == list(range(n))
    assert len(loader) == -(-n // batch_size)


def test_batches_are_tensors_with_matching_rows():
    loader = DataLoader(ids_dataset(10), batch_size=4, shuffle=True, seed=1)
    for x, y in loader:
        assert isinstance(x, minigrad.Tensor) and isinstance(y, minigrad.Tensor)
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.device == "cpu"
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())     # rows stay paired
        np.testing.assert_array_equal(x.numpy()[:, 1], -y.numpy())


def test_without_shuffle_order_is_the_dataset_order():
    assert epoch_labels(DataLoader(ids_dataset(9), batch_size=4)).tolist() == list(range(9))


def test_shuffle_differs_between_epochs_and_repeats_with_seed():
    a = DataLoader(ids_dataset(50), batch_size=8, shuffle=True, seed=123)
    b = DataLoader(ids_dataset(50), batch_size=8, shuffle=True, seed=123)
    epochs_a = [epoch_labels(a) for _ in range(3)]
    epochs_b = [epoch_labels(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(epochs_a[0], epochs_a[1])
    assert not np.array_equal(epochs_a[1], epochs_a[2])
    assert not np.array_equal(epochs_a[0], np.arange(50))
    other = DataLoader(ids_dataset(50), batch_size=8, shuffle=True, seed=124)
    assert not np.array_equal(epoch_labels(other), epochs_a[0])


def test_generator_argument_is_used():
    a = DataLoader(ids_dataset(30), batch_size=5, shuffle=True,
                   generator=np.random.default_rng(7))
    b = DataLoader(ids_dataset(30), batch_size=5, shuffle=True, seed=7)
    np.testing.assert_array_equal(epoch_labels(a), epoch_labels(b))
    with pytest.raises(ValueError, match="seed or generator"):
        DataLoader(ids_dataset(3), seed=1, generator=np.random.default_rng(1))


@pytest.mark.parametrize("drop_last,sizes", [(False, [4, 4, 2]), (True, [4, 4])])
def test_last_partial_batch_kept_or_dropped(drop_last, sizes):
    loader = DataLoader(ids_dataset(10), batch_size=4, shuffle=True, seed=0, drop_last=drop_last)
    got = [len(y.numpy()) for _, y in loader]
    assert got == sizes and len(loader) == len(sizes)
    labels = epoch_labels(loader)
    assert len(set(labels.tolist())) == len(labels) == sum(sizes)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8"])
def test_batch_size_must_be_positive_int(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(ids_dataset(3), batch_size=bad)


def test_tensor_dataset_checks_lengths_and_accepts_tensors():
    with pytest.raises(ValueError, match=r"same length on axis 0, got shapes \(3, 2\), \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    features = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    ds = TensorDataset(features, minigrad.tensor([0, 1]))
    x, y = ds[1]
    assert x.tolist() == [3.0, 4.0] and y == 1 and len(ds) == 2


class PerSample(Dataset):
    """A user dataset with no get_batch: the loader falls back to one call per sample."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.full((2, 2), i, dtype=np.float32), i


def test_generic_dataset_is_collated():
    ds = PerSample(5)
    batches = list(DataLoader(ds, batch_size=2))
    x, y = batches[-1]
    assert x.shape == (1, 2, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert y.numpy().tolist() == [4] and ds.calls == 5


class CountingSample(MNISTSample):
    def __init__(self):
        super().__init__(train=False)
        self.gathers = 0

    def __getitem__(self, index):
        raise AssertionError("the loader must not fetch MNIST one sample at a time")

    def get_batch(self, indices):
        self.gathers += 1
        return super().get_batch(indices)


def test_mnist_batches_one_gather_each_torchvision_shapes():
    ds = CountingSample()
    loader = DataLoader(ds, batch_size=256, shuffle=True, seed=0)
    count = 0
    for images, labels in loader:
        assert images.dtype == np.float32 and labels.dtype == np.int64
        assert images.shape[1:] == (1, 28, 28)
        flat = images.view(images.shape[0], -1)          # the article's reshape
        assert flat.shape == (len(labels.numpy()), 784)
        assert 0.0 <= images.numpy().min() and images.numpy().max() <= 1.0
        count += len(labels.numpy())
    assert count == 1000 and ds.gathers == len(loader) == 4


@pytest.mark.parametrize("n,ranks,drop_last", [(24, 3, False), (10, 3, False), (10, 3, True), (9, 2, True)])
def test_distributed_sampler_gives_each_rank_its_share(n, ranks, drop_last):
    """DataLoader(dataset, batch_size, sampler=DistributedSampler(...)) as in PyTorch: the ranks
    (simulated with explicit num_replicas/rank, no MPI) together see the epoch's samples once
    each (a few padded or dropped when n is not a multiple of ranks), a new shuffle each epoch,
    one get_batch call per batch."""
    from minigrad.distributed import DistributedSampler

    class Counting(TensorDataset):
        gathers = 0

        def get_batch(self, indices):
            Counting.gathers += 1
            return super().get_batch(indices)

    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    dataset = Counting(x, np.arange(n, dtype=np.int64))
    samplers = [DistributedSampler(dataset, num_replicas=ranks, rank=r, seed=3, drop_last=drop_last)
                for r in range(ranks)]
    loaders = [DataLoader(dataset, batch_size=2, sampler=s) for s in samplers]
    epochs = []
    for epoch in range(2):
        per_rank = []
        for s, loader in zip(samplers, loaders):
            s.set_epoch(epoch)
            Counting.gathers = 0
            labels = epoch_labels(loader)
            assert Counting.gathers == len(loader) == -(-len(s) // 2)
            assert len(labels) == len(s) == (n // ranks if drop_last else -(-n // ranks))
            per_rank.append(labels)
        seen = np.bincount(np.concatenate(per_rank), minlength=n)
        if n % ranks == 0:
            assert (seen == 1).all(), seen
        elif drop_last:
            assert seen.max() == 1 and (seen == 0).sum() == n % ranks, seen
        else:
            assert seen.min() == 1 and (seen == 2).sum() == ranks - n % ranks, seen
        epochs.append(np.concatenate(per_rank))
    assert not np.array_equal(epochs[0], epochs[1]), "set_epoch must reshuffle"


def test_sampler_excludes_shuffle_and_sets_the_order():
    with pytest.raises(ValueError, match="sampler and shuffle=True are mutually exclusive"):
        DataLoader(ids_dataset(4), batch_size=2, shuffle=True, sampler=[0, 1, 2, 3])
    loader = DataLoader(ids_dataset(6), batch_size=2, sampler=[5, 0, 3], drop_last=True)
    assert epoch_labels(loader).tolist() == [5, 0] and len(loader) == 1
    assert epoch_labels(DataLoader(PerSample(6), batch_size=2, sampler=[4, 1, 2])).tolist() == [4, 1, 2]


class Empty(Dataset):
    def __len__(self):
        return 0


def test_an_empty_data_set_is_refused():
    with pytest.raises(ValueError, match=r"TensorDataset: the arrays are empty \(shapes \(0, 3\), \(0,\)\)"):
        TensorDataset(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match=r"DataLoader: the data set \(Empty\) is empty"):
        DataLoader(Empty(), batch_size=4)


def test_drop_last_that_drops_every_sample_is_refused():
    with pytest.raises(ValueError, match="drop_last=True with batch_size=64 drops all 10 samples"):
        DataLoader(ids_dataset(10), batch_size=64, drop_last=True)
    assert len(DataLoader(ids_dataset(10), batch_size=10, drop_last=True)) == 1

"""MPI worker: setup_for_training, the helper the train command uses: the sampler (through
DataLoader, one get_batch per batch), sums and means over the ranks, wrap/unwrap."""
import math

import numpy

from minigrad import distributed as dist
from minigrad import nn
from minigrad.data import DataLoader


class Rows:
    """A dataset with get_batch, as the MNIST data sets have."""

    def __init__(self, n):
        self.x = numpy.arange(n)
        self.gathers = 0

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i],)

    def get_batch(self, indices):
        self.gathers += 1
        return (self.x[indices],)


run = dist.setup_for_training(True)
rank, size = run.rank, run.world_size
assert run.is_main == (rank == 0)
data = Rows(10)
loader = DataLoader(data, batch_size=2, sampler=run.sampler(data, seed=3))
epochs = []
for epoch in (1, 2):
    run.set_epoch(epoch)
    data.gathers = 0
    mine = numpy.concatenate([x.numpy() for (x,) in loader]).tolist()
    assert data.gathers == len(loader) == math.ceil(math.ceil(10 / size) / 2)
    everyone = dist.all_gather_object(mine)
    assert all(len(s) == math.ceil(10 / size) for s in everyone)
    assert set(sum(everyone, [])) == set(range(10)), everyone
    epochs.append(everyone)
assert epochs[0] != epochs[1], "set_epoch must reshuffle"
assert run.sum(1, rank) == (size, size * (size - 1) / 2)
assert run.mean(float(rank)) == (size - 1) / 2
assert math.isnan(run.mean(float("nan") if rank == size - 1 else 1.0)), "a NaN on one rank is NaN everywhere"
model = nn.Linear(2, 1)
wrapped = run.wrap(model)
assert isinstance(wrapped, dist.DistributedDataParallel) and run.unwrap(wrapped) is model
print(f"rank {rank} of {size}: training helper ok", flush=True)

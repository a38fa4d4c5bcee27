"""MPI worker: setup_for_training, the helper the train command uses: shards, sums and means
over the ranks, wrap/unwrap."""
import math

import numpy

import minigrad
from minigrad import distributed as dist
from minigrad import nn


class Rows:
    """A dataset with get_batch, as the MNIST data sets have."""

    def __init__(self, n):
        self.x = numpy.arange(n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i],)

    def get_batch(self, indices):
        return (self.x[indices],)


run = dist.setup_for_training(True)
rank, size = run.rank, run.world_size
assert run.is_main == (rank == 0)
data = run.shard(Rows(10), seed=3)
for epoch in (1, 2):
    run.set_epoch(epoch)
    mine = data.get_batch(numpy.arange(len(data)))[0].tolist()
    assert mine == [data[i][0] for i in range(len(data))]
    everyone = dist.all_gather_object(mine)
    assert all(len(s) == math.ceil(10 / size) for s in everyone)
    assert set(sum(everyone, [])) == set(range(10)), everyone
assert run.sum(1, rank) == (size, size * (size - 1) / 2)
assert run.mean(float(rank)) == (size - 1) / 2
assert math.isnan(run.mean(float("nan") if rank == size - 1 else 1.0)), "a NaN on one rank is NaN everywhere"
model = nn.Linear(2, 1)
wrapped = run.wrap(model)
assert isinstance(wrapped, dist.DistributedDataParallel) and run.unwrap(wrapped) is model
print(f"rank {rank} of {size}: training helper ok", flush=True)

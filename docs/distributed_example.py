"""Data-parallel training in one page: the same script on 1 process or on N.

    python docs/distributed_example.py                    # 1 process, batch 64
    mpiexec -n 2 python docs/distributed_example.py       # 2 ranks x 32 = the same batch of 64

Both runs print the same losses (to rounding) and end with the same weights: the two ranks
together take exactly the steps the single process takes. Needs
``pip install "minigrad-course[distributed]"``.
"""
import numpy

import minigrad
from minigrad import distributed as dist
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset

GLOBAL_BATCH, EPOCHS = 64, 5

dist.init_process_group()                        # rank and world size come from mpiexec
rank, world = dist.get_rank(), dist.get_world_size()
batch = GLOBAL_BATCH // world                    # each rank takes its part of every batch

# A toy problem every rank builds identically: which of 3 bands a 2-d point falls in.
rng = numpy.random.default_rng(0)
x = rng.uniform(-1, 1, (1536, 2))
y = numpy.digitize(x[:, 0] + x[:, 1] ** 2, [-0.2, 0.6])
train_set = TensorDataset(x, y)

minigrad.manual_seed(rank)                       # different on purpose: DDP copies rank 0's weights
model = dist.DistributedDataParallel(
    nn.Sequential(nn.Linear(2, 32, dtype=minigrad.float64), nn.Tanh(), nn.Linear(32, 3, dtype=minigrad.float64)))
optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)   # this rank's 1/world of each epoch
loader = DataLoader(train_set, batch_size=batch, sampler=sampler)

for epoch in range(EPOCHS):
    sampler.set_epoch(epoch)                     # a new shuffle, the same on every rank
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()                          # this rank's gradient, averaged over the ranks
        optimizer.step()                         # the same step on every rank
        total += loss.item()
    mean_loss = numpy.array([total / len(loader)])
    dist.all_reduce(mean_loss, op=dist.ReduceOp.AVG)
    if rank == 0:                                # one rank reports
        print(f"epoch {epoch}: loss {mean_loss[0]:.6f} ({world} rank(s) x batch {batch})")

if rank == 0:
    print(f"first weights: {numpy.round(model.module[0].weight.data.ravel()[:4], 6)}")

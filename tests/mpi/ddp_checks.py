"""MPI worker: DistributedDataParallel's rules, each checked on every rank (a failed check
raises, which aborts the job with the rank named)."""
import numpy

import minigrad
from minigrad import distributed as dist
from minigrad import nn

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()


def mlp(seed, hidden=5):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, hidden, dtype=minigrad.float64), nn.Tanh(),
                         nn.Linear(hidden, 2, dtype=minigrad.float64))


def local_grads(model, x):
    for p in model.parameters():
        p.grad = None
    (model(minigrad.tensor(x)) ** 2).mean().backward()
    return [p.grad.data.copy() for p in model.parameters()]


x_all = numpy.random.default_rng(0).standard_normal((size, 4, 3))  # rank r's batch is x_all[r]

# Construction: every replica takes rank 0's weights, frozen ones included.
unwrapped = mlp(seed=rank)
unwrapped[0].bias.requires_grad = False
model = dist.DistributedDataParallel(unwrapped)
unwrapped[0].bias.requires_grad = True
reference = mlp(seed=0)
for p, q in zip(model.parameters(), reference.parameters()):
    assert numpy.array_equal(p.data, q.data), "parameters not broadcast from rank 0"

# synchronize_gradients: the mean of the ranks' gradients, in one bucket or in many.
per_rank = [local_grads(reference, x_all[r]) for r in range(size)]
expected = [numpy.mean([g[i] for g in per_rank], axis=0) for i in range(4)]
for cap_mb in (25.0, 1e-5):  # 1e-5 MB = 10 bytes: one bucket per parameter
    m = dist.DistributedDataParallel(mlp(seed=0), bucket_cap_mb=cap_mb)
    (m(minigrad.tensor(x_all[rank])) ** 2).mean().backward()
    m.synchronize_gradients()
    assert len(m._buckets) == (1 if cap_mb == 25.0 else 4), len(m._buckets)
    for p, e in zip(m.parameters(), expected):
        numpy.testing.assert_allclose(p.grad.data, e, rtol=0, atol=1e-14)

# Forgetting synchronize_gradients is an error at the next forward, not silent drift.
model(minigrad.tensor(x_all[rank])).sum().backward()
try:
    model(minigrad.tensor(x_all[rank]))
except RuntimeError as e:
    assert f"rank {rank}" in str(e) and "synchronize_gradients" in str(e), e
else:
    raise AssertionError("a second forward without synchronize_gradients should raise")
model.synchronize_gradients()
with minigrad.no_grad():  # evaluation needs no synchronisation
    model(minigrad.tensor(x_all[rank]))
    model(minigrad.tensor(x_all[rank]))

# no_sync: accumulate two batches locally, then one synchronisation averages the sums.
m = dist.DistributedDataParallel(mlp(seed=0))
with m.no_sync():
    (m(minigrad.tensor(x_all[rank])) ** 2).mean().backward()
(m(minigrad.tensor(x_all[rank])) ** 2).mean().backward()
m.synchronize_gradients()
for p, e in zip(m.parameters(), expected):
    numpy.testing.assert_allclose(p.grad.data, 2 * e, rtol=0, atol=1e-14)

# A parameter no rank used keeps grad None (as on one process); one that only rank 0 used
# gets rank 0's gradient divided by the world size (the others count as zero, as PyTorch).
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.head, self.spare = nn.Linear(3, 2, dtype=minigrad.float64), \
            nn.Linear(2, 1, dtype=minigrad.float64), nn.Linear(2, 1, dtype=minigrad.float64)

    def forward(self, x):
        h = self.body(x)
        return self.head(h) if rank == 0 else h


m = dist.DistributedDataParallel(TwoHeads())
m(minigrad.tensor(x_all[rank])).sum().backward()
head_grad = m.module.head.weight.grad.data.copy() if rank == 0 else numpy.empty((2, 1))
dist.broadcast(head_grad, src=0)
m.synchronize_gradients()
assert m.module.spare.weight.grad is None and m.module.spare.bias.grad is None
numpy.testing.assert_allclose(m.module.head.weight.grad.data, head_grad / size, rtol=0, atol=1e-15)

# Different models on different ranks: a clear error on every rank, before any all-reduce.
try:
    dist.DistributedDataParallel(mlp(seed=0, hidden=5 + (rank == size - 1)))
except RuntimeError as e:
    assert "different models" in str(e) and f"rank {size - 1} has" in str(e), e
else:
    raise AssertionError("different models on different ranks should raise")

print(f"rank {rank} of {size}: ddp ok", flush=True)

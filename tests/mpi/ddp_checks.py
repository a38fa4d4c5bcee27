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


class counting_all_reduces:
    """Count the all-reduces DistributedDataParallel sends (it calls comm.all_reduce)."""

    def __enter__(self):
        self.count, self.original = 0, dist.comm.all_reduce

        def counted(*args, **kwargs):
            self.count += 1
            return self.original(*args, **kwargs)

        dist.comm.all_reduce = counted
        return self

    def __exit__(self, *exc):
        dist.comm.all_reduce = self.original


def step(m, x):
    (m(minigrad.tensor(x)) ** 2).mean().backward()


# The plain loop: backward alone leaves the mean of the ranks' gradients, in one bucket or many.
per_rank = [local_grads(reference, x_all[r]) for r in range(size)]
expected = [numpy.mean([g[i] for g in per_rank], axis=0) for i in range(4)]
for cap_mb in (25.0, 1e-5):  # 1e-5 MB = 10 bytes: one bucket per parameter
    m = dist.DistributedDataParallel(mlp(seed=0), bucket_cap_mb=cap_mb)
    with counting_all_reduces() as sent:
        step(m, x_all[rank])
    buckets = 1 if cap_mb == 25.0 else 4
    if size > 1:  # one process sends nothing and builds no buckets
        assert len(m._buckets) == buckets and sent.count == buckets, (len(m._buckets), sent.count)
    for p, e in zip(m.parameters(), expected):
        numpy.testing.assert_allclose(p.grad.data, e, rtol=0, atol=1e-14)
    # An explicit synchronize_gradients() after the automatic one sends nothing, changes nothing.
    grads = [p.grad for p in m.parameters()]
    with counting_all_reduces() as sent:
        m.synchronize_gradients()
    assert sent.count == 0 and all(p.grad is g for p, g in zip(m.parameters(), grads))
    # ...and a second backward before the step averages again: the sum of two mean gradients.
    step(m, x_all[rank])
    for p, e in zip(m.parameters(), expected):
        numpy.testing.assert_allclose(p.grad.data, 2 * e, rtol=0, atol=1e-14)

# Evaluation needs no synchronisation and sends nothing.
with counting_all_reduces() as sent, minigrad.no_grad():
    model(minigrad.tensor(x_all[rank]))
    model(minigrad.tensor(x_all[rank]))
assert sent.count == 0

# no_sync: two batches accumulate locally; the backward after the block averages their sum.
m = dist.DistributedDataParallel(mlp(seed=0))
with counting_all_reduces() as sent:
    with m.no_sync():
        step(m, x_all[rank])
        step(m, x_all[rank])
    assert sent.count == 0, "no_sync must not communicate"
    step(m, x_all[rank])
assert sent.count == (1 if size > 1 else 0)
for p, e in zip(m.parameters(), expected):
    numpy.testing.assert_allclose(p.grad.data, 3 * e, rtol=0, atol=1e-14)


class TwoHeads(nn.Module):
    """``head`` is used on rank 0 only (or everywhere with every_rank), ``spare`` never."""

    def __init__(self, every_rank=False):
        super().__init__()
        self.every_rank = every_rank
        self.body, self.head, self.spare = nn.Linear(3, 2, dtype=minigrad.float64), \
            nn.Linear(2, 1, dtype=minigrad.float64), nn.Linear(2, 1, dtype=minigrad.float64)

    def forward(self, x):
        h = self.body(x)
        return self.head(h) if rank == 0 or self.every_rank else h


def rank0_head_grad(m):
    """The gradient of head on rank 0 alone, recomputed on a plain copy of the model."""
    plain = TwoHeads(every_rank=True)
    plain.load_state_dict(m.module.state_dict())
    plain(minigrad.tensor(x_all[0])).sum().backward()
    return plain.head.weight.grad.data


# A parameter unused on every rank: no rank all-reduces in backward (nobody waits), and the
# next forward says what to do instead of letting the replicas drift.
m = dist.DistributedDataParallel(TwoHeads(every_rank=True))
with counting_all_reduces() as sent:
    m(minigrad.tensor(x_all[rank])).sum().backward()
assert sent.count == 0
for forward in (lambda: m(minigrad.tensor(x_all[rank])), lambda: m.eval()(minigrad.tensor(x_all[rank]))):
    try:
        forward()
    except RuntimeError as e:
        assert f"rank {rank}:" in str(e) and "spare.bias, spare.weight" in str(e), e
        assert "model.synchronize_gradients()" in str(e) and "find_unused_parameters=True" in str(e), e
    else:
        raise AssertionError("a forward after a backward that left a parameter without gradient should raise")
m.train()
m.synchronize_gradients()  # the way out: averages what exists, spare keeps grad None
assert m.module.spare.weight.grad is None and m.module.head.weight.grad is not None
m(minigrad.tensor(x_all[rank]))

# Different parameters unused on different ranks, with synchronize_gradients() after backward:
# rank 0 used everything, so its hooks all-reduced inside backward and its explicit call does
# nothing; the other ranks join that all-reduce through their explicit call. One all-reduce
# per rank, no deadlock. head, used by rank 0 only, gets rank 0's gradient / size (the others
# count as zero, as PyTorch), spare keeps grad None as on one process.
m = dist.DistributedDataParallel(TwoHeads())
with counting_all_reduces() as sent:
    m(minigrad.tensor(x_all[rank])).sum().backward()
    m.synchronize_gradients()
assert sent.count == (1 if size > 1 else 0), sent.count
assert m.module.spare.weight.grad is None and m.module.spare.bias.grad is None
numpy.testing.assert_allclose(m.module.head.weight.grad.data, rank0_head_grad(m) / size, rtol=0, atol=1e-15)

# find_unused_parameters=True: the same model trains with the plain loop; each forward marks
# what its graph does not reach as ready, so every rank all-reduces once inside backward.
m = dist.DistributedDataParallel(TwoHeads(), find_unused_parameters=True)
for _ in range(2):
    m.zero_grad()
    with counting_all_reduces() as sent:
        m(minigrad.tensor(x_all[rank])).sum().backward()
    assert sent.count == (1 if size > 1 else 0), sent.count
    assert m.module.spare.weight.grad is None
    numpy.testing.assert_allclose(m.module.head.weight.grad.data, rank0_head_grad(m) / size, rtol=0, atol=1e-15)
    m(minigrad.tensor(x_all[rank]))  # no error: nothing is left waiting

# Different models on different ranks: a clear error on every rank, before any all-reduce.
try:
    dist.DistributedDataParallel(mlp(seed=0, hidden=5 + (rank == size - 1)))
except RuntimeError as e:
    assert "different models" in str(e) and f"rank {size - 1} has" in str(e), e
else:
    raise AssertionError("different models on different ranks should raise")

print(f"rank {rank} of {size}: ddp ok", flush=True)

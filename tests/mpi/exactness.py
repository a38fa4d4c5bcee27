"""Data-parallel training must equal big-batch training.

    mpiexec -n R python exactness.py OUT.npz OPTIMIZER b          R ranks, per-rank batch b
    python exactness.py OUT.npz OPTIMIZER b --reference R         1 process, batch b*R

Both train the same float64 MLP for 50 steps on the same data in the same order and write the
final parameters to OUT.npz; the test compares them. The reference imports nothing from
minigrad.distributed: it restates the sampler's rule (one permutation per epoch, seeded by
(seed, epoch)) so that it checks the sampler instead of reusing it.
"""
import sys

import numpy

import minigrad
from minigrad import nn, optim

STEPS, N, SEED = 50, 96, 7


def make_data():
    rng = numpy.random.default_rng(123)
    x = rng.standard_normal((N, 8))
    y = (x[:, 0] + 2 * x[:, 1] > x[:, 2]).astype(numpy.int64) + (x[:, 3] > 1)
    return x, y


def make_model(seed):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16, dtype=minigrad.float64), nn.Tanh(),
                         nn.Linear(16, 16, dtype=minigrad.float64), nn.ReLU(),
                         nn.Linear(16, 3, dtype=minigrad.float64))


def make_optimizer(name, params):
    if name == "sgd":
        return optim.SGD(params, lr=0.1, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def train(model, sync, optimizer, batches):
    loss_fn = nn.CrossEntropyLoss()
    for xb, yb in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(minigrad.tensor(xb)), minigrad.tensor(yb))
        loss.backward()
        sync()
        optimizer.step()


def batches_of(index_stream, x, y, batch):
    """STEPS batches from an endless stream of per-epoch index lists."""
    made = 0
    for indices in index_stream:
        for start in range(0, len(indices), batch):
            idx = indices[start:start + batch]
            yield x[idx], y[idx]
            made += 1
            if made == STEPS:
                return


def reference(out, opt_name, b, ranks):
    x, y = make_data()
    model = make_model(SEED)
    epochs = (numpy.random.default_rng((SEED, e)).permutation(N) for e in range(10**6))
    train(model, lambda: None, make_optimizer(opt_name, model.parameters()), batches_of(epochs, x, y, b * ranks))
    return model


def distributed(out, opt_name, b):
    from minigrad import distributed as dist

    dist.init_process_group()
    rank = dist.get_rank()
    x, y = make_data()
    model = dist.DistributedDataParallel(make_model(SEED + 100 * rank))  # rank 0's weights must win
    sampler = dist.DistributedSampler(range(N), shuffle=True, seed=SEED)

    def epochs():
        for e in range(10**6):
            sampler.set_epoch(e)
            yield numpy.array(list(sampler))

    train(model, model.synchronize_gradients, make_optimizer(opt_name, model.parameters()),
          batches_of(epochs(), x, y, b))
    # every replica must hold bit-for-bit the same parameters
    mine = numpy.concatenate([p.data.ravel() for p in model.parameters()])
    first = mine.copy()
    dist.broadcast(first, src=0)
    assert numpy.array_equal(mine, first), f"rank {rank}: replicas differ by {abs(mine - first).max()}"
    return model.module if rank == 0 else None


if __name__ == "__main__":
    out, opt_name, b = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if "--reference" in sys.argv:
        trained = reference(out, opt_name, b, int(sys.argv[sys.argv.index("--reference") + 1]))
    else:
        trained = distributed(out, opt_name, b)
    if trained is not None:
        numpy.savez(out, **{name: p.data for name, p in trained.named_parameters()},
                    **{"init." + name: p.data for name, p in make_model(SEED).named_parameters()})

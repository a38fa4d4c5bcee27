"""Data-parallel training must equal big-batch training.

    mpiexec -n R python exactness.py OUT.npz OPTIMIZER b [--explicit]   R ranks, per-rank batch b
    python exactness.py OUT.npz OPTIMIZER b --reference R               1 process, batch b*R

Both train the same float64 MLP for 50 steps on the same data in the same order and write the
final parameters to OUT.npz; the test compares them. The ranks run the plain loop (backward
averages the gradients) over DataLoader(sampler=DistributedSampler); with --explicit they also
call model.synchronize_gradients() after backward, which must not average a second time. The
reference imports nothing from minigrad.distributed: it restates the sampler's rule (one
permutation per epoch, seeded by (seed, epoch)) so that it checks the sampler instead of
reusing it.
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


def train(model, optimizer, batches, after_backward=lambda: None):
    loss_fn = nn.CrossEntropyLoss()
    for xb, yb in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(minigrad.tensor(xb)), minigrad.tensor(yb))
        loss.backward()
        after_backward()
        optimizer.step()


def first_steps(epochs):
    """The first STEPS batches of an endless stream of epochs (iterables of batches)."""
    made = 0
    for epoch in epochs:
        for batch in epoch:
            yield batch
            made += 1
            if made == STEPS:
                return


def reference(out, opt_name, b, ranks):
    x, y = make_data()
    model = make_model(SEED)
    orders = (numpy.random.default_rng((SEED, e)).permutation(N) for e in range(10**6))
    epochs = ([(x[o[i:i + b * ranks]], y[o[i:i + b * ranks]]) for i in range(0, N, b * ranks)] for o in orders)
    train(model, make_optimizer(opt_name, model.parameters()), first_steps(epochs))
    return model


def distributed(out, opt_name, b, explicit):
    from minigrad import distributed as dist
    from minigrad.data import DataLoader, TensorDataset

    dist.init_process_group()
    rank = dist.get_rank()
    x, y = make_data()
    model = dist.DistributedDataParallel(make_model(SEED + 100 * rank))  # rank 0's weights must win
    dataset = TensorDataset(x, y)
    sampler = dist.DistributedSampler(dataset, shuffle=True, seed=SEED)
    loader = DataLoader(dataset, batch_size=b, sampler=sampler)

    def epochs():
        for e in range(10**6):
            sampler.set_epoch(e)
            yield ((xb.numpy(), yb.numpy()) for xb, yb in loader)

    train(model, make_optimizer(opt_name, model.parameters()), first_steps(epochs()),
          model.synchronize_gradients if explicit else lambda: None)
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
        trained = distributed(out, opt_name, b, "--explicit" in sys.argv)
    if trained is not None:
        numpy.savez(out, **{name: p.data for name, p in trained.named_parameters()},
                    **{"init." + name: p.data for name, p in make_model(SEED).named_parameters()})

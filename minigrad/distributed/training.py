"""What a training command needs to run data-parallel, in one object: ``setup_for_training``.

``python -m minigrad train --distributed`` (under ``mpiexec -n R``) calls it so that its loop
stays the single-process loop with a few extra calls; without ``--distributed`` every call is
a no-op and MPI is never imported::

    run = distributed.setup_for_training(args.distributed)
    device = run.device(args.device)                 # 'cuda' -> this rank's own GPU
    model = run.wrap(model.to(device))               # DDP, or the model itself
    sampler = run.sampler(train_set, seed=args.seed)    # this rank's part of each epoch, or None
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=sampler is None,
                        sampler=sampler, seed=args.seed)
    for epoch in range(1, epochs + 1):
        run.set_epoch(epoch)                         # reshuffle the shards, same seed everywhere
        for x, y in loader:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()                          # DDP averages the gradients in here
            optimizer.step()
            value = run.mean(loss.item())            # the loss of the global batch
        if run.is_main: ...                          # print, evaluate, save run.unwrap(model)

``--batch-size`` stays per rank, so the global batch is batch size x ranks.
"""
from __future__ import annotations

import numpy

from . import comm
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler


class DistributedTraining:
    """The rank, the world size, and the calls that differ between 1 process and R.

    ``timeout`` bounds every collective (``init_process_group``); used when this creates the
    process group.
    """

    def __init__(self, enabled: bool, timeout=comm.DEFAULT_TIMEOUT):
        self.enabled = enabled
        if enabled:
            if not comm.is_initialized():
                comm.init_process_group(timeout=timeout)
            self.rank, self.world_size = comm.get_rank(), comm.get_world_size()
        else:
            self.rank, self.world_size = 0, 1
        self._samplers = []

    @property
    def is_main(self) -> bool:
        """Only rank 0 prints, draws the progress bar and writes files."""
        return self.rank == 0

    def device(self, spec: str) -> str:
        """The device this rank trains on: ``'cuda'`` becomes ``'cuda:L'`` with L this rank's
        number on its machine modulo the GPUs there, so each rank has a GPU of its own (NCCL
        needs that), and that GPU is made CuPy's current one. ``'cpu'`` or an explicit
        ``'cuda:N'`` is kept as given."""
        if not self.enabled or spec != "cuda":
            return spec
        from .. import backend, cuda

        count = cuda.device_count()
        if count == 0:
            return spec  # moving the model there raises the engine's "no GPU" error
        index = comm.get_local_rank() % count
        backend.cupy_module(index).cuda.Device(index).use()
        return f"cuda:{index}"

    def wrap(self, model):
        """``model`` in a ``DistributedDataParallel`` when data-parallel, else unchanged."""
        return DistributedDataParallel(model) if self.enabled else model

    def unwrap(self, model):
        """The plain model inside (what to save, so the checkpoint loads without MPI)."""
        return model.module if isinstance(model, DistributedDataParallel) else model

    def sampler(self, dataset, seed: int = 0, shuffle: bool = True):
        """A ``DistributedSampler`` for ``DataLoader(sampler=...)``: this rank's part of each
        epoch; None on 1 process, where the loader shuffles by itself."""
        if not self.enabled:
            return None
        sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed)
        self._samplers.append(sampler)
        return sampler

    def set_epoch(self, epoch: int) -> None:
        """Tell every sampler made by ``sampler()`` the epoch, for its shuffle."""
        for sampler in self._samplers:
            sampler.set_epoch(epoch)

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the ranks (e.g. each rank's loss); ``value`` on 1 process.

        Every rank gets the same number, so a check on it (``if not isfinite(loss)``) fails on
        all ranks together instead of on one, which would leave the others waiting.
        """
        return self.sum(value)[0] / self.world_size

    def sum(self, *values: float) -> tuple:
        """Each value summed over the ranks, in one small all-reduce."""
        if not self.enabled or self.world_size == 1:
            return tuple(float(v) for v in values)
        buf = numpy.array(values, dtype=numpy.float64)
        comm.all_reduce(buf)
        return tuple(buf.tolist())

    def differences(self, settings: dict) -> list:
        """Where the ranks' ``settings`` (name -> value) disagree, one line per name, e.g.
        ``"--lr: 0.1 on ranks 0, 2; 0.2 on rank 1"``; empty on 1 process. Every rank gets the
        same list, so every rank can refuse to start together."""
        if not self.enabled or self.world_size == 1:
            return []
        everyone = comm.all_gather_object(settings)
        lines = []
        for name in dict.fromkeys(k for s in everyone for k in s):
            ranks_by_value = {}
            for rank, s in enumerate(everyone):
                ranks_by_value.setdefault(repr(s.get(name)), []).append(rank)
            if len(ranks_by_value) > 1:
                lines.append(f"{name}: " + "; ".join(
                    f"{value} on rank{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))}"
                    for value, ranks in ranks_by_value.items()))
        return lines

def setup_for_training(distributed: bool, timeout=comm.DEFAULT_TIMEOUT) -> DistributedTraining:
    """Join the ``mpiexec`` job when ``distributed`` is true; see the module docstring."""
    return DistributedTraining(bool(distributed), timeout)


"""Data-parallel training over MPI: the same script on 1 process or on N (``mpiexec -n N``).

Each of N processes (ranks) holds a full copy of the model, takes its own 1/N of every batch,
and inside ``backward()`` the ranks average their gradients (one all-reduce), so every rank takes
the same optimizer step, the step one process would take on the whole batch. See
``docs/distributed.md`` for how and why, and what it costs.

    from minigrad import distributed as dist
    dist.init_process_group()                 # rank and world size come from mpiexec
    model = dist.DistributedDataParallel(model)
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=32, sampler=sampler)   # then the usual loop

Needs ``pip install "minigrad-course[distributed]"`` (mpi4py and MPICH); this module imports without
them and names that command when a function needs MPI.
"""
from .comm import (
    ReduceOp,
    abort,
    abort_on_failure,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .training import DistributedTraining, setup_for_training

__all__ = [
    "ReduceOp", "abort", "abort_on_failure", "all_gather_object", "all_reduce", "barrier", "broadcast", "destroy_process_group",
    "get_local_rank", "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
    "DistributedDataParallel", "DistributedSampler", "DistributedTraining", "setup_for_training",
]

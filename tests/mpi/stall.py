"""MPI worker: one rank stops taking part, and the others must not wait for it forever.

argv[1] is the collective timeout in seconds, argv[2] the fault:

- 'extra': the last rank takes one all-reduce more than the others (ranks disagreeing on the
  number of steps); it must end the job after the timeout, naming the ranks that never came.
- 'slow': rank 0 works for 1.5 s, past the point where waiting ranks send their notices but
  within the timeout: nothing may be reported and the job must finish.
"""
import sys
import time

import numpy

from minigrad import distributed as dist

timeout, fault = float(sys.argv[1]), sys.argv[2]
dist.init_process_group(timeout=timeout)
rank, size = dist.get_rank(), dist.get_world_size()
x = numpy.ones(1000)
if fault == "extra":
    for step in range(5 + (rank == size - 1)):
        dist.all_reduce(x)
elif fault == "slow":
    if rank == 0:
        time.sleep(1.5)
    dist.all_reduce(x)
    dist.barrier()
    print(f"rank {rank}: slow ok, {dist.all_gather_object(rank)}", flush=True)
print(f"rank {rank}: finished", flush=True)

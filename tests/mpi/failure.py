"""MPI worker: rank argv[1] fails while the other ranks wait for it in all_reduce. The job must
end within seconds with that rank named, not hang. argv[2] says how it fails: 'raise' (an
uncaught exception: init_process_group's excepthook) or 'exit' (sys.exit(3) inside
abort_on_failure, which the excepthook never sees)."""
import sys

import numpy

from minigrad import distributed as dist

dist.init_process_group()
bad = int(sys.argv[1])
dist.barrier()
if dist.get_rank() == bad:
    if sys.argv[2] == "raise":
        raise ValueError("deliberate failure in the data pipeline")
    with dist.abort_on_failure():
        sys.exit(3)
x = numpy.ones(10)
dist.all_reduce(x)  # the healthy ranks block here until MPI_Abort ends them
print("unreachable: all_reduce returned although a rank had failed", flush=True)

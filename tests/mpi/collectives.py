"""MPI worker: every collective on NumPy arrays and Tensors. Any failed check raises, which
(through init_process_group's excepthook) aborts the job with the rank named."""
import numpy

from minigrad import distributed as dist

dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()

x = numpy.arange(6, dtype=numpy.float64) + rank
dist.all_reduce(x)
numpy.testing.assert_array_equal(x, sum(numpy.arange(6.0) + r for r in range(size)))

x = numpy.full(3, float(rank + 1))
dist.all_reduce(x, op=dist.ReduceOp.AVG)
numpy.testing.assert_allclose(x, (size + 1) / 2)

x = numpy.array([rank, -rank], dtype=numpy.int64)
dist.all_reduce(x, op=dist.ReduceOp.MAX)
numpy.testing.assert_array_equal(x, [size - 1, 0])

# a non-contiguous view is reduced in place, and only the view changes
base = numpy.ones((4, 4), dtype=numpy.float32)
dist.all_reduce(base[:, 1])
assert base[:, 1].tolist() == [size] * 4 and base[:, 0].tolist() == [1] * 4, base

x = numpy.full(5, float(rank))
dist.broadcast(x, src=size - 1)
numpy.testing.assert_array_equal(x, size - 1)

try:
    dist.all_reduce(numpy.ones(2, dtype=numpy.int64), op=dist.ReduceOp.AVG)
except TypeError as e:
    assert f"rank {rank}" in str(e), e
else:
    raise AssertionError("AVG of an int array should raise")

try:
    dist.broadcast(numpy.ones(1), src=size)
except ValueError as e:
    assert "not a rank" in str(e), e
else:
    raise AssertionError("broadcast from a rank that does not exist should raise")

assert dist.all_gather_object({"rank": rank}) == [{"rank": r} for r in range(size)]
assert dist.get_local_rank() == rank  # one machine: local ranks are the ranks
dist.barrier()
print(f"rank {rank} of {size}: collectives ok", flush=True)

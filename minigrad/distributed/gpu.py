"""Collectives on CuPy arrays (gradients on a GPU). Not imported unless a CuPy array is reduced.

Three ways to reduce an array that lives in GPU memory, chosen by
``init_process_group(gpu_backend=...)``:

- ``'nccl'`` (default): NVIDIA's collective library through ``cupy.cuda.nccl``. The array
  never leaves the GPU; NCCL moves it over NVLink/PCIe/InfiniBand itself. MPI is used only once,
  to hand every rank the NCCL id that rank 0 made. This is what PyTorch uses on NVIDIA GPUs.
- ``'mpi'``: give the device pointer straight to MPI (mpi4py accepts CuPy arrays). Correct only
  if the MPI library was built CUDA-aware. There is no portable way to ask MPI that (mpi4py has
  no query for it, MPICH and Open MPI each have their own extension), and a non-CUDA-aware MPI
  reading a device pointer crashes or returns garbage, so minigrad never guesses: you opt in.
  MPICH from PyPI is not built CUDA-aware.
- ``'host'``: copy to host memory, reduce with MPI, copy back. Always works; costs two copies
  over PCIe per reduction.

Each rank must be on its own GPU before the first collective (NCCL allows one rank per GPU):
``cupy.cuda.Device(get_local_rank() % cupy.cuda.runtime.getDeviceCount()).use()``.
"""
from __future__ import annotations

from .comm import ReduceOp, _mpi_op, _ProcessGroup, all_gather_object, mpi_all_reduce, mpi_broadcast


def _nccl():
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError("CuPy arrays are reduced through NCCL (gpu_backend='nccl'), but cupy.cuda.nccl "
                           "is not available in this CuPy install; install NCCL for CuPy "
                           "(python -m cupyx.tools.install_library --library nccl --cuda 12.x), or call "
                           "init_process_group(gpu_backend='host') to reduce through host memory") from e
    if not nccl.available:
        raise RuntimeError("cupy.cuda.nccl is present but NCCL is not; see gpu_backend='host'")
    return nccl


def _communicator(g: _ProcessGroup):
    """Make the NCCL communicator on first use: rank 0 draws the id, MPI carries it to all."""
    if g.nccl is None:
        nccl = _nccl()
        uid = all_gather_object(nccl.get_unique_id() if g.rank == 0 else None)[0]
        g.nccl = nccl.NcclCommunicator(g.world_size, uid, g.rank)
    return g.nccl


def _nccl_dtype(nccl, x):
    table = {"float16": nccl.NCCL_FLOAT16, "float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64,
             "int32": nccl.NCCL_INT32, "int64": nccl.NCCL_INT64, "uint8": nccl.NCCL_UINT8}
    if x.dtype.name not in table:
        raise TypeError(f"NCCL cannot reduce dtype {x.dtype}; use one of {sorted(table)}")
    return table[x.dtype.name]


def _nccl_op(nccl, op: str):
    return {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
            ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.MAX: nccl.NCCL_MAX}[op]


def _contiguous(x, op: str):
    if not x.flags.c_contiguous:
        raise ValueError(f"{op}: the CuPy array must be C-contiguous (got strides {x.strides}); "
                         "pass cupy.ascontiguousarray(x) and copy the result back")
    return x


def all_reduce(g: _ProcessGroup, x, op: str, what: str) -> None:
    import cupy

    if g.gpu_backend == "host":
        host = cupy.asnumpy(x)
        mpi_all_reduce(g, host, _mpi_op(g, op), what)
        x[...] = cupy.asarray(host)
        return
    _contiguous(x, "all_reduce")
    if g.gpu_backend == "mpi":
        cupy.cuda.get_current_stream().synchronize()  # MPI does not know CuPy's streams
        mpi_all_reduce(g, x, _mpi_op(g, op), what)
        return
    nccl = _nccl()
    with x.device:
        comm = _communicator(g)
        stream = cupy.cuda.get_current_stream()
        comm.allReduce(x.data.ptr, x.data.ptr, x.size, _nccl_dtype(nccl, x), _nccl_op(nccl, op), stream.ptr)


def broadcast(g: _ProcessGroup, x, src: int, what: str) -> None:
    import cupy

    if g.gpu_backend == "host":
        host = cupy.asnumpy(x)
        mpi_broadcast(g, host, src, what)
        x[...] = cupy.asarray(host)
        return
    _contiguous(x, "broadcast")
    if g.gpu_backend == "mpi":
        cupy.cuda.get_current_stream().synchronize()
        mpi_broadcast(g, x, src, what)
        return
    nccl = _nccl()
    with x.device:
        comm = _communicator(g)
        stream = cupy.cuda.get_current_stream()
        comm.bcast(x.data.ptr, x.size, _nccl_dtype(nccl, x), src, stream.ptr)


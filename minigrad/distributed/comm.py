"""The process group: who am I (rank), how many are we (world size), and the collectives.

MPI starts the processes (``mpiexec -n 4 python train.py``) and tells each one its rank;
``init_process_group()`` only asks. mpi4py is imported there and nowhere else, so
``import minigrad`` and ``import minigrad.distributed`` need only NumPy.

The collectives take a minigrad Tensor (they work on its ``.data``) or a raw NumPy/CuPy array
and change it in place, as ``torch.distributed`` does:

- ``all_reduce(t)``: every rank ends with the element-wise sum (or max, min, product, mean)
  of ``t`` over all ranks.
- ``broadcast(t, src=0)``: every rank ends with rank ``src``'s ``t``.
- ``barrier()``: no rank leaves until every rank has arrived.

NumPy arrays go through MPI. CuPy arrays go through NCCL by default; see ``gpu.py`` for why.

No collective waits forever. Each one is started nonblocking and polled (``_wait``), so that
Ctrl-C is handled while a rank waits, and one that has not finished after the group's
``timeout`` ends the job, naming the ranks that never arrived.
"""
from __future__ import annotations

import datetime
import math
import os
import pickle
import sys
import time
import traceback

import numpy

INSTALL_HINT = 'pip install "minigrad-course[distributed]" (mpi4py, and MPICH from PyPI: no system MPI needed)'


class ReduceOp:
    """How ``all_reduce`` combines the ranks' values; the names of ``torch.distributed.ReduceOp``."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"  # a SUM, then a division by the world size on every rank


GPU_BACKENDS = ("nccl", "mpi", "host")
DEFAULT_TIMEOUT = datetime.timedelta(minutes=5)
_ABORT_GRACE_S = 0.5
# A rank polls its collective without pause, as MPI's blocking calls do: MPI moves a large
# message in many small rounds, each only when both sides poll, so even 1 ms naps made an
# all-reduce of 300 KB thirty times slower. After _YIELD_AFTER_S it yields the core between
# polls, to whatever else is waiting for it (another rank, on a machine with fewer cores than
# ranks). A rank still waiting after _NOTICE_AFTER_S tells the others which collective it
# waits in (see _send_notices).
_YIELD_AFTER_S = 1e-2
_NOTICE_AFTER_S = 1.0
_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


class _ProcessGroup:
    """Everything ``init_process_group`` learned; one per process."""

    def __init__(self, MPI, comm, gpu_backend, timeout_s):
        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.world_size = comm.Get_size()
        # the ranks sharing this machine, found once here because finding them is collective
        local = comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        local.Free()
        # Notices travel on a communicator of their own, so no receive of the user's can take them.
        self.notice_comm = comm.Dup()
        self.timeout_s = timeout_s
        self.calls = 0                         # collectives this rank has entered
        self.reached = [0] * self.world_size   # per rank, the latest collective it said it waits in
        self.notices = []                      # (request, buffer) of notices still being sent
        self.broken = None                     # the collective an exception left unfinished
        self.gpu_backend = gpu_backend
        self.nccl = None  # created on the first collective over CuPy arrays (gpu.py)
        self.previous_excepthook = None


_group: _ProcessGroup | None = None


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(f"minigrad.distributed needs mpi4py and an MPI library: {INSTALL_HINT}") from e
    return MPI


def is_available() -> bool:
    """True when mpi4py can be imported (it is not imported here, only looked for)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def is_initialized() -> bool:
    """True once ``init_process_group()`` has joined this process to an MPI job."""
    return _group is not None


def _timeout_seconds(timeout) -> float:
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"init_process_group: timeout must be a positive datetime.timedelta or number of "
                         f"seconds, got {timeout!r}")
    return float(seconds)


def init_process_group(backend: str = "mpi", *, timeout=DEFAULT_TIMEOUT, gpu_backend: str = "nccl",
                       abort_on_exception: bool = True) -> None:
    """Join the job that ``mpiexec`` started; rank and world size come from the launcher.

    Run without ``mpiexec`` (plain ``python train.py``) the process is a job of one: rank 0 of
    world size 1, and every collective returns at once. So the same script runs on 1 or N
    processes.

    ``timeout`` (a ``datetime.timedelta`` or seconds; default 5 minutes) bounds every
    collective: a rank that has waited that long in one ends the whole job with a message
    naming the ranks that never arrived (stopped, stuck, or taking a different number of
    steps). Make it longer than the longest time one rank may work while the others wait (rank 0
    evaluating or saving, say). CuPy arrays reduced through NCCL are not bounded by it.

    ``gpu_backend`` says how CuPy arrays are reduced: ``'nccl'`` (default, through
    ``cupy.cuda.nccl``), ``'mpi'`` (hand the device pointer to MPI: only for an MPI built
    CUDA-aware, which mpi4py cannot detect portably, so you must say so) or ``'host'`` (copy to
    host memory, reduce with MPI, copy back: always works, slowest).

    With ``abort_on_exception`` (default) an uncaught exception on any rank prints
    ``rank N: <error>`` and calls ``MPI_Abort``, which ends every rank of the job within
    seconds. Without it the other ranks would wait forever in their next collective for a rank
    that is gone.
    """
    global _group
    if backend != "mpi":
        raise ValueError(f"init_process_group: minigrad has one backend, 'mpi'; got backend={backend!r}")
    if gpu_backend not in GPU_BACKENDS:
        raise ValueError(f"init_process_group: gpu_backend must be one of {GPU_BACKENDS}, got {gpu_backend!r}")
    if _group is not None:
        raise RuntimeError(f"rank {_group.rank}: init_process_group was called twice; call it once "
                           "per process (destroy_process_group() first to start again)")
    timeout_s = _timeout_seconds(timeout)
    MPI = _import_mpi()
    _group = _ProcessGroup(MPI, MPI.COMM_WORLD, gpu_backend, timeout_s)
    if abort_on_exception:
        _group.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught_exception


def destroy_process_group() -> None:
    """Leave the group: free the NCCL communicator and restore ``sys.excepthook``.

    MPI itself is finalized by mpi4py when the process exits.
    """
    global _group
    if _group is None:
        return
    if _group.previous_excepthook is not None and sys.excepthook is _abort_on_uncaught_exception:
        sys.excepthook = _group.previous_excepthook
    if _group.nccl is not None:
        _group.nccl.destroy()
    _group.notice_comm.Free()
    _group = None


def _abort_on_uncaught_exception(exc_type, exc, tb):
    if _group is None or _group.world_size == 1:  # nobody is waiting for us: the usual traceback
        hook = _group.previous_excepthook if _group is not None else None
        return (hook or sys.__excepthook__)(exc_type, exc, tb)
    lines = traceback.format_exception(exc_type, exc, tb)
    abort(1, "".join(lines).rstrip("\n"))


def abort(exit_code: int = 1, message: str = "") -> None:
    """End every rank of the job now (``MPI_Abort``), after printing ``message`` on stderr with
    each line prefixed by this rank's number. For a failure that only this rank has seen;
    on a job of one process it is ``sys.exit(exit_code)``."""
    rank = _group.rank if _group is not None else 0
    text = "".join(f"rank {rank}: {line}\n" for line in message.split("\n")) if message else ""
    if _group is None or _group.world_size == 1:
        sys.stderr.write(text)
        sys.exit(exit_code)
    text += f"rank {rank}: aborting the whole MPI job so that the other ranks do not wait for it forever\n"
    sys.stderr.write(text)
    sys.stderr.flush()
    sys.stdout.flush()
    # mpiexec forwards each rank's output through a pipe, and MPI_Abort tears the job down at
    # once: without a moment's grace the message saying which rank failed and why can be lost.
    time.sleep(_ABORT_GRACE_S)
    _group.comm.Abort(exit_code)
    os._exit(exit_code)  # not reached: Abort does not return


class abort_on_failure:
    """``with abort_on_failure(): main()`` ends the whole job when this rank leaves the block by
    an exception or by ``sys.exit(non-zero)``.

    The excepthook that ``init_process_group`` installs covers uncaught exceptions, but Python
    does not call it for ``SystemExit``: a rank that calls ``sys.exit(1)`` alone would leave
    the other ranks waiting in their next collective forever. A ``sys.exit(0)`` passes through
    (all ranks are expected to finish).
    """

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or _group is None or _group.world_size == 1:
            return False
        if issubclass(exc_type, SystemExit):
            if exc.code in (None, 0):
                return False
            abort(exc.code if isinstance(exc.code, int) else 1, f"SystemExit: {exc.code}")
        _abort_on_uncaught_exception(exc_type, exc, tb)


def require_group(op: str) -> _ProcessGroup:
    """The initialized process group, or a RuntimeError naming ``op`` that says to call
    ``init_process_group()``."""
    if _group is None:
        raise RuntimeError(f"{op}: the process group is not initialized; call "
                           "minigrad.distributed.init_process_group() first (once, at the start of the script)")
    return _group


def get_rank() -> int:
    """This process's number, 0 .. world_size - 1."""
    return require_group("get_rank").rank


def get_world_size() -> int:
    """How many processes the job has."""
    return require_group("get_world_size").world_size


def get_local_rank() -> int:
    """This process's number among the ranks on the same machine (to pick a GPU)."""
    return require_group("get_local_rank").local_rank


def _raw_array(x, op: str):
    """The raw array behind a Tensor (its ``.data``) or the array itself."""
    if isinstance(x, numpy.ndarray):
        return x
    cupy = sys.modules.get("cupy")
    if cupy is not None and isinstance(x, cupy.ndarray):
        return x
    data = getattr(x, "data", None)
    if isinstance(data, numpy.ndarray) or (cupy is not None and isinstance(data, cupy.ndarray)):
        return data
    raise TypeError(f"{op}: expected a minigrad Tensor or a NumPy/CuPy array, got {type(x).__name__}")


def _is_cupy(x) -> bool:
    return not isinstance(x, numpy.ndarray)


def _mpi_op(g: _ProcessGroup, op: str):
    table = {ReduceOp.SUM: g.MPI.SUM, ReduceOp.AVG: g.MPI.SUM, ReduceOp.PRODUCT: g.MPI.PROD,
             ReduceOp.MIN: g.MPI.MIN, ReduceOp.MAX: g.MPI.MAX}
    if op not in table:
        raise ValueError(f"rank {g.rank}: all_reduce: unknown op {op!r}; use a minigrad.distributed.ReduceOp")
    return table[op]


def _describe(x) -> str:
    where = "cupy" if _is_cupy(x) else "numpy"
    return f"{where} {x.dtype} array of shape {tuple(x.shape)}"


def all_reduce(tensor, op: str = ReduceOp.SUM) -> None:
    """Combine ``tensor`` element-wise over all ranks, in place; every rank gets the result.

    Every rank must call it with an array of the same shape and dtype, in the same order as
    the other collectives: MPI matches calls by order, not by name.
    """
    g = require_group("all_reduce")
    x = _raw_array(tensor, "all_reduce")
    mpi_op = _mpi_op(g, op)
    if op == ReduceOp.AVG and x.dtype.kind not in "fc":
        raise TypeError(f"rank {g.rank}: all_reduce: ReduceOp.AVG needs a floating-point array, got {_describe(x)}")
    if g.world_size > 1:
        what = f"all_reduce ({op}) of a {_describe(x)}"
        try:
            if _is_cupy(x):
                from . import gpu

                gpu.all_reduce(g, x, op, what)
            else:
                mpi_all_reduce(g, x, mpi_op, what)
        except Exception as e:
            raise RuntimeError(f"rank {g.rank}: {what} failed: {e}") from e
    if op == ReduceOp.AVG:
        x /= g.world_size


def mpi_all_reduce(g: _ProcessGroup, x, mpi_op, what: str) -> None:
    """``x`` summed (or ``mpi_op``) over the ranks in place, through MPI; ``what`` names the call
    in a timeout message. For NumPy arrays, and CuPy arrays on a CUDA-aware MPI."""
    buf = x if x.flags.c_contiguous else x.copy()  # MPI needs one contiguous buffer
    _wait(g, g.comm.Iallreduce(g.MPI.IN_PLACE, buf, op=mpi_op), what)
    if buf is not x:
        x[...] = buf


def broadcast(tensor, src: int = 0) -> None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s, in place."""
    g = require_group("broadcast")
    x = _raw_array(tensor, "broadcast")
    if not 0 <= src < g.world_size:
        raise ValueError(f"rank {g.rank}: broadcast: src={src} is not a rank of this job (world size {g.world_size})")
    if g.world_size == 1:
        return
    what = f"broadcast from rank {src} of a {_describe(x)}"
    try:
        if _is_cupy(x):
            from . import gpu

            gpu.broadcast(g, x, src, what)
        else:
            mpi_broadcast(g, x, src, what)
    except Exception as e:
        raise RuntimeError(f"rank {g.rank}: {what} failed: {e}") from e


def mpi_broadcast(g: _ProcessGroup, x, src: int, what: str) -> None:
    """Rank ``src``'s ``x`` on every rank, in place, through MPI."""
    buf = x if x.flags.c_contiguous else x.copy()
    _wait(g, g.comm.Ibcast(buf, root=src), what)
    if buf is not x:
        x[...] = buf


def barrier() -> None:
    """Wait until every rank has called ``barrier()``."""
    g = require_group("barrier")
    if g.world_size > 1:
        _wait(g, g.comm.Ibarrier(), "barrier")


def all_gather_object(obj) -> list:
    """Every rank's ``obj`` (any picklable value), as a list indexed by rank, on every rank.

    For small things (shapes, metrics, a seed), never for gradients: it pickles.
    (PyTorch's ``all_gather_object(object_list, obj)`` fills a list; this returns it.)
    """
    g = require_group("all_gather_object")
    if g.world_size == 1:
        return [obj]
    mine = numpy.frombuffer(pickle.dumps(obj), dtype=numpy.uint8)
    sizes = numpy.empty(g.world_size, dtype=numpy.int64)
    _wait(g, g.comm.Iallgather(numpy.array([mine.size], dtype=numpy.int64), sizes), "all_gather_object (sizes)")
    starts = numpy.concatenate([[0], numpy.cumsum(sizes)[:-1]])
    everyone = numpy.empty(int(sizes.sum()), dtype=numpy.uint8)
    _wait(g, g.comm.Iallgatherv(mine, [everyone, sizes, starts, g.MPI.BYTE]), "all_gather_object")
    return [pickle.loads(everyone[a:a + n].tobytes()) for a, n in zip(starts, sizes)]


# --- waiting without hanging ------------------------------------------------------------

def _wait(g: _ProcessGroup, request, what: str) -> None:
    """Wait until the nonblocking collective ``request`` has finished on this rank.

    Why not the blocking call: Python runs a signal handler only between bytecodes, so a rank
    inside a blocking MPI_Allreduce ignores Ctrl-C until the call returns, and it never
    returns if another rank has already exited. Polling keeps Python in charge: a signal raises
    here (KeyboardInterrupt for Ctrl-C), and after ``g.timeout_s`` the job ends with the ranks
    that never arrived named (``_timed_out``).

    The k-th collective of every rank are one call to MPI (it matches them by order), so
    ``g.calls`` numbers the same collective on every rank.
    """
    if g.broken is not None:
        raise RuntimeError(f"rank {g.rank}: {what}: an earlier collective ({g.broken}) was left unfinished by an "
                           "exception, so this rank no longer matches the others; end the job (every rank) and "
                           "start again")
    g.calls += 1
    _read_notices(g)
    try:
        start = time.monotonic()
        noticed = False
        while not request.Test():
            waited = time.monotonic() - start
            if waited < _YIELD_AFTER_S:
                continue
            _yield()
            if not noticed and waited >= min(_NOTICE_AFTER_S, g.timeout_s / 4):
                _send_notices(g)
                noticed = True
            if waited >= g.timeout_s:
                _timed_out(g, what, waited)
    except BaseException:
        g.broken = what
        raise


def _send_notices(g: _ProcessGroup) -> None:
    """Tell every other rank "I am waiting in collective number g.calls".

    A rank that times out can then name the ranks it heard nothing from: they never reached
    the collective. Sent only by a rank that has waited a while, so a healthy step sends none.
    """
    g.notices = [(req, buf) for req, buf in g.notices if not req.Test()]
    buf = numpy.array([g.calls], dtype=numpy.int64)
    for r in range(g.world_size):
        if r != g.rank:
            g.notices.append((g.notice_comm.Isend(buf, dest=r), buf))


def _read_notices(g: _ProcessGroup) -> None:
    status = g.MPI.Status()
    buf = numpy.empty(1, dtype=numpy.int64)
    while g.notice_comm.Iprobe(source=g.MPI.ANY_SOURCE, status=status):
        source = status.Get_source()
        g.notice_comm.Recv(buf, source=source)
        g.reached[source] = max(g.reached[source], int(buf[0]))


def _timed_out(g: _ProcessGroup, what: str, waited: float) -> None:
    _read_notices(g)
    missing = [r for r in range(g.world_size) if r != g.rank and g.reached[r] < g.calls]
    if missing:
        who = f"rank {missing[0]}" if len(missing) == 1 else "ranks " + ", ".join(map(str, missing))
        why = (f"{who} never reached it: stopped, stuck, or taking a different number of steps "
               "from this rank")
    else:
        why = ("every rank is waiting in a collective of that number, so the ranks called different "
               "collectives, or with different sizes, at this point")
    abort(1, f"{what} (this rank's collective number {g.calls}) has waited {waited:.3g} s: {why}. "
             f"Ending the job. The limit is init_process_group(timeout=...) "
             f"(--collective-timeout for python -m minigrad train)")

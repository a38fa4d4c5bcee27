"""Launching tests under ``mpiexec``: shared by tests/test_distributed.py and
tests/test_distributed_faults.py. Tests that need MPI are marked ``needs_mpi`` and are skipped,
with the reason, where mpi4py or mpiexec is missing (``pip install "minigrad-course[distributed]"``)."""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKERS = Path(__file__).resolve().parent / "mpi"
TIMEOUT_S = 60


def _find_mpiexec():
    # MPICH from PyPI puts mpiexec next to the interpreter (venv/bin), which may not be on PATH
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _find_mpiexec()
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    not (HAVE_MPI4PY and MPIEXEC),
    reason='needs mpi4py and mpiexec: pip install "minigrad-course[distributed]"'
           f" (mpi4py {'found' if HAVE_MPI4PY else 'missing'}, mpiexec {MPIEXEC or 'missing'})")


def launcher_flags():
    """Open MPI refuses root and more ranks than cores without flags; MPICH needs none."""
    out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in out or "OpenRTE" in out:
        flags = ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--allow-run-as-root")
        return flags
    return []


def mpi_env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.setdefault("OMP_NUM_THREADS", "1")  # n ranks x n BLAS threads would oversubscribe the cores
    return env


def mpirun(n, script, *args, timeout=TIMEOUT_S):
    """Run tests/mpi/<script> on n ranks; return (CompletedProcess, seconds)."""
    cmd = [MPIEXEC, *launcher_flags(), "-n", str(n), sys.executable, str(WORKERS / script), *map(str, args)]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=mpi_env(), cwd=ROOT)
    return proc, time.monotonic() - start


def start_job(*argv):
    """``mpiexec ARGV`` in the background, in a session of its own (as a terminal's job is),
    so that ``stop_job`` can end everything it started if a test fails."""
    return subprocess.Popen([MPIEXEC, *launcher_flags(), *map(str, argv)], env=mpi_env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def stop_job(proc):
    """Kill whatever is left of a job started by ``start_job`` (stopped ranks included)."""
    if proc.poll() is None:
        for pid in descendants(proc.pid):
            with _gone():
                os.kill(pid, signal.SIGCONT)
        with _gone():
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in descendants(proc.pid):
            with _gone():
                os.kill(pid, signal.SIGKILL)
    proc.communicate()


def descendants(pid):
    """Every process below ``pid`` (Linux /proc; the launcher puts each rank in a session of
    its own, so a process group does not reach them)."""
    found, todo = [], [pid]
    while todo:
        try:
            children = Path(f"/proc/{todo.pop()}/task").glob("*/children")
            kids = [int(k) for f in children for k in f.read_text().split()]
        except OSError:
            continue
        found += kids
        todo += kids
    return found


class _gone:
    """Ignore the error of signalling a process that has already exited."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        return exc_type is not None and issubclass(exc_type, ProcessLookupError)

"""What keeps ``python -m minigrad train`` truthful when things go wrong: one run per output
directory, files replaced whole, Ctrl-C and SIGTERM held while a checkpoint is written, and
the memory a network is checked against before it is allocated. ``minigrad.cli`` uses these;
docs/guarantees.md says what they guarantee and what they do not check.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

from .files import atomic_write


class CLIError(Exception):
    """A mistake the user can fix; shown as one line, never as a traceback.

    ``every_rank``: in a distributed run, every rank raises this same error at the same point
    (it was decided from values all ranks share), so rank 0 reports it and all exit; otherwise
    the rank that raised it ends the whole job.
    """

    def __init__(self, message: str, every_rank: bool = False):
        super().__init__(message)
        self.every_rank = every_rank


class Terminated(BaseException):
    """SIGTERM, raised where the program is, as Python raises KeyboardInterrupt for SIGINT."""


# --- memory -----------------------------------------------------------------------------

def memory_limit() -> int | None:
    """Bytes of memory this process can have: the machine's, or its container's if lower."""
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system
        return None
    with contextlib.suppress(OSError):
        cgroup = Path("/sys/fs/cgroup/memory.max").read_text().strip()  # "max" when unlimited
        if cgroup.isdigit():
            limit = min(limit, int(cgroup))
    return limit


def format_bytes(n: int) -> str:
    """``n`` bytes for a person to read, e.g. ``'512 bytes'`` or ``'1.5 MiB'`` (binary units up to TiB)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024


# --- files ------------------------------------------------------------------------------

OUTPUTS = ("checkpoint.npz", "metrics.json", "curves.png")
LOCK_NAME = ".minigrad-train.lock"


def write_atomic(path: Path, write) -> None:
    """``write(f)`` into a temporary binary file, then rename it over ``path`` (see
    ``minigrad.files.atomic_write``): a reader never sees half a file, two runs never share a
    temporary name."""
    with atomic_write(path, "train") as f:
        write(f)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, through ``write_atomic``."""
    write_atomic(path, lambda f: f.write(text.encode()))


@contextlib.contextmanager
def claim_out_dir(out: Path, option: str = "--out"):
    """Make ``out`` and hold it for this run; refuse, before any training, a directory that
    cannot be written, or where an output is not a file, or that another run is using.

    The hold is a lock on ``LOCK_NAME`` in ``out`` (``flock``: the system drops it when the
    process ends however it ends, so a killed run leaves no stale lock); the file is removed
    when the run ends. A second run into the same directory fails at once, naming the first.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(f"{option} {out}: {error.strerror or error}") from None
    for name in OUTPUTS:
        target = out / name
        if target.exists() and not target.is_file():
            raise CLIError(f"{option} {out}: {target} is not a file, so it cannot be replaced by "
                           f"the {name} this run writes; move it away or choose another {option}")
    fd = _lock(out, option)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(out / LOCK_NAME)  # while still holding the lock: see _lock
        os.close(fd)


def _lock(out: Path, option: str) -> int:
    path = out / LOCK_NAME
    try:
        import fcntl
    except ImportError:  # not POSIX: an exclusive create, which a killed run leaves behind
        fcntl = None
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL), 0o666)
        except FileExistsError:
            raise CLIError(f"{option} {out} is in use by another 'minigrad train' ({path} exists; "
                           f"delete it if no run is using the directory)") from None
        except OSError as error:
            raise CLIError(f"{option} {out} cannot be written: {error.strerror or error}") from None
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CLIError(f"{option} {out} is in use by another 'minigrad train' (pid {holder}); "
                           f"wait for it to end or choose another {option}") from None
        # The run that held the lock removes the file before releasing it; if that happened
        # between our open and our lock, we hold a file nobody else will see: open it again.
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


# --- signals ----------------------------------------------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # only there can handlers change


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def stop_signals_handled():
    """For the length of the block, SIGTERM raises ``Terminated`` in the main thread, so that a
    run stopped by ``kill`` or a batch system ends as it does on Ctrl-C: files intact, a
    message saying what was kept. The handlers of both signals are restored afterwards."""
    if not _in_main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def signals_deferred():
    """Hold Ctrl-C and SIGTERM until the block has finished, then deliver them: a checkpoint
    and the metrics that describe it are written together, before an interrupt is handled."""
    if not _in_main_thread():
        yield
        return
    caught = []
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        signal.raise_signal(caught[0])


def ignore_stop_signals() -> None:
    """While a run reports an interrupt and ends: a second Ctrl-C must not cut that short."""
    if _in_main_thread():
        for s in STOP_SIGNALS:
            signal.signal(s, signal.SIG_IGN)

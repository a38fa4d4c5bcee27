"""Writing a file so that it appears whole or not at all, and cleaning up after writers that died.

``atomic_write(path)`` writes into a temporary file beside ``path``, flushes it to disk, then
renames it over ``path``, so a reader sees the old file or the new one, never half of one. A
process killed mid-write cannot remove its temporary file, so each one is named after its
writer, ``.<name>.<host>.<pid>.<random>.minigrad-tmp``, and the next ``atomic_write`` into
that directory removes those whose writer is gone: a process of this host that no longer
exists, or any writer whose file has not changed for ``STALE_AFTER_S`` seconds. A live
writer's file is never touched.

The new file gets the permissions any file the user writes gets (``0o666`` less the umask),
or keeps those of the file it replaces.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import socket
import stat
import time
from contextlib import contextmanager

__all__ = ["atomic_write", "remove_stale_temporaries", "TEMP_SUFFIX", "STALE_AFTER_S"]

TEMP_SUFFIX = ".minigrad-tmp"
# A file untouched this long is abandoned even if its writer's pid is alive (the pid may have
# been reused) or lives on another host (a shared file system, where a pid means nothing here).
STALE_AFTER_S = 24 * 3600
_TEMP = re.compile(r"^\..*\.(?P<host>[A-Za-z0-9-]*)\.(?P<pid>[0-9]{1,10})\.[0-9a-f]{8}"
                   + re.escape(TEMP_SUFFIX) + "$")


def _host() -> str:
    # Dots become dashes so the name splits unambiguously; 63 is the longest DNS label.
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:63]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix" or pid <= 0:
        return True  # no safe liveness test (on Windows, os.kill(pid, 0) sends Ctrl-C): go by age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: alive, owned by someone else
    return True


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Remove the temporary files that dead writers left in ``directory``; return their names."""
    removed = []
    host, now = _host(), time.time()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed  # the caller's own open of the directory reports the real problem
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            old = now - info.st_mtime > STALE_AFTER_S
            if old or (match["host"] == host and not _alive(int(match["pid"]))):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue  # another writer removed it first, or it is not ours to remove
    return removed


def _error(error: OSError, who: str, path: str) -> OSError:
    """The same kind of OSError, about the target the user named rather than our temporary file."""
    directory = os.path.dirname(os.path.abspath(path))
    if error.errno == errno.ENOENT and not os.path.isdir(directory):
        reason = f"the directory {directory} does not exist; create it first"
    elif error.errno == errno.ENOENT:
        reason = "its temporary file disappeared before the rename (removed by another process?)"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"no permission to write in {directory} ({error.strerror})"
    else:
        reason = error.strerror or str(error)
    return type(error)(error.errno, f"{who}: cannot write {path}: {reason}")


@contextmanager
def atomic_write(path: str | os.PathLike, who: str = "write"):
    """Yield a binary file; when the block ends normally its contents replace ``path`` at once.

    If the block raises, ``path`` is left as it was and the temporary file is removed. Errors
    from creating, syncing or renaming name ``path`` and start with ``who`` (e.g. ``"save"``).

    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"whole or not at all")
    >>> open(target, "rb").read()
    b'whole or not at all'
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"{who}: {path} is a directory; give a file name, "
                                              f"e.g. {os.path.join(path, 'checkpoint.npz')}")
    directory, name = os.path.split(os.path.abspath(path))
    remove_stale_temporaries(directory)
    # name[:80] keeps the temporary name under the usual 255-byte limit.
    tmp = os.path.join(directory, f".{name[:80]}.{_host()}.{os.getpid()}.{secrets.token_hex(4)}"
                                  f"{TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for any new file
    except OSError as error:
        raise _error(error, who, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            try:
                f.flush()
                os.fsync(f.fileno())
            except OSError as error:
                raise _error(error, who, path) from None
        try:
            _keep_mode(path, tmp)
            os.replace(tmp, path)
        except OSError as error:
            raise _error(error, who, path) from None
        _sync_directory(directory)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _keep_mode(path: str, tmp: str) -> None:
    # Overwriting a file keeps its permissions, as writing into it with open() would.
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    os.chmod(tmp, mode)


def _sync_directory(directory: str) -> None:
    # Makes the rename itself survive a power cut; not possible (nor needed) everywhere.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

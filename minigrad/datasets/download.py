"""Fetching data set files: mirrors, checksums, a cache directory, atomic writes.

A file is streamed into a temporary file beside its destination, its checksum checked, and
only then renamed into place (``minigrad.files.atomic_write``). Whatever goes wrong (a refused
connection, an HTTP error, a short read, a checksum mismatch, a mirror slower than the
deadline) the temporary file is removed and the next mirror is tried; when every mirror has
failed, ``DownloadError`` says which mirror failed how. The cache therefore never holds a
partial or wrong file. A verified file gets a stamp beside it (``.<name>.verified``: its
checksum, size and modification time), so ``verify_file`` checks it again only if it changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

from ..files import atomic_write

__all__ = ["DownloadError", "cache_dir", "download_file", "verify_file"]

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """Every mirror failed for one file; ``failures`` holds ``(url, reason)`` pairs."""

    def __init__(self, filename: str, failures: list[tuple[str, str]]):
        self.filename = filename
        self.failures = failures
        tried = "; ".join(f"{url}: {reason}" for url, reason in failures)
        super().__init__(f"could not download {filename} from any mirror ({tried})")


class _BadFile(Exception):
    """What one mirror sent is not the file: short, or with the wrong checksum."""


def cache_dir() -> Path:
    """Where downloaded data sets go: ``$MINIGRAD_DATA`` if set, else ``~/.cache/minigrad``.

    Read when called, never at import.
    """
    env = os.environ.get("MINIGRAD_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "minigrad"


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not digest:
        raise ValueError(f"checksum must look like 'md5:<hex>' or 'sha256:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


class _Deadline:
    """Ends one mirror's transfer at a fixed time, however slowly its server sends.

    A per-read timeout never fires against a server that sends a byte every few seconds. At
    the deadline every connection opened for the transfer is shut down, which wakes a read
    blocked on it (a plain close would not), and ``expired`` says why the transfer ended.
    """

    def __init__(self, seconds: float):
        self.seconds, self.expired = seconds, False
        self._sockets, self._lock = [], threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._timer.cancel()
            self._sockets.clear()

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock) -> None:
        try:  # socket.socket's own shutdown: for TLS too, without touching the TLS state
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed


class _Watched:
    """Mixed into urllib's HTTP(S) handlers: every connection they open reports to ``clock``."""

    clock: _Deadline

    def do_open(self, http_class, req, **kwargs):
        clock = self.clock

        class Connection(http_class):
            def connect(self):
                super().connect()
                clock.watch(self.sock)

        return super().do_open(Connection, req, **kwargs)


def _opener(clock: _Deadline):
    bases = [urllib.request.HTTPHandler] + ([urllib.request.HTTPSHandler]
                                            if hasattr(urllib.request, "HTTPSHandler") else [])
    return urllib.request.build_opener(*(type(b.__name__, (_Watched, b), {"clock": clock})() for b in bases))


def _fetch(url: str, tmp, algorithm: str, timeout: float, deadline: float) -> str:
    """Stream ``url`` into the open file ``tmp``; return the hex digest of what was read."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    received = 0
    with _Deadline(deadline) as clock:
        try:
            with _opener(clock).open(url, timeout=timeout) as response:
                expected = response.headers.get("Content-Length")
                while True:
                    # http.client raises IncompleteRead when the peer closes before Content-Length.
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    tmp.write(chunk)
                    received += len(chunk)
        except Exception:
            if not clock.expired:
                raise
        if clock.expired:
            raise _BadFile(f"too slow: {received} bytes in the {deadline:g} s allowed per mirror")
    if expected is not None and received != int(expected):
        raise _BadFile(f"truncated: got {received} of {expected} bytes")
    return digest.hexdigest()


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"unreachable ({error.reason})"
    if isinstance(error, _BadFile):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _record(path: Path, checksum: str) -> dict:
    info = path.stat()
    return {"checksum": checksum, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _remember(path: Path, checksum: str) -> None:
    try:
        with atomic_write(_stamp(path), "stamp") as f:
            f.write(json.dumps(_record(path, checksum)).encode())
    except OSError:
        pass  # a read-only cache: the file is simply checked again next time


def verify_file(path: str | os.PathLike, checksum: str) -> bool:
    """Whether the file at ``path`` has ``checksum`` (``'md5:<hex>'`` or ``'sha256:<hex>'``).

    A match is remembered in a stamp beside the file, so later calls cost one ``stat`` until
    the file's size or modification time changes.
    """
    algorithm, want = _parse_checksum(checksum)
    path, checksum = Path(path), f"{algorithm}:{want}"
    try:
        if json.loads(_stamp(path).read_text()) == _record(path, checksum):
            return True
    except (OSError, ValueError):
        pass  # no stamp, or a damaged one: hash the file
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != want:
        return False
    _remember(path, checksum)
    return True


class _MirrorFailed(Exception):
    """One mirror did not deliver the file; the message says how."""


def download_file(
    filename: str,
    mirrors: Iterable[str],
    checksum: str,
    dest_dir: str | os.PathLike,
    timeout: float = 30.0,
    quiet: bool = False,
    deadline: float = 600.0,
) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right checksum.

    ``mirrors`` are URL prefixes ending in ``/`` (the URL is ``mirror + filename``);
    ``checksum`` is ``'md5:<hex>'`` or ``'sha256:<hex>'``. ``timeout`` bounds each wait for
    the network, ``deadline`` a whole transfer from one mirror (seconds). Returns the path of
    the verified file in ``dest_dir``. Raises ``DownloadError`` listing every mirror tried and
    why it failed; no file, partial or whole, is left behind in that case.
    """
    algorithm, want = _parse_checksum(checksum)
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / filename
    failures: list[tuple[str, str]] = []
    for mirror in mirrors:
        url = mirror + filename
        if not quiet:
            print(f"Downloading {url}", file=sys.stderr)
        try:
            with atomic_write(target, "download") as tmp:
                try:
                    got = _fetch(url, tmp, algorithm, timeout, deadline)
                except Exception as error:  # noqa: BLE001 - any failure of one mirror moves to the next
                    # Broad on purpose: http.client.IncompleteRead and friends are not OSErrors.
                    raise _MirrorFailed(_describe(error)) from None
                if got != want:
                    raise _MirrorFailed(f"{algorithm} mismatch: expected {want}, got {got}")
        except _MirrorFailed as failed:
            failures.append((url, str(failed)))
            if not quiet:
                print(f"  failed: {failed}", file=sys.stderr)
            continue
        _remember(target, f"{algorithm}:{want}")
        return target
    raise DownloadError(filename, failures)

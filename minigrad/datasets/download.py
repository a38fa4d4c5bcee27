"""Fetching data set files: mirrors, checksums, a cache directory, atomic writes.

A file is streamed into a temporary file beside its destination, its checksum checked, and
only then renamed into place with ``os.replace``. Whatever goes wrong (a refused
connection, an HTTP error, a short read, a checksum mismatch) the temporary file is
removed and the next mirror is tried; when every mirror has failed, ``DownloadError``
says which mirror failed how. The cache therefore never holds a partial or wrong file.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

__all__ = ["DownloadError", "cache_dir", "download_file"]

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


def _fetch(url: str, tmp, algorithm: str, timeout: float) -> str:
    """Stream ``url`` into the open file ``tmp``; return the hex digest of what was read."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        expected = response.headers.get("Content-Length")
        received = 0
        while True:
            # http.client raises IncompleteRead when the peer closes before Content-Length.
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            tmp.write(chunk)
            received += len(chunk)
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


def download_file(
    filename: str,
    mirrors: Iterable[str],
    checksum: str,
    dest_dir: str | os.PathLike,
    timeout: float = 30.0,
    quiet: bool = False,
) -> Path:
    """Download ``filename`` from the first mirror that serves it with the right checksum.

    ``mirrors`` are URL prefixes ending in ``/`` (the URL is ``mirror + filename``);
    ``checksum`` is ``'md5:<hex>'`` or ``'sha256:<hex>'``. Returns the path of the
    verified file in ``dest_dir``. Raises ``DownloadError`` listing every mirror tried
    and why it failed; no file, partial or whole, is left behind in that case.
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
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as tmp:
                got = _fetch(url, tmp, algorithm, timeout)
            if got != want:
                raise _BadFile(f"{algorithm} mismatch: expected {want}, got {got}")
            os.replace(tmp_name, target)
            return target
        except Exception as error:  # noqa: BLE001 - any failure of one mirror moves to the next
            # Broad on purpose: http.client.IncompleteRead and friends are not OSErrors.
            failures.append((url, _describe(error)))
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        if not quiet:
            print(f"  failed: {failures[-1][1]}", file=sys.stderr)
    raise DownloadError(filename, failures)

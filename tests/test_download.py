"""The download path against a real HTTP server on 127.0.0.1, started by each test.

The server serves small IDX files that the tests write; the data sets' mirror lists are
monkeypatched to point at it, so nothing here reaches the internet.
"""

import hashlib
import http.server
import socket
import threading
import time

import numpy as np
import pytest

from minigrad.datasets import MNIST, DownloadError, download_file, write_idx

FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


class Server:
    """Serves ``files[path] = bytes``; 404 otherwise. ``truncate`` paths send half the
    body after announcing all of it, then close. ``trickle[path] = "body"`` (or ``"headers"``)
    sends that part one byte every 0.1 s, stopping when the client leaves or after 15 s.
    Every request path is logged."""

    def __init__(self):
        self.files, self.truncate, self.trickle, self.requests = {}, set(), {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def slowly(self, data):
                for i in range(min(len(data), 150)):
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.1)

            def do_GET(self):
                server.requests.append(self.path)
                where = server.trickle.get(self.path)
                if where is not None:
                    body = server.files[self.path]
                    head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                    try:
                        self.slowly(head) if where == "headers" else self.wfile.write(head)
                        self.slowly(body)
                    except OSError:
                        pass  # the client gave up, as it should
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path in server.truncate else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def idx_bytes(tmp_path, name, array):
    path = tmp_path / "src" / name
    path.parent.mkdir(exist_ok=True)
    write_idx(path, array)
    return path.read_bytes()


@pytest.fixture
def mnist_files(tmp_path):
    """Bytes of four small, valid MNIST-shaped .gz files and their md5 resources."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 6, dtype=np.uint8),
              rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              rng.integers(0, 10, 4, dtype=np.uint8)]
    blobs = {name: idx_bytes(tmp_path, name, a) for name, a in zip(FILES, arrays)}
    resources = [(name, "md5:" + hashlib.md5(blobs[name]).hexdigest()) for name in FILES]
    return blobs, resources, arrays


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def with_stamps(names):
    """``names`` and the stamp each verified download leaves beside its file."""
    return sorted([*names, *(f".{n}.verified" for n in names)])


def test_download_success_then_loads(server, mnist_files, tmp_path, monkeypatch):
    blobs, resources, arrays = mnist_files
    for name, blob in blobs.items():
        server.files[f"/m1/{name}"] = blob
    monkeypatch.setattr(MNIST, "mirrors", [server.url + "/m1/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    cache = tmp_path / "cache"
    ds = MNIST(cache, train=False, download=True)
    assert ds.root == cache / "MNIST"
    np.testing.assert_array_equal(ds.data, arrays[2])
    assert leftovers(cache / "MNIST") == with_stamps(FILES)   # no temporary files left behind
    assert sorted(server.requests) == sorted(f"/m1/{n}" for n in FILES)


def test_existing_directory_uses_no_network(server, mnist_files, tmp_path, monkeypatch):
    blobs, resources, _ = mnist_files
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    monkeypatch.setattr(MNIST, "mirrors", [server.url + "/m1/"])
    assert len(MNIST(tmp_path, download=True)) == 6
    assert server.requests == []


def test_checksum_mismatch_leaves_cache_empty(server, mnist_files, tmp_path):
    blobs, resources, _ = mnist_files
    name, checksum = resources[1]
    corrupted = bytearray(blobs[name])
    corrupted[len(corrupted) // 2] ^= 0xFF                              # one flipped byte
    server.files[f"/m1/{name}"] = bytes(corrupted)
    dest = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download_file(name, [server.url + "/m1/"], checksum, dest, quiet=True)
    message = str(info.value)
    assert f"{server.url}/m1/{name}: md5 mismatch: expected {checksum[4:]}" in message
    assert leftovers(dest) == []


def test_first_mirror_404_second_succeeds(server, mnist_files, tmp_path):
    blobs, resources, _ = mnist_files
    name, checksum = resources[0]
    server.files[f"/good/{name}"] = blobs[name]
    dest = tmp_path / "cache"
    path = download_file(name, [server.url + "/gone/", server.url + "/good/"], checksum, dest,
                         quiet=True)
    assert path == dest / name and path.read_bytes() == blobs[name]
    assert server.requests == [f"/gone/{name}", f"/good/{name}"]
    assert leftovers(dest) == with_stamps([name])


def test_truncated_transfer_is_an_error_and_leaves_nothing(server, mnist_files, tmp_path):
    blobs, resources, _ = mnist_files
    name, checksum = resources[0]
    server.files[f"/m1/{name}"] = blobs[name]
    server.truncate.add(f"/m1/{name}")
    dest = tmp_path / "cache"
    full = len(blobs[name])
    with pytest.raises(DownloadError, match=rf"{server.url}/m1/{name}: truncated: "
                                            rf"got {full // 2} of {full} bytes"):
        download_file(name, [server.url + "/m1/"], checksum, dest, quiet=True)
    assert leftovers(dest) == []


def test_all_mirrors_fail_lists_each_and_how(server, mnist_files, tmp_path):
    blobs, resources, _ = mnist_files
    name, checksum = resources[3]
    server.files[f"/bad/{name}"] = b"not the file"
    with socket.socket() as s:                 # a port with nothing listening on it
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    mirrors = [server.url + "/gone/", dead, server.url + "/bad/"]
    dest = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        download_file(name, mirrors, checksum, dest, quiet=True, timeout=5)
    message = str(info.value)
    assert message.startswith(f"could not download {name} from any mirror")
    assert f"{server.url}/gone/{name}: HTTP 404" in message
    assert f"{dead}{name}: unreachable" in message
    assert f"{server.url}/bad/{name}: md5 mismatch" in message
    assert [url for url, _ in info.value.failures] == [m + name for m in mirrors]
    assert leftovers(dest) == []


def test_mnist_download_failure_keeps_earlier_good_files_only(server, mnist_files, tmp_path,
                                                              monkeypatch):
    blobs, resources, _ = mnist_files
    for name in FILES[:2]:
        server.files[f"/m1/{name}"] = blobs[name]
    monkeypatch.setattr(MNIST, "mirrors", [server.url + "/m1/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.gz"):
        MNIST(cache, download=True)
    # Verified files stay (a retry skips them); the failed one left nothing behind.
    assert leftovers(cache / "MNIST") == with_stamps(FILES[:2])
    for name in FILES[2:]:
        server.files[f"/m1/{name}"] = blobs[name]
    server.requests.clear()
    assert len(MNIST(cache, train=False, download=True)) == 4
    assert sorted(server.requests) == sorted(f"/m1/{n}" for n in FILES[2:])


def test_real_mirror_lists_are_well_formed():
    from minigrad.datasets import FashionMNIST
    for cls in (MNIST, FashionMNIST):
        assert cls.mirrors and all(m.startswith(("http://", "https://")) and m.endswith("/")
                                   for m in cls.mirrors)
        assert [name for name, _ in cls.resources] == FILES
        for _, checksum in cls.resources:
            algorithm, digest = checksum.split(":")
            assert algorithm == "md5" and len(digest) == 32 and int(digest, 16) >= 0


def test_cli_downloads_into_cache_or_fails_in_one_line(server, mnist_files, tmp_path,
                                                         monkeypatch, capsys):
    from minigrad import cli
    blobs, resources, _ = mnist_files
    monkeypatch.setattr(MNIST, "mirrors", [server.url + "/m1/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "empty"))
    args = ["train", "--dataset", "mnist", "--epochs", "1", "--no-progress",
            "--out", str(tmp_path / "out")]
    assert cli.main(args) == 2                        # nothing served yet: every file 404s
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("minigrad: error: could not download train-images-idx3-ubyte.gz")
    assert f"{server.url}/m1/train-images-idx3-ubyte.gz: HTTP 404" in err and "--data-dir" in err
    assert leftovers(tmp_path / "empty") == ["MNIST"]  # the folder, and nothing in it

    for name, blob in blobs.items():
        server.files[f"/m1/{name}"] = blob
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert f"Downloading {server.url}/m1/t10k-labels-idx1-ubyte.gz" in captured.err
    assert "6 train / 4 held-out images" in captured.out
    assert leftovers(tmp_path / "cache" / "MNIST") == with_stamps(FILES)


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_mirror_that_trickles_is_abandoned_at_the_deadline(server, mnist_files, tmp_path, where):
    blobs, resources, _ = mnist_files
    name, checksum = resources[0]
    server.files[f"/slow/{name}"] = server.files[f"/good/{name}"] = blobs[name]
    server.trickle[f"/slow/{name}"] = where  # a byte every 0.1 s: no single read ever times out
    dest = tmp_path / "cache"
    start = time.monotonic()
    path = download_file(name, [server.url + "/slow/", server.url + "/good/"], checksum, dest,
                         quiet=True, timeout=5, deadline=1.0)
    assert time.monotonic() - start < 3  # before: until the server stopped (15 s here, forever in life)
    assert path.read_bytes() == blobs[name] and server.requests == [f"/slow/{name}", f"/good/{name}"]
    assert leftovers(dest) == with_stamps([name])
    with pytest.raises(DownloadError, match=rf"/slow/{name}: too slow: \d+ bytes in the 1 s allowed"):
        download_file(name, [server.url + "/slow/"], checksum, tmp_path / "other", quiet=True,
                      timeout=5, deadline=1.0)
    assert leftovers(tmp_path / "other") == []

"""IDX parsing, the MNIST/Fashion-MNIST readers and the bundled sample."""

import gzip
import hashlib
import struct

import numpy as np
import pytest

from minigrad.datasets import (MNIST, FashionMNIST, IDXError, MNISTSample, Normalize,
                               read_idx, write_idx)

STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8))


def write_mnist_dir(folder, n_train=12, n_test=5, gz=True):
    """Four small MNIST-shaped IDX files; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    train, test = make_split(n_train, 1), make_split(n_test, 2)
    for stem, array in zip(STEMS, [*train, *test]):
        write_idx(folder / (stem + ext), array)
    return train, test


def publish(monkeypatch, cls, folder):
    """Make the files in ``folder`` the ones ``cls`` trusts: its checksums become theirs."""
    resources = [(name, "md5:" + hashlib.md5((folder / name).read_bytes()).hexdigest())
                 for name, _ in cls.resources]
    monkeypatch.setattr(cls, "resources", resources)


# --- read_idx -------------------------------------------------------------------------------

def test_read_idx_matches_hand_built_bytes(tmp_path):
    # Built with struct, not with write_idx, so the reader is checked against the format.
    values = [[1, 2, 3], [250, 0, 7]]
    raw = struct.pack(">BBBB", 0, 0, 0x08, 2) + struct.pack(">II", 2, 3) + bytes(sum(values, []))
    (tmp_path / "a").write_bytes(raw)
    with gzip.open(tmp_path / "a.gz", "wb") as f:
        f.write(raw)
    for name in ("a", "a.gz"):
        out = read_idx(tmp_path / name)
        assert out.dtype == np.uint8 and out.tolist() == values
        assert out.flags.writeable


def test_read_idx_big_endian_int32(tmp_path):
    raw = struct.pack(">BBBB", 0, 0, 0x0C, 1) + struct.pack(">I", 2) + struct.pack(">ii", -2, 70000)
    (tmp_path / "b").write_bytes(raw)
    out = read_idx(tmp_path / "b")
    assert out.dtype == np.dtype(np.int32) and out.tolist() == [-2, 70000]


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_write_read_roundtrip(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "x.gz", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz"), a)


def test_truncated_file_names_file_and_sizes(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte: truncated: shape \(3, 28, 28\)"):
        read_idx(path)


def test_trailing_bytes_rejected(tmp_path):
    path = tmp_path / "labels"
    write_idx(path, np.zeros(4, np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(IDXError, match="trailing bytes"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "notidx.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"<html>404 Not Found</html>")
    with pytest.raises(IDXError, match=r"notidx.gz: bad magic number 0x3c68746d"):
        read_idx(path)


def test_header_shorter_than_dimensions(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">I", 5))
    with pytest.raises(IDXError, match="header declares 3 dimensions"):
        read_idx(path)


def test_truncated_gzip_stream(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.arange(5000, dtype=np.uint8) % 10)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(IDXError, match=r"t10k-labels-idx1-ubyte.gz: corrupt or truncated gzip"):
        read_idx(path)


# --- MNIST from a directory ---------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_directory_as_is(tmp_path, gz):
    (train_x, train_y), (test_x, test_y) = write_mnist_dir(tmp_path, gz=gz)
    train = MNIST(tmp_path, train=True)           # download=False: no network involved
    test = MNIST(tmp_path, train=False)
    assert len(train) == 12 and len(test) == 5
    np.testing.assert_array_equal(train.data, train_x)
    assert train.data.dtype == np.uint8 and train.targets.dtype == np.int64
    image, label = test[3]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], test_x[3] / 255, rtol=1e-6)
    assert label == test_y[3] and isinstance(label, np.int64)
    assert 0.0 <= image.min() and image.max() <= 1.0


@pytest.mark.parametrize("sub", ["MNIST", "MNIST/raw"])
def test_mnist_finds_torchvision_layout(tmp_path, sub, monkeypatch):
    write_mnist_dir(tmp_path / sub)
    publish(monkeypatch, MNIST, tmp_path / sub)  # root/MNIST is checked as a download
    assert MNIST(tmp_path).root == tmp_path / sub


def test_fashion_mnist_uses_its_own_folder(tmp_path, monkeypatch):
    write_mnist_dir(tmp_path / "FashionMNIST")
    publish(monkeypatch, FashionMNIST, tmp_path / "FashionMNIST")
    ds = FashionMNIST(tmp_path, train=False)
    assert len(ds) == 5 and ds.classes[9] == "Ankle boot"
    with pytest.raises(FileNotFoundError):
        MNIST(tmp_path)


def test_missing_files_say_where_and_what(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "t10k-labels-idx1-ubyte[.gz]" in message
    assert "download=True" in message


def test_label_count_mismatch_names_both_files(tmp_path):
    write_mnist_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(IDXError, match=r"train-labels-idx1-ubyte.gz has 11 labels but .*"
                                       r"train-images-idx3-ubyte.gz has 12 images"):
        MNIST(tmp_path)


def test_wrong_image_shape_rejected(tmp_path):
    write_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 32, 32), np.uint8))
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte.gz: expected uint8 images"):
        MNIST(tmp_path, train=False)


def test_out_of_range_label_rejected(tmp_path):
    write_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([0, 1, 2, 3, 10], np.uint8))
    with pytest.raises(IDXError, match="label 10 is not a class"):
        MNIST(tmp_path, train=False)


def test_root_none_uses_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    write_mnist_dir(tmp_path / "MNIST")
    publish(monkeypatch, MNIST, tmp_path / "MNIST")
    assert len(MNIST(train=False)) == 5


def test_get_batch_is_one_gather_and_transform_applies(tmp_path):
    (train_x, train_y), _ = write_mnist_dir(tmp_path)
    ds = MNIST(tmp_path, transform=Normalize(0.5, 0.25))
    idx = np.array([7, 0, 7, 3])
    images, labels = ds.get_batch(idx)
    assert images.shape == (4, 1, 28, 28) and images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0], (train_x[idx] / 255 - 0.5) / 0.25, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, train_y[idx])
    np.testing.assert_allclose(ds[7][0], images[0])


# --- the bundled sample -------------------------------------------------------------------

def test_sample_split_sizes_and_balance():
    train, test = MNISTSample(train=True), MNISTSample(train=False)
    assert len(train) == 4000 and len(test) == 1000
    assert np.bincount(train.targets, minlength=10).tolist() == [400] * 10
    assert np.bincount(test.targets, minlength=10).tolist() == [100] * 10
    assert train.data.dtype == np.uint8 and train.data.shape == (4000, 28, 28)


def test_sample_is_real_digits_and_parts_disjoint():
    train, test = MNISTSample(train=True), MNISTSample(train=False)
    # Real scans: mostly background, some full-intensity strokes, many grey levels.
    assert 0.75 < (train.data == 0).mean() < 0.9 and train.data.max() == 255
    assert len(np.unique(train.data)) > 200
    train_rows = {row.tobytes() for row in train.data}
    assert not any(row.tobytes() in train_rows for row in test.data)


def test_sample_is_the_same_every_load():
    a, b = MNISTSample(train=False), MNISTSample(train=False)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.targets, b.targets)


# --- hostile and damaged files: refused cheaply and truthfully --------------------------------

def gzip_of_zeros(path, header, megabytes):
    """``header`` then ``megabytes`` MiB of zeros, as a gzip file about 1/1000 of that size:
    one member of 1 MiB of zeros, repeated (concatenated gzip members are one gzip stream)."""
    member = gzip.compress(bytes(1 << 20), compresslevel=9)
    path.write_bytes(gzip.compress(header) + member * megabytes)


def peak_memory(fn):
    """Run ``fn``; return (its exception, seconds, peak bytes NumPy and Python allocated)."""
    import time
    import tracemalloc
    tracemalloc.start()
    start = time.perf_counter()
    try:
        fn()
        error = None
    except Exception as e:  # noqa: BLE001 - returned for the test to check
        error = e
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, seconds, peak


@pytest.mark.parametrize("gz", [False, True])
def test_dims_whose_product_is_2_to_the_64_are_refused(tmp_path, gz):
    path = tmp_path / ("x.gz" if gz else "x")
    header = struct.pack(">BBBB", 0, 0, 0x08, 4) + struct.pack(">IIII", *[1 << 16] * 4)
    path.write_bytes(gzip.compress(header) if gz else header)
    with pytest.raises(IDXError, match="18446744073709551616 bytes"):
        read_idx(path)


def test_gzip_bomb_is_refused_from_its_header_in_milliseconds(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_of_zeros(path, struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 1 << 31, 28, 28), 64)
    error, seconds, peak = peak_memory(lambda: read_idx(path))
    assert isinstance(error, IDXError) and "more than a" in str(error) and "gzip file can hold" in str(error)
    assert seconds < 0.1 and peak < (1 << 20)  # before: all 64 MiB inflated, then refused


def test_gzip_is_inflated_only_up_to_what_its_header_promises(tmp_path):
    path = tmp_path / "labels.gz"
    gzip_of_zeros(path, struct.pack(">BBBB", 0, 0, 0x08, 1) + struct.pack(">I", 1000), 32)
    error, _, peak = peak_memory(lambda: read_idx(path))
    assert isinstance(error, IDXError) and "has trailing bytes" in str(error)
    assert peak < 4 << 20  # before: 32 MiB inflated to find 1,000 bytes and a long tail


def test_mnist_checks_both_headers_before_reading_any_data(tmp_path):
    write_mnist_dir(tmp_path)
    # A valid image file of 60,000 images (47 MB inflated) beside the 12 labels written above.
    gzip_of_zeros(tmp_path / "train-images-idx3-ubyte.gz",
                  struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 60000, 28, 28), 0)
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "ab") as f:
        f.write(bytes(60000 * 28 * 28))
    error, _, peak = peak_memory(lambda: MNIST(tmp_path))
    assert isinstance(error, IDXError) and "has 12 labels but" in str(error)
    assert peak < 4 << 20  # before: the 47 MB of images were read first


def test_an_empty_split_is_refused(tmp_path):
    write_mnist_dir(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte.gz holds no images"):
        MNIST(tmp_path, train=False)


# --- files in the download folder are checked against their published checksums ---------------

def test_a_wrong_file_in_the_download_folder_is_refused_with_how_to_refetch(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path))
    write_mnist_dir(tmp_path / "MNIST")  # well-formed, right shapes, but not MNIST
    with pytest.raises(IDXError) as info:
        MNIST(train=False)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "t10k-images-idx3-ubyte.gz") in message
    assert "not the published MNIST file" in message and "md5:9fb629c4189551a2d022fa330f9573f3" in message
    assert "Delete it and fetch it again with download=True" in message


def test_a_files_own_directory_is_used_as_it_is(tmp_path):
    write_mnist_dir(tmp_path)  # the user's own files, not a download: no published checksum applies
    assert len(MNIST(tmp_path, train=False)) == 5


def test_a_verified_file_is_remembered_until_it_changes(tmp_path, monkeypatch):
    import os

    from minigrad.datasets import download
    write_mnist_dir(tmp_path / "MNIST")
    publish(monkeypatch, MNIST, tmp_path / "MNIST")
    hashed = []
    real_new = download.hashlib.new
    monkeypatch.setattr(download.hashlib, "new", lambda *a, **k: hashed.append(a[0]) or real_new(*a, **k))
    MNIST(tmp_path, train=False)
    assert len(hashed) == 2  # images and labels, the first time only
    MNIST(tmp_path, train=False)
    assert len(hashed) == 2
    labels = tmp_path / "MNIST" / "t10k-labels-idx1-ubyte.gz"
    assert (tmp_path / "MNIST" / ".t10k-labels-idx1-ubyte.gz.verified").is_file()
    data = bytearray(labels.read_bytes())
    data[-9] ^= 1  # same size, different content (inside the gzip trailer's CRC)
    labels.write_bytes(bytes(data))
    os.utime(labels, ns=(labels.stat().st_atime_ns, labels.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(IDXError, match="t10k-labels-idx1-ubyte.gz: not the published MNIST file"):
        MNIST(tmp_path, train=False)
    assert len(hashed) == 3

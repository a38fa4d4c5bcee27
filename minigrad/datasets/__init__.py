"""Image data sets: MNIST and Fashion-MNIST from their IDX files, and a bundled MNIST sample.

>>> from minigrad.datasets import MNISTSample, MNIST
>>> train = MNISTSample(train=True)                 # 4,000 real digits, shipped, no network
>>> full = MNIST("~/data", download=True)           # doctest: +SKIP
"""

from .download import DownloadError, cache_dir, download_file, verify_file
from .idx import IDXError, read_idx, read_idx_header, write_idx
from .mnist import MNIST, FashionMNIST, MNISTSample, Normalize

__all__ = ["MNIST", "FashionMNIST", "MNISTSample", "Normalize", "read_idx", "read_idx_header",
           "write_idx", "IDXError", "download_file", "verify_file", "DownloadError", "cache_dir"]

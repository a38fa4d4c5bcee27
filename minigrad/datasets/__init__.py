"""Data sets: MNIST and Fashion-MNIST from their IDX files, a bundled MNIST sample, and the
bundled tiny shakespeare text.

>>> from minigrad.datasets import MNISTSample, MNIST, TinyShakespeare
>>> train = MNISTSample(train=True)                 # 4,000 real digits, shipped, no network
>>> full = MNIST("~/data", download=True)           # doctest: +SKIP
>>> text = TinyShakespeare()                        # 1,115,394 characters, shipped, no network
"""

from .download import DownloadError, cache_dir, download_file, verify_file
from .idx import IDXError, read_idx, read_idx_header, write_idx
from .mnist import MNIST, FashionMNIST, MNISTSample, Normalize
from .tinyshakespeare import CharVocab, TinyShakespeare, load_tinyshakespeare

__all__ = ["MNIST", "FashionMNIST", "MNISTSample", "Normalize", "read_idx", "read_idx_header",
           "write_idx", "IDXError", "download_file", "verify_file", "DownloadError", "cache_dir",
           "CharVocab", "TinyShakespeare", "load_tinyshakespeare"]

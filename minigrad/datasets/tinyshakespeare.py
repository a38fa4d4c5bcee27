"""The tiny shakespeare corpus, shipped with the package, and a character vocabulary for it.

1,115,394 characters of Shakespeare's plays (65 distinct), the standard small character-level
language-modelling task of char-rnn, minGPT and nanoGPT. Provenance, licence and checksums are
in ``_data/SOURCE-tinyshakespeare.md``.

>>> from minigrad.datasets import TinyShakespeare
>>> ds = TinyShakespeare()
>>> len(ds.text), ds.vocab_size
(1115394, 65)
>>> ds.decode(ds.encode("To be, or not"))
'To be, or not'
>>> len(ds.train_data), len(ds.val_data)    # nanoGPT's split: first 90% train, last 10% val
(1003854, 111540)
"""
from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np

__all__ = ["CharVocab", "TinyShakespeare", "load_tinyshakespeare", "TINYSHAKESPEARE_SHA256"]

TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
_FILE = "tinyshakespeare.txt.gz"


def load_tinyshakespeare() -> str:
    """The whole corpus as one string, read from the package and checked against its sha256."""
    raw = gzip.decompress((resources.files(__package__) / "_data" / _FILE).read_bytes())
    digest = hashlib.sha256(raw).hexdigest()
    if digest != TINYSHAKESPEARE_SHA256:
        raise RuntimeError(f"load_tinyshakespeare: the bundled {_FILE} is damaged: its text has sha256 "
                           f"{digest}, expected {TINYSHAKESPEARE_SHA256}; reinstall minigrad")
    return raw.decode("utf-8")


class CharVocab:
    """A character-level vocabulary: every distinct character of ``text``, sorted, gets an id.

    ``chars`` lists them (``itos[i]`` is character i, ``stoi[c]`` its id), ``vocab_size`` is
    their number; ``encode`` maps a string to an int64 array of ids, ``decode`` maps ids back.
    """

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.vocab_size = len(self.chars)
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        codes = np.array([ord(c) for c in self.chars])
        self._lookup = np.full(codes.max(initial=0) + 1, -1, dtype=np.int64)  # code point -> id
        self._lookup[codes] = np.arange(self.vocab_size)

    def encode(self, s: str) -> np.ndarray:
        """The ids of the characters of ``s``, as an int64 array (one table lookup per character)."""
        codes = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)
        ids = self._lookup[np.minimum(codes, len(self._lookup) - 1)]
        unknown = (ids < 0) | (codes >= len(self._lookup))
        if unknown.any():
            c = s[int(np.argmax(unknown))]
            raise ValueError(f"encode: character {c!r} is not in the vocabulary of {self.vocab_size} "
                             "characters; only characters of the text it was built from can be encoded")
        return ids

    def decode(self, ids) -> str:
        """The string for a sequence of ids (a list, a NumPy array or a 1-D Tensor)."""
        ids = getattr(ids, "data", ids)  # a Tensor's array
        ids = ids.get() if hasattr(ids, "get") else ids  # a CuPy array, on the host
        try:
            return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))
        except KeyError as e:
            raise ValueError(f"decode: id {e.args[0]} is not in [0, {self.vocab_size})") from None

    def __len__(self) -> int:
        return self.vocab_size


class TinyShakespeare(CharVocab):
    """The corpus with its character vocabulary and nanoGPT's split, read from the package.

    ``text`` is the whole corpus, ``data`` all of it encoded (int64), ``train_data`` its first
    90% and ``val_data`` the last 10% (cut at int(0.9 * n) as nanoGPT's ``prepare.py`` does).
    """

    def __init__(self):
        self.text = load_tinyshakespeare()
        super().__init__(self.text)
        self.data = self.encode(self.text)
        n = int(0.9 * len(self.data))
        self.train_data, self.val_data = self.data[:n], self.data[n:]

    def __repr__(self) -> str:
        return (f"TinyShakespeare({len(self.text):,} characters, vocab_size={self.vocab_size}, "
                f"train {len(self.train_data):,}, val {len(self.val_data):,})")

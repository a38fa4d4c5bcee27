"""The bundled tiny shakespeare corpus: the text and its checksum, the vocabulary, encode and
decode, nanoGPT's split, and that the wheel ships the file."""
import gzip
import hashlib
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad.datasets import CharVocab, TinyShakespeare, load_tinyshakespeare
from minigrad.datasets import tinyshakespeare as module

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ds():
    return TinyShakespeare()


def test_text_is_the_corpus(ds):
    assert len(ds.text) == 1_115_394
    assert hashlib.sha256(ds.text.encode()).hexdigest() == module.TINYSHAKESPEARE_SHA256
    assert ds.text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert load_tinyshakespeare() == ds.text


def test_vocabulary_is_the_65_sorted_characters(ds):
    assert ds.vocab_size == len(ds) == len(ds.chars) == 65
    assert "".join(ds.chars) == "\n !$&',-.3:;?" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz"
    assert all(ds.stoi[c] == i and ds.itos[i] == c for i, c in enumerate(ds.chars))


def test_encode_decode_round_trip(ds):
    assert ds.data.dtype == np.int64 and ds.data.shape == (1_115_394,)
    assert ds.decode(ds.data) == ds.text
    np.testing.assert_array_equal(ds.data[:20], [ds.stoi[c] for c in ds.text[:20]])
    assert ds.encode("hii there").tolist() == [46, 47, 47, 1, 58, 46, 43, 56, 43]  # nanoGPT's example ids
    assert ds.decode([46, 47, 47]) == ds.decode(minigrad.tensor([46, 47, 47])) == "hii"
    assert ds.encode("").shape == (0,)


def test_split_is_nanogpts(ds):
    n = int(0.9 * len(ds.data))
    assert (len(ds.train_data), len(ds.val_data)) == (1_003_854, 111_540)
    np.testing.assert_array_equal(np.concatenate([ds.train_data, ds.val_data]), ds.data)
    assert ds.decode(ds.val_data[:1]) == ds.text[n]


def test_unknown_characters_and_ids_are_refused(ds):
    with pytest.raises(ValueError, match="encode: character 'é' is not in the vocabulary of 65"):
        ds.encode("café")
    with pytest.raises(ValueError, match=r"decode: id 65 is not in \[0, 65\)"):
        ds.decode([0, 65])


def test_char_vocab_of_any_text():
    vocab = CharVocab("ünïcode ünïcode")
    assert vocab.chars == sorted(set("ünïcode ")) and vocab.decode(vocab.encode("dünï")) == "dünï"


def test_a_damaged_file_is_refused(monkeypatch, tmp_path):
    (tmp_path / "_data").mkdir()
    (tmp_path / "_data" / module._FILE).write_bytes(gzip.compress(b"First Citizen: not quite"))
    monkeypatch.setattr(module.resources, "files", lambda package: tmp_path)
    with pytest.raises(RuntimeError, match="load_tinyshakespeare: the bundled tinyshakespeare.txt.gz is damaged"):
        load_tinyshakespeare()


def test_the_file_is_found_as_package_data():
    assert (resources.files("minigrad.datasets") / "_data" / module._FILE).is_file()


def test_the_wheel_ships_the_corpus_and_its_source_note(tmp_path):
    """``pip wheel`` builds from setup.cfg: its package_data must name the .gz and the note.

    Built from a copy of the sources, so that no build/ folder left by an earlier build can
    supply the file when setup.cfg no longer asks for it.
    """
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools installed")
    src = tmp_path / "src"
    shutil.copytree(ROOT / "minigrad", src / "minigrad", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pip wheel failed:\n{done.stderr[-2000:]}"
    (wheel,) = tmp_path.glob("minigrad_course-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"minigrad/datasets/_data/tinyshakespeare.txt.gz",
            "minigrad/datasets/_data/SOURCE-tinyshakespeare.md"} <= names

"""save/load: npz without pickle, atomic, and clear errors for files that are not checkpoints."""
import os
import zipfile

import numpy as np
import pytest

import minigrad
from minigrad import nn, optim


def test_model_and_optimizer_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    opt = optim.Adam(model.parameters())
    model(minigrad.randn(5, 4)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.npz"
    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "note": None}, path)
    ckpt = minigrad.load(path)
    assert ckpt["epoch"] == 3 and ckpt["note"] is None
    model2 = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model2.load_state_dict(ckpt["model"])
    for p, q in zip(model.parameters(), model2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert q.dtype == np.float32
    opt2 = optim.Adam(model2.parameters())
    opt2.load_state_dict(ckpt["optimizer"])
    first = next(iter(model2.parameters()))
    assert opt2.state[first]["step"] == 1
    assert ckpt["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    with np.load(path, allow_pickle=False) as f:  # readable by plain NumPy without pickle
        assert "__minigrad__" in f.files


def test_save_is_atomic_old_file_survives_a_failed_save(tmp_path):
    path = tmp_path / "ckpt.npz"
    minigrad.save({"w": minigrad.ones(2)}, path)
    with pytest.raises(TypeError, match="cannot store a object"):
        minigrad.save({"w": minigrad.zeros(2), "bad": object()}, path)
    np.testing.assert_array_equal(minigrad.load(path)["w"].data, [1.0, 1.0])
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind


def test_not_a_checkpoint(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.ones(2))
    with pytest.raises(ValueError, match="not a minigrad checkpoint"):
        minigrad.load(plain)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a minigrad checkpoint"):
        minigrad.load(text)
    truncated = tmp_path / "cut.npz"
    minigrad.save({"w": minigrad.ones(1000)}, truncated)
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a minigrad checkpoint"):
        minigrad.load(truncated)
    with pytest.raises(FileNotFoundError):
        minigrad.load(tmp_path / "missing.npz")


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __minigrad__=np.array('{"format": "minigrad", "version": 1, "tree": {"__array__": "a0"}}'),
             a0=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickle|not a minigrad"):
        minigrad.load(path)
    assert zipfile.is_zipfile(path)

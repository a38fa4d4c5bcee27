"""save/load: npz without pickle, atomic, and clear errors for files that are not checkpoints."""
import io
import json
import os
import time
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


# --- only what can be read back is written ---------------------------------------------------

def deep_list(levels):
    x = []
    for _ in range(levels):
        x = [x]
    return x


def self_containing():
    x = [1]
    x.append(x)
    return x


@pytest.mark.parametrize("obj, error", [
    ({"w": np.array([None, 1], dtype=object)}, "dtype object"),
    ({"w": np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])}, "cannot store an array of dtype"),
    ({np.complex64(1j): 1.0}, "keyed by arrays"),
    ({"big": 10 ** 5000}, "cannot store this object"),
    (deep_list(5000), "nested more than 100 levels"),
    (self_containing(), "nested more than 100 levels"),
    ({"f": print}, "cannot store a builtin_function_or_method"),
])
def test_save_refuses_what_load_would_refuse_before_writing(tmp_path, obj, error):
    path = tmp_path / "ckpt.npz"
    with pytest.raises((TypeError, ValueError), match=error):
        minigrad.save(obj, path)
    assert os.listdir(tmp_path) == []  # not even a temporary file


def test_save_refuses_a_tensor_whose_data_was_swapped_for_objects(tmp_path):
    t = minigrad.ones(2)
    t.data = np.array([None, None], dtype=object)
    with pytest.raises(TypeError, match="dtype object"):
        minigrad.save({"w": t}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


def test_what_save_accepts_loads_back(tmp_path):
    shared = np.arange(3.0)
    obj = {"a": shared, "b": shared, np.int64(3): np.float32(0.5), (1, "x"): [None, True, -2, "s"],
           "z": np.complex64(1 + 2j), "deep": deep_list(90), "text": np.array(["ab", "c"])}
    minigrad.save(obj, tmp_path / "ckpt.npz")
    back = minigrad.load(tmp_path / "ckpt.npz")
    assert back[3] == 0.5 and back[(1, "x")] == [None, True, -2, "s"] and back["deep"] == deep_list(90)
    assert back["z"] == np.complex64(1 + 2j) and back["text"].tolist() == ["ab", "c"]
    np.testing.assert_array_equal(back["a"], shared)


@pytest.mark.parametrize("data, what", [
    (None, "None"), ("abc", "a str"), (["a", "b"], "strings"), ([1.0, None], "Python objects"),
    (np.array([None]), "Python objects"), (np.array(["x"]), "strings"), ({"a": 1}, "a dict"),
])
def test_tensor_refuses_none_and_strings_at_construction(data, what):
    with pytest.raises(TypeError, match=f"tensor: cannot make a tensor from {what}"):
        minigrad.Tensor(data)
    with pytest.raises(TypeError, match=f"tensor: cannot make a tensor from {what}"):
        minigrad.tensor(data, dtype=minigrad.float32)  # not nan, not a parsed string


# --- nothing piles up: killed saves, permissions, error messages -----------------------------

DIE_MID_SAVE = """
import os, signal, sys, numpy, minigrad
def savez_then_die(f, **arrays):
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
numpy.savez = savez_then_die
minigrad.save({"w": minigrad.ones(3)}, sys.argv[1])
"""


def kill_mid_save(path):
    """Run a save in another process that is killed with SIGKILL halfway through writing."""
    import subprocess
    import sys
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(minigrad.__file__))}
    done = subprocess.run([sys.executable, "-c", DIE_MID_SAVE, str(path)], env=env)
    assert done.returncode == -9


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    minigrad.save({"w": minigrad.zeros(3)}, tmp_path / "ckpt.npz")
    for _ in range(3):
        kill_mid_save(tmp_path / "ckpt.npz")
    # Each save removed the file the previous killed one left: only the last one's is there.
    left = sorted(set(os.listdir(tmp_path)) - {"ckpt.npz"})
    assert len(left) == 1 and left[0].startswith(".ckpt.npz.") and left[0].endswith(".minigrad-tmp")
    np.testing.assert_array_equal(minigrad.load(tmp_path / "ckpt.npz")["w"].data, [0, 0, 0])  # intact
    minigrad.save({"step": 1}, tmp_path / "other.npz")  # any later save into the directory
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz", "other.npz"]


@pytest.mark.skipif(os.name != "posix", reason="process ids")
def test_a_live_writers_temporary_file_is_kept_until_it_is_old(tmp_path):
    from minigrad.files import STALE_AFTER_S, atomic_write, remove_stale_temporaries
    with atomic_write(tmp_path / "mine.npz") as f:  # a writer that is alive: this process
        f.write(b"x")
        ours = [n for n in os.listdir(tmp_path) if n.startswith(".mine.npz.")]
        minigrad.save({"a": 1}, tmp_path / "ckpt.npz")
        assert len(ours) == 1 and ours[0] in os.listdir(tmp_path)
    elsewhere = tmp_path / ".ckpt.npz.another-host.1.0123abcd.minigrad-tmp"  # pid 1 there means nothing here
    elsewhere.write_bytes(b"x")
    unrelated = tmp_path / ".ckpt.npz.1.tmp"
    unrelated.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == []
    old = time.time() - STALE_AFTER_S - 60
    os.utime(elsewhere, (old, old))
    os.utime(unrelated, (old, old))
    assert remove_stale_temporaries(tmp_path) == [elsewhere.name]
    assert sorted(os.listdir(tmp_path)) == [unrelated.name, "ckpt.npz", "mine.npz"]


@pytest.mark.skipif(os.name != "posix", reason="umask")
def test_files_get_the_umask_permissions_and_keep_existing_ones(tmp_path):
    old = os.umask(0o022)
    try:
        minigrad.save({"a": 1}, tmp_path / "a.npz")
        os.umask(0o077)
        minigrad.save({"a": 1}, tmp_path / "b.npz")
        os.chmod(tmp_path / "a.npz", 0o640)
        minigrad.save({"a": 2}, tmp_path / "a.npz")  # overwriting keeps the file's permissions
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "a.npz").st_mode & 0o777) == "0o640"
    assert oct(os.stat(tmp_path / "b.npz").st_mode & 0o777) == "0o600"
    minigrad.save({"a": 1}, tmp_path / "c.npz")
    assert os.stat(tmp_path / "c.npz").st_mode & 0o777 == 0o666 & ~old


@pytest.mark.parametrize("make_target, error, says", [
    (lambda d: d / "no-such-dir" / "ckpt.npz", FileNotFoundError, "does not exist; create it first"),
    (lambda d: d, IsADirectoryError, "is a directory; give a file name"),
    (lambda d: (d / "file").write_text("x") and d / "file" / "ckpt.npz", NotADirectoryError, "Not a directory"),
])
def test_errors_about_a_bad_target_name_the_target(tmp_path, make_target, error, says):
    target = make_target(tmp_path)
    with pytest.raises(error) as info:
        minigrad.save({"a": 1}, target)
    message = str(info.value)
    assert "save: " in message and str(target) in message and says in message
    assert "tmp" not in message.replace(str(tmp_path), "")


# --- load refuses damaged or hand-made files with its own error ------------------------------

def meta(tree):
    return np.array(json.dumps({"format": "minigrad", "version": 1, "tree": tree}))


def npy(array=None, header=None, data=b""):
    """The bytes of a .npy entry: of ``array``, or a hand-written header followed by ``data``."""
    out = io.BytesIO()
    if array is not None:
        np.save(out, array)
        return out.getvalue()
    np.lib.format.write_array_header_1_0(out, header)
    return out.getvalue() + data


def handmade(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, blob in entries.items():
            z.writestr(name + ".npy", blob)


def zip_bomb(path):
    """32 KiB that inflate to 32 MiB of zeros, in an entry minigrad would otherwise read."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("__minigrad__.npy", npy(meta({"__tensor__": "a0"})))
        z.writestr("a0.npy", npy(header={"descr": "<f8", "fortran_order": False, "shape": (1 << 22,)},
                                 data=bytes(1 << 25)), compress_type=zipfile.ZIP_DEFLATED)


def bit_flip(path):
    minigrad.save({"w": minigrad.ones(1000)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


def deep_json(path):
    levels = 100_000
    text = '{"format": "minigrad", "version": 1, "tree": ' + '{"__list__": [' * levels + "1" + "]}" * levels + "}"
    np.savez(path, __minigrad__=np.array(text))


F8 = {"descr": "<f8", "fortran_order": False}
DAMAGED = {
    "wrong index": lambda p: np.savez(p, __minigrad__=meta({"__tensor__": "a7"}), a0=np.ones(2)),
    "missing arrays": lambda p: np.savez(p, __minigrad__=meta({"__dict__": [["w", {"__tensor__": "a0"}]]})),
    "index not a name": lambda p: np.savez(p, __minigrad__=meta({"__tensor__": 0}), a0=np.ones(2)),
    "deep nesting": deep_json,
    "nesting past the limit": lambda p: np.savez(p, __minigrad__=meta(json.loads('{"__list__": [' * 150 + "]}" * 150))),
    "description not a dict": lambda p: np.savez(p, __minigrad__=np.array("[1, 2]")),
    "description not a string": lambda p: np.savez(p, __minigrad__=np.arange(3)),
    "unknown node": lambda p: np.savez(p, __minigrad__=meta({"__set__": [1]})),
    "bad dict items": lambda p: np.savez(p, __minigrad__=meta({"__dict__": [[1, 2, 3]]})),
    "unhashable key": lambda p: np.savez(p, __minigrad__=meta({"__dict__": [[{"__list__": [1]}, 2]]})),
    "string tensor": lambda p: np.savez(p, __minigrad__=meta({"__tensor__": "a0"}), a0=np.array(["x"])),
    "object array": lambda p: np.savez(p, __minigrad__=meta({"__array__": "a0"}), a0=np.array([None])),
    "entry claims 80 GB": lambda p: handmade(p, {"__minigrad__": npy(meta({"__tensor__": "a0"})),
                                                "a0": npy(header={**F8, "shape": (10 ** 10,)}, data=bytes(16))}),
    "entry claims 2 GiB": lambda p: handmade(p, {"__minigrad__": npy(meta({"__tensor__": "a0"})),
                                                "a0": npy(header={**F8, "shape": (1 << 28,)}, data=bytes(16))}),
    "zip bomb": zip_bomb,
    "bit flip": bit_flip,
}


@pytest.mark.parametrize("damage", DAMAGED, ids=list(DAMAGED))
def test_load_refuses_damaged_or_handmade_files_with_its_own_error(tmp_path, damage):
    from minigrad.serialization import CheckpointError
    path = tmp_path / "ckpt.npz"
    DAMAGED[damage](path)
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        minigrad.load(path)
    assert time.perf_counter() - start < 1.0
    assert str(info.value).startswith(f"load: {path}")


def overlapping(path, n=40, payload=1 << 16):
    """A stored-only zip bomb: entry k's bytes hold entry k+1 (its header included), so n entries
    of a file of about ``payload`` bytes claim about n times that much."""
    import struct
    import zlib
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("__minigrad__.npy", npy(meta({"__list__": [{"__array__": f"a{k}"} for k in range(n)]})))
    head = out.getvalue()[:out.getvalue().rfind(b"PK\x01\x02")]  # without its central directory
    names = [f"a{k}.npy".encode() for k in range(n)]
    local = [struct.calcsize("<4s5H3L2H") + len(name) for name in names]
    # Entry k: local header, a .npy header saying "uint8, shape (rest,)", then everything after.
    npys, rest = [None] * n, payload
    for k in reversed(range(n)):
        hdr = npy(header={"descr": "|u1", "fortran_order": False, "shape": (rest,)})
        npys[k] = hdr
        rest += local[k] + len(hdr)
    body, offsets = bytearray(), []
    for k in range(n):
        offsets.append(len(head) + len(body))
        body += bytes(local[k]) + npys[k]
    body += bytes(payload)
    central = bytearray()
    for k in range(n):
        start = offsets[k] - len(head) + local[k]
        data = bytes(body[start:])
        crc, size = zlib.crc32(data), len(data)
        lh = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, size, size, len(names[k]), 0)
        body[start - local[k]:start] = lh + names[k]
    for k in range(n):
        start = offsets[k] - len(head) + local[k]
        data = bytes(body[start:])
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, zlib.crc32(data),
                               len(data), len(data), len(names[k]), 0, 0, 0, 0, 0, offsets[k]) + names[k]
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        info = z.infolist()[0]
    first = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, info.CRC, info.compress_size,
                        info.file_size, len(info.filename), 0, 0, 0, 0, 0, 0) + info.filename.encode()
    directory = first + central
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n + 1, n + 1, len(directory), len(head) + len(body), 0)
    path.write_bytes(head + bytes(body) + directory + end)


def test_load_refuses_entries_that_overlap(tmp_path):
    """Each entry fits in the file, but together they claim far more than it holds."""
    from minigrad.serialization import CheckpointError
    path = tmp_path / "ckpt.npz"
    overlapping(path)
    with zipfile.ZipFile(path) as z:
        claimed = sum(i.file_size for i in z.infolist())
    assert claimed > 30 * path.stat().st_size
    with pytest.raises(CheckpointError, match="entries overlap: .* more than the .*-byte file holds"):
        minigrad.load(path)


def test_module_load_state_dict_refuses_values_of_the_wrong_type():
    model = nn.Linear(3, 2)
    before = model.weight.data.copy()
    for value, says in ((None, "got a NoneType"), ("abc", "got a str"),
                        (np.full((3, 2), None), "got a ndarray of object"), ([1, 2], "got a list")):
        with pytest.raises(RuntimeError, match=f"weight: expected a Tensor of numbers, {says}"):
            model.load_state_dict({"weight": value, "bias": minigrad.zeros(2)})
    with pytest.raises(RuntimeError, match="expected a dict of name -> Tensor"):
        model.load_state_dict([("weight", minigrad.zeros(3, 2))])
    with pytest.raises(RuntimeError, match="unexpected keys: 5"):
        model.load_state_dict({**model.state_dict(), 5: minigrad.zeros(1)})
    np.testing.assert_array_equal(model.weight.data, before)


def adam_and_state():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters())
    model(minigrad.ones(1, 3)).sum().backward()
    opt.step()
    return model, opt, opt.state_dict()


def edited(state, path, value):
    """A deep copy of ``state`` with the item at ``path`` (a tuple of keys) replaced."""
    import copy
    state = copy.deepcopy(state)
    *head, last = path
    target = state
    for key in head:
        target = target[key]
    target[last] = value
    return state


@pytest.mark.parametrize("change, says", [
    (lambda s: [], "expected a dict with 'state' and 'param_groups'"),
    (lambda s: {"state": {}}, "'param_groups' should be a list"),
    (lambda s: {**s, "state": []}, "'state' should be a dict"),
    (lambda s: edited(s, ("param_groups", 0), "lr"), "parameter group 0 should be a dict"),
    (lambda s: edited(s, ("param_groups", 0, "lr"), "fast"), "group 0 lr: expected a number, got a str"),
    (lambda s: edited(s, ("param_groups", 0, "betas"), (0.9,)), "betas: expected 2 numbers, got 1 numbers"),
    (lambda s: edited(s, ("state", 7), {"step": 1}), "state key 7 is not the index"),
    (lambda s: edited(s, ("state", "x"), {"step": 1}), "state key 'x' is not the index"),
    (lambda s: edited(s, ("state", 0), [1]), "state 0: expected a dict, got a list"),
    (lambda s: edited(s, ("state", 0, "exp_avg"), np.zeros(7, np.float32)),
     r"state 0 exp_avg: expected numbers of shape \(3, 2\), got shape \(7,\)"),
    (lambda s: edited(s, ("state", 0, "exp_avg"), np.full((3, 2), None)), "of object"),
    (lambda s: edited(s, ("state", 0, "step"), "one"), "state 0 step: expected an array or a number, got a str"),
])
def test_optimizer_load_state_dict_refuses_values_of_the_wrong_type_and_changes_nothing(change, says):
    model, opt, state = adam_and_state()
    before = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    steps = {id(p): s["step"] for p, s in opt.state.items()}
    with pytest.raises(ValueError, match=says):
        opt.load_state_dict(change(state))
    assert {k: v for k, v in opt.param_groups[0].items() if k != "params"} == before
    assert {id(p): s["step"] for p, s in opt.state.items()} == steps
    opt.load_state_dict(state)  # the unedited one still loads

"""One test body per op and per training step, run on every device (the ``device`` fixture).

On a machine without a GPU the 'cuda' cases are skipped, and the CPU cases still check the
forward against NumPy and the backward against central differences. With a GPU, everything
computed there must match the CPU:

    float64: rtol 1e-10 (the two differ only in summation order and last-ulp exp/log)
    float32: rtol 1e-5, atol 1e-6 per op; rtol 1e-4, atol 1e-5 after several training steps,
             where the differences of each step feed into the next
"""
import subprocess
import sys

import numpy as np
import pytest
from conftest import NO_GPU
from op_cases import CASES, run_case

import minigrad
from minigrad import nn, optim

DTYPES = [minigrad.float64, minigrad.float32]
OP_TOL = {minigrad.float64: dict(rtol=1e-10, atol=1e-12), minigrad.float32: dict(rtol=1e-5, atol=1e-6)}
REF_TOL = {minigrad.float64: dict(rtol=1e-10, atol=1e-12), minigrad.float32: dict(rtol=1e-4, atol=1e-5)}
STEP_TOL = {minigrad.float64: dict(rtol=1e-10, atol=1e-12), minigrad.float32: dict(rtol=1e-4, atol=1e-5)}


def host(t):
    return t.detach().numpy()


# -- every op ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_op_forward_matches_numpy_and_backward_matches_cpu(case, device, dtype):
    out, tensors, inputs = run_case(case, device, dtype)
    assert out.device == device and out.dtype == dtype
    np.testing.assert_allclose(host(out), case.reference(*inputs), **REF_TOL[dtype])

    cpu_out, cpu_tensors, _ = run_case(case, "cpu", dtype)
    np.testing.assert_allclose(host(out), host(cpu_out), **OP_TOL[dtype])
    for t, c in zip(tensors, cpu_tensors):
        if t.requires_grad:
            assert t.grad.device == device, f"{case}: gradient left the device"
            np.testing.assert_allclose(host(t.grad), host(c.grad), **OP_TOL[dtype])


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=repr)
def test_op_backward_matches_central_differences(case, device):
    tensors = [minigrad.tensor(a, dtype=minigrad.float64 if a.dtype.kind == "f" else minigrad.int64,
                               device=device, requires_grad=a.dtype.kind == "f") for a in case.host_inputs()]
    assert minigrad.gradcheck(case.fn, tensors)


# -- training ----------------------------------------------------------------------------

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    "adamw_amsgrad": lambda p: optim.AdamW(p, lr=1e-2, amsgrad=True),
    "rmsprop_centered": lambda p: optim.RMSprop(p, lr=1e-2, momentum=0.5, centered=True, weight_decay=1e-3),
}


def mlp(dtype, seed=0):
    minigrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3)).to(dtype=dtype)


def batches(n_steps, seed=0):
    """One batch seen ``n_steps`` times, so that the loss must fall."""
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((8, 20)), rng.integers(0, 3, 8))] * n_steps


def train(model, opt, data, device, dtype):
    """The student's loop: batches moved with .to(device); returns the losses (read at the end)."""
    loss_fn, losses = nn.CrossEntropyLoss(), []
    for x, y in data:
        x = minigrad.tensor(x, dtype=dtype).to(device)
        y = minigrad.tensor(y).to(device)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss)
    return [float(loss) for loss in losses]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("opt_name", OPTIMIZERS)
def test_training_steps_match_cpu(device, dtype, opt_name):
    data = batches(4)
    model = mlp(dtype).to(device)
    opt = OPTIMIZERS[opt_name](model.parameters())
    losses = train(model, opt, data, device, dtype)

    cpu_model = mlp(dtype)
    cpu_losses = train(cpu_model, OPTIMIZERS[opt_name](cpu_model.parameters()), data, "cpu", dtype)
    np.testing.assert_allclose(losses, cpu_losses, **STEP_TOL[dtype])
    assert losses[-1] < losses[0]
    for (name, p), c in zip(model.named_parameters(), cpu_model.parameters()):
        assert p.device == device and p.grad.device == device, name
        np.testing.assert_allclose(host(p), host(c), **STEP_TOL[dtype], err_msg=name)
    for state in opt.state.values():
        for k, v in state.items():
            if hasattr(v, "shape"):
                assert minigrad.Tensor(v).device == device, f"optimiser state {k} is not on {device}"


@pytest.mark.parametrize("opt_name", ["sgd_momentum", "adam"])
def test_module_to_moves_parameters_and_optimizer_state(device, opt_name):
    """Start on the CPU, take a step, move the model: the optimiser (made before the move)
    keeps its parameters and its state follows them, so training continues exactly."""
    data = batches(3)
    model = mlp(minigrad.float64)
    params = list(model.parameters())
    opt = OPTIMIZERS[opt_name](model.parameters())
    train(model, opt, data[:1], "cpu", minigrad.float64)
    assert model.to(device) is model
    assert list(model.parameters()) == params and all(p.device == device for p in params)
    assert all(p.grad.device == device for p in params)
    losses = train(model, opt, data[1:], device, minigrad.float64)
    state_devices = {str(minigrad.Tensor(v).device) for s in opt.state.values()
                     for v in s.values() if hasattr(v, "shape")}
    assert state_devices == {str(minigrad.device(device))}

    ref = mlp(minigrad.float64)
    ref_losses = train(ref, OPTIMIZERS[opt_name](ref.parameters()), data, "cpu", minigrad.float64)
    np.testing.assert_allclose(losses, ref_losses[1:], rtol=1e-10)
    for p, r in zip(model.parameters(), ref.parameters()):
        np.testing.assert_allclose(host(p), host(r), rtol=1e-10, atol=1e-12)


def test_checkpoint_saved_on_device_loads_on_cpu(device, tmp_path):
    data = batches(3)
    model = mlp(minigrad.float32).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    train(model, opt, data[:2], device, minigrad.float32)
    minigrad.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.npz")

    ckpt = minigrad.load(tmp_path / "ckpt.npz")
    assert all(t.device == "cpu" for t in ckpt["model"].values())
    cpu_model = mlp(minigrad.float32, seed=1)
    cpu_model.load_state_dict(ckpt["model"])
    cpu_opt = optim.Adam(cpu_model.parameters(), lr=1e-2)
    cpu_opt.load_state_dict(ckpt["optimizer"])
    for p, c in zip(model.parameters(), cpu_model.parameters()):
        np.testing.assert_array_equal(host(p), host(c))

    back = minigrad.load(tmp_path / "ckpt.npz", map_location=device)
    assert all(t.device == device for t in back["model"].values())

    after = train(model, opt, data[2:], device, minigrad.float32)
    cpu_after = train(cpu_model, cpu_opt, data[2:], "cpu", minigrad.float32)
    np.testing.assert_allclose(after, cpu_after, **STEP_TOL[minigrad.float32])


def test_dataloader_batches_move_to_device(device):
    data = pytest.importorskip("minigrad.data", reason="minigrad.data (the DataLoader) is not on this branch")
    rng = np.random.default_rng(0)
    ds = data.TensorDataset(rng.standard_normal((10, 20)).astype(np.float32), rng.integers(0, 3, 10))
    model = mlp(minigrad.float32).to(device)
    for x, y in data.DataLoader(ds, batch_size=4):
        x, y = x.to(device), y.to(device)
        assert x.device == device and y.device == device
        assert model(x).device == device


# -- tensors and factories ---------------------------------------------------------------

def test_tensor_moves_and_copies_back(device):
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = minigrad.tensor(a, device=device)
    assert t.device == device and str(t.device) == str(minigrad.device(device))
    assert t.to(device) is t
    back = t.cpu()
    assert back.device == "cpu" and type(back.numpy()) is np.ndarray
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(minigrad.tensor([1.0, 2.0]).to(device).numpy(), [1.0, 2.0])
    assert t.tolist() == a.tolist()
    assert minigrad.tensor(t).device == device  # a copy of a tensor stays where it was
    if device != "cpu":
        assert t.cuda() is t and "device='cuda:0'" in repr(t)
        minigrad.cuda.synchronize()


FACTORIES = {
    "zeros": lambda **kw: minigrad.zeros(2, 3, **kw),
    "ones": lambda **kw: minigrad.ones((2, 3), **kw),
    "full": lambda **kw: minigrad.full((2, 3), 7.0, **kw),
    "randn": lambda **kw: minigrad.randn(2, 3, **kw),
    "rand": lambda **kw: minigrad.rand(2, 3, **kw),
    "arange": lambda **kw: minigrad.arange(0, 3, 0.5, **kw),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factories_take_device_and_give_the_cpu_numbers(device, name):
    minigrad.manual_seed(3)
    t = FACTORIES[name](device=device, dtype=minigrad.float64)
    minigrad.manual_seed(3)
    c = FACTORIES[name](device="cpu", dtype=minigrad.float64)
    assert t.device == device
    np.testing.assert_array_equal(t.numpy(), c.numpy())
    for like in (minigrad.zeros_like, minigrad.ones_like, minigrad.randn_like, minigrad.rand_like):
        assert like(t).device == device and like(t).dtype == t.dtype


def test_linear_layer_made_on_device(device):
    layer = nn.Linear(4, 2, device=device)
    assert layer.weight.device == device and layer.bias.device == device


# -- clear errors ------------------------------------------------------------------------

def test_ops_refuse_tensors_on_two_devices(device):
    if device == "cpu":
        pytest.skip("needs a second device: a GPU")
    a = minigrad.randn(3, 4, dtype=minigrad.float64)
    b = minigrad.randn(3, 4, dtype=minigrad.float64, device=device)
    checks = [("Add", lambda: a + b), ("MatMul", lambda: a @ b.T), ("Mul", lambda: b * a),
              ("Linear", lambda: nn.functional.linear(a, minigrad.randn(4, 2, device=device)))]
    for op, call in checks:
        with pytest.raises(RuntimeError, match=op) as info:
            call()
        assert "cpu" in str(info.value) and "cuda:0" in str(info.value)


def test_engine_refuses_two_array_types_and_names_the_op():
    """Without a GPU there is no second device, but the engine's rule is on array types:
    a NumPy masked array (a second, real array type) stands in for a CuPy array."""
    a = minigrad.tensor([1.0, 2.0])
    b = minigrad.tensor([1.0, 2.0])
    b.data = np.ma.masked_array(b.data)
    with pytest.raises(RuntimeError, match="Mul: expected all tensors on the same device"):
        a * b


CUPY_MISSING_WORDS = ["CuPy is not installed", 'pip install "minigrad-course[cuda12]"', "cupy-cuda12x", "cupy-cuda13x"]


def test_gpu_asked_for_without_cupy_says_how_to_install(monkeypatch):
    """``sys.modules['cupy'] = None`` makes ``import cupy`` raise ImportError, exactly as when
    CuPy is not installed; so the test means the same with or without CuPy on this machine."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert not minigrad.cuda.is_available() and minigrad.cuda.device_count() == 0
    t = minigrad.tensor([1.0])
    for call in (lambda: minigrad.tensor([1.0], device="cuda"), lambda: t.to("cuda"), lambda: t.cuda(),
                 lambda: minigrad.zeros(2, device="cuda:0"), lambda: nn.Linear(2, 2).to("cuda"),
                 minigrad.cuda.synchronize):
        with pytest.raises(RuntimeError) as info:
            call()
        for words in CUPY_MISSING_WORDS:
            assert words in str(info.value)


def _cupy_importable():
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _cupy_importable() or NO_GPU is None, reason="needs CuPy installed on a machine without a GPU")
def test_gpu_asked_for_with_cupy_but_no_gpu_says_so():
    assert not minigrad.cuda.is_available() and minigrad.cuda.device_count() == 0
    for call in (lambda: minigrad.tensor([1.0]).to("cuda"), minigrad.cuda.synchronize):
        with pytest.raises(RuntimeError, match="no GPU is usable: CuPy .* is installed"):
            call()


@pytest.mark.skipif(NO_GPU is not None, reason=str(NO_GPU))
def test_missing_gpu_index_says_how_many_exist():
    n = minigrad.cuda.device_count()
    with pytest.raises(RuntimeError, match=f"only {n} GPU"):
        minigrad.tensor([1.0], device=f"cuda:{n}")


def test_import_minigrad_does_not_import_cupy():
    code = "import sys, minigrad; minigrad.tensor([1.0]) * 2; print('cupy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

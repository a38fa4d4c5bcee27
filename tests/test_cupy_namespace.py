"""CI has no GPU, so this is how it catches an op that would only work on NumPy.

Every op's forward and backward, training steps with each optimiser, ``Module.to``,
``state_dict`` round trips and ``gradcheck`` run on the CPU while the engine's array module
is a recorder: it forwards every call to NumPy and writes down, for calls made from
minigrad's own code,

- each name read from the array module ``xp`` (``xp.exp``, ``xp.add.at``, ...),
- each attribute and method read from an array (``x.sum``, ``x.T``, ``x.astype``, ...),
- the keyword arguments of each call,
- every conversion of an array to a Python value (``float(x)``, ``x.item()``, ...),

and then checks the names and keywords against the real CuPy (installed, imported without a
GPU: only device use needs one). A name or keyword CuPy lacks fails the test with where it
came from. Without CuPy installed the CuPy checks skip with the reason (or fail, where
MINIGRAD_REQUIRE_CUPY=1 says CuPy must be there, as in CI); the static import check and the
host-round-trip check run everywhere.

What this cannot see: a value CuPy treats differently from NumPy (only a GPU run shows that),
and code that is not run here; the static check below keeps NumPy out of the engine's files so
that every array call goes through ``xp``.
"""
from __future__ import annotations

import ast
import functools
import inspect
import os
import pathlib
import re
import sys
import types

import numpy as np
import pytest
from op_cases import CASES

import minigrad
from minigrad import backend, nn, optim

PACKAGE = pathlib.Path(minigrad.__file__).parent


def _from_minigrad(depth=2):
    """Whether the code that made the current access is minigrad's (not NumPy's or a test's)."""
    return sys._getframe(depth).f_globals.get("__name__", "").startswith("minigrad")


def _where(depth=2):
    frame = sys._getframe(depth)
    return f"{frame.f_globals['__name__']}.{frame.f_code.co_name}"


class Recording:
    """What the engine asked of its array module, each with the places that asked."""

    def __init__(self):
        self.module = {}  # dotted name under xp -> set of places
        self.methods = {}  # array attribute -> set of places
        self.keywords = {}  # ("xp" | "array", dotted name) -> set of keyword names
        self.host_reads = []  # (what, place): array values turned into Python values

    def note(self, table, name, depth=3):
        table.setdefault(name, set()).add(_where(depth))


REC: Recording | None = None


def _wrap_out(value):
    """Arrays coming out of the recorder are recorded arrays too, so their methods are seen.

    A NumPy scalar comes out as a 0-d array, which is what CuPy returns in its place.
    """
    if type(value) is np.ndarray:
        return value.view(RecordedArray)
    if isinstance(value, np.generic):
        return np.asarray(value).view(RecordedArray)
    if isinstance(value, tuple):
        return tuple(_wrap_out(v) for v in value)
    return value


class RecordedArray(np.ndarray):
    """A NumPy array that reports which of its attributes minigrad's code reads."""

    def __getattribute__(self, name):
        if REC is not None and _from_minigrad():
            REC.note(REC.methods, name)
            value = np.ndarray.__getattribute__(self, name)
            if name in ("item", "tolist"):
                REC.host_reads.append((name, _where()))
            if callable(value) and not isinstance(value, type):
                return _recording_call(value, ("array", name))
            return value
        return np.ndarray.__getattribute__(self, name)

    def _host_read(self, what, convert):
        if REC is not None and _from_minigrad(3):
            REC.host_reads.append((what, _where(3)))
        return convert(self.view(np.ndarray))

    def __float__(self):
        return self._host_read("float()", float)

    def __int__(self):
        return self._host_read("int()", int)

    def __bool__(self):
        return self._host_read("bool()", bool)

    def __index__(self):
        return self._host_read("index", lambda a: a.__index__())


def _recording_call(fn, key):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:
            REC.keywords.setdefault(key, set()).update(kwargs)
        return _wrap_out(fn(*args, **kwargs))
    return call


class RecordingModule:
    """Stands in for ``numpy`` as ``xp``: forwards to it, recording each name read."""

    def __init__(self, target=np, prefix=""):
        self._target, self._prefix = target, prefix

    def __getattr__(self, name):
        value = getattr(self._target, name)
        dotted = self._prefix + name
        if REC is None or not _from_minigrad():
            return value
        REC.note(REC.module, dotted)
        if isinstance(value, type) or not callable(value) and not isinstance(value, types.ModuleType):
            return value  # dtypes and constants
        if isinstance(value, (types.ModuleType, np.ufunc)):
            return RecordingModule(value, dotted + ".") if isinstance(value, types.ModuleType) \
                else RecordingUfunc(value, dotted)
        return _recording_call(value, ("xp", dotted))


class RecordingUfunc(RecordingModule):
    """A ufunc is called (``xp.exp(x)``) and has methods (``xp.add.at``): record both."""

    def __init__(self, ufunc, dotted):
        super().__init__(ufunc, dotted + ".")
        self._call = _recording_call(ufunc, ("xp", dotted))

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)


@pytest.fixture
def recording(monkeypatch):
    """Make every minigrad module's ``get_array_module`` hand out the recorder for NumPy arrays."""
    global REC
    original = backend.get_array_module
    xp = RecordingModule()

    def get_array_module(x):
        module = original(x)
        return xp if module is np else module

    for name, module in list(sys.modules.items()):
        if name.startswith("minigrad") and getattr(module, "get_array_module", None) is original:
            monkeypatch.setattr(module, "get_array_module", get_array_module)
    REC = Recording()
    yield REC
    REC = None


def recorded(t):
    """Move a tensor's data (and gradient) into a RecordedArray."""
    t.data = t.data.view(RecordedArray)
    if t.grad is not None:
        t.grad.data = t.grad.data.view(RecordedArray)
    return t


# -- what the engine does, run under the recorder ------------------------------------------

def exercise_ops():
    """Every op of op_cases.py, forward and backward, in float64 and float32."""
    for case in CASES:
        for dtype in (minigrad.float64, minigrad.float32):
            host = case.host_inputs()
            tensors = [recorded(minigrad.tensor(a, dtype=dtype if a.dtype.kind == "f" else minigrad.int64,
                                                requires_grad=a.dtype.kind == "f")) for a in host]
            out = case.fn(*tensors)
            grad = recorded(minigrad.tensor(np.random.default_rng(1).standard_normal(out.shape), dtype=out.dtype))
            out.backward(grad)
            assert all(type(t.grad.data) is RecordedArray for t in tensors if t.requires_grad), case


def _model():
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    for p in model.parameters():
        recorded(p)
    return model


def training_step(model, opt, loss_fn=None):
    dtype = next(model.parameters()).dtype  # a batch of the model's dtype: Linear does not promote
    x = recorded(minigrad.tensor(np.random.default_rng(2).standard_normal((7, 6)), dtype=dtype))
    y = recorded(minigrad.tensor(np.random.default_rng(3).integers(0, 3, 7)))
    loss = (loss_fn or nn.CrossEntropyLoss())(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def exercise_training():
    """Training steps with every optimiser option, zero_grad both ways, state dicts, Module.to."""
    for make in (lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
                 lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
                 lambda p: optim.Adam(p, lr=1e-3, weight_decay=1e-2),
                 lambda p: optim.AdamW(p, lr=1e-3, amsgrad=True, maximize=True),
                 lambda p: optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True, weight_decay=1e-2)):
        model = _model()
        opt = make(model.parameters())
        for _ in range(2):
            training_step(model, opt)
        opt.zero_grad(set_to_none=False)
        model.zero_grad(set_to_none=False)
        model.load_state_dict(model.state_dict())
        opt.load_state_dict(opt.state_dict())
        model.to("cpu").to(dtype=minigrad.float64)
        for p in model.parameters():
            recorded(p)
        training_step(model, opt)
    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type="inf")
    nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type=0)
    nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type=3)
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    nn.utils.vector_to_parameters(nn.utils.parameters_to_vector(model.parameters()), model.parameters())
    model = _model()
    out = model(recorded(minigrad.tensor(np.ones((2, 6), dtype=np.float32))))
    out.argmax(axis=1)
    (out > 0), (out == out)


def exercise_gradcheck():
    x = recorded(minigrad.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=minigrad.float64, requires_grad=True))
    assert minigrad.gradcheck(lambda t: (t * t).sigmoid().sum(axis=0), [x])


def run_everything(recording):
    exercise_ops()
    exercise_training()
    exercise_gradcheck()
    return recording


# -- checking names against CuPy -----------------------------------------------------------

def _cupy():
    """The installed CuPy; without it these checks skip, unless MINIGRAD_REQUIRE_CUPY=1 (as CI
    sets it), where a missing CuPy must fail rather than quietly drop the check."""
    try:
        import cupy
    except ImportError:
        message = "CuPy is not installed: pip install cupy-cuda12x to run this check (it needs no GPU)"
        if os.environ.get("MINIGRAD_REQUIRE_CUPY") == "1":
            pytest.fail(message + "; MINIGRAD_REQUIRE_CUPY=1 says it must run here")
        pytest.skip(message)
    return cupy


def _lookup(root, dotted):
    obj = root
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


# Feature probes: read with hasattr() to tell an array from other data, never used as calls.
# __array_namespace__ exists on NumPy arrays but not on CuPy's, and the same hasattr() also
# accepts __cuda_array_interface__ (which CuPy has), so a CuPy array still passes.
PROBES = {"__array_namespace__": "Tensor() and save() test `or hasattr(x, '__cuda_array_interface__')`",
          "__cuda_array_interface__": "the CuPy side of the same probe (NumPy lacks it)",
          "grad": "Optimizer.load_state_dict tells a Tensor from an array by hasattr(v, 'grad')"}
# NumPy's own protocol: NumPy's C code reads these from the subclass while running an operator
# that minigrad wrote as `a * b`; they are not minigrad's calls.
NUMPY_PROTOCOL = {"__array_wrap__", "__array_finalize__", "__array_ufunc__", "__array_function__",
                  "__array_priority__", "__array_interface__", "__array_struct__", "__array__"}


def _parameters(fn):
    """The parameter names of a CuPy callable; None if it takes any keyword (**kwargs).

    Python functions have a signature; Cython methods carry theirs in the first line of the
    docstring (``_ndarray_base.sum(self, axis=None, dtype=None, out=None, keepdims=False)``).
    """
    try:
        params = inspect.signature(fn).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return None
        return {p.name for p in params}
    except (TypeError, ValueError):
        pass
    match = re.match(r"[\w.]+\((.*)\)", (fn.__doc__ or "").lstrip().split("\n")[0])
    if match is None:
        raise LookupError(f"no signature for {fn!r}")
    names = set()
    for part in match.group(1).split(","):
        part = part.split("=")[0].strip()
        if part.startswith("**"):
            return None
        if part:
            names.add(part.split()[-1].lstrip("*"))
    return names


def cupy_problems(recording, cupy):
    problems = []
    for name, where in sorted(recording.module.items()):
        if _lookup(cupy, name) is None:
            problems.append(f"xp.{name} is not in CuPy (used in {', '.join(sorted(where))})")
    for name, where in sorted(recording.methods.items()):
        if name not in PROBES and name not in NUMPY_PROTOCOL and not hasattr(cupy.ndarray, name):
            problems.append(f"cupy.ndarray has no .{name} (used in {', '.join(sorted(where))})")
    for (kind, name), keywords in sorted(recording.keywords.items()):
        fn = _lookup(cupy, name) if kind == "xp" else getattr(cupy.ndarray, name, None)
        if fn is None:
            continue  # reported above
        try:
            accepted = _parameters(fn)
        except LookupError as e:
            problems.append(f"cannot verify keywords {sorted(keywords)} of {kind} {name}: {e}")
            continue
        if accepted is not None and not keywords <= accepted:
            problems.append(f"{'xp.' if kind == 'xp' else 'ndarray.'}{name} in CuPy takes no keyword "
                            f"{sorted(keywords - accepted)} (it takes {sorted(accepted)})")
    return problems


def test_every_array_call_the_engine_makes_exists_in_cupy(recording):
    cupy = _cupy()
    run_everything(recording)
    # The recorder saw the engine at work; a silent recorder would pass anything.
    assert {"exp", "log", "maximum", "where", "add.at", "broadcast_to", "sqrt"} <= set(recording.module)
    assert {"sum", "max", "reshape", "astype", "T", "swapaxes", "copy"} <= set(recording.methods)
    assert recording.keywords
    problems = cupy_problems(recording, cupy)
    print(f"checked against CuPy {cupy.__version__}: {len(recording.module)} xp names, "
          f"{len(recording.methods)} array attributes, {len(recording.keywords)} keyword sets")
    assert not problems, "the engine uses NumPy API that CuPy lacks:\n  " + "\n  ".join(problems)


# An op a student might add to minigrad/ops/: fine on NumPy, broken on CuPy in three ways.
# It is compiled as a minigrad module, which is what the recorder watches.
NUMPY_ONLY_OP = """
from minigrad.autograd import Function
from minigrad.backend import get_array_module


class NumpyOnly(Function):
    @staticmethod
    def forward(ctx, x):
        xp = get_array_module(x)
        return x.getfield(x.dtype) + xp.ma.masked_invalid(x).filled(0) * 0

    @staticmethod
    def backward(ctx, grad_output):
        return get_array_module(grad_output).copy(grad_output, subok=True)
"""


def _student_op(monkeypatch):
    module = types.ModuleType("minigrad.ops.student")
    exec(compile(NUMPY_ONLY_OP, "minigrad/ops/student.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.NumpyOnly


def test_the_check_catches_numpy_only_code(recording, monkeypatch):
    """The same check fails for an op that uses NumPy-only API: the test can fail."""
    cupy = _cupy()
    x = recorded(minigrad.tensor([1.0, 2.0], requires_grad=True))
    _student_op(monkeypatch).apply(x).sum().backward()
    problems = "\n".join(cupy_problems(recording, cupy))
    assert "xp.ma is not in CuPy" in problems
    assert "cupy.ndarray has no .getfield" in problems
    assert "xp.copy in CuPy takes no keyword ['subok']" in problems


# -- no host round trip in a training step (runs without CuPy) ---------------------------

# Checks that read values on the host, by design only when the data is on the CPU (see
# nn/functional.py: on a GPU they would cost a device-to-host copy every step).
CPU_ONLY_CHECKS = {"minigrad.nn.functional.cross_entropy", "minigrad.nn.functional.binary_cross_entropy"}


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam", "adamw", "rmsprop"])
@pytest.mark.parametrize("loss", ["cross_entropy", "bce_with_logits", "mse"])
def test_training_step_reads_nothing_back_to_the_host(recording, optimizer, loss):
    model = _model()
    opt = {"sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "adam": optim.Adam,
           "adamw": lambda p: optim.AdamW(p, amsgrad=True),
           "rmsprop": lambda p: optim.RMSprop(p, momentum=0.9, centered=True)}[optimizer](model.parameters())
    if loss == "cross_entropy":
        loss_fn = nn.CrossEntropyLoss()
    else:
        loss_fn = nn.BCEWithLogitsLoss() if loss == "bce_with_logits" else nn.MSELoss()
        target = recorded(minigrad.tensor(np.random.default_rng(4).uniform(0, 1, (7, 3)), dtype=minigrad.float32))
        loss_fn = functools.partial(lambda f, z, y: f(z, target), loss_fn)
    for _ in range(3):
        training_step(model, opt, loss_fn)
    reads = [(what, where) for what, where in recording.host_reads if where not in CPU_ONLY_CHECKS]
    assert not reads, f"a training step reads array values back to the host: {reads}"


def test_gradient_clipping_reads_nothing_back_to_the_host(recording):
    """Only error_if_nonfinite=True looks at the norm's value (PyTorch syncs there too)."""
    model = _model()
    training_step(model, optim.SGD(model.parameters(), lr=0.1))
    nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type="inf")
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    reads = [(what, where) for what, where in recording.host_reads if where not in CPU_ONLY_CHECKS]
    assert not reads, f"gradient clipping reads array values back to the host: {reads}"


def test_host_round_trip_check_can_fail(recording):
    """The recorder sees values read back by minigrad's code: the CPU-only label check, and
    Tensor.item(), which a training step must not call."""
    z = recorded(minigrad.tensor([[1.0, -2.0]], requires_grad=True))
    minigrad.nn.functional.cross_entropy(z, recorded(minigrad.tensor([1]))).backward()
    assert ("bool()", "minigrad.nn.functional.cross_entropy") in recording.host_reads  # labels.min() < 0
    recorded(minigrad.tensor([3.0])).item()
    assert ("item", "minigrad.tensor.item") in recording.host_reads


# -- static: only the backend (and host-side I/O) may import NumPy or CuPy ------------------

# Host-side modules: they read files, draw random numbers or check gradients on the host and
# hand arrays to the backend, never compute on a device array themselves.
HOST_SIDE = {"backend.py": "the one place that chooses the array library",
             "factories.py": "draws random numbers on the host so a seed gives the same numbers on every device",
             "serialization.py": "writes .npz files (host arrays)", "gradcheck.py": "host-side reference",
             "cli.py": "command line: prints and files", "data.py": "data sets live in host memory",
             "gpt_cli.py": "command line: batches cut from the corpus on the host, prints and files",
             "compress_cli.py": "command line: prints and files",
             "datasets": "file readers and downloads", "testing": "hypothesis strategies (host arrays)",
             "exercises": "the course's checks: students' answers compared on the host",
             "distributed": "collectives: MPI on host buffers, NCCL on CuPy's"}
CUPY_ALLOWED = {"backend.py", "cuda.py", "distributed"}


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((a.name.split(".")[0], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0:
                yield node.module.split(".")[0], node.lineno
            elif node.module.split(".")[-1] == "backend":  # from .backend import numpy
                yield from ((a.name, node.lineno) for a in node.names if a.name in ("numpy", "cupy"))


def _numpy_through_backend(tree):
    """``backend.numpy.X`` outside a dtype: NumPy used for computation through the backend."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("numpy", "cupy") and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "backend"):
            value = getattr(np, node.attr, None)
            if not (isinstance(value, type) and issubclass(value, np.generic)):
                yield node.attr, node.lineno


def test_only_the_backend_imports_numpy_or_cupy():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        top = rel.parts[0]
        tree = ast.parse(path.read_text(), str(path))
        for name, line in _imports(tree):
            if name in ("cupy", "cupyx") and top not in CUPY_ALLOWED:
                bad.append(f"minigrad/{rel}:{line} imports {name}")
            if name == "numpy" and top not in HOST_SIDE:
                bad.append(f"minigrad/{rel}:{line} imports numpy")
        for name, line in _numpy_through_backend(tree):
            if top != "backend.py":
                bad.append(f"minigrad/{rel}:{line} computes with backend.numpy.{name}")
    assert not bad, ("ops and the engine get their array module from backend.get_array_module(x); "
                     "these files bypass it:\n  " + "\n  ".join(bad))


def _cupy_chains(tree):
    """Every ``cupy.a.b`` read in a file, longest chain only (``cupy.cuda.Device``, not ``cupy.cuda``)."""
    inner = set()
    chains = {}
    for node in ast.walk(tree):
        parts, cur = [], node
        while isinstance(cur, ast.Attribute):
            parts.append(cur.attr)
            cur = cur.value
        if parts and isinstance(cur, ast.Name) and cur.id == "cupy":
            chains[id(node)] = (".".join(reversed(parts)), node.lineno)
            if isinstance(node.value, ast.Attribute):
                inner.add(id(node.value))
    return [c for k, c in chains.items() if k not in inner]


def test_the_backends_own_cupy_calls_exist():
    """backend.py and cuda.py call CuPy directly (moving data, counting GPUs): look each name up."""
    cupy = _cupy()
    bad = []
    for name in ("backend.py", "cuda.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        for dotted, line in _cupy_chains(tree):
            if _lookup(cupy, dotted) is None:
                bad.append(f"minigrad/{name}:{line} cupy.{dotted}")
    assert not bad, "not in CuPy " + cupy.__version__ + ":\n  " + "\n  ".join(bad)

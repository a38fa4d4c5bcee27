"""Checks for the exercises of notebook 7, running on a GPU.

Most machines that run these checks have no GPU, so the device checks also run the student's
code on a stand-in for CuPy: :class:`DeviceArray`, NumPy underneath, which behaves as a CuPy
array does where device-agnostic code can go wrong. It refuses to become a NumPy array behind
your back (``numpy.asarray`` on it raises CuPy's TypeError) and to meet a NumPy array in an
operation, and ``get_array_module`` returns its stand-in module while the check runs. What it
cannot show is speed, or a CuPy function that NumPy lacks; where a GPU is usable the checks
also run on real CuPy arrays.
"""
from __future__ import annotations

import contextlib
import operator
import sys
import types

import numpy

from .checking import Wrong, attempted, call, compare, exercise, first_failure, show

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
             "NumPy array explicitly.")  # CuPy's own words


def _unwrap(value, where):
    """The NumPy array under a DeviceArray; a NumPy array here is a host array meeting a device one."""
    if isinstance(value, DeviceArray):
        return value._a
    if isinstance(value, numpy.ndarray):
        raise TypeError(f"{where}: unsupported type {type(value)} (a NumPy array in host memory met an array "
                        "on the GPU)")
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrap(value):
    if isinstance(value, numpy.ndarray):
        return DeviceArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    return value


def _key(key):
    """An index: CuPy accepts host integer arrays as indices, and its own arrays."""
    if isinstance(key, tuple):
        return tuple(_key(k) for k in key)
    return key._a if isinstance(key, DeviceArray) else key


class DeviceArray:
    """A stand-in for ``cupy.ndarray``: a NumPy array that behaves as if it lived on a GPU.

    Arithmetic, indexing, methods and NumPy's ufuncs work on it and give DeviceArrays; turning it
    into a NumPy array implicitly, or mixing it with one, raises TypeError as CuPy does.
    ``.get()`` copies it to the host, as in CuPy.
    """

    __array_priority__ = 1000
    device = types.SimpleNamespace(id=0)

    def __init__(self, array):
        self._a = numpy.asarray(array)

    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = _unwrap(inputs, f"numpy.{ufunc.__name__}")
        kwargs = {k: _unwrap(v, f"numpy.{ufunc.__name__}") for k, v in kwargs.items()}
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs))

    def get(self):
        """A NumPy copy in host memory."""
        return self._a.copy()

    shape = property(lambda self: self._a.shape, doc="The shape, as a tuple of ints.")
    dtype = property(lambda self: self._a.dtype, doc="The NumPy dtype of the elements.")
    ndim = property(lambda self: self._a.ndim, doc="The number of axes.")
    size = property(lambda self: self._a.size, doc="The number of elements.")
    T = property(lambda self: DeviceArray(self._a.T), doc="The transpose, on the same device.")
    base = property(lambda self: _wrap(self._a.base), doc="The array this one is a view of, or None.")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(v) for v in self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_key(key)])

    def __setitem__(self, key, value):
        self._a[_key(key)] = _unwrap(value, "DeviceArray.__setitem__")

    def __getattr__(self, name):  # methods: sum, max, astype, reshape, argmax, ...
        if name.startswith("__"):  # not __array_interface__ and kin, through which NumPy would read it
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)
        return lambda *a, **k: _wrap(attr(*_unwrap(a, name), **{n: _unwrap(v, name) for n, v in k.items()}))

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __repr__(self):
        return f"array({numpy.array2string(self._a, separator=', ')}, device='cuda:0')"


def _binary(name):
    op = getattr(operator, name)

    def forward(self, other):
        return _wrap(op(self._a, _unwrap(other, f"operator {name}")))

    def reflected(self, other):
        return _wrap(op(_unwrap(other, f"operator {name}"), self._a))
    return forward, reflected


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    _f, _r = _binary(_name if _name not in ("and", "or") else _name + "_")
    setattr(DeviceArray, f"__{_name}__", _f)
    setattr(DeviceArray, f"__r{_name}__", _r)
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(DeviceArray, f"__{_name}__", _binary(_name)[0])
for _name in ("neg", "pos", "abs", "invert"):
    setattr(DeviceArray, f"__{_name}__", (lambda op: lambda self: DeviceArray(op(self._a)))(getattr(operator, _name)))
DeviceArray.__hash__ = None


class _Ufunc:
    """A NumPy ufunc run on DeviceArrays, with its methods (``xp.add.at``, ``xp.maximum.reduce``)."""

    def __init__(self, ufunc):
        self._u = ufunc

    def __call__(self, *args, **kwargs):
        return _wrap(self._u(*_unwrap(args, self._u.__name__), **{k: _unwrap(v, self._u.__name__)
                                                                   for k, v in kwargs.items()}))

    def __getattr__(self, name):
        method = getattr(self._u, name)
        return lambda *a, **k: _wrap(method(*_unwrap(a, name), **{n: _unwrap(v, name) for n, v in k.items()}))


class _FakeCupy(types.ModuleType):
    """The module ``get_array_module`` returns for a DeviceArray: NumPy's functions, run on the
    device arrays and returning device arrays; ``asarray`` moves a host array to the device."""

    ndarray = DeviceArray

    def __init__(self):
        super().__init__("cupy", "A stand-in for CuPy (minigrad.exercises.devices).")

    def asarray(self, a, dtype=None):
        return DeviceArray(numpy.array(a.get() if isinstance(a, DeviceArray) else a, dtype=dtype))

    array = asarray

    def asnumpy(self, a):
        return a.get() if isinstance(a, DeviceArray) else numpy.asarray(a)

    def __getattr__(self, name):
        attr = getattr(numpy, name)
        if isinstance(attr, numpy.ufunc):
            return _Ufunc(attr)
        if callable(attr) and not isinstance(attr, type):
            return lambda *a, **k: _wrap(attr(*_unwrap(a, f"cupy.{name}"),
                                              **{n: _unwrap(v, f"cupy.{name}") for n, v in k.items()}))
        return attr  # dtypes and constants: float32, pi, newaxis


@contextlib.contextmanager
def pretend_gpu():
    """While inside, ``minigrad.backend.get_array_module`` takes DeviceArrays for CuPy arrays."""
    saved = sys.modules.get("cupy")
    sys.modules["cupy"] = _FakeCupy()
    try:
        yield
    finally:
        if saved is None:
            del sys.modules["cupy"]
        else:
            sys.modules["cupy"] = saved


def _real_gpu():
    """The real CuPy module when a GPU is usable, else None."""
    from .. import backend, cuda

    if not cuda.is_available():
        return None
    return backend.cupy_module()


@exercise("Exercise 7.1, code that runs on either device")
def check_one_hot(one_hot):
    """Check ``one_hot(labels, num_classes)`` (raw (n,) integer array -> (n, num_classes) float32
    array with a 1 at each label) against ``numpy.eye(num_classes)[labels]`` over
    hypothesis-drawn labels, given as NumPy arrays, as :class:`DeviceArray` stand-ins for CuPy
    arrays, and as real CuPy arrays where a GPU is usable: the result must be on the labels'
    device."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    cupy = _real_gpu()

    @st.composite
    def problems(draw):
        c = draw(st.integers(1, 6))
        return draw(hnp.arrays(numpy.int64, st.integers(1, 8), elements=st.integers(0, c - 1))), c

    def on_host(labels, c):
        got = call(f"one_hot(labels = {show(labels)}, {c})", one_hot, labels.copy(), c)
        if not isinstance(got, numpy.ndarray):
            raise Wrong(f"one_hot of NumPy labels returned a {type(got).__name__}, not a NumPy array.")
        if got.dtype != numpy.float32:
            raise Wrong(f"one_hot returned {got.dtype}, expected float32 (minigrad's default dtype): "
                        "pass dtype= when you make the array.")
        compare("one_hot", got, numpy.eye(c)[labels], inputs=f"labels = {show(labels)}, num_classes = {c}")

    def on_device(labels, c, module, make, where):
        try:
            got = call(f"on labels {where}, one_hot", one_hot, make(labels), c)
        except Wrong as e:
            if "raised TypeError" not in str(e):
                raise
            raise Wrong(f"{e}\n  Hint: a NumPy function (np.zeros, np.arange, np.eye, ...) made an array in host "
                        "memory, and it met the GPU array. Make every new array with the library that owns the "
                        "input: xp = get_array_module(labels), then xp.zeros, xp.arange, ...") from None
        if isinstance(got, numpy.ndarray):
            raise Wrong(f"on labels {where}, one_hot returned a NumPy array, in host memory: the result must "
                        "be made where the labels are (xp.zeros, not np.zeros), or the next op mixes devices.")
        if not isinstance(got, module.ndarray):
            raise Wrong(f"on labels {where}, one_hot returned a {type(got).__name__}, not an array on that device.")
        if got.dtype != numpy.float32:
            raise Wrong(f"on labels {where}, one_hot returned {got.dtype}, expected float32.")
        compare(f"one_hot on labels {where}", got.get(), numpy.eye(c)[labels],
                inputs=f"labels = {show(labels)}, num_classes = {c}")

    def attempt(problem):
        labels, c = problem
        on_host(labels, c)
        with pretend_gpu():
            on_device(labels, c, sys.modules["cupy"], DeviceArray, "on a (stand-in) GPU")
        if cupy is not None:
            on_device(labels, c, cupy, cupy.asarray, "on the GPU")

    attempt((numpy.array([2, 0, 1, 2]), 3))
    first_failure(problems(), attempt, max_examples=30)
    tested = "CuPy arrays on this machine's GPU too" if cupy is not None else \
        "the stand-in for CuPy only: no GPU is usable here"
    return f"every array made with xp runs where its input lives (tested with {tested})."


# What the student is asked to predict: each is run here, on the CPU and on a GPU (a real one
# where usable, the stand-in otherwise), so the answers are what minigrad does, not a table.
_SETUP = """
x = minigrad.randn(3)
d = minigrad.tensor(np.array([1.0, 2.0, 3.0]))
i = minigrad.tensor([0, 1, 2])
"""
_CASES = {
    "x + d": "minigrad.tensor(a NumPy array) keeps the array's dtype (float64 here); float32 with float64 "
             "gives float64, as in PyTorch.",
    "x * 2.5": "a Python number does not change a tensor's floating dtype.",
    "i / 2": "dividing integers gives the default float dtype, float32, as in PyTorch (NumPy would give float64).",
    "x + minigrad.tensor(2.0, dtype=minigrad.float64)": "a 0-d tensor does not promote a tensor with dimensions "
                                                        "of the same kind (PyTorch's rule): float32.",
    "g * 2.0": "a Python number goes where the tensor is; the result stays on the GPU.",
    "g + x": "minigrad never copies between devices behind your back: a GPU tensor with a CPU tensor is an error "
             "(move one with .to() first).",
    "g + d.to('cuda')": "both on the GPU: float32 with float64 gives float64, on the GPU.",
}


def _outcome(expression, namespace):
    from ..tensor import Tensor

    try:
        out = eval(expression, dict(namespace))  # noqa: S307 -- fixed expressions of this module
    except (RuntimeError, TypeError, ValueError):
        return "error"
    assert isinstance(out, Tensor), expression
    return str(out.device), numpy.dtype(out.dtype).name


def _truth():
    """{expression: ("cpu" or "cuda:0", dtype name) or "error"}, by running each expression."""
    import minigrad

    from ..tensor import Tensor

    cupy = _real_gpu()
    namespace = {"minigrad": minigrad, "np": numpy}
    exec(_SETUP, namespace)  # noqa: S102 -- this module's own setup code
    if cupy is not None:
        namespace["g"] = namespace["x"].to("cuda")
        return {e: _outcome(e, namespace) for e in _CASES}
    truth = {e: _outcome(e, namespace) for e in _CASES if "g" not in e.split()}
    with pretend_gpu():
        # the stand-in cannot be reached by .to('cuda'), which asks for real CuPy: make the GPU
        # tensors directly, and read d.to('cuda') as d's data moved to the stand-in
        on_gpu = {"g": Tensor(DeviceArray(namespace["x"].numpy())),
                  "d_gpu": Tensor(DeviceArray(namespace["d"].numpy()))}
        for e in _CASES:
            if "g" in e.split():
                truth[e] = _outcome(e.replace("d.to('cuda')", "d_gpu"), {**namespace, **on_gpu})
    return truth


def _normal(answer):
    """An answer as ("cpu" | "cuda:N", dtype name) or "error"; None if it is neither."""
    from ..backend import device

    if isinstance(answer, str) and answer.strip().lower() == "error":
        return "error"
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return None
    try:
        return str(device(str(answer[0]))), numpy.dtype(answer[1]).name
    except (TypeError, ValueError):
        return None


@exercise("Exercise 7.2, predict the device and the dtype")
def check_device_predictions(predictions: dict):
    """Check predicted outcomes, expression -> (device, dtype) or "error", by running each
    expression on the CPU and on a GPU (a real one where usable, else the CuPy stand-in)."""
    truth = _truth()
    missing = [e for e in _CASES if e not in predictions]
    if missing:
        raise Wrong(f"no answer for {', '.join(repr(e) for e in missing)}.")
    for expression, why in _CASES.items():
        said = attempted(expression, predictions[expression])
        normal = _normal(said)
        if normal is None:
            raise Wrong(f"{expression!r}: answer a (device, dtype) pair such as ('cpu', 'float32'), or 'error'; "
                        f"got {said!r}.")
        if normal != truth[expression]:
            raise Wrong(f"{expression!r} gives {truth[expression]!r}, not {said!r}: {why}")
    return "dtype follows PyTorch's promotion rules; device never changes unless you call .to()."

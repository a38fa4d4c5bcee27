"""``Tensor``: an array plus what the engine needs to differentiate through it.

The methods only name ops; each op's forward and backward live in ``minigrad/ops/``.
"""
from __future__ import annotations

import itertools
import operator
from numbers import Number

from . import autograd, backend
from .ops import activations, arithmetic, dtypes, elementwise, indexing, join, reductions
from .ops import inplace as inplace_ops
from .ops import shape as shape_ops

_creation = itertools.count()  # numbers every tensor as it is made: outputs are newer than inputs


class Tensor:
    """An n-dimensional array that can record the ops applied to it.

    ``data`` is the raw array (``numpy.ndarray`` on the CPU, ``cupy.ndarray`` on a GPU),
    ``grad`` the accumulated gradient (a Tensor, or None), ``requires_grad`` whether the engine
    should compute one. Only leaves (tensors made by the user, such as parameters) keep ``grad``.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([[2., 4.]])
    """

    __slots__ = ("data", "grad", "_requires_grad", "_ctx", "_seq", "_version_counter", "_view", "_history",
                 "_backward_hooks", "_grad_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor calls Tensor.__rmul__, not numpy's loop

    def __init__(self, data, requires_grad: bool = False, ctx=None, view=None):
        """A NumPy or CuPy array is used as it is (shared, as ``torch.from_numpy``); anything
        else (lists, numbers, NumPy scalars) is copied into a new array.

        ``ctx`` and ``view`` are the engine's (``Function.apply`` passes them): the node that
        made this tensor, and what it is a view of, if its array shares another tensor's memory.
        """
        if type(data) is not backend.NDARRAY and not backend.is_array(data):
            data = backend.as_array(data)
        elif data.dtype.kind not in backend.NUMERIC_KINDS:
            raise backend.not_numeric(data)
        self.data = data
        self.grad = None
        self._ctx = ctx
        self._seq = next(_creation)
        # made on first need (autograd.version_counter); a view shares its root's
        self._version_counter = None if view is None else view[0]._version_counter
        self._view = view
        self._history = self._backward_hooks = self._grad_hooks = None  # _history: see autograd._rebase
        self._requires_grad = ctx is not None
        if requires_grad:
            self.requires_grad = True  # the setter refuses integer tensors

    # -- autograd ---------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (floating point only)."""
        if self._view is not None and autograd.is_grad_enabled():
            autograd.refresh_view(self)  # a view of a tensor that has since joined a graph joins it too
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if value and self.data.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad: only floating-point tensors can require gradients, "
                               f"but this tensor is {self.data.dtype}; make it float, e.g. "
                               "minigrad.tensor(data, dtype=minigrad.float32)")
        if not value and self._ctx is not None:
            raise RuntimeError("requires_grad: you can only change requires_grad flags of leaf variables; "
                               "use .detach() to get a tensor cut from the graph")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor, as in PyTorch."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for a tensor that no op produced (an input or a parameter); only leaves keep grad."""
        if self._view is not None and autograd.is_grad_enabled():
            autograd.refresh_view(self)
        return self._ctx is None

    @property
    def grad_fn(self):
        """The op that produced this tensor (None for a leaf), as in PyTorch."""
        if self._view is not None and autograd.is_grad_enabled():
            autograd.refresh_view(self)
        return None if self._ctx is None else self._ctx.fn

    @property
    def _version(self) -> int:
        """How many in-place ops have changed this tensor (or a view of it): PyTorch's ``_version``."""
        return 0 if self._version_counter is None else self._version_counter[0]

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs=None) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires one
        (or only ``inputs``), adding it into their ``.grad``."""
        autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` at the next backward (leaves always do)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False; "
                               "only tensors in a graph have a gradient")
        if self._ctx is None or self.retains_grad:
            return
        autograd.add_hook(self, autograd.RetainGrad(self))

    @property
    def retains_grad(self) -> bool:
        """True if ``retain_grad()`` was called on this non-leaf tensor, so backward keeps its gradient in
        ``.grad``."""
        hooks = self._ctx.hooks if self._ctx is not None else None
        return bool(hooks) and any(isinstance(h, autograd.RetainGrad) and h.ref() is self for h in hooks)

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient each time backward computes it; a hook
        that returns a tensor replaces the gradient. Works on leaves (before ``.grad`` is added
        to) and on non-leaves. ``handle.remove()`` undoes it, as in PyTorch.
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require "
                               "gradient; set requires_grad=True first")
        return RemovableHandle(autograd.add_hook(self, hook), hook)

    def register_post_accumulate_grad_hook(self, hook) -> RemovableHandle:
        """Call ``hook(tensor)`` each time backward has added into this leaf's ``.grad``.

        PyTorch's name and meaning; ``DistributedDataParallel`` uses it to average gradients
        across processes as soon as backward has produced them. ``handle.remove()`` undoes it.
        """
        if self._ctx is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor (made by the "
                               "user, such as a parameter) accumulates a .grad; this one was computed by an op")
        if self._grad_hooks is None:
            self._grad_hooks = []
        self._grad_hooks.append(hook)
        return RemovableHandle(self._grad_hooks, hook)

    def detach(self) -> Tensor:
        """The same data, cut from the graph. It shares the version counter, as in PyTorch, so a
        change through it still makes a backward that saved this tensor refuse to run."""
        t = Tensor(self.data)
        t._version_counter = autograd.version_counter(self)
        return t

    # -- array facts ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """The size of each axis, a tuple (PyTorch's ``size()``, NumPy's ``shape``)."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self):
        """The element type, a NumPy dtype such as ``minigrad.float32``."""
        return self.data.dtype

    @property
    def device(self) -> backend.device:
        """Where the data lives, ``device('cpu')`` or ``device('cuda:0')``."""
        return backend.device_of(self.data)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (a transpose, recorded for backward)."""
        return shape_ops.transpose(self)

    def size(self, dim: int | None = None):
        """The shape, or with ``dim`` the size of that axis, as in PyTorch."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    def dim(self) -> int:
        """The number of axes, as in PyTorch (the same as ``ndim``)."""
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        """The sub-tensors along the first axis (each ``self[i]``, so gradients flow), as PyTorch."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter([self[i] for i in range(self.data.shape[0])])

    def numpy(self):
        """The data as a NumPy array (copied back from the GPU if need be)."""
        if self._requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return backend.to_device(self.data, backend.CPU)

    def __array__(self, dtype=None, copy=None):
        """``numpy.asarray(t)``: the data of a CPU tensor that requires no grad (as ``numpy()``)."""
        if self._requires_grad:
            raise RuntimeError("__array__: can't convert a tensor that requires grad to a NumPy array; "
                               "use tensor.detach() first")
        if not backend.is_cpu(self.data):
            raise TypeError(f"__array__: can't convert a {self.device} tensor to a NumPy array implicitly; "
                            "call .cpu() (or .numpy(), which copies to the host) first")
        if copy:
            return self.data.astype(self.data.dtype if dtype is None else dtype, copy=True)
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def tolist(self):
        """The data as (nested) Python lists of numbers, copied to the CPU."""
        return backend.to_device(self.data, backend.CPU).tolist()

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor can be converted to a Python "
                             f"number, this one has shape {self.shape}; index or reduce it first")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __format__(self, format_spec: str) -> str:
        """As PyTorch: a 0-d tensor formats as its number (``f"{loss:.4f}"``); others as ``str``."""
        if self.data.ndim == 0:
            return format(self.item(), format_spec)
        return object.__format__(self, format_spec)

    def __repr__(self):
        body = backend.array_text(self.data, prefix="tensor(")
        extra = []
        if self.dtype not in (backend.numpy.float32, backend.numpy.int64, backend.numpy.bool_):
            extra.append(f"dtype={self.dtype}")  # as PyTorch: the default dtypes go unsaid
        if self.device != backend.CPU:
            extra.append(f"device='{self.device}'")
        if self._ctx is not None:
            extra.append(f"grad_fn={self._ctx.fn.__name__}")
        elif self._requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({', '.join([body] + extra)})"

    # -- devices and dtypes ---------------------------------------------------------------
    def to(self, device=None, dtype=None) -> Tensor:
        """``self`` on ``device`` and/or as ``dtype``, as in PyTorch: ``t.to('cuda')``,
        ``t.to(minigrad.float64)``, ``t.to('cuda', minigrad.float16)``, ``t.to(other_tensor)``.

        Returns ``self`` if nothing changes. A dtype change is a differentiable cast (``Cast``:
        the gradient comes back in the original dtype; integer results need no gradient). A
        device move copies a leaf into a new leaf.
        """
        if isinstance(device, Tensor):
            device, dtype = device.device, device.dtype if dtype is None else dtype
        elif device is not None and not isinstance(device, (str, backend.device)):
            device, dtype = None, device  # t.to(minigrad.float64)
        t = self
        if device is not None and backend.device(device) != self.device:
            if self._requires_grad and self._ctx is not None:
                raise RuntimeError("to: moving a non-leaf tensor that is part of a graph is not supported; "
                                   "move the leaves (parameters, inputs) instead")
            t = Tensor(backend.to_device(self.data, backend.device(device)), requires_grad=self._requires_grad)
        return t if dtype is None else dtypes.cast(t, dtype)

    def cpu(self) -> Tensor:
        """The tensor on the CPU (``self`` if it is there already)."""
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        """The tensor on a GPU: ``cuda()`` or ``cuda(0)`` the first, ``cuda(1)`` the second."""
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

    def float(self) -> Tensor:
        """This tensor cast to float32 (``self`` if it already is)."""
        return dtypes.cast(self, backend.numpy.float32)

    def double(self) -> Tensor:
        """This tensor cast to float64 (``self`` if it already is)."""
        return dtypes.cast(self, backend.numpy.float64)

    def half(self) -> Tensor:
        """This tensor cast to float16 (``self`` if it already is)."""
        return dtypes.cast(self, backend.numpy.float16)

    def long(self) -> Tensor:
        """This tensor cast to int64; the result does not require grad."""
        return dtypes.cast(self, backend.numpy.int64)

    def int(self) -> Tensor:
        """This tensor cast to int32; the result does not require grad."""
        return dtypes.cast(self, backend.numpy.int32)

    def bool(self) -> Tensor:
        """This tensor cast to bool; the result does not require grad."""
        return dtypes.cast(self, backend.numpy.bool_)

    def type(self, dtype=None):
        """Without an argument, the type's name as PyTorch spells it ('minigrad.FloatTensor');
        with a dtype (or such a name), the tensor cast to it."""
        if dtype is None:
            return _TYPE_NAMES.get(str(self.dtype), f"minigrad.{self.dtype}")
        if isinstance(dtype, str) and dtype in _TYPE_NAMES.values():
            dtype = next(d for d, name in _TYPE_NAMES.items() if name == dtype)
        return dtypes.cast(self, dtype)

    # -- arithmetic (NumPy broadcasting; reflected forms for `1 - t`) ------------------------
    def __add__(self, other):
        return arithmetic.add(self, other)

    def __radd__(self, other):
        return arithmetic.add(other, self)

    def __sub__(self, other):
        return arithmetic.sub(self, other)

    def __rsub__(self, other):
        return arithmetic.sub(other, self)

    def __mul__(self, other):
        return arithmetic.mul(self, other)

    def __rmul__(self, other):
        return arithmetic.mul(other, self)

    def __truediv__(self, other):
        return arithmetic.div(self, other)

    def __rtruediv__(self, other):
        return arithmetic.div(other, self)

    def __neg__(self):
        return arithmetic.neg(self)

    def __pow__(self, exponent):
        return arithmetic.pow(self, exponent)

    def __rpow__(self, base):
        return arithmetic.pow(base, self)

    def __matmul__(self, other):
        return arithmetic.matmul(self, other)

    def __rmatmul__(self, other):
        return arithmetic.matmul(other, self)

    # -- in-place -------------------------------------------------------------------------
    # Each writes into ``self.data`` (the same array, so views and a Module's registration see
    # it), bumps the version counter and returns ``self``. Under grad mode an in-place op on a
    # tensor in a graph is recorded; on a leaf that requires grad it raises (autograd.inplace).
    def add_(self, other, *, alpha=1) -> Tensor:
        """self += alpha * other."""
        if alpha != 1:
            other = other * alpha
        return autograd.inplace("add_", self, arithmetic.add, other, fast=operator.iadd)

    def sub_(self, other, *, alpha=1) -> Tensor:
        """self -= alpha * other."""
        if alpha != 1:
            other = other * alpha
        return autograd.inplace("sub_", self, arithmetic.sub, other, fast=operator.isub)

    def mul_(self, other) -> Tensor:
        """self *= other (broadcast to this shape), in place; returns ``self``."""
        return autograd.inplace("mul_", self, arithmetic.mul, other, fast=operator.imul)

    def div_(self, other) -> Tensor:
        """self /= other (broadcast to this shape), in place; returns ``self``."""
        return autograd.inplace("div_", self, arithmetic.div, other, fast=operator.itruediv)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def copy_(self, src) -> Tensor:
        """Write ``src`` (broadcast, cast to this dtype) into this tensor; the gradient flows to src."""
        if not isinstance(src, Tensor):
            raise TypeError(f"copy_: expected a Tensor, got {type(src).__name__}; use fill_ for a number")
        return autograd.inplace("copy_", self, inplace_ops.copy, src, fast=_write_all)

    def fill_(self, value) -> Tensor:
        """Write ``value`` (a number or a 0-dimensional tensor) into every element, in place; returns
        ``self``."""
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"fill_: only supports a 0-dimension value tensor, got shape {value.shape}; "
                                   "pass a number, or use copy_ to write a tensor")
            return self.copy_(value)
        return autograd.inplace("fill_", self, inplace_ops.copy, value, fast=_write_all)

    def zero_(self) -> Tensor:
        """Set every element to 0, in place; returns ``self``."""
        return self.fill_(0)

    def clamp_(self, min=None, max=None) -> Tensor:
        """Clip every value into [min, max] in place (either bound may be None)."""
        if min is None and max is None:
            raise RuntimeError("clamp_: at least one of 'min' or 'max' must not be None; pass a bound")
        bounds = [b for b in (min, max) if isinstance(b, Tensor)]
        if bounds:  # tensor bounds may need a gradient themselves: always the recorded path
            return autograd.inplace("clamp_", self, lambda t, *_: t.clamp(min, max), *bounds)
        xp = backend.get_array_module(self.data)
        return autograd.inplace("clamp_", self, lambda t: t.clamp(min, max),
                                fast=lambda d: xp.clip(d, min, max, out=d))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill with samples of N(mean, std**2), drawn by the generator ``manual_seed`` resets."""
        from .factories import default_generator

        return self._fill_host("normal_", default_generator().normal(mean, std, self.shape))

    def uniform_(self, from_: float = 0.0, to: float = 1.0) -> Tensor:
        """Fill with samples of the uniform distribution on [``from_``, ``to``)."""
        from .factories import default_generator

        return self._fill_host("uniform_", default_generator().uniform(from_, to, self.shape))

    def _fill_host(self, name, host):
        values = Tensor(backend.as_array(host, self.dtype, self.device))
        return autograd.inplace(name, self, inplace_ops.copy, values, fast=_write_all)

    def __setitem__(self, index, value):
        """``t[index] = value``, in place; differentiable with respect to both, as in PyTorch."""
        index = _raw_index(index)
        if not isinstance(value, (Tensor, Number)):
            value = Tensor(backend.as_array(value, self.dtype, self.device))

        def fast(d, v):
            try:
                d[index] = v
            except ValueError as e:
                raise RuntimeError(f"setitem: {e}; the value must broadcast to the indexed region") from None
        try:
            autograd.inplace("setitem", self, lambda t, v: inplace_ops.setitem(t, index, v), value, fast=fast)
        except IndexError as e:
            raise IndexError(f"setitem: index {index!r} is invalid for a tensor of shape {self.shape}: {e}") from None
        except ValueError as e:  # from SetItem's forward, on the recorded path
            raise RuntimeError(f"setitem: {e}; the value must broadcast to the indexed region") from None

    # -- comparisons: boolean tensors, no gradient --------------------------------------------
    def _compare(self, other, op):
        """Compared in the promoted dtype, as PyTorch: ``float32_t == np.float64(0.1)`` compares
        float32 values, where NumPy would widen the tensor."""
        a, b = self.data, other
        if isinstance(other, Tensor):
            arithmetic.broadcast_check(op.strip("_"), self, other)  # else NumPy's bare message
        if isinstance(other, (Tensor, Number)):
            a, b = (x.data if isinstance(x, Tensor) else x for x in dtypes.promote(self, other))
        return Tensor(backend.get_array_module(a).asarray(getattr(a, op)(b)))  # 0-d: a scalar back to an array

    def __eq__(self, other):
        return self._compare(other, "__eq__")

    def __ne__(self, other):
        return self._compare(other, "__ne__")

    def __lt__(self, other):
        return self._compare(other, "__lt__")

    def __le__(self, other):
        return self._compare(other, "__le__")

    def __gt__(self, other):
        return self._compare(other, "__gt__")

    def __ge__(self, other):
        return self._compare(other, "__ge__")

    __hash__ = object.__hash__  # tensors are used as dict keys by identity, as in PyTorch

    # -- reductions (``dim``/``keepdim``, with NumPy's ``axis``/``keepdims`` as aliases) ------
    def sum(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The sum over ``dim`` (all elements if None), keeping reduced axes as size 1 if ``keepdim``; see
        ``minigrad.ops.reductions.sum``."""
        return reductions.sum(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def mean(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The mean over ``dim`` (all elements if None), keeping reduced axes as size 1 if ``keepdim``;
        floating-point tensors only."""
        return reductions.mean(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def max(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The largest value; with ``dim``, ``(values, indices)``; with a tensor, ``maximum``."""
        return reductions.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None):
        """The smallest value; with ``dim``, ``(values, indices)``; with a tensor, ``minimum``."""
        return reductions.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The largest values over ``dim`` (all elements if None), with ``keepdim``; tied maxima share the
        gradient equally."""
        return reductions.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The smallest values over ``dim`` (all elements if None), with ``keepdim``; tied minima share the
        gradient equally."""
        return reductions.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The int64 index of the largest value along ``dim`` (of the flattened tensor if None), with
        ``keepdim``; first wins a tie, no gradient."""
        return reductions.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(self, dim=None, keepdim: bool = False, *, axis=None, keepdims=None) -> Tensor:
        """The int64 index of the smallest value along ``dim`` (of the flattened tensor if None), with
        ``keepdim``; first wins a tie, no gradient."""
        return reductions.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
            keepdims=None) -> Tensor:
        """The variance over ``dim`` (all elements if None), divided by n - correction (``correction=1``,
        i.e. unbiased, by default), with ``keepdim``."""
        return reductions.var(self, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)

    def std(self, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, axis=None,
            keepdims=None) -> Tensor:
        """The standard deviation, sqrt of ``var`` with the same arguments (unbiased by default)."""
        return reductions.std(self, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``; the gradient
        goes to the elements picked."""
        return reductions.topk(self, k, dim, largest, sorted)

    # -- elementwise ----------------------------------------------------------------------
    def exp(self) -> Tensor:
        """e to the power of each element."""
        return elementwise.exp(self)

    def log(self) -> Tensor:
        """The natural logarithm of each element."""
        return elementwise.log(self)

    def abs(self) -> Tensor:
        """The absolute value of each element; the gradient at 0 is 0, as in PyTorch."""
        return elementwise.abs(self)

    __abs__ = abs

    def sqrt(self) -> Tensor:
        """The square root of each element; the gradient at 0 is infinite, as in PyTorch."""
        return elementwise.sqrt(self)

    def pow(self, exponent) -> Tensor:
        """self ** exponent, elementwise; ``exponent`` is a number or a tensor (broadcast)."""
        return arithmetic.pow(self, exponent)

    def clamp(self, min=None, max=None) -> Tensor:
        """Each element limited to [min, max] (either bound may be None, a number or a tensor); the
        gradient passes at the bounds."""
        return elementwise.clamp(self, min, max)

    clip = clamp

    def maximum(self, other) -> Tensor:
        """The elementwise larger of this tensor and ``other`` (broadcast); ties split the gradient in
        half."""
        return elementwise.maximum(self, other)

    def minimum(self, other) -> Tensor:
        """The elementwise smaller of this tensor and ``other`` (broadcast); ties split the gradient in
        half."""
        return elementwise.minimum(self, other)

    def where(self, condition, other) -> Tensor:
        """``where(condition, self, other)``, PyTorch's method form."""
        return elementwise.where(condition, self, other)

    def masked_fill(self, mask, value) -> Tensor:
        """A copy with ``value`` written where ``mask`` (bool, broadcast) is True; no gradient flows to the
        filled places."""
        return elementwise.masked_fill(self, mask, value)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two axes, on and below diagonal ``diagonal``; the rest is zero."""
        return elementwise.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two axes, on and above diagonal ``diagonal``; the rest is zero."""
        return elementwise.triu(self, diagonal)

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; its derivative at 0 is taken as 0, as in PyTorch."""
        return activations.relu(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)) elementwise, computed without overflow."""
        return activations.sigmoid(self)

    def tanh(self) -> Tensor:
        """The hyperbolic tangent of each element."""
        return activations.tanh(self)

    def softmax(self, dim: int) -> Tensor:
        """exp(x) / sum(exp(x)) along ``dim``, computed stably (the maximum subtracted first)."""
        return activations.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        """log(softmax(x)) along ``dim``, computed stably with log-sum-exp."""
        return activations.log_softmax(self, dim)

    # -- shapes ---------------------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        """The same elements in a new shape (sizes as ints or one tuple; one of them may be -1)."""
        return shape_ops.reshape(self, shape_ops.sizes_arg(shape))

    def view(self, *shape) -> Tensor:
        """The same elements in a new shape, as ``reshape`` (minigrad does not require contiguity)."""
        return shape_ops.reshape(self, shape_ops.sizes_arg(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim`` to ``end_dim`` (both included) merged into one."""
        return shape_ops.flatten(self, start_dim, end_dim)

    def transpose(self, *axes) -> Tensor:
        """No axes: reverse them. Two ints: swap those two (PyTorch). A tuple: permute (NumPy)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        elif len(axes) == 2:
            perm = list(range(self.ndim))
            perm[axes[0]], perm[axes[1]] = perm[axes[1]], perm[axes[0]]
            axes = tuple(perm)
        return shape_ops.transpose(self, axes or None)

    def permute(self, *dims) -> Tensor:
        """The axes reordered: output axis i is input axis ``dims[i]``."""
        return shape_ops.permute(self, *dims)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new axis of size 1 inserted at position ``dim``."""
        return shape_ops.unsqueeze(self, dim)

    def squeeze(self, dim=None) -> Tensor:
        """The axes of size 1 dropped: all of them, or those among ``dim`` (an int or a tuple)."""
        return shape_ops.squeeze(self, dim)

    def expand(self, *sizes) -> Tensor:
        """This tensor viewed at a larger shape without copying; -1 keeps an axis's size, new axes go in
        front."""
        return shape_ops.expand(self, *sizes)

    def expand_as(self, other) -> Tensor:
        """This tensor expanded to ``other``'s shape (``expand(other.shape)``)."""
        return shape_ops.expand(self, other.shape)

    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """A tuple of pieces along ``dim``, each of ``split_size_or_sections`` elements (the last smaller)
        or of the listed sizes."""
        return join.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """A tuple of ``chunks`` pieces along ``dim``, each of ceil(n / chunks) elements (the last
        smaller)."""
        return join.chunk(self, chunks, dim)

    def clone(self) -> Tensor:
        """A copy with its own memory that stays in the graph (the gradient flows back to this tensor)."""
        return shape_ops.clone(self)

    def is_contiguous(self) -> bool:
        """True if the data is laid out in C (row-major) order."""
        return self.data.flags.c_contiguous

    def contiguous(self) -> Tensor:
        """``self`` if its data is laid out in C order already, else a differentiable copy that is."""
        return self if self.data.flags.c_contiguous else shape_ops.clone(self)

    def gather(self, dim: int, index) -> Tensor:
        """Values along ``dim`` at ``index`` (an int64 tensor); the output has ``index``'s shape."""
        return indexing.gather(self, dim, index)

    def __getitem__(self, index) -> Tensor:
        return indexing.getitem(self, index)


_TYPE_NAMES = {"float32": "minigrad.FloatTensor", "float64": "minigrad.DoubleTensor",
               "float16": "minigrad.HalfTensor", "int64": "minigrad.LongTensor", "int32": "minigrad.IntTensor",
               "int16": "minigrad.ShortTensor", "int8": "minigrad.CharTensor", "uint8": "minigrad.ByteTensor",
               "bool": "minigrad.BoolTensor"}


class RemovableHandle:
    """Returned by hook registration; ``remove()`` unregisters the hook (as in PyTorch)."""

    def __init__(self, hooks: list, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        """Unregister the hook; removing it twice does nothing."""
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)



def _write_all(d, v):
    d[...] = v


def _raw_index(index):
    """An index with the arrays of Tensors in place of the Tensors."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index

"""``DistributedDataParallel``: one model replica per rank, gradients averaged inside backward.

The training loop, on every rank, is the single-process loop::

    model = DistributedDataParallel(model)       # every rank now starts from rank 0's weights
    optimizer = SGD(model.parameters(), lr=0.1)
    for x, y in loader:                          # each rank its own shard (DistributedSampler)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)              # mean over this rank's b samples
        loss.backward()                          # this rank's gradient, then averaged over the
        optimizer.step()                         #   R ranks: the gradient of the mean over b*R

How the average gets into backward (as in PyTorch): the wrapper registers a hook on every
parameter (``Tensor.register_post_accumulate_grad_hook``); backward calls it each time it has
added into that parameter's ``.grad``. When every parameter's hook has fired in this backward,
the last hook runs ``synchronize_gradients()``: the gradients are copied into a few flat buffers
("buckets" of up to ``bucket_cap_mb``), each bucket is summed over the ranks with one
all-reduce, and divided by the world size. One big message instead of one per parameter,
because each message costs a fixed latency on top of its bytes. (PyTorch also starts each
bucket's all-reduce while backward is still computing the other gradients; with MPI's blocking
all-reduce minigrad cannot overlap, so it waits for the last gradient.)

Unused parameters. With MPI every rank must enter the same all-reduces in the same order. A
parameter that got no gradient on this rank (its layer was skipped) never fires its hook, so
this rank does not all-reduce, while ranks that used it may be waiting in theirs. By default
this is an error at this rank's next forward (as in PyTorch), naming the rank and the
parameters; uncaught, it ends the whole job (``init_process_group``'s abort on an uncaught
exception), the waiting ranks included. Only a rank that never calls the model again (its last
step) escapes the check, and the waiting ranks then hang, as in PyTorch. Two ways to train such
a model:

- call ``model.synchronize_gradients()`` after ``loss.backward()`` on every rank: a rank whose
  hooks already all-reduced does nothing, the others join the same all-reduces, and a
  parameter no rank used keeps ``grad`` None;
- or ``DistributedDataParallel(model, find_unused_parameters=True)``: each training forward
  walks the graph back from its outputs and counts the parameters it does not reach as ready
  already (PyTorch's method), so every rank all-reduces once inside backward. The walk costs
  one pass over the graph per forward, hence not the default.
"""
from __future__ import annotations

import contextlib
import weakref

from .. import autograd
from ..backend import get_array_module
from ..nn.module import Module
from ..tensor import Tensor
from . import comm


class _Bucket:
    """Parameters of one dtype and device whose gradients travel in one message.

    The flat buffer holds each gradient at its offset, then one count per parameter: how many
    ranks had a gradient for it (0 on every rank means the parameter was not used this step and
    its ``.grad`` stays None, as it would on one process). The counts ride in the same message.
    """

    def __init__(self, params):
        self.params = params
        self.offsets = []
        n = 0
        for p in params:
            self.offsets.append(n)
            n += p.data.size
        self.numel = n

    def flat(self, xp, dtype):
        return xp.empty(self.numel + len(self.params), dtype=dtype)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the process group.

    On construction every rank checks that all ranks hold the same parameter names and shapes,
    and takes rank 0's parameter values, so all replicas start identical. ``forward`` is the
    module's forward; ``loss.backward()`` leaves every ``p.grad`` equal to the mean of ``p.grad``
    over the ranks (see the module docstring for how, and for unused parameters).

    The wrapped model is ``.module``; save ``model.module.state_dict()`` so that the checkpoint
    loads into a plain model (``model.state_dict()`` has keys prefixed ``module.``, as PyTorch's).

    On a single process (world size 1) nothing is sent, so the same script runs with and
    without ``mpiexec``; the check for unused parameters runs there too.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, broadcast_parameters: bool = True,
                 find_unused_parameters: bool = False):
        super().__init__()
        self.module = module
        g = comm.require_group("DistributedDataParallel")
        self.rank = g.rank
        self.world_size = g.world_size
        self.bucket_cap_mb = bucket_cap_mb
        self.find_unused_parameters = find_unused_parameters
        self._accumulated = False  # backward added to some .grad since the last all-reduce
        self._waiting = None       # ids of the parameters this backward has yet to give a gradient
        self._unused = set()       # ids the last forward's graph does not reach (find_unused_parameters)
        self._sync_disabled = False
        self._layout = None
        self._buckets = []
        self._check_same_model()
        if broadcast_parameters and self.world_size > 1:
            self._broadcast_parameters()
        # Every parameter, frozen ones too (requires_grad may be switched on later; a frozen one
        # never accumulates, so its hook never fires). The hook holds the wrapper by weak
        # reference: a parameter must not keep alive, and keep syncing for, a discarded wrapper.
        hook = _gradient_ready_hook(weakref.ref(self))
        for p in module.parameters():
            p.register_post_accumulate_grad_hook(hook)

    # -- the model ------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._waiting is not None:
            self._raise_unfinished_sync()
        out = self.module(*args, **kwargs)
        if self.find_unused_parameters and autograd.is_grad_enabled() and self.training:
            reached = {id(node) for t in _tensors_in(out) for node in autograd.topological_order(t)}
            self._unused = {id(p) for p in self._current_params() if id(p) not in reached}
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients locally, without communicating; the first
        backward after the block averages everything accumulated (PyTorch's meaning)::

            with model.no_sync():
                loss_fn(model(x1), y1).backward()    # local
            loss_fn(model(x2), y2).backward()        # all-reduces the sum of both gradients
            optimizer.step()
        """
        old = self._sync_disabled
        self._sync_disabled = True
        try:
            yield
        finally:
            self._sync_disabled = old

    def _gradient_ready(self, p) -> None:
        """Called by backward after it has added into ``p.grad``."""
        self._accumulated = True
        if self._sync_disabled:
            return
        if self._waiting is None:  # the first gradient of this backward
            self._waiting = {id(q) for q in self._current_params()} - self._unused
        self._waiting.discard(id(p))
        if not self._waiting:  # the last one: every gradient of this backward is in
            self.synchronize_gradients()

    def _raise_unfinished_sync(self):
        names = {id(p): name for name, p in self.module.named_parameters()}
        missing = [names.get(i, "?") for i in self._waiting]
        raise RuntimeError(
            f"rank {self.rank}: DistributedDataParallel: the last backward gave no gradient to "
            f"{len(missing)} parameter(s) on this rank ({', '.join(sorted(missing)[:3])}"
            f"{', ...' if len(missing) > 3 else ''}), so the gradients were not averaged across ranks "
            "and the replicas would drift apart (other ranks may be waiting in that all-reduce). "
            "Call model.synchronize_gradients() after loss.backward() on every rank (a parameter no "
            "rank used keeps grad None), or wrap the model with "
            "DistributedDataParallel(model, find_unused_parameters=True)")

    # -- the two collectives ------------------------------------------------------------
    def synchronize_gradients(self) -> None:
        """Set every parameter's ``.grad`` to its mean over all ranks (one all-reduce per bucket).

        Backward calls it by itself once every parameter has its gradient; call it yourself
        after ``loss.backward()`` when some parameters may get none (see the module docstring).
        It does nothing when backward has accumulated nothing since the last call, so calling
        it after an automatic one does not communicate twice.

        Each rank's loss is a mean over its own b samples, so the mean of the R ranks'
        gradients is the gradient of the mean over all b*R samples: the big-batch gradient.
        """
        if not self._accumulated:
            return
        self._accumulated, self._waiting, self._unused = False, None, set()
        if self.world_size == 1:
            return
        for bucket in self._current_buckets():
            first = bucket.params[0]
            xp = get_array_module(first.data)
            flat = bucket.flat(xp, first.data.dtype)  # fresh each step: the new grads are views of it
            counts = flat[bucket.numel:]
            for i, (p, off) in enumerate(zip(bucket.params, bucket.offsets)):
                view = flat[off:off + p.data.size]
                if p.grad is None:
                    view[...] = 0
                    counts[i] = 0
                else:
                    view[...] = p.grad.data.reshape(-1)
                    counts[i] = 1
            comm.all_reduce(flat, comm.ReduceOp.SUM)
            grads = flat[:bucket.numel]
            grads /= self.world_size
            for i, (p, off) in enumerate(zip(bucket.params, bucket.offsets)):
                if counts[i] > 0:  # some rank used it; one unused everywhere keeps grad None
                    p.grad = Tensor(grads[off:off + p.data.size].reshape(p.data.shape))

    def _broadcast_parameters(self) -> None:
        """Overwrite every rank's parameter values with rank 0's (one broadcast per bucket),
        frozen ones (``requires_grad=False``) included."""
        for bucket in _make_buckets(list(self.module.parameters()), self.bucket_cap_mb):
            first = bucket.params[0]
            flat = bucket.flat(get_array_module(first.data), first.data.dtype)
            for p, off in zip(bucket.params, bucket.offsets):
                flat[off:off + p.data.size] = p.data.reshape(-1)
            comm.broadcast(flat, src=0)
            for p, off in zip(bucket.params, bucket.offsets):
                p.data[...] = flat[off:off + p.data.size].reshape(p.data.shape)

    # -- bookkeeping ----------------------------------------------------------------------
    def _current_params(self):
        return [p for p in self.module.parameters() if p.requires_grad]

    def _current_buckets(self):
        """The buckets for the parameters as they are now; rebuilt if ``.to()`` moved or cast them."""
        params = self._current_params()
        layout = [(id(p), p.data.shape, p.data.dtype, type(p.data), str(p.device)) for p in params]
        if layout != self._layout:
            self._layout = layout
            self._buckets = _make_buckets(params, self.bucket_cap_mb)
        return self._buckets

    def _check_same_model(self) -> None:
        """Every rank must hold the same parameters, or the all-reduce would mix unrelated numbers."""
        mine = [(name, tuple(p.shape), str(p.dtype), p.requires_grad) for name, p in self.module.named_parameters()]
        everyone = comm.all_gather_object(mine)
        for r, theirs in enumerate(everyone):
            if theirs != everyone[0]:
                diff = next(((a, b) for a, b in zip(everyone[0], theirs) if a != b), None)
                detail = (f"rank 0 has {diff[0]}, rank {r} has {diff[1]}" if diff else
                          f"rank 0 has {len(everyone[0])} parameters, rank {r} has {len(theirs)}")
                raise RuntimeError(
                    f"rank {self.rank}: DistributedDataParallel: the ranks hold different models "
                    f"(name, shape, dtype, requires_grad): {detail}. Build the same model on every rank.")

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, bucket_cap_mb={self.bucket_cap_mb}"
                + (", find_unused_parameters=True" if self.find_unused_parameters else ""))


def _gradient_ready_hook(ddp_ref):
    def hook(p):
        ddp = ddp_ref()
        if ddp is not None:
            ddp._gradient_ready(p)
    return hook


def _tensors_in(out):
    """The Tensors in a forward's output: a Tensor, or tuples, lists and dicts of them."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in _tensors_in(item)]
    return []


def _make_buckets(params, cap_mb: float):
    """Consecutive parameters of one dtype and device, up to ``cap_mb`` megabytes per bucket."""
    cap = cap_mb * 2**20
    buckets, current, size, key = [], [], 0, None
    for p in params:
        k = (p.data.dtype, type(p.data), str(p.device))
        nbytes = p.data.nbytes
        if current and (k != key or size + nbytes > cap):
            buckets.append(_Bucket(current))
            current, size = [], 0
        current.append(p)
        size += nbytes
        key = k
    if current:
        buckets.append(_Bucket(current))
    return buckets

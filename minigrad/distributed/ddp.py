"""``DistributedDataParallel``: one model replica per rank, gradients averaged after backward.

The training loop, on every rank::

    model = DistributedDataParallel(model)       # every rank now starts from rank 0's weights
    optimizer = SGD(model.parameters(), lr=0.1)
    for x, y in loader:                          # each rank its own shard (DistributedSampler)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)              # mean over this rank's b samples
        loss.backward()                          # this rank's gradient
        model.synchronize_gradients()            # average over the R ranks: the gradient of
        optimizer.step()                         #   the mean over all b*R samples

Why an explicit ``synchronize_gradients()`` where PyTorch needs none: PyTorch's DDP registers a
hook on every parameter that fires when backward has accumulated its gradient, and reduces the
gradients from inside backward. minigrad's engine has no hooks (its ``backward`` is one loop in
``autograd.py``), and patching the engine or the optimiser from here would hide the one line
this module is about. So the all-reduce is a line of the training loop, where a reader sees it.
Forgetting it is caught, as PyTorch catches the same mistake: the next forward raises instead of
letting the ranks drift apart silently. (With an engine hook, say
``Tensor.register_post_accumulate_grad_hook`` as in PyTorch, the call could move into backward.)

How the average is computed: the gradients are copied into a few flat buffers ("buckets" of up
to ``bucket_cap_mb``), each bucket is summed over the ranks with one all-reduce, and divided by
the world size. One big message instead of one per parameter, because each message costs a
fixed latency on top of its bytes (a 3-layer MLP has 6 parameters, a transformer hundreds).
"""
from __future__ import annotations

import contextlib

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
    module's forward. After ``loss.backward()`` call ``synchronize_gradients()``: it replaces
    every ``p.grad`` with the mean of ``p.grad`` over the ranks.

    The wrapped model is ``.module``; save ``model.module.state_dict()`` so that the checkpoint
    loads into a plain model (``model.state_dict()`` has keys prefixed ``module.``, as PyTorch's).

    On a single process (world size 1) nothing is sent and ``synchronize_gradients()`` only
    does the bookkeeping, so the same script runs with and without ``mpiexec``.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, broadcast_parameters: bool = True):
        super().__init__()
        self.module = module
        g = comm._require_group("DistributedDataParallel")
        self.rank = g.rank
        self.world_size = g.world_size
        self.bucket_cap_mb = bucket_cap_mb
        self._awaiting_sync = False
        self._sync_disabled = False
        self._layout = None
        self._buckets = []
        self._check_same_model()
        if broadcast_parameters and self.world_size > 1:
            self._broadcast_parameters()

    # -- the model ------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if autograd.is_grad_enabled() and self.training and not self._sync_disabled:
            if self._awaiting_sync:
                raise RuntimeError(
                    f"rank {self.rank}: DistributedDataParallel: forward was called again, but the "
                    "gradients of the previous backward were never averaged across ranks, so the "
                    "replicas would drift apart. Call model.synchronize_gradients() after "
                    "loss.backward() and before optimizer.step(); to accumulate gradients over "
                    "several batches on purpose, run the first ones inside `with model.no_sync():`")
            self._awaiting_sync = True
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Forward/backward passes inside accumulate gradients locally without the check above;
        call ``synchronize_gradients()`` once after the last backward, outside."""
        old = self._sync_disabled
        self._sync_disabled = True
        try:
            yield
        finally:
            self._sync_disabled = old

    # -- the two collectives ------------------------------------------------------------
    def synchronize_gradients(self) -> None:
        """Set every parameter's ``.grad`` to its mean over all ranks (one all-reduce per bucket).

        Each rank's loss is a mean over its own b samples, so the mean of the R ranks'
        gradients is the gradient of the mean over all b*R samples: the big-batch gradient.
        """
        self._awaiting_sync = False
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
    def _current_buckets(self):
        """The buckets for the parameters as they are now; rebuilt if ``.to()`` moved or cast them."""
        params = [p for p in self.module.parameters() if p.requires_grad]
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
        return f"world_size={self.world_size}, bucket_cap_mb={self.bucket_cap_mb}"


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

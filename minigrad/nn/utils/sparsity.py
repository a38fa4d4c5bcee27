"""What pruning buys, measured: how sparse each layer is, a smaller dense model without the dead
hidden units, and the size of sparse weights when stored as CSR or deflated. minigrad's own
helpers (PyTorch has none of them); they read pruned and unpruned modules alike.

A mask only zeroes weights: the matrices keep their shapes and a matrix product costs the same.
Pruning pays off in two ways, both here:

- structured: a hidden unit whose incoming weights are all zero (``ln_structured(..., dim=1)``
  on the layer before it) or whose outgoing weights are all zero contributes a constant or
  nothing; ``shrink`` removes such units, giving smaller dense matrices that are faster;
- unstructured: the zeros are scattered, so the matrices cannot shrink, but they can be stored
  as the non-zero values and their positions (CSR, ``to_csr``) or deflated (zlib), which
  ``storage_bytes`` measures.
"""
from __future__ import annotations

import zlib
from collections import OrderedDict

from ... import backend
from ...autograd import no_grad
from ...backend import get_array_module
from ...tensor import Tensor
from ..container import Sequential
from ..layers import Linear
from ..module import Module
from .init import skip_init

__all__ = ["effective_parameters", "sparsity", "sparsity_report", "remove_hidden_units", "shrink", "to_csr",
           "from_csr", "storage_bytes"]


def effective_parameters(module: Module) -> OrderedDict:
    """name -> the array a forward pass uses: for a pruned parameter ``weight_orig * weight_mask``
    under the name ``weight`` (computed now, not read from ``module.weight``, which the pruning
    hook refreshes only at the next call); other parameters as they are."""
    out = OrderedDict()
    for prefix, m in module.named_modules():
        for name, p in m._parameters.items():
            if p is None:
                continue
            base = name[:-len("_orig")] if name.endswith("_orig") else None
            if base is not None and m._buffers.get(base + "_mask") is not None:
                out[_join(prefix, base)] = p.data * m._buffers[base + "_mask"].data.astype(p.dtype)
            else:
                out[_join(prefix, name)] = p.data
    return out


def sparsity(module: Module, weights_only: bool = True) -> OrderedDict:
    """name -> (zeros, entries) for each parameter (only those of 2 or more dimensions, the
    weights, unless ``weights_only=False``), then ``'total'`` over them all."""
    rows = OrderedDict()
    for name, a in effective_parameters(module).items():
        if a.ndim >= 2 or not weights_only:
            rows[name] = (int(get_array_module(a).count_nonzero(a == 0)), int(a.size))
    rows["total"] = (sum(z for z, _ in rows.values()), sum(n for _, n in rows.values()))
    return rows


def sparsity_report(module: Module, weights_only: bool = True) -> str:
    """A table of ``sparsity``: per parameter its shape, the entries kept and the share pruned.

    >>> from minigrad import nn
    >>> from minigrad.nn.utils import prune
    >>> layer = prune.l1_unstructured(nn.Linear(4, 5), "weight", amount=0.75)
    >>> print(sparsity_report(layer))
    parameter  shape           kept / entries    zero
    weight     (4, 5)             5 / 20        75.0%
    total                         5 / 20        75.0%
    """
    shapes = {name: tuple(a.shape) for name, a in effective_parameters(module).items()}
    rows = sparsity(module, weights_only)
    width = max(len(name) for name in list(rows) + ["parameter"])
    lines = [f"{'parameter':<{width}}  {'shape':<11} {'kept':>8} / {'entries':<8} {'zero':>6}"]
    for name, (zeros, n) in rows.items():
        shape = str(shapes[name]) if name in shapes else ""
        lines.append(f"{name:<{width}}  {shape:<11} {n - zeros:>8} / {n:<8} {100 * zeros / max(n, 1):>5.1f}%")
    return "\n".join(lines)


@no_grad()
def remove_hidden_units(first: Linear, activation, second: Linear, keep=None) -> tuple[Linear, Linear]:
    """``first -> activation -> second`` as two smaller Linear layers holding only the hidden
    units ``keep`` (indices; by default every unit that can matter), pruning made permanent.

    A unit j whose incoming weights ``W1[:, j]`` are all zero outputs the constant
    ``c_j = activation(b1_j)``; dropping it, ``second``'s bias takes its contribution:

        b2' = b2 + sum over dropped constant units j of c_j * W2[j, :]

    so removing it is exact, as is removing a unit whose outgoing weights ``W2[j, :]`` are all
    zero. Dropping a unit that is neither changes the function (that is structured pruning's
    approximation, chosen by giving ``keep``). ``activation`` acts elementwise (``nn.ReLU()``).
    """
    for layer, which in ((first, "first"), (second, "second")):
        if not isinstance(layer, Linear):
            raise TypeError(f"remove_hidden_units: {which} must be an nn.Linear, got {type(layer).__name__}")
    if first.out_features != second.in_features:
        raise ValueError(f"remove_hidden_units: first has {first.out_features} outputs but second has "
                         f"{second.in_features} inputs; they must be consecutive layers")
    w1, b1 = _weight_and_bias(first)
    w2, b2 = _weight_and_bias(second)
    xp = get_array_module(w1)
    constant = ~xp.any(w1 != 0, axis=0)
    unused = ~xp.any(w2 != 0, axis=1)
    if keep is None:
        keep = xp.flatnonzero(~(constant | unused))
    else:
        keep = xp.unique(xp.asarray(keep, dtype=xp.int64))
        if keep.size and not 0 <= int(keep.min()) <= int(keep.max()) < first.out_features:
            raise IndexError(f"remove_hidden_units: keep holds indices outside 0..{first.out_features - 1}")
    if keep.size == 0:
        raise ValueError("remove_hidden_units: no hidden unit would be left (the network's output no longer "
                         "depends on its input); keep at least one")
    dropped = xp.ones(first.out_features, dtype=bool)
    dropped[keep] = False
    folded = dropped & constant
    if bool(folded.any()):
        c = activation(Tensor(xp.zeros(int(folded.sum()), dtype=w1.dtype) if b1 is None else b1[folded])).data
        if b2 is not None:
            b2 = b2 + c @ w2[folded]
        elif bool((c @ w2[folded] != 0).any()):
            raise ValueError("remove_hidden_units: the second layer has no bias to take the constant outputs "
                             "of the removed units; keep them, or give the second layer a bias")
    return (_linear(w1[:, keep], None if b1 is None else b1[keep], first),
            _linear(w2[keep], b2, second))


def shrink(model: Sequential) -> Sequential:
    """A new ``Sequential`` in which every ``Linear, activation, Linear`` run of ``model`` has
    lost its hidden units that cannot matter (see ``remove_hidden_units``): the same function,
    smaller dense matrices. Other modules are shared with ``model``, not copied."""
    if not isinstance(model, Sequential):
        raise TypeError(f"shrink: expected an nn.Sequential of layers, got {type(model).__name__}")
    layers = list(model)
    i = 0
    while i + 2 < len(layers):
        a, act, b = layers[i:i + 3]
        if isinstance(a, Linear) and isinstance(b, Linear) and not isinstance(act, Linear):
            layers[i], layers[i + 2] = remove_hidden_units(a, act, b)
            i += 2
        else:
            i += 1
    return Sequential(*layers)


def to_csr(t) -> dict:
    """A 2-D tensor (or array) as compressed sparse rows: ``values`` (its non-zeros, row by row),
    ``columns`` (their column indices, uint16 when the matrix has at most 65,536 columns, else
    int32) and ``row_starts`` (where each row's entries begin: length rows + 1), plus ``shape``.
    A dict of arrays that ``minigrad.save`` stores; ``from_csr`` rebuilds the matrix."""
    a = t.data if isinstance(t, Tensor) else t
    if a.ndim != 2:
        raise ValueError(f"to_csr: expected a matrix, got shape {tuple(a.shape)}; reshape it to 2-D first")
    xp = get_array_module(a)
    rows, cols = xp.nonzero(a)
    index = backend.numpy.uint16 if a.shape[1] <= 2 ** 16 else backend.numpy.int32
    counts = xp.bincount(rows, minlength=a.shape[0])
    return {"values": a[rows, cols], "columns": cols.astype(index),
            "row_starts": xp.concatenate([xp.zeros(1, dtype=backend.numpy.int32),
                                          xp.cumsum(counts).astype(backend.numpy.int32)]),
            "shape": [int(a.shape[0]), int(a.shape[1])]}


def from_csr(csr: dict) -> Tensor:
    """The dense matrix that ``to_csr`` encoded."""
    values, columns, starts = (csr[k].data if isinstance(csr[k], Tensor) else csr[k]
                               for k in ("values", "columns", "row_starts"))
    xp = get_array_module(values)
    shape = tuple(int(n) for n in csr["shape"])
    dense = xp.zeros(shape, dtype=values.dtype)
    rows = xp.repeat(xp.arange(shape[0]), xp.diff(starts.astype(backend.numpy.int64)))
    dense[rows, columns.astype(backend.numpy.int64)] = values
    return Tensor(dense)


def storage_bytes(module: Module) -> dict:
    """Bytes needed to store the effective parameters three ways:

        dense      every entry (what ``minigrad.save`` of the state dict holds, without headers)
        csr        each matrix as ``to_csr`` (non-zeros + one column index each + row starts),
                   vectors dense
        deflated   every entry, zlib-compressed (level 6, as ``numpy.savez_compressed``):
                   long runs of zeros compress well
    """
    sizes = {"dense": 0, "csr": 0, "deflated": 0}
    for a in effective_parameters(module).values():
        host = backend.to_device(a, backend.CPU)
        sizes["dense"] += host.nbytes
        sizes["deflated"] += len(zlib.compress(host.tobytes(), 6))
        if host.ndim == 2:
            csr = to_csr(host)
            sizes["csr"] += sum(csr[k].nbytes for k in ("values", "columns", "row_starts"))
        else:
            sizes["csr"] += host.nbytes
    return sizes


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _weight_and_bias(layer):
    params = effective_parameters(layer)
    return params["weight"], params.get("bias")


def _linear(w, b, like: Linear) -> Linear:
    layer = skip_init(Linear, w.shape[0], w.shape[1], bias=b is not None, dtype=w.dtype, device=like.weight.device)
    layer.weight.data = w.copy()
    if b is not None:
        layer.bias.data = b.copy()
    return layer

"""The ``reduction`` argument of the losses, checked in one place (PyTorch's ``torch.nn._reduction``).

``nn.functional`` and the loss modules both call ``resolve``: a module checks at construction,
so a typo fails where it is written rather than at the first batch.
"""
from __future__ import annotations

import warnings

REDUCTIONS = ("mean", "sum", "none")


def check(name: str, reduction: str, allowed: tuple = REDUCTIONS) -> str:
    """``reduction`` if it is one of ``allowed``; a ValueError naming the loss otherwise."""
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def legacy(size_average: bool | None, reduce: bool | None) -> str:
    """PyTorch's rule for the deprecated ``size_average`` and ``reduce`` arguments, with its warning:
    reduce=False gives 'none', else size_average=False gives 'sum', else 'mean'."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{result}' instead.",
                  UserWarning, stacklevel=3)
    return result


def resolve(name: str, size_average, reduce, reduction: str, allowed: tuple = REDUCTIONS) -> str:
    """The reduction to use: from the legacy arguments if either is given (as PyTorch), else ``reduction``."""
    if size_average is not None or reduce is not None:
        return legacy(size_average, reduce)
    return check(name, reduction, allowed)

"""``skip_init``: build a module without spending random numbers on weights about to be replaced."""
from __future__ import annotations

from ... import factories


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameters are about to be overwritten, as
    ``torch.nn.utils.skip_init``: their initial values are unspecified (here: what the
    constructor drew), and the draws are undone, so building it leaves minigrad's random
    sequence where it was (a seeded run draws the same numbers afterwards as without it).

    >>> import minigrad
    >>> from minigrad import nn
    >>> minigrad.manual_seed(0); a = minigrad.rand(1)
    >>> minigrad.manual_seed(0); layer = skip_init(nn.Linear, 300, 100); b = minigrad.rand(1)
    >>> bool(a == b)
    True
    """
    generator = factories.default_generator()
    state = generator.bit_generator.state
    try:
        return module_cls(*args, **kwargs)
    finally:
        generator.bit_generator.state = state

"""Helpers that act on a model's parameters and their gradients, as ``torch.nn.utils``.

    clip_grad.py            ``clip_grad_norm_``, ``clip_grad_value_``
    convert_parameters.py   ``parameters_to_vector``, ``vector_to_parameters``
    init.py                 ``skip_init``: a module built without drawing its initial weights
    prune.py                ``nn.utils.prune``: masks that zero parts of a parameter while it trains
    sparsity.py             minigrad's own: sparsity per layer, removing dead hidden units, CSR storage
"""
from . import prune, sparsity
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .init import skip_init

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "skip_init"]

"""A model's parameters as one flat vector and back, as ``torch.nn.utils``."""
from __future__ import annotations

from ...backend import device_of, get_array_module
from ...tensor import Tensor


def parameters_to_vector(parameters) -> Tensor:
    """One vector holding every parameter, flattened (row-major) and concatenated in order:

        vec = [p_1.reshape(-1), p_2.reshape(-1), ...]      shape (sum of p_i.numel(),)

    The parameters must share a device. Unlike PyTorch's, the result is a copy that is not
    recorded for backward (minigrad has no differentiable concatenation yet); use it for
    reading, saving or comparing weights.
    """
    arrays = [p.data for p in _same_device(parameters)]
    if not arrays:
        raise ValueError("parameters_to_vector: got no parameters; pass model.parameters()")
    xp = get_array_module(arrays[0])
    return Tensor(xp.concatenate([a.reshape(-1) for a in arrays]))


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Give each parameter, in order, the next ``p.numel()`` values of ``vec`` (the inverse of
    ``parameters_to_vector``):

        p_i = vec[o_i : o_i + p_i.numel()].reshape(p_i.shape),   o_i = sum of the earlier numel()

    As in PyTorch, each parameter's data becomes a view into ``vec``'s (no copy), so writing
    to ``vec`` later changes the parameters.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, but got: {type(vec).__name__}; "
                        "pass the vector as a minigrad Tensor")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {vec.shape}; pass vec.reshape(-1)")
    params = _same_device(parameters)
    needed = sum(p.numel() for p in params)
    if needed > vec.numel():
        raise ValueError(f"vector_to_parameters: the parameters hold {needed} values but vec only "
                         f"{vec.numel()}; was vec made from another model?")
    offset = 0
    for p in params:
        n = p.numel()
        p.data = vec.data[offset:offset + n].reshape(p.shape)
        offset += n


def _same_device(parameters) -> list:
    params = list(parameters)
    devices = {device_of(p.data) for p in params}
    if len(devices) > 1:
        raise TypeError(f"Found two parameters on different devices ({', '.join(sorted(map(str, devices)))}), "
                        "this is currently not supported; move the model to one device first")
    return params

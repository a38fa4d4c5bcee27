"""``FakeQuantize``: an observer plus fake quantisation, the building block of quantisation-aware
training (``torch.ao.quantization.FakeQuantize``).

In training, each call records the batch in the observer, recomputes S and Z from it, and
returns the input rounded to that grid (``ops.quantize.FakeQuantize``, whose backward is the
straight-through estimator). ``disable_observer`` freezes S and Z (PyTorch's recipe does it
for the last epochs), ``disable_fake_quant`` makes the module the identity.
"""
from __future__ import annotations

import functools

from .. import backend
from ..nn.module import Module
from ..ops.quantize import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from ..tensor import Tensor
from .observer import MovingAverageMinMaxObserver, PerChannelMinMaxObserver, per_channel_affine, \
    per_channel_symmetric, qint8

__all__ = ["FakeQuantize", "default_fake_quant", "default_weight_fake_quant", "enable_observer",
           "disable_observer", "enable_fake_quant", "disable_fake_quant"]


class FakeQuantize(Module):
    """``observer`` (a class or ``with_args`` constructor, called with ``**observer_kwargs``)
    watches the input; the output is the input fake-quantised with the observer's S and Z.

    Buffers: ``scale``, ``zero_point`` (the current grid), ``observer_enabled`` and
    ``fake_quant_enabled`` (1 or 0), as PyTorch's.
    """

    def __init__(self, observer=MovingAverageMinMaxObserver, **observer_kwargs):
        super().__init__()
        self.activation_post_process = observer(**observer_kwargs)
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.per_channel = obs.qscheme in (per_channel_affine, per_channel_symmetric)
        self.ch_axis = getattr(obs, "ch_axis", -1)
        self.register_buffer("scale", Tensor(backend.as_array([1.0], backend.numpy.float32)))
        self.register_buffer("zero_point", Tensor(backend.as_array([0], backend.numpy.int64)))
        self.register_buffer("observer_enabled", Tensor(backend.as_array([1], backend.numpy.uint8)))
        self.register_buffer("fake_quant_enabled", Tensor(backend.as_array([1], backend.numpy.uint8)))

    @classmethod
    def with_args(cls, **kwargs):
        """A constructor with these arguments filled in (PyTorch's ``FakeQuantize.with_args``)."""
        return functools.partial(cls, **kwargs)

    def calculate_qparams(self):
        """(scale, zero_point) from this module's observer."""
        return self.activation_post_process.calculate_qparams()

    def forward(self, x):
        if int(self.observer_enabled.data[0]):
            self.activation_post_process(x.detach())
            self.scale, self.zero_point = self.calculate_qparams()
        if not int(self.fake_quant_enabled.data[0]):
            return x
        if self.per_channel:
            return fake_quantize_per_channel_affine(x, self.scale, self.zero_point, self.ch_axis,
                                                    self.quant_min, self.quant_max)
        return fake_quantize_per_tensor_affine(x, float(self.scale.data[0]), int(self.zero_point.data[0]),
                                               self.quant_min, self.quant_max)

    def extra_repr(self):
        return f"fake_quant_enabled={int(self.fake_quant_enabled.data[0])}, " \
               f"observer_enabled={int(self.observer_enabled.data[0])}, quant_min={self.quant_min}, " \
               f"quant_max={self.quant_max}, ch_axis={self.ch_axis}"


# Activations: uint8 affine, moving-average min/max (PyTorch's default_fake_quant).
default_fake_quant = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver)
# Weights: int8 symmetric per output channel (axis 1 of minigrad's (in, out) Linear weight).
default_weight_fake_quant = FakeQuantize.with_args(observer=PerChannelMinMaxObserver, ch_axis=1, dtype=qint8,
                                                   qscheme=per_channel_symmetric)


def _switch(buffer: str, value: int):
    def switch(module):
        if isinstance(module, FakeQuantize):
            getattr(module, buffer).data[0] = value
    return switch


enable_observer = _switch("observer_enabled", 1)
enable_observer.__doc__ = "``model.apply(enable_observer)``: the FakeQuantize modules update S and Z again."
disable_observer = _switch("observer_enabled", 0)
disable_observer.__doc__ = "``model.apply(disable_observer)``: freeze every FakeQuantize's S and Z."
enable_fake_quant = _switch("fake_quant_enabled", 1)
enable_fake_quant.__doc__ = "``model.apply(enable_fake_quant)``: round again."
disable_fake_quant = _switch("fake_quant_enabled", 0)
disable_fake_quant.__doc__ = "``model.apply(disable_fake_quant)``: every FakeQuantize passes its input through."

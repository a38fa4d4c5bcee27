"""Whole-model quantisation: ``quantize_dynamic``, ``prepare`` / calibrate / ``convert``, and
``prepare_qat`` / train / ``convert``, with PyTorch's names (``torch.ao.quantization``, eager mode).

    qmodel = quantize_dynamic(model, {nn.Linear}, dtype=qint8)         # no data needed

    model.qconfig = default_qconfig                                    # static: calibrate first
    prepared = prepare(model)
    for x, _ in calibration_batches: prepared(x)
    qmodel = convert(prepared)

    model.qconfig = default_qat_qconfig                                # quantisation-aware training
    qat = prepare_qat(model)
    ... train qat as usual ...
    qmodel = convert(qat.eval())

Each returns a copy unless ``inplace=True``. ``nn.Linear`` and ``nn.Conv2d`` (groups of 1) are
quantised (``quantize_dynamic`` takes Linear only unless asked, as PyTorch's; quantisation-aware
training covers Linear layers); the other modules (activations, pooling, Flatten) run in float
between them.
"""
from __future__ import annotations

import copy
from collections import namedtuple

from ..nn.conv import Conv2d
from ..nn.layers import Linear
from .fake_quantize import FakeQuantize, default_fake_quant, default_weight_fake_quant
from .modules import DynamicQuantizedConv2d, DynamicQuantizedLinear, QATLinear, QuantizedConv2d, QuantizedLinear
from .observer import HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver, qint8, quint8

__all__ = ["QConfig", "default_qconfig", "histogram_qconfig", "default_qat_qconfig", "quantize_dynamic",
           "prepare", "convert", "prepare_qat", "propagate_qconfig_"]

DYNAMIC = {Linear: DynamicQuantizedLinear, Conv2d: DynamicQuantizedConv2d}   # float layer -> quantised
STATIC = {Linear: QuantizedLinear, Conv2d: QuantizedConv2d}

QConfig = namedtuple("QConfig", ["activation", "weight"])
QConfig.__doc__ = """How to quantise a layer: ``activation`` and ``weight`` are constructors (an observer
class or ``Observer.with_args(...)``; ``FakeQuantize.with_args(...)`` for training), called once per
layer, as PyTorch's. A per-channel weight observer is pointed at each layer's output channels
(axis 1 of a Linear's (in, out) weight, axis 0 of a convolution's)."""

# Activations: uint8, the range seen in calibration; weights: int8 symmetric per output channel.
default_qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=quint8),
                          weight=PerChannelMinMaxObserver.with_args(ch_axis=1))
# Activations: the range minimising the quantisation error (PyTorch's x86 default observes with a histogram too).
histogram_qconfig = QConfig(activation=HistogramObserver.with_args(dtype=quint8),
                            weight=PerChannelMinMaxObserver.with_args(ch_axis=1))
default_qat_qconfig = QConfig(activation=default_fake_quant, weight=default_weight_fake_quant)


def quantize_dynamic(model, qconfig_spec=None, dtype=qint8, mapping=None, inplace: bool = False):
    """``model`` with its Linear layers replaced by ``DynamicQuantizedLinear``: int8 weights (one
    scale per output unit), each batch's input quantised with its own range, integer products.

    ``qconfig_spec``: which layers, as a set of types (``{nn.Linear}``, the default, or
    ``{nn.Linear, nn.Conv2d}``) and/or of qualified names (``{'0', 'classifier.1'}``); a dict is
    read for its keys. ``dtype`` must be ``qint8`` (PyTorch also offers float16). ``mapping``
    (float type -> quantised type) defaults to ``DYNAMIC``.
    """
    if dtype is not qint8 and dtype != qint8:
        raise ValueError(f"quantize_dynamic: dtype must be minigrad.quantization.qint8, got {dtype!r}; "
                         "minigrad quantises weights to int8 only")
    mapping = DYNAMIC if mapping is None else mapping
    spec = {Linear} if qconfig_spec is None else set(qconfig_spec)
    unsupported = [s for s in spec if isinstance(s, type) and s not in mapping]
    if unsupported:
        raise ValueError(f"quantize_dynamic: only {', '.join(t.__name__ for t in mapping)} layers can be quantised, "
                         f"got {unsupported}")
    if not inplace:
        model = copy.deepcopy(model)
    for parent, name, child, qualified in _children(model):
        if type(child) in mapping and (type(child) in spec or qualified in spec):
            model = _swap(model, parent, name, mapping[type(child)].from_float(child))
    return model


def propagate_qconfig_(model, qconfig=None) -> None:
    """Give every submodule the ``qconfig`` of its nearest ancestor that has one (its own wins;
    ``None`` switches quantisation off below it), as PyTorch's."""
    own = model.__dict__.get("qconfig", qconfig)
    model.qconfig = own
    for child in model.children():
        propagate_qconfig_(child, own)


def prepare(model, inplace: bool = False):
    """For calibration: each Linear and Conv2d with a ``qconfig`` gets ``input_observer`` (the
    qconfig's activation observer) fed by a forward pre-hook. Run representative batches through
    the result, then ``convert`` it."""
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    found = False
    for _, _, child, _ in _children(model):
        if type(child) in STATIC and child.qconfig is not None:
            child.input_observer = child.qconfig.activation()
            child.register_forward_pre_hook(_observe_input)
            found = True
    if not found:
        raise ValueError("prepare: no nn.Linear or nn.Conv2d layer has a qconfig; set model.qconfig = "
                         "minigrad.quantization.default_qconfig before preparing")
    return model


def prepare_qat(model, inplace: bool = False):
    """For quantisation-aware training: each Linear with a ``qconfig`` (a QAT one, such as
    ``default_qat_qconfig``) becomes a ``QATLinear`` sharing its Parameters, so an optimiser made
    for the float model could keep working. Train the result in train() mode, then ``convert``."""
    if not inplace:
        model = copy.deepcopy(model)
    propagate_qconfig_(model)
    for parent, name, child, _ in _children(model):
        if type(child) is Linear and child.qconfig is not None:
            if not isinstance(child.qconfig.activation(), FakeQuantize):
                raise ValueError("prepare_qat: the qconfig's activation must be a FakeQuantize constructor; "
                                 "use minigrad.quantization.default_qat_qconfig")
            model = _swap(model, parent, name, QATLinear.from_float(child, child.qconfig))
    return model


def convert(model, inplace: bool = False):
    """Replace each calibrated layer (from ``prepare``) by its quantised version
    (``QuantizedLinear``, ``QuantizedConv2d``) and each ``QATLinear`` (from ``prepare_qat``) by a
    ``QuantizedLinear``: int8 weights, the input grid fixed."""
    if not inplace:
        model = copy.deepcopy(model)
    converted = 0
    for parent, name, child, _ in _children(model):
        if isinstance(child, QATLinear):
            fq = child.input_fake_quant
            q = QuantizedLinear.from_observed(child, fq.activation_post_process, child.weight_fake_quant)
            q.input_scale.data[...] = fq.scale.data  # the grid training used (frozen or not)
            q.input_zero_point.data[...] = fq.zero_point.data
        elif type(child) in STATIC and "input_observer" in child._modules:
            q = STATIC[type(child)].from_observed(child, child.input_observer, child.qconfig.weight())
        else:
            continue
        model = _swap(model, parent, name, q)
        converted += 1
    if not converted:
        raise ValueError("convert: found no layer to convert; call prepare (and calibrate) or prepare_qat "
                         "(and train) first")
    return model


def _observe_input(module, args):
    module.input_observer(args[0])


def _swap(model, parent, name, new):
    """Put ``new`` where ``parent.name`` was; returns the (possibly new) root."""
    if parent is None:
        return new
    setattr(parent, name, new)
    return model


def _children(model):
    """(parent, name, child, qualified name) for ``model`` itself (parent None) and every module
    below it, listed before any is replaced (so a replacement is not visited)."""
    found = [(None, "", model, "")]
    for prefix, parent in model.named_modules():
        for name, child in parent._modules.items():
            if child is not None:
                found.append((parent, name, child, f"{prefix}.{name}" if prefix else name))
    return found

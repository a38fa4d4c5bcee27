"""8-bit quantisation: int8 weights, 8-bit activations, integer products, 4x smaller models.

The scheme (affine, as PyTorch's and the TFLite/gemmlowp papers'): a real number r is stored as
an integer q with a scale S and a zero point Z,

    r = S (q - Z)            q = clamp(round(r / S) + Z, qmin, qmax)

weights as int8 [-128, 127] with Z = 0 and one S per output unit, activations as uint8
[0, 255]. Three ways to get there, with PyTorch's names (``torch.ao.quantization``):

    quantize_dynamic(model)                      post-training, activation ranges per batch
    prepare(model) / calibrate / convert(...)     post-training static, ranges from observers
    prepare_qat(model) / train / convert(...)     quantisation-aware training (fake quantisation)

Files:
    observer.py        the qparams formulas, quantize/dequantize, MinMax, MovingAverageMinMax,
                       PerChannelMinMax and Histogram observers
    fake_quantize.py   FakeQuantize (observer + ops.quantize's straight-through estimator)
    modules.py         DynamicQuantizedLinear, QuantizedLinear, DynamicQuantizedConv2d,
                       QuantizedConv2d, QATLinear; integer_matmul,
                       which computes the integer products exactly with float BLAS
    workflow.py        QConfig, default qconfigs, quantize_dynamic, prepare, prepare_qat, convert

minigrad's Linear weight is (in, out), so its output channels are axis 1 (PyTorch's: 0); a
convolution's weight is (out, in, kh, kw) in both.
"""
from ..ops.quantize import fake_quantize_per_channel_affine, fake_quantize_per_tensor_affine
from .fake_quantize import (FakeQuantize, default_fake_quant, default_weight_fake_quant, disable_fake_quant,
                            disable_observer, enable_fake_quant, enable_observer)
from .modules import (DynamicQuantizedConv2d, DynamicQuantizedLinear, QATLinear, QuantizedConv2d, QuantizedLinear,
                      integer_matmul)
from .observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver, ObserverBase,
                       PerChannelMinMaxObserver, dequantize, per_channel_affine, per_channel_symmetric,
                       per_tensor_affine, per_tensor_symmetric, qint8, qparams_from_min_max, quant_range, quantize,
                       quint8)
from .workflow import (QConfig, convert, default_qat_qconfig, default_qconfig, histogram_qconfig, prepare,
                       prepare_qat, propagate_qconfig_, quantize_dynamic)

__all__ = ["qint8", "quint8", "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
           "per_channel_symmetric", "quant_range", "qparams_from_min_max", "quantize", "dequantize",
           "ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
           "HistogramObserver", "FakeQuantize", "default_fake_quant", "default_weight_fake_quant", "enable_observer",
           "disable_observer", "enable_fake_quant", "disable_fake_quant", "integer_matmul", "DynamicQuantizedLinear",
           "QuantizedLinear", "DynamicQuantizedConv2d", "QuantizedConv2d", "QATLinear", "QConfig", "default_qconfig",
           "histogram_qconfig", "default_qat_qconfig", "quantize_dynamic", "prepare", "prepare_qat", "convert",
           "propagate_qconfig_", "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]

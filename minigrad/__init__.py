"""minigrad: a small reverse-mode autodiff engine over NumPy (and CuPy) arrays.

Where things live:
    autograd.py         the engine: Function, backward, no_grad, sum_to
    tensor.py           Tensor (its methods only name ops)
    ops/*.py            every op's forward and backward, formula in the docstring
    nn/                 Module, Linear, activations, losses, nn.functional
    models/             LeNet5, ResNet for 28x28 images, attention from primitive ops (import minigrad.models)
    optim/              SGD, Adam, AdamW, RMSprop, lr_scheduler
    backend.py          NumPy or CuPy, chosen from where the data lives
"""
from . import autograd  # noqa: I001  (autograd first: it and tensor refer to each other)
from . import cuda, nn, optim
from .autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device
from .factories import (arange, bool_, default_generator, empty, eye, float16, float32, float64, from_numpy, full,
                        int32, int64, linspace, manual_seed, multinomial, ones, ones_like, rand, rand_like, randint,
                        randn, randn_like, tensor, uint8, zeros, zeros_like)
from .gradcheck import gradcheck
from .ops.activations import log_softmax, relu, sigmoid, softmax, tanh
from .ops.arithmetic import matmul, pow
from .ops.dtypes import result_type
from .ops.elementwise import abs, clamp, clip, exp, log, masked_fill, maximum, minimum, sqrt, tril, triu, where
from .ops.indexing import gather, one_hot
from .ops.join import cat, chunk, split, stack
from .ops.reductions import amax, amin, argmax, argmin, max, mean, min, std, sum, topk, var
from .ops.shape import flatten, permute, squeeze, unsqueeze
from .serialization import CheckpointError, load, save
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "tensor", "zeros", "ones", "full", "rand", "randn", "randint", "arange",
    "zeros_like", "ones_like", "rand_like", "randn_like", "manual_seed", "default_generator",
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "inference_mode",
    "device", "cuda", "nn", "optim", "save", "load",
    "CheckpointError",
    "gradcheck", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "exp", "log", "matmul",
    "empty", "eye", "linspace", "from_numpy", "multinomial", "pow", "abs", "sqrt", "clamp", "clip", "maximum",
    "minimum", "where", "masked_fill", "tril", "triu", "gather", "one_hot", "cat", "stack", "split", "chunk",
    "amax", "amin", "argmax", "argmin", "max", "min", "sum", "mean", "var", "std", "topk", "flatten", "permute",
    "squeeze", "unsqueeze",
    "result_type",
    "float16", "float32", "float64", "int32", "int64", "uint8", "bool_",
]

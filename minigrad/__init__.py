"""minigrad: a small reverse-mode autodiff engine over NumPy (and CuPy) arrays.

Where things live:
    autograd.py         the engine: Function, backward, no_grad, sum_to
    tensor.py           Tensor (its methods only name ops)
    ops/*.py            every op's forward and backward, formula in the docstring
    nn/                 Module, Linear, activations, losses, nn.functional
    optim.py            SGD, Adam
    backend.py          NumPy or CuPy, chosen from where the data lives
"""
from . import autograd  # noqa: I001  (autograd first: it and tensor refer to each other)
from . import cuda, nn, optim
from .autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device
from .factories import (arange, bool_, default_generator, float16, float32, float64, full, int32, int64,
                        manual_seed, ones, ones_like, rand, rand_like, randint, randn, randn_like, tensor,
                        uint8, zeros, zeros_like)
from .gradcheck import gradcheck
from .ops.activations import relu, sigmoid, softmax, tanh
from .ops.arithmetic import matmul
from .ops.elementwise import exp, log
from .serialization import load, save
from .tensor import Tensor

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "tensor", "zeros", "ones", "full", "rand", "randn", "randint", "arange",
    "zeros_like", "ones_like", "rand_like", "randn_like", "manual_seed", "default_generator",
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "inference_mode", "device", "cuda", "nn", "optim", "save", "load",
    "gradcheck", "relu", "sigmoid", "tanh", "softmax", "exp", "log", "matmul",
    "float16", "float32", "float64", "int32", "int64", "uint8", "bool_",
]

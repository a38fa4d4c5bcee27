"""Layers, losses and the ``Module`` base class, with PyTorch's names."""
from . import functional
from .embedding import Embedding
from .layer_norm import LayerNorm
from .layers import Flatten, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from . import utils  # clip_grad_norm_, parameters_to_vector, ... (a package: nn.utils.prune joins it)

__all__ = ["functional", "Module", "Parameter", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax",
           "Flatten", "Sequential", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss",
           "Embedding", "LayerNorm"]

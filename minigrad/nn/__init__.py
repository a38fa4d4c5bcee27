"""Layers, containers, activations, losses and the ``Module`` base class, with PyTorch's names."""
from . import functional, init
from .activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .embedding import Embedding
from .layer_norm import LayerNorm
from .container import ModuleDict, ModuleList, Sequential
from .distillation import DistillationLoss, distillation_loss
from .layers import Flatten, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
                   SmoothL1Loss)
from .module import Module, Parameter
from .conv import Conv1d, Conv2d
from .dropout import Dropout, Dropout2d
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

from . import utils  # clip_grad_norm_, parameters_to_vector, ... (a package: nn.utils.prune joins it)

__all__ = ["functional", "init", "Module", "Parameter",
           "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "Flatten",
           "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Softplus", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
           "HuberLoss", "KLDivLoss", "Embedding", "LayerNorm",
           "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d", "DistillationLoss", "distillation_loss"]

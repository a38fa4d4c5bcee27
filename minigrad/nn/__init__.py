"""Layers, losses and the ``Module`` base class, with PyTorch's names."""
from . import functional
from .layers import Flatten, Linear, ReLU, Sequential, Sigmoid, Softmax, Tanh
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Module, Parameter
from .conv import Conv1d, Conv2d
from .dropout import Dropout, Dropout2d
from .normalization import BatchNorm1d, BatchNorm2d
from .pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d

__all__ = ["functional", "Module", "Parameter", "Linear", "ReLU", "Sigmoid", "Tanh", "Softmax",
           "Flatten", "Sequential", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss",
           "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
           "BatchNorm1d", "BatchNorm2d", "Dropout", "Dropout2d"]

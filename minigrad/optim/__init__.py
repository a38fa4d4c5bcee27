"""Optimisers and learning-rate schedules, with PyTorch's names, options and update rules.

Where things live:
    optimizer.py     Optimizer: parameter groups, state, state_dict, add_param_group
    sgd.py           SGD (momentum, dampening, Nesterov, weight decay)
    adam.py          Adam, AdamW
    rmsprop.py       RMSprop
    lr_scheduler.py  StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LambdaLR,
                     OneCycleLR, LinearLR, SequentialLR
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]

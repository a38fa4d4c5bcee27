"""Checked exercises for the course notebooks.

Each notebook ends with exercises. An exercise is an answer cell the student fills in, whose
first line is ``# Exercise N.M``, followed by a cell that calls a ``check_...`` helper from
here on the answer. The helper runs the answer over many inputs drawn by hypothesis, compares
it with central differences or a reference (:mod:`minigrad.exercises.checking`), and returns a
:class:`~minigrad.exercises.checking.CheckResult` that says what is wrong, not only that
something is: the input that broke it, what was expected, what came, and a hint when a
classic mistake fits. Answers still at their placeholder report "not attempted".

>>> from minigrad.exercises import check_sigmoid_derivative
>>> import numpy as np
>>> bool(check_sigmoid_derivative(lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2))
True
"""
from .checking import CheckResult
from .derivatives import check_chain_rule, check_gradient_shapes, check_sigmoid_derivative  # notebook 1
from .engine import (check_accumulation, check_mul_backward, check_sigmoid_function,  # 2
                     check_topological_order)
from .linear import check_broadcast_add, check_linear_backward, check_linear_shapes  # 3
from .losses import check_bce_backward, check_cross_entropy_gradient, check_huber_backward  # 4
from .training import check_accuracy, check_predictions, check_train_step  # 5
from .properties import check_max_backward, check_property_test, check_take  # 6
from .devices import check_device_predictions, check_one_hot  # 7
from .capacity import check_count_trainable, check_mlp_parameters  # 8
from .convolution import check_conv_backward, check_conv_output_shape, check_max_pool_backward  # 9
from .attention import check_block_shapes, check_causal_attention, check_softmax_backward  # 10
from .compression import check_magnitude_mask, check_quantize, check_soft_target_loss  # 11
from .dynamics import check_adam_step, check_kaiming_std, check_momentum_step  # 12

__all__ = ["CheckResult", "check_sigmoid_derivative", "check_chain_rule", "check_gradient_shapes",
           "check_topological_order", "check_mul_backward", "check_accumulation", "check_sigmoid_function",
           "check_linear_backward", "check_broadcast_add", "check_linear_shapes",
           "check_bce_backward", "check_huber_backward", "check_cross_entropy_gradient",
           "check_train_step", "check_accuracy", "check_predictions",
           "check_max_backward", "check_property_test", "check_take",
           "check_one_hot", "check_device_predictions",
           "check_mlp_parameters", "check_count_trainable",
           "check_conv_output_shape", "check_max_pool_backward", "check_conv_backward",
           "check_softmax_backward", "check_causal_attention", "check_block_shapes",
           "check_magnitude_mask", "check_quantize", "check_soft_target_loss",
           "check_kaiming_std", "check_momentum_step", "check_adam_step"]

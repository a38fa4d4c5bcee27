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
from .derivatives import check_chain_rule, check_gradient_shapes, check_sigmoid_derivative

__all__ = ["CheckResult", "check_sigmoid_derivative", "check_chain_rule", "check_gradient_shapes"]

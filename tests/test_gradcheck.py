"""gradcheck itself: it must catch wrong backwards, including ones all-ones seeding would miss."""
import numpy as np
import pytest

import minigrad
from minigrad.gradcheck import GradcheckError


class SwappedRows(minigrad.Function):
    """A wrong backward that only gets the column sums right: y = 2x, but dx = 2 * G[::-1]."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad_output):
        return 2 * grad_output[::-1]


def test_catches_a_backward_that_all_ones_seeding_would_pass():
    x = minigrad.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    out = SwappedRows.apply(x)
    out.backward(minigrad.ones(3, 2, dtype=minigrad.float64))  # with all ones it looks right
    np.testing.assert_array_equal(x.grad.data, 2 * np.ones((3, 2)))
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3, 2\)\).*analytic.*numerical"):
        minigrad.gradcheck(SwappedRows.apply, [x])
    assert minigrad.gradcheck(SwappedRows.apply, [x], raise_exception=False) is False


def test_refuses_float32():
    x = minigrad.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        minigrad.gradcheck(lambda t: t * 2, [x])


def test_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        minigrad.gradcheck(lambda t: t * 2, [minigrad.randn(3, dtype=minigrad.float64)])


def test_passes_a_correct_op_and_handles_non_contiguous_input():
    x = minigrad.tensor(np.arange(6.0).reshape(2, 3).T, requires_grad=True)
    assert minigrad.gradcheck(lambda t: (t * t).sum(0), [x])

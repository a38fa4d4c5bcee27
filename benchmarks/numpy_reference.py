"""The floor: the article's training step written by hand in NumPy, no graph, no framework.

This is the code a student who knows the formulas writes, and the speed minigrad is measured
against. The model is 784-H-10 with a ReLU, softmax cross-entropy (log-sum-exp with the row max
subtracted, mean over the batch) and plain SGD updating the weights in place, all in float32.

    Z1 = X @ W1 + b1,   A1 = max(Z1, 0),   Z2 = A1 @ W2 + b2
    loss = mean_i( logsumexp(Z2_i) - Z2_i[y_i] )
    G2 = (softmax(Z2) - onehot(y)) / n            the 1/n of the mean lives here
    dW2 = A1.T @ G2,   db2 = G2.sum(0),   G1 = (G2 @ W2.T) * (Z1 > 0)
    dW1 = X.T @ G1,    db1 = G1.sum(0)
    W -= lr * dW  (for every weight and bias)

The weights are stored (in, out), as in minigrad, so no transposes are needed in the forward.
The weight gradients use ``np.dot`` rather than ``@``: with one example per batch ``X.T @ G`` is
an outer product, which NumPy's matmul runs several times slower than ``np.dot`` (see
docs/benchmarks.md); a student who measured would write it this way, and the floor should be
the fastest honest NumPy, not a slow one.
"""
from __future__ import annotations

import numpy as np


class NumpyMLP:
    """Weights W1 (784, H), b1 (H,), W2 (H, 10), b2 (10,) in float32; ``step`` trains one batch."""

    def __init__(self, w1, b1, w2, b2, lr: float):
        self.w1, self.b1, self.w2, self.b2 = (np.array(a, dtype=np.float32) for a in (w1, b1, w2, b2))
        self.lr = lr

    def step(self, x, y):
        """One SGD step on batch ``x`` (n, 784) float32, ``y`` (n,) int64; returns the loss (float)."""
        w1, b1, w2, b2 = self.w1, self.b1, self.w2, self.b2
        n = x.shape[0]
        rows = np.arange(n)

        # forward
        z1 = x @ w1
        z1 += b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2
        z2 += b2
        s = z2 - z2.max(axis=1, keepdims=True)
        e = np.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        loss = (np.log(sum_e[:, 0]) - s[rows, y]).mean()

        # backward
        g2 = e / sum_e
        g2[rows, y] -= 1
        g2 /= n
        dw2 = np.dot(a1.T, g2)
        db2 = g2.sum(axis=0)
        g1 = g2 @ w2.T
        g1 *= z1 > 0
        dw1 = np.dot(x.T, g1)
        db1 = g1.sum(axis=0)

        # SGD, in place
        lr = self.lr
        w1 -= lr * dw1
        b1 -= lr * db1
        w2 -= lr * dw2
        b2 -= lr * db2
        return float(loss)

"""The floor for convolutions: LeNet-5's training step, and one conv layer, by hand in NumPy.

This is what a student who knows the im2col formulas and has measured writes for this one
network, with no graph and nothing general:

- activations kept channel-first, (C, N, H, W), between layers: that is the layout the
  product ``W @ cols`` produces, so nothing is transposed between one layer and the next;
- ``cols`` with one column per output pixel, (C*k*k, N*Ho*Wo), copied from a strided view
  (``sliding_window_view``) whose innermost axis is the image row, which copies several times
  faster than the patch-per-row layout;
- 2x2 max pooling as the maximum of four strided slices, and its backward as a mask (a tie
  would send the gradient to every tied maximum, but after a ReLU the only ties are zeros,
  whose gradient the ReLU then discards);
- the weight gradients as products with the saved ``cols``.

    cols = patches of x, one column per output pixel   (C*k*k, N*Ho*Wo)
    Z = W @ cols + b                                     (O, N*Ho*Wo)
    dW = dZ @ cols.T,  db = dZ.sum(1),  dcols = W.T @ dZ,  dx = col2im(dcols)

Parameters use PyTorch's layouts for the convolutions, (out, in, k, k), and minigrad's for
the linear layers, (in, out), so the same arrays load into all three variants.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def im2col(x, k):
    """(C, N, H, W) -> cols (C*k*k, N*Ho*Wo), stride 1, no padding (pad before)."""
    c, n, h, w = x.shape
    win = sliding_window_view(x, (k, k), axis=(2, 3))  # (C, N, Ho, Wo, k, k), a view
    return win.transpose(0, 4, 5, 1, 2, 3).reshape(c * k * k, -1)  # the copy


def col2im(dcols, shape, k):
    """The adjoint of ``im2col``: add every patch's gradient back onto its pixels."""
    c, n, h, w = shape
    ho, wo = h - k + 1, w - k + 1
    d = dcols.reshape(c, k, k, n, ho, wo)
    dx = np.zeros(shape, dtype=dcols.dtype)
    for a in range(k):
        for e in range(k):
            dx[:, :, a:a + ho, e:e + wo] += d[:, a, e]
    return dx


def max_pool_2x2(x):
    """(C, N, H, W) -> (C, N, H/2, W/2): the maximum of the four cells of each window."""
    return np.maximum(np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2]),
                      np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))


def max_pool_2x2_backward(g, x, y):
    """The gradient ``g`` of each window's maximum ``y`` goes to the cells of ``x`` equal to it."""
    dx = np.empty_like(x)
    for a in (0, 1):
        for e in (0, 1):
            np.multiply(g, x[:, :, a::2, e::2] == y, out=dx[:, :, a::2, e::2])
    return dx


class NumpyLeNet:
    """LeNet-5 (conv 1->6 5x5 pad 2, ReLU, max 2; conv 6->16 5x5, ReLU, max 2; 400-120-84-10)
    trained by plain SGD on softmax cross-entropy, all float32."""

    def __init__(self, params: dict, lr: float):
        self.p = {k: np.array(v, dtype=np.float32) for k, v in params.items()}
        self.lr = lr

    def step(self, x, y):
        """One SGD step on ``x`` (n, 1, 28, 28) float32 and labels ``y`` (n,); returns the loss."""
        p = self.p
        n = x.shape[0]
        rows = np.arange(n)
        w1, w2 = p["conv1.weight"].reshape(6, 25), p["conv2.weight"].reshape(16, 150)

        # forward; images as (C, N, H, W)
        xpad = np.zeros((1, n, 32, 32), dtype=np.float32)
        xpad[0, :, 2:30, 2:30] = x[:, 0]
        cols1 = im2col(xpad, 5)                               # (25, n*784)
        z1 = w1 @ cols1
        z1 += p["conv1.bias"][:, None]
        a1 = np.maximum(z1, 0).reshape(6, n, 28, 28)
        p1 = max_pool_2x2(a1)                                 # (6, n, 14, 14)
        cols2 = im2col(p1, 5)                                 # (150, n*100)
        z2 = w2 @ cols2
        z2 += p["conv2.bias"][:, None]
        a2 = np.maximum(z2, 0).reshape(16, n, 10, 10)
        p2 = max_pool_2x2(a2)                                 # (16, n, 5, 5)
        f = p2.transpose(1, 0, 2, 3).reshape(n, 400)          # PyTorch's flatten order (C, H, W)
        z3 = f @ p["fc1.weight"]
        z3 += p["fc1.bias"]
        a3 = np.maximum(z3, 0)
        z4 = a3 @ p["fc2.weight"]
        z4 += p["fc2.bias"]
        a4 = np.maximum(z4, 0)
        z5 = a4 @ p["fc3.weight"]
        z5 += p["fc3.bias"]
        s = z5 - z5.max(axis=1, keepdims=True)
        e = np.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        loss = (np.log(sum_e[:, 0]) - s[rows, y]).mean()

        # backward
        g5 = e / sum_e
        g5[rows, y] -= 1
        g5 /= n
        grads = {"fc3.weight": np.dot(a4.T, g5), "fc3.bias": g5.sum(0)}
        g4 = (g5 @ p["fc3.weight"].T) * (z4 > 0)
        grads["fc2.weight"], grads["fc2.bias"] = np.dot(a3.T, g4), g4.sum(0)
        g3 = (g4 @ p["fc2.weight"].T) * (z3 > 0)
        grads["fc1.weight"], grads["fc1.bias"] = np.dot(f.T, g3), g3.sum(0)
        gp2 = (g3 @ p["fc1.weight"].T).reshape(n, 16, 5, 5).transpose(1, 0, 2, 3)
        gz2 = max_pool_2x2_backward(gp2, a2, p2).reshape(16, -1) * (z2 > 0)
        grads["conv2.weight"], grads["conv2.bias"] = (gz2 @ cols2.T).reshape(16, 6, 5, 5), gz2.sum(1)
        gp1 = col2im(w2.T @ gz2, (6, n, 14, 14), 5)
        gz1 = max_pool_2x2_backward(gp1, a1, p1).reshape(6, -1) * (z1 > 0)
        grads["conv1.weight"], grads["conv1.bias"] = (gz1 @ cols1.T).reshape(6, 1, 5, 5), gz1.sum(1)

        # SGD, in place
        for k, g in grads.items():
            p[k] -= self.lr * g
        return float(loss)


def conv_layer_step(x, w, b, g):
    """One conv layer's forward and backward (stride 1, padding k//2) on NCHW arrays, by hand:
    returns (y, dx, dw, db). The floor for the single-layer grid."""
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    pad = k // 2
    xpad = np.zeros((c, n, h + 2 * pad, wd + 2 * pad), dtype=x.dtype)
    xpad[:, :, pad:pad + h, pad:pad + wd] = x.transpose(1, 0, 2, 3)
    cols = im2col(xpad, k)
    wm = w.reshape(o, -1)
    z = wm @ cols
    z += b[:, None]
    y = z.reshape(o, n, h, wd).transpose(1, 0, 2, 3)
    gz = g.transpose(1, 0, 2, 3).reshape(o, -1)
    dw, db = (gz @ cols.T).reshape(w.shape), gz.sum(1)
    dx = col2im(wm.T @ gz, xpad.shape, k)[:, :, pad:pad + h, pad:pad + wd].transpose(1, 0, 2, 3)
    return y, dx, dw, db

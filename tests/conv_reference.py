"""Plain NumPy references for convolution, pooling and batch norm: loops over output positions,
written from the definitions, sharing no code with minigrad's im2col (so they can disagree)."""
import itertools

import numpy as np


def _pairs(v, dims):
    return (v,) * dims if isinstance(v, int) else tuple(v)


def conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, o, *p] = b[o] + sum over c in o's group and kernel offsets k of x[n, c, p*s + k*d] * w[o, c', k]."""
    dims = x.ndim - 2
    stride, dilation = _pairs(stride, dims), _pairs(dilation, dims)
    kernel = w.shape[2:]
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        pads = [(p, p) for p in _pairs(0 if padding == "valid" else padding, dims)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads)
    out = [(n - d * (k - 1) - 1) // s + 1 for n, k, s, d in zip(xp.shape[2:], kernel, stride, dilation)]
    o_total, cg = w.shape[0], w.shape[1]
    og = o_total // groups
    y = np.zeros((x.shape[0], o_total, *out))
    for pos in itertools.product(*(range(o) for o in out)):
        for o in range(o_total):
            g = o // og
            acc = np.zeros(x.shape[0])
            for k in itertools.product(*(range(n) for n in kernel)):
                idx = tuple(p * s + kk * d for p, s, kk, d in zip(pos, stride, k, dilation))
                acc += xp[(slice(None), slice(g * cg, (g + 1) * cg)) + idx] @ w[(o, slice(None)) + k]
            y[(slice(None), o) + pos] = acc + (0 if b is None else b[o])
    return y


def pool(x, kernel, stride=None, padding=0, dilation=1, reduce="max", ceil_mode=False, count_include_pad=True,
         divisor_override=None):
    """Max or mean over each window, PyTorch's output sizes and divisors, by loops."""
    dims = x.ndim - 2
    kernel = _pairs(kernel, dims)
    stride = kernel if stride is None else _pairs(stride, dims)
    padding, dilation = _pairs(padding, dims), _pairs(dilation, dims)
    out = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        o = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        out.append(o)
    y = np.zeros(x.shape[:2] + tuple(out))
    for pos in itertools.product(*(range(o) for o in out)):
        values, cells, in_padded = [], 0, 0
        for k in itertools.product(*(range(n) for n in kernel)):
            idx = [q * s - p + kk * d for q, s, p, kk, d in zip(pos, stride, padding, k, dilation)]
            if all(-p <= i < n + p for i, n, p in zip(idx, x.shape[2:], padding)):
                in_padded += 1
            if all(0 <= i < n for i, n in zip(idx, x.shape[2:])):
                values.append(x[(slice(None), slice(None)) + tuple(idx)])
                cells += 1
        stack = np.stack(values, axis=-1)
        if reduce == "max":
            y[(Ellipsis,) + pos] = stack.max(axis=-1)
        else:
            count = divisor_override or (in_padded if count_include_pad else cells)
            y[(Ellipsis,) + pos] = stack.sum(axis=-1) / count
    return y


def adaptive_avg_pool2d(x, out):
    oh, ow = (out, out) if isinstance(out, int) else out
    h, w = x.shape[2:]
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * h // oh, -(-(i + 1) * h // oh))
            cols = slice(j * w // ow, -(-(j + 1) * w // ow))
            y[:, :, i, j] = x[:, :, rows, cols].mean(axis=(2, 3))
    return y


def batch_norm(x, w=None, b=None, mean=None, var=None, eps=1e-5):
    """Batch statistics when ``mean``/``var`` are None, else the given ones."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y

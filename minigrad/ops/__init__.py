"""Every differentiable op: a ``Function`` with ``forward`` and ``backward`` on raw arrays.

arithmetic    add, sub, mul, div, neg, pow, matmul
elementwise   exp, log
activations   relu, sigmoid, tanh, softmax, log_softmax
reductions    sum, mean, max
shape         reshape, transpose, getitem
inplace       setitem, copy (copy_, fill_), CopySlices (an in-place op through a view)
linear        linear (the fused ``X @ W + b``)
losses        cross_entropy (fused softmax + NLL), binary_cross_entropy(_with_logits), mse_loss
"""

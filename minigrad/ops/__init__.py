"""Every differentiable op: a ``Function`` with ``forward`` and ``backward`` on raw arrays.

arithmetic    add, sub, mul, div, neg, pow, matmul
elementwise   exp, log
activations   relu, sigmoid, tanh, softmax, log_softmax
reductions    sum, mean, max
shape         reshape, transpose, getitem
linear        linear (the fused ``X @ W + b``)
losses        cross_entropy (fused softmax + NLL), binary_cross_entropy(_with_logits), mse_loss
conv          conv1d, conv2d (im2col and one matrix product; col2im in backward)
pooling       max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d
normalization batch_norm
dropout       dropout, dropout2d
"""

"""Every differentiable op: a ``Function`` with ``forward`` and ``backward`` on raw arrays.

arithmetic    add, sub, mul, div, neg, pow, matmul
elementwise   exp, log
activations   relu, sigmoid, tanh, softmax, log_softmax
reductions    sum, mean, max
shape         reshape, transpose, getitem
linear        linear (the fused ``X @ W + b``)
losses        cross_entropy (fused softmax + NLL), binary_cross_entropy(_with_logits), mse_loss
embedding     embedding (rows of a table picked by index)
layer_norm    layer_norm
attention     scaled_dot_product_attention (scores, masked softmax, dropout, weighted sum: one op)
"""

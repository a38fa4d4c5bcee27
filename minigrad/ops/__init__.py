"""Every differentiable op: a ``Function`` with ``forward`` and ``backward`` on raw arrays.

arithmetic    add, sub, mul, div, neg, pow, matmul
elementwise   exp, log
activations   relu, leaky_relu, elu, gelu (and erf), silu, softplus, sigmoid, tanh, softmax, log_softmax
reductions    sum, mean, max
shape         reshape, transpose, getitem
linear        linear (the fused ``X @ W + b``)
losses        cross_entropy (fused softmax + NLL, its options, probability targets), nll,
              binary_cross_entropy(_with_logits), mse, l1, smooth_l1 / huber, kl_div
"""

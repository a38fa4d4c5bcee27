"""Every differentiable op: a ``Function`` with ``forward`` and ``backward`` on raw arrays.

arithmetic    add, sub, mul, div, neg, pow, matmul
dtypes        cast, and PyTorch's type promotion (result_type, promote)
elementwise   exp, log, abs, sqrt, clamp, maximum, minimum, where, masked_fill, tril, triu
activations   relu, leaky_relu, elu, gelu (and erf), silu, softplus, sigmoid, tanh, softmax, log_softmax
reductions    sum, mean, amax, amin, var (and max, min, argmax, argmin, std, topk on them)
shape         reshape, transpose, expand, clone (and unsqueeze, squeeze, flatten, permute)
indexing      getitem (PyTorch's index order), gather, one_hot
join          cat, stack (and split, chunk)
inplace       setitem, copy (copy_, fill_), CopySlices (an in-place op through a view)
linear        linear (the fused ``X @ W + b``)
losses        cross_entropy (fused softmax + NLL, its options, probability targets), nll,
              binary_cross_entropy(_with_logits), mse, l1, smooth_l1 / huber, kl_div
embedding     embedding (rows of a table picked by index)
layer_norm    layer_norm
attention     scaled_dot_product_attention (scores, masked softmax, dropout, weighted sum: one op)
conv          conv1d, conv2d (im2col and one matrix product; col2im in backward)
pooling       max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d
normalization batch_norm
dropout       dropout, dropout2d
quantize      fake_quantize_per_tensor_affine, fake_quantize_per_channel_affine (the straight-through estimator)
"""

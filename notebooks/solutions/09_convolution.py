# Worked answers to the exercises of notebook 09. Each "# %% Exercise N.M" section is the
# answer cell of that exercise, filled in; tests/test_exercises.py runs the notebook's
# exercises with these in place and requires every check to pass.

# %% Exercise 9.1
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    """(N, out_channels, Ho, Wo): the shape of a 2-D convolution's output, as a tuple of ints."""
    N, C, H, W = input_shape
    span = dilation * (kernel_size - 1) + 1  # the pixels a dilated kernel covers

    def windows(n):
        # the first window starts at 0, the last where it still fits inside the padded input
        return (n + 2 * padding - span) // stride + 1

    return (N, out_channels, windows(H), windows(W))


# %% Exercise 9.2
class MaxPool2x2(Function):
    """y = the maximum of each 2x2 window, stride 2: x (N, C, H, W), H and W even; y (N, C, H/2, W/2).

    dx = G at each window's maximum, 0 at its three other cells.
    """

    @staticmethod
    def forward(ctx, x):
        N, C, H, W = x.shape
        windows = x.reshape(N, C, H // 2, 2, W // 2, 2)
        y = windows.max(axis=(3, 5))
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        x, y = ctx.saved_tensors
        N, C, H, W = x.shape
        windows = x.reshape(N, C, H // 2, 2, W // 2, 2)
        is_max = windows == y[:, :, :, None, :, None]          # True at each window's maximum
        dx = is_max * grad_output[:, :, :, None, :, None]       # G there, 0 at the other cells
        return dx.reshape(x.shape)


def max_pool_2x2(x):
    return MaxPool2x2.apply(x)


# %% Exercise 9.3
class Conv2dIm2col(Function):
    """Y = conv(X, K) + b, stride 1, no padding: X (N, C, H, W), K (O, C, k, k), b (O,), Y (N, O, Ho, Wo).

    With cols (C*k*k, N*Ho*Wo) and G viewed as (O, N*Ho*Wo): Y = K @ cols + b, so
    dK = G @ cols.T, db = G summed over the columns, dX = col2im(K.T @ G).
    """

    @staticmethod
    def forward(ctx, X, K, b):
        N, C, H, W = X.shape
        O, _, k, _ = K.shape
        Ho, Wo = H - k + 1, W - k + 1
        cols = sliding_window_view(X, (k, k), axis=(2, 3)).transpose(1, 4, 5, 0, 2, 3).reshape(C * k * k, -1)
        Y = K.reshape(O, -1) @ cols + b[:, None]                          # (O, N*Ho*Wo)
        ctx.save_for_backward(cols, K)
        ctx.x_shape = X.shape
        return Y.reshape(O, N, Ho, Wo).transpose(1, 0, 2, 3)

    @staticmethod
    def backward(ctx, grad_output):
        cols, K = ctx.saved_tensors
        N, C, H, W = ctx.x_shape
        O, _, k, _ = K.shape
        Ho, Wo = H - k + 1, W - k + 1
        G = grad_output.transpose(1, 0, 2, 3).reshape(O, -1)              # (O, N*Ho*Wo)
        dK = (G @ cols.T).reshape(K.shape)                                # (O, C*k*k), K's layout
        db = G.sum(axis=1)
        dcols = (K.reshape(O, -1).T @ G).reshape(C, k, k, N, Ho, Wo)
        dX = np.zeros((N, C, H, W))
        for a in range(k):
            for e in range(k):
                # += : a pixel under several patches collects all their gradients
                dX[:, :, a:a + Ho, e:e + Wo] += dcols[:, a, e].transpose(1, 0, 2, 3)
        return dX, dK, db


def conv2d_im2col(X, K, b):
    return Conv2dIm2col.apply(X, K, b)

# Wrong answers to the exercises of notebook 09, each a mistake a student makes. A section
# "# %% Exercise N.M | <text>" replaces that answer cell; tests/test_exercises.py requires the
# check to report it wrong with <text> in its message, so the checks say what is wrong.

# %% Exercise 9.1 | dilation d spreads the kernel
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    return (N, out_channels, (H + 2 * padding - kernel_size) // stride + 1,
            (W + 2 * padding - kernel_size) // stride + 1)


# %% Exercise 9.1 | padding p is added on both sides
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    span = dilation * (kernel_size - 1) + 1
    return (N, out_channels, (H + padding - span) // stride + 1, (W + padding - span) // stride + 1)


# %% Exercise 9.1 | use // (floor division), not /
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    span = dilation * (kernel_size - 1) + 1
    return (N, out_channels, (H + 2 * padding - span) / stride + 1, (W + 2 * padding - span) / stride + 1)


# %% Exercise 9.1 | floor, not ceil
import math


def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    span = dilation * (kernel_size - 1) + 1
    return (N, out_channels, math.ceil((H + 2 * padding - span) / stride) + 1,
            math.ceil((W + 2 * padding - span) / stride) + 1)


# %% Exercise 9.1 | one output channel per kernel
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    span = dilation * (kernel_size - 1) + 1
    return (N, C, (H + 2 * padding - span) // stride + 1, (W + 2 * padding - span) // stride + 1)


# %% Exercise 9.1 | a dilated kernel spans d(k-1) + 1 pixels, not d*k
def conv_output_shape(input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    N, C, H, W = input_shape
    return (N, out_channels, (H + 2 * padding - dilation * kernel_size) // stride + 1,
            (W + 2 * padding - dilation * kernel_size) // stride + 1)


# %% Exercise 9.2 | average pooling's backward
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
        return np.repeat(np.repeat(grad_output, 2, axis=2), 2, axis=3) / 4


def max_pool_2x2(x):
    return MaxPool2x2.apply(x)




# %% Exercise 9.2 | every cell of the window got G
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
        return np.repeat(np.repeat(grad_output, 2, axis=2), 2, axis=3)


def max_pool_2x2(x):
    return MaxPool2x2.apply(x)




# %% Exercise 9.2 | the mask of the maxima alone
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
        is_max = x.reshape(N, C, H // 2, 2, W // 2, 2) == y[:, :, :, None, :, None]
        return is_max.reshape(x.shape).astype(float)


def max_pool_2x2(x):
    return MaxPool2x2.apply(x)




# %% Exercise 9.2 | the gradient of x is wrong
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
        windows = x.reshape(N, C, 2, H // 2, 2, W // 2)  # the wrong axes: these are not the 2x2 windows
        is_max = windows == y[:, :, None, :, None, :]
        return (is_max * grad_output[:, :, None, :, None, :]).reshape(x.shape)


def max_pool_2x2(x):
    return MaxPool2x2.apply(x)




# %% Exercise 9.3 | col2im adds (+=)
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
        dK = (cols @ G.T).reshape(K.shape)
        db = G.sum(axis=1)
        dcols = (K.reshape(O, -1).T @ G).reshape(C, k, k, N, Ho, Wo)
        dX = np.zeros((N, C, H, W))
        for a in range(k):
            for e in range(k):
                dX[:, :, a:a + Ho, e:e + Wo] = dcols[:, a, e].transpose(1, 0, 2, 3)
        return dX, dK, db


def conv2d_im2col(X, K, b):
    return Conv2dIm2col.apply(X, K, b)

# %% Exercise 9.3 | col2im adds (+=)
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
        dK = (G @ cols.T).reshape(K.shape)
        db = G.sum(axis=1)
        dcols = (K.reshape(O, -1).T @ G).reshape(C, k, k, N, Ho, Wo)
        dX = np.zeros((N, C, H, W))
        for a in range(k):
            for e in range(k):
                dX[:, :, a:a + Ho, e:e + Wo] = dcols[:, a, e].transpose(1, 0, 2, 3)
        return dX, dK, db


def conv2d_im2col(X, K, b):
    return Conv2dIm2col.apply(X, K, b)

# %% Exercise 9.3 | does not undo the transpose
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
        dK = (cols @ G.T).reshape(K.shape)
        db = G.sum(axis=1)
        dcols = (K.reshape(O, -1).T @ G).reshape(C, k, k, N, Ho, Wo)
        dX = np.zeros((N, C, H, W))
        for a in range(k):
            for e in range(k):
                dX[:, :, a:a + Ho, e:e + Wo] += dcols[:, a, e].transpose(1, 0, 2, 3)
        return dX, dK, db


def conv2d_im2col(X, K, b):
    return Conv2dIm2col.apply(X, K, b)

# %% Exercise 9.3 | returned a gradient of shape (9,) for an input of shape (2,)
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
        dK = (G @ cols.T).reshape(K.shape)
        db = G.sum(axis=0)
        dcols = (K.reshape(O, -1).T @ G).reshape(C, k, k, N, Ho, Wo)
        dX = np.zeros((N, C, H, W))
        for a in range(k):
            for e in range(k):
                dX[:, :, a:a + Ho, e:e + Wo] += dcols[:, a, e].transpose(1, 0, 2, 3)
        return dX, dK, db


def conv2d_im2col(X, K, b):
    return Conv2dIm2col.apply(X, K, b)

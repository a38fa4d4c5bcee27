"""Loss functions, each fused into one op with a short, stable backward.

``reduction`` is 'mean' (the default), 'sum' or 'none', as in PyTorch. With 'mean' the 1/n
lives here, in the loss: every gradient flowing back into the network is already divided by n.
G_i below is the upstream gradient of example (or element) i: G / n for 'mean', G for 'sum',
the i-th upstream value for 'none'. Optional per-class or per-element weights (``weight``,
``pos_weight``) are constants: like PyTorch, no gradient flows into them.

The ops take arrays already checked by ``nn.functional``, which says in the user's terms what
is wrong with an input.
"""
from ..autograd import Function
from ..backend import get_array_module


def _reduce(losses, reduction, n=None):
    """'mean' divides the sum by ``n`` (the number of elements unless given), 'sum' sums, 'none' keeps."""
    if reduction == "mean":
        return losses.sum() / (losses.size if n is None else n)  # not .mean(): NumPy's wrapper is slower
    if reduction == "sum":
        return losses.sum()
    return losses


def _upstream(grad_output, reduction, n, shape):
    """The upstream gradient for each element: G/n for 'mean', G for 'sum', G_i for 'none'."""
    if reduction == "mean":
        return grad_output / n
    if reduction == "sum":
        return grad_output
    return grad_output.reshape(shape)


def _nonzero(total):
    """The divisor of a weighted mean for the backward: when every label is ignored the mean is
    0/0 = nan, as PyTorch's, but the gradient is 0 (every row's share is 0), not 0 * inf."""
    return None if total is None else get_array_module(total).where(total == 0, 1, total)


def _class_rows(x):
    """(N, C, d1, ..., dk) -> (N*d1*...*dk, C) with the class axis last, and (C,) -> (1, C):
    after this every row is one example (or one pixel of one example)."""
    if x.ndim == 1:
        return x.reshape(1, -1)
    if x.ndim == 2:
        return x
    return get_array_module(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _class_unrows(rows, shape):
    """The inverse of ``_class_rows``: back to ``shape``, the class axis second again."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    return get_array_module(rows).moveaxis(rows.reshape((shape[0],) + shape[2:] + (shape[1],)), -1, 1)


def _label_weights(y, weight, ignore_index, dtype):
    """(labels safe to index with, 1.0 where the label counts and 0.0 where it is ignored, and
    w_y, the weight of each row's label, 0 where ignored)."""
    xp = get_array_module(y)
    valid = y != ignore_index
    y_safe = xp.where(valid, y, 0)
    counts = valid.astype(dtype)
    return y_safe, counts, (counts if weight is None else weight[y_safe] * counts)


class SoftmaxCrossEntropy(Function):
    """Softmax followed by negative log-likelihood, fused (``nn.CrossEntropyLoss`` on the article's
    path: logits (n, C), integer labels, no weight, no ignored label, no smoothing).

    Shapes: logits Z (n, C), labels y (n,) integers in [0, C).
        loss_i = logsumexp(Z_i) - Z_i[y_i],  logsumexp(z) = m + log(sum(exp(z - m))), m = max(z)
        dZ = (softmax(Z) - onehot(y)) * G_i,  G_i = G / n for 'mean'
    Subtracting the row max m keeps exp from overflowing, so logits of +-1e4 give finite
    losses and gradients. The one-hot is never built: 1 is subtracted at the label positions.
    ``CrossEntropy`` below is the general form.
    """

    @staticmethod
    def forward(ctx, z, y, reduction):
        xp = get_array_module(z)
        rows = xp.arange(z.shape[0])
        s = z - z.max(axis=1, keepdims=True)
        e = xp.exp(s)
        sum_e = e.sum(axis=1, keepdims=True)
        losses = xp.log(sum_e[:, 0]) - s[rows, y]
        ctx.save_for_backward(e / sum_e, y)
        ctx.reduction, ctx.rows = reduction, rows
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        p, y = ctx.saved_tensors
        n = p.shape[0]
        g = _upstream(grad_output, ctx.reduction, n, (n, 1))
        dz = p * g  # softmax * G_i, then subtract G_i at the labels: (p - onehot) * G_i
        dz[ctx.rows, y] -= g if g.ndim < 2 else g[:, 0]
        return dz, None, None


def softmax_cross_entropy(z, y, reduction="mean"):
    """Cross-entropy of logits ``z`` (n, C) and integer labels ``y`` (n,), fused with the softmax; see
    ``SoftmaxCrossEntropy``."""
    return SoftmaxCrossEntropy.apply(z, y, reduction)


class CrossEntropy(Function):
    """Softmax cross-entropy in full (``nn.CrossEntropyLoss`` with ``weight``, ``ignore_index``,
    ``label_smoothing`` and extra axes), as PyTorch defines it.

    Shapes: logits Z (N, C, d1, ..., dk) or (C,); labels y (N, d1, ..., dk) or (), integers in
    [0, C) or ignore_index; class weights w (C,), all ones when not given. Each example (or
    position d1..dk of one) is a row i:
        log p_i = Z_i - logsumexp(Z_i)
        q_i = (1 - eps) onehot(y_i) + eps / C                    (the label-smoothed target)
        loss_i = -sum_c w_c q_ic log p_ic
               = -(1 - eps) w_{y_i} log p_{i,y_i} - (eps / C) sum_c w_c log p_ic,  0 if y_i is ignored
        'mean' = sum_i loss_i / sum_i w_{y_i}  over the rows not ignored (nan if there are none)
        dZ_i = G_i (p_i sum_c w_c q_ic - w * q_i),  G_i = G / sum_i w_{y_i} for 'mean', 0 if ignored
    w * q_i is (eps / C) w plus (1 - eps) w_{y_i} at the label: the one-hot is never built.
    """

    @staticmethod
    def forward(ctx, z, y, weight, ignore_index, label_smoothing, reduction):
        xp = get_array_module(z)
        zr = _class_rows(z)
        n_rows, n_classes = zr.shape
        y_safe, counts, w_y = _label_weights(y.reshape(-1), weight, ignore_index, z.dtype)
        rows = xp.arange(n_rows)
        s = zr - zr.max(axis=1, keepdims=True)
        log_p = s - xp.log(xp.exp(s).sum(axis=1, keepdims=True))
        losses = -log_p[rows, y_safe] * w_y
        if label_smoothing:
            w_log_p = log_p if weight is None else log_p * weight
            smooth = -w_log_p.sum(axis=1) * counts
            losses = (1 - label_smoothing) * losses + (label_smoothing / n_classes) * smooth
        total = w_y.sum() if reduction == "mean" else None
        ctx.save_for_backward(xp.exp(log_p), y_safe, counts, w_y, weight)
        ctx.eps, ctx.reduction, ctx.shape, ctx.rows = label_smoothing, reduction, z.shape, rows
        ctx.total = _nonzero(total)
        return losses.reshape(y.shape) if reduction == "none" else _reduce(losses, reduction, total)

    @staticmethod
    def backward(ctx, grad_output):
        p, y, counts, w_y, weight = ctx.saved_tensors
        eps, n_classes = ctx.eps, p.shape[1]
        g = _upstream(grad_output, ctx.reduction, ctx.total, (p.shape[0],))
        g_label = g * (1 - eps) * w_y  # G_i (1 - eps) w_{y_i}: 0 on ignored rows
        if eps:
            g_smooth = g * counts * (eps / n_classes)  # G_i eps / C, 0 on ignored rows
            w_sum = n_classes if weight is None else weight.sum()
            dz = p * (g_label + g_smooth * w_sum)[:, None]
            dz -= g_smooth[:, None] * (1 if weight is None else weight)
        else:
            dz = p * g_label[:, None]
        dz[ctx.rows, y] -= g_label
        return _class_unrows(dz, ctx.shape), None, None, None, None, None


def cross_entropy(z, y, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy of logits and integer labels with ``weight``, ``ignore_index`` and ``label_smoothing``
    (``F.cross_entropy``); see ``CrossEntropy``."""
    return CrossEntropy.apply(z, y, weight, ignore_index, label_smoothing, reduction)


class SoftTargetCrossEntropy(Function):
    """Softmax cross-entropy against class probabilities (``nn.CrossEntropyLoss`` when the target
    has the logits' shape), as PyTorch defines it.

    Shapes: logits Z and target T (N, C, d1, ..., dk) or (C,); class weights w (C,), all ones
    when not given. Each example (or position d1..dk) is a row i:
        q_i = (1 - eps) T_i + eps / C
        loss_i = -sum_c w_c q_ic log p_ic,   log p_i = Z_i - logsumexp(Z_i)
        'mean' = sum_i loss_i / (number of rows): weights do not enter the divisor here
        dZ_i = G_i (p_i sum_c w_c q_ic - w * q_i)
        dT_i = -G_i (1 - eps) w * log p_i
    """

    @staticmethod
    def forward(ctx, z, t, weight, label_smoothing, reduction):
        xp = get_array_module(z)
        zr, tr = _class_rows(z), _class_rows(t)
        n_classes = zr.shape[1]
        s = zr - zr.max(axis=1, keepdims=True)
        log_p = s - xp.log(xp.exp(s).sum(axis=1, keepdims=True))
        wq = tr * (1 - label_smoothing) + label_smoothing / n_classes if label_smoothing else tr
        if weight is not None:
            wq = wq * weight
        losses = -(log_p * wq).sum(axis=1)
        ctx.save_for_backward(log_p, wq, weight)
        ctx.eps, ctx.reduction, ctx.shape = label_smoothing, reduction, z.shape
        return losses.reshape(z.shape[:1] + z.shape[2:] if z.ndim > 1 else ()) if reduction == "none" \
            else _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        log_p, wq, weight = ctx.saved_tensors
        xp = get_array_module(log_p)
        g = _upstream(grad_output, ctx.reduction, log_p.shape[0], (log_p.shape[0], 1))
        dz = dt = None
        if ctx.needs_input_grad[0]:
            dz = _class_unrows(g * (xp.exp(log_p) * wq.sum(axis=1, keepdims=True) - wq), ctx.shape)
        if ctx.needs_input_grad[1]:
            w_log_p = log_p if weight is None else log_p * weight
            dt = _class_unrows(-(1 - ctx.eps) * g * w_log_p, ctx.shape)
        return dz, dt, None, None, None


def soft_target_cross_entropy(z, t, weight=None, label_smoothing=0.0, reduction="mean"):
    """Cross-entropy of logits against class probabilities ``t`` of the same shape (``F.cross_entropy``);
    see ``SoftTargetCrossEntropy``."""
    return SoftTargetCrossEntropy.apply(z, t, weight, label_smoothing, reduction)


class NLL(Function):
    """Negative log-likelihood of log-probabilities (``nn.NLLLoss``), as PyTorch defines it.

    Shapes: X (N, C, d1, ..., dk) or (C,) (log-probabilities, e.g. from log_softmax); labels y
    (N, d1, ..., dk) or (); class weights w (C,), all ones when not given. Per row i:
        loss_i = -w_{y_i} X_{i, y_i},  0 where y_i == ignore_index
        'mean' = sum_i loss_i / sum_i w_{y_i}  over the rows not ignored (nan if there are none)
        dX_{i,c} = -G_i w_{y_i} [c == y_i],  G_i = G / sum_i w_{y_i} for 'mean'
    """

    @staticmethod
    def forward(ctx, x, y, weight, ignore_index, reduction):
        xp = get_array_module(x)
        xr = _class_rows(x)
        y_safe, _, w_y = _label_weights(y.reshape(-1), weight, ignore_index, x.dtype)
        rows = xp.arange(xr.shape[0])
        losses = -xr[rows, y_safe] * w_y
        total = w_y.sum() if reduction == "mean" else None
        ctx.save_for_backward(y_safe, w_y)
        ctx.reduction, ctx.total, ctx.shape, ctx.rows = reduction, _nonzero(total), x.shape, rows
        ctx.dtype, ctx.n_classes = x.dtype, xr.shape[1]
        return losses.reshape(y.shape) if reduction == "none" else _reduce(losses, reduction, total)

    @staticmethod
    def backward(ctx, grad_output):
        y, w_y = ctx.saved_tensors
        xp = get_array_module(y)
        g = _upstream(grad_output, ctx.reduction, ctx.total, w_y.shape)
        dx = xp.zeros((w_y.shape[0], ctx.n_classes), dtype=ctx.dtype)
        dx[ctx.rows, y] = -g * w_y
        return _class_unrows(dx, ctx.shape), None, None, None, None


def nll(x, y, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``x`` at integer labels ``y`` (``F.nll_loss``); see
    ``NLL``."""
    return NLL.apply(x, y, weight, ignore_index, reduction)


class BinaryCrossEntropy(Function):
    """Binary cross-entropy on probabilities p in [0, 1] (``nn.BCELoss``), optional weights w.

        loss = -w * (y * log(p) + (1 - y) * log(1 - p)),  each log clamped at -100 as in PyTorch
        dp = w * (p - y) / max(p * (1 - p), 1e-12) * G_i,   dy = w * (log(1 - p) - log(p)) * G_i
    The clamp keeps p = 0 or 1 from giving an infinite loss; prefer BCEWithLogitsLoss, which
    never needs it.
    """

    @staticmethod
    def forward(ctx, p, y, weight, reduction):
        xp = get_array_module(p)
        log_p = xp.maximum(xp.log(p), -100)
        log_1mp = xp.maximum(xp.log1p(-p), -100)
        losses = -(y * log_p + (1 - y) * log_1mp)
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(p, y, log_p, log_1mp, weight)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        p, y, log_p, log_1mp, weight = ctx.saved_tensors
        xp = get_array_module(p)
        g = _upstream(grad_output, ctx.reduction, p.size, p.shape)
        if weight is not None:
            g = g * weight
        dp = (p - y) / xp.maximum(p * (1 - p), 1e-12) * g if ctx.needs_input_grad[0] else None
        dy = (log_1mp - log_p) * g if ctx.needs_input_grad[1] else None
        return dp, dy, None, None


def binary_cross_entropy(p, y, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``p`` and targets ``y`` (``F.binary_cross_entropy``); see
    ``BinaryCrossEntropy``."""
    return BinaryCrossEntropy.apply(p, y, weight, reduction)


class BCEWithLogits(Function):
    """Sigmoid followed by binary cross-entropy, fused and stable (``nn.BCEWithLogitsLoss``).

        loss = max(z, 0) - z * y + log1p(exp(-|z|))     (= -(y log s + (1-y) log(1-s)), s = sigmoid(z))
        dz = (s - y) * G_i,   dy = -z * G_i
    With ``pos_weight`` (a weight on the positive term, broadcast along the last axis) it is
    PyTorch's formula, with l = 1 + (pos_weight - 1) * y and log s = min(z, 0) - log1p(exp(-|z|)):
        loss = (1 - y) * z - l * log s
        dz = (l * s - pos_weight * y) * G_i,   dy = (log s - z - pos_weight * log s) * G_i
    and ``weight`` multiplies the loss and both gradients. exp only ever sees -|z| <= 0, so
    z = +-1e4 gives a finite loss and gradient.
    """

    @staticmethod
    def forward(ctx, z, y, weight, pos_weight, reduction):
        xp = get_array_module(z)
        e = xp.exp(-xp.abs(z))
        s = xp.where(z >= 0, 1, e) / (1 + e)
        if pos_weight is None:
            losses = xp.maximum(z, 0) - z * y + xp.log1p(e)
            log_s = None
        else:
            log_s = xp.minimum(z, 0) - xp.log1p(e)
            losses = (1 - y) * z - (1 + (pos_weight - 1) * y) * log_s
        if weight is not None:
            losses = losses * weight
        ctx.save_for_backward(z, y, s, log_s, weight, pos_weight)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        z, y, s, log_s, weight, pos_weight = ctx.saved_tensors
        g = _upstream(grad_output, ctx.reduction, z.size, z.shape)
        if weight is not None:
            g = g * weight
        dz = dy = None
        if pos_weight is None:
            if ctx.needs_input_grad[0]:
                dz = (s - y) * g
            if ctx.needs_input_grad[1]:
                dy = -z * g
        else:
            if ctx.needs_input_grad[0]:
                py = pos_weight * y
                dz = ((py + 1 - y) * s - py) * g
            if ctx.needs_input_grad[1]:
                dy = ((log_s - z) - pos_weight * log_s) * g
        return dz, dy, None, None, None


def binary_cross_entropy_with_logits(z, y, weight=None, pos_weight=None, reduction="mean"):
    """Sigmoid and binary cross-entropy of logits ``z``, fused and stable
    (``F.binary_cross_entropy_with_logits``); see ``BCEWithLogits``."""
    return BCEWithLogits.apply(z, y, weight, pos_weight, reduction)


class MSE(Function):
    """Mean squared error (``nn.MSELoss``).

        loss = (x - y) ** 2,   dx = 2 * (x - y) * G_i,   dy = -dx
    """

    @staticmethod
    def forward(ctx, x, y, reduction):
        d = x - y
        ctx.save_for_backward(d)
        ctx.reduction = reduction
        return _reduce(d * d, reduction)

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        dx = 2 * d * _upstream(grad_output, ctx.reduction, d.size, d.shape)
        return (dx if ctx.needs_input_grad[0] else None), (-dx if ctx.needs_input_grad[1] else None), None


def mse(x, y, reduction="mean"):
    """Mean squared error (x - y) ** 2, reduced by ``reduction`` (``F.mse_loss``); see ``MSE``."""
    return MSE.apply(x, y, reduction)


class L1(Function):
    """Mean absolute error (``nn.L1Loss``).

        loss = |x - y|,   dx = sign(x - y) * G_i,   dy = -dx
    At x = y the derivative is taken as 0 (sign(0) = 0), as PyTorch does.
    """

    @staticmethod
    def forward(ctx, x, y, reduction):
        xp = get_array_module(x)
        d = x - y
        ctx.save_for_backward(xp.sign(d))
        ctx.reduction = reduction
        return _reduce(xp.abs(d), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        (sign,) = ctx.saved_tensors
        dx = sign * _upstream(grad_output, ctx.reduction, sign.size, sign.shape)
        return (dx if ctx.needs_input_grad[0] else None), (-dx if ctx.needs_input_grad[1] else None), None


def l1(x, y, reduction="mean"):
    """Mean absolute error |x - y|, reduced by ``reduction`` (``F.l1_loss``); see ``L1``."""
    return L1.apply(x, y, reduction)


class SmoothL1(Function):
    """Smooth L1 loss (``nn.SmoothL1Loss(beta)``), and with scale = delta = beta the Huber loss
    (``nn.HuberLoss(delta)``, which is delta * SmoothL1Loss(beta=delta)).

        d = x - y
        loss = scale * (0.5 * d**2 / beta if |d| < beta else |d| - 0.5 * beta)
        dx = scale * clip(d / beta, -1, 1) * G_i,   dy = -dx
    Quadratic near 0 (a gradient that shrinks with the error), linear beyond beta (a gradient
    that stays bounded, so outliers do not dominate). Huber: 0.5 d**2 inside, delta (|d| - delta/2)
    outside, dx = clip(d, -delta, delta) * G_i. beta = 0 is the L1 loss (``L1``).
    """

    @staticmethod
    def forward(ctx, x, y, beta, scale, reduction):
        xp = get_array_module(x)
        d = x - y
        a = xp.abs(d)
        ctx.save_for_backward(d)
        ctx.beta, ctx.scale, ctx.reduction = beta, scale, reduction
        return _reduce(xp.where(a < beta, (0.5 * scale / beta) * (d * d), scale * (a - 0.5 * beta)), reduction)

    @staticmethod
    def backward(ctx, grad_output):
        (d,) = ctx.saved_tensors
        xp = get_array_module(d)
        slope = xp.clip(d * (ctx.scale / ctx.beta), -ctx.scale, ctx.scale)
        dx = slope * _upstream(grad_output, ctx.reduction, d.size, d.shape)
        return (dx if ctx.needs_input_grad[0] else None), (-dx if ctx.needs_input_grad[1] else None), None, None, None


def smooth_l1(x, y, beta=1.0, reduction="mean"):
    """Smooth L1 loss with threshold ``beta`` (``F.smooth_l1_loss``); see ``SmoothL1``."""
    return SmoothL1.apply(x, y, beta, 1.0, reduction)


def huber(x, y, delta=1.0, reduction="mean"):
    """Huber loss with threshold ``delta``, delta times smooth L1 with beta = delta (``F.huber_loss``); see
    ``SmoothL1``."""
    return SmoothL1.apply(x, y, delta, delta, reduction)


class KLDiv(Function):
    """Kullback-Leibler divergence (``nn.KLDivLoss``): input X = log q (log-probabilities), target
    T = p (probabilities), or T = log p with ``log_target``.

        loss = T * (log T - X)   (0 where T = 0)         log_target: loss = exp(T) * (T - X)
        dX = -T * G_i                                    dX = -exp(T) * G_i
        dT = (log T + 1 - X) * G_i                       dT = exp(T) * (T - X + 1) * G_i
    'batchmean' divides the sum by X.shape[0] (the true KL divergence per example); 'mean'
    divides by the number of elements, as PyTorch's 'mean' does.
    """

    @staticmethod
    def forward(ctx, x, t, reduction, log_target):
        xp = get_array_module(x)
        if log_target:
            p = xp.exp(t)
            losses = p * (t - x)
            log_t = t
        else:
            p = t
            log_t = xp.log(xp.where(t != 0, t, 1))  # log 1 = 0 where T = 0: T log T -> 0 there
            losses = t * log_t - t * x
        n = x.shape[0] if reduction == "batchmean" and x.ndim else x.size
        ctx.save_for_backward(x, p, log_t)
        ctx.reduction, ctx.n, ctx.log_target = ("mean" if reduction == "batchmean" else reduction), n, log_target
        return _reduce(losses, ctx.reduction, n)

    @staticmethod
    def backward(ctx, grad_output):
        x, p, log_t = ctx.saved_tensors
        g = _upstream(grad_output, ctx.reduction, ctx.n, x.shape)
        dx = -p * g if ctx.needs_input_grad[0] else None
        dt = None
        if ctx.needs_input_grad[1]:
            dt = (p * (log_t - x + 1) if ctx.log_target else log_t + 1 - x) * g
        return dx, dt, None, None


def kl_div(x, t, reduction="mean", log_target=False):
    """KL divergence of log-probabilities ``x`` from target ``t`` (log-probabilities if ``log_target``)
    (``F.kl_div``); see ``KLDiv``."""
    return KLDiv.apply(x, t, reduction, log_target)

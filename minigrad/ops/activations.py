"""Activations: ReLU, LeakyReLU, ELU, GELU, SiLU, Softplus, sigmoid, tanh, softmax, log-softmax.

Each elementwise op's backward is ``dx = G * f'(x)``, with f' written in whatever the forward
saved (x, or y where f' reads better in y). The derivations are in docs/ops/activations.md.
"""
from __future__ import annotations

import math
import warnings

from ..autograd import Function
from ..backend import get_array_module


def _implicit_dim(name, ndim):
    """PyTorch's deprecated choice when no dim is given: 0 for 0-, 1- and 3-D input, else 1."""
    dim = 0 if ndim in (0, 1, 3) else 1
    warnings.warn(f"{name}: implicit dimension choice is deprecated (as in PyTorch); "
                  f"pass dim={dim} explicitly", UserWarning, stacklevel=3)
    return dim


def _no_inplace(name):
    raise NotImplementedError(f"{name}: inplace=True is not supported; minigrad's activations return a "
                              f"new tensor, so pass inplace=False and use the result (x = {name}(x))")


# erf from W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for
# the error function", Math. Comp. 23 (1969) 631-638), with the coefficients of his SPECFUN
# routine CALERF (netlib). NumPy has no erf and CuPy's lives outside its NumPy namespace; this
# is written in calls both share. tests/test_activations.py checks it against math.erf.
_ERF_SMALL = ((3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
               3.20937758913846947e03, 1.85777706184603153e-1),
              (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
               2.84423683343917062e03))
_ERFC_MIDDLE = ((5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
                 2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
                 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8),
                (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                 3.43936767414372164e03, 1.23033935480374942e03))
# float32 needs far less: Eigen's single-precision erf (generic_fast_erf_float, also XLA's),
# erf(x) = x * P(x**2) / Q(x**2) on [-4, 4] (erf(4) rounds to 1 in float32), P of degree 6 and
# Q of degree 4, highest power first. Within 7e-8 of erf in exact arithmetic; evaluated in
# float32, within 4.2e-7 (7 ulps of values near 1) against Cody's 1.9e-7, in a quarter of the
# time (a GPT's four GELUs were 40% of its training step; docs/benchmarks.md).
_ERF_FLOAT32 = ((-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                 -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02),
                (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                 -1.42647390514189e-02))
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _cody_rational(t, coefficients):
    """Cody's P(t)/Q(t): numerator c[-1] t^m + c[0] t^(m-1) + ... + c[m-1], denominator monic
    t^m + d[0] t^(m-1) + ... + d[m-1] (his coefficient order), by Horner's rule in place."""
    c, d = coefficients
    m = len(d)
    num = t * c[-1]
    den = t.copy()
    for a, b in zip(c[:m - 1], d[:m - 1]):
        num += a
        num *= t
        den += b
        den *= t
    num += c[m - 1]
    den += d[m - 1]
    num /= den
    return num


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) * integral from 0 to x of exp(-t**2) dt, elementwise
    on a raw array (NumPy or CuPy), within a few ulps in float64.

        |x| <= 0.46875:   erf(x) = x * R1(x**2)
        |x| >  0.46875:   erf(x) = sign(x) * (1 - exp(-x**2) * R2(min(|x|, 6)))
    R1 and R2 are Cody's ratios of polynomials for erf and for erfc(x) exp(x**2). He fits R2 on
    (0.46875, 4]; on (4, 6] it is still within 3e-12 of erfc(x) exp(x**2), relatively, which
    moves erf by under 1e-22, and past 6, erfc(x) < 2e-17 vanishes against 1. Only erf is
    needed, not erfc: the rounding of x**2 inside exp, relative x**2 ulps, is scaled by
    erfc(|x|) < 0.52 and stays under 2e-16, so Cody's third interval and his split exponential
    (which keep erfc itself accurate) are left out. Both intervals are evaluated everywhere, on
    clipped arguments, and ``where`` picks one (boolean indexing would make a GPU wait).

    float32 input: x * P(x**2) / Q(x**2) on x clipped to [-4, 4], the
    single-precision rational of ``_ERF_FLOAT32``, within 5e-7.
    """
    xp = get_array_module(x)
    if x.dtype == xp.float32:
        return _erf_float32(xp, x)
    y = xp.abs(x)
    t = xp.minimum(y, 0.46875)
    t *= t
    small = _cody_rational(t, _ERF_SMALL)
    small *= x
    y_tail = xp.clip(y, 0.46875, 6.0)
    erfc = _cody_rational(y_tail, _ERFC_MIDDLE)
    erfc *= xp.exp(-(y_tail * y_tail))
    tail = 1 - erfc
    return xp.where(y <= 0.46875, small, xp.where(x < 0, -tail, tail))


def _erf_float32(xp, x):
    """x * P(x**2) / Q(x**2), x clipped to [-4, 4], by Horner's rule in place (``_ERF_FLOAT32``)."""
    x = xp.clip(x, -4.0, 4.0)
    x2 = x * x
    (p0, *ps), (q0, *qs) = _ERF_FLOAT32
    num, den = x2 * p0, x2 * q0
    for c in ps[:-1]:
        num += c
        num *= x2
    for c in qs[:-1]:
        den += c
        den *= x2
    num += ps[-1]
    den += qs[-1]
    num *= x
    num /= den
    return num


class ReLU(Function):
    """y = max(x, 0).   dx = G * (x > 0).

    At the kink x = 0 the derivative is taken as 0, as in PyTorch. ``y > 0`` is the same mask
    as ``x > 0``, so only the output is saved.
    """

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).maximum(x, 0)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (y > 0)


def relu(input, inplace: bool = False):
    """max(x, 0) elementwise (``torch.relu``); the gradient at 0 is 0. ``inplace=True`` is not supported."""
    if inplace:
        _no_inplace("relu")
    return ReLU.apply(input)


class LeakyReLU(Function):
    """y = x if x > 0 else negative_slope * x.   dx = G if x > 0 else negative_slope * G.

    At x = 0 the slope is taken as ``negative_slope``, as PyTorch does.
    """

    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return get_array_module(x).where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad_output):
        (positive,) = ctx.saved_tensors
        return get_array_module(grad_output).where(positive, grad_output, grad_output * ctx.negative_slope), None


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else ``negative_slope * x``, elementwise (``F.leaky_relu``). ``inplace=True`` is not
    supported."""
    if inplace:
        _no_inplace("leaky_relu")
    return LeakyReLU.apply(input, negative_slope)


class ELU(Function):
    """y = x if x > 0 else alpha * (exp(x) - 1).   dx = G if x > 0 else G * alpha * exp(x).

    exp(x) - 1 is computed as expm1(x), exact for x near 0. At x = 0 the slope is taken from
    the left, alpha, as PyTorch does (1 for the default alpha = 1, where ELU is smooth).
    """

    @staticmethod
    def forward(ctx, x, alpha):
        xp = get_array_module(x)
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return xp.where(x > 0, x, xp.expm1(xp.minimum(x, 0)) * alpha)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        xp = get_array_module(x)
        return xp.where(x > 0, grad_output, grad_output * (ctx.alpha * xp.exp(xp.minimum(x, 0)))), None


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x where x > 0, else ``alpha * (exp(x) - 1)``, elementwise (``F.elu``). ``inplace=True`` is not
    supported."""
    if inplace:
        _no_inplace("elu")
    return ELU.apply(input, alpha)


class GELU(Function):
    """Gaussian error linear unit: y = x * Phi(x), Phi the standard normal CDF.

    approximate='none':   Phi(x) = 0.5 * (1 + erf(x / sqrt(2)))
                          dx = G * (Phi(x) + x * phi(x)),  phi(x) = exp(-x**2 / 2) / sqrt(2 pi)
    approximate='tanh':   y = 0.5 * x * (1 + t),  t = tanh(k * (x + 0.044715 x**3)),  k = sqrt(2/pi)
                          dx = G * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * k * (1 + 3 * 0.044715 x**2))
    The same formulas, in the same order, as PyTorch's CPU kernels; erf is ``erf`` above.
    """

    @staticmethod
    def forward(ctx, x, approximate):
        xp = get_array_module(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * (x * x * x)))
            ctx.save_for_backward(x, t)
            return 0.5 * x * (1 + t)
        cdf = erf(x * _SQRT_HALF)
        cdf += 1  # in place: each temporary the size of x costs a pass over memory
        cdf *= 0.5
        ctx.save_for_backward(x, cdf)
        return x * cdf

    @staticmethod
    def backward(ctx, grad_output):
        x, saved = ctx.saved_tensors
        xp = get_array_module(x)
        if ctx.approximate == "tanh":
            t = saved
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * (x * x))
        else:  # slope = Phi(x) + x * phi(x), computed in place in one array
            slope = x * x
            slope *= -0.5
            xp.exp(slope, out=slope)
            slope *= _INV_SQRT_2PI
            slope *= x
            slope += saved
        slope *= grad_output
        return slope, None


def gelu(input, approximate: str = "none"):
    """x * Phi(x), Phi the standard normal CDF (``F.gelu``); ``approximate='tanh'`` uses the tanh
    approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(input, approximate)


class SiLU(Function):
    """y = x * sigmoid(x) (also called swish).   dx = G * s * (1 + x * (1 - s)),  s = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        s = _stable_sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * s * (1 + x * (1 - s))


def silu(input, inplace: bool = False):
    """x * sigmoid(x) elementwise (``F.silu``, also called swish). ``inplace=True`` is not supported."""
    if inplace:
        _no_inplace("silu")
    return SiLU.apply(input)


class Softplus(Function):
    """y = log(1 + exp(beta * x)) / beta, and y = x where beta * x > threshold.

        dx = G * sigmoid(beta * x) = G * z / (1 + z),  z = exp(beta * x);  dx = G beyond the threshold
    Past the threshold log(1 + exp(beta x)) / beta equals x to float precision, and exp would
    overflow; the exp is taken of min(beta x, threshold) so it never does.
    """

    @staticmethod
    def forward(ctx, x, beta, threshold):
        xp = get_array_module(x)
        bx = x * beta
        linear = bx > threshold
        z = xp.exp(xp.minimum(bx, threshold))
        ctx.save_for_backward(linear, z)
        return xp.where(linear, x, xp.log1p(z) / beta)

    @staticmethod
    def backward(ctx, grad_output):
        linear, z = ctx.saved_tensors
        xp = get_array_module(z)
        return xp.where(linear, grad_output, grad_output * z / (z + 1)), None, None


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + exp(beta * x)) / beta elementwise, and x where beta * x > ``threshold`` (``F.softplus``)."""
    return Softplus.apply(input, beta, threshold)


def _stable_sigmoid(x):
    """1 / (1 + exp(-x)) from e = exp(-|x|), which never overflows: 1/(1+e) for x >= 0, e/(1+e) below."""
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)).   dx = G * y * (1 - y).

    Computed from e = exp(-|x|), which never overflows: y = 1/(1+e) for x >= 0 and e/(1+e)
    for x < 0.
    """

    @staticmethod
    def forward(ctx, x):
        y = _stable_sigmoid(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y * (1 - y)


def sigmoid(input):
    """1 / (1 + exp(-x)) elementwise (``torch.sigmoid``), computed without overflow."""
    return Sigmoid.apply(input)


class Tanh(Function):
    """y = tanh(x).   dx = G * (1 - y**2)."""

    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (1 - y * y)


def tanh(input):
    """The hyperbolic tangent of each element (``torch.tanh``)."""
    return Tanh.apply(input)


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along ``axis``.

    dx = y * (G - sum(G * y, axis))   (the Jacobian diag(y) - y y^T applied to G).
    Subtracting the max changes nothing mathematically and keeps exp from overflowing.
    """

    @staticmethod
    def forward(ctx, x, axis):
        e = get_array_module(x).exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return y * (grad_output - (grad_output * y).sum(axis=ctx.axis, keepdims=True)), None


def softmax(input, dim: int | None = None):
    """exp(x) / sum(exp(x)) along ``dim``, stably (``F.softmax``); without ``dim``, PyTorch's deprecated
    implicit choice."""
    return Softmax.apply(input, _implicit_dim("softmax", input.ndim) if dim is None else dim)


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))) along ``axis`` (log-sum-exp, stable).

    dx = G - softmax(x) * sum(G, axis),  with softmax(x) = exp(y).
    """

    @staticmethod
    def forward(ctx, x, axis):
        xp = get_array_module(x)
        s = x - x.max(axis=axis, keepdims=True)
        y = s - xp.log(xp.exp(s).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        xp = get_array_module(y)
        return grad_output - xp.exp(y) * grad_output.sum(axis=ctx.axis, keepdims=True), None


def log_softmax(input, dim: int | None = None):
    """log(softmax(x)) along ``dim`` with log-sum-exp (``F.log_softmax``); without ``dim``, PyTorch's
    deprecated implicit choice."""
    return LogSoftmax.apply(input, _implicit_dim("log_softmax", input.ndim) if dim is None else dim)

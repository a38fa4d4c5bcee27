"""Checks for the exercises of notebook 11, making a big model small: pruning, int8, distillation."""
from __future__ import annotations

import numpy

from .checking import Wrong, call, check_backward, compare, exercise, first_failure, matches, show, to_numpy


def _as_array(value, what):
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        value = value.detach().data
    try:
        return numpy.asarray(value)
    except (TypeError, ValueError):
        raise Wrong(f"{what} is a {type(value).__name__}, not an array") from None


# -- 11.1 pruning ------------------------------------------------------------------------------

def _l1_mask(w, amount):
    """The mask ``nn.utils.prune.l1_unstructured`` puts on a weight ``w`` (float64 NumPy)."""
    from ..factories import tensor
    from ..nn import Module, Parameter
    from ..nn.utils import prune

    holder = Module()
    holder.weight = Parameter(tensor(w))
    prune.l1_unstructured(holder, "weight", amount=amount)
    return holder.weight_mask.data.astype(numpy.float64)


def _keep_all_but_smallest(score, k):
    mask = numpy.ones(score.size)
    mask[numpy.argsort(score.reshape(-1), kind="stable")[:k]] = 0
    return mask.reshape(score.shape)


def _weights():
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from ..testing import strategies as mst

    @st.composite
    def weights(draw):
        shape = draw(mst.shapes(1, 2, 1, 6))
        n = int(numpy.prod(shape))
        # distinct magnitudes (no ties for the ranking), random signs
        order = numpy.array(draw(st.permutations(range(1, n + 1))), dtype=numpy.float64)
        signs = draw(hnp.arrays(numpy.float64, (n,), elements=st.sampled_from([-1.0, 1.0])))
        amount = draw(st.floats(0.0, 1.0))
        if abs(amount * n % 1 - 0.5) < 1e-6:  # away from a half, where rounding conventions differ
            amount -= 0.1 / n
        return (order * signs / 10).reshape(shape), amount
    return weights()


@exercise("Exercise 11.1, the magnitude pruning mask")
def check_magnitude_mask(magnitude_mask):
    """Check ``magnitude_mask(w, amount)`` (a 0/1 array of w's shape, 0 for the round(amount * w.size)
    entries of smallest |w|) against the mask ``nn.utils.prune.l1_unstructured`` makes, on a
    fixed weight and on hypothesis-drawn ones whose magnitudes are all distinct (no ties)."""
    def attempt(example):
        w, amount = example
        n, where = w.size, f"w = {show(w)}, amount = {amount:.4g}"
        got = _as_array(call(f"magnitude_mask(w, {amount:.4g})", magnitude_mask, w.copy(), amount), "the mask")
        if got.shape != w.shape:
            raise Wrong(f"the mask has shape {got.shape}, expected w's {w.shape}, for {where}.")
        got = got.astype(numpy.float64)
        if not numpy.isin(got, (0.0, 1.0)).all():
            raise Wrong(f"the mask holds {show(got)} for {where}: a mask holds 1 (keep) and 0 (prune) only.")
        expected = _l1_mask(w, amount)
        if numpy.array_equal(got, expected):
            return
        k = int(round(amount * n))
        msg = f"the mask is wrong for {where}.\n  expected {show(expected)}\n  got      {show(got)}"
        pruned = int((got == 0).sum())
        count = f"It prunes {pruned} weight{'s' * (pruned != 1)}; amount = {amount:.4g} of the {n} weights is " \
                f"round({amount * n:.4g}) = {k}."
        if pruned == int(amount * n) != k:
            raise Wrong(msg + f"\n  {count}\n  Hint: int() truncates: PyTorch prunes round(amount * n).")
        if n > 1 and numpy.array_equal(got, 1 - expected):
            raise Wrong(msg + "\n  Hint: the mask is inverted: 1 keeps a weight, 0 prunes it.")
        if numpy.array_equal(got, _keep_all_but_smallest(w, k)):
            raise Wrong(msg + "\n  Hint: you ranked w, not |w|: a large negative weight matters as much as a "
                              "large positive one; prune the smallest magnitudes, numpy.abs(w).")
        if pruned != k:
            raise Wrong(msg + f"\n  {count}")
        rank = numpy.argsort(numpy.argsort(numpy.abs(w).reshape(-1))).reshape(w.shape) + 1
        idx = tuple(int(i) for i in numpy.argwhere(got != expected)[0])
        fate = "kept" if got[idx] == 1 else "pruned"
        raise Wrong(msg + f"\n  w{list(idx)} = {w[idx]:.4g} is {fate}; it is number {rank[idx]} of {n} by |w| "
                          f"(1 = the smallest), and the {k} smallest |w| of the whole tensor go.")

    attempt((numpy.array([[0.1, -0.4, 0.05], [-0.7, 0.6, -0.3]]), 0.6))  # a first, readable example
    first_failure(_weights(), attempt, max_examples=50)
    return "magnitude pruning keeps the weights that move the output most; |w| ranks them, the amount counts them."


# -- 11.2 int8 ---------------------------------------------------------------------------------

def _quant_examples():
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    return st.tuples(mst.arrays(mst.shapes(1, 1, 1, 12), -6.0, 6.0), st.floats(-4.0, -0.1), st.floats(0.1, 4.0))


def _int8_wrap(q):
    return (q + 128) % 256 - 128


@exercise("Exercise 11.2, int8 quantisation and back")
def check_quantize(quantize, dequantize):
    """Check ``quantize(x, scale, zero_point)`` (int8 codes, clamped to [-128, 127]) and
    ``dequantize(q, scale, zero_point)`` (floats), with the scale and zero point that
    ``quantization.qparams_from_min_max`` gives for a drawn range (affine, int8): the codes
    against clamp(round(x / S) + Z), the values against S (q - Z), and the round trip within
    S/2 inside the range. On a fixed example with values beyond the range, then drawn ones."""
    from ..quantization import qparams_from_min_max

    def attempt(example):
        x, lo, hi = example
        s, z = qparams_from_min_max(numpy.float32(lo), numpy.float32(hi), -128, 127, symmetric=False)
        S, Z = float(s), int(z)
        where = f"x = {show(x)}, scale = {S:.6g}, zero_point = {Z} (the range [{lo:.4g}, {hi:.4g}])"
        t = x / S + Z
        exact = numpy.rint(t)
        expected = numpy.clip(exact, -128, 127)

        q = _as_array(call("quantize(x, scale, zero_point)", quantize, x.copy(), S, Z), "quantize's result")
        if q.shape != x.shape:
            raise Wrong(f"quantize(x, scale, zero_point) has shape {q.shape}, expected x's {x.shape}, for {where}.")
        if q.dtype.kind not in "iu":
            if q.dtype.kind != "f" or not numpy.all(q == numpy.rint(q)):
                raise Wrong(f"quantize gave {show(q)} for {where}: codes are integers; round to the nearest "
                            "(np.rint) and convert with .astype(np.int8).")
        if q.min() < -128 or q.max() > 127:
            i = int(numpy.argmax((q < -128) | (q > 127)))
            raise Wrong(f"quantize gave {q[i]} for x = {x[i]:.6g} ({where}): int8 codes lie in [-128, 127]; "
                        "clamp with np.clip(q, -128, 127) before converting.")
        qf = q.astype(numpy.float64)
        tie = numpy.abs(numpy.abs(t - numpy.floor(t)) - 0.5) < 1e-6  # either neighbour is right at a tie
        ok = (qf == expected) | (tie & (numpy.abs(qf - numpy.clip(t, -128, 127)) <= 0.5 + 1e-6))
        if not ok.all():
            i = int(numpy.argmin(ok))
            msg = (f"quantize is wrong at x = {x[i]:.6g}, for {where}.\n  x / S + Z = {t[i]:.4f}, so q = "
                   f"clamp(round({t[i]:.4f}), -128, 127) = {int(expected[i])}; got {q[i]}")
            for mistake, hint in [
                (_int8_wrap(exact), "astype(np.int8) wraps around (128 becomes -128): clamp to [-128, 127] first."),
                (numpy.clip(numpy.rint(x / S) - Z, -128, 127), "add the zero point: q = round(x / S) + Z."),
                (numpy.clip(numpy.rint(x / S), -128, 127), "the zero point Z is missing: q = round(x / S) + Z."),
                (numpy.clip(numpy.trunc(t), -128, 127), "astype truncates toward zero; round to the nearest first "
                                                        "(np.rint), so that the error stays within S/2."),
                (numpy.clip(numpy.trunc(x / S) + Z, -128, 127), "astype truncates toward zero; round to the nearest "
                                                                "first (np.rint), so that the error stays within S/2."),
                (numpy.clip(numpy.floor(t), -128, 127), "floor is not rounding: np.rint(x / S) goes to the nearest."),
                (numpy.clip(numpy.rint(x * S) + Z, -128, 127), "divide by the scale: x / S counts steps of size S."),
            ]:
                if numpy.array_equal(qf, mistake):
                    msg += f"\n  Hint: {hint}"
                    break
            raise Wrong(msg)

        codes = expected.astype(numpy.int8)
        r = to_numpy(call("dequantize(q, scale, zero_point)", dequantize, codes.copy(), S, Z), "dequantize's result")
        truth = S * (expected - Z)
        compare("dequantize(q, scale, zero_point)", r, truth, inputs=f"q = {show(codes)} (int8), scale = {S:.6g}, "
                f"zero_point = {Z}", rtol=1e-5, atol=1e-6 * S, hints=[
                    (lambda got, exp: numpy.allclose(got, S * _int8_wrap(expected - Z)),
                     "q - zero_point on int8 codes is computed in int8 and wraps around outside [-128, 127]: "
                     "convert q first, q.astype(np.float32) - zero_point."),
                    (lambda got, exp: numpy.allclose(got, S * expected - Z),
                     "subtract the zero point before scaling: S * (q - Z)."),
                    (lambda got, exp: numpy.allclose(got, (expected - Z) / S), "multiply by the scale: S * (q - Z)."),
                    (lambda got, exp: numpy.allclose(got, S * (expected + Z)), "subtract the zero point: S * (q - Z)."),
                ])

        back = to_numpy(dequantize(q.copy(), S, Z), "dequantize(quantize(x))")
        inside = (x >= S * (-128 - Z)) & (x <= S * (127 - Z))
        error = numpy.abs(back - x)
        if (inside & (error > S / 2 * (1 + 1e-4) + 1e-9)).any():
            i = int(numpy.argmax(inside & (error > S / 2 * (1 + 1e-4) + 1e-9)))
            raise Wrong(f"dequantize(quantize(x)) is {back[i]:.6g} for x = {x[i]:.6g} ({where}): an error of "
                        f"{error[i]:.3g}, more than S/2 = {S / 2:.3g}, inside the range.")

    attempt((numpy.array([-3.0, -1.0, -0.02, 0.0, 0.4, 1.7, 2.5, 5.0]), -2.0, 2.5))  # -3 and 5 lie beyond the range
    first_failure(_quant_examples(), attempt, max_examples=60)
    return "r = S (q - Z) with q = clamp(round(r / S) + Z): within S/2 inside the range, clamped outside it."


# -- 11.3 distillation -------------------------------------------------------------------------

def _logit_pairs():
    from hypothesis import strategies as st

    from ..testing import strategies as mst

    @st.composite
    def pairs(draw):
        n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
        T = draw(st.one_of(st.sampled_from([1.0, 2.0, 4.0, 8.0]), st.floats(0.5, 10.0)))
        return draw(mst.arrays((n, c), -5.0, 5.0)), draw(mst.arrays((n, c), -5.0, 5.0)), T
    return pairs()


def _log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - numpy.log(numpy.exp(z).sum(axis=1, keepdims=True))


@exercise("Exercise 11.3, the distillation loss's soft term")
def check_soft_target_loss(soft_target_loss):
    """Check ``soft_target_loss(student_logits, teacher_logits, T)`` (Tensors (n, C), a number T > 0)
    against ``nn.distillation_loss(s, t, None, T, alpha=1)``, T^2 KL(softmax(t/T) || softmax(s/T))
    averaged over the batch, and its gradient with respect to the student's logits against
    central differences, on a fixed example and on hypothesis-drawn logits and temperatures."""
    from ..factories import tensor
    from ..nn.distillation import distillation_loss
    from ..tensor import Tensor

    def attempt(example):
        s, t, T = example
        n, c = s.shape
        teacher = tensor(t)
        where = f"student logits {show(s)}, teacher logits {show(t)}, T = {T:.4g}"
        out = call("soft_target_loss(s, t, T)", soft_target_loss, tensor(s, requires_grad=True), teacher, T)
        if not isinstance(out, Tensor):
            raise Wrong(f"soft_target_loss returned a {type(out).__name__}: build the loss from minigrad Tensor "
                        "operations (F.log_softmax, F.softmax, *, .sum()), so that backward reaches the student's "
                        "logits.")
        if out.shape != ():
            raise Wrong(f"soft_target_loss has shape {out.shape} for {where}: the loss is one number, the sum over "
                        "the classes averaged over the n examples.")
        log_ps, log_pt, log_pt1 = _log_softmax(s / T), _log_softmax(t / T), _log_softmax(t)
        pt, ps = numpy.exp(log_pt), numpy.exp(log_ps)
        kl = (pt * (log_pt - log_ps)).sum() / n

        def near(value):
            return lambda got, exp: matches(got, value, rtol=1e-5, atol=1e-8)

        ratio_hints = [] if T == 1 else [
            (near(kl), "the T^2 factor is missing: the gradient of the soft term shrinks as 1/T^2 without it, "
                       "and T^2 keeps it the size of the labels' term whatever T."),
            (near(T * kl), "multiply by T^2, not T: the softened softmaxes bring a factor 1/T^2 to the gradient."),
        ]
        compare("soft_target_loss(s, t, T)", out, distillation_loss(tensor(s), teacher, None, T, 1.0), inputs=where,
                rtol=1e-6, atol=1e-9, hints=ratio_hints + [
                    (near(T * T * kl / c), "'batchmean': divide the sum by the batch size n only, not by n * C."),
                    (near(T * T * kl * n), "average over the batch: divide the sum by n."),
                    (near(T * T * (ps * (log_ps - log_pt)).sum() / n),
                     "that is KL(p_student || p_teacher): the teacher's probabilities weight the sum, "
                     "sum p_t (log p_t - log p_s)."),
                    (near(T * T * (numpy.exp(log_pt1) * (log_pt1 - log_ps)).sum() / n),
                     "soften the teacher too: both distributions are taken at temperature T, softmax(t / T)."),
                    (near(T * T * -(pt * log_ps).sum() / n),
                     "that is the cross-entropy H(p_t, p_s) = KL + H(p_t): the same gradient, but the loss is "
                     "larger by the teacher's entropy; subtract it (use p_t (log p_t - log p_s))."),
                ])
        check_backward("soft_target_loss", lambda z: soft_target_loss(z, teacher, T),
                       lambda z: distillation_loss(z, teacher, None, T, 1.0), [s], names=["the student's logits"])

    s = numpy.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    attempt((s, numpy.array([[2.0, 1.0, 0.0], [1.0, 0.0, 4.0]]), 4.0))  # a first, readable example
    first_failure(_logit_pairs(), attempt, max_examples=40)
    return "T^2 KL(p_t || p_s) at temperature T: its gradient T (p_s - p_t) / n keeps its size whatever T."

"""Adam and AdamW, with PyTorch's rules (its single-tensor path, step by step)."""
from __future__ import annotations

import math

from ..backend import get_array_module
from .optimizer import Optimizer, run_closure


class Adam(Optimizer):
    """Adam (Kingma & Ba), as ``torch.optim.Adam``. With t the step count, from 1:

        g = -grad if maximize else grad
        if weight_decay and decoupled_weight_decay:  p = p * (1 - lr * weight_decay)   (AdamW)
        elif weight_decay:                            g = g + weight_decay * p          (L2 penalty)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad:  v_max = maximum(v_max, v);  s = v_max   else  s = v
        p = p - lr / (1 - beta1**t) * m / (sqrt(s) / sqrt(1 - beta2**t) + eps)

    m and v start at 0; dividing by 1 - beta**t undoes their bias towards 0 in the first steps.
    State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v), and
    ``max_exp_avg_sq`` (v_max) with ``amsgrad``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False):
        name = type(self).__name__
        for key, v in (("lr", lr), ("eps", eps), ("weight_decay", weight_decay)):
            if v < 0:
                raise ValueError(f"{name}: {key} must be >= 0, got {v}")
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"{name}: betas must lie in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad, decoupled = group["weight_decay"], group["amsgrad"], group["decoupled_weight_decay"]
            for p, g, state in self.grads_and_states(group):
                xp = get_array_module(g)
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = xp.zeros_like(p.data)
                    state["exp_avg_sq"] = xp.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = xp.zeros_like(p.data)
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                if weight_decay and decoupled:
                    p.data *= 1 - lr * weight_decay
                elif weight_decay:
                    g = g + weight_decay * p.data
                # In place, one scratch array: the step is memory-bound, every temporary costs a pass.
                m *= beta1
                m += (1 - beta1) * g
                g2 = (1 - beta2) * g
                g2 *= g
                v *= beta2
                v += g2
                if amsgrad:
                    s = state["max_exp_avg_sq"]
                    xp.maximum(s, v, out=s)
                else:
                    s = v
                step_size = lr / (1 - beta1 ** t)
                update = xp.sqrt(s, out=g2)
                update /= math.sqrt(1 - beta2 ** t)
                update += eps                       # denom
                xp.divide(m, update, out=update)
                update *= step_size                 # PyTorch's addcdiv: step_size * (m / denom)
                p.data -= update
        return loss


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter), as ``torch.optim.AdamW``: Adam whose weight decay shrinks the
    weights directly instead of adding an L2 term to the gradient (so it is not rescaled by
    the adaptive denominator):

        p = p * (1 - lr * weight_decay)
        then the Adam step above with g = grad (or -grad if maximize).

    The default ``weight_decay`` is 1e-2 (Adam's is 0).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

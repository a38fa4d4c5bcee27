"""RMSprop, with PyTorch's rule for every option (its single-tensor path, step by step)."""
from __future__ import annotations

from ..backend import get_array_module
from .optimizer import Optimizer, run_closure


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop``:

        g = -grad if maximize else grad
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:  a = alpha * a + (1 - alpha) * g;   d = sqrt(v - a * a) + eps
        else:         d = sqrt(v) + eps
        if momentum:  b = momentum * b + g / d;   p = p - lr * b
        else:         p = p - lr * g / d

    v, a and b start at 0. ``centered`` divides by an estimate of the gradient's standard
    deviation rather than of its root mean square. eps is added outside the square root.
    State per parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b) when
    ``momentum`` is not 0, ``grad_avg`` (a) when ``centered``.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 *, maximize: bool = False):
        for name, v in (("lr", lr), ("alpha", alpha), ("eps", eps), ("weight_decay", weight_decay),
                        ("momentum", momentum)):
            if v < 0:
                raise ValueError(f"RMSprop: {name} must be >= 0, got {v}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            momentum, centered = group["momentum"], group["centered"]
            for p, g, state in self.grads_and_states(group):
                xp = get_array_module(g)
                if not state:
                    state["step"] = 0
                    state["square_avg"] = xp.zeros_like(p.data)
                    if momentum > 0:
                        state["momentum_buffer"] = xp.zeros_like(p.data)
                    if centered:
                        state["grad_avg"] = xp.zeros_like(p.data)
                state["step"] += 1
                if weight_decay:
                    g = g + weight_decay * p.data
                # In place, one scratch array: the step is memory-bound, every temporary costs a pass.
                v, d = state["square_avg"], (1 - alpha) * g
                d *= g
                v *= alpha
                v += d
                if centered:
                    a = state["grad_avg"]
                    a *= alpha
                    a += (1 - alpha) * g
                    xp.multiply(a, a, out=d)
                    xp.subtract(v, d, out=d)
                    xp.sqrt(d, out=d)
                else:
                    xp.sqrt(v, out=d)
                d += eps
                xp.divide(g, d, out=d)              # g / d
                if momentum > 0:
                    b = state["momentum_buffer"]
                    b *= momentum
                    b += d
                    d = xp.multiply(b, lr, out=d)
                else:
                    d *= lr                         # PyTorch's addcdiv: lr * (g / d)
                p.data -= d
        return loss

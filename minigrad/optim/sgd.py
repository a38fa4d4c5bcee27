"""Stochastic gradient descent, with PyTorch's rule for every option."""
from __future__ import annotations

from .optimizer import Optimizer, follow_device, run_closure


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD`` (its single-tensor path, step by step).

        g = -grad if maximize else grad
        g = g + weight_decay * p
        if momentum:   b = g                                  (first step)
                       b = momentum * b + (1 - dampening) * g (later steps)
                       g = g + momentum * b if nesterov else b
        p = p - lr * g

    State per parameter: ``momentum_buffer`` (b), when ``momentum`` is not 0.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False):
        for name, v in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if v < 0:
                raise ValueError(f"SGD: {name} must be >= 0, got {v}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def step(self, closure=None):
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad.data if maximize else p.grad.data
                if weight_decay:
                    g = g + weight_decay * p.data
                if momentum:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        follow_device(p, state)
                        buf = state["momentum_buffer"]
                        buf *= momentum
                        buf += (1 - dampening) * g if dampening else g  # g: no pass to multiply by 1
                    g = g + momentum * buf if nesterov else buf
                p.data -= lr * g
        return loss

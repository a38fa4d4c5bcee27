"""Checks for the exercises of notebook 12, training dynamics: an initialisation's scale and
the update rules of SGD with momentum and of Adam.

The optimiser checks run the student's step for three steps on hypothesis-drawn parameters and
gradients, next to ``minigrad.optim``'s own optimiser (which follows PyTorch's rule and is
tested against it), and compare the parameters and the optimiser's state after every step.
"""
from __future__ import annotations

import math

import numpy

from .checking import Wrong, call, compare, exercise, first_failure, matches, show, to_numpy

_STEPS = 3


def _close(got, value):
    """Hint test: ``got`` is ``value``, to the tight tolerance of a few float64 steps."""
    return matches(got, value, rtol=1e-6, atol=1e-12)


@exercise("Exercise 12.1, Kaiming's standard deviation")
def check_kaiming_std(kaiming_std):
    """Check ``kaiming_std(fan_in)``, the standard deviation of a ReLU layer's weights that keeps
    E[z^2] the same from layer to layer, sqrt(2 / fan_in), at hypothesis-drawn fan_in in [1, 4096]."""
    from hypothesis import strategies as st

    def attempt(fan_in):
        what = f"kaiming_std({fan_in})"
        got = call(what, kaiming_std, fan_in)
        compare(what, got, math.sqrt(2 / fan_in), rtol=1e-9, atol=0, hints=[
            (lambda got, exp: _close(got, 2 / fan_in),
             "that is the variance, 2 / fan_in; the standard deviation is its square root."),
            (lambda got, exp: _close(got, math.sqrt(1 / fan_in)),
             "1 / sqrt(fan_in) keeps the scale of a layer with no activation. ReLU sets half of its "
             "inputs to 0, which halves E[h^2]: the weights' variance must be twice as large."),
            (lambda got, exp: _close(got, math.sqrt(2) / fan_in),
             "the square root covers the whole of 2 / fan_in, not only the 2."),
        ])

    attempt(256)  # a first, readable example
    first_failure(st.integers(1, 4096), attempt)
    return ("sqrt(2 / fan_in): what nn.init.kaiming_normal_(w, nonlinearity='relu') draws with, and "
            "why the std of the notebook's 15-layer ReLU network stays flat.")


def _problems():
    """Hypothesis strategy: (p, [three gradients], lr) with p and the gradients of one shape."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    floats = st.floats(-10, 10, width=64, allow_subnormal=False)

    @st.composite
    def problem(draw):
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4))
        p = draw(hnp.arrays(numpy.float64, shape, elements=floats))
        grads = [draw(hnp.arrays(numpy.float64, shape, elements=floats)) for _ in range(_STEPS)]
        return p, grads, draw(st.sampled_from([0.01, 0.1, 0.5]))

    return problem()


def _reference_run(make_optimizer, p, grads, state_keys):
    """Run minigrad's optimiser on p with the given gradients; after each step, p and the
    optimiser's state arrays named by ``state_keys``."""
    from ..factories import tensor

    param = tensor(p.copy(), requires_grad=True)
    optimizer = make_optimizer([param])
    out = []
    for g in grads:
        optimizer.zero_grad()
        (param * tensor(g)).sum().backward()  # d/dp sum(p * g) = g: the gradient we want
        optimizer.step()
        state = optimizer.state[param]
        out.append([param.detach().numpy().copy()] + [numpy.array(state[k]) for k in state_keys])
    return out


def _unpack(what, result, names):
    """The student's returned tuple as float64 arrays, or Wrong naming what was expected."""
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise Wrong(f"{what} returned {type(result).__name__} {result!r:.80}; return a tuple "
                    f"({', '.join(names)}).")
    return [to_numpy(r, f"{what}'s {name}") for r, name in zip(result, names)]


def _story(p, grads, step, lr, extra=""):
    done = ", ".join(f"g{k + 1} = {show(g)}" for k, g in enumerate(grads[:step + 1]))
    return f"step {step + 1}, from p = {show(p)} with lr = {lr}{extra} and gradients {done}"


@exercise("Exercise 12.2, a step of SGD with momentum")
def check_momentum_step(momentum_step):
    """Check ``momentum_step(p, grad, buf, lr, momentum)`` -> (new p, new buf), PyTorch's SGD
    with momentum: buf = grad on the first step (buf None), else momentum * buf + grad; then
    p - lr * buf. Three steps on hypothesis-drawn arrays, against ``optim.SGD``."""
    from hypothesis import strategies as st

    from ..optim import SGD

    def attempt(example):
        (p0, grads, lr), momentum = example
        expected = _reference_run(lambda ps: SGD(ps, lr=lr, momentum=momentum), p0, grads, ["momentum_buffer"])
        p, buf = p0.copy(), None
        for step, g in enumerate(grads):
            what = f"momentum_step at step {step + 1}"
            result = call(what, momentum_step, p.copy(), g.copy(), None if buf is None else buf.copy(), lr, momentum)
            new_p, new_buf = _unpack(what, result, ["new p", "new buf"])
            want_p, want_buf = expected[step]
            previous = numpy.zeros_like(g) if buf is None else buf
            story = _story(p0, grads, step, lr, f", momentum = {momentum}")
            compare("the new buf", new_buf, want_buf, inputs=story, rtol=1e-9, atol=1e-12, hints=[
                (lambda got, exp: _close(got, momentum * previous + (1 - momentum) * g),
                 "PyTorch's velocity adds the whole gradient, buf = momentum * buf + grad, with no "
                 "(1 - momentum): that average form needs a learning rate 1 / (1 - momentum) times larger."),
                (lambda got, exp: _close(got, g), "the velocity must remember the last one: momentum * buf + grad."),
            ])
            compare("the new p", new_p, want_p, inputs=story, rtol=1e-9, atol=1e-12, hints=[
                (lambda got, exp: _close(got, p - lr * g),
                 "that is a plain SGD step: move p along the velocity buf, not the gradient."),
                (lambda got, exp: _close(got, p + lr * want_buf), "the sign is flipped: p goes down the slope."),
            ])
            p, buf = new_p, new_buf

    attempt(((numpy.array([1.0, -2.0]), [numpy.array([0.5, 1.0]), numpy.array([0.5, -1.0]),
                                          numpy.array([0.5, 1.0])], 0.1), 0.9))  # a first, readable example
    first_failure(st.tuples(_problems(), st.sampled_from([0.5, 0.9, 0.99])), attempt)
    return ("where successive gradients agree, the velocity grows towards grad / (1 - momentum); where "
            "they alternate, it cancels: the notebook's valley, in one line.")


@exercise("Exercise 12.3, a step of Adam")
def check_adam_step(adam_step):
    """Check ``adam_step(p, grad, m, v, t, lr)`` -> (new p, new m, new v), PyTorch's Adam with
    betas (0.9, 0.999) and eps 1e-8: m and v the running means of grad and grad**2 (zeros
    before step 1), each divided by (1 - beta**t), p - lr * m_hat / (sqrt(v_hat) + eps).
    Three steps on hypothesis-drawn arrays, against ``optim.Adam``."""
    from ..optim import Adam

    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def attempt(example):
        p0, grads, lr = example
        expected = _reference_run(lambda ps: Adam(ps, lr=lr), p0, grads, ["exp_avg", "exp_avg_sq"])
        p, m, v = p0.copy(), numpy.zeros_like(p0), numpy.zeros_like(p0)
        for step, g in enumerate(grads):
            t = step + 1
            what = f"adam_step at step {t}"
            result = call(what, adam_step, p.copy(), g.copy(), m.copy(), v.copy(), t, lr)
            new_p, new_m, new_v = _unpack(what, result, ["new p", "new m", "new v"])
            want_p, want_m, want_v = expected[step]
            story = _story(p0, grads, step, lr)
            compare("the new m", new_m, want_m, inputs=story, rtol=1e-9, atol=1e-12, hints=[
                (lambda got, exp: _close(got, beta1 * m + g),
                 "m is an average: m = beta1 * m + (1 - beta1) * grad."),
            ])
            compare("the new v", new_v, want_v, inputs=story, rtol=1e-9, atol=1e-12, hints=[
                (lambda got, exp: _close(got, beta2 * v + (1 - beta2) * g),
                 "v averages the squared gradient: (1 - beta2) * grad ** 2."),
                (lambda got, exp: _close(got, beta2 * v + g * g),
                 "v is an average: v = beta2 * v + (1 - beta2) * grad ** 2."),
            ])
            m_hat, v_hat = want_m / (1 - beta1 ** t), want_v / (1 - beta2 ** t)
            compare("the new p", new_p, want_p, inputs=story, rtol=1e-7, atol=1e-12, hints=[
                (lambda got, exp: _close(got, p - lr * want_m / (numpy.sqrt(want_v) + eps)),
                 "no bias correction: m and v start at 0 and stay too small for many steps (v for far "
                 "longer than m), which sizes the first steps wrongly; divide them by (1 - beta1 ** t) "
                 "and (1 - beta2 ** t)."),
                (lambda got, exp: _close(got, p - lr * m_hat / numpy.sqrt(v_hat + eps)),
                 "eps is added after the square root: sqrt(v_hat) + eps."),
                (lambda got, exp: _close(got, p + lr * m_hat / (numpy.sqrt(v_hat) + eps)),
                 "the sign is flipped: p goes down the slope."),
            ])
            p, m, v = new_p, new_m, new_v

    # A first, readable example; its 1e-4 makes v_hat as small as eps, where eps's place shows.
    attempt((numpy.array([1.0, -2.0, 0.0]), [numpy.array([0.5, -4.0, 1e-4]), numpy.array([0.5, 4.0, 1e-4]),
                                             numpy.array([0.5, 4.0, 1e-4])], 0.1))
    first_failure(_problems(), attempt)
    return ("at t = 1, m_hat = grad and v_hat = grad ** 2, so the first step is lr * grad / (|grad| + eps): "
            "lr along every coordinate, whatever the size of its gradient, as on the notebook's valley.")

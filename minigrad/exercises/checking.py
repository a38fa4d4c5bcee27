"""The machinery behind every ``check_...`` helper: run the student's answer, compare it with
the truth over many hypothesis-drawn inputs, and say what is wrong.

A check never raises because of the answer: it returns a :class:`CheckResult`, true only when
the answer passed, whose text says which input broke it, what was expected and what came,
and, where a known mistake fits, a hint. So "Run All" goes past an exercise still to do, and a
check can be asserted on (``assert check_...(answer)``). An answer that still raises
``NotImplementedError``, or is still ``...``, counts as not attempted.

Gradients are compared with central differences (:func:`minigrad.gradcheck.numerical_gradients`)
under a random upstream gradient, never all ones, which would hide a backward that only gets
the sums right. Hypothesis draws the inputs and shrinks a failing one to the simplest it can
find, so the message shows a small example.
"""
from __future__ import annotations

import functools
import os
import traceback

import numpy

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # minigrad/
PASSED, NOT_ATTEMPTED, WRONG = "passed", "not attempted", "wrong"
_MARK = {PASSED: "\u2714", NOT_ATTEMPTED: "\u2026", WRONG: "\u2718"}


class CheckResult:
    """What a check found: ``status`` is ``"passed"``, ``"not attempted"`` or ``"wrong"``;
    ``message`` says why. True only when passed; shown in a notebook as its message."""

    def __init__(self, exercise: str, status: str, message: str):
        self.exercise, self.status, self.message = exercise, status, message

    def __bool__(self):
        return self.status == PASSED

    def __repr__(self):
        return f"{_MARK[self.status]} {self.exercise} ({self.status})\n  {self.message}"

    __str__ = __repr__


class Wrong(Exception):
    """Raised inside a check when the answer is wrong; its text becomes the result's message."""


class NotAttempted(Exception):
    """Raised inside a check when the answer is still the placeholder."""


def exercise(title: str):
    """Make a check function report a :class:`CheckResult` named ``title`` instead of raising.

    Inside, the check raises :class:`Wrong` with what is wrong, or returns a sentence for the
    student (or None). Exceptions from the student's code reach here as :class:`Wrong` through
    :func:`call`; any other exception is a fault in the check itself and propagates.
    """
    def decorate(check):
        @functools.wraps(check)
        def run(*args, **kwargs):
            try:
                note = check(*args, **kwargs)
            except NotAttempted as e:
                return CheckResult(title, NOT_ATTEMPTED, str(e))
            except Wrong as e:
                return CheckResult(title, WRONG, str(e))
            return CheckResult(title, PASSED, note or "Correct.")
        return run
    return decorate


def call(what: str, fn, *args, **kwargs):
    """Call the student's ``fn``; its exceptions become :class:`Wrong` (or :class:`NotAttempted`
    for ``NotImplementedError``), named ``what`` and with the line of the student's code."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(f"{what} still raises NotImplementedError: replace that line with your code "
                           "and run the cell again.") from None
    except Exception as e:  # noqa: BLE001 -- any error in the answer is reported, not raised
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if not os.path.abspath(f.filename).startswith(_PACKAGE)]
        where = f" (line: {frames[-1].line})" if frames and frames[-1].line else ""
        raise Wrong(f"{what} raised {type(e).__name__}: {e}{where}") from None


def attempted(what: str, value):
    """``value`` itself, unless it is still the placeholder ``...`` (then :class:`NotAttempted`)."""
    if value is ...:
        raise NotAttempted(f"{what} is still `...`: put your answer in its place.")
    return value


def show(a) -> str:
    """A short, readable rendering of a number or array for a message."""
    a = numpy.asarray(a)
    if a.ndim == 0:
        return f"{a.item():.6g}"
    return numpy.array2string(a, precision=4, suppress_small=True, max_line_width=90, threshold=20)


def to_numpy(value, what: str):
    """The student's value as a float64 NumPy array (a Tensor, array or number), or Wrong."""
    from ..tensor import Tensor

    if isinstance(value, Tensor):
        value = value.detach().numpy()
    try:
        return numpy.asarray(value, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise Wrong(f"{what} is a {type(value).__name__}, not a number or an array") from None


def central_difference(f, x, h: float = 1e-6):
    """(f(x + h) - f(x - h)) / 2h: the derivative of an elementwise ``f`` at every element of
    ``x`` (a number or an array), off by O(h^2). For a function of a whole Tensor, use
    :func:`minigrad.gradcheck.numerical_gradients`."""
    return (f(x + h) - f(x - h)) / (2 * h)


def matches(got, value, rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """For a hint's test: ``got`` has ``value``'s shape and values (False if ``value`` is None),
    so that a mistake is named only when the answer is exactly what that mistake gives."""
    if value is None:
        return False
    value = numpy.asarray(value, dtype=numpy.float64)
    return got.shape == value.shape and numpy.allclose(got, value, rtol=rtol, atol=atol)


def compare(what: str, got, expected, *, inputs: str = "", rtol: float = 1e-5, atol: float = 1e-7, hints=()):
    """Raise :class:`Wrong` unless ``got`` has ``expected``'s shape and values.

    ``inputs`` describes the example; ``hints`` is a sequence of (test, sentence): the first
    test(got, expected) that holds adds its sentence, naming a classic mistake.
    """
    got = to_numpy(got, what)
    expected = numpy.asarray(expected, dtype=numpy.float64)
    where = f" for {inputs}" if inputs else ""
    if got.shape != expected.shape:
        extra = ""
        if got.size > expected.size and got.ndim >= expected.ndim:
            extra = (" A gradient always has its input's shape: sum over the axes that broadcasting "
                     "added (minigrad.autograd.sum_to does it).")
        raise Wrong(f"{what} has shape {got.shape}, expected {expected.shape}{where}.{extra}")
    bad = ~numpy.isclose(got, expected, rtol=rtol, atol=atol)
    if bad.any():
        msg = f"{what} is wrong{where}.\n  expected {show(expected)}\n  got      {show(got)}"
        if got.ndim:
            idx = tuple(int(k) for k in numpy.argwhere(bad)[0])
            msg += f"\n  first difference at index {idx}: expected {show(expected[idx])}, got {show(got[idx])}"
        for test, sentence in hints:
            with numpy.errstate(all="ignore"):
                if test(got, expected):
                    msg += f"\n  Hint: {sentence}"
                    break
        raise Wrong(msg)


def first_failure(strategy, attempt, max_examples: int = 60):
    """Run ``attempt(example)`` (which raises Wrong or NotAttempted) over examples drawn from
    ``strategy``; re-raise the failure of the simplest failing example hypothesis finds."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    def fails(example):
        try:
            attempt(example)
        except (Wrong, NotAttempted):
            return True
        return False

    try:
        example = find(strategy, fails, settings=settings(
            max_examples=max_examples, database=None, derandomize=True, deadline=None,
            suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return
    attempt(example)  # raises the failure, now for the shrunk example


def upstream_for(shape, seed: int = 0):
    """A random upstream gradient (standard normal, float64), never all ones."""
    return numpy.random.default_rng(seed).standard_normal(shape)


def check_backward(what: str, fn, reference, arrays, hints=(), seed: int = 0, names=None):
    """Raise :class:`Wrong` unless ``fn(*tensors)`` (the student's op) gives ``reference``'s
    forward and, under a random upstream gradient G, the gradients that central differences of
    ``reference`` give: the vector-Jacobian products J^T G.

    ``reference`` is a function of Tensors known to be right; ``arrays`` are float64 NumPy
    arrays, one per input, called ``names`` in messages (default x, or input 0, input 1, ...).
    Beyond ``hints`` (tests of (got, expected, G)), the classic mistakes are named: returning
    G itself, forgetting to multiply by G, a flipped sign.
    """
    from ..factories import tensor
    from ..gradcheck import numerical_gradients

    mine = [tensor(a, requires_grad=True) for a in arrays]
    theirs = [tensor(a, requires_grad=True) for a in arrays]
    if names is None:
        names = ["x"] if len(arrays) == 1 else [f"input {i}" for i in range(len(arrays))]
    example = ", ".join(f"{n} = {show(a)}" for n, a in zip(names, arrays))
    out = call(f"{what}'s forward", fn, *mine)
    expected_out = reference(*theirs).detach().numpy()
    compare(f"{what}'s forward", out, expected_out, inputs=example)
    g = upstream_for(expected_out.shape, seed)
    from ..tensor import Tensor
    call(f"{what}'s backward", out.backward, Tensor(g.copy()))
    numerical = numerical_gradients(reference, theirs, g)
    classic = [
        (lambda got, exp: g.size == got.size and matches(got, g.reshape(got.shape), 1e-5, 1e-8),
         "your backward returned grad_output unchanged; multiply it by the local derivative."),
        (lambda got, exp: (g.shape == exp.shape or g.size == 1) and matches(got * g, exp),
         "this is the local derivative alone: the chain rule multiplies it by grad_output."),
        (lambda got, exp: matches(-got, exp), "the sign is flipped."),
    ]
    for i, x in enumerate(mine):
        if x.grad is None:
            raise Wrong(f"{what}'s backward gave no gradient for {names[i]}: return one array per input "
                        "of forward (a tuple when there are several).")
        compare(f"the gradient of {names[i]}", x.grad, numerical[i],
                inputs=f"{example} and grad_output = {show(g)}",
                hints=[(lambda got, exp, t=t: t(got, exp, g), s) for t, s in hints] + classic,
                rtol=1e-4, atol=1e-6)


def explained(check, note: str, when: str = None):
    """Run ``check()``; if it raises :class:`Wrong` (whose text contains ``when``, if given),
    re-raise it with ``note`` added on a line of its own: an input the message did not show, or
    a hint that fits one kind of failure."""
    try:
        check()
    except Wrong as e:
        if when is not None and when not in str(e):
            raise
        raise Wrong(f"{e}\n  {note}") from None


def check_shapes(answers: dict, expected: dict, why: dict = None):
    """Raise :class:`Wrong` unless ``answers`` gives every name of ``expected`` its shape."""
    missing = [k for k in expected if k not in answers]
    if missing:
        raise Wrong(f"no answer for {', '.join(missing)}: give each a tuple of ints.")
    for name, shape in expected.items():
        said = attempted(name, answers[name])
        if isinstance(said, list):
            said = tuple(said)
        if not isinstance(said, tuple) or not all(isinstance(d, int) for d in said):
            raise Wrong(f"{name}: a shape is a tuple of ints, like (3, 4); got {said!r}.")
        if said != tuple(shape):
            reason = f" {why[name]}" if why and name in why else ""
            raise Wrong(f"{name} has shape {tuple(shape)}, not {said}.{reason}")

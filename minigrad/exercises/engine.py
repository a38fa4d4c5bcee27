"""Checks for the exercises of notebook 2, inside the engine: the scalar engine's topological
sort, the backward closure of its product, where gradients accumulate, and the sigmoid
written as a minigrad ``Function``."""
from __future__ import annotations

import math
import sys

from .checking import (Wrong, attempted, call, central_difference, check_backward, exercise, explained,
                       first_failure, show)


class _Node:
    """A value of a scalar engine reduced to what a sort reads: ``_prev``, the values it was
    made from (a value used twice, as in ``a * a``, appears twice)."""

    def __init__(self, label, prev=()):
        self.label, self._prev = label, tuple(prev)

    def __repr__(self):
        return self.label


def _label(i):
    """a, b, ..., z, n26, n27, ...: short names for the messages."""
    return chr(ord("a") + i) if i < 26 else f"n{i}"


def _graph(children):
    """The nodes of a graph given as, for each node, the indices of the (earlier) nodes it was
    made from; the root is the last node."""
    nodes = []
    for i, kids in enumerate(children):
        nodes.append(_Node(_label(i), [nodes[k] for k in kids]))
    return nodes


def _describe(nodes):
    made = [f"{n.label} from ({', '.join(p.label for p in n._prev)})" for n in nodes if n._prev]
    return f"the graph {'; '.join(made)} (root {nodes[-1].label})" if made else f"a single node {nodes[0].label}"


def _reachable(root):
    seen, stack = {id(root): root}, [root]
    while stack:
        for p in stack.pop()._prev:
            if id(p) not in seen:
                seen[id(p)] = p
                stack.append(p)
    return seen


def _check_order(topological_order, nodes, where):
    root = nodes[-1]
    got = call("topological_order(root)", topological_order, root)
    if got is None:
        raise Wrong(f"topological_order(root) returned None for {where}: return the list of nodes.")
    try:
        got = list(got)
    except TypeError:
        raise Wrong(f"topological_order(root) returned a {type(got).__name__}, not a list of nodes.") from None
    reachable = _reachable(root)
    position = {}
    for i, v in enumerate(got):
        if id(v) not in reachable:
            raise Wrong(f"your order holds {v!r}, which is not a node reached from the root through _prev, "
                        f"for {where}.")
        if id(v) in position:
            count = sum(w is v for w in got)
            raise Wrong(f"{v.label} appears {count} times in your order {got} for {where}: it is reached along "
                        "more than one path. Keep a set of the nodes already visited and skip them.")
        position[id(v)] = i
    missing = [v for k, v in reachable.items() if k not in position]
    if missing:
        raise Wrong(f"{', '.join(v.label for v in missing)} missing from your order {got} for {where}: list "
                    "every node reachable from the root through _prev.")
    if len(got) > 1 and got[0] is root:
        raise Wrong(f"your order {got} starts at the root, for {where}: list it the other way round, inputs "
                    "first and the root last (backward walks reversed(order)).")
    for v in got:
        for p in v._prev:
            if position[id(p)] > position[id(v)]:
                raise Wrong(f"{v.label} comes before its input {p.label} in your order {got}, for {where}: "
                            f"{v.label} was made from {p.label}, so {p.label} must come first. Append a node "
                            "only after all the nodes it was made from are in the list.")


@exercise("Exercise 2.1, a topological sort without recursion")
def check_topological_order(topological_order):
    """Check ``topological_order(root)``: every node reachable from ``root`` through ``_prev``,
    each once, every node after all the nodes it was made from (the root last). Run on a small
    graph with a shared node, on hypothesis-drawn random graphs (nodes used twice, by one op
    or by several), and on a chain deeper than Python's recursion limit."""
    from hypothesis import strategies as st

    # the notebook's y = h * tanh(h), h = x * x: x used twice by one op, h by two
    fixed = _graph([[], [0, 0], [1], [1, 2]])
    _check_order(topological_order, fixed, _describe(fixed))

    @st.composite
    def graphs(draw):
        n = draw(st.integers(1, 9))
        return [[] if i == 0 else draw(st.lists(st.integers(0, i - 1), max_size=3)) for i in range(n)]

    def attempt(children):
        nodes = _graph(children)
        _check_order(topological_order, nodes, _describe(nodes))

    first_failure(graphs(), attempt)

    depth = sys.getrecursionlimit() + 500
    chain = [_Node("n0")]
    for i in range(1, depth):
        chain.append(_Node(f"n{i}", [chain[-1]]))
    explained(lambda: _check_order(topological_order, chain, f"a chain of {depth} nodes"),
              "Hint: a recursive depth-first walk needs one Python frame per node of the chain; keep the nodes "
              "still to finish on a list used as a stack instead.", when="RecursionError")
    return ("a valid order for every graph, deep ones included; minigrad orders by creation number instead, "
            "which is a topological order too.")


class _Scalar:
    def __init__(self, data, grad):
        self.data, self.grad = data, grad


def _check_mul(mul_backward, a_data, b_data, a_grad, b_grad, out_grad, same):
    """One call of ``mul_backward(a, b, out)``; ``same``: a and b are one value (x * x)."""
    a = _Scalar(a_data, a_grad)
    b = a if same else _Scalar(b_data, b_grad)
    out = _Scalar(a.data * b.data, out_grad)
    call("mul_backward(a, b, out)", mul_backward, a, b, out)
    if same:
        where = f"x * x with x.data = {show(a_data)}, x.grad = {show(a_grad)} before, out.grad = {show(out_grad)}"
        share = central_difference(lambda t: t * t, a_data) * out_grad
        expected = a_grad + share
        if not isinstance(a.grad, (int, float)) or not math.isclose(a.grad, expected, rel_tol=1e-6, abs_tol=1e-6):
            msg = f"x.grad is {show(a.grad)}, expected {show(expected)} for {where}."
            if math.isclose(a.grad, a_grad + share / 2, rel_tol=1e-6, abs_tol=1e-6) or \
                    math.isclose(a.grad, share / 2, rel_tol=1e-6, abs_tol=1e-6):
                msg += ("\n  Hint: x is both inputs, so it gets both shares, x.data * out.grad twice; with `=` "
                        "the second assignment replaced the first. Use +=.")
            raise Wrong(msg)
        return
    where = (f"a.data = {show(a_data)}, b.data = {show(b_data)}, a.grad = {show(a_grad)} and "
             f"b.grad = {show(b_grad)} before, out.grad = {show(out_grad)}")
    for name, value, before, share, other in [
            ("a", a, a_grad, central_difference(lambda t: t * b_data, a_data) * out_grad, b_data),
            ("b", b, b_grad, central_difference(lambda t: a_data * t, b_data) * out_grad, a_data)]:
        got, expected = value.grad, before + share
        if not isinstance(got, (int, float)):
            raise Wrong(f"{name}.grad became a {type(got).__name__}, not a number, for {where}.")
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6):
            continue
        msg = f"{name}.grad is {show(got)} after your backward, expected {show(expected)}, for {where}."
        own = value.data * out_grad
        if math.isclose(got, before, rel_tol=1e-9, abs_tol=1e-12):
            msg += f"\n  Hint: {name}.grad did not change: add its share, {name}.grad += ..."
        elif math.isclose(got, share, rel_tol=1e-6, abs_tol=1e-6):
            msg += (f"\n  Hint: {name}.grad was replaced by its share, not added to: with `=` a value used "
                    "twice keeps only the last contribution. Use +=.")
        elif math.isclose(got, before + own, rel_tol=1e-6, abs_tol=1e-6):
            msg += (f"\n  Hint: d(a * b)/d{name} is the other input's data: {name}.grad += "
                    f"{'b' if name == 'a' else 'a'}.data * out.grad.")
        elif math.isclose(got, before + other, rel_tol=1e-6, abs_tol=1e-6):
            msg += "\n  Hint: this is the local derivative alone: the chain rule multiplies it by out.grad."
        raise Wrong(msg)


@exercise("Exercise 2.2, the backward closure of a product")
def check_mul_backward(mul_backward):
    """Check ``mul_backward(a, b, out)``, the body of ``_backward`` in ``Value.__mul__``: it must
    add ``b.data * out.grad`` into ``a.grad`` and ``a.data * out.grad`` into ``b.grad``, on top
    of what they held, also when a and b are one value (x * x). Gradients by central differences."""
    from hypothesis import strategies as st

    _check_mul(mul_backward, 2.0, -3.0, 0.0, 0.0, 1.5, same=False)
    _check_mul(mul_backward, 2.0, -3.0, 0.5, -0.25, 1.5, same=False)
    number = st.floats(-3, 3, allow_nan=False, width=64)

    def attempt(args):
        _check_mul(mul_backward, *args)

    first_failure(st.tuples(number, number, number, number, number, st.booleans()), attempt)
    return "each input gets the other's data times out.grad, added: a value used twice collects both."


# Notebook 2's exercise 2.3: f = (a b + a)^2 + b, written as the scalar engine builds it.
_LEAVES = {"a": 2.0, "b": -3.0}
_STEPS = (("c", "*", "a", "b"), ("d", "+", "c", "a"), ("e", "*", "d", "d"), ("f", "+", "e", "b"))


def _evaluate(a, b):
    v = {"a": a, "b": b}
    for out, op, x, y in _STEPS:
        v[out] = v[x] * v[y] if op == "*" else v[x] + v[y]
    return v[_STEPS[-1][0]]


def _uses():
    """How many times each value is an input of an op (a * a counts twice)."""
    counts = {}
    for _, _, x, y in _STEPS:
        for name in (x, y):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _users(name):
    return [f"{out} = {x} {op} {y}" for out, op, x, y in _STEPS if name in (x, y)]


@exercise("Exercise 2.3, where gradients accumulate")
def check_accumulation(accumulates, grad_a, grad_b):
    """Check the predictions for f = (a b + a)^2 + b, built as c = a * b, d = c + a, e = d * d,
    f = e + b at a = 2, b = -3: ``accumulates``, the names of the values whose ``grad`` collects
    more than one contribution; ``grad_a`` and ``grad_b``, df/da and df/db (compared with
    central differences)."""
    said = attempted("accumulates", accumulates)
    grad_a, grad_b = attempted("grad_a", grad_a), attempted("grad_b", grad_b)
    if isinstance(said, str) or not all(isinstance(n, str) for n in said):
        raise Wrong(f"accumulates is {said!r}: give a set of names, like {{'x', 'y'}}.")
    said = set(said)
    uses = _uses()
    expected = {n for n, k in uses.items() if k > 1}
    unknown = said - set(uses) - {_STEPS[-1][0]}
    if unknown:
        raise Wrong(f"accumulates names {sorted(unknown)}, which are not values of the expression "
                    f"({', '.join(sorted(set(uses) | {'f'}))}).")
    for name in sorted(expected - said):
        raise Wrong(f"{name} is missing from accumulates: it is an input {uses[name]} times "
                    f"({'; '.join(_users(name))}), so its grad adds {uses[name]} contributions.")
    for name in sorted(said - expected):
        used = _users(name)
        where = f"an input once ({used[0]})" if used else "the output, an input of nothing"
        raise Wrong(f"{name} should not be in accumulates: it is {where}, so its grad receives one "
                    "contribution.")
    a, b = _LEAVES["a"], _LEAVES["b"]
    d = a * b + a
    for name, got, expected_value, hints in [
        ("grad_a", grad_a, central_difference(lambda t: _evaluate(t, b), a), [
            (2 * d * b, "a also reaches d directly (d = c + a): dd/da = b + 1, not b."),
            (d * (b + 1), "e = d * d uses d twice: de/dd = 2d."),
            (-2 * d * (b + 1), "the sign is flipped.")]),
        ("grad_b", grad_b, central_difference(lambda t: _evaluate(a, t), b), [
            (2 * d * a, "b also reaches f directly (f = e + b): add 1."),
            (d * a + 1, "e = d * d uses d twice: de/dd = 2d.")]),
    ]:
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise Wrong(f"{name} is {got!r}: give a number.") from None
        if not math.isclose(value, expected_value, rel_tol=1e-6, abs_tol=1e-6):
            msg = f"{name} is {show(value)}, expected {show(expected_value)} (a = {a:g}, b = {b:g}, d = {d:g})."
            for wrong, sentence in hints:
                if math.isclose(value, wrong, rel_tol=1e-6, abs_tol=1e-6):
                    msg += f"\n  Hint: {sentence}"
                    break
            raise Wrong(msg)
    return "every value used more than once adds up its contributions: a along two ops, b along two, d twice in d * d."


__all__ = ["check_topological_order", "check_mul_backward", "check_accumulation"]


@exercise("Exercise 2.4, the sigmoid as a minigrad Function")
def check_sigmoid_function(sigmoid_cls):
    """Check a ``Function`` subclass computing s = 1 / (1 + exp(-x)) elementwise: its forward
    against the sigmoid, its backward against central differences under a random upstream
    gradient, on hypothesis-drawn arrays, and through a graph that uses its output twice."""
    import numpy

    from ..testing import strategies as st

    def attempt(x):
        s = 1 / (1 + numpy.exp(-x))
        hints = [
            (lambda got, exp, g: numpy.allclose(got, g * x * (1 - x)),
             "x * (1 - x) uses the input; the derivative is s * (1 - s), with s the output that "
             "forward saved (ctx.save_for_backward(s))."),
            (lambda got, exp, g: numpy.allclose(got, g * s), "that is G * s: the factor (1 - s) is missing."),
            (lambda got, exp, g: numpy.allclose(got, g * (1 - s)), "that is G * (1 - s): the factor s is missing."),
        ]
        check_backward("Sigmoid", sigmoid_cls.apply, lambda t: t.sigmoid(), [x], hints=hints)
        # the output used twice, y = s * s + s: the engine adds both paths into s's gradient
        check_backward("s * s + s with s = Sigmoid(x)",
                       lambda t: (lambda s: s * s + s)(sigmoid_cls.apply(t)),
                       lambda t: (lambda s: s * s + s)(t.sigmoid()), [x], hints=hints)

    attempt(numpy.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 0.25]]))
    first_failure(st.arrays(low=-6.0, high=6.0), attempt, max_examples=30)
    return ("backward reuses what forward saved: s * (1 - s) needs no exp, which is why minigrad's "
            "own Sigmoid saves its output, not its input.")

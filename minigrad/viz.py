"""Draw the computation graph that the engine recorded: every node named, every gradient shown.

``draw_graph(t)`` walks back from ``t`` through each tensor's ``_ctx`` (the op that made it,
``ctx.fn``, and its forward arguments, ``ctx.inputs``) and draws one box per tensor and one
ellipse per op. Each box holds the tensor's name (from ``params``, else the caller's variable
that holds it, else the expression that made it, such as ``tanh(d)``), its shape and dtype or
its values when there are only a few, and its gradient: d(output)/d(tensor), which
``draw_graph`` works out itself from the recorded graph (each op's own ``backward``, as the
engine runs it with ``retain_graph=True``) without touching any ``.grad``.

Two ways to draw it, both without a Python dependency:

- Graphviz's ``dot`` program (``apt-get install graphviz``, ``brew install graphviz`` or
  ``conda install graphviz``), given the DOT text in ``graph.source``: the nicer layout.
- minigrad's own SVG (``graph.svg()``): ops placed in columns by their depth in the graph,
  edges as curves. Used whenever ``dot`` is not installed, so a graph always shows in Jupyter.

``backward()`` frees the graph (each op drops its inputs once used), so draw it before
calling backward, or call ``backward(retain_graph=True)``.
"""
from __future__ import annotations

import inspect
import shutil
import subprocess
from dataclasses import dataclass
from html import escape
from numbers import Number
from pathlib import Path

from . import autograd, backend
from .tensor import Tensor

__all__ = ["draw_graph", "Graph", "Node", "dot_available"]

DOT_INSTALL_HINT = ("install Graphviz, which provides it: apt-get install graphviz, "
                    "brew install graphviz or conda install graphviz")

_RENDERED = {"svg", "png", "pdf"}
_FILL = {"output": "#fde2c8", "leaf": "#cfe2ff", "constant-tensor": "#eeeeee", "tensor": "#ffffff",
         "op": "#fff7c2"}
_NAME_LENGTH = 24  # an expression name longer than this becomes t0, t1, ...


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


@dataclass
class Node:
    """One drawn node: ``kind`` is 'tensor', 'op' or 'constant' (a Python number).

    ``lines`` are the text shown in it (a tensor's name first), ``style`` the fill it gets:
    'output', 'leaf' (requires a gradient), 'constant-tensor' (does not), 'tensor' or 'op'.
    """

    id: str
    kind: str
    lines: list
    style: str


class Graph:
    """A drawn computation graph: ``nodes``, ``edges`` (id pairs, in the direction data flows),
    ``source`` (the same graph as Graphviz DOT text) and ``svg()`` (minigrad's own drawing).

    In Jupyter it shows as an SVG picture: Graphviz's when ``dot`` is installed, else
    minigrad's. ``save(path)`` writes ``.svg`` (either), ``.png`` or ``.pdf`` (Graphviz) and
    ``.dot``/``.gv`` text.
    """

    def __init__(self, nodes: list, edges: list, rankdir: str = "LR"):
        self.nodes = nodes
        self.edges = edges
        self.rankdir = rankdir
        self.n_ops = sum(n.kind == "op" for n in nodes)
        self.n_tensors = sum(n.kind == "tensor" for n in nodes)

    @property
    def source(self) -> str:
        """The graph as Graphviz DOT text."""
        lines = ["digraph minigrad {", f"  rankdir={self.rankdir};",
                 '  node [fontname="Helvetica", fontsize=11];', '  edge [color="#555555"];']
        for n in self.nodes:
            label = _quote("\n".join(n.lines))
            if n.kind == "constant":
                lines.append(f"  {n.id} [shape=plaintext, label={label}];")
            elif n.kind == "op":
                lines.append(f'  {n.id} [shape=ellipse, label={label}, style=filled, fillcolor="{_FILL["op"]}"];')
            else:
                bold = ',bold", penwidth=2' if n.style == "output" else '"'
                lines.append(f'  {n.id} [shape=box, label={label}, style="filled{bold}, '
                             f'fillcolor="{_FILL[n.style]}"];')
        lines += [f"  {a} -> {b};" for a, b in self.edges]
        return "\n".join(lines + ["}"]) + "\n"

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        drawn = "Graphviz" if dot_available() else "minigrad (install Graphviz for a nicer layout)"
        return (f"<minigrad.viz.Graph: {self.n_ops} ops, {self.n_tensors} tensors; drawn by {drawn}; "
                ".source holds the DOT text, .svg() minigrad's drawing>")

    def svg(self) -> str:
        """The graph drawn by minigrad itself, as SVG text (no Graphviz needed)."""
        return _svg(self)

    def pipe(self, format: str = "svg") -> bytes:
        """The graph rendered by Graphviz's ``dot`` in ``format`` ('svg', 'png' or 'pdf')."""
        if format not in _RENDERED:
            raise ValueError(f"pipe: format must be one of {sorted(_RENDERED)}, got {format!r}")
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(f"draw_graph: rendering to {format} with Graphviz needs its `dot` program, "
                               f"which was not found on the PATH; {DOT_INSTALL_HINT}. Without it, "
                               "graph.svg() draws the graph and graph.save('graph.svg') writes that")
        done = subprocess.run([dot, f"-T{format}"], input=self.source.encode(), capture_output=True,
                              check=False, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"draw_graph: dot failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
        return done.stdout

    def save(self, path, format: str | None = None, engine: str = "auto") -> Path:
        """Write the graph to ``path``; the format comes from the suffix unless given.

        ``.dot`` and ``.gv`` hold the DOT text. ``.svg`` is drawn by Graphviz when ``dot`` is
        installed and by minigrad otherwise (``engine='dot'`` or ``'minigrad'`` chooses);
        ``.png`` and ``.pdf`` need Graphviz.
        """
        if engine not in ("auto", "dot", "minigrad"):
            raise ValueError(f"save: engine must be 'auto', 'dot' or 'minigrad', got {engine!r}")
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt in ("dot", "gv"):
            path.write_text(self.source)
        elif fmt == "svg" and (engine == "minigrad" or (engine == "auto" and not dot_available())):
            path.write_text(self.svg())
        elif fmt in _RENDERED:
            if engine == "minigrad":
                raise ValueError(f"save: minigrad draws SVG only; {fmt} needs engine='dot' (Graphviz)")
            path.write_bytes(self.pipe(fmt))
        else:
            raise ValueError(f"save: cannot tell the format of {str(path)!r}; use a .dot, .gv, .svg, "
                             ".png or .pdf suffix, or pass format=")
        return path

    def _repr_svg_(self):
        return self.pipe("svg").decode() if dot_available() else self.svg()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _values(data, max_values: int, precision: int) -> str | None:
    if data.size > max_values:
        return None
    host = backend.to_device(data, backend.CPU)
    if host.ndim == 0:
        return f"{host.item():.{precision}g}"
    return "[" + ", ".join(f"{v:.{precision}g}" for v in host.reshape(-1).tolist()) + "]"


def _describe(data, max_values: int, precision: int) -> str:
    values = _values(data, max_values, precision)
    return f"{tuple(data.shape)} {data.dtype}" if values is None else values


def _is_number(a) -> bool:
    return isinstance(a, Number) and not isinstance(a, bool)


def _caller_names(frame, tensors: dict) -> dict:
    """id(tensor) -> the name of a variable of the calling code that holds it."""
    names = {}
    if frame is None:
        return names
    for scope in (frame.f_locals, frame.f_globals):  # a local hides a global of the same tensor
        for name, value in scope.items():
            if isinstance(value, Tensor) and id(value) in tensors and not name.startswith("_"):
                names.setdefault(id(value), name)
    return names


def _gradients(root: Tensor) -> dict:
    """id(tensor) -> d(root)/d(tensor) (a raw array) for every tensor of root's graph that
    requires a gradient, with ones as root's own gradient (for a non-scalar root, the gradient
    of ``root.sum()``). Each op's ``backward`` runs as in ``backward(retain_graph=True)``;
    no ``.grad`` is touched. Empty when root needs no gradient or its graph was freed.
    """
    if not root.requires_grad:
        return {}
    xp = backend.get_array_module(root.data)
    grads, found, stack = {id(root): xp.ones_like(root.data)}, {id(root): root}, [root]
    while stack:
        ctx = stack.pop()._ctx
        if ctx is None:
            continue
        if ctx.inputs is None:
            return {}  # freed by an earlier backward: the graph is gone
        for a in ctx.inputs:
            if isinstance(a, Tensor) and a.requires_grad and id(a) not in found:
                found[id(a)] = a
                stack.append(a)
    # Newest first: every op that used a tensor was made after it (the engine's order).
    for t in sorted(found.values(), key=lambda t: t._seq, reverse=True):
        ctx = t._ctx
        if ctx is None or id(t) not in grads:
            continue
        input_grads = ctx.fn.backward(ctx, grads[id(t)])
        for a, g in zip(ctx.inputs, input_grads if isinstance(input_grads, tuple) else (input_grads,)):
            if g is not None and isinstance(a, Tensor) and a.requires_grad:
                grads[id(a)] = g if id(a) not in grads else grads[id(a)] + g
    return grads


def draw_graph(tensor: Tensor, params: dict | None = None, show_grad: bool = True,
               max_values: int = 4, precision: int = 4, rankdir: str = "LR") -> Graph:
    """The computation graph that produced ``tensor``, every node named, with its gradients.

    Args:
        tensor: the output to draw back from (usually the loss).
        params: names for tensors, e.g. ``dict(model.named_parameters())``. A tensor not named
            here takes the name of the caller's variable that holds it, else the expression
            that made it (``tanh(d)``), else ``t0``, ``t1``, ...
        show_grad: write in each tensor's box its gradient d(tensor)/d(node), worked out from
            the graph with ones as the output's own gradient; ``.grad`` is left alone. A tensor
            that needs no gradient says so.
        max_values: tensors with at most this many elements show their values.
        precision: significant digits for the values shown.
        rankdir: layout direction: 'LR' (left to right), 'TB' (top to bottom), 'RL' or 'BT'.

    Tensors are boxes (the output bold, leaves that require a gradient blue), ops are
    ellipses, and Python numbers that entered an op are small plain nodes. Ops whose inputs a
    backward freed are drawn with the note "(graph freed)".

    >>> import minigrad
    >>> a = minigrad.tensor(2.0, requires_grad=True)
    >>> y = a * a + 1
    >>> g = draw_graph(y)
    >>> print(g.n_ops, g.n_tensors)
    2 3
    >>> [n.lines for n in g.nodes if n.kind == "tensor"][-1]
    ['a', 'data 2', 'grad 4']
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a minigrad Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")

    # The walk: tensors and ops in the order met, an explicit stack (deep graphs draw too).
    tensors, ops, links = {id(tensor): tensor}, [], []
    stack = [tensor]
    while stack:
        t = stack.pop()
        ctx = t._ctx
        if ctx is None:
            continue
        inputs = [] if ctx.inputs is None else list(ctx.inputs)
        ops.append((ctx, t, inputs))
        for a in inputs:
            if isinstance(a, Tensor) and id(a) not in tensors:
                tensors[id(a)] = a
                stack.append(a)

    names = {id(p): n for n, p in (params or {}).items()}
    frame = inspect.currentframe()
    caller = _caller_names(frame.f_back if frame is not None else None, tensors)
    del frame
    for key, name in caller.items():
        names.setdefault(key, name)
    # An op's output is named by its expression, oldest op first so that the inputs are named
    # before it (arguments that are neither tensors nor numbers, an axis or a shape, are left
    # out), or by the op and a count when that is too long: linear_0, relu_0, linear_1.
    counts = {}
    for ctx, out, inputs in sorted(ops, key=lambda op: op[1]._seq):
        if id(out) in names:
            continue
        op_name = ctx.fn.__name__.lower()
        args = [names.get(id(a), "?") if isinstance(a, Tensor) else f"{a:.{precision}g}"
                for a in inputs if isinstance(a, Tensor) or _is_number(a)]
        expression = f"{op_name}({', '.join(args)})"
        if inputs and len(expression) <= _NAME_LENGTH:
            names[id(out)] = expression
        else:
            names[id(out)] = f"{op_name}_{counts.get(op_name, 0)}"
            counts[op_name] = counts.get(op_name, 0) + 1
    leaves = 0
    for t in sorted(tensors.values(), key=lambda t: t._seq):
        if id(t) not in names:  # an unnamed leaf: an input made in place, such as the labels
            names[id(t)] = f"t{leaves}"
            leaves += 1

    grads = _gradients(tensor) if show_grad else {}
    ids = {key: f"t{i}" for i, key in enumerate(tensors)}

    def tensor_node(t: Tensor) -> Node:
        lines = [names[id(t)]]
        values = _values(t.data, max_values, precision)
        lines.append(f"{tuple(t.shape)} {t.dtype}" if values is None else f"data {values}")
        if show_grad:
            if id(t) in grads:
                lines.append(f"grad {_describe(grads[id(t)], max_values, precision)}")
            elif not t.requires_grad:
                lines.append("no grad needed")
        if t is tensor:
            style = "output"
        elif t._ctx is None:
            style = "leaf" if t.requires_grad else "constant-tensor"
        else:
            style = "tensor"
        return Node(ids[id(t)], "tensor", lines, style)

    nodes = [tensor_node(t) for t in tensors.values()]
    edges = []
    n_consts = 0
    for i, (ctx, out, inputs) in enumerate(ops):
        op = f"op{i}"
        label = [ctx.fn.__name__] + (["(graph freed)"] if ctx.inputs is None else [])
        nodes.append(Node(op, "op", label, "op"))
        edges.append((op, ids[id(out)]))
        for a in inputs:
            if isinstance(a, Tensor):
                edges.append((ids[id(a)], op))
            elif _is_number(a):
                const = f"c{n_consts}"
                n_consts += 1
                nodes.append(Node(const, "constant", [f"{a:.{precision}g}"], "constant"))
                edges.append((const, op))
    return Graph(nodes, edges, rankdir)


# -- minigrad's own drawing -------------------------------------------------------------------
_CHAR_W, _LINE_H, _PAD, _GAP_RANK, _GAP_NODE = 7.2, 15, 8, 48, 14  # 12 px monospace text


def _size(node: Node) -> tuple:
    w = max(len(line) for line in node.lines) * _CHAR_W + 2 * _PAD
    h = len(node.lines) * _LINE_H + 2 * _PAD - 4
    if node.kind == "op":
        w, h = w * 1.25, h * 1.3  # an ellipse needs room around its text
    return w, h


def _layout(graph: Graph) -> tuple:
    """Layers of node ids (columns for 'LR'), and each edge as the chain of ids it passes.

    A node's layer is the longest path to it from a node with no inputs; a node with no
    inputs then moves up to just before its first use, so a parameter sits by its op. An edge
    that spans several layers gets a point in each layer between ("virtual" ids), which the
    ordering treats as nodes, so that long edges go around the boxes instead of through them.
    """
    preds = {n.id: [] for n in graph.nodes}
    succs = {n.id: [] for n in graph.nodes}
    for a, b in graph.edges:
        preds[b].append(a)
        succs[a].append(b)
    waiting = {k: len(v) for k, v in preds.items()}
    ready = [k for k, v in waiting.items() if v == 0]
    rank = dict.fromkeys(ready, 0)
    order = []
    while ready:  # Kahn's topological order, no recursion
        k = ready.pop()
        order.append(k)
        for s in succs[k]:
            rank[s] = max(rank.get(s, 0), rank[k] + 1)
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    for k in order:
        if not preds[k] and succs[k]:
            rank[k] = min(rank[s] for s in succs[k]) - 1
    layers = [[] for _ in range(max(rank.values()) + 1)]
    for n in graph.nodes:
        layers[rank[n.id]].append(n.id)
    chains = []
    for i, (a, b) in enumerate(graph.edges):
        chain = [a] + [f"v{i}_{r}" for r in range(rank[a] + 1, rank[b])] + [b]
        for r, v in zip(range(rank[a] + 1, rank[b]), chain[1:-1]):
            layers[r].append(v)
        chains.append(chain)
    # Order each layer by the mean position of its neighbours, sweeping down, up and down.
    before, after = {}, {}
    for chain in chains:
        for u, v in zip(chain, chain[1:]):
            before.setdefault(v, []).append(u)
            after.setdefault(u, []).append(v)
    position = {k: i for layer in layers for i, k in enumerate(layer)}
    for neighbours, sweep in ((before, layers[1:]), (after, layers[-2::-1]), (before, layers[1:])):
        for layer in sweep:
            layer.sort(key=lambda k: (sum(position[p] for p in neighbours[k]) / len(neighbours[k])
                                      if neighbours.get(k) else position[k]))
            position.update({k: i for i, k in enumerate(layer)})
    return layers, chains


def _svg(graph: Graph) -> str:
    layers, chains = _layout(graph)
    by_id = {n.id: n for n in graph.nodes}
    size = {n.id: _size(n) for n in graph.nodes}
    across = graph.rankdir in ("TB", "BT")  # layers go down the page, nodes across it

    def along(k):  # a node's extent along the layer axis, and across it; an edge point is thin
        if k not in size:
            return 0, 2
        w, h = size[k]
        return (h, w) if across else (w, h)

    depth = [max(along(k)[0] for k in layer) for layer in layers]
    breadth = [sum(along(k)[1] for k in layer) + _GAP_NODE * (len(layer) - 1) for layer in layers]
    total_breadth = max(breadth)
    centre = {}
    offset = _GAP_NODE
    for r, layer in enumerate(layers):
        cross = _GAP_NODE + (total_breadth - breadth[r]) / 2
        for k in layer:
            extent = along(k)[1]
            centre[k] = (offset + depth[r] / 2, cross + extent / 2)
            cross += extent + _GAP_NODE
        offset += depth[r] + _GAP_RANK
    length, width = offset - _GAP_RANK + _GAP_NODE, total_breadth + 2 * _GAP_NODE
    flip = graph.rankdir in ("RL", "BT")

    def point(k, end=0):  # (along, across) of a node's centre, or of its exit (1) / entry (-1)
        a, c = centre[k]
        a += end * along(k)[0] / 2
        return (length - a if flip else a), c

    def xy(a, c):
        return (c, a) if across else (a, c)

    W, H = xy(length, width)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W:.0f}" height="{H:.0f}" '
           f'viewBox="0 0 {W:.0f} {H:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
           'font-size="12">',
           '<defs><marker id="minigrad-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/>'
           '</marker></defs>',
           f'<rect width="{W:.0f}" height="{H:.0f}" fill="white"/>']
    for chain in chains:
        points = [point(chain[0], 1)] + [point(v) for v in chain[1:-1]] + [point(chain[-1], -1)]
        path = "M{:.1f},{:.1f}".format(*xy(*points[0]))
        for (a0, c0), (a1, c1) in zip(points, points[1:]):  # tangents along the layer axis
            mid = (a1 - a0) / 2
            path += " C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}".format(
                *xy(a0 + mid, c0), *xy(a1 - mid, c1), *xy(a1, c1))
        out.append(f'<path d="{path}" fill="none" stroke="#555555" marker-end="url(#minigrad-arrow)"/>')
    for node in graph.nodes:
        (x, y), (w, h) = xy(*point(node.id)), size[node.id]
        out.append(f'<g class="{node.kind}" id="{node.id}"><title>{escape(node.lines[0])}</title>')
        if node.kind == "op":
            out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                       f'fill="{_FILL["op"]}" stroke="black"/>')
        elif node.kind == "tensor":
            bold = ' stroke-width="2"' if node.style == "output" else ""
            out.append(f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
                       f'rx="3" fill="{_FILL[node.style]}" stroke="black"{bold}/>')
        top = y - (len(node.lines) - 1) * _LINE_H / 2
        for i, line in enumerate(node.lines):
            weight = ' font-weight="bold"' if i == 0 and node.kind == "tensor" else ""
            out.append(f'<text x="{x:.1f}" y="{top + i * _LINE_H:.1f}" text-anchor="middle" '
                       f'dominant-baseline="central"{weight}>{escape(line)}</text>')
        out.append("</g>")
    return "\n".join(out + ["</svg>"]) + "\n"

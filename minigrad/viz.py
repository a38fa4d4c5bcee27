"""Draw the computation graph that the engine recorded, as Graphviz DOT.

``draw_graph(t)`` walks back from ``t`` through the graph's nodes (``autograd.node_of(t)``:
the op that made it, ``ctx.fn``, its forward arguments, ``ctx.inputs``, and the nodes they
came from, ``ctx.parents``) and writes one box per tensor (shape,
dtype, its values when there are only a few, and its ``grad`` once backward has filled it) and
one ellipse per op. The DOT text needs no dependency; turning it into a picture needs the
Graphviz ``dot`` program (``apt-get install graphviz``, ``brew install graphviz`` or
``conda install graphviz``). Without ``dot`` the graph still prints as DOT text, which any
Graphviz viewer can render.

The graph is freed by ``backward()`` (each op drops its inputs as soon as it has used them),
so draw it *before* calling backward, or call ``backward(retain_graph=True)`` if you want the
leaves' gradients in the picture.
"""
from __future__ import annotations

import shutil
import subprocess
from numbers import Number
from pathlib import Path

from . import autograd, backend
from .tensor import Tensor

__all__ = ["draw_graph", "Graph", "dot_available"]

DOT_INSTALL_HINT = ("install Graphviz, which provides it: apt-get install graphviz, "
                    "brew install graphviz or conda install graphviz")

_RENDERED = {"svg", "png", "pdf"}


def dot_available() -> bool:
    """True when the Graphviz ``dot`` program is on the PATH."""
    return shutil.which("dot") is not None


class Graph:
    """A drawn computation graph: ``source`` is its DOT text.

    In Jupyter it shows as an SVG picture when ``dot`` is installed, otherwise as a message
    saying so followed by the DOT text. ``save(path)`` writes ``.dot``/``.gv`` text always, and
    ``.svg``, ``.png`` or ``.pdf`` through ``dot``.
    """

    def __init__(self, source: str, n_ops: int, n_tensors: int):
        self.source = source
        self.n_ops = n_ops
        self.n_tensors = n_tensors

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        if dot_available():
            return f"<minigrad.viz.Graph: {self.n_ops} ops, {self.n_tensors} tensors; .source holds the DOT text>"
        return (f"Graphviz's `dot` program was not found, so the graph is shown as DOT text "
                f"(to see it drawn, {DOT_INSTALL_HINT}):\n{self.source}")

    def pipe(self, format: str = "svg") -> bytes:
        """The graph rendered by ``dot`` in ``format`` ('svg', 'png' or 'pdf')."""
        if format not in _RENDERED:
            raise ValueError(f"pipe: format must be one of {sorted(_RENDERED)}, got {format!r}")
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(f"draw_graph: rendering to {format} needs Graphviz's `dot` program, "
                               f"which was not found on the PATH; {DOT_INSTALL_HINT}. The DOT text "
                               "is in graph.source, and graph.save('graph.dot') writes it without dot")
        done = subprocess.run([dot, f"-T{format}"], input=self.source.encode(), capture_output=True,
                              check=False, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"draw_graph: dot failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
        return done.stdout

    def save(self, path, format: str | None = None) -> Path:
        """Write the graph to ``path``; the format comes from the suffix unless given.

        ``.dot`` and ``.gv`` hold the DOT text (no Graphviz needed); ``.svg``, ``.png`` and
        ``.pdf`` are rendered by ``dot``.
        """
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt in ("dot", "gv"):
            path.write_text(self.source)
        elif fmt in _RENDERED:
            path.write_bytes(self.pipe(fmt))
        else:
            raise ValueError(f"save: cannot tell the format of {str(path)!r}; use a .dot, .gv, .svg, "
                             ".png or .pdf suffix, or pass format=")
        return path

    def _repr_svg_(self):
        return self.pipe("svg").decode() if dot_available() else None


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


def draw_graph(tensor: Tensor, params: dict | None = None, show_grad: bool = True,
               max_values: int = 4, precision: int = 4, rankdir: str = "LR") -> Graph:
    """The computation graph that produced ``tensor``, as a ``Graph`` holding DOT text.

    Args:
        tensor: the output to draw back from (usually the loss).
        params: optional names for leaf tensors, e.g. ``dict(model.named_parameters())``.
        show_grad: also write each leaf's ``grad`` once backward has computed it.
        max_values: tensors with at most this many elements show their values.
        precision: significant digits for the values shown.
        rankdir: Graphviz layout direction: 'LR' (left to right) or 'TB' (top to bottom).

    Tensors are boxes (leaves that require a gradient in blue), ops are ellipses, and Python
    numbers that entered an op are small plain nodes. Draw before ``backward()``, or backward
    with ``retain_graph=True``: backward frees the graph, and ops whose inputs were freed are
    drawn with the note "(graph freed)".

    >>> import minigrad
    >>> a = minigrad.tensor(2.0, requires_grad=True)
    >>> y = a * a + 1
    >>> g = draw_graph(y, params={"a": a})
    >>> print(g.n_ops, g.n_tensors)
    2 3
    >>> y.backward(retain_graph=True)
    >>> 'grad 4' in draw_graph(y, params={"a": a}).source
    True
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a minigrad Tensor, got {type(tensor).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    names = {id(p): n for n, p in (params or {}).items()}
    ids: dict[int, str] = {}
    lines = ["digraph minigrad {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];', '  edge [color="#555555"];']
    n_ops = n_consts = 0

    def node_id(t: Tensor, node) -> tuple[str, bool]:
        key = id(t) if node is None else id(node)  # a box per graph node (an in-place op makes a new one)
        if key in ids:
            return ids[key], False
        ids[key] = f"t{len(ids)}"
        return ids[key], True

    def tensor_node(t: Tensor, nid: str, leaf: bool) -> str:
        label = f"{tuple(t.shape)} {t.dtype}"
        if id(t) in names:
            label = f"{names[id(t)]}: {label}"
        values = _values(t.data, max_values, precision)
        if values is not None:
            label += f"\ndata {values}"
        if show_grad and t.grad is not None:
            label += f"\ngrad {_describe(t.grad.data, max_values, precision)}"
        if t is tensor:
            style = 'style="filled,bold", fillcolor="#fde2c8", penwidth=2'
        elif leaf and t.requires_grad:
            style = 'style=filled, fillcolor="#cfe2ff"'
        elif leaf:
            style = 'style=filled, fillcolor="#eeeeee"'
        else:
            style = 'style=filled, fillcolor="#ffffff"'
        return f"  {nid} [shape=box, label={_quote(label)}, {style}];"

    root = autograd.node_of(tensor)
    root_id, _ = node_id(tensor, root)
    lines.append(tensor_node(tensor, root_id, tensor.is_leaf))
    stack = [(root_id, root)]
    while stack:  # an explicit stack, as the engine's, so deep graphs draw too
        nid_out, ctx = stack.pop()
        if not isinstance(ctx, autograd.Context):
            continue
        op = f"op{n_ops}"
        n_ops += 1
        freed = ctx.inputs is None
        label = ctx.fn.__name__ + ("\n(graph freed)" if freed else "")
        lines.append(f'  {op} [shape=ellipse, label={_quote(label)}, style=filled, fillcolor="#fff7c2"];')
        lines.append(f"  {op} -> {nid_out};")
        # ctx.inputs are the arguments as forward saw them; ctx.parents the graph's edges
        for a, node in () if freed else zip(ctx.inputs, ctx.parents):
            if isinstance(a, Tensor):
                nid, new = node_id(a, node)
                if new:
                    lines.append(tensor_node(a, nid, leaf=not isinstance(node, autograd.Context)))
                    stack.append((nid, node))
                lines.append(f"  {nid} -> {op};")
            elif isinstance(a, Number) and not isinstance(a, bool):
                const = f"c{n_consts}"
                n_consts += 1
                lines.append(f"  {const} [shape=plaintext, label={_quote(f'{a:.{precision}g}')}];")
                lines.append(f"  {const} -> {op};")
    lines.append("}")
    return Graph("\n".join(lines) + "\n", n_ops, len(ids))

"""The lecture style: a :class:`~viz.trace.Trace` turned into Graphviz DOT text.

CS231n convention, as in the lecture notes: gates are circles labelled by their op, inputs are
plain labels, and every edge carries the forward value above it (green) and the gradient below
it (red). With ``chain=True`` the red line reads ``upstream x local = downstream``. A value used
by several gates shows one edge per use, and its total gradient (the sum) beside the node.

A Tensor graph is drawn the same way. Every node's name carries its shape (``W (2, 2)``), and
where a number would stand an array stands instead: written out when it is small (at most
``DrawOptions.max_inline`` elements, a matrix one row per line), otherwise only its shape. All
of that text is made by :func:`format_value` and :func:`format_local`, the one place that knows
about arrays; scalar diagrams never reach it.

All text is placed in Graphviz HTML-like labels after escaping ``& < > "``, so labels holding
quotes, braces, angle brackets, backslashes or newlines show as typed and can neither break the
DOT text nor inject markup into the SVG.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import graphviz
import numpy as np
from numpy.typing import NDArray

from autograd.jacobians import Identity, LinearMap
from viz.layout import Layout
from viz.trace import Data, Local, Trace, TraceEdge, TraceNode

FORWARD_COLOR = "#2e7d32"  # green: forward values
GRADIENT_COLOR = "#c62828"  # red: gradients
UNKNOWN_COLOR = "#9e9e9e"  # grey: a gradient not computed yet
UNKNOWN = "?"
NOT_NEEDED = "not needed"  # the gradient of a Tensor made with requires_grad=False


@dataclass(frozen=True)
class DrawOptions:
    """How a diagram looks.

    Attributes:
        grads: show gradients (red). ``False`` draws the forward pass only.
        rankdir: ``"LR"`` (left to right, as in the lectures) or ``"TB"`` (top to bottom).
        precision: digits after the decimal point.
        chain: write each input edge's gradient as ``upstream x local = downstream``.
        max_inline: Tensor graphs only: arrays of at most this many elements are written out,
            larger ones shown by their shape alone.
    """

    grads: bool = True
    rankdir: str = "LR"
    precision: int = 2
    chain: bool = False
    max_inline: int = 6

    def __post_init__(self) -> None:
        if self.rankdir not in ("LR", "TB"):
            raise ValueError(f"rankdir must be 'LR' or 'TB', got {self.rankdir!r}")
        if not (isinstance(self.precision, int) and 0 <= self.precision <= 12):
            raise ValueError(f"precision must be an int from 0 to 12, got {self.precision!r}")
        if not (isinstance(self.max_inline, int) and self.max_inline >= 0):
            raise ValueError(f"max_inline must be an int 0 or more, got {self.max_inline!r}")


def format_number(x: float, precision: int) -> str:
    """Fixed-point with ``precision`` decimals; scientific where that would hide the value
    (|x| >= 1e5, or a non-zero x that would round to 0). Never prints ``-0``."""
    text = f"{x:.{precision}f}"
    # judged on the rounded text: 0.5 rounds (half to even) to "0", 99999.999 to "100000.00"
    if x != 0 and (float(text) == 0.0 or abs(float(text)) >= 1e5):
        return f"{x:.{max(precision, 1)}e}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text


# -- arrays (Tensor graphs) ----------------------------------------------------------------------


def is_small(x: NDArray[Any], max_inline: int) -> bool:
    """Whether an array is written out in full (at most ``max_inline`` elements, or 0-d)."""
    return x.ndim == 0 or x.size <= max_inline


def format_shape(shape: tuple[int, ...], dtype: str = "float64") -> str:
    """``(2, 2)``, ``(3,)``; ``float32`` is added since it differs from the default float64."""
    text = str(tuple(shape))
    return text if dtype == "float64" else f"{text} {dtype}"


def format_value(x: Data, precision: int, max_inline: int = 6, one_line: bool = False) -> str:
    """A forward value or gradient as text: a number as :func:`format_number` writes it; an
    array of at most ``max_inline`` elements written out (``[0.22, 0.26]``; a matrix one row
    per line unless ``one_line``); a larger array by its shape alone (``(64, 128)``). A 0-d
    array is a number, always written out."""
    if not isinstance(x, np.ndarray):
        return format_number(x, precision)
    if not is_small(x, max_inline):
        return format_shape(x.shape, str(x.dtype))

    def nested(a: Any, depth: int) -> str:
        if depth == x.ndim:
            return format_number(float(a), precision)
        separator = ", " if depth + 1 == x.ndim or one_line else ",\n" + " " * (depth + 1)
        return "[" + separator.join(nested(item, depth + 1) for item in a) + "]"

    return nested(x, 0)


def format_local(local: Local, precision: int, max_inline: int = 6, one_line: bool = False) -> str:
    """How a Tensor gate's local gradient turns ``upstream`` into ``downstream``, as text.

    A :class:`~autograd.jacobians.LinearMap` says it in its own ``formula`` (``upstream @
    bᵀ``); an elementwise array multiplies elementwise (``upstream × [0.22, 0.26]``, or
    ``upstream × local (64, 128)`` when large); a number multiplies (``upstream × -1.00``).
    (Plain ``×``, not ``⊙``: the fonts the bundled renderer draws PNGs with lack ``⊙``.)
    The identity of the add gate is written as the lecture's local gradient 1.
    """
    if isinstance(local, Identity):
        return "upstream × 1"
    if isinstance(local, LinearMap):
        return local.formula
    if isinstance(local, np.ndarray) and local.ndim > 0:
        array = local.astype(float) if local.dtype.kind == "b" else local  # relu's mask
        if not is_small(array, max_inline):
            return f"upstream × local {format_shape(array.shape)}"
        return f"upstream × {format_value(array, precision, max_inline, one_line)}"
    return f"upstream × {format_number(float(local), precision)}"


def is_tensor_step(upstream: Data | None, local: Local, downstream: Data | None) -> bool:
    """Whether an edge's ``upstream x local = downstream`` is about arrays, not numbers."""
    return isinstance(local, (np.ndarray, LinearMap)) or any(
        isinstance(x, np.ndarray) for x in (upstream, downstream)
    )


_LABEL_ESCAPES = {
    "\\": "\\\\",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "\n": "<br/>",
    "\t": " ",
}


def escape(text: str) -> str:
    """Text for a Graphviz HTML-like label: markup characters become entities, a newline a line
    break, a backslash a doubled one (Graphviz expands ``\\N``, ``\\G``... even in HTML-like
    labels), other control characters and non-characters the replacement character
    (Graphviz's XML parser rejects them; a lone surrogate cannot even be encoded)."""
    out = []
    for char in text:
        if char in _LABEL_ESCAPES:
            out.append(_LABEL_ESCAPES[char])
        elif (
            ord(char) < 32 or 0x7F <= ord(char) < 0xA0 or 0xD800 <= ord(char) < 0xE000
        ) or char in "\ufffe\uffff":
            out.append("\N{REPLACEMENT CHARACTER}")
        else:
            out.append(char)
    return "".join(out)


def _font(text: str, color: str, size: int | None = None) -> str:
    size_attr = f' point-size="{size}"' if size else ""
    return f'<font color="{color}"{size_attr}>{text}</font>'


def _html(*lines: str) -> str:
    return "<" + "<br/>".join(lines) + ">"


class _Styler:
    def __init__(self, options: DrawOptions) -> None:
        self.options = options

    def number(self, x: Data, one_line: bool = False) -> str:
        """A number, or an array (see :func:`format_value`)."""
        if isinstance(x, np.ndarray):
            return format_value(x, self.options.precision, self.options.max_inline, one_line)
        return format_number(x, self.options.precision)

    def forward(self, x: Data | None) -> str:
        if x is None:
            return _font(UNKNOWN, UNKNOWN_COLOR)
        return _font(escape(self.number(x)), FORWARD_COLOR)

    def gradient(self, x: Data | None) -> str:
        if x is None:
            return _font(UNKNOWN, UNKNOWN_COLOR)
        return _font(escape(self.number(x)), GRADIENT_COLOR)

    def chain_text(self, upstream: Data, local: Local, downstream: Data) -> str:
        """``1.00 × -4.00 = -4.00``; for arrays three lines: the upstream gradient, what the
        local gradient does with it, and the downstream gradient it gives."""
        if not is_tensor_step(upstream, local, downstream):
            assert not isinstance(local, (np.ndarray, LinearMap))
            return f"{self.number(upstream)} × {self.number(local)} = {self.number(downstream)}"
        options = self.options
        return (
            f"upstream {self.number(upstream)}\n"
            f"{format_local(local, options.precision, options.max_inline)}\n"
            f"= {self.number(downstream)}"
        )

    def edge_label(self, edge: TraceEdge, chain: bool) -> str:
        lines = [self.forward(edge.data)]
        if self.options.grads and not edge.needs_grad:
            lines.append(_font(NOT_NEEDED, UNKNOWN_COLOR))
        elif self.options.grads:
            if chain and edge.upstream is not None and edge.downstream is not None:
                text = self.chain_text(edge.upstream, edge.local, edge.downstream)
                lines.append(_font(escape(text), GRADIENT_COLOR))
            else:
                lines.append(self.gradient(edge.downstream))
        return _html(*lines)

    def output_label(self, root: TraceNode) -> str:
        lines = [self.forward(root.data)]
        if self.options.grads:
            lines.append(self.gradient(root.grad))
        return _html(*lines)

    def fan_in_sum(
        self, node: TraceNode, edges: Sequence[TraceEdge], hidden: int = 0
    ) -> str | None:
        """``-3.00 + 4.00 = 1.00`` for a value used more than once (the copy gate adds).

        While the backward pass is under way the terms not yet sent show as ``?``:
        ``-3.00 + ?`` is a gradient half accumulated. Uses outside a partial drawing
        (``hidden``) show as ``…``.
        """
        if not self.options.grads or len(edges) + hidden < 2 or not node.needs_grad:
            return None
        if all(edge.downstream is None for edge in edges):
            return _font(f"Σ {UNKNOWN}", UNKNOWN_COLOR, 10)
        if node.shape is not None:  # arrays: one term per line, each array on one line
            texts = [
                UNKNOWN if edge.downstream is None else self.number(edge.downstream, True)
                for edge in edges
            ] + ["…"] * hidden
            total = UNKNOWN if node.grad is None else self.number(node.grad, True)
            lines = [texts[0], *(f"+ {text}" for text in texts[1:]), f"= {total}"]
            return _font(escape("\n".join(lines)), GRADIENT_COLOR, 10)
        terms = " + ".join(
            [UNKNOWN if edge.downstream is None else self.number(edge.downstream) for edge in edges]
            + ["…"] * hidden
        )
        total = UNKNOWN if node.grad is None else self.number(node.grad)
        return _font(escape(f"{terms} = {total}"), GRADIENT_COLOR, 10)


HIGHLIGHT_FILL = "#fff59d"  # the gate a step-through frame is about


def _add_trace(
    graph: graphviz.Digraph,
    trace: Trace,
    styler: _Styler,
    prefix: str,
    layout: Layout | None = None,
) -> None:
    outgoing: dict[str, list[TraceEdge]] = {node.id: [] for node in trace.nodes}
    for edge in trace.edges:
        outgoing[edge.source].append(edge)

    statements: dict[str, list[tuple[str, dict[str, str]]]] = {}  # group -> its nodes
    for node in trace.nodes:
        name = prefix + node.id
        attrs: dict[str, str] = layout.node_attrs(name) if layout else {}
        if node.id == trace.highlight:
            attrs.update(style="filled", fillcolor=HIGHLIGHT_FILL, penwidth="2")
        fan_in = styler.fan_in_sum(node, outgoing[node.id], trace.cut_outputs.get(node.id, 0))
        if node.is_leaf:
            if node.shape:  # a Tensor (not 0-d): its name and shape, `W (2, 2)`
                text = escape(_tensor_title(node, trace.groups.get(node.id, ""), styler))
            else:
                text = escape(
                    _short_label(node, trace.groups.get(node.id, ""))
                    or styler.number(node.value.data)
                )
            attrs.update(label=_html(text, fan_in) if fan_in else _html(text), shape="plaintext")
        else:
            attrs["tooltip"] = graphviz.escape(f"{node.op}: {node.formula}")
            if fan_in is not None:
                attrs["xlabel"] = _html(fan_in)
            elif node.label and node is not trace.root and node.shape is None:
                # a named intermediate value (q, ...) gets its name beside its gate; the root's
                # name is already at the end of the output edge
                attrs["xlabel"] = _html(_font(escape(node.label), "#000000", 11))
            title = ""
            if node.shape is not None:
                # a Tensor gate: its output's name and shape inside the circle, under the op
                # (inside, because dot lays nodes out around their labels, not around xlabels)
                group = "" if node is trace.root else trace.groups.get(node.id, "")
                title = _tensor_title(node, group, styler, named=node is not trace.root)
            lines = [escape(node.symbol)]
            if title:
                lines.append(_font(escape(title), "#000000", 11))
            attrs.update(label=_html(*lines), shape="circle")
        statements.setdefault(trace.groups.get(node.id, ""), []).append((name, attrs))
    _add_grouped_nodes(graph, statements, prefix)

    seen: dict[tuple[str, str], int] = {}
    for edge in trace.edges:
        tail, head = prefix + edge.source, prefix + edge.target
        chain = styler.options.chain or edge.target == trace.highlight
        attrs = layout.edge_attrs(tail, head, seen) if layout else {}
        graph.edge(tail, head, label=styler.edge_label(edge, chain), **attrs)

    # Where a neighbourhood cuts the graph, stubs say that it goes on.
    stub = {"label": "…", "shape": "plaintext", "fontcolor": UNKNOWN_COLOR}
    for node_id, count in trace.cut_inputs.items():
        for k in range(count):
            graph.node(f"{prefix}{node_id}_in{k}", **stub)
            graph.edge(f"{prefix}{node_id}_in{k}", prefix + node_id, style="dashed")
    for node_id, count in trace.cut_outputs.items():
        for k in range(count):
            graph.node(f"{prefix}{node_id}_out{k}", **stub)
            graph.edge(prefix + node_id, f"{prefix}{node_id}_out{k}", style="dashed")

    # The output: an edge out of the root carrying its value and the seed gradient.
    root = trace.root
    if not any(node is root for node in trace.nodes):
        return
    out = prefix + "out"
    out_text = root.label if root.label and not root.is_leaf else ""
    if root.shape is not None and not root.is_leaf:
        out_text = _tensor_title(root, "", styler)
    out_attrs = layout.node_attrs(out) if layout else {}
    graph.node(
        out, label=_html(escape(out_text)) if out_text else "", shape="plaintext", **out_attrs
    )
    attrs = layout.edge_attrs(prefix + root.id, out, seen) if layout else {}
    graph.edge(prefix + root.id, out, label=styler.output_label(root), **attrs)


def _tensor_title(node: TraceNode, group: str, styler: _Styler, named: bool = True) -> str:
    """A Tensor node's name and shape: ``W (2, 2)``; a 0-d tensor (a number) has no shape to
    show. An unnamed leaf (a constant) is named by its value when that is small enough."""
    name = _short_label(node, group) if named else ""
    if not name and node.is_leaf:
        data = node.value.data  # even in a frame before it is computed: a label never changes
        if isinstance(data, np.ndarray) and is_small(data, styler.options.max_inline):
            name = styler.number(data)
    if not node.shape:
        return name
    shape = format_shape(node.shape, node.dtype)
    return f"{name} {shape}" if name else shape


def _short_label(node: TraceNode, group: str) -> str:
    """A label without the name of the box it is drawn in: ``w1`` inside ``layer1.neuron0``."""
    if group and node.label.startswith(group + "."):
        return node.label[len(group) + 1 :]
    return node.label


def _add_grouped_nodes(
    graph: graphviz.Digraph,
    statements: dict[str, list[tuple[str, dict[str, str]]]],
    prefix: str,
) -> None:
    """Emit node statements, each group as a labelled box nested by its dotted path."""
    for name, attrs in statements.get("", []):
        graph.node(name, **attrs)
    paths = sorted(group for group in statements if group)
    tree: set[str] = set()
    for path in paths:  # every prefix of a path is a box too: "layer1" holds "layer1.neuron0"
        parts = path.split(".")
        tree.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    numbers = {path: i for i, path in enumerate(sorted(tree))}

    def emit(parent: graphviz.Digraph, path: str) -> None:
        with parent.subgraph(name=f"cluster_{prefix}{numbers[path]}") as box:
            box.attr(
                label=_html(escape(path.rpartition(".")[2])),
                color="#bdbdbd",
                fontsize="12",
                labeljust="l",
            )
            for name, attrs in statements.get(path, []):
                box.node(name, **attrs)
            for child in sorted(tree):
                if child.rpartition(".")[0] == path:
                    emit(box, child)

    for top in sorted(path for path in tree if "." not in path):
        emit(graph, top)


FAN_OUT_LIMIT = 10


def _widest_fan_out(trace: Trace) -> int:
    uses: dict[str, int] = {}
    for edge in trace.edges:
        uses[edge.source] = uses.get(edge.source, 0) + 1
    return max(uses.values(), default=0)


def to_dot(
    traces: Sequence[Trace],
    options: DrawOptions,
    titles: Sequence[str] | None = None,
    layout: Layout | None = None,
) -> graphviz.Digraph:
    """DOT for one trace, or several side by side (each in a titled cluster).

    With a ``layout`` (one trace only) every node and edge is pinned where that layout put it,
    so a sequence of frames of the same graph never moves (see :mod:`viz.layout`).
    """
    graph = graphviz.Digraph("backprop")
    graph.attr(rankdir=options.rankdir, fontname="Helvetica", nodesep="0.35", ranksep="0.9")
    if max((_widest_fan_out(t) for t in traces), default=0) > FAN_OUT_LIMIT:
        # One value feeding dozens of labelled edges makes dot's network simplex crawl
        # (x+x+...+x with 60 terms: 17 s; with these limits 1.3 s). Ordinary graphs keep
        # the default, better-balanced layout.
        graph.attr(nslimit="1", nslimit1="1")
    graph.attr("node", fontname="Helvetica", fontsize="14", width="0.5", height="0.5")
    graph.attr("edge", fontname="Helvetica", fontsize="11", arrowsize="0.7")
    styler = _Styler(options)
    if len(traces) == 1 and not titles:
        trace = traces[0]
        if trace.caption is not None:
            graph.attr(label=_html(_caption_lines(trace.caption)), labelloc="t", fontsize="14")
        if layout is not None:
            graph.attr(**layout.graph_attrs())
        _add_trace(graph, trace, styler, prefix="", layout=layout)
        return graph
    if layout is not None:
        raise ValueError("a pinned layout is for one graph, not a sheet of several")
    for index, trace in enumerate(traces):
        with graph.subgraph(name=f"cluster_{index}") as cluster:
            if titles:
                cluster.attr(label=_html(escape(titles[index])), fontsize="16", color="#bdbdbd")
            _add_trace(cluster, trace, styler, prefix=f"g{index}_")
    return graph


#: A caption longer than this is broken into lines: a tensor step's caption (arrays, the VJP's
#: formula) runs to 200 characters, wider than the graph, and the bundled renderer measures
#: text narrower than it draws it, so a long single line would be cut off at the right.
CAPTION_WIDTH = 140


def _caption_lines(caption: str) -> str:
    """The caption escaped for an HTML label, broken at spaces into lines of CAPTION_WIDTH."""
    if len(caption) <= CAPTION_WIDTH:
        return escape(caption)
    return "<br/>".join(escape(line) for line in textwrap.wrap(caption, CAPTION_WIDTH))

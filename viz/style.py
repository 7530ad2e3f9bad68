"""The lecture style: a :class:`~viz.trace.Trace` turned into Graphviz DOT text.

CS231n convention, as in the lecture notes: gates are circles labelled by their op, inputs are
plain labels in the first column, in the order the formula names them, and every edge carries
the forward value above it (green) and the gradient below it (red), each centred on its own
edge (:mod:`viz.labels` says how). With ``chain=True`` the red line reads
``upstream x local = downstream``. A value used by several gates shows one edge per use; a
leaf's total gradient (the sum) is written under its name, a gate's on the edge from the gate
to the junction where its uses part. A number operand is drawn inside its gate (``* -1``).

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

import itertools
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import graphviz
import numpy as np
from numpy.typing import NDArray

from autograd.jacobians import Identity, LinearMap
from viz import markup
from viz.labels import LABEL_FONT_SIZE, MAX_LINE_THICKNESS, EdgeLabels, LabelSize
from viz.layout import Layout
from viz.trace import Data, Local, Trace, TraceEdge, TraceNode, stalled

FORWARD_COLOR = "#2e7d32"  # green: forward values
GRADIENT_COLOR = "#c62828"  # red: gradients
UNKNOWN_COLOR = "#9e9e9e"  # grey: a gradient not computed yet


@dataclass(frozen=True)
class Palette:
    """The colours of forward values, gradients and not-yet-known numbers. Position (value
    above the line, gradient below) carries the distinction on its own; colour repeats it."""

    forward: str
    gradient: str
    unknown: str = UNKNOWN_COLOR


PALETTES = {
    # the lectures' green and red (the pair a red-green colour-blind reader cannot tell apart)
    "lecture": Palette(FORWARD_COLOR, GRADIENT_COLOR),
    # Okabe and Ito's blue and vermillion, distinct in every common colour-vision deficiency
    "colorblind": Palette("#0072b2", "#d55e00"),
    # for printing in black and white: values near-black, gradients a dark grey
    "grey": Palette("#1a1a1a", "#595959", "#a6a6a6"),
}
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
        palette: ``"lecture"`` (green and red), ``"colorblind"`` (blue and vermillion) or
            ``"grey"`` (for printing); see :data:`PALETTES`.
        magnitude: draw each edge as thick as its gradient is large (dashed where the
            gradient is negative), mark saturated sigmoid/tanh gates and dead ReLUs, and add a
            legend saying so. Survives grey-scale printing.
        scientific: every number in scientific notation. ``viz.draw`` sets it when some
            number of the figure would otherwise need it (:func:`figure_needs_scientific`),
            so that one figure has one number format.
    """

    grads: bool = True
    rankdir: str = "LR"
    precision: int = 2
    chain: bool = False
    max_inline: int = 6
    palette: str = "lecture"
    magnitude: bool = False
    scientific: bool = False

    def __post_init__(self) -> None:
        if self.palette not in PALETTES:
            known = ", ".join(repr(p) for p in PALETTES)
            raise ValueError(f"palette must be one of {known}, got {self.palette!r}")
        if self.rankdir not in ("LR", "TB"):
            raise ValueError(f"rankdir must be 'LR' or 'TB', got {self.rankdir!r}")
        if not (isinstance(self.precision, int) and 0 <= self.precision <= 12):
            raise ValueError(f"precision must be an int from 0 to 12, got {self.precision!r}")
        if not (isinstance(self.max_inline, int) and self.max_inline >= 0):
            raise ValueError(f"max_inline must be an int 0 or more, got {self.max_inline!r}")


def needs_scientific(x: float, precision: int) -> bool:
    """Whether fixed-point with ``precision`` decimals would hide ``x``: |x| >= 1e5, or a
    non-zero x that would round to 0 (judged on the rounded text: 0.5 rounds, half to even,
    to "0", 99999.999 to "100000.00")."""
    text = f"{x:.{precision}f}"
    return x != 0 and (float(text) == 0.0 or abs(float(text)) >= 1e5)


def format_number(x: float, precision: int, scientific: bool = False) -> str:
    """Fixed-point with ``precision`` decimals; scientific where that would hide the value
    (see :func:`needs_scientific`), or everywhere with ``scientific``. Never prints ``-0``."""
    if scientific:
        return f"{abs(x) if x == 0 else x:.{max(precision, 1)}e}"  # 0 as 0.00e+00, never -0
    text = f"{x:.{precision}f}"
    if needs_scientific(x, precision):
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


def format_value(
    x: Data, precision: int, max_inline: int = 6, one_line: bool = False, scientific: bool = False
) -> str:
    """A forward value or gradient as text: a number as :func:`format_number` writes it; an
    array of at most ``max_inline`` elements written out (``[0.22, 0.26]``; a matrix one row
    per line unless ``one_line``); a larger array by its shape alone (``(64, 128)``). A 0-d
    array is a number, always written out."""
    if not isinstance(x, np.ndarray):
        return format_number(x, precision, scientific)
    if not is_small(x, max_inline):
        return format_shape(x.shape, str(x.dtype))

    def nested(a: Any, depth: int) -> str:
        if depth == x.ndim:
            return format_number(float(a), precision, scientific)
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
    def __init__(self, options: DrawOptions, largest: float = 0.0) -> None:
        """``largest``: the figure's largest |gradient|, the scale of ``magnitude=True``."""
        self.options = options
        self.palette = PALETTES[options.palette]
        self.largest = largest

    def thickness(self, gradient: Data | None) -> tuple[int, bool]:
        """(line thickness in points, whether the gradient is negative) for an edge: 1 point
        without ``magnitude`` or a known gradient, else 1 to MAX_LINE_THICKNESS in proportion
        to |gradient| (an array's largest element) over the figure's largest."""
        if not self.options.magnitude or gradient is None or self.largest == 0:
            return 1, False
        size = float(np.max(np.abs(gradient)))
        negative = bool(np.all(np.asarray(gradient) < 0))
        return 1 + round((MAX_LINE_THICKNESS - 1) * size / self.largest), negative

    def number(self, x: Data, one_line: bool = False) -> str:
        """A number, or an array (see :func:`format_value`), in the figure's one format."""
        options = self.options
        if isinstance(x, np.ndarray):
            return format_value(
                x, options.precision, options.max_inline, one_line, options.scientific
            )
        return format_number(x, options.precision, options.scientific)

    def forward(self, x: Data | None) -> str:
        if x is None:
            return _font(UNKNOWN, self.palette.unknown)
        return _font(escape(self.number(x)), self.palette.forward)

    def gradient(self, x: Data | None) -> str:
        if x is None:
            return _font(UNKNOWN, self.palette.unknown)
        return _font(escape(self.number(x)), self.palette.gradient)

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

    def gradient_text(self, edge: TraceEdge, chain: bool) -> str:
        """What goes below an input edge: its gradient, ``upstream × local = downstream``, ``?``
        before it is known, ``not needed`` for data; nothing in a forward-only drawing."""
        if not self.options.grads:
            return ""
        if not edge.needs_grad:
            return _font(NOT_NEEDED, self.palette.unknown)
        if chain and edge.upstream is not None and edge.downstream is not None:
            text = self.chain_text(edge.upstream, edge.local, edge.downstream)
            return _font(escape(text), self.palette.gradient)
        return self.gradient(edge.downstream)

    def fan_in_sum(
        self, node: TraceNode, edges: Sequence[TraceEdge], hidden: int = 0
    ) -> tuple[str, str] | None:
        """The gradient of a value used more than once (the copy gate adds), and its tooltip.

        ``-3.00 + 4.00 = 1.00``; with more than :data:`MAX_SUM_TERMS` terms only the total,
        ``Σ = 1.00``, the terms going to the tooltip. While the backward pass is under way the
        terms not yet sent show as ``?``: ``-3.00 + ?`` is a gradient half accumulated. Uses
        outside a partial drawing (``hidden``) show as ``…``. ``None`` where there is no sum.
        """
        if not self.options.grads or len(edges) + hidden < 2 or not node.needs_grad:
            return None
        one_line = node.shape is not None  # arrays: each on one line
        unknown = all(edge.downstream is None for edge in edges)
        if unknown and (not one_line or len(edges) + hidden > MAX_SUM_TERMS):
            return _font(f"Σ {UNKNOWN}", self.palette.unknown), ""
        texts = [
            UNKNOWN if edge.downstream is None else self.number(edge.downstream, one_line)
            for edge in edges
        ] + ["…"] * hidden
        total = UNKNOWN if node.grad is None else self.number(node.grad, one_line)
        terms = " + ".join(texts)
        if len(texts) > MAX_SUM_TERMS:
            return _font(escape(f"Σ = {total}"), self.palette.gradient), f"{terms} = {total}"
        if node.shape is not None:  # arrays: one term per line, as many lines from the start
            lines = [texts[0], *(f"+ {text}" for text in texts[1:]), f"= {total}"]
            color = self.palette.unknown if unknown else self.palette.gradient
            return _font(escape("\n".join(lines)), color), ""
        return _font(escape(f"{terms} = {total}"), self.palette.gradient), ""


#: A value's gradient sum with more terms than this is written ``Σ = total`` (terms in the
#: tooltip): the sum of a value used eight times is wider than the drawing around it.
MAX_SUM_TERMS = 3

HIGHLIGHT_FILL = "#fff59d"  # the gate a step-through frame is about
HIGHLIGHT_PEN = "2"  # its outline, and the lines into it, in points


#: A node's summed gradient (and its tooltip) in a state of the trace, if it has one.
FanIn = Callable[[Trace], "tuple[str, str] | None"]


@dataclass(frozen=True)
class LabelRecipe:
    """How one DOT node's label is written from a state of its trace, and what it reads.

    A step-through's frames are states of one trace (same nodes and edges, in the same order;
    only values, gradients, the highlight and the caption differ). So a frame need not be
    drawn again: each label that can change is rewritten from its recipe, and only in the
    frames where something it reads has changed (see :mod:`viz.picture`).

    Attributes:
        nodes: positions in ``trace.nodes`` of the nodes the label shows.
        edges: positions in ``trace.edges`` of the edges it shows.
        gate: the gate whose highlight changes it (an input edge's label turns into
            ``upstream × local = downstream`` while its gate is highlighted), or ``None``.
        write: the label's markup (Graphviz HTML-like) for a state of the trace.
    """

    nodes: tuple[int, ...]
    edges: tuple[int, ...]
    gate: str | None
    write: Callable[[Trace], str]


def _add_trace(
    graph: graphviz.Digraph,
    trace: Trace,
    styler: _Styler,
    prefix: str,
    labels: EdgeLabels,
    layout: Layout | None = None,
    in_cluster: bool = False,
    recipes: dict[str, LabelRecipe] | None = None,
    highlightable: bool = False,
    blank: bool = False,
) -> None:
    """Add ``trace`` to ``graph``. With ``recipes`` (a dict), also record there how every label
    that can change is written (see :class:`LabelRecipe`); ``blank`` writes those labels with
    a blank for each line of text, and ``highlightable`` gives every node an invisible
    background: the one picture a step-through's frames fill in (see :mod:`viz.picture`)."""
    position = {node.id: i for i, node in enumerate(trace.nodes)}
    outgoing, entering = trace.edge_positions()
    incoming = {n: [trace.edges[j] for j in edges] for n, edges in entering.items()}
    by_id = {node.id: node for node in trace.nodes}
    uses_of = {
        node.id: len(outgoing[node.id]) + trace.cut_outputs.get(node.id, 0) for node in trace.nodes
    }
    into_label, out_of_label = labels.ports()
    seen: dict[tuple[str, str], int] = {}

    def pinned(name: str) -> dict[str, str]:
        return layout.node_attrs(name) if layout else {}

    def record(name: str, label: str, recipe: LabelRecipe) -> str:
        """``label`` (what ``recipe`` writes for this trace), the recipe kept under ``name``;
        blanked for a step-through's picture (see :func:`viz.markup.blank`)."""
        if recipes is not None:
            recipes[name] = recipe
        return f"<{markup.blank(label[1:-1])}>" if blank else label

    def labelled_edge(
        tail: str,
        head: str,
        label: str,
        texts: Callable[[Trace], tuple[str, str, Data | None]],
        reads: tuple[tuple[int, ...], tuple[int, ...], str | None],
        highlight: bool = False,
        tooltip: str = "",
        arrow: bool = True,
        parting: bool = False,
    ) -> None:
        """``tail -> label -> head``, the label node showing ``texts(state)`` = (``top``, above
        the line; ``bottom``, below it; the gradient, for ``magnitude=True``'s thickness).
        ``reads``: the (nodes, edges, gate) the texts depend on (see :class:`LabelRecipe`).
        ``parting``: the edge to a junction, a rank longer, so the uses part after its text."""

        def write(state: Trace) -> str:
            top, bottom, gradient = texts(state)
            return labels.node(label, top, bottom, styler.thickness(gradient)[0])["label"]

        top, bottom, gradient = texts(trace)
        thickness, negative = styler.thickness(gradient)
        attrs = {**labels.node(label, top, bottom, thickness), **pinned(label)}
        attrs["label"] = record(label, attrs["label"], LabelRecipe(*reads, write))
        if layout:  # room for the line's 2 extra points (see EdgeLabels.node)
            key = "width" if labels.lr else "height"
            attrs[key] = f"{float(attrs[key]) + 3 / 72:.4f}"
        if tooltip:
            attrs["tooltip"] = graphviz.escape(tooltip)
        group = trace.groups.get(group_of[label], "") if group_of[label] else ""
        statements.setdefault(group, []).append((label, attrs))
        style = {"penwidth": HIGHLIGHT_PEN} if highlight else {}
        if styler.options.magnitude:
            style = {"penwidth": str(thickness)}
            if negative:
                style["style"] = "dashed"
        first = layout.edge_attrs(tail, label, seen) if layout else {}
        second = layout.edge_attrs(label, head, seen) if layout else {}
        pending_edges.append(
            (
                tail,
                label,
                {
                    "headport": into_label,
                    "headclip": "false",
                    "arrowhead": "none",
                    **({"minlen": "2"} if group_of[label] == "" and trace.groups else {}),
                    **style,
                    **first,
                },
            )
        )
        pending_edges.append(
            (
                label,
                head,
                {
                    "tailport": out_of_label,
                    "tailclip": "false",
                    **({} if arrow else {"arrowhead": "none"}),
                    **({"minlen": "2"} if parting else {}),
                    **style,
                    **second,
                },
            )
        )

    statements: dict[str, list[tuple[str, dict[str, str]]]] = {}  # group -> its nodes
    pending_edges: list[tuple[str, str, dict[str, str]]] = []
    group_of: dict[str, str] = {}  # label or junction node -> the trace node whose group it joins
    tails: dict[str, str] = {}  # trace node id -> the DOT node its uses leave from
    for i, node in enumerate(trace.nodes):
        name = prefix + node.id
        tails[node.id] = name
        uses = tuple(outgoing[node.id])
        hidden = trace.cut_outputs.get(node.id, 0)
        attrs: dict[str, str] = pinned(name)
        if highlightable:  # filled with nothing, until a frame highlights it
            attrs.update(style="filled", fillcolor="transparent")
        if node.id == trace.highlight:
            attrs.update(style="filled", fillcolor=HIGHLIGHT_FILL, penwidth=HIGHLIGHT_PEN)

        def fan_in(
            state: Trace, i: int = i, uses: tuple[int, ...] = uses, hidden: int = hidden
        ) -> tuple[str, str] | None:
            """The node's summed gradient where it is used more than once (and its tooltip)."""
            return styler.fan_in_sum(state.nodes[i], [state.edges[j] for j in uses], hidden)

        if node.is_leaf:
            group = trace.groups.get(node.id, "")

            def leaf_label(
                state: Trace, i: int = i, group: str = group, fan_in: FanIn = fan_in
            ) -> str:
                text = escape(_node_title(state.nodes[i], group, styler))
                total = fan_in(state)
                if total is None:
                    return _html(text)
                return _html(text, f'<font point-size="{LABEL_FONT_SIZE}">{total[0]}</font>')

            recipe = LabelRecipe((i,), uses, None, leaf_label)
            attrs["label"] = record(name, leaf_label(trace), recipe)
            terms = fan_in(trace)
            if terms is not None and terms[1]:
                attrs["tooltip"] = graphviz.escape(f"gradient of {node.label}: {terms[1]}")
            attrs["shape"] = "plaintext"
        elif node.op == "collapsed":  # a whole neuron or layer (viz.collapse)
            box_name, *formulas = node.symbol.split("\n")
            lines = [
                f"<b>{escape(box_name)}</b>",
                *(_font(escape(f), "#000000", 11) for f in formulas),
            ]
            if node.stalled and styler.options.magnitude:  # in words, as on a gate
                lines.append(_font(escape(node.stalled), "#000000", 9))
                attrs["peripheries"] = "2"
            attrs.update(label=_html(*lines), shape="box", style="rounded", margin="0.12,0.06")
            attrs["tooltip"] = graphviz.escape(node.formula)
            if node.id == trace.highlight or highlightable:
                attrs["style"] = "rounded,filled"
        else:
            attrs["tooltip"] = graphviz.escape(f"{node.symbol} gate: {node.formula}")
            title = ""
            if node.shape is not None:
                # a Tensor gate: its output's name and shape inside the circle, under the op
                group = "" if node is trace.root else trace.groups.get(node.id, "")
                title = _tensor_title(node, group, styler, named=node is not trace.root)
            lines = [escape(node.symbol)]
            if title:
                lines.append(_font(escape(title), "#000000", 11))
            warning = stalled(node, incoming[node.id]) if styler.options.magnitude else ""
            if warning:  # in words, so it survives printing in grey
                lines.append(_font(warning, "#000000", 9))
                attrs["peripheries"] = "2"
            attrs.update(label=_html(*lines), shape="circle")
        if not node.is_leaf and not any(uses_of[e.source] > 1 for e in incoming[node.id]):
            # inputs in argument order, so leaves read as the formula is written (w0, x0,
            # w1, x1; a layer's neuron0, neuron1, ...); not where an input is shared, which
            # would force a crossing
            attrs["ordering"] = "in"
        statements.setdefault(trace.groups.get(node.id, ""), []).append((name, attrs))
        if (
            not node.is_leaf
            and uses_of[node.id] >= 2
            and node is not trace.root
            and node.outputs == 1
        ):
            # A gate whose value is used more than once: one edge to a junction carries the
            # value and its summed gradient, then one edge per use carries that use's share.
            junction, total = f"{name}_copy", f"{name}_sum"
            group_of[junction] = group_of[total] = node.id
            statements.setdefault(trace.groups.get(node.id, ""), []).append(
                (
                    junction,
                    {
                        **pinned(junction),
                        "shape": "point",
                        "width": "0.06",
                        "height": "0.06",
                        "label": "",
                    },
                )
            )

            def sum_texts(
                state: Trace, i: int = i, fan_in: FanIn = fan_in
            ) -> tuple[str, str, Data | None]:
                node = state.nodes[i]
                total = fan_in(state)
                gradient = node.grad if styler.options.grads else None
                return _value_text(node, styler), total[0] if total else "", gradient

            terms = fan_in(trace)
            tooltip = terms[1] if terms is not None else ""
            labelled_edge(
                name,
                junction,
                total,
                sum_texts,
                ((i,), uses, None),
                tooltip=tooltip and f"gradient of this value: {tooltip}",
                arrow=False,
                parting=True,
            )
            tails[node.id] = junction

    # Inside a cluster (a sheet of several graphs) dot orders a node's inputs bottom to top,
    # the reverse of a graph without one, so there the inputs are written in reverse.
    edges = list(enumerate(trace.edges))
    for j, edge in reversed(edges) if in_cluster else edges:
        label = f"{prefix}{edge.source}_{edge.target}_{edge.index}"
        # An edge between two boxes (one layer's output into the next layer's neuron) has its
        # label outside both, one rank further on, so the next box starts after this one ends.
        # (An input outside every box feeds the box's gate through a label inside the box.)
        crossing = edge.source in trace.groups and trace.groups[edge.source] != trace.groups.get(
            edge.target, ""
        )
        group_of[label] = "" if crossing else edge.target
        source = by_id[edge.source]
        named_gate = (
            not source.is_leaf
            and source.op != "collapsed"  # a box is named inside it; its outputs differ
            and tails[edge.source] == prefix + edge.source
        )

        def edge_texts(
            state: Trace, j: int = j, named_gate: bool = named_gate
        ) -> tuple[str, str, Data | None]:
            """Above: the value (named where its gate has a name); below: the gradient, in
            ``upstream × local = downstream`` form while its gate is highlighted."""
            edge = state.edges[j]
            source = state.nodes[position[edge.source]]
            top = _value_text(source, styler) if named_gate else styler.forward(edge.data)
            chain = styler.options.chain or edge.target == state.highlight
            gradient = edge.downstream if styler.options.grads else None
            return top, styler.gradient_text(edge, chain), gradient

        labelled_edge(
            tails[edge.source],
            prefix + edge.target,
            label,
            edge_texts,
            ((position[edge.source],), (j,), edge.target),
            highlight=edge.target == trace.highlight,
        )

    # The output: an edge out of the root carrying its value and the seed gradient.
    root = trace.root
    root_drawn = root.id in position and trace.nodes[position[root.id]] is root
    if root_drawn:
        out = prefix + "out"
        out_text = root.label if root.label and not root.is_leaf else ""
        if root.op == "collapsed":
            out_text = ""  # the box says what it is
        if root.shape is not None and not root.is_leaf:
            out_text = _tensor_title(root, "", styler)
        group_of[out] = group_of[out + "_label"] = ""
        statements.setdefault("", []).append(
            (
                out,
                {
                    **pinned(out),
                    "label": _html(escape(out_text)) if out_text else "",
                    "shape": "plaintext",
                },
            )
        )

        def out_texts(state: Trace, i: int = position[root.id]) -> tuple[str, str, Data | None]:
            root = state.nodes[i]
            if not styler.options.grads:
                return styler.forward(root.data), "", None
            return styler.forward(root.data), styler.gradient(root.grad), root.grad

        labelled_edge(
            prefix + root.id, out, out + "_label", out_texts, ((position[root.id],), (), None)
        )

    if not trace.cut_inputs and layout is None:
        # All inputs in the first column, in the order they are written (w0, x0, w1, x1, w2),
        # as the slides draw them. (Not those in boxes: dot cannot rank across boxes; in an
        # MLP they are the parameters, drawn beside their gates.)
        leaves = [
            prefix + node.id for node in trace.nodes if node.is_leaf and node.id not in trace.groups
        ]
        with graph.subgraph() as first_column:
            first_column.attr(rank="source")
            for name in leaves:
                first_column.node(name)
    _add_grouped_nodes(graph, statements, prefix, layout)
    if layout is None:
        _stack_in_order(graph, trace, prefix)
    for tail, head, attrs in pending_edges:
        graph.edge(tail, head, **attrs)

    # Where a neighbourhood cuts the graph, stubs say that it goes on.
    stub = {"label": "…", "shape": "plaintext", "fontcolor": UNKNOWN_COLOR}
    for node_id, count in trace.cut_inputs.items():
        for k in range(count):
            name = f"{prefix}{node_id}_in{k}"
            graph.node(name, **stub, **pinned(name))
            attrs = layout.edge_attrs(name, prefix + node_id, seen) if layout else {}
            graph.edge(name, prefix + node_id, style="dashed", **attrs)
    for node_id, count in trace.cut_outputs.items():
        for k in range(count):
            name = f"{prefix}{node_id}_out{k}"
            graph.node(name, **stub, **pinned(name))
            attrs = layout.edge_attrs(tails[node_id], name, seen) if layout else {}
            graph.edge(tails[node_id], name, style="dashed", **attrs)


def _stack_in_order(graph: graphviz.Digraph, trace: Trace, prefix: str) -> None:
    """Collapsed neurons of one layer side by side in one column, neuron0 first: a rank of
    their own, chained by invisible edges (dot keeps such flat edges in order)."""
    layers: dict[str, list[str]] = {}
    for node in trace.nodes:
        if node.op == "collapsed" and "." in node.label:
            layers.setdefault(node.label.rpartition(".")[0], []).append(node.label)
    ids = {node.label: prefix + node.id for node in trace.nodes if node.op == "collapsed"}
    for boxes in layers.values():
        if len(boxes) < 2:
            continue
        ordered = [ids[b] for b in sorted(boxes, key=_natural)]
        with graph.subgraph() as column:
            column.attr(rank="same")
            for upper, lower in itertools.pairwise(ordered):
                column.edge(upper, lower, style="invis")


def _value_text(node: TraceNode, styler: _Styler) -> str:
    """The forward value leaving a gate, with the value's name where it has one: ``q = 3.00``."""
    value = styler.forward(node.data)
    if node.label and node.shape is None and node.op != "collapsed":  # a box has its name
        return _font(escape(f"{node.label} = "), "#000000") + value
    return value


def _node_title(node: TraceNode, group: str, styler: _Styler) -> str:
    """What a leaf shows: its name (a Tensor's with its shape), else its value."""
    if node.shape:  # a Tensor (not 0-d): its name and shape, `W (2, 2)`
        return _tensor_title(node, group, styler)
    return _short_label(node, group) or styler.number(node.value.data)


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


def _natural(text: str) -> list[Any]:
    """A sort key that orders the numbers in names by value: neuron2 before neuron10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _add_grouped_nodes(
    graph: graphviz.Digraph,
    statements: dict[str, list[tuple[str, dict[str, str]]]],
    prefix: str,
    layout: Layout | None = None,
) -> None:
    """Emit node statements, each group as a labelled box nested by its dotted path (where
    the box is, too, when the drawing is pinned to a layout)."""
    for name, attrs in statements.get("", []):
        graph.node(name, **attrs)
    paths = sorted(group for group in statements if group)
    tree: set[str] = set()
    for path in paths:  # every prefix of a path is a box too: "layer1" holds "layer1.neuron0"
        parts = path.split(".")
        tree.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    numbers = {path: i for i, path in enumerate(sorted(tree))}

    def emit(parent: graphviz.Digraph, path: str) -> None:
        name = f"cluster_{prefix}{numbers[path]}"
        with parent.subgraph(name=name) as box:
            if layout is not None and name in layout.clusters:
                box.attr(bb=layout.clusters[name])
            box.attr(
                label=_html(escape(path.rpartition(".")[2])),
                color="#bdbdbd",
                fontsize="12",
                labeljust="l",
            )
            for name, attrs in statements.get(path, []):
                box.node(name, **attrs)
            for child in boxes_in(path):
                emit(box, child)

    def boxes_in(parent: str) -> list[str]:
        """The boxes directly inside ``parent`` in natural order (neuron2 before neuron10),
        written in reverse: dot stacks sibling boxes bottom to top, so neuron0 ends on top."""
        children = [p for p in tree if "." in p and p.rpartition(".")[0] == parent]
        if not parent:
            children = [p for p in tree if "." not in p]
        return sorted(children, key=_natural, reverse=True)

    for top in boxes_in(""):
        emit(graph, top)


def to_dot(
    traces: Sequence[Trace],
    options: DrawOptions,
    titles: Sequence[str] | None = None,
    layout: Layout | None = None,
    sizes: dict[str, LabelSize] | None = None,
    recipes: dict[str, LabelRecipe] | None = None,
    picture: bool = False,
) -> graphviz.Digraph:
    """DOT for one trace, or several side by side (each in a titled cluster).

    With a ``layout`` every node and edge is pinned where that layout put it, so every drawing
    of the graph (forward only, with gradients, each step-through frame) has the same canvas
    and nothing moves (see :mod:`viz.layout`). Without one, ``sizes`` (if given) receives the
    room each edge label takes, for the layout to keep.

    ``recipes`` (a dict, one trace only) receives how each label that can change is written
    (:class:`LabelRecipe`). ``picture=True`` draws the one picture a step-through's frames
    fill in: those labels and the caption with a blank per line of text, every node with an
    invisible background to highlight it by (see :mod:`viz.picture`).
    """
    if (recipes is not None or picture) and len(traces) != 1:
        raise ValueError("label recipes and pictures are made for one trace at a time")
    graph = graphviz.Digraph("backprop")
    graph.attr(rankdir=options.rankdir, fontname="Helvetica", nodesep="0.12", ranksep="0.22")
    graph.attr("node", fontname="Helvetica", fontsize="14", width="0.5", height="0.5")
    graph.attr("edge", fontname="Helvetica", fontsize="11", arrowsize="0.7")
    styler = _Styler(options, _largest_gradient(traces) if options.magnitude else 0.0)
    if options.magnitude:
        graph.attr(
            label=_html(_font(escape(_legend(styler.largest, options.precision)), "#000000", 11)),
            labelloc="b",
            labeljust="l",
        )
    if layout is not None:
        labels = EdgeLabels(
            options.rankdir,
            options.magnitude,
            layout.label_sizes,
            layout.label_spans(options.rankdir),
        )
    else:
        labels = EdgeLabels(options.rankdir, options.magnitude, None, None)
    if len(traces) == 1 and not titles:
        trace = traces[0]
        if trace.caption is not None:
            caption = caption_markup(trace.caption)
            if picture:
                caption = markup.blank(caption)
            graph.attr(label=_html(caption), labelloc="t", fontsize="14")
        if layout is not None:
            graph.attr(**layout.graph_attrs())
        _add_trace(
            graph,
            trace,
            styler,
            prefix="",
            labels=labels,
            layout=layout,
            recipes=recipes,
            highlightable=picture,
            blank=picture,
        )
    else:
        if layout is not None:
            graph.attr(**layout.graph_attrs())
        # dot stacks clusters bottom to top: written in reverse, the first graph is on top
        for index, trace in reversed(list(enumerate(traces))):
            name = f"cluster_{index}"
            with graph.subgraph(name=name) as cluster:
                if titles:
                    cluster.attr(label=_html(escape(titles[index])), fontsize="16", color="#bdbdbd")
                if layout is not None and name in layout.clusters:
                    cluster.attr(bb=layout.clusters[name])
                _add_trace(
                    cluster,
                    trace,
                    styler,
                    prefix=f"g{index}_",
                    labels=labels,
                    layout=layout,
                    in_cluster=True,
                )
    if layout is not None:
        for name, attrs in layout.canvas_nodes().items():
            graph.node(name, **attrs)
    if sizes is not None and layout is None:
        sizes.update(labels.sizes)
    return graph


def figure_needs_scientific(traces: Sequence[Trace], options: DrawOptions) -> bool:
    """Whether any value, gradient or local derivative the figure writes out would be hidden
    by fixed-point (0.0009 at 2 decimals): then the whole figure is written in scientific
    notation, not ``8.88e-04`` beside ``0.21``. (Arrays too large to write out don't count.)"""
    numbers: list[Any] = []
    for t in traces:
        numbers += [n.data for n in t.nodes] + [n.grad for n in t.nodes]
        numbers += [e.downstream for e in t.edges] + [e.upstream for e in t.edges]
        numbers += [e.local for e in t.edges if not isinstance(e.local, LinearMap)]
    return any(
        needs_scientific(float(x), options.precision)
        for value in numbers
        if value is not None and np.size(value) <= max(options.max_inline, 1)
        for x in np.ravel(np.asarray(value, dtype=float))
    )


def _largest_gradient(traces: Sequence[Trace]) -> float:
    """The largest |gradient| on any edge or node of the figure (an array's largest
    element): the scale of the thickest line (a value's summed gradient is drawn too)."""
    sizes = [
        float(np.max(np.abs(g)))
        for t in traces
        for g in [*(e.downstream for e in t.edges), *(n.grad for n in t.nodes)]
        if g is not None
    ]
    return max(sizes, default=0.0)


def _legend(largest: float, precision: int) -> str:
    return (
        f"line width: |gradient| (thickest: {format_number(largest, precision)}); "
        "dashed: gradient < 0; saturated: σ or tanh on its flat tail; "
        "dead: ReLU at 0 (no gradient gets through)"
    )


#: A caption longer than this is broken into lines: a tensor step's caption (arrays, the VJP's
#: formula) runs to 200 characters, wider than the graph, and the bundled renderer measures
#: text narrower than it draws it, so a long single line would be cut off at the right.
CAPTION_WIDTH = 140


def caption_markup(caption: str) -> str:
    """The caption escaped for an HTML label, broken at spaces into lines of CAPTION_WIDTH."""
    if len(caption) <= CAPTION_WIDTH:
        return escape(caption)
    return "<br/>".join(escape(line) for line in textwrap.wrap(caption, CAPTION_WIDTH))

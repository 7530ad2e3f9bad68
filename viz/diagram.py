"""``viz.draw``: a lecture-style diagram of a graph, shown in Jupyter and saved for slides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograd import Tensor, Value
from viz.collapse import collapse as collapse_groups
from viz.focus import Grouping, with_groups
from viz.focus import around as focus_around
from viz.labels import LabelSize
from viz.layout import Layout, compute_layout
from viz.render import (
    RenderError,
    check_png_size,
    format_for,
    png_dpi,
    render,
    write_atomically,
)
from viz.style import DrawOptions, figure_needs_scientific, to_dot
from viz.tikz import standalone_tex
from viz.trace import Node, Trace, TraceNode, fold_constants, folds_constants, trace

#: Graphs larger than this are refused by default: unreadable, and slow for Graphviz to lay out.
MAX_NODES = 2000

#: Drawings whose :func:`layout_cost` is over this are refused by default (see
#: :func:`check_layout_cost`): the largest the lecture's renderers lay out in seconds.
MAX_LAYOUT_COST = 5000
#: Over this :func:`layout_cost`, ``dot`` is told to stop balancing the layout early
#: (``nslimit``): without that, a sum of 70 products (cost 2,346) takes 9 s instead of 2,
#: one of 100 products (4,851) over a minute instead of 10 s.
QUICK_LAYOUT_COST = 1000


class Diagram:
    """A rendered-on-demand diagram.

    In Jupyter it displays itself as SVG. ``save(path)`` writes ``.svg``, ``.png``, ``.pdf``,
    ``.dot`` or ``.tex`` (a TikZ picture in a LaTeX document, see :mod:`viz.tikz`), with or
    without a system Graphviz; ``save("fig.png", scale=3)`` (or ``dpi=288``) makes a PNG sharp
    enough for a projector.
    """

    def __init__(self, source: str, error: RenderError | None = None) -> None:
        self._source = source
        self._svg: str | None = None
        self._error = error

    @property
    def source(self) -> str:
        """The DOT text (deterministic: the same graph gives the same text)."""
        return self._source

    def svg(self) -> str:
        """The diagram as SVG text (rendered once, then cached)."""
        if self._error is not None:
            raise self._error
        if self._svg is None:
            self._svg = render(self.source, "svg").decode("utf-8")
        return self._svg

    def save(
        self, path: str | Path, *, scale: float | None = None, dpi: float | None = None
    ) -> Path:
        """Write the diagram to ``path``; the suffix picks the format. Returns the path.

        For a ``.png``, ``scale`` multiplies the default 96 dpi (``scale=3`` for slides), or
        ``dpi`` sets the resolution directly; give one, not both. They are refused for ``.svg``,
        ``.pdf``, ``.dot`` and ``.tex``, which are not made of pixels, and outside 12 to 1200 dpi
        or past 100 megapixels (``ValueError``, saying what to pass). The file is written
        atomically: after an error there is no partial file.
        """
        target = Path(path)
        write_atomically(target, self.file_bytes(format_for(target), scale=scale, dpi=dpi))
        return target

    def file_bytes(
        self, fmt: str, *, scale: float | None = None, dpi: float | None = None
    ) -> bytes:
        """The content of a ``fmt`` file (``"svg"``, ``"png"``, ``"pdf"``, ``"dot"``, ``"tex"``);
        SVG is rendered once and cached, and TeX is converted from it. ``scale`` or ``dpi`` set
        a PNG's resolution, as in :meth:`save`; they are checked (size included) before anything
        is rendered at it."""
        resolution = png_dpi(fmt, scale, dpi)
        if fmt == "svg":
            return self.svg().encode("utf-8")
        if fmt == "tex":
            return standalone_tex(self.svg()).encode("utf-8")
        if resolution is None:
            return render(self.source, fmt)
        check_png_size(self.svg(), resolution)
        return render(self.source, fmt, dpi=resolution)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg()}
        except RenderError as error:
            return {"text/plain": f"{error}\n\n{self.source}"}

    def __repr__(self) -> str:
        lines = self.source.count("\n")
        return f"<Diagram: {lines} lines of DOT; .save('fig.svg') or display in Jupyter>"


def draw(
    root: Node | Sequence[Node],
    *,
    grads: bool = True,
    rankdir: str = "LR",
    precision: int = 2,
    chain: bool = False,
    titles: Sequence[str] | None = None,
    group: str | Grouping | None = None,
    around: Node | None = None,
    radius: int = 2,
    max_nodes: int = MAX_NODES,
    max_layout_cost: int | None = None,
    max_inline: int = 6,
    palette: str = "lecture",
    magnitude: bool = False,
    constants: str = "fold",
    collapse: str | None = None,
) -> Diagram:
    """Draw the graph below ``root`` in the lecture style.

    Gates are circles labelled by their op; each edge shows the forward value (green, above)
    and the gradient (red, below). Before ``root.backward()`` the gradients show as ``?``.
    For graphs too big to read, ``group`` boxes nodes by name and ``around`` draws only one
    neighbourhood (see :mod:`viz.focus`).

    A Tensor graph draws the same way, each node named with its shape (``W (2, 2)``) and each
    array written out when it has at most ``max_inline`` elements, else shown by its shape.

    Args:
        root: the output Value or Tensor, or several roots to draw side by side (one cluster
            each).
        grads: ``False`` draws the forward pass only.
        rankdir: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
        precision: digits after the decimal point.
        chain: write each gradient as ``upstream x local = downstream``.
        titles: a title per root when drawing several.
        group: ``"label"`` boxes nodes by their dotted labels (``layer1.neuron0.w1`` goes in
            box ``neuron0`` inside box ``layer1``), or a function ``Value -> group or None``.
        around: draw only the nodes within ``radius`` edges of this node (highlighted).
        radius: how far from ``around`` to draw.
        max_nodes: refuse drawings with more nodes than this (default 2000).
        max_layout_cost: refuse drawings that Graphviz would take minutes to lay out: those
            whose values are used by gates far from them (``x*x*...*x`` with over 100 uses of
            ``x``, a sum of over 100 products), measured by :func:`layout_cost` (default
            :data:`MAX_LAYOUT_COST`, 5,000); pass a larger number to force.
        max_inline: Tensor graphs: write out arrays of at most this many elements (default 6).
        palette: ``"lecture"`` (green values, red gradients), ``"colorblind"`` (blue and
            vermillion, safe for red-green colour blindness) or ``"grey"`` (for printing).
        magnitude: edges as thick as their gradients are large (dashed where negative),
            saturated sigmoid/tanh gates and dead ReLUs marked, and a legend.
        constants: ``"fold"`` (the default) draws a number operand inside its gate, as the
            slides do (``* -1``, ``+ 1``: one gate, one input, no gradient for the number);
            ``"leaves"`` draws it as an input of its own, with its edge and gradient.
        collapse: ``"neuron"`` or ``"layer"`` draws each neuron (or layer) of a network whose
            parameters are named ``layer1.neuron0.w0`` as one box, with the layer's matrix
            form; every value and gradient at a box's boundary is kept (see
            :mod:`viz.collapse`).
    """
    fold = folds_constants(constants)
    roots: list[Node] = [root] if isinstance(root, (Value, Tensor)) else list(root)
    if not roots or not all(isinstance(r, (Value, Tensor)) for r in roots):
        raise TypeError(
            "draw() takes a Value or a Tensor, or a non-empty sequence of Values or Tensors"
        )
    if titles is not None and len(titles) != len(roots):
        raise ValueError(f"got {len(titles)} titles for {len(roots)} graphs")
    options = DrawOptions(
        grads=grads,
        rankdir=rankdir,
        precision=precision,
        chain=chain,
        max_inline=max_inline,
        palette=palette,
        magnitude=magnitude,
    )
    traces = []
    for r in roots:
        traced = trace(r)
        if collapse is not None:
            traced = collapse_groups(traced, collapse)
        if group is not None:
            traced = with_groups(traced, group)
        if around is not None:
            traced = focus_around(traced, around, radius)
        if len(traced.nodes) > max_nodes:
            raise ValueError(
                f"this drawing has {len(traced.nodes)} nodes; diagrams over {max_nodes} nodes "
                "are unreadable and slow to lay out. Draw a part of it (around=node, "
                "radius=...), or pass max_nodes= to force."
            )
        traces.append(traced)
    if fold:
        traces = [fold_constants(t) for t in traces]
    try:
        return Diagram(pinned_dot(traces, options, titles, max_layout_cost))
    except RenderError as error:
        # Nothing here can lay the graph out: keep the DOT text (it renders elsewhere), and
        # say why when asked for a picture.
        return Diagram(to_dot(traces, options, titles).source, error)


@dataclass(frozen=True)
class LayoutCost:
    """What laying a drawing out will cost Graphviz, predicted from its traces.

    ``steps`` is the cost: how many ranks (columns, left to right) the drawing's edges skip,
    summed over its edges. ``dot`` routes an edge that skips ranks as a chain of one point per
    rank skipped, and orders and places those points with the nodes; its time grows faster
    than their number squared. A value used by gates far apart makes such edges: ``x`` in
    ``x*x*...*x`` reaches its k-th gate over k - 1 ranks, and so do the inputs of a long sum
    ``a0*b0 + a1*b1 + ...`` (the inputs are all drawn in the first column, as on the slides).
    Measured: ``x`` used 100 times skips 4,851 ranks and lays out in 3 s; 150 times, 11,026
    and 10 s; 200 times, 19,701 and 30 to 40 s; 1,000 times, minutes (the system ``dot``
    crashes past about 400); the sum of 333 products skips 55,000 and took over two minutes.
    Large graphs whose values are used close to where they are made take a second: an MLP of
    300 nodes, or ``x`` used 256 times in a balanced product tree (no rank skipped).

    ``worst`` is the value whose edges skip most ranks (``worst_steps`` of them), used
    ``worst_uses`` times by gates as far as ``worst_spread`` ranks from it; ``values`` is how
    many values have edges that skip ranks.
    """

    steps: int
    worst: TraceNode | None = None
    worst_steps: int = 0
    worst_uses: int = 0
    worst_spread: int = 0
    values: int = 0


def layout_cost(traces: Sequence[Trace]) -> LayoutCost:
    """Predict :class:`LayoutCost` for drawing ``traces``, without calling Graphviz; linear in
    the size of the traces.

    The ranks are those :func:`viz.style.to_dot` asks ``dot`` for, chosen as ``dot`` chooses
    (the shortest edges it can): the inputs in the first column (unless the trace is cut, or
    the input is in a box), every gate as early as its inputs allow, and then, users last to
    first, a node with more uses than inputs (a free input, a gate feeding several) moved as
    late as its first use allows. An edge from rank ``a`` to rank ``b`` skips ``b - a - 1``.
    """
    total = values = 0
    worst: tuple[int, int, int, TraceNode | None] = (0, 0, 0, None)
    for traced in traces:
        ids = {node.id for node in traced.nodes}
        users: dict[str, list[str]] = {node.id: [] for node in traced.nodes}
        inputs = dict.fromkeys(ids, 0)
        for edge in traced.edges:
            if edge.source in ids and edge.target in ids:
                users[edge.source].append(edge.target)
                inputs[edge.target] += 1
        first_column = not traced.cut_inputs
        rank = dict.fromkeys(ids, 0)
        for node in traced.nodes:  # inputs before their users: as early as possible
            for user in users[node.id]:
                rank[user] = max(rank[user], rank[node.id] + 1)
        for node in reversed(traced.nodes):  # users first
            pinned = first_column and node.is_leaf and node.id not in traced.groups
            uses = users[node.id]
            if uses and not pinned and len(uses) > inputs[node.id]:
                rank[node.id] = min(rank[user] for user in uses) - 1
        for node in traced.nodes:
            uses = users[node.id]
            steps = sum(rank[user] - rank[node.id] - 1 for user in uses)
            if steps <= 0:
                continue
            total += steps
            values += 1
            if steps > worst[0]:
                spread = max(rank[user] for user in uses) - rank[node.id]
                worst = (steps, len(uses), spread, node)
    return LayoutCost(total, worst[3], worst[0], worst[1], worst[2], values)


def check_layout_cost(traces: Sequence[Trace], max_cost: int | None = None) -> LayoutCost:
    """Refuse, with a ``ValueError`` saying what is wrong and what to do, a drawing whose
    :func:`layout_cost` is over ``max_cost`` (default :data:`MAX_LAYOUT_COST`, read when
    called): Graphviz would take minutes over it, or crash. Returns the cost."""
    limit = MAX_LAYOUT_COST if max_cost is None else max_cost
    cost = layout_cost(traces)
    if cost.steps <= limit or cost.worst is None:
        return cost
    worst = cost.worst
    uses = f"used {cost.worst_uses} time{'s' if cost.worst_uses > 1 else ''}"
    if cost.values == 1:
        what = f"{_describe(worst)} is {uses} by gates up to {cost.worst_spread} steps away"
        edges = "its edges skip"
    else:
        what = (
            f"{cost.values:,} values are used by gates far from them (the most: "
            f"{_describe(worst)}, {uses} up to {cost.worst_spread} steps away)"
        )
        edges = "their edges skip"
    raise ValueError(
        f"{what}: {edges} {cost.steps:,} columns of the drawing in all (the limit is "
        f"{limit:,}), and Graphviz takes minutes to lay that out, or crashes. Draw a smaller "
        "expression (fewer uses of one value, a shorter sum), draw part of it (around=node, "
        "radius=...), or pass max_layout_cost= (to viz.draw or viz.step) to force."
    )


def _describe(node: TraceNode) -> str:
    if node.label:
        return repr(node.label) if not node.label.isidentifier() else node.label
    return f"the output of a {node.symbol or node.op} gate" if node.op else "an unnamed value"


def pinned_dot(
    traces: Sequence[Trace],
    options: DrawOptions,
    titles: Sequence[str] | None = None,
    max_layout_cost: int | None = None,
) -> str:
    """DOT for ``traces`` pinned to the layout of their widest drawing (see
    :func:`pinned_layout`)."""
    layout, options = pinned_layout(traces, options, titles, max_layout_cost=max_layout_cost)
    return str(to_dot(traces, options, titles, layout=layout).source)


#: A value with more uses than this gets dot's quick balancing too (see :func:`pinned_layout`).
FAN_OUT_LIMIT = 10


def _widest_fan_out(traces: Sequence[Trace]) -> int:
    """The most uses any one value of ``traces`` has."""
    uses: dict[tuple[int, str], int] = {}
    for k, t in enumerate(traces):
        for edge in t.edges:
            uses[(k, edge.source)] = uses.get((k, edge.source), 0) + 1
    return max(uses.values(), default=0)


def pinned_layout(
    traces: Sequence[Trace],
    options: DrawOptions,
    titles: Sequence[str] | None = None,
    caption: str | None = None,
    max_layout_cost: int | None = None,
) -> tuple[Layout, DrawOptions]:
    """The layout every drawing of ``traces`` is pinned to, and the options to draw them with.

    Laid out is the widest drawing: every gradient shown, in ``upstream × local = downstream``
    form, and ``caption`` (a step-through's longest) on top; so every drawing of one graph,
    forward only, with gradients, or a step-through frame, has the same canvas and node
    positions. The options gain ``scientific=True`` when some number of the figure needs it,
    so that all of them are written one way.

    First, before any Graphviz run, a drawing that would take minutes to lay out is refused
    (:func:`check_layout_cost`, with ``max_layout_cost``).
    """
    cost = check_layout_cost(traces, max_layout_cost)
    widest = [dataclasses.replace(t, highlight=None, caption=caption) for t in traces]
    if figure_needs_scientific(widest, options):
        options = dataclasses.replace(options, scientific=True)
    sizes: dict[str, LabelSize] = {}
    template = to_dot(
        widest, dataclasses.replace(options, grads=True, chain=True), titles, sizes=sizes
    )
    if cost.steps > QUICK_LAYOUT_COST or _widest_fan_out(traces) > FAN_OUT_LIMIT:
        # Long edges, or one value feeding dozens of labelled edges, make dot's network
        # simplex crawl (x+x+...+x with 60 terms: 17 s; with these limits 1.3 s). Ordinary
        # graphs keep the default, better-balanced layout.
        template.attr(nslimit="1", nslimit1="1")
    return compute_layout(template.source, sizes), options

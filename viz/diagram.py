"""``viz.draw``: a lecture-style diagram of a graph, shown in Jupyter and saved for slides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
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
from viz.trace import Node, Trace, fold_constants, folds_constants, trace

#: Graphs larger than this are refused by default: unreadable, and slow for Graphviz to lay out.
MAX_NODES = 2000


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
        return Diagram(pinned_dot(traces, options, titles))
    except RenderError as error:
        # Nothing here can lay the graph out: keep the DOT text (it renders elsewhere), and
        # say why when asked for a picture.
        return Diagram(to_dot(traces, options, titles).source, error)


def pinned_dot(
    traces: Sequence[Trace], options: DrawOptions, titles: Sequence[str] | None = None
) -> str:
    """DOT for ``traces`` pinned to the layout of their widest drawing (see
    :func:`pinned_layout`)."""
    layout, options = pinned_layout(traces, options, titles)
    return str(to_dot(traces, options, titles, layout=layout).source)


def pinned_layout(
    traces: Sequence[Trace],
    options: DrawOptions,
    titles: Sequence[str] | None = None,
    caption: str | None = None,
) -> tuple[Layout, DrawOptions]:
    """The layout every drawing of ``traces`` is pinned to, and the options to draw them with.

    Laid out is the widest drawing: every gradient shown, in ``upstream × local = downstream``
    form, and ``caption`` (a step-through's longest) on top; so every drawing of one graph,
    forward only, with gradients, or a step-through frame, has the same canvas and node
    positions. The options gain ``scientific=True`` when some number of the figure needs it,
    so that all of them are written one way.
    """
    widest = [dataclasses.replace(t, highlight=None, caption=caption) for t in traces]
    if figure_needs_scientific(widest, options):
        options = dataclasses.replace(options, scientific=True)
    sizes: dict[str, LabelSize] = {}
    template = to_dot(
        widest, dataclasses.replace(options, grads=True, chain=True), titles, sizes=sizes
    )
    return compute_layout(template.source, sizes), options

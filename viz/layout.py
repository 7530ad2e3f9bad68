"""Pinned layouts: lay a graph out once, then draw many frames of it without anything moving.

Graphviz lays out each drawing from scratch, and a label that grows (a ``?`` becoming
``-0.53``, or ``upstream x local = downstream`` appearing on one edge) can shift every node.
For a series of slides (forward only, then with gradients; a step-through) that would make
the figure jump. So the widest drawing (every number known, every edge in
``upstream x local = downstream`` form) is laid out once by ``dot``; its node positions and
edge splines are read back (Graphviz's JSON output), and every drawing of the graph, by
``viz.draw`` or ``viz.step``, is made at exactly those positions with Graphviz's ``nop2``
layout, which keeps the positions and splines it is given. (Edge labels are nodes too, see
:mod:`viz.labels`, so they are pinned like any node.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from viz.render import RenderError, render

if TYPE_CHECKING:
    from viz.labels import LabelSize


@dataclass(frozen=True)
class Layout:
    """Positions read from one Graphviz layout, in points (as Graphviz writes them)."""

    bb: str
    nodes: dict[str, dict[str, str]]
    edges: dict[tuple[str, str, int], dict[str, str]]
    #: Where the drawing ends below a top graph label (the caption), or None without one.
    drawing_top: float | None = None
    #: Where the drawing ends above a bottom graph label (a legend), or None without one.
    drawing_bottom: float | None = None
    #: Each cluster's (box's) bounding box, by cluster name.
    clusters: dict[str, str] = field(default_factory=dict)
    #: The room each edge label took in the laid-out drawing (see :class:`viz.labels.LabelSize`).
    label_sizes: dict[str, LabelSize] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: bytes | str) -> Layout:
        """Read a layout from the output of ``dot -Tjson``."""
        graph: dict[str, Any] = json.loads(data)
        names = {obj["_gvid"]: obj["name"] for obj in graph.get("objects", [])}
        nodes = {}
        clusters = {}
        for obj in graph.get("objects", []):
            if "pos" not in obj:  # a cluster, not a node
                if "bb" in obj:
                    clusters[obj["name"]] = obj["bb"]
                continue
            attrs = {"pos": obj["pos"], "width": obj["width"], "height": obj["height"]}
            if "xlp" in obj:
                attrs["xlp"] = obj["xlp"]
            nodes[obj["name"]] = attrs
        edges: dict[tuple[str, str, int], dict[str, str]] = {}
        counts: dict[tuple[str, str], int] = {}
        for edge in graph.get("edges", []):
            pair = (names[edge["tail"]], names[edge["head"]])
            index = counts.get(pair, 0)
            counts[pair] = index + 1
            attrs = {"pos": edge["pos"]}
            if "lp" in edge:
                attrs["lp"] = edge["lp"]
            edges[(pair[0], pair[1], index)] = attrs
        drawing_top = None
        drawing_bottom = None
        if "lp" in graph and "lheight" in graph:  # lheight in inches, positions in points
            label_y, half = float(graph["lp"].split(",")[1]), float(graph["lheight"]) * 72 / 2
            if graph.get("labelloc", "b") == "t":  # a caption
                drawing_top = label_y - half
            else:  # a legend
                drawing_bottom = label_y + half
        return cls(
            bb=graph["bb"],
            nodes=nodes,
            edges=edges,
            drawing_top=drawing_top,
            drawing_bottom=drawing_bottom,
            clusters=clusters,
        )

    def label_spans(self, rankdir: str) -> dict[str, float]:
        """How long each edge label's line was laid out (points): its width left to right, its
        height top to bottom. A drawing with shorter labels keeps the line this long, so it
        still meets the two halves of its edge."""
        key = "width" if rankdir == "LR" else "height"
        return {
            name: float(self.nodes[name][key]) * 72
            for name in self.label_sizes
            if name in self.nodes
        }

    def graph_attrs(self) -> dict[str, str]:
        """Keep the positions as given and the canvas the size of the laid-out graph.

        Without ``notranslate`` and ``viewport``, ``nop2`` shrinks the canvas to each frame's
        own drawing and shifts it to the origin; a frame whose caption is wider or narrower
        than the others then moves every node (the system ``dot`` does this). The viewport is
        the layout's bounding box plus Graphviz's default 4-point pad, centred where it was.
        """
        x1, y1, x2, y2 = (float(v) for v in self.bb.split(","))
        pad = 4.0
        viewport = (
            f"{x2 - x1 + 2 * pad:.2f},{y2 - y1 + 2 * pad:.2f},1,"
            f"{(x1 + x2) / 2:.2f},{(y1 + y2) / 2:.2f}"
        )
        return {"layout": "nop2", "bb": self.bb, "notranslate": "true", "viewport": viewport}

    def canvas_nodes(self) -> dict[str, dict[str, str]]:
        """Two invisible nodes pinned at the corners of the laid-out drawing.

        ``nop2`` centres the graph label (a step's caption) over each frame's own drawing,
        whose extent changes with its edge labels; with these every frame's drawing spans the
        layout's, so the caption sits where the layout put it and is never cut off.
        """
        x1, y1, x2, y2 = (float(v) for v in self.bb.split(","))
        top = y2 if self.drawing_top is None else self.drawing_top
        y1 = y1 if self.drawing_bottom is None else self.drawing_bottom
        invisible = {"label": "", "shape": "point", "style": "invis", "fixedsize": "true"}
        return {
            "_canvas_ll": {**invisible, "width": "0", "height": "0", "pos": f"{x1:.2f},{y1:.2f}"},
            "_canvas_ur": {**invisible, "width": "0", "height": "0", "pos": f"{x2:.2f},{top:.2f}"},
        }

    def node_attrs(self, name: str) -> dict[str, str]:
        """Where node ``name`` goes; ``fixedsize`` so a longer label cannot resize it."""
        attrs = self.nodes.get(name)
        if attrs is None:
            raise KeyError(f"node {name!r} is not in the pinned layout")
        return {**attrs, "fixedsize": "true"}

    def edge_attrs(self, tail: str, head: str, seen: dict[tuple[str, str], int]) -> dict[str, str]:
        """The spline of the next ``tail -> head`` edge (``seen`` counts repeated edges, as in
        ``x * x``, in the order they are drawn)."""
        index = seen.get((tail, head), 0)
        seen[(tail, head)] = index + 1
        attrs = self.edges.get((tail, head, index))
        if attrs is None:
            raise KeyError(f"edge {tail} -> {head} #{index} is not in the pinned layout")
        return attrs


def compute_layout(template_source: str, label_sizes: dict[str, LabelSize] | None = None) -> Layout:
    """Lay out ``template_source`` (DOT) with ``dot`` and read back every position;
    ``label_sizes`` is the room its edge labels took, kept for the drawings pinned to it."""
    try:
        layout = Layout.from_json(render(template_source, "json"))
    except (KeyError, ValueError) as error:  # ValueError covers malformed JSON
        raise RenderError(f"could not read the Graphviz layout back: {error}") from error
    layout.label_sizes.update(label_sizes or {})
    return layout

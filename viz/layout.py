"""Pinned layouts: lay a graph out once, then draw many frames of it without anything moving.

Graphviz lays out each drawing from scratch, and a label that grows (a ``?`` becoming
``-0.53``, or ``upstream x local = downstream`` appearing on one edge) can shift every node.
For a step-through sequence that would make the slides jump. So the widest frame (every
number known, every edge in ``upstream x local = downstream`` form) is laid out once by
``dot``; its node positions, edge splines and label positions are read back (Graphviz's JSON
output), and every frame is drawn at exactly those positions with Graphviz's ``nop2`` layout,
which keeps the positions and splines it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from viz.render import RenderError, render


@dataclass(frozen=True)
class Layout:
    """Positions read from one Graphviz layout, in points (as Graphviz writes them)."""

    bb: str
    nodes: dict[str, dict[str, str]]
    edges: dict[tuple[str, str, int], dict[str, str]]

    @classmethod
    def from_json(cls, data: bytes | str) -> Layout:
        """Read a layout from the output of ``dot -Tjson``."""
        graph: dict[str, Any] = json.loads(data)
        names = {obj["_gvid"]: obj["name"] for obj in graph.get("objects", [])}
        nodes = {}
        for obj in graph.get("objects", []):
            if "pos" not in obj:  # a cluster, not a node
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
        return cls(bb=graph["bb"], nodes=nodes, edges=edges)

    def graph_attrs(self) -> dict[str, str]:
        return {"layout": "nop2", "bb": self.bb}

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


def compute_layout(template_source: str) -> Layout:
    """Lay out ``template_source`` (DOT) with ``dot`` and read back every position."""
    try:
        return Layout.from_json(render(template_source, "json"))
    except (KeyError, ValueError) as error:  # ValueError covers malformed JSON
        raise RenderError(f"could not read the Graphviz layout back: {error}") from error

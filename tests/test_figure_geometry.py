"""Where the numbers land, measured in the rendered SVG of every lecture figure.

The lecture convention is positional: on each edge the forward value sits above the line and the
gradient below it (left and right of it when the graph runs top to bottom). A student reads a
number as belonging to the nearest edge, so every gradient must be closer to its own edge than
to any other, and no two labels may overlap. Checked with both renderers, left to right and top
to bottom, forward only, with gradients and in ``upstream × local = downstream`` form.
"""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from dot_reading import edge_labels

import viz
from autograd import Value
from viz import lectures
from viz.style import FORWARD_COLOR, GRADIENT_COLOR, UNKNOWN_COLOR
from viz.trace import Node

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def square() -> Value:
    x = Value(3.0, "x")
    f = x * x
    f.label = "f"
    f.backward()
    return f


FIGURES: dict[str, Callable[[], list[Node]]] = {
    "xyz": lambda: [lectures.xyz()],
    "sigmoid_staged": lambda: [lectures.sigmoid_neuron_staged()],
    "sigmoid_fused": lambda: [lectures.sigmoid_neuron_fused()],
    "add_max_mul": lambda: [lectures.add_max_mul()],
    "copy_gate": lambda: [lectures.copy_gate()],
    "x_times_x": lambda: [square()],
    "gate_patterns": lambda: [lectures.add_max_mul(), lectures.copy_gate()],
    "vectorised_wx": lambda: [lectures.vectorised_wx()],
    "mlp_gates": lambda: [lectures.small_mlp()],
}


#: Helvetica's advance widths (em) for the characters of numbers; other glyphs are taken as
#: 0.6 em, wider than Helvetica's average, so a box is never smaller than its text.
WIDTHS = {**dict.fromkeys("0123456789", 0.556), ".": 0.278, ",": 0.278, " ": 0.278, "-": 0.333}
WIDTHS.update({"[": 0.278, "]": 0.278, "(": 0.333, ")": 0.333, "×": 0.584, "=": 0.584})
WIDTHS.update({"+": 0.584, "?": 0.556, "Σ": 0.6})


@dataclass(frozen=True)
class Box:
    """A text's box in SVG coordinates (y grows downwards), from its font size and Helvetica's
    widths; glyphs ascend 0.72 em above the baseline and descend 0.2 em below it."""

    left: float
    right: float
    top: float
    bottom: float
    text: str

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    @property
    def centre(self) -> tuple[float, float]:
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2


def text_box(element: ET.Element) -> Box:
    size = float(element.get("font-size", "14"))
    text = "".join(element.itertext())
    x, y = float(element.get("x", "0")), float(element.get("y", "0"))
    width = size * sum(WIDTHS.get(char, 0.6) for char in text)
    anchor = element.get("text-anchor", "start")
    left = x if anchor == "start" else x - width / 2 if anchor == "middle" else x - width
    return Box(left, left + width, y - 0.72 * size, y + 0.2 * size, text)


def path_points(d: str) -> list[tuple[float, float]]:
    """Points along an SVG edge path (Graphviz writes ``M x,y C x,y x,y x,y ...``), each cubic
    sampled at 16 points."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", d)]
    points = list(zip(numbers[0::2], numbers[1::2], strict=True))
    sampled = [points[0]]
    for i in range(1, len(points) - 2, 3):
        p0, p1, p2, p3 = points[i - 1], points[i], points[i + 1], points[i + 2]
        for k in range(1, 17):
            t = k / 16
            sampled.append(
                tuple(  # type: ignore[arg-type]
                    (1 - t) ** 3 * a + 3 * (1 - t) ** 2 * t * b + 3 * (1 - t) * t**2 * c + t**3 * e
                    for a, b, c, e in zip(p0, p1, p2, p3, strict=True)
                )
            )
    return sampled


def distance_to(box: Box, polyline: list[tuple[float, float]]) -> float:
    """How near a line (given by points, each segment sampled finely) comes to a text's box."""
    points = [
        (a[0] + (b[0] - a[0]) * k / 32, a[1] + (b[1] - a[1]) * k / 32)
        for a, b in itertools.pairwise(polyline)
        for k in range(33)
    ] or polyline
    return min(
        math.hypot(max(box.left - x, 0.0, x - box.right), max(box.top - y, 0.0, y - box.bottom))
        for x, y in points
    )


@dataclass
class Drawing:
    """Per edge label: its line (as points) and the boxes above and below it; every edge's
    path; every text box."""

    lines: dict[str, list[tuple[float, float]]]
    values: dict[str, list[Box]]
    gradients: dict[str, list[Box]]
    paths: dict[str, list[list[tuple[float, float]]]]  # label node -> its two half-edges
    texts: list[Box]


def measure(source: str, svg: bytes) -> Drawing:
    root = ET.fromstring(svg)
    labels = {label for _, _, label in edge_labels(source)}
    lines: dict[str, list[tuple[float, float]]] = {}
    values: dict[str, list[Box]] = {}
    gradients: dict[str, list[Box]] = {}
    paths: dict[str, list[list[tuple[float, float]]]] = {}
    texts: list[Box] = []
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if title is None or title.text is None:
            continue
        name = title.text
        kind = group.get("class")
        if kind == "node":
            boxes = [(t.get("fill"), text_box(t)) for t in group.iter(f"{SVG}text")]
            texts.extend(box for _, box in boxes if box.text.strip())
            if name in labels:
                (line,) = [
                    p
                    for p in group.iter(f"{SVG}polygon")
                    if p.get("fill") == "black" and p.get("stroke") in ("none", "transparent")
                ]
                corners = [
                    tuple(float(v) for v in pair.split(","))
                    for pair in (line.get("points") or "").split()
                ]
                xs, ys = [c[0] for c in corners], [c[1] for c in corners]
                cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
                horizontal = max(xs) - min(xs) >= max(ys) - min(ys)
                lines[name] = (
                    [(min(xs), cy), (max(xs), cy)] if horizontal else [(cx, min(ys)), (cx, max(ys))]
                )
                values[name] = [b for fill, b in boxes if fill == FORWARD_COLOR]
                gradients[name] = [
                    b for fill, b in boxes if fill in (GRADIENT_COLOR, UNKNOWN_COLOR)
                ]
        elif kind == "edge":
            tail, _, head = name.partition("->")
            for end in (tail, head):
                label = end.split(":")[0]
                if label in labels:
                    for path in group.iter(f"{SVG}path"):
                        paths.setdefault(label, []).append(path_points(path.get("d") or ""))
    return Drawing(lines, values, gradients, paths, texts)


DRAWINGS: list[tuple[str, dict[str, Any]]] = [
    ("forward", {"grads": False}),
    ("gradients", {}),
    ("chain", {"chain": True}),
]


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_values_above_gradients_below_each_on_its_own_edge(
    renderer: str, name: str, rankdir: str
) -> None:
    for kind, options in DRAWINGS:
        roots = FIGURES[name]()
        titles = ["a", "b"] if len(roots) > 1 else None
        diagram = viz.draw(roots, rankdir=rankdir, titles=titles, precision=3, **options)
        drawing = measure(diagram.source, viz.render(diagram.source, "svg", renderer))
        where = f"{name} {rankdir} {kind}"
        assert drawing.lines, where
        for label, line in drawing.lines.items():
            (ax, ay), (bx, _) = line
            for box in drawing.values[label]:  # above (left of) the line, with a gap
                if rankdir == "LR":
                    assert box.bottom <= ay - 1, (where, label, box)
                    assert ax - 2 <= box.centre[0] <= bx + 2, (where, label, box, line)
                else:
                    assert box.right <= ax + 1, (where, label, box)
            for box in drawing.gradients[label]:  # below (right of) it
                if rankdir == "LR":
                    assert box.top >= ay + 1, (where, label, box)
                    assert ax - 2 <= box.centre[0] <= bx + 2, (where, label, box, line)
                else:
                    assert box.left >= ax - 1, (where, label, box)
                # nearer its own edge than any other edge
                own = distance_to(box, line)
                for other, halves in drawing.paths.items():
                    if other == label:
                        continue
                    for points in halves:
                        assert own < distance_to(box, points), (where, label, other)
            if kind == "forward":
                assert not drawing.gradients[label], (where, label)
        if kind != "forward":
            assert any(drawing.gradients.values()), where
        # no two texts overlap
        boxes = drawing.texts
        for i, first in enumerate(boxes):
            for second in boxes[i + 1 :]:
                shrunk = Box(
                    second.left + 1, second.right - 1, second.top + 1, second.bottom - 1, ""
                )
                assert not first.overlaps(shrunk), (where, first, second)


def canvas_size(svg: bytes) -> tuple[str, str, str]:
    root = ET.fromstring(svg)
    return root.get("width", ""), root.get("height", ""), root.get("viewBox", "")


def node_positions(svg: bytes) -> dict[str, list[str]]:
    """node title -> the coordinates of its shapes (ellipses, polygons), in order."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "node" and title is not None and title.text:
            found[title.text] = [
                f"{e.get('cx')},{e.get('cy')}" for e in group.iter(f"{SVG}ellipse")
            ]
    return found


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_one_canvas_per_graph(renderer: str, name: str) -> None:
    """Forward only, with gradients and in chain form: the same size, nodes in the same place,
    so flipping between slides never makes the figure jump."""
    roots = FIGURES[name]()
    titles = ["a", "b"] if len(roots) > 1 else None
    svgs = [
        viz.render(viz.draw(roots, titles=titles, **options).source, "svg", renderer)
        for _, options in DRAWINGS
    ]
    assert len({canvas_size(svg) for svg in svgs}) == 1, [canvas_size(s) for s in svgs]
    positions = [node_positions(svg) for svg in svgs]
    assert positions[0] == positions[1] == positions[2]


def test_leaves_come_in_formula_order(renderer: str) -> None:
    """w0 x0 + w1 x1 + w2: the inputs top to bottom as the formula is written."""
    for build in (lectures.sigmoid_neuron_staged, lectures.sigmoid_neuron_fused):
        diagram = viz.draw(build())
        root = ET.fromstring(viz.render(diagram.source, "svg", renderer))
        heights = {}
        for text in root.iter(f"{SVG}text"):
            if "".join(text.itertext()) in ("w0", "x0", "w1", "x1", "w2"):
                heights["".join(text.itertext())] = float(text.get("y", "0"))
        assert sorted(heights, key=heights.__getitem__) == ["w0", "x0", "w1", "x1", "w2"]

"""Frames drawn as changes over one picture show what a frame drawn by Graphviz shows.

A step-through renders its graph once (:mod:`viz.picture`) and writes each frame's text into
that picture. Here every frame of the lecture figures is also drawn the old way, from its own
DOT by Graphviz, and the two are compared: the same lines of text in every label, in the same
colours, at the same heights; the same caption; the same node highlighted and the same edges
drawn thick. Both renderers, left to right and top to bottom, with and without chain form.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import viz
from autograd import Tensor, Value
from viz import lectures
from viz.render import render
from viz.style import HIGHLIGHT_FILL
from viz.trace import Node

SVG = "{http://www.w3.org/2000/svg}"


def tensor_with_fan_in() -> Tensor:
    W = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), label="W")
    x = Tensor(np.array([1.0, -1.0]), label="x")
    h = W @ x
    return (h * h).sum() + W.sum()


def markup_label() -> Value:
    a = Value(1.5, label="<b>&a</b>")
    b = Value(-2.0, label='"b" \\N')
    return (a * b + a).tanh()


FIGURES: dict[str, Callable[[], Node]] = {
    "xyz": lectures.xyz,
    "sigmoid_staged": lectures.sigmoid_neuron_staged,
    "sigmoid_fused": lectures.sigmoid_neuron_fused,
    "add_max_mul": lectures.add_max_mul,
    "copy_gate": lectures.copy_gate,
    "vectorised_wx": lectures.vectorised_wx,
    "tensor_fan_in": tensor_with_fan_in,
    "markup": markup_label,
}


def lines_by_node(svg: str) -> tuple[dict[str, list[tuple[str, str, str]]], list[str]]:
    """Per node (its DOT name): its lines of text as (text, colours, y); and the caption's
    lines. Spans of one line (same y) are joined; blanks and padding count as empty."""
    root = ET.fromstring(svg)
    graph = root.find(f"{SVG}g")
    assert graph is not None
    caption = [_text(t) for t in graph.findall(f"{SVG}text")]
    nodes: dict[str, list[tuple[str, str, str]]] = {}
    for group in graph.findall(f"{SVG}g"):
        if group.get("class", "").split()[:1] != ["node"]:
            continue
        title = group.find(f"{SVG}title")
        assert title is not None and title.text is not None
        rows: dict[str, list[tuple[str, str]]] = {}
        for text in group.iter(f"{SVG}text"):
            y = f"{float(text.get('y', '0')):.1f}"
            spans = list(text.iter(f"{SVG}tspan")) or [text]
            for span in spans:
                colour = span.get("fill") or text.get("fill") or "#000000"
                if "".join(span.itertext()).strip(" \u00a0"):
                    rows.setdefault(y, []).append(("".join(span.itertext()), colour))
                else:
                    rows.setdefault(y, [])
        nodes[title.text] = [
            ("".join(t for t, _ in spans).strip(" \u00a0"), ",".join(c for _, c in spans), y)
            for y, spans in sorted(rows.items(), key=lambda item: float(item[0]))
        ]
    return nodes, [c for c in caption if c]


def _text(element: ET.Element) -> str:
    return "".join(element.itertext()).strip(" \u00a0")


def highlighted(svg: str) -> tuple[set[str], set[str]]:
    """(nodes filled with the highlight colour, edges drawn 2 points thick), by DOT name."""
    root = ET.fromstring(svg)
    nodes, edges = set(), set()
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if title is None or title.text is None:
            continue
        if group.get("class", "").startswith("node"):
            if any(shape.get("fill") == HIGHLIGHT_FILL for shape in group.iter()):
                nodes.add(title.text)
        elif group.get("class") == "edge":
            path = group.find(f"{SVG}path")
            if path is not None and float(path.get("stroke-width", "1")) >= 2:
                edges.add(html.unescape(title.text))
    return nodes, edges


def compare(steps: viz.Stepper, indices: list[int]) -> None:
    for index in indices:
        frame = steps[index]
        fast = frame.svg()
        slow = render(frame.source, "svg").decode("utf-8")
        fast_nodes, fast_caption = lines_by_node(fast)
        slow_nodes, slow_caption = lines_by_node(slow)
        assert fast_caption == slow_caption, f"frame {index + 1}: caption"
        assert fast_nodes.keys() == slow_nodes.keys()
        for name, slow_lines in slow_nodes.items():
            assert fast_nodes[name] == slow_lines, f"frame {index + 1}, node {name}"
        assert highlighted(fast) == highlighted(slow), f"frame {index + 1}: highlight"


@pytest.mark.parametrize("name", sorted(FIGURES))
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_every_frame_shows_what_graphviz_draws(name: str, rankdir: str, renderer: str) -> None:
    steps = viz.step(FIGURES[name](), rankdir=rankdir)
    compare(steps, list(range(len(steps))))


@pytest.mark.parametrize("name", ["sigmoid_staged", "vectorised_wx"])
def test_chain_form_and_kept_constants_too(name: str, renderer: str) -> None:
    chained = viz.step(FIGURES[name](), chain=True)
    compare(chained, list(range(0, len(chained), 4)))
    steps = viz.step(FIGURES[name](), constants="leaves")
    compare(steps, list(range(0, len(steps), 3)))


def test_forward_only_frames(renderer: str) -> None:
    steps = viz.step(lectures.sigmoid_neuron_staged(), grads=False)
    compare(steps, list(range(len(steps))))


def test_a_network_steps_the_same(renderer: str) -> None:
    steps = viz.step(lectures.small_mlp())
    compare(steps, [0, 1, len(steps) // 2, len(steps) - 2, len(steps) - 1])


def test_centred_lines_sit_on_their_edges_centre(renderer: str) -> None:
    """The blank's measured width puts a centred line where Graphviz centres it: on the
    middle of its edge's line, to within half a point."""
    steps = viz.step(lectures.sigmoid_neuron_staged())
    root = ET.fromstring(steps[-1].svg())
    checked = 0
    for group in root.iter(f"{SVG}g"):
        line = next((p for p in group.findall(f"{SVG}polygon") if p.get("fill") == "black"), None)
        if line is None:
            continue
        xs = [float(x) for x in re.findall(r"(-?[\d.]+),", line.get("points", ""))]
        centre = (min(xs) + max(xs)) / 2
        for text in group.findall(f"{SVG}text"):
            assert text.get("text-anchor") == "middle"
            assert abs(float(text.get("x", "0")) - centre) < 0.5
            checked += 1
    assert checked > 20


def test_a_frame_is_its_changes_over_the_frame_before() -> None:
    steps = viz.step(lectures.sigmoid_neuron_staged())
    first, later = steps.changes[0], steps.changes[1:]
    assert len(first.lines) == steps.picture.text_count  # the first frame writes every line
    assert max(len(change.lines) for change in later) < steps.picture.text_count // 4
    # walking backwards redraws from the start: the same SVG as walking forwards
    forwards = [frame.svg() for frame in steps]
    backwards = [steps[k].svg() for k in reversed(range(len(steps)))]
    assert forwards == backwards[::-1]


def test_one_picture_for_all_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphviz runs twice (the layout and the picture), however many frames there are."""
    calls: list[str] = []
    real = viz.render.__wrapped__ if hasattr(viz.render, "__wrapped__") else None
    del real
    import viz.stepper as stepper_module
    from viz import diagram as diagram_module
    from viz import layout as layout_module

    def counting(original: Callable[..., bytes]) -> Callable[..., bytes]:
        def run(source: str, fmt: str, *args: Any, **kwargs: Any) -> bytes:
            calls.append(fmt)
            return original(source, fmt, *args, **kwargs)

        return run

    # each module's own name for viz.render.render (imported, so not re-exported)
    monkeypatch.setattr(stepper_module, "render", counting(vars(stepper_module)["render"]))
    monkeypatch.setattr(layout_module, "render", counting(vars(layout_module)["render"]))
    assert diagram_module  # pinned_layout lays out through viz.layout
    steps = viz.step(lectures.small_mlp())
    svgs = [frame.svg() for frame in steps]
    assert sorted(calls) == ["json", "svg"]
    assert len(set(svgs)) == len(steps)  # every frame differs from every other

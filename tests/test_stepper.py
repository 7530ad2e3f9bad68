"""viz.step: forward frames node by node, backward frames gate by gate, all from the engine.

Every number a frame shows is checked against an independent replay of the engine's own
backward pass (a second, identical graph whose ``backward(on_step=...)`` snapshots every
gradient), and the layout is checked to be pinned: the DOT positions and the rendered SVG
coordinates are the same in every frame, with both renderers.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dot_reading import edges_of
from hypothesis import HealthCheck, given, settings

import viz
from autograd import BackwardStep, Value, topological_order
from autograd.testing import Expression, expressions
from viz import lectures
from viz.style import FORWARD_COLOR, GRADIENT_COLOR, UNKNOWN_COLOR

# ``viz.render`` is the function (re-exported by viz/__init__); this is the module.
render_module = importlib.import_module("viz.render")

SVG = "{http://www.w3.org/2000/svg}"
NO_DOT = "system Graphviz 'dot' not installed; CI installs it with apt-get"
NO_BUNDLED = "the bundled renderer graphviz-pure is not installed"
HIGHLIGHT = 'fillcolor="#fff59d"'

# One DOT statement per line: ``name [attrs]`` or ``tail -> head [attrs]``.
STATEMENT = re.compile(r"^\t(\w+)(?: -> (\w+))? \[(.*)\]$", re.MULTILINE)
LABEL = re.compile(r"\blabel=(<.*?>)(?= \w+=|$)")
XLABEL = re.compile(r"\bxlabel=(<.*?>)(?= \w+=|$)")
ATTR = re.compile(r'(\w+)=("[^"]*"|\S+)')
FONT = re.compile(r'<font color="([^"]+)"[^>]*>(.*?)</font>')
LAYOUT_KEYS = ("pos", "lp", "xlp", "width", "height", "fixedsize")

Build = Callable[[], Value]


def fmt(x: float) -> str:
    return viz.format_number(x, 2)


def xyz() -> Value:
    """(x + y) z, not yet backpropagated."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def square() -> Value:
    """x * x: one node feeding both inputs of a gate."""
    x = Value(3.0, "x")
    f = x * x
    f.label = "f"
    return f


BUILDS: list[Build] = [
    xyz,
    lectures.xyz,
    lectures.copy_gate,
    lectures.sigmoid_neuron_staged,
    lectures.sigmoid_neuron_fused,
    lectures.add_max_mul,
    square,
]
BUILD_IDS = ["xyz-fresh", "xyz", "copy", "sigmoid-staged", "sigmoid-fused", "add-max-mul", "x*x"]


# -- reading frames --------------------------------------------------------------------------------


def statements(source: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(node name -> attrs, [(tail, head, attrs), ...] in order) of a DOT text."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for name, head, attrs in STATEMENT.findall(source):
        if head:
            edges.append((name, head, attrs))
        elif name not in ("graph", "node", "edge"):  # not the default attributes
            nodes[name] = attrs
    return nodes, edges


def label_fonts(attrs: str, pattern: re.Pattern[str] = LABEL) -> list[tuple[str, str]]:
    """[(colour, text), ...] of the label (or xlabel) in a statement's attributes."""
    match = pattern.search(attrs)
    return FONT.findall(match.group(1)) if match else []


def edge_fonts(source: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return edges_of(source)


def highlighted(source: str) -> list[str]:
    return [name for name, attrs in statements(source)[0].items() if HIGHLIGHT in attrs]


def layout_of(source: str) -> dict[object, dict[str, str]]:
    """Every position-like attribute of every node and edge (edges keyed by their order)."""
    nodes, edges = statements(source)
    found: dict[object, dict[str, str]] = {}
    for key, attrs in [*nodes.items(), *(((t, h, i), a) for i, (t, h, a) in enumerate(edges))]:
        rest = XLABEL.sub("", LABEL.sub("", attrs))
        found[key] = {k: v for k, v in ATTR.findall(rest) if k in LAYOUT_KEYS}
    graph = re.search(r"^\tbb=.*$", source, re.MULTILINE)
    assert graph is not None, "the frame is not drawn on a pinned layout"
    found["graph"] = dict(ATTR.findall(graph.group(0)))
    return found


def replay(build: Build) -> tuple[list[Value], list[tuple[BackwardStep, list[float]]]]:
    """An independent run of the engine: every gate's step and every node's grad after it."""
    root = build()
    root.zero_grad()
    order = topological_order(root)
    steps: list[tuple[BackwardStep, list[float]]] = []
    root.backward(on_step=lambda s: steps.append((s, [node.grad for node in order])))
    return order, steps


def plain_grads(build: Build) -> list[float]:
    root = build()
    root.zero_grad()
    root.backward()
    return [node.grad for node in topological_order(root)]


@pytest.fixture(scope="module")
def copy_steps() -> viz.Stepper:
    return viz.step(lectures.copy_gate())


@pytest.fixture(scope="module")
def neuron_steps() -> viz.Stepper:
    return viz.step(lectures.sigmoid_neuron_staged())


# -- the sequence of frames ------------------------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS, ids=BUILD_IDS)
def test_one_forward_frame_per_node_then_one_backward_frame_per_gate(build: Build) -> None:
    root = build()
    order = topological_order(root)
    gates = [node for node in order if node.parents]
    steps = viz.step(root, constants="leaves")
    assert len(steps) == len(order) + len(gates)
    kinds = [frame.kind for frame in steps]
    assert kinds == ["forward"] * len(order) + ["backward"] * len(gates)
    assert [frame.index for frame in steps] == list(range(len(steps)))
    # forward: the nodes in topological order; backward: every gate once, users before inputs
    assert [frame.node for frame in steps[: len(order)]] == order
    sent = [frame.node for frame in steps[len(order) :]]
    assert sorted(map(id, sent)) == sorted(map(id, gates))
    position = {id(node): i for i, node in enumerate(order)}
    for k, gate in enumerate(sent):
        for parent in gate.parents:
            if parent.parents:  # an interior input is processed after its user
                assert position[id(parent)] < position[id(gate)]
                assert any(later is parent for later in sent[k + 1 :])
    for k, frame in enumerate(steps):
        total = len(order) if frame.kind == "forward" else len(gates)
        number = k + 1 if frame.kind == "forward" else k - len(order) + 1
        assert frame.caption.startswith(f"{frame.kind} {number}/{total}: ")
        assert f"label=<{frame.caption}>" in frame.source  # the caption is drawn on the frame
        assert highlighted(frame.source) == [f"n{position[id(frame.node)]}"]


@pytest.mark.parametrize("build", BUILDS, ids=BUILD_IDS)
def test_forward_frames_reveal_exactly_nodes_0_to_k(build: Build) -> None:
    root = build()
    order = topological_order(root)
    steps = viz.step(root, constants="leaves")
    for k, frame in enumerate(steps[: len(order)]):
        expected = {f"n{i}": (node.data if i <= k else None) for i, node in enumerate(order)}
        assert frame.values == expected
        assert frame.grads == {f"n{i}": None for i in range(len(order))}
        for tail, head, fonts in edge_fonts(frame.source):
            if head == "out":
                continue
            shown = int(tail[1:]) <= k
            green = (FORWARD_COLOR, fmt(order[int(tail[1:])].data))
            assert fonts[0] == (green if shown else (UNKNOWN_COLOR, "?")), (k, tail, head)
            assert fonts[1] == (UNKNOWN_COLOR, "?")  # no gradient exists yet: "?", never 0
        out = next(fonts for tail, head, fonts in edge_fonts(frame.source) if head == "out")
        root_shown = k == len(order) - 1
        assert out[0] == ((FORWARD_COLOR, fmt(root.data)) if root_shown else (UNKNOWN_COLOR, "?"))
        assert GRADIENT_COLOR not in frame.source


@pytest.mark.parametrize("build", BUILDS, ids=BUILD_IDS)
def test_backward_frames_hold_the_engines_grads_step_by_step(build: Build) -> None:
    steps = viz.step(build(), constants="leaves")
    order, replayed = replay(build)
    backward = [frame for frame in steps if frame.kind == "backward"]
    assert len(backward) == len(replayed)
    for frame, (step, grads) in zip(backward, replayed, strict=True):
        assert frame.grads == {f"n{i}": grad for i, grad in enumerate(grads)}
        assert order.index(step.gate) == int(highlighted(frame.source)[0][1:])
        for local, down in zip(step.local_grads, step.downstream, strict=True):
            assert f"{fmt(step.upstream)} × {fmt(local)} = {fmt(down)}" in frame.caption
    # the last frame is exactly what one plain backward() gives, and so is the stepped graph
    assert list(backward[-1].grads.values()) == plain_grads(build)
    root = build()
    viz.step(root, constants="leaves")
    assert [node.grad for node in topological_order(root)] == plain_grads(build)


@pytest.mark.parametrize("build", BUILDS, ids=BUILD_IDS)
def test_backward_frame_shows_upstream_times_local_on_the_current_gates_edges(
    build: Build,
) -> None:
    order, replayed = replay(build)
    steps = viz.step(build(), constants="leaves")
    n = len(order)
    done: set[str] = set()  # gates that have sent their gradient
    for frame, (step, _) in zip(steps[n:], replayed, strict=True):
        gate = f"n{order.index(step.gate)}"
        done.add(gate)
        into_gate = [fonts for _, head, fonts in edge_fonts(frame.source) if head == gate]
        assert len(into_gate) == len(step.local_grads)
        for fonts, local, down in zip(into_gate, step.local_grads, step.downstream, strict=True):
            text = f"{fmt(step.upstream)} × {fmt(local)} = {fmt(down)}"
            assert fonts[1] == (GRADIENT_COLOR, text)
        for tail, head, fonts in edge_fonts(frame.source):
            if head == "out":
                assert fonts[1] == (GRADIENT_COLOR, "1.00")  # the seed
            elif head not in done:
                assert fonts[1] == (UNKNOWN_COLOR, "?"), (frame.caption, tail, head)
            elif head != gate:  # sent earlier: just the downstream gradient
                assert fonts[1][0] == GRADIENT_COLOR and "×" not in fonts[1][1]


def test_gradients_not_yet_computed_show_as_question_marks_never_zero(
    neuron_steps: viz.Stepper, copy_steps: viz.Stepper
) -> None:
    # no gradient in these graphs is really 0, so a red 0 anywhere would be a made-up number
    for frame in [*neuron_steps, *copy_steps]:
        for _, _, fonts in edge_fonts(frame.source):
            for colour, text in fonts[1:]:
                assert re.fullmatch(r"-?0\.00", text) is None, frame.caption
                assert colour in (GRADIENT_COLOR, UNKNOWN_COLOR)
    # the first backward frame of (x + y) z: only f's inputs have a gradient yet
    first = viz.step(xyz())[5]
    unknown = [(t, h) for t, h, fonts in edge_fonts(first.source) if fonts[1][1] == "?"]
    assert unknown == [("n0", "n2"), ("n1", "n2")]
    assert first.grads["n0"] == 0.0  # the engine's own value, which the drawing does not show


def test_copy_gate_shows_the_gradient_accumulating(copy_steps: viz.Stepper) -> None:
    def sum_of_x(frame: viz.Frame) -> str:
        fonts = label_fonts(statements(frame.source)[0]["n0"])  # x: a leaf used twice
        assert len(fonts) == 1 and fonts[0][0] in (GRADIENT_COLOR, UNKNOWN_COLOR)
        return fonts[0][1]

    assert [frame.node.label for frame in copy_steps[:1]] == ["x"]
    backward = [frame for frame in copy_steps if frame.kind == "backward"]
    assert [sum_of_x(frame) for frame in backward] == [
        "Σ ?",
        "? + 4.00 = ?",
        "-3.00 + 4.00 = 1.00",
    ]
    assert "4.00 to x" in backward[1].caption and "-3.00 to x" in backward[2].caption
    assert [frame.grads["n0"] for frame in backward] == [0.0, 4.0, 1.0]  # the engine adding up


def test_sigmoid_neuron_frames_carry_the_reference_numbers(neuron_steps: viz.Stepper) -> None:
    root = lectures.sigmoid_neuron_staged()
    nodes = len(topological_order(root))
    # 15 nodes, 8 gates; the constants -1 and 1 are drawn in their gates and get no frame
    assert (nodes, len(neuron_steps)) == (15, 21)
    forward = [frame for frame in neuron_steps if frame.kind == "forward"]
    backward = [frame for frame in neuron_steps if frame.kind == "backward"]
    assert forward[-1].caption == "forward 13/13: f = 1/1.37 = 0.73"
    assert "forward 11/13: exp(-1.00) = 0.37" in [frame.caption for frame in forward]
    assert not any("constant" in frame.caption for frame in forward)
    assert "forward 10/13: 1.00 * -1 = -1.00" in [frame.caption for frame in forward]
    kept = viz.step(lectures.sigmoid_neuron_staged(), constants="leaves")
    assert len(kept) == 23
    assert "forward 10/15: constant -1.00" in [frame.caption for frame in kept]
    for k, frame in enumerate(backward, start=1):
        assert frame.caption.startswith(f"backward {k}/8: ")
    assert backward[0].node.op == root.op == "reciprocal"
    assert "f = 1/x gate" in backward[0].caption
    assert "1.00 × -0.53 = -0.53" in backward[0].caption  # 1/x: local -1/x² = -0.53
    exp = next(frame for frame in backward if "exp gate" in frame.caption)
    assert "-0.53 × 0.37 = -0.20" in exp.caption  # -0.53 arrives at exp
    # the first add (w0 x0 + w1 x1) gets 0.20 and distributes it to both products
    first_add = backward[5]
    assert first_add.node is not None and [p.op for p in first_add.node.parents] == ["mul", "mul"]
    assert "0.20 × 1.00 = 0.20 to -2.00; 0.20 × 1.00 = 0.20 to 6.00" in first_add.caption
    leaves = {
        tail: fonts[1][1]
        for tail, _, fonts in edge_fonts(backward[-1].source)
        if tail in ("n0", "n1", "n3", "n4", "n7")
    }
    names = {f"n{i}": node.label for i, node in enumerate(topological_order(root))}
    assert {names[k]: v.split(" = ")[-1] for k, v in leaves.items()} == {
        "w0": "-0.20",
        "x0": "0.39",
        "w1": "-0.39",
        "x1": "-0.59",
        "w2": "0.20",
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(max_leaves=3, max_nodes=5))
def test_random_graphs_step_exactly_like_the_engine(expr: Expression) -> None:
    def build() -> Value:
        return expr(*(Value(x, f"x{i}") for i, x in enumerate(expr.inputs)))

    order, replayed = replay(build)
    steps = viz.step(build())
    gates = sum(1 for node in order if node.parents)
    assert len(steps) == len(order) + gates
    for frame, (_, grads) in zip(steps[len(order) :], replayed, strict=True):
        assert frame.grads == {f"n{i}": grad for i, grad in enumerate(grads)}
    layouts = [layout_of(frame.source) for frame in steps]
    assert all(layout == layouts[0] for layout in layouts)


# -- options and odd inputs ------------------------------------------------------------------------


def test_grads_false_makes_forward_frames_only_and_leaves_the_grads_alone() -> None:
    root = lectures.copy_gate()  # backpropagated: x.grad = 1
    order = topological_order(root)
    before = [node.grad for node in order]
    steps = viz.step(root, grads=False)
    assert [frame.kind for frame in steps] == ["forward"] * len(order)
    for frame in steps:
        assert GRADIENT_COLOR not in frame.source
        assert all(len(fonts) == 1 for _, _, fonts in edge_fonts(frame.source))  # no red line
        assert "Σ" not in frame.source and " + 4.00" not in frame.source
    assert [node.grad for node in order] == before
    fresh = xyz()
    viz.step(fresh, grads=False)
    assert [node.grad for node in topological_order(fresh)] == [0.0] * 5


def test_stepping_a_backpropagated_graph_gives_the_frames_of_a_fresh_one() -> None:
    used = lectures.copy_gate()
    used.backward()
    used.backward()  # leaves accumulate: x.grad is now 3, not 1
    assert topological_order(used)[0].grad == 3.0
    again = viz.step(used)
    fresh = viz.step(lectures.copy_gate())
    assert [frame.source for frame in again] == [frame.source for frame in fresh]
    assert [frame.grads for frame in again] == [frame.grads for frame in fresh]
    assert [node.grad for node in topological_order(used)] == plain_grads(lectures.copy_gate)


def test_a_leaf_root_is_one_forward_frame() -> None:
    x = Value(3.0, "x")
    steps = viz.step(x)
    assert len(steps) == 1
    (frame,) = steps
    assert (frame.kind, frame.caption, frame.node) == ("forward", "forward 1/1: input x = 3.00", x)
    assert frame.values == {"n0": 3.0}
    assert x.grad == 1.0  # what one backward() gives a leaf
    assert "3.00" in frame.svg()


def test_draw_options_reach_every_frame() -> None:
    steps = viz.step(xyz(), rankdir="TB", precision=3, chain=True)
    assert all("rankdir=TB" in frame.source for frame in steps)
    assert "-12.000" in steps[-1].source
    # chain=True: every edge that has a gradient writes upstream × local = downstream
    assert (GRADIENT_COLOR, "-4.000 × 1.000 = -4.000") in edge_fonts(steps[-1].source)[0][2]
    with pytest.raises(ValueError, match="rankdir"):
        viz.step(xyz(), rankdir="RL")


def test_too_big_graphs_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"5 nodes.*max_nodes="):
        viz.step(xyz(), max_nodes=4)
    assert len(viz.step(xyz(), max_nodes=5)) == 7
    big = Value(1.0, "x")
    for _ in range(1000):  # 2001 nodes: the gate and its constant each time
        big = big * 1.0
    with pytest.raises(ValueError, match=r"2001 nodes.*collapse='layer'.*max_nodes="):
        viz.step(big)  # refused at once, before anything is laid out


@pytest.mark.parametrize("root", [3.0, None, "x", [Value(1.0)]])
def test_step_needs_a_value(root: object) -> None:
    with pytest.raises(TypeError, match="Value"):
        viz.step(root)  # type: ignore[arg-type]


# -- the layout is pinned --------------------------------------------------------------------------


@pytest.mark.parametrize("build", BUILDS, ids=BUILD_IDS)
def test_positions_and_splines_are_the_same_in_every_frame(build: Build) -> None:
    steps = viz.step(build())
    layouts = [layout_of(frame.source) for frame in steps]
    first = layouts[0]
    assert first["graph"]["layout"] == "nop2"
    assert first["graph"]["notranslate"] == "true"  # nop2 would shift the drawing otherwise
    assert "viewport" in first["graph"]  # ... and fit the canvas to each frame's caption
    for key, attrs in first.items():
        if key != "graph":
            assert "pos" in attrs, key  # every node and edge is pinned
            if isinstance(key, str):
                assert attrs["fixedsize"] == "true"
    for k, layout in enumerate(layouts):
        assert layout == first, steps[k].caption


@pytest.fixture(params=["system", "bundled"])
def renderer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "system" and shutil.which("dot") is None:
        pytest.skip(NO_DOT)
    if request.param == "bundled" and render_module.bundled_program() is None:
        pytest.skip(NO_BUNDLED)
    monkeypatch.setenv(render_module.ENV_VAR, request.param)  # the layout comes from it too
    return str(request.param)


def svg_geometry(svg: str) -> dict[str, Any]:
    """What must not move: the canvas, each node's shape and text lines, each edge's spline.

    A text line is (y, x, content): Graphviz anchors HTML-label text at its left end, so a line
    whose content changes (``?`` becoming ``-0.53``) keeps its y and its centre, not its x;
    lines with the same content must be at exactly the same place.
    """
    root = ET.fromstring(svg)
    geometry: dict[str, Any] = {
        "canvas": (root.get("width"), root.get("height"), root.get("viewBox"))
    }
    for group in root.iter(f"{SVG}g"):
        kind = group.get("class")
        if kind not in ("node", "edge"):
            continue
        title = group.find(f"{SVG}title")
        assert title is not None and title.text
        shapes = [
            (e.tag, e.get("cx"), e.get("cy"), e.get("rx"), e.get("ry"), e.get("d"))
            for e in group.iter()
            if e.tag in (f"{SVG}ellipse", f"{SVG}path")
        ]
        texts = [(t.get("y"), t.get("x"), "".join(t.itertext())) for t in group.iter(f"{SVG}text")]
        geometry[f"{kind} {title.text}"] = (shapes, texts)
    return geometry


def assert_same_place(geometries: list[dict[str, Any]]) -> None:
    first = geometries[0]
    for k, geometry in enumerate(geometries):
        assert geometry.keys() == first.keys()
        assert geometry["canvas"] == first["canvas"]
        for name in first:
            if name == "canvas":
                continue
            shapes, texts = geometry[name]
            shapes0, texts0 = first[name]
            assert shapes == shapes0, (k, name)
            assert [y for y, _, _ in texts] == [y for y, _, _ in texts0], (k, name)
            for (_, x, text), (_, x0, text0) in zip(texts, texts0, strict=True):
                if text == text0:
                    assert x == x0, (k, name, text)


@pytest.mark.parametrize("build", [lectures.copy_gate, lectures.sigmoid_neuron_staged])
def test_rendered_frames_do_not_move(renderer: str, build: Build) -> None:
    steps = viz.step(build())
    geometries = [svg_geometry(viz.render(f.source, "svg", renderer).decode()) for f in steps]
    assert_same_place(geometries)
    # the gates are where the pinned layout put them (Graphviz's y points up, SVG's down)
    layout = layout_of(steps[0].source)
    gates = [n for n, attrs in statements(steps[0].source)[0].items() if "shape=circle" in attrs]
    assert gates
    for gate in gates:
        x, y = map(float, layout[gate]["pos"].strip('"').split(","))
        (ellipse,), _ = geometries[0][f"node {gate}"]
        assert abs(float(ellipse[1]) - x) < 0.5 and abs(float(ellipse[2]) + y) < 0.5, gate


@pytest.mark.parametrize("build", [xyz, lectures.copy_gate])
def test_the_caption_stays_put_and_uncut(renderer: str, build: Build) -> None:
    """Graphviz centres the caption over each frame's own drawing, whose extent changes with
    its edge labels (top to bottom, the labels beside the outermost edges); pinned, it is
    centred on the same point in every frame and inside the canvas (read from Graphviz's JSON:
    where the text starts and how wide it is)."""
    steps = viz.step(build(), rankdir="TB")
    centres = set()
    for frame in steps:
        graph = json.loads(viz.render(frame.source, "json", renderer))
        (text,) = [op for op in graph["_ldraw_"] if op["op"] == "T"]
        assert text["text"] == frame.caption
        left, width = text["pt"][0], text["width"]
        centres.add((round(left + width / 2, 1), text["pt"][1]))
        x1, _, x2, _ = map(float, layout_of(frame.source)["graph"]["bb"].strip('"').split(","))
        pad = 4  # the viewport's margin
        assert left >= x1 - pad and left + width <= x2 + pad, frame.caption
    assert len(centres) == 1, centres


# -- the Sequence protocol, files ------------------------------------------------------------------


def test_a_stepper_is_a_sequence_of_diagrams(copy_steps: viz.Stepper) -> None:
    frames = list(copy_steps)
    assert len(frames) == len(copy_steps) == 9
    assert copy_steps[0] is frames[0] and copy_steps[-1] is frames[8]
    assert copy_steps[6:] == frames[6:]
    assert all(isinstance(frame, viz.Frame | viz.Diagram) for frame in copy_steps)
    assert "9 frames (6 forward, 3 backward)" in repr(copy_steps)
    assert repr(copy_steps[7]).startswith("<Frame 7 (backward): backward 2/3")
    with pytest.raises(IndexError):
        copy_steps[9]


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_a_frame_renders_and_saves_like_a_diagram(copy_steps: viz.Stepper, tmp_path: Path) -> None:
    frame = copy_steps[8]
    svg = frame.svg()
    texts = svg_texts(svg)
    assert "-3.00 + 4.00 = 1.00" in texts
    assert frame.caption in texts
    assert frame.save(tmp_path / "f.svg").read_text(encoding="utf-8") == svg
    assert frame.save(tmp_path / "f.dot").read_text(encoding="utf-8") == frame.source


def frame_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_save_frames_writes_numbered_svgs_by_default(
    copy_steps: viz.Stepper, tmp_path: Path
) -> None:
    written = copy_steps.save_frames(tmp_path / "frames")
    expected = [f"frame_{k:03d}.svg" for k in range(1, 10)]
    assert frame_files(tmp_path / "frames") == expected  # no temporary files left either
    assert [p.name for p in written] == expected
    for k, name in enumerate(expected):
        svg = (tmp_path / "frames" / name).read_text(encoding="utf-8")
        assert svg == copy_steps[k].svg()
    assert frame_files(tmp_path) == ["frames"]  # nothing left beside the folder


@pytest.mark.skipif(shutil.which("dot") is None, reason=NO_DOT)
def test_save_frames_writes_pdf_pages_when_asked(copy_steps: viz.Stepper, tmp_path: Path) -> None:
    written = copy_steps.save_frames(tmp_path / "frames", formats=["svg", "pdf"])
    names = [f"frame_{k:03d}" for k in range(1, 10)]
    expected = sorted([f"{n}.svg" for n in names] + [f"{n}.pdf" for n in names])
    assert frame_files(tmp_path / "frames") == expected
    assert sorted(p.name for p in written) == expected
    for name in names:
        assert (tmp_path / "frames" / f"{name}.pdf").read_bytes().startswith(b"%PDF")


def test_save_frames_without_system_dot_writes_svgs_and_converted_pdfs(
    copy_steps: viz.Stepper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if render_module.bundled_program() is None:
        pytest.skip(NO_BUNDLED)
    monkeypatch.setattr(render_module, "system_dot", lambda: None)
    monkeypatch.delenv(render_module.ENV_VAR, raising=False)
    steps = viz.step(lectures.copy_gate())  # laid out and rendered by the bundled renderer
    written = steps.save_frames(tmp_path / "both", formats=["svg", "pdf"])
    names = [f"frame_{k:03d}" for k in range(1, 10)]
    expected = sorted([f"{n}.svg" for n in names] + [f"{n}.pdf" for n in names])
    assert frame_files(tmp_path / "both") == expected  # the PDFs converted from the SVGs
    assert sorted(p.name for p in written) == expected
    last = tmp_path / "both" / "frame_009"
    assert "-3.00 + 4.00 = 1.00" in svg_texts(last.with_suffix(".svg").read_text("utf-8"))
    assert last.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    # without the converter's packages: PDF asked for is a clear error, and nothing written
    monkeypatch.setattr(render_module, "missing_pdf_libraries", lambda: ["svglib"])
    with pytest.raises(viz.RenderError, match="PDF"):
        steps.save_frames(tmp_path / "pdf", formats=["svg", "pdf"])
    assert not (tmp_path / "pdf").exists()


def test_save_frames_rejects_unknown_formats(copy_steps: viz.Stepper, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="svg, png and pdf"):
        copy_steps.save_frames(tmp_path, formats=["gif"])
    assert frame_files(tmp_path) == []


def test_save_frames_numbers_with_enough_digits(tmp_path: Path) -> None:
    # 1001 frames need four digits. Laying out a graph that big takes minutes, and the names
    # are the point: one small step-through's frame, 1001 times.
    one = viz.step(Value(1.0, "x"))
    steps = viz.Stepper(
        one.states * 1001,
        one.about * 1001,
        one.kinds * 1001,
        one.snapshots * 1001,
        one.options,
        one.layout,
        one.picture,
        one.changes * 1001,
        "x",
    )
    written = steps.save_frames(tmp_path / "many")
    assert [p.name for p in written[:2]] == ["frame_0001.svg", "frame_0002.svg"]
    assert written[-1].name == "frame_1001.svg"

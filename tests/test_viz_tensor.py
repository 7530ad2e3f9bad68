"""Tensor graphs in the lecture style: shapes on the nodes, small arrays written out.

The running example is the lectures' vectorised one, f(x, W) = ||W x||^2 with W = [[0.1, 0.5],
[-0.3, 0.8]] and x = [0.2, 0.4]: q = W x = [0.22, 0.26], f = 0.116, grad_W = 2 q xᵀ =
[[0.088, 0.176], [0.104, 0.208]], grad_x = 2 Wᵀ q = [-0.112, 0.636]. Drawn at precision 3,
every one of those numbers appears as written there.
"""

from __future__ import annotations

import importlib
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from dot_reading import edges_of, nodes_of, sums_of

import viz
from autograd import Tensor, Value, topological_order
from viz import lectures
from viz.style import FORWARD_COLOR, GRADIENT_COLOR, UNKNOWN_COLOR

render_module = importlib.import_module("viz.render")

SVG_TEXT = "{http://www.w3.org/2000/svg}text"
FONT = re.compile(r'<font color="([^"]+)"[^>]*>(.*?)</font>')
# One DOT statement per line: ``name [attrs]`` or ``tail -> head [attrs]``.
STATEMENT = re.compile(r"^\t(\w+)(?: -> (\w+))? \[(.*)\]$", re.MULTILINE)
LABEL = re.compile(r"\blabel=(<.*?>)(?= \w+=|$)")
XLABEL = re.compile(r"\bxlabel=(<.*?>)(?= \w+=|$)")
BR = "<br/>"

# the lecture's numbers, at three decimals
W_TEXT = f"[[0.100, 0.500],{BR} [-0.300, 0.800]]"
X_TEXT = "[0.200, 0.400]"
Q_TEXT = "[0.220, 0.260]"
GRAD_W = f"[[0.088, 0.176],{BR} [0.104, 0.208]]"
GRAD_X = "[-0.112, 0.636]"


def wx(backward: bool = True) -> Tensor:
    """||W x||^2 as on the slide, with q named."""
    W = Tensor([[0.1, 0.5], [-0.3, 0.8]], "W")
    x = Tensor([0.2, 0.4], "x")
    q = W @ x
    q.label = "q"
    f = (q * q).sum()
    f.label = "f"
    if backward:
        f.backward()
    return f


def statements(source: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """(node name -> attrs, [(tail, head, attrs), ...] in order) of a DOT text."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for name, head, attrs in STATEMENT.findall(source):
        if head:
            edges.append((name, head, attrs))
        elif name not in ("graph", "node", "edge"):
            nodes[name] = attrs
    return nodes, edges


def label(attrs: str, pattern: re.Pattern[str] = LABEL) -> str:
    match = pattern.search(attrs)
    return match.group(1) if match else ""


def edge_fonts(source: str) -> dict[tuple[str, str, int], list[tuple[str, str]]]:
    """(tail, head, k-th such edge) -> [(colour, text), ...] of its label."""
    found: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
    for tail, head, fonts in edges_of(source):
        k = sum(1 for t, h, _ in found if (t, h) == (tail, head))
        found[(tail, head, k)] = fonts
    return found


def node_ids(root: Tensor) -> dict[str, str]:
    """label -> node id ("n0", ...) in the drawing, for the labelled nodes."""
    return {n.label: f"n{i}" for i, n in enumerate(topological_order(root)) if n.label}


def svg_texts(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    return ["".join(text.itertext()).strip() for text in root.iter(SVG_TEXT)]


# -- nodes: names with shapes ---------------------------------------------------------------------


def test_nodes_show_their_names_and_shapes() -> None:
    f = wx()
    nodes, _ = statements(viz.draw(f).source)
    ids = node_ids(f)
    assert label(nodes[ids["W"]]) == "<W (2, 2)>"
    assert label(nodes[ids["x"]]) == "<x (2,)>"
    assert "shape=plaintext" in nodes[ids["W"]]
    # a gate is a circle with its op symbol, and the name and shape of what it computes
    q_label = label(nodes[ids["q"]])
    assert q_label.startswith("<@" + BR) and ">q (2,)</font>" in q_label
    assert "shape=circle" in nodes[ids["q"]]
    (mul,) = [attrs for name, attrs in nodes.items() if label(attrs).startswith("<*")]
    assert ">(2,)</font>" in label(mul)
    # the sum's output is one number, f: no shape to show, and its name ends the output edge
    assert label(nodes[ids["f"]]) == "<Σ all axes>"
    assert label(nodes["out"]) == "<f>"


def test_float32_tensors_say_so() -> None:
    w = Tensor(np.ones((3, 4)), "w", dtype="float32")
    f = (w * w).sum()
    f.backward()
    source = viz.draw(f).source
    assert "w (3, 4) float32" in source
    assert "(3, 4) float32</font>" in source  # the forward value, too large to write out


# -- edges: values green, gradients red ------------------------------------------------------------


def test_edges_carry_the_reference_arrays() -> None:
    f = wx()
    fonts = edge_fonts(viz.draw(f, precision=3).source)
    ids = node_ids(f)
    W, x, q = ids["W"], ids["x"], ids["q"]
    assert fonts[(W, q, 0)] == [(FORWARD_COLOR, W_TEXT), (GRADIENT_COLOR, GRAD_W)]
    assert fonts[(x, q, 0)] == [(FORWARD_COLOR, X_TEXT), (GRADIENT_COLOR, GRAD_X)]
    # q * q: two edges, each carrying its own use's gradient (the other factor, q)
    mul = next(head for tail, head, _ in fonts if tail == q)
    for k in (0, 1):
        assert fonts[(q, mul, k)] == [(FORWARD_COLOR, Q_TEXT), (GRADIENT_COLOR, Q_TEXT)]
    assert fonts[(mul, ids["f"], 0)] == [
        (FORWARD_COLOR, "[0.048, 0.068]"),
        (GRADIENT_COLOR, "[1.000, 1.000]"),
    ]
    assert fonts[(ids["f"], "out", 0)] == [(FORWARD_COLOR, "0.116"), (GRADIENT_COLOR, "1.000")]


def test_a_tensor_used_twice_shows_the_sum_of_its_uses() -> None:
    f = wx()
    # on the edge from q's gate to the junction where its two uses part
    fan_in = sums_of(viz.draw(f, precision=3).source)[node_ids(f)["q"]]
    assert fan_in == [
        (FORWARD_COLOR, Q_TEXT),
        (GRADIENT_COLOR, f"{Q_TEXT}{BR}+ {Q_TEXT}{BR}= [0.440, 0.520]"),
    ]


def test_precision_applies_to_arrays() -> None:
    source = viz.draw(wx(), precision=2).source
    assert f"[[0.09, 0.18],{BR} [0.10, 0.21]]" in source
    assert "[-0.11, 0.64]" in source
    assert "0.088" not in source


def test_gradients_are_unknown_before_backward_but_shapes_are_not() -> None:
    f = wx(backward=False)
    source = viz.draw(f).source
    nodes, _ = statements(source)
    assert label(nodes[node_ids(f)["W"]]) == "<W (2, 2)>"
    for colours in edge_fonts(source).values():
        assert colours[0][0] == FORWARD_COLOR
        assert colours[1] == (UNKNOWN_COLOR, "?")
    # q = W x is used twice: its sum has two terms, none known yet, on as many lines as it
    # will have (so a step-through's frames keep one layout)
    assert f'<font color="{UNKNOWN_COLOR}">?<br/>+ ?<br/>= ?</font>' in source
    assert GRADIENT_COLOR not in source


def test_forward_only_has_no_gradients() -> None:
    source = viz.draw(wx(), grads=False, precision=3).source
    assert W_TEXT in source
    assert GRADIENT_COLOR not in source and UNKNOWN_COLOR not in source


def test_the_trace_holds_the_engines_arrays() -> None:
    f = wx()
    by_label = {node.label: node for node in viz.trace(f).nodes if node.label}
    W, x = by_label["W"].value, by_label["x"].value
    assert isinstance(W, Tensor) and isinstance(x, Tensor)
    assert by_label["W"].grad is W.grad and by_label["x"].grad is x.grad
    np.testing.assert_allclose(np.asarray(W.grad), [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(np.asarray(x.grad), [-0.112, 0.636])
    assert by_label["W"].shape == (2, 2) and by_label["W"].dtype == "float64"
    assert by_label["q"].shape == (2,)


# -- large tensors: shapes only --------------------------------------------------------------------


def big_layer() -> Tensor:
    rng = np.random.default_rng(0)
    W = Tensor(rng.normal(size=(64, 128)) * 0.1, "W")
    x = Tensor(rng.normal(size=128), "x")
    h = (W @ x).tanh()
    h.label = "h"
    f = (h * h).mean()
    f.label = "f"
    f.backward()
    return f


def test_a_large_tensor_shows_only_its_shape() -> None:
    f = big_layer()
    source = viz.draw(f, chain=True).source
    nodes, _ = statements(source)
    ids = node_ids(f)
    assert label(nodes[ids["W"]]) == "<W (64, 128)>"
    fonts = edge_fonts(source)
    W_edge = fonts[(ids["W"], next(h for t, h, _ in fonts if t == ids["W"]), 0)]
    assert W_edge[0] == (FORWARD_COLOR, "(64, 128)")
    assert W_edge[1] == (
        GRADIENT_COLOR,
        f"upstream (64,){BR}outer(upstream, b){BR}= (64, 128)",
    )
    # tanh's local is an elementwise array, too large to write out
    tanh_edges = [f for (t, h, _), f in fonts.items() if h == ids["h"]]
    assert tanh_edges[0][1][1] == f"upstream (64,){BR}upstream × local (64,){BR}= (64,)"
    # h is used twice: the copy gate's sum, by shape
    assert f"(64,){BR}+ (64,){BR}= (64,)" in source
    # no array is written out anywhere: only the one-number output is
    assert not any("[" in text for edge in fonts.values() for _, text in edge)
    assert fonts[(ids["f"], "out", 0)] == [
        (FORWARD_COLOR, viz.format_number(f.item(), 2)),
        (GRADIENT_COLOR, "1.00"),
    ]
    svg = viz.draw(f).svg()
    assert "W (64, 128)" in svg_texts(svg)


def test_max_inline_sets_what_is_small() -> None:
    f = wx()
    assert "(2, 2)</font>" in viz.draw(f, max_inline=3).source  # W has 4 elements: a shape
    assert "[0.22, 0.26]" in viz.draw(f, max_inline=3).source  # q has 2: written out
    shapes_only = viz.draw(f, max_inline=0).source
    texts = [text for edge in edge_fonts(shapes_only).values() for _, text in edge]
    assert texts[:2] == ["(2, 2)", "(2, 2)"]  # W and its gradient
    assert not any("[" in text for text in texts)
    assert texts[-2:] == ["0.12", "1.00"]  # a 0-d tensor is a number: always written out
    with pytest.raises(ValueError, match="max_inline"):
        viz.draw(f, max_inline=-1)


# -- chain=True: upstream x local = downstream for arrays -----------------------------------------


def test_chain_writes_upstream_local_and_downstream_arrays() -> None:
    f = wx()
    fonts = edge_fonts(viz.draw(f, chain=True, precision=3).source)
    ids = node_ids(f)
    W, x, q = ids["W"], ids["x"], ids["q"]
    upstream = "upstream [0.440, 0.520]"
    assert fonts[(W, q, 0)][1] == (
        GRADIENT_COLOR,
        f"{upstream}{BR}outer(upstream, b){BR}= {GRAD_W}",
    )
    assert fonts[(x, q, 0)][1] == (GRADIENT_COLOR, f"{upstream}{BR}aᵀ @ upstream{BR}= {GRAD_X}")
    mul = next(head for tail, head, _ in fonts if tail == q)
    for k in (0, 1):  # mul swaps: each use of q gets upstream × the other factor
        text = f"upstream [1.000, 1.000]{BR}upstream × {Q_TEXT}{BR}= {Q_TEXT}"
        assert fonts[(q, mul, k)][1] == (GRADIENT_COLOR, text)
    text = f"upstream 1.000{BR}upstream copied back to shape (2,){BR}= [1.000, 1.000]"
    assert fonts[(mul, ids["f"], 0)][1] == (GRADIENT_COLOR, text)
    # the output edge carries the seed, as for Values
    assert fonts[(ids["f"], "out", 0)][1] == (GRADIENT_COLOR, "1.000")


def test_chain_for_numbers_and_the_add_gate() -> None:
    a = Tensor([1.0, 2.0], "a")
    b = Tensor([3.0, 4.0], "b")
    f = ((a + b) * 3.0).sum()
    f.backward()
    source = viz.draw(f, chain=True).source
    assert "upstream × 1" in source  # add distributes: local 1
    assert "upstream × 3.00" in source  # times a number: local 3
    assert "upstream × [" not in source  # no elementwise array local here


def test_inputs_that_need_no_gradient_get_none() -> None:
    a = Tensor([1.0, 2.0], "a")
    data = Tensor([3.0, 4.0], "data", requires_grad=False)
    f = (a * data).sum()
    f.backward()
    source = viz.draw(f, chain=True).source
    fonts = edge_fonts(source)
    ids = node_ids(f)
    (into_mul,) = [k for k in fonts if k[0] == ids["data"]]
    assert fonts[into_mul] == [(FORWARD_COLOR, "[3.00, 4.00]"), (UNKNOWN_COLOR, "not needed")]
    (from_a,) = [k for k in fonts if k[0] == ids["a"]]
    text = f"upstream [1.00, 1.00]{BR}upstream × [3.00, 4.00]{BR}= [3.00, 4.00]"
    assert fonts[from_a][1] == (GRADIENT_COLOR, text)
    steps = viz.step(f)
    assert "nothing to data (requires_grad=False)" in steps[-1].caption
    assert "?" not in [text for fonts in edge_fonts(steps[-1].source).values() for _, text in fonts]


# -- groups and neighbourhoods work on Tensor graphs -----------------------------------------------


def test_grouping_and_focus_read_tensor_nodes() -> None:
    f = wx()
    q = next(node for node in topological_order(f) if node.label == "q")
    focused = viz.draw(f, around=q, radius=1, precision=3).source
    assert "W (2, 2)" in focused and "f" not in statements(focused)[0]
    grouped = viz.draw(f, group=lambda node: "layer" if node.label in ("W", "x") else None)
    assert "subgraph cluster_0" in grouped.source


def test_draw_still_refuses_what_is_not_a_graph_node() -> None:
    with pytest.raises(TypeError, match="Value or a Tensor"):
        viz.draw(np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        viz.draw([wx(), 2.0])  # type: ignore[list-item]


def test_values_and_tensors_can_share_a_sheet() -> None:
    source = viz.draw([lectures.xyz(), wx()], titles=["scalars", "tensors"]).source
    assert "-12.00" in source and "W (2, 2)" in source


# -- rendering, with each renderer -----------------------------------------------------------------


@pytest.mark.parametrize("chain", [False, True])
def test_renders_to_svg_with_each_renderer(renderer: str, chain: bool) -> None:
    source = viz.draw(wx(), precision=3, chain=chain).source
    texts = svg_texts(viz.render(source, "svg", renderer))
    for text in ["W (2, 2)", "x (2,)", "q (2,)", "Σ all axes", "0.116"]:
        assert text in texts, text
    assert GRAD_X in texts or f"= {GRAD_X}" in texts
    # a matrix is drawn one row per line
    assert "[[0.088, 0.176]," in texts or "= [[0.088, 0.176]," in texts
    assert "[0.104, 0.208]]" in texts
    assert "= [0.440, 0.520]" in texts  # q's two uses add
    if chain:
        assert "outer(upstream, b)" in texts and "upstream [0.440, 0.520]" in texts


def test_a_large_tensor_renders_with_each_renderer(renderer: str) -> None:
    texts = svg_texts(viz.render(viz.draw(big_layer(), chain=True).source, "svg", renderer))
    assert "W (64, 128)" in texts
    assert "upstream × local (64,)" in texts


def test_the_env_var_picks_the_renderer_for_tensor_diagrams(
    renderer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    assert "W (2, 2)" in svg_texts(viz.draw(wx()).svg())


# -- the stepper -----------------------------------------------------------------------------------


def without_layout(attrs: str) -> tuple[str, str]:
    """The label and xlabel of a statement: what it says, not where it is."""
    return label(attrs), label(attrs, XLABEL)


def test_the_stepper_walks_forward_then_gate_by_gate() -> None:
    steps = viz.step(wx(backward=False), precision=3)
    assert [frame.kind for frame in steps] == ["forward"] * 5 + ["backward"] * 3
    captions = [frame.caption for frame in steps]
    assert captions[0] == "forward 1/5: input W = [[0.100, 0.500], [-0.300, 0.800]]"
    assert captions[2] == "forward 3/5: q = W @ x = [0.220, 0.260]"
    assert captions[4].endswith("= 0.116")
    assert captions[-1] == (
        "backward 3/3: q = @ gate sends upstream [0.440, 0.520]: "
        "outer(upstream, b) = [[0.088, 0.176], [0.104, 0.208]] to W; "
        "aᵀ @ upstream = [-0.112, 0.636] to x"
    )
    # in the forward frames the shapes are known before the values are
    first_nodes, _ = statements(steps[0].source)
    assert "x (2,)" in label(first_nodes["n1"])
    assert "[0.200, 0.400]" not in steps[0].source


def test_the_copy_gate_accumulates_step_by_step() -> None:
    steps = viz.step(wx(backward=False), precision=3)
    q_sums = [sums_of(frame.source)["n2"][1][1] for frame in steps]
    assert f"?{BR}+ ?{BR}= ?" in q_sums[5]  # the sum gate has sent; q * q has not yet
    assert f"{Q_TEXT}{BR}+ {Q_TEXT}{BR}= [0.440, 0.520]" in q_sums[6]


def test_the_last_frame_is_the_diagram_after_backward() -> None:
    steps = viz.step(wx(backward=False), precision=3)
    last = steps[-1]
    plain = wx()  # the same graph, one plain backward()
    plain_source = viz.draw(plain, precision=3).source
    plain_nodes = statements(plain_source)[0]
    plain_edges = edges_of(plain_source)
    chain_edges = edges_of(viz.draw(plain, precision=3, chain=True).source)
    nodes = statements(last.source)[0]
    for name in nodes_of(plain_source):
        assert without_layout(nodes[name]) == without_layout(plain_nodes[name]), name
    gate = "n2"  # the last gate to send its gradient: q = W @ x, drawn in chain form
    assert [name for name, attrs in nodes.items() if "fillcolor" in attrs] == [gate]
    edges = edges_of(last.source)
    assert len(edges) == len(plain_edges)
    for edge, plain_edge, chain_edge in zip(edges, plain_edges, chain_edges, strict=True):
        assert edge == (chain_edge if edge[1] == gate else plain_edge)
    assert sums_of(last.source) == sums_of(plain_source)
    # and the frame's gradients are the engine's, as one backward() leaves them
    order = topological_order(plain)
    for i, node in enumerate(order):
        np.testing.assert_array_equal(last.grads[f"n{i}"], node.grad)


def test_stepping_leaves_the_gradients_of_one_backward() -> None:
    f = wx()
    f.backward()  # twice: the leaves' gradients doubled
    viz.step(f)
    W = next(node for node in topological_order(f) if node.label == "W")
    np.testing.assert_allclose(W.grad, [[0.088, 0.176], [0.104, 0.208]])


def test_step_needs_a_one_number_root_and_leaves_the_gradients_alone() -> None:
    W = Tensor([[0.1, 0.5], [-0.3, 0.8]], "W")
    x = Tensor([0.2, 0.4], "x")
    q = W @ x
    q.sum().backward()
    before = W.grad.copy()
    with pytest.raises(ValueError, match=r"one-element tensor.*\(2,\)"):
        viz.step(q)
    np.testing.assert_array_equal(W.grad, before)
    assert len(viz.step(q, grads=False)) == 3  # the forward pass alone needs no loss


def test_step_on_a_large_graph_names_shapes() -> None:
    steps = viz.step(big_layer())
    assert steps[0].caption == "forward 1/6: input W = (64, 128) array"
    assert any("upstream × local (64,) = (64,) array" in frame.caption for frame in steps)


@pytest.mark.parametrize("build", [lambda: wx(False), big_layer])
def test_stepper_frames_render_with_each_renderer(renderer: str, build: object) -> None:
    assert callable(build)
    steps = viz.step(build())
    for frame in (steps[0], steps[-1]):
        assert svg_texts(viz.render(frame.source, "svg", renderer))


# -- the lecture figure ----------------------------------------------------------------------------


def test_the_lecture_figure_is_reference_section_6() -> None:
    f = lectures.vectorised_wx()
    assert f.item() == pytest.approx(0.116)
    by_label = {node.label: node.value for node in viz.trace(f).nodes if node.label}
    np.testing.assert_allclose(by_label["q"].data, [0.22, 0.26])
    np.testing.assert_allclose(by_label["W"].grad, [[0.088, 0.176], [0.104, 0.208]])
    np.testing.assert_allclose(by_label["x"].grad, [-0.112, 0.636])
    assert GRAD_X in viz.draw(f, precision=3).source


def test_scalar_diagrams_show_no_shapes() -> None:
    x = Value(3.0, "x")
    f = x * x
    f.backward()
    nodes, _ = statements(viz.draw(f, chain=True).source)
    assert label(nodes["n0"]).startswith("<x<br/>")  # the name, then the copy gate's sum
    assert label(nodes["n1"]) == "<*>"


def test_an_unnamed_root_draws_no_quotes_at_the_end_of_its_edge() -> None:
    from autograd import Value

    for root in (Value(2.0) * 3.0, (Tensor([1.0, 2.0]) * 3.0).sum()):
        root.backward()
        source = viz.draw(root).source
        assert nodes_of(source)["out"] == ("", "plaintext")
        assert '\\"\\"' not in source  # it used to draw a literal ""


def test_a_long_tensor_caption_is_broken_into_lines() -> None:
    from viz import lectures

    frames = viz.step(lectures.vectorised_wx())
    last = frames[-1]
    assert len(last.caption) > 140  # arrays and the VJP's formula
    assert "<br/>" in last.source.split("label=<", 1)[1].split(">\n", 1)[0]

"""Lecture-style diagrams: the DOT text carries the engine's numbers, options, escaping."""

from __future__ import annotations

import importlib
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from dot_reading import FONT, NODE, edges_of, label_of, label_texts, nodes_of
from hypothesis import given
from hypothesis import strategies as st

import viz
from autograd import Value
from viz import lectures
from viz.style import FORWARD_COLOR, GRADIENT_COLOR, UNKNOWN_COLOR

# ``viz.render`` is the function (re-exported by viz/__init__); these are the modules.
render_module = importlib.import_module("viz.render")
diagram_module = importlib.import_module("viz.diagram")

SVG_TEXT = "{http://www.w3.org/2000/svg}text"


def by_label(tr: viz.Trace) -> dict[str, viz.TraceNode]:
    return {node.label: node for node in tr.nodes if node.label}


Build = Callable[[], Value]


def scalar(x: object) -> float:
    """A scalar graph's number (the trace's fields may also hold arrays, or None)."""
    assert isinstance(x, float), x
    return x


def fmt(x: float) -> str:
    return viz.format_number(x, 2)


def fresh_xyz(backward: bool = True) -> Value:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    if backward:
        f.backward()
    return f


def square() -> tuple[Value, Value]:
    x = Value(3.0, "x")
    f = x * x
    f.label = "f"
    f.backward()
    return x, f


ALL_LECTURES = [
    lectures.xyz,
    lectures.sigmoid_neuron_staged,
    lectures.sigmoid_neuron_fused,
    lectures.add_max_mul,
    lectures.copy_gate,
    lambda: square()[1],
]


# -- Example A: (x + y) z ----------------------------------------------------------------------


def test_xyz_edges_carry_forward_values_green_and_gradients_red() -> None:
    root = lectures.xyz()
    tr = viz.trace(root)
    names = {node.id: node.label for node in tr.nodes}
    names["out"] = "out"
    got = {names[tail]: fonts for tail, _, fonts in edges_of(viz.draw(root).source)}
    expected = {
        "x": ("-2.00", "-4.00"),
        "y": ("5.00", "-4.00"),
        "q": ("3.00", "-4.00"),
        "z": ("-4.00", "3.00"),
        "f": ("-12.00", "1.00"),  # the output edge, out of the root f
    }
    assert set(got) == set(expected)
    for name, (forward, gradient) in expected.items():
        assert got[name] == [(FORWARD_COLOR, forward), (GRADIENT_COLOR, gradient)], name


def test_xyz_gates_are_circles_and_leaves_plaintext() -> None:
    nodes = nodes_of(viz.draw(lectures.xyz()).source)
    circles = sorted(label for label, shape in nodes.values() if shape == "circle")
    plain = sorted(label for label, shape in nodes.values() if shape == "plaintext")
    assert circles == ["*", "+"]
    assert plain == ["f", "x", "y", "z"]  # f: the name at the end of the output edge


def test_named_intermediate_value_is_named_on_the_edge_leaving_its_gate() -> None:
    source = viz.draw(lectures.xyz()).source
    tr = viz.trace(lectures.xyz())
    q = by_label(tr)["q"]
    labels = {name: label_of(attrs) for name, attrs in NODE.findall(source)}
    (edge_label,) = [name for name in labels if name.startswith(f"{q.id}_")]
    assert FONT.findall(labels[edge_label])[:2] == [("#000000", "q = "), (FORWARD_COLOR, "3.00")]


# -- the numbers come from the engine -----------------------------------------------------------


@pytest.mark.parametrize("build", ALL_LECTURES)
def test_trace_edges_are_upstream_times_local_from_the_engine(build: Build) -> None:
    root = build()
    tr = viz.trace(root)
    by_id = {node.id: node for node in tr.nodes}
    assert tr.edges
    for edge in tr.edges:
        gate = by_id[edge.target].value
        parent = by_id[edge.source].value
        assert gate.parents[edge.index] is parent
        assert edge.local == gate.local_grads[edge.index]
        assert edge.upstream == gate.grad
        assert edge.downstream == edge.upstream * edge.local
        assert edge.data == parent.data
    for node in tr.nodes:
        assert node.data == node.value.data
        assert node.grad == node.value.grad
        outgoing = tr.outgoing(node.id)
        if outgoing:  # every consumer is inside the graph: the uses add up to .grad
            total = math.fsum(scalar(edge.downstream) for edge in outgoing)
            assert math.isclose(total, node.value.grad, rel_tol=1e-12, abs_tol=1e-15)
    assert tr.root.value is root
    assert tr.root.grad == 1.0


def test_copy_gate_sums_the_gradients_of_a_value_used_twice() -> None:
    root = lectures.copy_gate()
    tr = viz.trace(root)
    x = by_label(tr)["x"]
    outgoing = tr.outgoing(x.id)
    assert len(outgoing) == 2
    assert sorted(scalar(edge.downstream) for edge in outgoing) == [-3.0, 4.0]
    assert x.grad == 1.0 == sum(scalar(edge.downstream) for edge in outgoing)
    source = viz.draw(root).source
    assert "-3.00 + 4.00 = 1.00" in source
    (x_node,) = [label for label, _ in nodes_of(source).values() if label.startswith("x<br/>")]
    assert f'<font color="{GRADIENT_COLOR}"' in x_node
    # y and z are used once: no sum beside them
    assert len(re.findall(r"\d = -?\d", source)) == 1


def test_x_times_x_draws_two_edges_into_the_same_gate() -> None:
    x, f = square()
    tr = viz.trace(f)
    leaf = by_label(tr)["x"]
    outgoing = tr.outgoing(leaf.id)
    assert [(e.target, e.index) for e in outgoing] == [(tr.root.id, 0), (tr.root.id, 1)]
    assert x.grad == 6.0 == sum(scalar(edge.downstream) for edge in outgoing)
    source = viz.draw(f).source
    pairs = [(tail, head) for tail, head, _ in edges_of(source)]
    assert pairs.count((leaf.id, tr.root.id)) == 2
    assert "3.00 + 3.00 = 6.00" in source


# -- gradients not (yet) known ------------------------------------------------------------------


def test_forward_only_has_no_gradients() -> None:
    source = viz.draw(lectures.xyz(), grads=False).source
    assert GRADIENT_COLOR not in source
    assert UNKNOWN_COLOR not in source
    edges = edges_of(source)
    assert len(edges) == 5
    for _, _, fonts in edges:
        assert len(fonts) == 1
        assert fonts[0][0] == FORWARD_COLOR
    forward = sorted(text for _, _, fonts in edges for _, text in fonts)
    assert forward == sorted(["-2.00", "5.00", "3.00", "-4.00", "-12.00"])


def test_forward_only_copy_gate_has_no_sum() -> None:
    source = viz.draw(lectures.copy_gate(), grads=False).source
    assert GRADIENT_COLOR not in source
    assert "Σ" not in source
    assert not re.findall(r"\d = -?\d", source)


def assert_gradients_unknown(root: Value) -> None:
    tr = viz.trace(root)
    assert all(node.grad is None for node in tr.nodes)
    assert all(edge.upstream is None and edge.downstream is None for edge in tr.edges)
    for chain in (False, True):
        source = viz.draw(root, chain=chain).source
        assert "0.00" not in label_texts(source)  # no forward value here is 0 either
        assert GRADIENT_COLOR not in source
        for _, _, fonts in edges_of(source):
            assert fonts[1] == (UNKNOWN_COLOR, "?")


def test_gradients_show_as_unknown_before_backward() -> None:
    assert_gradients_unknown(fresh_xyz(backward=False))


def test_gradients_show_as_unknown_after_zero_grad() -> None:
    root = lectures.xyz()
    root.zero_grad()
    assert_gradients_unknown(root)


def test_copy_gate_sum_is_unknown_before_backward() -> None:
    x, y, z = Value(2.0, "x"), Value(-3.0, "y"), Value(4.0, "z")
    source = viz.draw(x * y + x * z).source
    assert "Σ ?" in source
    assert GRADIENT_COLOR not in source


# -- chain=True ---------------------------------------------------------------------------------


def test_chain_writes_upstream_times_local_equals_downstream() -> None:
    root = lectures.xyz()
    tr = viz.trace(root)
    by_id = {node.id: node for node in tr.nodes}
    chain_edges = {(t, h): fonts for t, h, fonts in edges_of(viz.draw(root, chain=True).source)}
    for edge in tr.edges:
        gate = by_id[edge.target].value
        upstream, local = gate.grad, gate.local_grads[edge.index]
        text = f"{fmt(upstream)} × {fmt(local)} = {fmt(upstream * local)}"
        assert chain_edges[edge.source, edge.target][1] == (GRADIENT_COLOR, text)
    texts = {fonts[1][1] for fonts in chain_edges.values()}
    # q into the * gate, x and y into the + gate, z into the * gate; the output keeps 1.00
    assert {"1.00 × -4.00 = -4.00", "-4.00 × 1.00 = -4.00", "1.00 × 3.00 = 3.00"} <= texts
    assert "1.00" in texts


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_rankdir_is_in_the_source(rankdir: str) -> None:
    assert f"rankdir={rankdir}" in viz.draw(lectures.xyz(), rankdir=rankdir).source


@pytest.mark.parametrize("rankdir", ["RL", "lr", "", "LR; evil"])
def test_invalid_rankdir_raises(rankdir: str) -> None:
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw(lectures.xyz(), rankdir=rankdir)


@pytest.mark.parametrize("precision", [-1, 13, 2.0, "2", None])
def test_invalid_precision_raises(precision: object) -> None:
    with pytest.raises(ValueError, match="precision"):
        viz.draw(lectures.xyz(), precision=precision)  # type: ignore[arg-type]


def test_precision_changes_the_digits() -> None:
    root = lectures.sigmoid_neuron_staged()
    four = viz.draw(root, precision=4).source
    assert "0.7311" in four
    assert "0.3932" in four
    assert "0.73<" not in four
    zero = viz.draw(lectures.xyz(), precision=0).source
    assert ">-12<" in zero
    assert "-12.0" not in zero


@pytest.mark.parametrize(
    ("x", "precision", "text"),
    [
        (-12.0, 2, "-12.00"),
        (0.0, 2, "0.00"),
        (-0.0, 2, "0.00"),
        (-0.001, 1, "-1.0e-03"),
        (1e-9, 2, "1.00e-09"),
        (-1e-300, 2, "-1.00e-300"),
        (123456.0, 2, "1.23e+05"),
        (1e300, 3, "1.000e+300"),
        (0.7310585786300049, 2, "0.73"),
        (2.0, 0, "2"),
        (0.5, 0, "5.0e-01"),  # rounds half to even: "0" would hide it
        (-0.5, 0, "-5.0e-01"),
        (99999.999, 2, "1.00e+05"),  # not "100000.00"
    ],
)
def test_format_number_examples(x: float, precision: int, text: str) -> None:
    assert viz.format_number(x, precision) == text


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308),
    st.integers(min_value=0, max_value=12),
)
def test_format_number_never_hides_a_value(x: float, precision: int) -> None:
    text = viz.format_number(x, precision)
    assert not re.fullmatch(r"-0(\.0*)?", text)  # never -0 / -0.00
    if x != 0:
        assert float(text) != 0.0  # tiny values go scientific rather than "0.00"
        assert math.copysign(1.0, float(text)) == math.copysign(1.0, x)
    if abs(x) >= 1e5:
        assert "e" in text


# -- determinism --------------------------------------------------------------------------------


def test_same_graph_drawn_twice_gives_identical_source() -> None:
    root = lectures.sigmoid_neuron_staged()
    assert viz.draw(root).source == viz.draw(root).source


@pytest.mark.parametrize("build", ALL_LECTURES)
def test_building_the_graph_again_gives_identical_source(build: Build) -> None:
    first, second = viz.draw(build(), chain=True).source, viz.draw(build(), chain=True).source
    assert first == second
    names = list(nodes_of(first))
    gates = [int(name[1:]) for name in names if name != "out"]
    assert gates == sorted(gates)  # in topological order (folded constants leave gaps)
    for tail, head, _ in edges_of(first):  # topological order: inputs before their gates
        if head != "out":
            assert int(tail[1:]) < int(head[1:])
    assert "0x" not in first  # nothing derived from id()


# -- escaping -----------------------------------------------------------------------------------

NASTY_LABELS = [
    'say "hi"',
    "{braces}",
    "a<b>c",
    "&amp; & &#60;",
    "back\\slash \\N \\G \\n \\",
    "two\nlines",
    "ctl\x01\x1b\x7f\x85",
    "</font><script>alert(1)</script>",
    '"]; evil -> node [',
    '>]; evil [label="x"]; n0 -> evil; a [label=<',
    "tab\tbed",
    "non\ufffecharacter",
    "lone\ud800surrogate",
]


def visible(label: str) -> list[str]:
    """The lines a label is expected to show as."""
    out = []
    for char in label:
        if char == "\t":
            out.append(" ")
        elif (
            char != "\n"
            and (ord(char) < 32 or 0x7F <= ord(char) < 0xA0 or 0xD800 <= ord(char) < 0xE000)
        ) or char in "\ufffe\uffff":
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out).split("\n")


def nasty_graph(label: str) -> Value:
    x = Value(1.5, label)
    f = x * 2
    f.label = label
    f.backward()
    return f


@pytest.mark.parametrize("label", NASTY_LABELS)
def test_nasty_labels_cannot_break_the_dot(label: str) -> None:
    diagram = viz.draw([nasty_graph(label)], titles=[label])
    source = diagram.source
    # exactly the nodes and edges of the graph: x, the gate "* 2" (the constant folded into
    # it), the output
    assert sorted(nodes_of(source)) == ["g0_n0", "g0_n2", "g0_out"]
    assert len(edges_of(source)) == 2
    assert "<script" not in source
    assert "\ud800" not in source
    source.encode("utf-8")  # renderable: no lone surrogate left


def test_nasty_labels_render_literally_and_inject_no_markup(renderer: str) -> None:
    for label in NASTY_LABELS:
        source = viz.draw([nasty_graph(label)], titles=[label]).source
        svg = viz.render(source, "svg", renderer)
        root = ET.fromstring(svg)  # well-formed XML
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert "script" not in tags, label
        assert "foreignObject" not in tags
        titles = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}title")}
        assert "evil" not in titles
        texts = ["".join(t.itertext()) for t in root.iter(SVG_TEXT)]
        for line in visible(label):
            if line.strip():
                # leaf label, cluster title and output name: three times each
                assert sum(text.strip() == line.strip() for text in texts) >= 3, (label, texts)


# -- several roots, errors ------------------------------------------------------------------------

GATE_TITLES = ["add distributes, max routes, mul swaps", "copy: a value used twice adds"]


def test_several_roots_with_titles_make_titled_clusters() -> None:
    source = viz.draw([lectures.add_max_mul(), lectures.copy_gate()], titles=GATE_TITLES).source
    assert "subgraph cluster_0" in source
    assert "subgraph cluster_1" in source
    assert "subgraph cluster_2" not in source
    for title in GATE_TITLES:
        assert f"label=<{title}>" in source
    names = nodes_of(source)
    assert "g0_out" in names
    assert "g1_out" in names
    assert all(name.startswith(("g0_", "g1_")) for name in names)
    assert "-3.00 + 4.00 = 1.00" in source  # the copy gate
    assert "-8.00" in source  # mul swaps: x gets upstream 2 * y = -8


def test_several_roots_without_titles_still_make_clusters() -> None:
    source = viz.draw([lectures.xyz(), lectures.copy_gate()]).source
    assert "subgraph cluster_1" in source


@pytest.mark.parametrize("titles", [["only one"], ["a", "b", "c"], []])
def test_titles_must_match_the_roots(titles: list[str]) -> None:
    with pytest.raises(ValueError, match="titles"):
        viz.draw([lectures.xyz(), lectures.copy_gate()], titles=titles)


@pytest.mark.parametrize("root", [3.0, [], [Value(1.0), 2.0], None, "x"])
def test_draw_needs_values(root: object) -> None:
    with pytest.raises(TypeError):
        viz.draw(root)  # type: ignore[arg-type]


def chain_of(n: int) -> Value:
    node = Value(0.5, "x")
    for _ in range(n):
        node = node.tanh()
    return node


def test_graphs_over_max_nodes_are_refused() -> None:
    root = chain_of(30)  # 31 nodes
    with pytest.raises(ValueError, match=r"31 nodes.*max_nodes="):
        viz.draw(root, max_nodes=30)
    assert "n30" in viz.draw(root, max_nodes=31).source


def test_default_max_nodes() -> None:
    root = chain_of(viz.MAX_NODES)
    with pytest.raises(ValueError, match=f"over {viz.MAX_NODES} nodes"):
        viz.draw(root)
    assert f"n{viz.MAX_NODES}" in viz.draw(root, max_nodes=viz.MAX_NODES + 1).source


# -- the sigmoid neuron (docs/lecture-reference.md) ----------------------------------------------

LEAF_GRADIENTS = {"w0": "-0.20", "x0": "0.39", "w1": "-0.39", "x1": "-0.59", "w2": "0.20"}


def leaf_edge_gradients(root: Value) -> tuple[dict[str, str], str]:
    source = viz.draw(root).source
    tr = viz.trace(root)
    names = {node.id: node.label for node in tr.nodes}
    grads = {}
    output = ""
    for tail, _, fonts in edges_of(source):
        assert fonts[0][0] == FORWARD_COLOR
        assert fonts[1][0] == GRADIENT_COLOR
        if tail == tr.root.id:
            output = f"{fonts[0][1]}/{fonts[1][1]}"
        elif names[tail] in LEAF_GRADIENTS:
            grads[names[tail]] = fonts[1][1]
    return grads, output


@pytest.mark.parametrize("build", [lectures.sigmoid_neuron_staged, lectures.sigmoid_neuron_fused])
def test_sigmoid_neuron_numbers(build: Build) -> None:
    root = build()
    grads, output = leaf_edge_gradients(root)
    assert output == "0.73/1.00"
    assert grads == LEAF_GRADIENTS
    leaves = by_label(viz.trace(root))
    assert math.isclose(root.data, 0.7310585786300049, rel_tol=1e-12)
    assert math.isclose(scalar(leaves["x0"].grad), 0.39322386648296376, rel_tol=1e-12)
    assert math.isclose(scalar(leaves["x1"].grad), -0.5898357997244457, rel_tol=1e-12)


def gate_inputs(root: Value) -> dict[str, list[list[str]]]:
    """gate symbol -> for each such gate, the labels of its inputs."""
    tr = viz.trace(root)
    by_id = {node.id: node for node in tr.nodes}
    found: dict[str, list[list[str]]] = {}
    for node in tr.nodes:
        if not node.is_leaf:
            inputs = [by_id[e.source].label for e in tr.edges if e.target == node.id]
            found.setdefault(node.symbol, []).append(inputs)
    return found


def test_staged_sigmoid_has_the_slide_gates() -> None:
    root = lectures.sigmoid_neuron_staged()
    gates = gate_inputs(root)
    assert any("-1" in inputs for inputs in gates["*"])
    assert any("1" in inputs for inputs in gates["+"])
    assert len(gates["1/x"]) == 1
    assert len(gates["exp"]) == 1
    assert "σ" not in gates
    # drawn as on the slide: the numbers folded into their gates, which have one input each
    nodes = nodes_of(viz.draw(root).source).values()
    assert ("* -1", "circle") in nodes
    assert ("+ 1", "circle") in nodes
    assert ("1/x", "circle") in nodes
    assert ("-1", "plaintext") not in nodes
    kept = nodes_of(viz.draw(root, constants="leaves").source).values()
    assert ("-1", "plaintext") in kept
    assert ("1", "plaintext") in kept
    assert ("* -1", "circle") not in kept


def test_fused_sigmoid_has_one_sigma_gate() -> None:
    root = lectures.sigmoid_neuron_fused()
    gates = gate_inputs(root)
    assert len(gates["σ"]) == 1
    assert "exp" not in gates
    assert "1/x" not in gates
    assert ("σ", "circle") in nodes_of(viz.draw(root).source).values()
    tr = viz.trace(root)
    (sigma_edge,) = [e for e in tr.edges if e.target == tr.root.id]
    assert fmt(scalar(sigma_edge.local)) == "0.20"  # (1 - σ) σ


# -- Jupyter ------------------------------------------------------------------------------------


def test_repr_mimebundle_is_svg_when_a_renderer_exists() -> None:
    if not viz.available_renderers():
        pytest.skip("no Graphviz renderer installed")
    bundle = viz.draw(lectures.xyz())._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml"}
    root = ET.fromstring(bundle["image/svg+xml"])
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "-12.00" in ["".join(text.itertext()) for text in root.iter(SVG_TEXT)]


def test_repr_mimebundle_is_text_with_the_error_when_rendering_is_impossible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render_module, "system_dot", lambda: None)
    monkeypatch.setattr(render_module, "bundled_program", lambda: None)
    monkeypatch.delenv(render_module.ENV_VAR, raising=False)
    diagram = viz.draw(lectures.xyz())
    bundle = diagram._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    assert "no Graphviz renderer found" in bundle["text/plain"]
    assert diagram.source in bundle["text/plain"]


def test_repr_mimebundle_shows_a_graphviz_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(source: str, fmt: str = "svg", renderer: str = "auto") -> bytes:
        raise viz.RenderError("Graphviz exploded")

    monkeypatch.setattr(diagram_module, "render", fail)
    bundle = viz.draw(lectures.xyz())._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Graphviz exploded")
    assert "digraph" in bundle["text/plain"]


def test_repr_is_short() -> None:
    text = repr(viz.draw(lectures.xyz()))
    assert text.startswith("<Diagram:")
    assert "digraph" not in text

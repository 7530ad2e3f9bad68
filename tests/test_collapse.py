"""``collapse="neuron"`` and ``collapse="layer"``: a network drawn one box per neuron or layer,
keeping every value and gradient the full graph has at each box's boundary."""

from __future__ import annotations

import math

import pytest
from dot_reading import edges_of, nodes_of

import viz
from autograd import Value
from nn import MLP
from viz.collapse import collapse


def scalar(x: object) -> float:
    """A scalar graph's number (the trace's fields may also hold arrays, or None)."""
    assert isinstance(x, float), x
    return x


def network() -> tuple[MLP, Value]:
    model = MLP(2, [4, 1], seed=0)
    out = model([1.0, -2.0])
    assert isinstance(out, Value)
    out.backward()
    return model, out


@pytest.mark.parametrize("level", ["neuron", "layer"])
def test_boundary_numbers_are_the_full_graphs(level: str) -> None:
    _, out = network()
    full = viz.trace(out)
    collapsed = collapse(full, level)
    boxes = [n for n in collapsed.nodes if n.op == "collapsed"]
    assert len(boxes) == (5 if level == "neuron" else 2)
    # the inputs keep their values and total gradients
    inputs = {n.label: n for n in collapsed.nodes if n.is_leaf}
    assert sorted(inputs) == ["x0", "x1"]
    for node in inputs.values():
        sent = [scalar(e.downstream) for e in collapsed.edges if e.source == node.id]
        assert math.isclose(sum(sent), scalar(node.value.grad), rel_tol=1e-12)
    # each edge out of a hidden box carries one activation: its value and its gradient
    hidden = [e for e in collapsed.edges if e.source != e.target and e.target.startswith("box")]
    for edge in hidden:
        source = next(n for n in collapsed.nodes if n.id == edge.source)
        if source.op != "collapsed":
            continue
        # the value leaving a box is one of the full graph's tanh outputs, with its gradient
        tanh = [n for n in full.nodes if n.op == "tanh" and n.data == edge.data]
        assert len(tanh) == 1
        uses = [e for e in full.edges if e.source == tanh[0].id]
        total = sum(scalar(e.downstream) for e in uses)
        assert math.isclose(scalar(edge.downstream), total, rel_tol=1e-12)
    assert collapsed.root.data == out.data and collapsed.root.grad == out.grad


def test_a_layer_box_shows_the_matrix_form() -> None:
    _, out = network()
    source = viz.draw(out, collapse="layer").source
    boxes = {label for label, shape in nodes_of(source).values() if shape == "box"}
    (layer1,) = [b for b in boxes if "layer1" in b]
    assert "W (4, 2), b (4,)" in layer1
    assert "dW = δ xᵀ, db = δ" in layer1
    assert "tanh'(z)" in layer1
    (layer2,) = [b for b in boxes if "layer2" in b]
    assert "W (1, 4), b (1,)" in layer2
    # four activations from layer1 to layer2, each with its own value
    between = [fonts for tail, head, fonts in edges_of(source) if tail != head]
    values = {fonts[0][1] for fonts in between}
    assert len(values) >= 4


def test_collapse_needs_named_groups() -> None:
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match="nothing to collapse"):
        viz.draw(x * 2, collapse="neuron")
    with pytest.raises(ValueError, match="collapse must be"):
        viz.draw(x * 2, collapse="neurons")


def test_a_collapsed_network_renders(renderer: str) -> None:
    _, out = network()
    for level in ("neuron", "layer"):
        svg = viz.render(viz.draw(out, collapse=level).source, "svg", renderer)
        assert b"layer1" in svg

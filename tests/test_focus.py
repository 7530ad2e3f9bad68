"""Large graphs: grouping nodes into labelled boxes and drawing one neighbourhood."""

from __future__ import annotations

import random

import pytest

import viz
from autograd import Value
from viz.focus import around, label_prefix, with_groups
from viz.trace import trace


def tiny_mlp() -> tuple[Value, list[Value]]:
    """A 2-2-1 tanh network with dotted parameter labels, as nn will name them."""
    rng = random.Random(0)
    xs = [Value(1.0, "x0"), Value(-1.0, "x1")]

    def neuron(name: str, inputs: list[Value]) -> Value:
        act = Value(0.1, f"{name}.b")
        for i, x in enumerate(inputs):
            act = act + Value(rng.uniform(-1, 1), f"{name}.w{i}") * x
        return act.tanh()

    hidden = [neuron(f"layer1.neuron{j}", xs) for j in range(2)]
    out = neuron("layer2.neuron0", hidden)
    out.label = "out"
    out.backward()
    return out, hidden


def test_label_prefix() -> None:
    assert label_prefix(Value(1.0, "layer1.neuron0.w1")) == "layer1.neuron0"
    assert label_prefix(Value(1.0, "x")) is None
    assert label_prefix(Value(1.0, ".x")) is None


def test_every_gate_joins_the_neuron_of_its_parameters() -> None:
    out, hidden = tiny_mlp()
    grouped = with_groups(trace(out), "label")
    by_value = {id(node.value): node.id for node in grouped.nodes}
    # the hidden tanh outputs belong to their own neurons, not to the layer that uses them
    assert grouped.groups[by_value[id(hidden[0])]] == "layer1.neuron0"
    assert grouped.groups[by_value[id(hidden[1])]] == "layer1.neuron1"
    assert grouped.groups[by_value[id(out)]] == "layer2.neuron0"
    # inputs without a dotted name stay outside every box
    inputs = [n.id for n in grouped.nodes if n.label in ("x0", "x1")]
    assert all(node_id not in grouped.groups for node_id in inputs)
    # every gate is in some neuron
    assert all(n.id in grouped.groups for n in grouped.nodes if not n.is_leaf)


def test_grouped_drawing_nests_layers_and_neurons() -> None:
    out, _ = tiny_mlp()
    source = viz.draw(out, group="label").source
    assert source.count("subgraph cluster_") == 5  # layer1 {neuron0, neuron1}, layer2 {neuron0}
    for name in ("layer1", "layer2", "neuron0", "neuron1"):
        assert f"<{name}>" in source
    # inside its box a parameter is named briefly
    assert "label=<w1>" in source
    assert "layer1.neuron0.w1" not in source


def test_group_function_and_bad_group() -> None:
    out, _ = tiny_mlp()
    source = viz.draw(out, group=lambda v: "params" if v.label.endswith(".b") else None).source
    assert source.count("subgraph cluster_") == 1
    with pytest.raises(ValueError, match="group must be"):
        viz.draw(out, group="prefix")


def test_neighbourhood_keeps_nearby_nodes_and_stubs_the_rest() -> None:
    out, hidden = tiny_mlp()
    full = trace(out)
    part = around(full, hidden[0], radius=1)
    # the tanh, the add feeding it, and the mul that uses it
    assert len(part.nodes) == 3
    assert part.highlight is not None
    assert sum(part.cut_inputs.values()) == 3  # the add's two inputs, the mul's other input
    assert sum(part.cut_outputs.values()) == 1  # the mul's result goes on
    source = viz.draw(out, around=hidden[0], radius=1).source
    assert source.count("style=dashed") == 4
    assert "-> out" not in source  # the output is not in this neighbourhood


def test_neighbourhood_errors() -> None:
    out, _ = tiny_mlp()
    with pytest.raises(ValueError, match="not part of the graph"):
        viz.draw(out, around=Value(1.0))
    with pytest.raises(ValueError, match="radius"):
        viz.draw(out, around=out, radius=-1)


def test_max_nodes_counts_what_is_drawn() -> None:
    x = Value(1.0, "x")
    y = x
    for _ in range(3000):
        y = y * 1.0001
    with pytest.raises(ValueError, match="around=node"):
        viz.draw(y)
    assert "tanh" not in viz.draw(y, around=y, radius=3).source


def test_a_cut_use_shows_in_the_sum() -> None:
    x = Value(2.0, "x")
    f = (x * 3.0) + (x * 4.0) + (x * 5.0)
    f.backward()
    first_use = f.parents[0].parents[0]
    source = viz.draw(f, around=first_use, radius=1).source
    assert "…" in source
    assert "= 12.00" in source  # x's full gradient, with the hidden terms shown as …

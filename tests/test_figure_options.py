"""Palettes, gradient magnitude and one number format per figure (``viz.draw`` options)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from dot_reading import EDGE, FONT, edge_labels, label_texts, labels_of

import viz
from autograd import Value
from viz import lectures
from viz.labels import MAX_LINE_THICKNESS
from viz.style import PALETTES

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("palette", sorted(PALETTES))
def test_a_palette_colours_values_and_gradients(palette: str) -> None:
    colours = PALETTES[palette]
    fonts = FONT.findall(label_texts(viz.draw(lectures.xyz(), palette=palette).source))
    used = {colour for colour, _ in fonts} - {"#000000"}
    assert used == {colours.forward, colours.gradient}
    assert colours.forward != colours.gradient


def test_the_colorblind_palette_is_okabe_ito_blue_and_vermillion() -> None:
    assert (PALETTES["colorblind"].forward, PALETTES["colorblind"].gradient) == (
        "#0072b2",
        "#d55e00",
    )
    assert (PALETTES["lecture"].forward, PALETTES["lecture"].gradient) == ("#2e7d32", "#c62828")


def test_an_unknown_palette_is_refused() -> None:
    with pytest.raises(ValueError, match="palette must be one of"):
        viz.draw(lectures.xyz(), palette="rainbow")


def pen(source: str) -> dict[str, tuple[int, bool]]:
    """label node -> (pen width of the edge into it, dashed?)."""
    found = {}
    for _, head, attrs in EDGE.findall(source):
        if 'headport="line:' in attrs:
            width = re.search(r"penwidth=(\d+)", attrs)
            found[head] = (int(width.group(1)) if width else 1, "dashed" in attrs)
    return found


def test_magnitude_makes_big_gradients_thick_and_negative_ones_dashed() -> None:
    root = lectures.sigmoid_neuron_staged()
    source = viz.draw(root, magnitude=True).source
    widths = pen(source)
    tr = viz.trace(root)
    names = {n.id: n.label for n in tr.nodes}
    by_tail = {names.get(tail, tail): widths[label] for tail, _, label in edge_labels(source)}
    assert by_tail["f"] == (MAX_LINE_THICKNESS, False)  # the seed, 1.00: the largest
    assert by_tail["x1"][1] and by_tail["w0"][1]  # -0.59 and -0.20: dashed
    assert not by_tail["x0"][1]  # 0.39
    assert by_tail["x1"][0] > by_tail["w0"][0]  # |-0.59| > |-0.20|
    assert by_tail["f"][0] > by_tail["x1"][0]
    # the line through each label is as thick as its edge
    labels = labels_of(source)
    assert f'height="{MAX_LINE_THICKNESS}"' in labels["out_label"]
    # without the option every line is 1 point and solid
    assert set(pen(viz.draw(root).source).values()) == {(1, False)}


def test_magnitude_marks_dead_relus_and_saturated_sigmoids_and_says_so(renderer: str) -> None:
    x = Value(-2.0, "x")
    f = (x * 3).relu() + (x * 5).sigmoid()
    f.backward()
    diagram = viz.draw(f, magnitude=True)
    svg = ET.fromstring(viz.render(diagram.source, "svg", renderer))
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "dead" in texts and "saturated" in texts
    legend = [t for t in texts if t.startswith("line width")]
    assert legend and "dashed: gradient < 0" in legend[0]
    # a healthy sigmoid is not marked
    y = Value(0.5, "y")
    g = y.sigmoid()
    g.backward()
    assert "saturated" not in label_texts(viz.draw(g, magnitude=True).source)


def test_magnitude_keeps_one_canvas(renderer: str) -> None:
    root = lectures.sigmoid_neuron_staged()
    sizes = set()
    for grads in (False, True):
        svg = ET.fromstring(
            viz.render(viz.draw(root, magnitude=True, grads=grads).source, "svg", renderer)
        )
        sizes.add((svg.get("width"), svg.get("height")))
    assert len(sizes) == 1


def test_one_figure_has_one_number_format() -> None:
    x = Value(-2.0, "x")
    f = (x * 5).sigmoid()
    f.backward()  # gradient 4.5e-05 * 5: hidden by two decimals
    numbers = [t for _, t in FONT.findall(label_texts(viz.draw(f).source))]
    assert numbers and all("e" in t for t in numbers if t not in ("0", "?")), numbers
    # an ordinary figure stays fixed-point throughout
    plain = [t for _, t in FONT.findall(label_texts(viz.draw(lectures.xyz()).source))]
    assert not any("e" in t for t in plain)


def test_collapsed_neurons_say_when_they_are_dead() -> None:
    from nn import MLP

    model = MLP(2, [3, 1], seed=0, activation="relu")
    out = model([1.0, -2.0])
    assert isinstance(out, Value)
    out.backward()
    dead = [
        n for n in model.layers[0].neurons if all(p.grad == 0.0 for _, p in n.named_parameters())
    ]
    source = viz.draw(out, collapse="neuron", magnitude=True).source
    assert source.count(">dead<") == len(dead) > 0
    assert ">dead<" not in viz.draw(out, collapse="neuron").source  # only with magnitude

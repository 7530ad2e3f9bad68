"""Reading the DOT text ``viz`` writes, for the tests: which labels sit on which edge.

An edge ``a -> b`` is drawn as ``a -> label -> b``: the label is a node on the edge (see
``viz.style._Labels``), entered at its line's port and left from it. A value used more than
once leaves its gate through a junction ``gate_copy``, reached through the label ``gate_sum``.
"""

from __future__ import annotations

import re

FONT = re.compile(r'<font color="([^"]+)"[^>]*>(.*?)</font>')
EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[(.*)\]$", re.MULTILINE)
NODE = re.compile(r"^\s*(\w+) \[(.*)\]$", re.MULTILINE)
LABEL = re.compile(r"label=(<.*>|\"\")(?= \w+=|$)")
SHAPE = re.compile(r"shape=(\w+)")
NAME_COLOR = "#000000"  # a value's name, written before its number


def label_of(attrs: str) -> str:
    """The ``label=`` of a statement's attributes (``<...>`` or ``""``)."""
    found = LABEL.search(attrs)
    return found.group(1) if found else ""


def labels_of(source: str) -> dict[str, str]:
    """node name -> its label, for every node statement."""
    return {name: label_of(attrs) for name, attrs in NODE.findall(source)}


def edge_labels(source: str) -> list[tuple[str, str, str]]:
    """(tail, head, label node) of every labelled edge, in order; a junction's tail is given
    as its gate."""
    into: dict[str, str] = {}
    out_of: dict[str, str] = {}
    for tail, head, attrs in EDGE.findall(source):
        if 'headport="line:' in attrs:
            into[head] = tail
        elif 'tailport="line:' in attrs:
            out_of[tail] = head
    return [(tail.removesuffix("_copy"), out_of[label], label) for label, tail in into.items()]


def edges_of(source: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(tail, head, [(colour, text), ...]) for every labelled edge: the value's fonts, then
    the gradient's (names left out)."""
    labels = labels_of(source)
    return [
        (tail, head, [(c, t) for c, t in FONT.findall(labels[label]) if c != NAME_COLOR])
        for tail, head, label in edge_labels(source)
        if not head.endswith("_copy")
    ]


def sums_of(source: str) -> dict[str, list[tuple[str, str]]]:
    """gate -> [(colour, text), ...] on the edge from a gate whose value is used more than
    once to its junction: the value, then the summed gradient."""
    labels = labels_of(source)
    return {
        tail: [(c, t) for c, t in FONT.findall(labels[label]) if c != NAME_COLOR]
        for tail, head, label in edge_labels(source)
        if head.endswith("_copy")
    }


def label_texts(source: str) -> str:
    """Every label of a DOT text, joined: what the drawing shows (positions left out)."""
    return "\n".join(label_of(attrs) for _, attrs in NODE.findall(source))


def nodes_of(source: str) -> dict[str, tuple[str, str]]:
    """node name -> (label without the outer <>, shape): the graph's own nodes, without edge
    labels, junctions and the invisible corners of a pinned canvas."""
    found = {}
    for name, attrs in NODE.findall(source):
        label, shape = label_of(attrs), SHAPE.search(attrs)
        skip = name in ("graph", "node", "edge") or name.startswith("_canvas")
        if skip or "<table" in label or shape is None or shape.group(1) == "point":
            continue
        found[name] = (label[1:-1] if label.startswith("<") else "", shape.group(1))
    return found

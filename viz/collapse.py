"""Collapsing a network's graph: each neuron (or each layer) drawn as one node.

An MLP's scalar graph has a gate for every multiply and add. ``viz.draw(loss,
collapse="neuron")`` draws each group of nodes named ``layer1.neuron0...`` as one box, and
``collapse="layer"`` each ``layer1...`` as one box, with the matrix form the lectures teach for
a layer's backward pass::

    a = f(W x + b)          (forward; W has shape (outputs, inputs))
    δ = f'(z) ⊙ Wᵀ δ_next   (the gradient at the layer's pre-activations z)
    dW = δ xᵀ,  db = δ      (its parameters' gradients)

Every number the full graph has at a group's boundary is kept: each edge into a box carries
the value it brings in and the gradient the box sends back along it (the sum over the gates
inside that use it), and each edge out carries an output's value and its gradient. What is
inside (the parameters, the running sums) goes to the box's tooltip. (The box writes ⊙ as
"× ..., elementwise": the fonts the bundled renderer draws PNGs with have no ⊙.)
"""

from __future__ import annotations

import dataclasses

from viz.focus import with_groups
from viz.trace import Data, Trace, TraceEdge, TraceNode, stalled

LEVELS = ("neuron", "layer")


def group_key(path: str, level: str) -> str:
    """The box a node with group ``path`` collapses into: the whole path for a neuron
    (``layer1.neuron0``), its first part for a layer (``layer1``)."""
    return path if level == "neuron" else path.split(".")[0]


def collapse(trace: Trace, level: str) -> Trace:
    """``trace`` with each neuron's (or layer's) nodes replaced by one node (see module)."""
    if level not in LEVELS:
        raise ValueError(f"collapse must be 'neuron' or 'layer', got {level!r}")
    grouped = with_groups(trace, "label")
    box_of = {node_id: group_key(path, level) for node_id, path in grouped.groups.items() if path}
    by_id = {node.id: node for node in trace.nodes}
    members: dict[str, list[TraceNode]] = {}
    for node in trace.nodes:
        if node.id in box_of:
            members.setdefault(box_of[node.id], []).append(node)
    if not members:
        raise ValueError(
            "nothing to collapse: no node is named like 'layer1.neuron0.w0' (nn's layers name "
            "their parameters so; name yours with dotted labels, or draw without collapse=)"
        )
    box_ids = {box: f"box{k}" for k, box in enumerate(members)}

    def where(node_id: str) -> str:
        """The drawn node a trace node ends up in: its box, or itself."""
        box = box_of.get(node_id)
        return box_ids[box] if box is not None else node_id

    # The outputs of a box: members used outside it, or the root.
    outputs: dict[str, list[str]] = {box: [] for box in members}
    for edge in trace.edges:
        box = box_of.get(edge.source)
        leaves_box = box is not None and box_of.get(edge.target) != box
        if box is not None and leaves_box and edge.source not in outputs[box]:
            outputs[box].append(edge.source)
    if trace.root.id in box_of and trace.root.id not in outputs[box_of[trace.root.id]]:
        outputs[box_of[trace.root.id]].append(trace.root.id)

    # Edges across a box's boundary, the parallel ones merged: x0 feeding four neurons of a
    # collapsed layer is one edge into the layer, its gradient the sum of the four.
    merged: dict[tuple[str, str], list[TraceEdge]] = {}
    for edge in trace.edges:
        source, target = edge.source, where(edge.target)
        if target == where(source):
            continue  # inside one box
        merged.setdefault((source, target), []).append(edge)
    edges = []
    inputs_count: dict[str, int] = {}
    for (source, target), parts in merged.items():
        index = inputs_count.get(target, 0)
        inputs_count[target] = index + 1
        downstream = _sum([e.downstream for e in parts])
        edges.append(
            TraceEdge(
                source=where(source),
                target=target,
                index=index,
                data=parts[0].data,
                local=1.0,
                upstream=None,  # a merged edge has no single upstream x local
                downstream=downstream,
                needs_grad=parts[0].needs_grad,
            )
        )

    nodes: list[TraceNode] = []
    placed: set[str] = set()
    for node in trace.nodes:
        box = box_of.get(node.id)
        if box is None:
            nodes.append(node)
            continue
        if box in placed or node.id not in outputs[box]:
            continue
        placed.add(box)
        outs = [by_id[i] for i in outputs[box]]
        marks = {stalled(out, [e for e in trace.edges if e.target == out.id]) for out in outs}
        box_node = _box_node(box_ids[box], box, outs, members[box], level)
        # a neuron's (a layer's: every one of its neurons') activation stalled, in words
        mark = marks.pop() if len(marks) == 1 else ""
        nodes.append(dataclasses.replace(box_node, stalled=mark))
    # an edge out of a box leaves from the node drawn for it
    root = next(n for n in nodes if n.id == where(trace.root.id))
    return Trace(nodes=tuple(nodes), edges=tuple(edges), root=root)


def _sum(values: list[Data | None]) -> Data | None:
    """The total of the gradients sent back along merged edges; ``None`` while one is unknown."""
    known = [v for v in values if v is not None]
    return sum(known, 0.0) if len(known) == len(values) else None


def _box_node(
    node_id: str, box: str, outputs: list[TraceNode], inside: list[TraceNode], level: str
) -> TraceNode:
    """One node for a neuron or a layer: its name and forward/backward formulas as its
    symbol, its (first) output's value and gradient, what it holds in its formula text."""
    out = outputs[0]
    activation = out.symbol if out.op in ("tanh", "sigmoid", "relu") else ""
    params = [n for n in inside if n.is_leaf]
    f = activation or "identity"
    if level == "neuron":
        lines = [box, f"{activation}(w·x + b)" if activation else "w·x + b"]
    else:
        n_out = len(outputs)
        n_in = max(1, (len(params) - n_out) // max(n_out, 1))
        lines = [
            box,
            f"a = {activation}(W x + b)" if activation else "a = W x + b",
            f"W ({n_out}, {n_in}), b ({n_out},)",
            f"δ = {f}'(z) × Wᵀδ_next, elementwise" if activation else "δ = Wᵀδ_next",
            "dW = δ xᵀ, db = δ",
        ]
    held = ", ".join(f"{p.label} = {p.data:.3g}" for p in params if isinstance(p.data, float))
    return dataclasses.replace(
        out,
        id=node_id,
        label=box,
        op="collapsed",
        symbol="\n".join(lines),
        formula=f"{len(inside)} nodes; parameters: {held}" if held else f"{len(inside)} nodes",
        outputs=len(outputs),
    )

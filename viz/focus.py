"""Making big graphs readable: group nodes into labelled boxes, or draw one neighbourhood.

An MLP's scalar graph has thousands of gates. Two ways to look at it:

* **Groups**: nodes are boxed by a dotted name, so ``layer1.neuron0.w1`` sits in the box
  ``neuron0`` inside the box ``layer1``. With ``group="label"`` a labelled node's group is its
  label up to the last dot. A gate with no label joins a group through its inputs: the group
  of a parameter among them (``w * x`` belongs with ``w``), or the group all its inputs come
  from (a neuron's running sum and activation); a loss comparing the output with a target
  belongs to no neuron.
  Any function ``node -> group or None`` can be given instead (a node is a Value or a Tensor).
* **Neighbourhood**: only the nodes within ``radius`` edges of a chosen node (in either
  direction); inputs and uses that fall outside show as ``…`` stubs, so it is clear the graph
  goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from viz.trace import Node, Trace

Grouping = Callable[[Node], "str | None"]


def label_prefix(value: Node) -> str | None:
    """``"layer1.neuron0.w1"`` -> ``"layer1.neuron0"``; ``None`` for labels without a dot."""
    head, dot, _ = value.label.rpartition(".")
    return head if dot and head else None


def with_groups(trace: Trace, group: str | Grouping) -> Trace:
    """``trace`` with every node assigned to a group (see the module docstring)."""
    if group == "label":
        named: Grouping = label_prefix
    elif callable(group):
        named = group
    else:
        raise ValueError(f"group must be 'label' or a function node -> str | None, got {group!r}")
    inputs: dict[str, list[str]] = {node.id: [] for node in trace.nodes}
    for edge in sorted(trace.edges, key=lambda e: e.index):
        inputs[edge.target].append(edge.source)
    leaves = {node.id for node in trace.nodes if node.is_leaf}
    groups: dict[str, str] = {}
    for node in trace.nodes:  # topological order: a gate's inputs already have their groups
        own = named(node.value)
        if own is not None:
            if not isinstance(own, str):
                raise TypeError(f"the group function returned {type(own).__name__}, not str")
            groups[node.id] = own
            continue
        if node.is_leaf:
            continue
        grouped_leaves = [i for i in inputs[node.id] if i in groups and i in leaves]
        if grouped_leaves:  # w * x belongs with w
            groups[node.id] = groups[grouped_leaves[0]]
            continue
        # otherwise only a gate whose inputs all come from one group (a neuron's running
        # sum, its activation) joins it; a loss (prediction - target) stays outside
        joined = {groups.get(i) for i in inputs[node.id]}
        if len(joined) == 1 and None not in joined:
            (groups[node.id],) = joined  # type: ignore[assignment]
    return dataclasses.replace(trace, groups=groups)


def around(trace: Trace, center: Node, radius: int) -> Trace:
    """Only the nodes within ``radius`` edges of ``center``, with stubs where edges are cut."""
    if radius < 0:
        raise ValueError(f"radius must be 0 or more, got {radius}")
    center_id = next((n.id for n in trace.nodes if n.value is center), None)
    if center_id is None:
        raise ValueError(f"{center!r} is not part of the graph being drawn")
    neighbours: dict[str, set[str]] = {node.id: set() for node in trace.nodes}
    for edge in trace.edges:
        neighbours[edge.source].add(edge.target)
        neighbours[edge.target].add(edge.source)
    keep = {center_id}
    frontier = {center_id}
    for _ in range(radius):
        frontier = {n for f in frontier for n in neighbours[f]} - keep
        keep |= frontier
    cut_inputs: dict[str, int] = {}
    cut_outputs: dict[str, int] = {}
    for edge in trace.edges:
        if edge.target in keep and edge.source not in keep:
            cut_inputs[edge.target] = cut_inputs.get(edge.target, 0) + 1
        if edge.source in keep and edge.target not in keep:
            cut_outputs[edge.source] = cut_outputs.get(edge.source, 0) + 1
    return dataclasses.replace(
        trace,
        nodes=tuple(n for n in trace.nodes if n.id in keep),
        edges=tuple(e for e in trace.edges if e.source in keep and e.target in keep),
        groups={k: v for k, v in trace.groups.items() if k in keep},
        cut_inputs=cut_inputs,
        cut_outputs=cut_outputs,
        highlight=center_id if trace.highlight is None else trace.highlight,
    )

"""A plain, drawable record of a computational graph: nodes, edges, values and gradients.

``viz`` never derives a number itself: every forward value, local derivative and gradient in
a trace is read from the engine's nodes. On each edge from an input ``p`` into a gate ``g``::

    upstream   = g.grad                     (d root / d g)
    local      = g.local_grads[i]           (d g / d p, recorded by the op)
    downstream = upstream * local           (this edge's share of d root / d p)

and a value used by several gates has ``p.grad`` = the sum of its edges' downstream gradients.

The nodes are :class:`~autograd.Value` s or :class:`~autograd.Tensor` s: both have the same
fields. For a Tensor the values and gradients are numpy arrays, the local gradient is a number,
an array (multiplied elementwise) or a :class:`~autograd.jacobians.LinearMap`, and
``upstream * local`` is the engine's own vector-Jacobian product.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from autograd import Tensor, Value, topological_order
from autograd.jacobians import LinearMap

#: A graph node: a scalar Value or an array Tensor.
Node: TypeAlias = Value | Tensor
#: A forward value or gradient: a number (Value) or an array (Tensor).
Data: TypeAlias = float | NDArray[Any]
#: A local gradient: a number (Value, or a Tensor op's constant), an array of elementwise
#: derivatives, or a structured Jacobian (Tensor).
Local: TypeAlias = float | NDArray[Any] | LinearMap


@dataclass(frozen=True)
class TraceNode:
    """One node of the graph as a diagram sees it.

    ``grad`` is ``None`` while the gradient is not yet known (before ``backward``, or in a
    frame before the backward pass has reached the node): never shown as 0. Likewise ``data``
    is ``None`` in a forward-pass frame before the node has been computed. ``shape`` and
    ``dtype`` are those of a Tensor's array, ``None`` and ``""`` for a Value. ``needs_grad`` is
    ``False`` for a Tensor made with ``requires_grad=False`` (data, a constant): the engine
    computes no gradient for it, so it never has one.
    """

    id: str
    value: Node
    label: str
    data: Data | None
    grad: Data | None
    op: str
    symbol: str
    formula: str
    shape: tuple[int, ...] | None = None
    dtype: str = ""
    needs_grad: bool = True
    #: For a collapsed neuron or layer (see :mod:`viz.collapse`): how many values leave it,
    #: and ``"saturated"`` / ``"dead"`` (see :func:`stalled`) if its activations are.
    outputs: int = 1
    stalled: str = ""

    @property
    def is_leaf(self) -> bool:
        return self.op == ""

    @property
    def is_number(self) -> bool:
        """A number operand (the ``-1`` of ``a * -1``): a leaf holding one number and named by
        it, as the engine names the constants it makes from Python numbers."""
        if not self.is_leaf or not self.label:
            return False
        try:
            number = float(self.label)
        except ValueError:
            return False
        data = self.value.data
        return bool(np.size(data) == 1 and np.all(data == number))


@dataclass(frozen=True)
class TraceEdge:
    """An input ``source`` feeding argument ``index`` of the gate ``target``.

    ``needs_grad`` is the source's: an input that needs no gradient is sent none
    (``downstream`` stays ``None``).
    """

    source: str
    target: str
    index: int
    data: Data | None
    local: Local
    upstream: Data | None
    downstream: Data | None
    needs_grad: bool = True


@dataclass(frozen=True)
class Trace:
    """Nodes in topological order (inputs before the gates that use them) and their edges.

    ``highlight`` names the node a step-through frame is about (drawn highlighted, with
    ``upstream x local = downstream`` on its input edges) and ``caption`` says what happens in
    that step; both are ``None`` in a plain diagram. ``groups``, ``cut_inputs`` and
    ``cut_outputs`` serve large graphs (see :mod:`viz.focus`). The output edge is drawn only
    when ``root`` is among ``nodes``.
    """

    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]
    root: TraceNode
    highlight: str | None = None
    caption: str | None = None
    #: node id -> dotted group path ("layer1.neuron0"), drawn as nested labelled boxes
    groups: Mapping[str, str] = field(default_factory=dict)
    #: node id -> how many of its inputs are outside the drawing (shown as "…" stubs)
    cut_inputs: Mapping[str, int] = field(default_factory=dict)
    #: node id -> how many of its uses are outside the drawing (shown as "…" stubs)
    cut_outputs: Mapping[str, int] = field(default_factory=dict)

    def outgoing(self, node_id: str) -> list[TraceEdge]:
        """Edges leaving ``node_id``: more than one means the value is used more than once."""
        return [edge for edge in self.edges if edge.source == node_id]

    def edge_positions(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Per node id, the positions in :attr:`edges` of the edges leaving it and of those
        entering it (in argument order), for every node at once."""
        leaving: dict[str, list[int]] = {node.id: [] for node in self.nodes}
        entering: dict[str, list[int]] = {node.id: [] for node in self.nodes}
        for j, edge in enumerate(self.edges):
            leaving[edge.source].append(j)
            entering[edge.target].append(j)
        return leaving, entering


def folds_constants(constants: str) -> bool:
    """The ``constants=`` option of ``draw`` and ``step``: ``"fold"`` (True) or ``"leaves"``."""
    if constants not in ("fold", "leaves"):
        raise ValueError(f"constants must be 'fold' or 'leaves', got {constants!r}")
    return constants == "fold"


#: Ops where ``c * x`` reads as ``x * c``: the folded constant is written after the symbol.
_COMMUTATIVE = frozenset({"add", "mul"})


def fold_constants(trace: Trace) -> Trace:
    """The slides' drawing of number operands: ``a * -1`` as one gate ``* -1`` with one input.

    A number operand (:attr:`TraceNode.is_number`) feeding a two-input gate is folded into the
    gate's symbol (``* -1``, ``+ 1``, ``2 -``, ``1 /``); its node and edge are dropped, so it
    carries no gradient label. Every other edge keeps its argument ``index``. A number used
    where it cannot be folded (a gate whose inputs are both numbers) stays a leaf.
    """
    by_id = {node.id: node for node in trace.nodes}
    inputs: dict[str, list[TraceEdge]] = {}
    for edge in trace.edges:
        inputs.setdefault(edge.target, []).append(edge)
    dropped_edges: set[tuple[str, int]] = set()
    symbols: dict[str, str] = {}
    for target, edges in inputs.items():
        numbers = [e for e in edges if by_id[e.source].is_number]
        if len(edges) != 2 or len(numbers) != 1:
            continue
        (edge,) = numbers
        gate, text = by_id[target], by_id[edge.source].label
        if edge.index == 1 or gate.op in _COMMUTATIVE:
            symbols[target] = f"{gate.symbol} {text}"
        else:
            symbols[target] = f"{text} {gate.symbol}"
        dropped_edges.add((target, edge.index))
    if not symbols:
        return trace
    kept_edges = tuple(e for e in trace.edges if (e.target, e.index) not in dropped_edges)
    still_used = {e.source for e in kept_edges}
    nodes = tuple(
        dataclasses.replace(node, symbol=symbols.get(node.id, node.symbol))
        for node in trace.nodes
        if not (node.is_number and node.id not in still_used and node is not trace.root)
    )
    # (a neighbourhood may leave the root out of the drawing)
    root = next((node for node in nodes if node.id == trace.root.id), trace.root)
    return dataclasses.replace(trace, nodes=nodes, edges=kept_edges, root=root)


#: A sigmoid or tanh gate whose local derivative is below this share of its largest (1/4 for
#: sigmoid at 0, 1 for tanh) passes almost no gradient back: "saturated neurons kill the
#: gradients" (|x| > 4.6 for sigmoid, > 2.6 for tanh at 5%).
SATURATED = 0.05
_LARGEST_LOCAL = {"sigmoid": 0.25, "tanh": 1.0}


def stalled(node: TraceNode, inputs: Sequence[TraceEdge]) -> str:
    """``"saturated"`` for a sigmoid/tanh gate on its flat tails, ``"dead"`` for a ReLU whose
    input is negative (output 0, local derivative 0: no gradient gets through), else ``""``."""
    if len(inputs) != 1 or node.data is None:
        return ""
    local = inputs[0].local
    if isinstance(local, LinearMap):
        return ""
    if node.op in _LARGEST_LOCAL and np.max(np.abs(local)) < SATURATED * _LARGEST_LOCAL[node.op]:
        return "saturated"
    if node.op == "relu" and not np.any(local):
        return "dead"
    return ""


def gradients_computed(root: Node) -> bool:
    """Whether ``root.backward()`` has filled the gradients below ``root``.

    ``backward`` seeds the root with 1.0 and ``zero_grad`` resets it to 0.0, so a root whose
    gradient is still 0.0 has not been backpropagated (or was reset since). A Tensor an op made
    holds no gradient at all (``None``) until a backward pass reaches it.
    """
    if isinstance(root, Tensor):
        return isinstance(root.grad, np.ndarray) and bool(root.grad.any())
    return root.grad != 0.0


def trace(root: Node, known: Collection[Node] | None = None) -> Trace:
    """Record the graph below ``root`` for drawing.

    Args:
        root: the output node.
        known: the nodes whose ``grad`` is final and may be shown. ``None`` means all of them
            if :func:`gradients_computed` says ``backward`` has run, and none otherwise. The
            step-through player passes the nodes the backward pass has reached so far.
    """
    order = topological_order(root)
    if known is None:
        known = order if gradients_computed(root) else ()
    known_ids = {id(node) for node in known}
    ids = {id(node): f"n{position}" for position, node in enumerate(order)}

    nodes = []
    edges = []
    for node in order:
        gate = node.gate
        grad_known = id(node) in known_ids and _needs_grad(node)
        nodes.append(
            TraceNode(
                id=ids[id(node)],
                value=node,
                label=node.label,
                data=node.data,
                grad=node.grad if grad_known else None,
                op=node.op,
                symbol=gate.symbol if gate is not None else "",
                formula=gate.formula if gate is not None else "",
                shape=node.data.shape if isinstance(node, Tensor) else None,
                dtype=str(node.data.dtype) if isinstance(node, Tensor) else "",
                needs_grad=_needs_grad(node),
            )
        )
        for index, (parent, local) in enumerate(zip(node.parents, node.local_grads, strict=True)):
            upstream = node.grad if grad_known else None
            needs_grad = _needs_grad(parent)
            edges.append(
                TraceEdge(
                    source=ids[id(parent)],
                    target=ids[id(node)],
                    index=index,
                    data=parent.data,
                    local=local,
                    upstream=upstream,
                    downstream=None if upstream is None or not needs_grad else upstream * local,
                    needs_grad=needs_grad,
                )
            )
    root_node = next(node for node in nodes if node.value is root)
    return Trace(nodes=tuple(nodes), edges=tuple(edges), root=root_node)


def _needs_grad(node: Node) -> bool:
    """False for a Tensor made with ``requires_grad=False``: it gets no gradient."""
    return bool(getattr(node, "requires_grad", True))

"""``viz.train_steps``: watch a network learn, one training step after another.

A training step is three things, and the player shows each as it happens, on one picture of
the network:

1. the forward pass, node by node, ending in the loss;
2. the backward pass, gate by gate (as :func:`viz.step` shows it);
3. the update, parameter by parameter: ``θ ← θ − η g`` with the parameter's old value, its
   gradient and its new value (for momentum, RMSProp, Adam... the optimiser's state too:
   the velocity ``v``, the moments ``m`` and ``u``, before and after).

Then the next step's forward pass runs with the new parameters, and the loss it ends in is
lower (or not: a learning rate too large shows here too). Every step builds the same graph
(the same model on the same examples), so all the steps share one layout and one picture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Value
from nn import losses
from nn.optim import Optimizer
from nn.train import LOSSES
from viz.focus import Grouping
from viz.stepper import MAX_STEP_NODES, Recording, Stepper, record, stepper_of
from viz.style import DrawOptions, format_number
from viz.trace import Data, Node, Trace

Loss = Callable[[Any, Any], Value]

#: More training steps than this are refused: each step is a full forward and backward pass
#: of frames, and the tenth is rarely different from the third.
MAX_TRAIN_STEPS = 20


def train_steps(
    model: Callable[[Any], Any],
    X: Sequence[Any],
    y: Sequence[Any],
    *,
    loss: str | Loss = "squared_error",
    optimizer: Optimizer,
    steps: int = 3,
    rankdir: str = "LR",
    precision: int = 2,
    max_nodes: int = MAX_STEP_NODES,
    group: str | Grouping | None = "label",
) -> Stepper:
    """Train ``model`` for ``steps`` steps on ``(X, y)`` and play every step: forward, backward,
    then the update of each parameter; returns the frames as a :class:`~viz.Stepper` (HTML
    player, frames, Jupyter, GIF, video, Beamer, as for :func:`viz.step`).

    The model really is trained: afterwards its parameters are those of ``steps`` steps of
    ``optimizer``. A step's loss is the mean over the examples of ``loss(model(x), target)``
    (a name from :data:`nn.train.LOSSES`, or a function), as :func:`nn.fit` computes it for
    one full batch. The model must be small enough to draw whole (``max_nodes`` nodes in the
    graph of one step); draw a bigger one with ``viz.draw(loss, collapse="layer")``.

    Args:
        model: an :class:`nn.MLP` (or any function of one example returning a Value).
        X, y: a few examples and their targets (one step trains on all of them).
        loss: the loss, by name or as a function ``(output, target) -> Value``.
        optimizer: e.g. ``nn.SGD(model.parameters(), lr=0.1)``.
        steps: how many training steps to play (1 to :data:`MAX_TRAIN_STEPS`).
        group: ``"label"`` (the default) boxes each neuron and layer, by the parameters'
            names; ``None`` draws the bare graph.
    """
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        loss_of: Loss = LOSSES[loss][0]
    elif callable(loss):
        loss_of = loss
    else:
        raise TypeError(f"loss must be a name or a function (output, target) -> Value: {loss!r}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an nn optimiser such as nn.SGD(model.parameters(), lr=0.1), "
            f"got {type(optimizer).__name__}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_TRAIN_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_TRAIN_STEPS}, got {steps!r}")
    if len(X) != len(y) or not X:
        raise ValueError(f"X and y must be as long as each other and not empty: {len(X)}, {len(y)}")
    if not all(isinstance(p, Value) for p in optimizer.params):
        raise TypeError(
            "train_steps plays scalar models (nn.MLP, nn.Neuron: Value parameters); a Tensor "
            "model's steps can be drawn with viz.step(loss) after each optimizer.step()"
        )
    options = DrawOptions(rankdir=rankdir, precision=precision)

    def step_loss() -> Value:
        total = losses.mean(loss_of(model(x), target) for x, target in zip(X, y, strict=True))
        total.label = "loss"
        return total

    first: Recording | None = None
    states: list[Trace] = []
    about: list[Node] = []
    kinds: list[str] = []
    snapshots: list[dict[int, Data | None] | None] = []
    losses_seen: list[float] = []
    for t in range(1, steps + 1):
        root = step_loss()
        recording = record(root, options, max_nodes, fold=True, group=group)
        if first is None:
            first = recording
        elif not _same_graph(first.shown, recording.shown):
            raise ValueError(
                "the model built a different graph in this training step than in the first; "
                "train_steps draws every step on one picture, so the model's graph must not "
                "depend on the parameters"
            )
        losses_seen.append(float(root.data))
        prefix = f"step {t}/{steps} · "
        states += [
            dataclasses.replace(s, caption=prefix + (s.caption or "")) for s in recording.states
        ]
        about += recording.about
        kinds += recording.kinds
        snapshots += recording.snapshots
        update = _update_frames(recording, optimizer, prefix, options)
        states += [state for state, _ in update]
        about += [param for _, param in update]
        kinds += ["update"] * len(update)
        snapshots += [recording.snapshots[-1]] * len(update)
    assert first is not None
    after = float(step_loss().data)
    name = type(optimizer).__name__
    title = (
        f"{steps} training step{'s' * (steps > 1)} of {name} (lr {optimizer.lr:g}): "
        f"loss {losses_seen[0]:.4g} → {after:.4g}"
    )
    return stepper_of(first.shown, states, about, kinds, snapshots, options, title)


def _same_graph(a: Trace, b: Trace) -> bool:
    """Whether two traces have the same nodes (op, symbol, name) and edges, in order."""
    nodes = [(n.id, n.op, n.symbol, n.label) for n in a.nodes] == [
        (n.id, n.op, n.symbol, n.label) for n in b.nodes
    ]
    edges = [(e.source, e.target, e.index) for e in a.edges] == [
        (e.source, e.target, e.index) for e in b.edges
    ]
    return nodes and edges


def _update_frames(
    recording: Recording, optimizer: Optimizer, prefix: str, options: DrawOptions
) -> list[tuple[Trace, Value]]:
    """Take the optimiser's step, and a frame per parameter of the graph showing its update:
    the parameter highlighted, its edges carrying its new value, the caption its rule."""
    last = recording.states[-1]
    position = {id(node.value): i for i, node in enumerate(last.nodes)}
    params = [p for p in optimizer.params if isinstance(p, Value) and id(p) in position]
    before = {id(p): (p.data, p.grad, optimizer.state_of(p)) for p in params}
    optimizer.step()
    nodes, edges = list(last.nodes), list(last.edges)
    out, _ = last.edge_positions()
    frames = []
    for k, param in enumerate(params, start=1):
        i = position[id(param)]
        node = nodes[i]
        nodes[i] = dataclasses.replace(node, data=param.data)
        for j in out.get(node.id, []):
            edges[j] = dataclasses.replace(edges[j], data=param.data)
        old, grad, state = before[id(param)]
        rule = _rule(optimizer, old, grad, param.data, state, optimizer.state_of(param), options)
        caption = f"{prefix}update {k}/{len(params)}: {node.label or 'θ'} {rule}"
        frames.append(
            (
                Trace(
                    tuple(nodes),
                    tuple(edges),
                    nodes[position[id(last.root.value)]],
                    highlight=node.id,
                    caption=caption,
                    groups=last.groups,
                ),
                param,
            )
        )
    return frames


def _rule(
    optimizer: Optimizer,
    old: float,
    grad: float,
    new: float,
    state: dict[str, Any],
    state_after: dict[str, Any],
    options: DrawOptions,
) -> str:
    """``← 0.50 − 0.1 × 0.20 = 0.48`` for plain gradient descent; for an optimiser with state,
    the new value from the old with the gradient and each state variable's change."""

    def number(x: float) -> str:
        return format_number(float(np.asarray(x)), options.precision)

    if not state:
        return f"← θ − η g = {number(old)} − {optimizer.lr:g} × {number(grad)} = {number(new)}"
    changes = ", ".join(
        f"{name} {number(state[name])} → {number(state_after[name])}" for name in state
    )
    return f"{number(old)} → {number(new)} (gradient {number(grad)}; {changes})"

"""``viz.step``: watch a computation happen, one node forward and one gate backward at a time.

The frames are made from the engine's own work, never re-derived here:

* forward frames reveal the nodes' values in topological order (inputs before the gates that
  use them), one node per frame;
* backward frames come from ``root.backward(on_step=...)``: the engine calls back after each
  gate has sent its gradient to its inputs, with that gate's upstream, local and downstream
  gradients, and the frame records every node's ``grad`` as the engine holds it at that moment.
  So a value used twice shows its gradient accumulating (``-4.00 + ?``, then
  ``-4.00 + 3.00 = -1.00``), and the last frame is exactly what ``backward()`` produces.

All frames share one pinned layout (:mod:`viz.layout`), so nothing moves from frame to frame.

A Tensor graph steps the same way: its ``backward(on_step=...)`` reports arrays, and each
frame shows them as :func:`viz.draw` does (small arrays written out, large ones by shape).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from autograd import BackwardStep, Tensor, Value, topological_order
from autograd.ops import INFIX_SYMBOLS
from viz.diagram import Diagram, pinned_layout
from viz.player import inline_svg, player_html
from viz.render import RenderError, choose_renderer, write_atomically
from viz.style import (
    DrawOptions,
    format_local,
    format_number,
    format_shape,
    format_value,
    is_small,
    to_dot,
)
from viz.trace import (
    Data,
    Local,
    Node,
    Trace,
    TraceEdge,
    TraceNode,
    fold_constants,
    folds_constants,
    trace,
)

#: Stepping through more nodes than this is refused by default: one frame per node and gate.
MAX_STEP_NODES = 300


class Frame(Diagram):
    """One frame of a step-through: a diagram plus what happened in this step.

    Attributes:
        index: position in the sequence, from 0.
        kind: ``"forward"`` or ``"backward"``.
        caption: one line saying what this step did.
        node: the node this frame is about (computed, or the gate sending gradient back).
        values: each node's forward value as shown in this frame (``None``: not computed yet),
            keyed by node id (``"n0"``, ... in topological order).
        grads: each node's ``grad`` as the engine held it after this step (``None`` in forward
            frames, before any gradient exists), keyed like ``values``.
        trace: the :class:`~viz.trace.Trace` the frame is drawn from.
    """

    def __init__(
        self,
        source: str,
        *,
        index: int,
        kind: str,
        caption: str,
        node: Node,
        values: dict[str, Data | None],
        grads: dict[str, Data | None],
        trace: Trace,
    ) -> None:
        super().__init__(source)
        self.index = index
        self.kind = kind
        self.caption = caption
        self.node = node
        self.values = values
        self.grads = grads
        self.trace = trace

    def __repr__(self) -> str:
        return f"<Frame {self.index} ({self.kind}): {self.caption}>"


class Stepper(Sequence[Frame]):
    """The frames of one computation: ``len()``, indexing, iteration, saving and a player.

    In Jupyter it shows as a player: a slider widget when ``ipywidgets`` is installed,
    otherwise the same self-contained HTML player that :meth:`save_html` writes.
    """

    def __init__(self, frames: list[Frame], title: str) -> None:
        self._frames = frames
        self.title = title

    def __len__(self) -> int:
        return len(self._frames)

    @overload
    def __getitem__(self, index: int) -> Frame: ...

    @overload
    def __getitem__(self, index: slice) -> list[Frame]: ...

    def __getitem__(self, index: int | slice) -> Frame | list[Frame]:
        return self._frames[index]

    def __iter__(self) -> Iterator[Frame]:
        return iter(self._frames)

    def __repr__(self) -> str:
        forward = sum(frame.kind == "forward" for frame in self._frames)
        return (
            f"<Stepper: {len(self)} frames ({forward} forward, {len(self) - forward} backward); "
            ".save_html('steps.html'), .save_frames('frames/')>"
        )

    # -- files --------------------------------------------------------------------------------

    def save_frames(
        self, directory: str | Path, formats: Sequence[str] | None = None
    ) -> list[Path]:
        """Write every frame as ``frame_001.svg``, ``frame_002.svg``, ... into ``directory``.

        ``formats`` defaults to SVG, plus PDF pages (``frame_001.pdf``, ...) when a PDF
        renderer is installed (the system Graphviz, or the converter installed with
        backprop-lab; see :mod:`viz.render`). Every file is rendered before the first is written,
        and each is written atomically, so a failure leaves no partial set behind.
        """
        if formats is None:
            formats = ["svg"]
            try:
                choose_renderer("pdf")
                formats.append("pdf")
            except RenderError:
                pass  # no PDF renderer here: SVG only, as documented
        for fmt in formats:
            if fmt not in ("svg", "png", "pdf"):
                raise ValueError(f"frame formats are svg, png and pdf, not {fmt!r}")
            choose_renderer(fmt)  # fail before rendering anything
        width = max(3, len(str(len(self))))
        rendered = []
        for frame in self._frames:
            for fmt in formats:
                name = f"frame_{frame.index + 1:0{width}d}.{fmt}"
                rendered.append((Path(directory) / name, frame.file_bytes(fmt)))
        for path, data in rendered:
            write_atomically(path, data)
        return [path for path, _ in rendered]

    def html(self) -> str:
        """The self-contained HTML player (all frames inline as SVG, no external resources)."""
        return player_html(
            [frame.svg() for frame in self._frames],
            [frame.caption for frame in self._frames],
            self.title,
        )

    def save_html(self, path: str | Path) -> Path:
        """Write the player to one self-contained HTML file (works offline, from a USB stick)."""
        target = Path(path)
        write_atomically(target, self.html().encode("utf-8"))
        return target

    # -- Jupyter ------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        return self.html()

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        try:
            import ipywidgets as widgets
        except ImportError:
            display(HTML(self.html()))
            return
        svgs = [inline_svg(frame.svg()) for frame in self._frames]
        slider = widgets.IntSlider(
            value=0, min=0, max=len(self) - 1, description="step", continuous_update=True
        )
        play = widgets.Play(value=0, min=0, max=len(self) - 1, interval=900)
        widgets.jslink((play, "value"), (slider, "value"))
        caption = widgets.Label(value=self._frames[0].caption)
        picture = widgets.HTML(value=svgs[0])

        def show(change: dict[str, Any]) -> None:
            index = change["new"]
            caption.value = self._frames[index].caption
            picture.value = svgs[index]

        slider.observe(show, names="value")
        display(widgets.VBox([widgets.HBox([play, slider]), caption, picture]))


def step(
    root: Node,
    *,
    grads: bool = True,
    rankdir: str = "LR",
    precision: int = 2,
    chain: bool = False,
    max_nodes: int = MAX_STEP_NODES,
    max_inline: int = 6,
    constants: str = "fold",
) -> Stepper:
    """Step through the computation of ``root``: forward node by node, then backward gate by
    gate, one :class:`Frame` per step.

    This runs the backward pass itself, from a clean state: it calls ``root.zero_grad()`` and
    then ``root.backward()``, recording every step. Afterwards the graph holds exactly the
    gradients one ``backward()`` gives. With ``grads=False`` only the forward frames are made
    and the gradients are left alone.

    The draw options are those of :func:`viz.draw`. A Tensor root must hold one number (a
    loss), as for ``backward()`` without a gradient. With ``constants="fold"`` (the default) a
    number operand is drawn inside its gate and has no forward frame of its own.
    """
    fold = folds_constants(constants)
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(f"step() takes a Value or a Tensor, got {type(root).__name__}")
    if grads and isinstance(root, Tensor) and root.size != 1:
        raise ValueError(  # before zero_grad: a refused call leaves the gradients alone
            f"step() runs backward() from a one-element tensor (a loss); this one has shape "
            f"{root.shape}. Step through a reduction of it (.sum(), .mean())"
        )
    options = DrawOptions(
        grads=grads, rankdir=rankdir, precision=precision, chain=chain, max_inline=max_inline
    )
    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"this graph has {len(order)} nodes, and stepping makes a frame per node and per "
            f"gate; over {max_nodes} nodes is too many to follow. Step through a smaller "
            "graph, or pass max_nodes= to force."
        )
    steps: list[tuple[BackwardStep, dict[int, Data | None]]] = []
    if grads:
        root.zero_grad()

        def record(backward_step: BackwardStep) -> None:
            steps.append((backward_step, {id(node): _grad_now(node) for node in order}))

        root.backward(on_step=record)

    full = trace(root) if grads else trace(root, known=())
    ids = {id(node.value): node.id for node in full.nodes}
    inputs = _inputs_of(full)
    # With constants folded into their gates (as viz.draw draws them), a number has no frame.
    shown = fold_constants(full) if fold else full
    kept = {node.id for node in shown.nodes}
    shown_symbols = {node.id: node.symbol for node in shown.nodes}  # "+ 1", as drawn
    forward = [k for k, node in enumerate(full.nodes) if node.id in kept]
    states = [
        _forward_state(full, inputs, k, options, position, len(forward))
        for position, k in enumerate(forward)
    ]
    sent: dict[tuple[str, int], tuple[Data, Local, Data]] = {}  # grows by one gate per frame
    for j, (backward_step, _) in enumerate(steps):
        gate_id = ids[id(backward_step.gate)]
        for index, (local, down) in enumerate(
            zip(backward_step.local_grads, backward_step.downstream, strict=True)
        ):
            sent[(gate_id, index)] = (backward_step.upstream, local, down)
        symbol = shown_symbols.get(gate_id, "")
        states.append(_backward_state(full, steps, j, gate_id, sent, inputs, options, symbol))

    if fold:
        states = [fold_constants(state) for state in states]
        full = shown
    order = [order[k] for k in forward]

    # One layout for every frame: the widest labels (everything known, chain form everywhere)
    # and the longest caption, so nothing in any frame needs more room than it has.
    longest = max((state.caption or "" for state in states), key=len)
    layout, options = pinned_layout([full], options, caption=longest)

    frames = []
    for index, state in enumerate(states):
        source = to_dot([state], options, layout=layout).source
        kind = "forward" if index < len(order) else "backward"
        node = order[index] if kind == "forward" else steps[index - len(order)][0].gate
        frames.append(
            Frame(
                source,
                index=index,
                kind=kind,
                caption=state.caption or "",
                node=node,
                values={n.id: n.data for n in state.nodes},
                grads={n.id: _engine_grad(n, steps, index - len(order)) for n in state.nodes},
                trace=state,
            )
        )
    return Stepper(frames, title=_describe(full.root, inputs, options))


def _grad_now(node: Node) -> Data | None:
    """``node.grad`` as the engine holds it mid-walk. A Tensor no use has sent a gradient to
    yet holds a private "nothing yet" marker instead of an array of zeros: that is ``None``."""
    grad = node.grad
    if isinstance(node, Tensor) and not isinstance(grad, np.ndarray):
        return None
    return grad


def _engine_grad(
    node: TraceNode, steps: list[tuple[BackwardStep, dict[int, Data | None]]], backward_index: int
) -> Data | None:
    """The engine's ``grad`` of ``node`` after backward step ``backward_index`` (None before
    the backward pass starts)."""
    if backward_index < 0:
        return None
    return steps[backward_index][1][id(node.value)]


def _text(x: Data, options: DrawOptions) -> str:
    """A number, or an array on one line (a large one by its shape), for a caption."""
    if isinstance(x, np.ndarray):
        if not is_small(x, options.max_inline):
            return f"{format_shape(x.shape, str(x.dtype))} array"
        return format_value(x, options.precision, options.max_inline, one_line=True)
    return format_number(x, options.precision)


def _name(node: TraceNode, options: DrawOptions) -> str:
    if node.label:
        return node.label
    return _text(node.value.data, options)


def _describe(node: TraceNode, inputs: dict[str, list[TraceNode]], options: DrawOptions) -> str:
    """The root by its name, else by its formula and value: ``x / y = 0.50``."""
    if node.label:
        return node.label
    value = _text(node.value.data, options)
    return value if node.is_leaf else f"{_formula(node, inputs[node.id], options)} = {value}"


def _formula(node: TraceNode, inputs: list[TraceNode], options: DrawOptions) -> str:
    """``x + y``, ``exp(a)``, ``a**2``... with the inputs' names (or values)."""
    args = [_name(n, options) for n in inputs]
    symbol = node.symbol
    if symbol in INFIX_SYMBOLS and len(args) == 2:
        return f"{args[0]} {symbol} {args[1]}"
    if symbol == "-" and len(args) == 1:
        return f"-{args[0]}"
    if symbol.startswith("**"):
        return f"{args[0]}{symbol}"
    if symbol == "1/x":
        return f"1/{args[0]}"
    return f"{symbol}({', '.join(args)})"


def _inputs_of(full: Trace) -> dict[str, list[TraceNode]]:
    """Each node's inputs, in argument order."""
    by_id = {n.id: n for n in full.nodes}
    inputs: dict[str, list[TraceNode]] = {n.id: [] for n in full.nodes}
    for e in sorted(full.edges, key=lambda e: e.index):
        inputs[e.target].append(by_id[e.source])
    return inputs


def _is_constant(node: TraceNode) -> bool:
    """An unnamed leaf, or a number operand (:attr:`TraceNode.is_number`): a constant, not an
    input."""
    return not node.label or node.is_number


def _forward_state(
    full: Trace,
    inputs: dict[str, list[TraceNode]],
    k: int,
    options: DrawOptions,
    position: int,
    frames: int,
) -> Trace:
    """The forward frame where node k is computed (frame ``position`` of ``frames``): nodes
    0..k have their values, nothing has a gradient."""
    shown = {n.id for n in full.nodes[: k + 1]}
    current = full.nodes[k]
    nodes = tuple(
        dataclasses.replace(n, data=n.data if n.id in shown else None, grad=None)
        for n in full.nodes
    )
    edges = tuple(
        dataclasses.replace(
            e, data=e.data if e.source in shown else None, upstream=None, downstream=None
        )
        for e in full.edges
    )
    value = _text(current.value.data, options)
    if current.is_leaf:
        what = f"input {current.label} = {value}"
        if _is_constant(current):
            what = f"constant {value}"
    else:
        what = f"{_formula(current, inputs[current.id], options)} = {value}"
        if current.label:
            what = f"{current.label} = {what}"
    caption = f"forward {position + 1}/{frames}: {what}"
    root = next(n for n in nodes if n.id == full.root.id)
    return Trace(nodes, edges, root, highlight=current.id, caption=caption)


def _backward_state(
    full: Trace,
    steps: list[tuple[BackwardStep, dict[int, Data | None]]],
    j: int,
    gate_id: str,
    sent: dict[tuple[str, int], tuple[Data, Local, Data]],
    inputs: dict[str, list[TraceNode]],
    options: DrawOptions,
    symbol: str = "",
) -> Trace:
    """Frame j of the backward pass: gates 0..j have sent their gradients back, as recorded in
    ``sent`` ((gate id, input index) -> upstream, local, downstream). ``symbol`` is the gate
    as drawn (``+ 1`` with its constant folded in), for the caption.

    Every number comes from the engine: a processed gate's edges carry the upstream, local and
    downstream gradients of its :class:`~autograd.BackwardStep`; a node's gradient is shown
    once every gate that uses it has sent its part (the root's is the seed, 1).
    """
    snapshot = steps[j][1]

    def edge(e: TraceEdge) -> TraceEdge:
        if (e.target, e.index) not in sent:
            return dataclasses.replace(e, upstream=None, downstream=None)
        upstream, local, down = sent[(e.target, e.index)]
        if not e.needs_grad:  # the engine sends a "not needed" marker, not a gradient
            return dataclasses.replace(e, upstream=upstream, downstream=None)
        return dataclasses.replace(e, upstream=upstream, local=local, downstream=down)

    edges = tuple(edge(e) for e in full.edges)
    complete = {n.id for n in full.nodes if n.needs_grad}
    for e in edges:
        if e.downstream is None:
            complete.discard(e.source)  # some use of this node has not sent its part yet
    nodes = tuple(
        dataclasses.replace(n, grad=snapshot[id(n.value)] if n.id in complete else None)
        for n in full.nodes
    )
    gate_step = steps[j][0]
    gate = next(n for n in full.nodes if n.id == gate_id)

    sent_to = list(zip(inputs[gate_id], gate_step.local_grads, gate_step.downstream, strict=True))
    if symbol and symbol != gate.symbol:  # a number folded into the gate is not drawn: its
        sent_to = [sent for sent in sent_to if not sent[0].is_number]  # share goes unsaid
    label = f"{gate.label} = " if gate.label else ""
    if gate.shape is None:

        def number(x: float) -> str:
            return format_number(x, options.precision)

        up = number(gate_step.upstream)
        parts = [
            f"{up} × {number(local)} = {number(down)} to {_name(n, options)}"
            for n, local, down in sent_to
        ]
        sends = "upstream × local"
    else:  # arrays: the upstream once, then what each input's local gradient makes of it
        parts = [
            f"{format_local(local, options.precision, options.max_inline, one_line=True)} "
            f"= {_text(down, options)} to {_name(n, options)}"
            if n.needs_grad
            else f"nothing to {_name(n, options)} (requires_grad=False)"
            for n, local, down in sent_to
        ]
        sends = f"upstream {_text(gate_step.upstream, options)}"
    caption = (
        f"backward {j + 1}/{len(steps)}: {label}{symbol or gate.symbol} gate sends {sends}: "
        + ("; ".join(parts))
    )
    root = next(n for n in nodes if n.id == full.root.id)
    return Trace(nodes, edges, root, highlight=gate_id, caption=caption)

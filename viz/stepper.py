"""``viz.step``: watch a computation happen, one node forward and one gate backward at a time.

The frames are made from the engine's own work, never re-derived here:

* forward frames reveal the nodes' values in topological order (inputs before the gates that
  use them), one node per frame;
* backward frames come from ``root.backward(on_step=...)``: the engine calls back after each
  gate has sent its gradient to its inputs, with that gate's upstream, local and downstream
  gradients, and the frame records every node's ``grad`` as the engine holds it at that moment.
  So a value used twice shows its gradient accumulating (``-4.00 + ?``, then
  ``-4.00 + 3.00 = -1.00``), and the last frame is exactly what ``backward()`` produces.

All frames share one pinned layout (:mod:`viz.layout`), so nothing moves from frame to frame,
and one picture (:mod:`viz.picture`): Graphviz draws the graph once, and each frame is that
picture with its own text written in. A frame is stored as what it changes (the lines of text
that differ from the frame before, and the highlighted node), which is also what the HTML
player (:mod:`viz.player`) carries: one SVG and a few changes per frame.

A Tensor graph steps the same way: its ``backward(on_step=...)`` reports arrays, and each
frame shows them as :func:`viz.draw` does (small arrays written out, large ones by shape).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from autograd import BackwardStep, Tensor, Value, topological_order
from viz import markup, movie
from viz.diagram import Diagram, pinned_layout
from viz.focus import Grouping, with_groups
from viz.layout import Layout
from viz.markup import Line
from viz.picture import Picture, PictureState
from viz.player import player_html
from viz.render import choose_renderer, render, write_atomically, write_set
from viz.style import (
    DrawOptions,
    LabelRecipe,
    caption_markup,
    format_local,
    format_number,
    format_shape,
    format_value,
    is_small,
    to_dot,
)
from viz.tikz import beamer_tex
from viz.trace import (
    Data,
    Node,
    Trace,
    TraceNode,
    fold_constants,
    folds_constants,
    trace,
)

#: Stepping through more nodes than this is refused by default: one frame per node and gate,
#: and a picture that Graphviz takes tens of seconds to lay out (MLP(4, [16, 16, 1]), 1,100
#: nodes, lays out in about 10 s); the same limit as :data:`viz.diagram.MAX_NODES`.
MAX_STEP_NODES = 2000


@dataclass(frozen=True)
class FrameChange:
    """What one frame changes in the step-through's picture (see :mod:`viz.picture`).

    Attributes:
        lines: text slot -> the line it now shows (every slot, in the first frame).
        highlight: the node highlighted in this frame (its index among the picture's nodes).
    """

    lines: dict[int, Line]
    highlight: int | None


class Frame(Diagram):
    """One frame of a step-through: a diagram plus what happened in this step.

    Its SVG is the step-through's one picture with this frame's text written in (no Graphviz
    run per frame); :attr:`source` (the frame's own DOT, for PNG and for checking) is made
    only when asked for.

    Attributes:
        index: position in the sequence, from 0.
        kind: ``"forward"`` or ``"backward"``.
        caption: one line saying what this step did.
        node: the node this frame is about (computed, or the gate sending gradient back).
        trace: the :class:`~viz.trace.Trace` the frame is drawn from.
    """

    def __init__(self, stepper: Stepper, index: int) -> None:
        self._stepper = stepper
        self.index = index
        self._frame_source: str | None = None

    @property
    def kind(self) -> str:
        return self._stepper.kinds[self.index]

    @property
    def trace(self) -> Trace:
        return self._stepper.states[self.index]

    @property
    def caption(self) -> str:
        return self.trace.caption or ""

    @property
    def node(self) -> Node:
        return self._stepper.about[self.index]

    @property
    def values(self) -> dict[str, Data | None]:
        """Each node's forward value as shown in this frame (``None``: not computed yet),
        keyed by node id (``"n0"``, ... in topological order)."""
        return {node.id: node.data for node in self.trace.nodes}

    @property
    def grads(self) -> dict[str, Data | None]:
        """Each node's ``grad`` as the engine held it after this step (``None`` in forward
        frames, before any gradient exists), keyed like :attr:`values`."""
        snapshot = self._stepper.snapshots[self.index]
        if snapshot is None:
            return {node.id: None for node in self.trace.nodes}
        return {node.id: snapshot[id(node.value)] for node in self.trace.nodes}

    @property
    def source(self) -> str:
        """This frame's DOT, pinned to the step-through's layout."""
        if self._frame_source is None:
            stepper = self._stepper
            graph = to_dot([self.trace], stepper.options, layout=stepper.layout)
            self._frame_source = str(graph.source)
        return self._frame_source

    def svg(self) -> str:
        """The frame as SVG: the step-through's picture with this frame's text."""
        return self._stepper.frame_svg(self.index)

    def __repr__(self) -> str:
        return f"<Frame {self.index} ({self.kind}): {self.caption}>"


class Stepper(Sequence[Frame]):
    """The frames of one computation: ``len()``, indexing, iteration, saving and a player.

    The frames are states of one trace (:attr:`states`) drawn on one picture
    (:mod:`viz.picture`): Graphviz runs twice per step-through (the layout, then the
    picture), whatever the number of frames. In Jupyter it shows as the HTML player.
    """

    def __init__(
        self,
        states: list[Trace],
        about: list[Node],
        kinds: list[str],
        snapshots: list[dict[int, Data | None] | None],
        options: DrawOptions,
        layout: Layout,
        picture: Picture,
        changes: list[FrameChange],
        title: str,
    ) -> None:
        self.states = states
        self.about = about
        self.kinds = kinds
        self.snapshots = snapshots
        self.options = options
        self.layout = layout
        self.picture = picture
        self.changes = changes
        self.title = title
        self._frames = [Frame(self, index) for index in range(len(states))]
        self._cursor: tuple[int, PictureState] | None = None  # the last frame drawn

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
        counts = ", ".join(f"{self.kinds.count(k)} {k}" for k in dict.fromkeys(self.kinds))
        return (
            f"<Stepper: {len(self)} frames ({counts}); "
            ".save_html('steps.html'), .save_frames('frames/'), .save_beamer('steps.tex'), "
            ".save_gif('steps.gif'), .save_video('steps.mp4')>"
        )

    # -- drawing ------------------------------------------------------------------------------

    def picture_state(self, index: int) -> PictureState:
        """The picture's slots as frame ``index`` fills them (frames are drawn in order from
        the last one asked for, so walking through them costs one frame's changes each)."""
        if self._cursor is None or self._cursor[0] > index:
            self._cursor = (-1, PictureState(self.picture))
        done, state = self._cursor
        for change in self.changes[done + 1 : index + 1]:
            for slot, line in change.lines.items():
                state.set_lines([slot], [line])
            state.highlight = change.highlight
        self._cursor = (index, state)
        return state

    def frame_svg(self, index: int, caption: bool = True) -> str:
        """Frame ``index`` as SVG; ``caption=False`` leaves the caption's lines blank (for a
        player or a slide that writes the caption beside the picture)."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} of {len(self)}")
        return self.picture_state(index % len(self)).svg(caption)

    # -- files --------------------------------------------------------------------------------

    def save_frames(self, directory: str | Path, formats: Sequence[str] = ("svg",)) -> list[Path]:
        """Write every frame as ``frame_001.svg``, ``frame_002.svg``, ... into ``directory``.

        ``formats``: ``"svg"`` (the default: the picture with each frame's text, no Graphviz
        run per frame), ``"pdf"`` and ``"png"`` (each frame rendered: slower). The folder
        holds one whole save: the set is written beside it and then put in its place, so a
        save that fails or is killed leaves the previous set (see :func:`write_set`), and no
        frame of an earlier, longer save is left behind. ``directory`` must be new, empty, or
        an earlier save's folder.
        """
        formats = list(formats)
        if not formats:
            raise ValueError("save_frames needs at least one format: 'svg', 'png' or 'pdf'")
        for fmt in formats:
            if fmt not in ("svg", "png", "pdf"):
                raise ValueError(f"frame formats are svg, png and pdf, not {fmt!r}")
            if fmt != "svg":
                choose_renderer(fmt)  # fail before rendering anything
        width = max(3, len(str(len(self))))

        def files() -> Iterator[tuple[str, bytes]]:
            for frame in self._frames:
                for fmt in formats:
                    name = f"frame_{frame.index + 1:0{width}d}.{fmt}"
                    yield name, frame.file_bytes(fmt)

        return write_set(Path(directory), files(), FRAME_FILES)

    def player(self, fragment: bool = False) -> str:
        """The HTML player: the picture once, each frame's changes as data (see
        :mod:`viz.player`); ``fragment`` leaves out the page around it (for Jupyter)."""
        caption_slots = set(self.picture.texts.get("", []))
        frames = [
            (
                change.highlight,
                {k: line for k, line in change.lines.items() if k not in caption_slots},
            )
            for change in self.changes
        ]
        return player_html(
            self.frame_svg(0, caption=False),
            frames,
            self.picture.edges_into,
            [frame.caption for frame in self._frames],
            self.title,
            fragment=fragment,
        )

    def html(self) -> str:
        """The self-contained HTML player (one page, nothing fetched)."""
        return self.player()

    def save_html(self, path: str | Path) -> Path:
        """Write the player to one self-contained HTML file (works offline, from a USB stick)."""
        target = Path(path)
        write_atomically(target, self.html().encode("utf-8"))
        return target

    def save_beamer(self, path: str | Path) -> Path:
        """Write a Beamer document: one slide frame whose overlays walk through the steps, each
        picture on the pinned layout with its caption under it (see :mod:`viz.tikz`); it
        compiles with ``pdflatex`` to one page per step."""
        target = Path(path)
        document = beamer_tex(
            [self.frame_svg(k, caption=False) for k in range(len(self))],
            [frame.caption for frame in self._frames],
            self.title,
        )
        write_atomically(target, document.encode("utf-8"))
        return target

    def save_gif(
        self,
        path: str | Path,
        seconds_per_frame: float = 1.0,
        last_frame_seconds: float | None = None,
        width: int = movie.PROJECTOR_WIDTH,
    ) -> Path:
        """Write the frames as an animated GIF, ``width`` pixels wide (a projector's 1920 by
        default), each shown ``seconds_per_frame`` (the last ``last_frame_seconds``, if
        given); see :mod:`viz.movie`. Needs ``pip install "backprop-lab[video]"``."""
        pngs = movie.frames_to_pngs(self._frames, width)
        return movie.save_gif(pngs, path, seconds_per_frame, last_frame_seconds)

    def save_video(
        self,
        path: str | Path,
        seconds_per_frame: float = 1.0,
        fps: int = 30,
        width: int = movie.PROJECTOR_WIDTH,
    ) -> Path:
        """Write the frames as an H.264 MP4 video that plays in PowerPoint, Keynote and
        browsers, ``width`` pixels wide, each frame held ``seconds_per_frame``; see
        :mod:`viz.movie`. Needs ``pip install "backprop-lab[video]"``."""
        pngs = movie.frames_to_pngs(self._frames, width)
        return movie.save_video(pngs, path, seconds_per_frame, fps)

    # -- Jupyter ------------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        """The player, which works wherever a notebook's HTML runs: JupyterLab, Notebook,
        VS Code, an exported HTML page. Where scripts don't run (GitHub's viewer, an untrusted
        notebook) it shows the first caption and a note to run the cell or trust the
        notebook."""
        return self.player(fragment=True)


#: The files :meth:`Stepper.save_frames` writes (and may replace) in its folder.
FRAME_FILES = re.compile(r"frame_\d+\.(svg|png|pdf)")


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
    group: str | Grouping | None = None,
    max_layout_cost: int | None = None,
) -> Stepper:
    """Step through the computation of ``root``: forward node by node, then backward gate by
    gate, one :class:`Frame` per step.

    This runs the backward pass itself, from a clean state: it calls ``root.zero_grad()`` and
    then ``root.backward()``, recording every step. Afterwards the graph holds exactly the
    gradients one ``backward()`` gives. With ``grads=False`` only the forward frames are made
    and the gradients are left alone.

    The draw options are those of :func:`viz.draw`. A Tensor root must hold one number (a
    loss), as for ``backward()`` without a gradient. With ``constants="fold"`` (the default) a
    number operand is drawn inside its gate and has no forward frame of its own. ``group=
    "label"`` boxes a network's nodes by neuron and layer (``layer1.neuron0.w0``), as for
    :func:`viz.draw`: the way to step through an MLP. ``max_layout_cost``: as for
    :func:`viz.draw`, a graph Graphviz would take minutes to lay out is refused before it
    runs (see :func:`viz.diagram.layout_cost`); a larger number forces it.
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
    recorded = record(root, options, max_nodes, fold, group)
    return stepper_of(
        recorded.shown,
        recorded.states,
        recorded.about,
        recorded.kinds,
        recorded.snapshots,
        options,
        recorded.title,
        max_layout_cost,
    )


@dataclass
class Recording:
    """One forward and backward pass of a graph, as frames: what :func:`step` shows.

    Attributes:
        shown: the trace as drawn (constants folded into their gates, if asked).
        states: each frame's state of ``shown``.
        about: the node each frame is about.
        kinds: each frame's kind (``"forward"``, ``"backward"``).
        snapshots: each frame's engine gradients (by ``id`` of the node), ``None`` before the
            backward pass.
        title: the root by its name, else by its formula and value.
    """

    shown: Trace
    states: list[Trace]
    about: list[Node]
    kinds: list[str]
    snapshots: list[dict[int, Data | None] | None]
    title: str


def record(
    root: Node,
    options: DrawOptions,
    max_nodes: int,
    fold: bool,
    group: str | Grouping | None = None,
) -> Recording:
    """Run ``root``'s backward pass (if ``options.grads``) from a clean state, recording each
    gate's step, and make every frame's state (boxed by ``group``, as :func:`viz.draw` does)."""
    order = topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"this graph has {len(order)} nodes, and stepping makes a frame per node and per "
            f"gate; over {max_nodes} nodes is too many to follow, and slow to lay out. Step "
            "through a smaller graph (one neuron, or a network on fewer inputs), draw the "
            "whole one with viz.draw(root, collapse='layer'), or pass max_nodes= to force."
        )
    steps: list[tuple[BackwardStep, dict[int, Data | None]]] = []
    if options.grads:
        root.zero_grad()

        def note(backward_step: BackwardStep) -> None:
            steps.append((backward_step, {id(node): _grad_now(node) for node in order}))

        root.backward(on_step=note)

    full = trace(root) if options.grads else trace(root, known=())
    inputs = _inputs_of(full)
    # With constants folded into their gates (as viz.draw draws them), a number has no frame.
    shown = fold_constants(full) if fold else full
    if group is not None:
        shown = with_groups(shown, group)
    states, about = _states(shown, full, inputs, steps, options)
    forward = len(shown.nodes)
    kinds = ["forward"] * forward + ["backward"] * (len(states) - forward)
    snapshots: list[dict[int, Data | None] | None] = [None] * forward
    snapshots += [snapshot for _, snapshot in steps]
    return Recording(shown, states, about, kinds, snapshots, _describe(full.root, inputs, options))


def stepper_of(
    shown: Trace,
    states: list[Trace],
    about: list[Node],
    kinds: list[str],
    snapshots: list[dict[int, Data | None] | None],
    options: DrawOptions,
    title: str,
    max_layout_cost: int | None = None,
) -> Stepper:
    """A :class:`Stepper` of ``states`` (each a state of ``shown``, node for node and edge
    for edge), on one layout and one picture."""
    # One layout for every frame: the widest labels (everything known, chain form everywhere)
    # and the caption of most lines, so nothing in any frame needs more room than it has.
    widest = max((state.caption or "" for state in states), key=_caption_size)
    layout, options = pinned_layout(
        [shown], options, caption=widest, max_layout_cost=max_layout_cost
    )
    picture, changes = _picture(states, widest, options, layout)
    return Stepper(states, about, kinds, snapshots, options, layout, picture, changes, title=title)


def _caption_size(caption: str) -> tuple[int, int]:
    """(lines, characters) of a caption as drawn: the caption that needs most room."""
    return caption_markup(caption).count("<br/>"), len(caption)


def _states(
    shown: Trace,
    full: Trace,
    inputs: dict[str, list[TraceNode]],
    steps: list[tuple[BackwardStep, dict[int, Data | None]]],
    options: DrawOptions,
) -> tuple[list[Trace], list[Node]]:
    """Every frame's state of ``shown`` (the trace as drawn), and the node each is about.

    Each frame is the one before with a few nodes and edges replaced: a forward frame gives
    one node and the edges leaving it their values; a backward frame gives the edges into one
    gate their upstream, local and downstream gradients (as the engine sent them), and each
    node whose every use has now sent its part its gradient. Unchanged nodes and edges are
    the same objects from frame to frame.
    """
    position = {node.id: i for i, node in enumerate(shown.nodes)}
    out, into = shown.edge_positions()
    nodes = [dataclasses.replace(node, data=None, grad=None) for node in shown.nodes]
    edges = [
        dataclasses.replace(edge, data=None, upstream=None, downstream=None) for edge in shown.edges
    ]
    root = position[shown.root.id]
    states: list[Trace] = []
    about: list[Node] = []

    def frame(highlight: str, caption: str) -> None:
        states.append(
            Trace(
                tuple(nodes),
                tuple(edges),
                nodes[root],
                highlight=highlight,
                caption=caption,
                groups=shown.groups,
            )
        )

    written_out = {node.id: node for node in full.nodes}
    for i, node in enumerate(shown.nodes):
        nodes[i] = dataclasses.replace(nodes[i], data=node.data)
        for j in out[node.id]:
            edges[j] = dataclasses.replace(edges[j], data=shown.edges[j].data)
        as_computed = written_out[node.id]  # with its own symbol, not one with a number in it
        frame(node.id, _forward_caption(as_computed, inputs, options, i, len(shown.nodes)))
        about.append(node.value)

    ids = {id(node.value): node.id for node in full.nodes}
    waiting = {node.id: len(out[node.id]) for node in shown.nodes}  # uses yet to send
    complete: set[str] = set()
    for j, (backward_step, snapshot) in enumerate(steps):
        gate_id = ids[id(backward_step.gate)]
        for k in into.get(gate_id, []):
            edge = edges[k]
            local = backward_step.local_grads[edge.index]
            if not edge.needs_grad:  # the engine sends a "not needed" marker, not a gradient
                edges[k] = dataclasses.replace(edge, upstream=backward_step.upstream)
                continue
            down = backward_step.downstream[edge.index]
            edges[k] = dataclasses.replace(
                edge, upstream=backward_step.upstream, local=local, downstream=down
            )
            waiting[edge.source] -= 1
        for node_id, count in waiting.items():
            i = position[node_id]
            if count == 0 and node_id not in complete and nodes[i].needs_grad:
                complete.add(node_id)
                nodes[i] = dataclasses.replace(nodes[i], grad=snapshot[id(nodes[i].value)])
        symbol = shown.nodes[position[gate_id]].symbol if gate_id in position else ""
        caption = _backward_caption(full, steps, j, gate_id, inputs, options, symbol)
        frame(gate_id, caption)
        about.append(backward_step.gate)
    return states, about


def _picture(
    states: list[Trace], widest: str, options: DrawOptions, layout: Layout
) -> tuple[Picture, list[FrameChange]]:
    """The one picture of ``states`` (rendered once) and what each frame changes in it."""
    last = states[-1]
    template = dataclasses.replace(last, highlight=None, caption=widest)
    recipes: dict[str, LabelRecipe] = {}
    source = to_dot([template], options, layout=layout, recipes=recipes, picture=True).source
    shapes = {
        name: [(line.align, len(line.spans)) for line in markup.lines(recipe.write(template)[1:-1])]
        for name, recipe in recipes.items()
    }
    shapes[""] = [("center", 1)] * len(markup.lines(caption_markup(widest)))
    node_names = [node.id for node in last.nodes]
    edge_labels = [name for name, recipe in recipes.items() if recipe.edges and recipe.gate]
    picture = Picture(render(source, "svg").decode("utf-8"), shapes, node_names, edge_labels)

    by_node: dict[int, list[str]] = {}
    by_edge: dict[int, list[str]] = {}
    by_gate: dict[str | None, list[str]] = {}
    for name, recipe in recipes.items():
        for i in recipe.nodes:
            by_node.setdefault(i, []).append(name)
        for j in recipe.edges:
            by_edge.setdefault(j, []).append(name)
        by_gate.setdefault(recipe.gate, []).append(name)

    written: dict[str, str] = {}  # DOT node -> its label as last written
    shown: dict[int, Line] = {}  # text slot -> its line as last written
    changes = []
    previous: Trace | None = None
    for state in states:
        if previous is None:
            dirty: set[str] = set(recipes)
        else:
            dirty = set(by_gate.get(previous.highlight, [])) | set(by_gate.get(state.highlight, []))
            for i, (old, new) in enumerate(zip(previous.nodes, state.nodes, strict=True)):
                if old is not new:
                    dirty.update(by_node.get(i, []))
            for j, (old_edge, new_edge) in enumerate(zip(previous.edges, state.edges, strict=True)):
                if old_edge is not new_edge:
                    dirty.update(by_edge.get(j, []))
        lines: dict[int, Line] = {}
        for name in sorted(dirty):
            label = recipes[name].write(state)
            if written.get(name) != label:
                written[name] = label
                _write_lines(picture, name, markup.lines(label[1:-1]), shown, lines)
        _write_lines(picture, "", markup.lines(caption_markup(state.caption or "")), shown, lines)
        highlight = picture.node_index.get(state.highlight or "")
        changes.append(FrameChange(lines, highlight))
        previous = state
    return picture, changes


def _write_lines(
    picture: Picture, name: str, new: list[Line], shown: dict[int, Line], lines: dict[int, Line]
) -> None:
    """Record in ``lines`` the lines of label ``name`` that differ from what ``shown`` (each
    text slot's line as last written) holds, and update ``shown``."""
    slots = picture.texts.get(name, [])
    new = new + [markup.Line(())] * (len(slots) - len(new))  # a caption of fewer lines
    if len(new) != len(slots):  # a bug: the picture was drawn with other labels
        raise RuntimeError(f"label {name!r}: {len(new)} lines for {len(slots)} slots")
    for slot, line in zip(slots, new, strict=True):
        if shown.get(slot) != line:
            shown[slot] = lines[slot] = line


def _grad_now(node: Node) -> Data | None:
    """``node.grad`` as the engine holds it mid-walk. A Tensor no use has sent a gradient to
    yet holds a private "nothing yet" marker instead of an array of zeros: that is ``None``."""
    grad = node.grad
    if isinstance(node, Tensor) and not isinstance(grad, np.ndarray):
        return None
    return grad


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
    """``x + y``, ``exp(a)``, ``a**2``... with the inputs' names (or values): written as the op
    table says its op is written, when the node is one gate."""
    args = [_name(n, options) for n in inputs]
    gate = getattr(node.value, "gate", None)
    if gate is not None and node.symbol == gate.symbol and len(args) == gate.arity:
        return str(gate.write(*args))
    return f"{node.symbol}({', '.join(args)})"


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


def _forward_caption(
    current: TraceNode,
    inputs: dict[str, list[TraceNode]],
    options: DrawOptions,
    position: int,
    frames: int,
) -> str:
    """The caption of the forward frame where ``current`` is computed (frame ``position`` of
    ``frames``): ``forward 3/9: z = x * y = -6.00``."""
    value = _text(current.value.data, options)
    if current.is_leaf:
        what = f"input {current.label} = {value}"
        if _is_constant(current):
            what = f"constant {value}"
    else:
        what = f"{_formula(current, inputs[current.id], options)} = {value}"
        if current.label:
            what = f"{current.label} = {what}"
    return f"forward {position + 1}/{frames}: {what}"


def _backward_caption(
    full: Trace,
    steps: list[tuple[BackwardStep, dict[int, Data | None]]],
    j: int,
    gate_id: str,
    inputs: dict[str, list[TraceNode]],
    options: DrawOptions,
    symbol: str = "",
) -> str:
    """The caption of backward frame j: what the gate sent to each input, as the engine sent
    it (``upstream × local = downstream``). ``symbol`` is the gate as drawn (``+ 1`` with
    its constant folded in): a folded number's share goes unsaid, as it is not drawn."""
    gate_step = steps[j][0]
    gate = next(n for n in full.nodes if n.id == gate_id)
    sent_to = list(zip(inputs[gate_id], gate_step.local_grads, gate_step.downstream, strict=True))
    if symbol and symbol != gate.symbol:
        sent_to = [sent for sent in sent_to if not sent[0].is_number]
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
    return f"backward {j + 1}/{len(steps)}: {label}{symbol or gate.symbol} gate sends {sends}: " + (
        "; ".join(parts)
    )

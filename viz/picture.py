"""One picture for all the frames of a step-through: rendered once, then written into.

Every frame of a step-through is the same graph at the same pinned positions
(:mod:`viz.layout`); from one frame to the next only some labels' text, the highlighted gate
and the caption change. So Graphviz draws the graph once, as a *picture* whose changeable
labels hold a blank per line of text (:func:`viz.markup.blank`) and whose nodes all have an
invisible background. That SVG is cut into pieces around its *slots*:

* a text slot per line of every label that can change (and per line of the caption): the
  ``<text>`` element is kept, its content is the frame's;
* per node, its background's fill and outline width, and its group's class (``bpl-current``
  when highlighted);
* per edge, its line's width (the lines into the highlighted gate are drawn thicker).

A frame is then a few slot values, and its SVG is the pieces joined with them: no Graphviz.
The HTML player (:mod:`viz.player`) embeds the SVG once and sets the same slots from a
frame's changes in a few lines of JavaScript.

Where a line's text goes. Graphviz places every line of an HTML-like label by its left end
(``text-anchor="start"``), computed from the width of the text it was given: here a blank. A
centred line is centred on the blank's centre, a right-aligned one ends where the blank ends,
a left-aligned one starts where it starts. The blank's width is measured on the picture
itself: a leaf's lines are centred on its background box, so the box's centre and a blank's
left end give half its width (Graphviz's font metrics differ between the system ``dot`` and
the bundled one). So a frame's line sits where Graphviz would have put it, to within a
fraction of a point (tested against Graphviz's own drawing of frames).
"""

from __future__ import annotations

import html
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from viz.markup import Line
from viz.style import HIGHLIGHT_FILL, HIGHLIGHT_PEN

#: Width of the blank Graphviz placed in each line, in em (Helvetica's space), where the
#: picture has no leaf to measure it on.
BLANK_EM = 0.278
#: What an unhighlighted node's background and outline are.
NO_FILL = "none"
PLAIN_PEN = "1"

_ELEMENT = re.compile(
    r'(?P<group><g id="[^"]*" class="(?P<kind>node|edge|cluster)">\s*'
    r"<title>(?P<title>[^<]*)</title>)"
    r"|(?P<text><text\b[^>]*>.*?</text>)"
    r"|(?P<shape><(?P<shape_name>ellipse|polygon|path|polyline)\b[^>]*>)",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(r'\s([\w:-]+)="([^"]*)"')


@dataclass(frozen=True)
class Slot:
    """A place in the picture a frame fills: ``kind`` is ``"text"`` (a line's content),
    ``"fill"``, ``"pen"`` or ``"class"`` (a node's), or ``"edge"`` (an edge's line width);
    ``index`` counts the slots of that kind."""

    kind: str
    index: int


def line_markup(line: Line) -> str:
    """A line's spans as SVG ``<tspan>`` elements, escaped (the content of its ``<text>``)."""
    parts = []
    for span in line.spans:
        attributes = ""
        if span.color is not None:
            attributes += f' fill="{html.escape(span.color)}"'
        if span.bold:
            attributes += ' font-weight="bold"'
        parts.append(f"<tspan{attributes}>{html.escape(span.text, quote=False)}</tspan>")
    return "".join(parts)


class Picture:
    """The SVG of a step-through's picture, cut into pieces around its slots.

    Args:
        svg: Graphviz's SVG of the picture (``to_dot(..., picture=True)``).
        lines: for each DOT node whose label can change, each of its lines' alignment and
            number of spans (from :func:`viz.markup.lines`); ``""`` for the caption's lines.
            Graphviz draws each span of the picture's blank markup as a ``<text>``; the first
            of a line becomes the line's slot, the others go.
        nodes: the DOT names of the nodes a frame can highlight.
        labels: the DOT names of edge labels (an edge into a gate passes through one).

    Attributes:
        texts: per DOT node name (``""``: the caption), the text slots of its lines, in order.
        node_index: per highlightable DOT node name, its index among the node slots.
        edges_into: per node index, the indices of the edge slots drawn thicker when it is
            highlighted: the two halves of every edge into it.
    """

    def __init__(
        self,
        svg: str,
        lines: Mapping[str, Sequence[tuple[str, int]]],
        nodes: Sequence[str],
        labels: Iterable[str],
    ) -> None:
        self.node_index = {name: i for i, name in enumerate(nodes)}
        self.texts: dict[str, list[int]] = {}
        self.text_count = 0
        self.pieces: list[str | Slot] = []
        label_names = set(labels)
        self._pending: list[tuple[int, float, float, str, str, int]] = []
        self._blank_widths: list[float] = []  # a blank's width in em, measured on leaves
        self._box_centre: dict[str, float] = {}  # a node's background box's centre (x)
        self._spans_seen: dict[str, int] = {}
        heads: dict[str, list[tuple[str, int]]] = {}  # head -> (tail, edge slot)
        edge_count = 0
        owner: str | None = None  # the DOT name of the group being read; None: the graph
        kind = ""
        shaped: set[str] = set()  # nodes whose background has been found
        edge_slot = -1
        position = 0
        for match in _ELEMENT.finditer(svg):
            self.pieces.append(svg[position : match.start()])
            position = match.end()
            element = match.group(0)
            if match.group("group"):
                kind, owner = match.group("kind"), html.unescape(match.group("title"))
                if kind == "node" and owner in self.node_index:
                    start = element.index('class="node"')
                    self.pieces += [
                        element[:start] + 'class="',
                        Slot("class", self.node_index[owner]),
                        element[start + len('class="node') :],
                    ]
                    continue
                if kind == "edge":
                    tail, _, head = owner.partition("->")
                    edge_slot = edge_count
                    edge_count += 1
                    heads.setdefault(head.split(":")[0], []).append((tail.split(":")[0], edge_slot))
                self.pieces.append(element)
            elif match.group("text"):
                slot_owner = "" if owner is None else owner
                if owner is None or kind == "node":
                    shape = lines.get(slot_owner)
                    if shape is not None:
                        self._text_slot(element, slot_owner, shape)
                        continue
                self.pieces.append(element)
            elif kind == "node" and owner in self.node_index and owner not in shaped:
                shaped.add(owner)  # a node's first shape is its background
                xs = [float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", element)]
                if match.group("shape_name") == "polygon" and xs:
                    self._box_centre[owner] = (min(xs) + max(xs)) / 2
                self._node_slots(element, match.group("shape_name"), self.node_index[owner])
            elif kind == "edge":
                self._edge_slot(element, match.group("shape_name"), edge_slot)
            else:
                self.pieces.append(element)
        self.pieces.append(svg[position:])
        blank = statistics.median(self._blank_widths) if self._blank_widths else BLANK_EM
        for piece, x, blanks_size, align, kept, index in self._pending:
            width = blank * blanks_size  # the line's blanks, each a font size wide
            anchor, at = {"center": ("middle", x + width / 2), "right": ("end", x + width)}.get(
                align, ("start", x)
            )
            self.pieces[piece] = (
                f'<text xml:space="preserve" data-t="{index}" text-anchor="{anchor}" '
                f'x="{at:.2f}"{kept}>'
            )
        self.edge_count = edge_count
        for name, shape in lines.items():
            found = self._spans_seen.get(name, 0)
            if found != sum(spans for _, spans in shape):
                raise RuntimeError(  # a bug here, not a user's mistake
                    f"the picture's label {name!r} has {found} spans of text in the SVG, "
                    f"{sum(spans for _, spans in shape)} in its markup"
                )
        self.edges_into: dict[int, list[int]] = {}
        for name, index in self.node_index.items():
            halves = [(tail, slot) for tail, slot in heads.get(name, []) if tail in label_names]
            slots = [slot for _, slot in halves]
            for tail, _ in halves:
                slots += [slot for _, slot in heads.get(tail, [])]
            self.edges_into[index] = sorted(slots)

    def _text_slot(self, element: str, owner: str, shape: Sequence[tuple[str, int]]) -> None:
        """A blank span of ``owner``'s label: the first of each line becomes the line's slot,
        anchored where the line's alignment puts it; the line's other blanks are dropped."""
        seen = self._spans_seen.get(owner, 0)
        self._spans_seen[owner] = seen + 1
        line, start = 0, 0
        while line < len(shape) and start + shape[line][1] <= seen:
            start += shape[line][1]
            line += 1
        if line >= len(shape):
            return  # more spans than the markup has: counted, and refused after the scan
        if seen != start:  # not the line's first span
            return
        align, spans = shape[line]
        open_tag = element[: element.index(">") + 1]
        attributes = dict(_ATTRIBUTE.findall(open_tag))
        x = float(attributes["x"])
        size = float(attributes.get("font-size", "14"))
        if owner in self._box_centre and align == "center" and spans == 1:
            self._blank_widths.append(2 * (self._box_centre[owner] - x) / size)
        kept = "".join(
            f' {name}="{value}"'
            for name, value in attributes.items()
            if name in ("y", "font-family", "font-size")  # colour and weight: per span
        )
        index = self.text_count
        self.text_count += 1
        self.texts.setdefault(owner, []).append(index)
        self._pending.append((len(self.pieces), x, size * spans, align, kept, index))
        self.pieces += ["", Slot("text", index), "</text>"]  # the tag is written at the end

    def _node_slots(self, element: str, name: str, index: int) -> None:
        """A node's background: its fill and outline width become slots."""
        rest = re.sub(r'\s(?:fill|stroke-width)="[^"]*"', "", element[len(name) + 1 :])
        self.pieces += [
            f'<{name} data-n="{index}" fill="',
            Slot("fill", index),
            '" stroke-width="',
            Slot("pen", index),
            f'"{rest}',
        ]

    def _edge_slot(self, element: str, name: str, index: int) -> None:
        """An edge's line (or arrowhead): its width becomes a slot."""
        rest = re.sub(r'\sstroke-width="[^"]*"', "", element[len(name) + 1 :])
        self.pieces += [f'<{name} data-e="{index}" stroke-width="', Slot("edge", index), f'"{rest}']


class PictureState:
    """The slot values of one frame; :meth:`svg` joins them into the picture."""

    def __init__(self, picture: Picture) -> None:
        self.picture = picture
        self.texts = [""] * picture.text_count
        self.highlight: int | None = None

    def set_lines(self, slots: Sequence[int], lines: Sequence[Line]) -> None:
        for slot, line in zip(slots, lines, strict=True):
            self.texts[slot] = line_markup(line)

    def svg(self, caption: bool = True) -> str:
        """This frame's SVG; ``caption=False`` leaves the caption's lines blank (for a player
        or a slide that writes the caption beside the picture)."""
        picture, highlight = self.picture, self.highlight
        thick = set(picture.edges_into.get(highlight, ())) if highlight is not None else set()
        hidden = set() if caption else set(picture.texts.get("", []))
        out = []
        for piece in picture.pieces:
            if isinstance(piece, str):
                out.append(piece)
            elif piece.kind == "text":
                out.append("" if piece.index in hidden else self.texts[piece.index])
            elif piece.kind == "edge":
                out.append(HIGHLIGHT_PEN if piece.index in thick else PLAIN_PEN)
            else:
                lit = piece.index == highlight
                out.append(
                    {
                        "fill": HIGHLIGHT_FILL if lit else NO_FILL,
                        "pen": HIGHLIGHT_PEN if lit else PLAIN_PEN,
                        "class": "node bpl-current" if lit else "node",
                    }[piece.kind]
                )
        return "".join(out)


__all__ = ["Picture", "PictureState", "Slot", "line_markup"]

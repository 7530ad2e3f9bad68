"""Edge labels drawn as the lecture draws them: the value above the line, the gradient below.

Graphviz puts an edge's label *beside* the edge, where it can sit closer to a parallel edge than
to its own: a student then reads w1's gradient as x1's. So :mod:`viz.style` draws each labelled
edge ``a -> b`` as ``a -> label -> b``. The label is a node: a table of three cells whose middle
cell is the line itself (its port ``line``), value above and gradient below (left and right of
it in a top-to-bottom drawing). The two halves of the edge meet that cell's ends, so the edge
runs straight through its label, and ``dot`` keeps every other edge and node clear of it as it
does for any node.

A pinned drawing (:mod:`viz.layout`) keeps each label the size the widest drawing of the graph
gave it: :class:`LabelSize` records that room, and the line keeps its laid-out length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: With ``magnitude=True``: the thickest line (points), for the largest gradient in the figure.
MAX_LINE_THICKNESS = 5

#: Font size of the numbers on edges; the gap (points) between them and their line.
LABEL_FONT_SIZE = 11
LABEL_GAP = 3


@dataclass(frozen=True)
class LabelSize:
    """The room one edge label takes, fixed by the widest drawing of the graph (see
    :mod:`viz.layout`) so that every drawing of it puts the line in the same place.

    ``rows``: lines of text on each side of the line (the shorter side is padded). ``chars``:
    the longest line, for the width of each side in a top-to-bottom drawing.
    """

    rows: int
    chars: int


def _lines(html: str) -> list[str]:
    return html.split("<br/>") if html else []


def _text_length(html: str) -> int:
    """Characters a line of label markup shows (tags dropped, an entity one character)."""
    return len(re.sub(r"&[#\w]+;", "x", re.sub(r"<[^>]*>", "", html)))


class EdgeLabels:
    """The label nodes of one drawing (see the module docstring): :meth:`node` makes one,
    :meth:`ports` says where the two halves of its edge meet its line."""

    def __init__(
        self,
        rankdir: str,
        magnitude: bool,
        sizes: dict[str, LabelSize] | None,
        widths: dict[str, float] | None,
    ) -> None:
        """``sizes`` and ``widths`` (each label's room and line length) come from a pinned
        layout; without them (``None``) the labels take their natural size and record it in
        :attr:`sizes` for the layout to keep."""
        self.lr = rankdir == "LR"
        self.magnitude = magnitude
        self.pinned = sizes is not None
        self.sizes: dict[str, LabelSize] = {} if sizes is None else sizes
        self.widths = widths or {}

    def node(self, name: str, top: str, bottom: str, thickness: int = 1) -> dict[str, str]:
        """Attributes of the label node ``name`` (``top``, ``bottom``: font markup), its line
        ``thickness`` points thick (drawings with ``magnitude=True``)."""
        top_lines, bottom_lines = _lines(top), _lines(bottom)
        size = self.sizes.get(name) if self.pinned else None
        if size is None:
            size = LabelSize(
                rows=max(len(top_lines), len(bottom_lines), 1),
                chars=max((_text_length(line) for line in top_lines + bottom_lines), default=1),
            )
            if not self.pinned:
                self.sizes[name] = size
        pad = "&#160;"
        top_pad = [pad] * (size.rows - len(top_lines))
        bottom_pad = [pad] * (size.rows - len(bottom_lines))
        # left to right, the padding goes away from the line, so the text hugs it
        top_cell = "<br/>".join(top_pad + top_lines if self.lr else top_lines + top_pad) or pad
        bottom_cell = "<br/>".join(bottom_lines + bottom_pad) or pad
        # The line is the cell's fill, centred on the port the edge meets; always 1 point
        # thick, so a highlighted edge's label is the same size as in every other frame.
        # With magnitude=True the line is a bar of its own thickness centred in a cell of the
        # thickest bar's room, so the label is the same size whatever its gradient.
        line = self._line(name, thickness)
        if self.lr:
            table = (
                f'<tr><td cellpadding="{LABEL_GAP}" align="center">{top_cell}</td></tr>'
                f"<tr>{line}</tr>"
                f'<tr><td cellpadding="{LABEL_GAP}" align="center">{bottom_cell}</td></tr>'
            )
        else:  # both sides as wide as the widest, so the line is at the centre
            side = int(size.chars * LABEL_FONT_SIZE * 0.62) + 2 * LABEL_GAP
            table = (
                f'<tr><td cellpadding="{LABEL_GAP}" width="{side}" align="right" balign="right">'
                f"{top_cell}</td>"
                f"{line}"
                f'<td cellpadding="{LABEL_GAP}" width="{side}" align="left" balign="left">'
                f"{bottom_cell}</td></tr>"
            )
        label = (
            f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="0">{table}</table>>'
        )
        return {
            "label": label,
            "shape": "plaintext",
            "margin": "0",
            "fontsize": str(LABEL_FONT_SIZE),
        }

    def _line(self, name: str, thickness: int) -> str:
        """The table cell that is the edge's line through its label (port ``line``)."""
        span = self.widths.get(name)  # its length in the laid-out drawing (pinned only)
        # +2: the edge's halves end a point beyond the label's box; the line meets them
        length = round(span) + 2 if span else None
        across, along = ("height", "width") if self.lr else ("width", "height")
        if not self.magnitude:
            fixed = f' {along}="{length}" fixedsize="true"' if length else ""
            return f'<td port="line" {across}="1"{fixed} bgcolor="black"></td>'
        room = f'{across}="{MAX_LINE_THICKNESS + 1}"'
        if length:
            room += f' {along}="{length}" fixedsize="true"'
        bar_length = f' {along}="{length}" fixedsize="true"' if length else ""
        bar = (
            '<table border="0" cellborder="0" cellspacing="0" cellpadding="0">'
            f'<tr><td {across}="{thickness}"{bar_length} bgcolor="black"></td></tr></table>'
        )
        return f'<td port="line" {room}>{bar}</td>'

    def ports(self) -> tuple[str, str]:
        """Where the two halves of an edge meet its label's line: (head of the first, tail of
        the second)."""
        return ("line:w", "line:e") if self.lr else ("line:n", "line:s")

"""Reading back the label markup :mod:`viz.style` writes: its lines of text, and a blank copy.

Graphviz's HTML-like labels are how every diagram here writes its text: ``<font color=...>``
for colour, ``<br/>`` between lines, ``<table>`` cells for an edge's value above its line and
its gradient below. A step-through's frames are drawn from one picture in which every label
that can change holds a blank per line (:func:`blank`); each frame then writes its own text
into those lines (:func:`lines` says what that text is, span by span, with its colour). See
:mod:`viz.picture`.

Only the markup :mod:`viz.style` writes is read here: ``table``, ``tr``, ``td`` (``align``,
``balign``), ``font`` (``color``, ``point-size``), ``b`` and ``br``, with text escaped by
:func:`viz.style.escape`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<[^>]*>|[^<]+")
_ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
NBSP = "&#160;"
_EMPTY = re.compile(r"<(font|b)\b[^>]*></\1>")


@dataclass(frozen=True)
class Span:
    """A run of text in one colour (``None``: the default, black), bold or not."""

    text: str
    color: str | None = None
    bold: bool = False


@dataclass(frozen=True)
class Line:
    """One line of a label: its spans, and how its cell aligns it (``center``, ``left`` or
    ``right``)."""

    spans: tuple[Span, ...]
    align: str = "center"


def _tag(token: str) -> tuple[str, bool, dict[str, str]]:
    """(name, closing?, attributes) of a tag token such as ``<font color="#000">``."""
    closing = token.startswith("</")
    name = re.match(r"</?\s*([\w-]+)", token)
    return (name.group(1).lower() if name else "", closing, dict(_ATTRIBUTE.findall(token)))


def _walk(markup: str, blank: bool) -> tuple[list[Line], str]:
    """The lines of ``markup``, and (with ``blank``) the markup with one blank per line."""
    lines: list[Line] = []
    out: list[str] = []
    colors: list[str | None] = [None]
    aligns = ["center"]
    bold = 0
    spans: list[Span] | None = None  # the line being read; None between lines

    def finish() -> None:
        nonlocal spans
        if spans is not None:
            lines.append(Line(tuple(spans), aligns[-1]))
        spans = None

    for token in _TOKEN.findall(markup):
        if not token.startswith("<"):
            if spans is None:
                spans = []
            out.append(NBSP)  # one blank per span: Graphviz sets a line of two spans higher
            # entities as the text they stand for, and a doubled backslash (which keeps
            # Graphviz from reading \N as the node's name) as the one it stands for
            text = html.unescape(token.replace("\\\\", "\\"))
            spans.append(Span(text, colors[-1], bold > 0))
            continue
        out.append(token)
        name, closing, attributes = _tag(token)
        if name == "br":
            finish()
        elif name == "td":
            finish()
            if closing:
                aligns.pop()
            else:
                aligns.append(attributes.get("balign", attributes.get("align", "center")).lower())
        elif name == "font":
            if closing:
                colors.pop()
            else:
                colors.append(attributes.get("color", colors[-1]))
        elif name == "b":
            bold += -1 if closing else 1
    finish()
    if not blank:
        return lines, markup
    blanked = "".join(out)
    while True:  # Graphviz refuses an empty <font></font> (a line's second span, blanked)
        emptied = _EMPTY.sub("", blanked)
        if emptied == blanked:
            return lines, blanked
        blanked = emptied


def lines(markup: str) -> list[Line]:
    """The lines of text of a label's markup (without the ``<`` ``>`` around an HTML-like
    label), in the order Graphviz draws them: cell by cell, top line first."""
    return _walk(markup, blank=False)[0]


def blank(markup: str) -> str:
    """``markup`` with each span's text replaced by one non-breaking space, every tag kept:
    the same lines, of the same spans, in the same cells and fonts, for a frame to write its
    text into."""
    return _walk(markup, blank=True)[1]

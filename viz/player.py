"""The HTML player of a step-through: one picture, and each frame as what it changes.

One file, nothing fetched: the picture is inline SVG (:mod:`viz.picture`), the frames are a
list of changes (which lines of text now read what, which node is highlighted) in a JSON
block, and a few lines of plain JavaScript apply them. So a player of 500 frames is the size
of one drawing plus a few kilobytes of changes, and it opens from a USB stick in a lecture
hall with no network.

Controls: ◀ and ▶ (or the arrow keys), play/pause (or the space bar), a slider, Home and End;
all count frames from 1, as the captions do. The picture is fitted to the width and height of
the window (the button "actual size" shows it at its own size, scrolled to the highlighted
gate). The controls and the picture are shown by the script itself: where scripts do not run
(an untrusted notebook, whose sanitiser strips the SVG but not its text; GitHub's viewer) the
player shows the first frame's caption and a note saying to run the cell or trust the
notebook, rather than a jumble of the picture's text.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
from collections.abc import Mapping, Sequence

from viz.markup import Line
from viz.style import HIGHLIGHT_FILL, HIGHLIGHT_PEN

_player_ids = itertools.count()

# Inline SVG in HTML needs neither the XML prolog nor namespace declarations (the HTML parser
# knows <svg>), and dropping them leaves the file with no http(s) URLs at all.
_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def inline_svg(svg: str) -> str:
    """An SVG document as an element to paste into HTML."""
    return _NAMESPACES.sub("", _PROLOG.sub("", svg)).strip()


def _printable(text: str) -> str:
    """``text`` with lone surrogates (which no file can encode) as U+FFFD, the replacement
    character, as diagrams show them."""
    return _LONE_SURROGATE.sub("\N{REPLACEMENT CHARACTER}", text)


#: A frame as the player's data holds it: the highlighted node (or None) and the text slots it
#: changes, each to a line of spans [text, colour index (-1: black), bold (1) or not (0)].
FrameData = tuple[int | None, Mapping[int, Line]]

_STYLE = """
.bpl-player { font-family: Helvetica, Arial, sans-serif; max-width: 100%; outline: none; }
.bpl-player .bpl-controls { display: flex; gap: 0.4em; align-items: center; margin: 0.3em 0;
  flex-wrap: wrap; }
.bpl-player .bpl-slider { flex: 1; min-width: 8em; }
.bpl-player .bpl-counter { font-variant-numeric: tabular-nums; min-width: 5em; }
.bpl-player .bpl-caption { margin: 0.3em 0; min-height: 2.6em; line-height: 1.3em; }
.bpl-player .bpl-picture { overflow: auto; max-width: 100%; max-height: calc(100vh - 8em); }
.bpl-player.bpl-fitted .bpl-picture svg { display: block; max-width: 100%;
  max-height: calc(100vh - 8em); width: auto; height: auto; }
.bpl-player:not(.bpl-fitted) .bpl-picture svg { max-width: none; max-height: none; }
.bpl-player .bpl-play { min-width: 6.5em; }
.bpl-player button { font-size: 1em; padding: 0.1em 0.7em; }
.bpl-player:focus-visible { outline: 2px solid #90caf9; }
"""

_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  var data = JSON.parse(root.querySelector(".bpl-data").textContent);
  var svg = root.querySelector(".bpl-picture svg");
  var ns = svg.namespaceURI;
  var texts = {}, shapes = {}, lines = {};
  svg.querySelectorAll("[data-t]").forEach(function (el) { texts[el.dataset.t] = el; });
  svg.querySelectorAll("[data-n]").forEach(function (el) { shapes[el.dataset.n] = el; });
  svg.querySelectorAll("[data-e]").forEach(function (el) {
    (lines[el.dataset.e] = lines[el.dataset.e] || []).push(el);
  });
  var frames = data.frames, n = frames.length, current = 0, lit = frames[0][0], timer = null;
  var slider = root.querySelector(".bpl-slider"), counter = root.querySelector(".bpl-counter");
  var caption = root.querySelector(".bpl-caption"), play = root.querySelector(".bpl-play");
  var fit = root.querySelector(".bpl-fit"), picture = root.querySelector(".bpl-picture");
  // Shown only once this script runs: where it cannot (an untrusted notebook, whose
  // sanitiser strips the SVG but keeps its text), only the caption and a note are left.
  // (hidden="hidden", not a bare hidden: JupyterLab's sanitiser drops the bare attribute.)
  root.querySelectorAll("[hidden]").forEach(function (el) { el.hidden = false; });
  root.querySelector(".bpl-note").hidden = true;
  function write(slot, spans) {  // a line of text: one tspan per span
    var el = texts[slot];
    while (el.firstChild) { el.removeChild(el.firstChild); }
    spans.forEach(function (span) {
      var t = document.createElementNS(ns, "tspan");
      if (span[1] >= 0) { t.setAttribute("fill", data.colors[span[1]]); }
      if (span[2]) { t.setAttribute("font-weight", "bold"); }
      t.textContent = span[0];
      el.appendChild(t);
    });
  }
  function highlight(node, on) {
    if (node === null || !(node in shapes)) { return; }
    var shape = shapes[node];
    shape.setAttribute("fill", on ? "%(fill)s" : "none");
    shape.setAttribute("stroke-width", on ? "%(pen)s" : "1");
    var group = shape.closest("g.node");
    if (group) { group.classList.toggle("bpl-current", on); }
    (data.edges[node] || []).forEach(function (e) {
      (lines[e] || []).forEach(function (el) {
        el.setAttribute("stroke-width", on ? "%(pen)s" : "1");
      });
    });
  }
  function show(i) {
    i = Math.max(0, Math.min(n - 1, i));
    var from = i >= current ? current + 1 : 0, pending = {};
    for (var k = from; k <= i; k++) {  // the last change of each line wins
      var changes = frames[k][1];
      for (var slot in changes) { pending[slot] = changes[slot]; }
    }
    for (var s in pending) { write(s, pending[s]); }
    highlight(lit, false);
    lit = frames[i][0];
    highlight(lit, true);
    current = i;
    slider.value = i + 1;
    counter.textContent = (i + 1) + " / " + n;
    caption.textContent = data.captions[i];
    root.dataset.frame = i + 1;
    if (!root.classList.contains("bpl-fitted") && lit !== null && shapes[lit]) {
      shapes[lit].scrollIntoView({block: "nearest", inline: "nearest"});
    }
    if (timer !== null && i === n - 1) { pause(); }
  }
  function pause() {
    clearInterval(timer); timer = null;
    play.textContent = "\\u25B6 play"; play.setAttribute("aria-pressed", "false");
  }
  // Fit to the room there is: the window on a page of its own, the notebook's scrolling
  // panel in JupyterLab (shorter than the window by its menus and toolbars). Not any
  // scrolling box around the player: JupyterLab's output area scrolls too, but it is only
  // as tall as the player, which would then shrink each time it measured itself.
  function room() {
    var panel = root.closest(".jp-WindowedPanel-outer, .jp-Notebook");
    var height = window.innerHeight;
    if (panel && panel.clientHeight > 0) { height = Math.min(height, panel.clientHeight); }
    var above = picture.getBoundingClientRect().top - root.getBoundingClientRect().top;
    var most = Math.max(160, height - above - 16) + "px";
    picture.style.maxHeight = most;
    svg.style.maxHeight = root.classList.contains("bpl-fitted") ? most : "none";
  }
  function toggle() {
    if (timer !== null) { pause(); return; }
    if (current === n - 1) { show(0); }
    play.textContent = "\\u25A0 pause"; play.setAttribute("aria-pressed", "true");
    timer = setInterval(function () { show(current + 1); }, 900);
  }
  root.querySelector(".bpl-prev").onclick = function () { show(current - 1); };
  root.querySelector(".bpl-next").onclick = function () { show(current + 1); };
  play.onclick = toggle;
  fit.onclick = function () {
    var fitted = root.classList.toggle("bpl-fitted");
    fit.textContent = fitted ? "actual size" : "fit to window";
    room(); show(current);
  };
  window.addEventListener("resize", room);
  slider.oninput = function () { show(parseInt(slider.value, 10) - 1); };
  root.addEventListener("keydown", function (event) {
    if (event.target === slider && event.key.indexOf("Arrow") === 0) { return; }
    var moves = {ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: n - 1};
    if (event.key in moves) { show(moves[event.key]); event.preventDefault(); }
    else if (event.key === " ") { toggle(); event.preventDefault(); }
  });
  room();
  show(0);
  // In a saved page the player is the page: take the keys at once, without a click first.
  // (Inside a notebook it is one output among many, and must not steal the focus.)
  if (document.body && document.body.classList.contains("bpl-page")) { root.focus(); }
})();
"""


def _json_for_script(value: object) -> str:
    """JSON safe inside a <script> element.

    Escaping "</" alone is not enough: "<!--" followed by "<script" switches the HTML
    tokenizer into a state where "</script>" no longer closes the element, so the rest of the
    page would vanish into it. With no "<" at all (JSON's \\u003c), no markup can start.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _frames_json(frames: Sequence[FrameData]) -> tuple[list[str], list[object]]:
    """The colours used (each once) and the frames as JSON-ready lists."""
    colors: dict[str, int] = {}
    out: list[object] = []
    for highlight, changes in frames:
        lines = {
            str(slot): [
                [
                    span.text,
                    -1 if span.color is None else colors.setdefault(span.color, len(colors)),
                    int(span.bold),
                ]
                for span in line.spans
            ]
            for slot, line in changes.items()
        }
        out.append([highlight, lines])
    return list(colors), out


def player_html(
    svg: str,
    frames: Sequence[FrameData],
    edges_into: Mapping[int, Sequence[int]],
    captions: Sequence[str],
    title: str,
    fragment: bool = False,
) -> str:
    """The player of ``frames`` on the picture ``svg`` (showing the first frame), each frame
    with its caption; ``edges_into`` maps a node to the edge lines drawn thicker when it is
    highlighted. A complete HTML page, or (``fragment``) the player alone, for a notebook."""
    if len(frames) != len(captions) or not frames:
        raise ValueError("the player needs one caption per frame and at least one frame")
    captions = [_printable(caption) for caption in captions]
    title = _printable(title)
    colors, frame_data = _frames_json(frames)
    data = {
        "colors": colors,
        "edges": {str(k): list(v) for k, v in edges_into.items() if v},
        "frames": frame_data,
        "captions": list(captions),
    }
    payload = _json_for_script(data)
    # Unique on the page: a notebook keeps old outputs (made by an earlier kernel, whose
    # counter also started at 0) beside new ones, and getElementById takes the first match.
    digest = hashlib.sha256(payload.encode("utf-8", "replace"))
    player_id = f"bpl-{digest.hexdigest()[:12]}-{next(_player_ids)}"
    count = len(frames)
    script = _SCRIPT % {"id": player_id, "fill": HIGHLIGHT_FILL, "pen": HIGHLIGHT_PEN}
    player = f"""<style>{_STYLE}</style>
<div class="bpl-player bpl-fitted" id="{player_id}" tabindex="0" data-frame="1">
<div class="bpl-note">(This player needs JavaScript: run the cell again, or trust the \
notebook.)</div>
<div class="bpl-controls" hidden="hidden">
<button class="bpl-prev" title="previous step (left arrow)">&#9664;</button>
<button class="bpl-play" title="play or pause (space)" aria-pressed="false">&#9654; play</button>
<button class="bpl-next" title="next step (right arrow)">&#9654;</button>
<input class="bpl-slider" type="range" min="1" max="{count}" value="1" aria-label="step">
<span class="bpl-counter">1 / {count}</span>
<button class="bpl-fit" title="fit the picture to the window, or show it at its own size">\
actual size</button>
</div>
<div class="bpl-caption">{html.escape(captions[0])}</div>
<div class="bpl-picture" hidden="hidden">{inline_svg(svg)}</div>
<script type="application/json" class="bpl-data">{payload}</script>
</div>
<script>{script}</script>"""
    if fragment:
        return player
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
</head>
<body class="bpl-page">
{player}
</body>
</html>
"""

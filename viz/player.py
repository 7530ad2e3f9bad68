"""A self-contained HTML player for a sequence of SVG frames.

One file, nothing fetched: the frames are inline SVG, the style and the script are inline, and
no fonts, scripts or images are loaded from anywhere, so it opens from a USB stick in a lecture
hall with no network. Previous/next buttons, a slider, and the arrow keys (Home/End too) move
between frames.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
from collections.abc import Sequence

_player_ids = itertools.count()

# Inline SVG in HTML needs neither the XML prolog nor namespace declarations (the HTML parser
# knows <svg>), and dropping them leaves the file with no http(s) URLs at all.
_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def inline_svg(svg: str) -> str:
    """An SVG document as an element to paste into HTML."""
    return _NAMESPACES.sub("", _PROLOG.sub("", svg)).strip()


_STYLE = """
.bpl-player { font-family: Helvetica, Arial, sans-serif; max-width: 100%; }
.bpl-player .bpl-controls { display: flex; gap: 0.5em; align-items: center; margin: 0.3em 0; }
.bpl-player input[type=range] { flex: 1; }
.bpl-player .bpl-caption { margin: 0.3em 0; min-height: 1.4em; }
.bpl-player .bpl-frame svg { max-width: 100%; height: auto; }
.bpl-player button { font-size: 1em; padding: 0.1em 0.8em; }
"""

_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  var frames = root.querySelectorAll(".bpl-frame");
  var captions = JSON.parse(root.querySelector(".bpl-captions").textContent);
  var slider = root.querySelector("input[type=range]");
  var counter = root.querySelector(".bpl-counter");
  var caption = root.querySelector(".bpl-caption");
  var current = 0;
  function show(i) {
    current = Math.max(0, Math.min(frames.length - 1, i));
    for (var k = 0; k < frames.length; k++) { frames[k].hidden = (k !== current); }
    slider.value = current;
    counter.textContent = (current + 1) + " / " + frames.length;
    caption.textContent = captions[current];
  }
  root.querySelector(".bpl-prev").onclick = function () { show(current - 1); };
  root.querySelector(".bpl-next").onclick = function () { show(current + 1); };
  slider.oninput = function () { show(parseInt(slider.value, 10)); };
  root.addEventListener("keydown", function (event) {
    var moves = {ArrowLeft: current - 1, ArrowRight: current + 1,
                 Home: 0, End: frames.length - 1};
    if (event.key in moves) { show(moves[event.key]); event.preventDefault(); }
  });
  show(0);
  // In a saved page the player is the page: take the keys at once, without a click first.
  // (Inside a notebook it is one output among many, and must not steal the focus.)
  if (document.body && document.body.firstElementChild === root) { root.focus(); }
})();
"""


def _json_string_list(items: Sequence[str]) -> str:
    """A JSON array of strings, safe inside a <script> element.

    Escaping "</" alone is not enough: "<!--" followed by "<script" switches the HTML
    tokenizer into a state where "</script>" no longer closes the element, so the rest of the
    page would vanish into it. With no "<" at all (JSON's \\u003c), no markup can start.
    """
    import json

    text = json.dumps(list(items))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def player_html(svgs: Sequence[str], captions: Sequence[str], title: str) -> str:
    """A complete HTML page that plays ``svgs`` as frames, each with its caption."""
    if len(svgs) != len(captions) or not svgs:
        raise ValueError("the player needs one caption per frame and at least one frame")
    # Unique on the page: a notebook keeps old outputs (made by an earlier kernel, whose
    # counter also started at 0) beside new ones, and getElementById takes the first match.
    digest = hashlib.sha256("\0".join([*svgs, *captions]).encode("utf-8", "replace"))
    player_id = f"bpl-{digest.hexdigest()[:12]}-{next(_player_ids)}"
    frames = "\n".join(
        f'<div class="bpl-frame"{"" if i == 0 else " hidden"}>{inline_svg(svg)}</div>'
        for i, svg in enumerate(svgs)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<div class="bpl-player" id="{player_id}" tabindex="0">
<div class="bpl-controls">
<button class="bpl-prev" title="previous step (left arrow)">&#9664;</button>
<input type="range" min="0" max="{len(svgs) - 1}" value="0" aria-label="step">
<button class="bpl-next" title="next step (right arrow)">&#9654;</button>
<span class="bpl-counter">1 / {len(svgs)}</span>
</div>
<div class="bpl-caption">{html.escape(captions[0])}</div>
<script type="application/json" class="bpl-captions">{_json_string_list(captions)}</script>
{frames}
</div>
<script>{_SCRIPT % {"id": player_id}}</script>
</body>
</html>
"""

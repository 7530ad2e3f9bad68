"""The step-through player: one self-contained HTML file, and the Jupyter display.

The HTML is read back with :mod:`html.parser` (what a browser's tokenizer would see), so a
caption or label that could close a ``<script>`` early, or any reference to the outside world,
shows up as a wrong element count or a stray attribute.
"""

from __future__ import annotations

import html
import importlib
import json
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import viz
from autograd import Value
from viz import lectures
from viz.player import inline_svg, player_html

render_module = importlib.import_module("viz.render")

EVIL = "</script><script>alert(1)</script>"
# "<!--" then "<script" puts the HTML tokenizer in a state where "</script>" no longer closes
# the element (html.parser does not model it; browsers do): only a JSON with no "<" is safe.
EVIL_COMMENT = "<!--<script>"
PLAYER_ID = re.compile(r"bpl-[0-9a-f]+-\d+")


class Page(HTMLParser):
    """Every start tag with its attributes, each <script>'s text, and each frame's text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.frames: list[dict[str, Any]] = []
        self._in: str | None = None
        self._frame_depth = 0  # open <div>s inside the current frame
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in ("script", "style"):
            self._in = tag
            if tag == "script":
                self.scripts.append((attributes, ""))
        if tag == "div":
            if self._frame_depth:
                self._frame_depth += 1
            elif "bpl-frame" in (attributes.get("class") or "").split():
                self._frame_depth = 1
                self.frames.append({"attrs": attributes, "text": [], "svgs": 0})
        if tag == "svg" and self._frame_depth:
            self.frames[-1]["svgs"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = None
        if tag == "div" and self._frame_depth:
            self._frame_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attributes, text = self.scripts[-1]
            self.scripts[-1] = (attributes, text + data)
        elif self._in == "style":
            self.styles.append(data)
        elif self._frame_depth:
            self.frames[-1]["text"].append(data.strip())

    def captions(self) -> list[str]:
        (text,) = [t for a, t in self.scripts if a.get("type") == "application/json"]
        captions: list[str] = json.loads(text)
        return captions

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.tags
            if name == tag and (cls is None or cls in (attrs.get("class") or "").split())
        ]


@pytest.fixture(scope="module")
def copy() -> viz.Stepper:
    return viz.step(lectures.copy_gate())


@pytest.fixture(params=["system", "bundled"])
def renderer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "system" and shutil.which("dot") is None:
        pytest.skip("system Graphviz 'dot' not installed; CI installs it with apt-get")
    if request.param == "bundled" and render_module.bundled_program() is None:
        pytest.skip("the bundled renderer graphviz-pure is not installed")
    monkeypatch.setenv(render_module.ENV_VAR, request.param)
    return str(request.param)


def assert_self_contained(text: str) -> None:
    """Nothing in the page can reach the network: no URL, no reference attribute, no CSS
    import or url(), no element that loads something."""
    lowered = text.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered
    page = Page(text)
    for tag, attrs in page.tags:
        assert tag not in ("link", "img", "image", "iframe", "object", "embed", "use", "base")
        for name, value in attrs.items():
            assert name.split(":")[-1] not in ("src", "href", "srcset", "action", "data"), tag
            assert "://" not in (value or ""), (tag, name, value)
            assert not (value or "").strip().startswith("//"), (tag, name, value)
    for attrs, _ in page.scripts:
        assert "src" not in attrs


# -- the file --------------------------------------------------------------------------------------


def test_save_html_writes_one_self_contained_player(
    renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = viz.step(lectures.sigmoid_neuron_staged())  # laid out and drawn by `renderer`
    target = steps.save_html(tmp_path / "steps.html")
    assert target == tmp_path / "steps.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.html"]  # nothing else
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(text)
    page = Page(text)
    # every frame inline, as SVG, in order, the first one shown and the others hidden
    # (21: the staged neuron's 13 drawn nodes and 8 gates; its constants are in their gates)
    assert len(page.frames) == len(steps) == 21
    assert [frame["svgs"] for frame in page.frames] == [1] * 21
    assert ["hidden" in frame["attrs"] for frame in page.frames] == [False] + [True] * 20
    for frame, shown in zip(steps, page.frames, strict=True):
        assert frame.caption in shown["text"]  # the caption drawn in the picture itself
    assert page.captions() == [frame.caption for frame in steps]
    assert "backward 3/8: exp gate sends upstream × local: -0.53 × 0.37 = -0.20 to -1.00" in (
        page.captions()
    )
    # controls: previous/next buttons, a slider over every frame, a focusable player for keys
    assert len(page.find("button", "bpl-prev")) == len(page.find("button", "bpl-next")) == 1
    (slider,) = page.find("input")
    assert (slider["type"], slider["min"], slider["max"]) == ("range", "0", "20")
    (player,) = page.find("div", "bpl-player")
    assert player["tabindex"] == "0"
    script = page.scripts[-1][1]
    assert all(key in script for key in ("ArrowLeft", "ArrowRight", "Home", "End", "keydown"))
    assert f'getElementById("{player["id"]}")' in script
    assert len(page.scripts) == 2
    assert "<title>f</title>" in text


def test_the_player_is_safe_against_script_injection_in_labels(tmp_path: Path) -> None:
    x = Value(1.5, EVIL)
    f = x * 2
    f.label = EVIL_COMMENT
    steps = viz.step(f)
    assert EVIL in steps[0].caption  # "forward 1/3: input </script>... = 1.50"
    assert EVIL_COMMENT in steps[2].caption
    text = steps.save_html(tmp_path / "evil.html").read_text(encoding="utf-8")
    page = Page(text)
    assert [tag for tag, _ in page.tags].count("script") == 2  # the captions' JSON, the code
    assert text.count("<script") == 2 and text.lower().count("</script") == 2
    assert "<!--" not in text
    (json_text,) = [t for a, t in page.scripts if a.get("type") == "application/json"]
    assert "<" not in json_text  # no markup can start inside the JSON
    assert page.captions() == [frame.caption for frame in steps]  # intact, to the character
    assert "alert" not in page.scripts[-1][1]
    assert len(page.frames) == len(steps)
    # the labels show as text: in the first caption, the page title and every frame's drawing
    assert f'<div class="bpl-caption">{html.escape(steps[0].caption)}</div>' in text
    assert f"<title>{html.escape(EVIL_COMMENT)}</title>" in text
    for shown in page.frames:
        assert EVIL in shown["text"] and EVIL_COMMENT in shown["text"]
    assert_self_contained(text)


def test_the_player_script_moves_between_frames(copy: viz.Stepper) -> None:
    """Run the player's own script against a minimal DOM (with node, where installed)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the script is checked statically elsewhere")
    text = copy.html()
    page = Page(text)
    (player,) = page.find("div", "bpl-player")
    (json_text,) = [t for a, t in page.scripts if a.get("type") == "application/json"]
    program = page.scripts[-1][1]
    harness = """
const [id, captionsText, count, program] = JSON.parse(require("fs").readFileSync(0, "utf8"));
const frames = Array.from({length: count}, () => ({hidden: false}));
const parts = {".bpl-captions": {textContent: captionsText}, "input[type=range]": {value: "0"},
  ".bpl-counter": {textContent: ""}, ".bpl-caption": {textContent: ""},
  ".bpl-prev": {}, ".bpl-next": {}};
let onKey = null;
const root = {
  querySelectorAll: (s) => { if (s !== ".bpl-frame") throw new Error(s); return frames; },
  querySelector: (s) => { if (!(s in parts)) throw new Error(s); return parts[s]; },
  addEventListener: (type, f) => { if (type === "keydown") onKey = f; },
};
globalThis.document = {getElementById: (i) => (i === id ? root : null)};
(0, eval)(program);
const log = [];
const state = (what) => log.push({what, shown: frames.flatMap((f, i) => (f.hidden ? [] : [i])),
  slider: Number(parts["input[type=range]"].value), counter: parts[".bpl-counter"].textContent,
  caption: parts[".bpl-caption"].textContent});
const key = (k) => {
  let stopped = false;
  onKey({key: k, preventDefault: () => { stopped = true; }});
  return stopped;
};
state("start");
parts[".bpl-next"].onclick(); parts[".bpl-next"].onclick(); state("next twice");
parts[".bpl-prev"].onclick(); state("prev");
key("End"); state("End");
key("ArrowRight"); state("ArrowRight at the end");
key("ArrowLeft"); state("ArrowLeft");
parts[".bpl-prev"].onclick(); for (let i = 0; i < 20; i++) parts[".bpl-prev"].onclick();
state("prev past the start");
parts["input[type=range]"].value = "7"; parts["input[type=range]"].oninput(); state("slider 7");
const other = key("a"); key("Home"); state("Home");
console.log(JSON.stringify({log, other}));
"""
    done = subprocess.run(
        [node, "-e", harness],
        input=json.dumps([player["id"], html.unescape(json_text), len(copy), program]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    captions = [frame.caption for frame in copy]
    last = len(copy) - 1
    expected = [
        ("start", 0),
        ("next twice", 2),
        ("prev", 1),
        ("End", last),
        ("ArrowRight at the end", last),
        ("ArrowLeft", last - 1),
        ("prev past the start", 0),
        ("slider 7", 7),
        ("Home", 0),
    ]
    assert [(s["what"], s["slider"]) for s in result["log"]] == expected
    for state in result["log"]:
        k = state["slider"]
        assert state["shown"] == [k]  # exactly one frame visible
        assert state["counter"] == f"{k + 1} / {len(copy)}"
        assert state["caption"] == captions[k]
    assert result["other"] is False  # other keys are left to the page


def test_each_player_gets_its_own_id(copy: viz.Stepper) -> None:
    other = viz.step(lectures.xyz())
    ids = [Page(s.html()).find("div", "bpl-player")[0]["id"] for s in (copy, copy, other)]
    assert len(set(ids)) == 3
    # the ids also differ by content, so a notebook's old outputs (whose counter also started
    # at 0 in an earlier kernel) cannot capture a new player's controls
    assert ids[0].split("-")[1] == ids[1].split("-")[1] != ids[2].split("-")[1]


def test_player_html_needs_one_caption_per_frame() -> None:
    with pytest.raises(ValueError, match="one caption per frame"):
        player_html(["<svg/>"], ["a", "b"], "t")
    with pytest.raises(ValueError, match="at least one frame"):
        player_html([], [], "t")


def test_inline_svg_drops_the_prolog_comments_and_namespaces() -> None:
    svg = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
        ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        "<!-- Generated by graphviz\n -->\n"
        '<svg width="8pt" xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"><g><!-- n0 --><text>x</text></g></svg>\n'
    )
    assert inline_svg(svg) == '<svg width="8pt"><g><text>x</text></g></svg>'


# -- Jupyter ---------------------------------------------------------------------------------------


def same_player(a: str, b: str) -> bool:
    return PLAYER_ID.sub("ID", a) == PLAYER_ID.sub("ID", b)


def capture_display(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    display_module = pytest.importorskip("IPython.display")
    shown: list[Any] = []
    monkeypatch.setattr(display_module, "display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_repr_html_is_the_player(copy: viz.Stepper) -> None:
    text = copy._repr_html_()
    assert same_player(text, copy.html())
    assert len(Page(text).frames) == len(copy)
    assert not same_player(text, viz.step(lectures.xyz())._repr_html_())


def test_without_ipywidgets_jupyter_shows_the_html_player(
    copy: viz.Stepper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    shown = capture_display(monkeypatch)
    copy._ipython_display_()
    (obj,) = shown
    from IPython.display import HTML

    assert isinstance(obj, HTML)
    assert same_player(obj.data, copy.html())


class Widget:
    """Records what it was made with; ``observe`` keeps the callbacks."""

    def __init__(self, *children: Any, **kwargs: Any) -> None:
        self.children = children[0] if children else ()
        self.__dict__.update(kwargs)
        self.observers: list[tuple[Callable[[dict[str, Any]], None], Any]] = []

    def observe(self, callback: Callable[[dict[str, Any]], None], names: Any = None) -> None:
        self.observers.append((callback, names))


def fake_ipywidgets() -> tuple[types.ModuleType, list[Any]]:
    module = types.ModuleType("ipywidgets")
    links: list[Any] = []
    for name in ("IntSlider", "Play", "Label", "HTML", "VBox", "HBox"):
        setattr(module, name, type(name, (Widget,), {}))
    module.jslink = lambda a, b: links.append((a, b))  # type: ignore[attr-defined]
    return module, links


def test_with_ipywidgets_jupyter_shows_a_slider(
    copy: viz.Stepper, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, links = fake_ipywidgets()
    monkeypatch.setitem(sys.modules, "ipywidgets", module)
    shown = capture_display(monkeypatch)
    copy._ipython_display_()
    (box,) = shown
    assert type(box).__name__ == "VBox"
    controls, caption, picture = box.children
    play, slider = controls.children
    assert (slider.min, slider.max, slider.value) == (0, len(copy) - 1, 0)
    assert (play.min, play.max) == (0, len(copy) - 1)
    assert links == [((play, "value"), (slider, "value"))]
    assert (caption.value, picture.value) == (copy[0].caption, inline_svg(copy[0].svg()))
    ((callback, names),) = slider.observers
    assert names == "value"
    for k in (7, 3, len(copy) - 1):
        callback({"new": k, "old": 0, "name": "value"})
        assert (caption.value, picture.value) == (copy[k].caption, inline_svg(copy[k].svg()))

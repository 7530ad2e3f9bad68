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
    """Every start tag with its attributes, each <script>'s text, and the picture's text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.styles: list[str] = []
        self.pictures: list[dict[str, Any]] = []
        self._in: str | None = None
        self._depth = 0  # open <div>s inside the picture
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
            if self._depth:
                self._depth += 1
            elif "bpl-picture" in (attributes.get("class") or "").split():
                self._depth = 1
                self.pictures.append({"text": [], "svgs": 0})
        if tag == "svg" and self._depth:
            self.pictures[-1]["svgs"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = None
        if tag == "div" and self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            attributes, text = self.scripts[-1]
            self.scripts[-1] = (attributes, text + data)
        elif self._in == "style":
            self.styles.append(data)
        elif self._depth:
            self.pictures[-1]["text"].append(data.strip())

    def data(self) -> dict[str, Any]:
        (text,) = [t for a, t in self.scripts if a.get("type") == "application/json"]
        data: dict[str, Any] = json.loads(text)
        return data

    def captions(self) -> list[str]:
        captions: list[str] = self.data()["captions"]
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
    # one picture for all frames, showing the first; each frame is its changes to it
    # (21: the staged neuron's 13 drawn nodes and 8 gates; its constants are in their gates)
    (picture,) = page.pictures
    assert picture["svgs"] == 1
    assert "1.37" not in picture["text"] and "?" in picture["text"]  # frame 1: one value
    data = page.data()
    assert len(data["frames"]) == len(steps) == 21
    assert page.captions() == [frame.caption for frame in steps]
    assert "backward 3/8: exp gate sends upstream × local: -0.53 × 0.37 = -0.20 to -1.00" in (
        page.captions()
    )
    # the caption is above the picture, not in it (where a narrow window would cut it)
    assert steps[0].caption not in picture["text"]
    # controls: previous, play, next, a slider counting frames from 1, a fit toggle
    for cls in ("bpl-prev", "bpl-play", "bpl-next", "bpl-fit"):
        assert len(page.find("button", cls)) == 1, cls
    (slider,) = page.find("input", "bpl-slider")
    assert (slider["type"], slider["min"], slider["max"], slider["value"]) == (
        "range",
        "1",
        "21",
        "1",
    )
    (player,) = page.find("div", "bpl-player")
    assert player["tabindex"] == "0" and player["data-frame"] == "1"
    script = page.scripts[-1][1]
    for key in ("ArrowLeft", "ArrowRight", "Home", "End", '" "', "keydown"):
        assert key in script, key
    assert f'getElementById("{player["id"]}")' in script
    assert len(page.scripts) == 2
    assert "<title>f</title>" in text


def test_without_its_script_the_player_is_a_caption_and_a_note(copy: viz.Stepper) -> None:
    # JupyterLab's sanitiser (an untrusted notebook) drops the SVG but keeps its text, and
    # drops a bare `hidden` attribute but keeps hidden="hidden": the script reveals them
    text = copy._repr_html_()
    assert text.count('" hidden="hidden">') == 2
    for cls in ("bpl-controls", "bpl-picture"):
        (div,) = Page(text).find("div", cls)
        assert div["hidden"] == "hidden"
    (note,) = Page(text).find("div", "bpl-note")
    assert "hidden" not in note
    assert "trust the notebook" in text


def test_the_player_is_far_smaller_than_its_frames() -> None:
    steps = viz.step(lectures.small_mlp())
    one = len(steps[0].svg().encode("utf-8"))
    player = len(steps.html().encode("utf-8"))
    assert player < 2 * one < len(steps) * one / 10


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
    # the labels show as text: in the first caption, the page title and the drawing
    assert f'<div class="bpl-caption">{html.escape(steps[0].caption)}</div>' in text
    assert f"<title>{html.escape(EVIL_COMMENT)}</title>" in text
    (picture,) = page.pictures
    assert EVIL in picture["text"]
    last = steps[-1].svg()
    assert html.escape(EVIL, quote=False) in last and EVIL not in last
    assert_self_contained(text)


def test_a_lone_surrogate_in_a_label_saves(tmp_path: Path) -> None:
    x = Value(2.0, "a\ud800b")
    f = x * x
    text = viz.step(f).save_html(tmp_path / "s.html").read_text(encoding="utf-8")
    assert "a\N{REPLACEMENT CHARACTER}b" in text


def test_each_player_gets_its_own_id(copy: viz.Stepper) -> None:
    other = viz.step(lectures.xyz())
    ids = [str(Page(s.html()).find("div", "bpl-player")[0]["id"]) for s in (copy, copy, other)]
    assert len(set(ids)) == 3
    # the ids also differ by content, so a notebook's old outputs (whose counter also started
    # at 0 in an earlier kernel) cannot capture a new player's controls
    assert ids[0].split("-")[1] == ids[1].split("-")[1] != ids[2].split("-")[1]


def test_player_html_needs_one_caption_per_frame() -> None:
    with pytest.raises(ValueError, match="one caption per frame"):
        player_html("<svg/>", [(None, {})], {}, ["a", "b"], "t")
    with pytest.raises(ValueError, match="at least one frame"):
        player_html("<svg/>", [], {}, [], "t")


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
    assert not text.startswith("<!DOCTYPE")  # a notebook output, not a page
    assert same_player(text, copy.player(fragment=True))
    assert PLAYER_ID.sub("ID", text) in PLAYER_ID.sub("ID", copy.html())
    assert not same_player(text, viz.step(lectures.xyz())._repr_html_())
    assert not hasattr(copy, "_ipython_display_")  # the HTML works where a widget cannot

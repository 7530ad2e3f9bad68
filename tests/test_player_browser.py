"""The step-through player in a real browser: headless Chromium driven by Selenium.

tests/test_player.py reads the player's HTML as text; this file runs its script, as a lecture
hall's browser does. The player embeds one SVG and changes its texts and its highlighted gate
from frame to frame, so what is checked here is what a student sees: the frame counter, the
caption, every text of the picture (against a full render of the same frame), the highlighted
gate, a picture that stays put, the slider, play/pause, fitting into a laptop's window, and a
page that logs no errors and fetches nothing.

The browser is Debian's (``apt-get install chromium chromium-driver``, which ``.ci/run`` does)
and ``selenium`` comes with the dev extra; nothing is downloaded. One browser session serves
the whole module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

import viz
from autograd import Value
from viz import lectures
from viz.style import HIGHLIGHT_FILL

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.chrome.webdriver import WebDriver as Chrome
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
except ImportError:
    pytest.skip(
        "selenium is not installed: pip install selenium (it is in the dev extra)",
        allow_module_level=True,
    )

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    _missing = " and ".join(
        name
        for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
        if path is None
    )
    pytest.skip(
        f"{_missing} not found: apt-get install chromium chromium-driver (CI installs them)",
        allow_module_level=True,
    )

#: A small laptop's screen; the window's viewport is smaller still (about 1366 x 625).
WINDOW = (1366, 768)
#: The player advances one frame per ~0.9 s while playing.
PLAY_INTERVAL = 0.9
SHOTS = Path(os.environ.get("BACKPROP_LAB_SHOTS", "/tmp/player_shots"))
SVG = "{http://www.w3.org/2000/svg}"
# The only URLs an SVG may carry are its namespace names, which are never fetched.
NAMESPACE_URLS = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")
GATE_ID = re.compile(r"n\d+")  # a node of the graph; "n0_n2_0" is an edge's label box

# Everything the page shows, in one round trip (an assertion's message then shows it all).
STATE_JS = """
const highlightFill = arguments[0];
const root = document.querySelector("div.bpl-player");
const one = (selector) => root.querySelector(selector);
const text = (selector) => { const e = one(selector); return e ? e.textContent : null; };
const slider = one("input.bpl-slider[type=range]");
const picture = one("div.bpl-picture");
const svgs = picture ? picture.querySelectorAll("svg") : [];
return {
  frame: root.getAttribute("data-frame"),
  tabindex: root.getAttribute("tabindex"),
  counter: text("span.bpl-counter"),
  caption: text("div.bpl-caption"),
  play: text("button.bpl-play"),
  slider: slider ? [slider.min, slider.max, slider.value] : null,
  svgs: svgs.length,
  texts: svgs.length ? Array.from(svgs[0].querySelectorAll("text"), (t) => t.textContent) : [],
  current: Array.from(
    root.querySelectorAll("div.bpl-picture svg g.node.bpl-current"),
    (g) => { const t = g.querySelector("title"); return t ? t.textContent : null; }),
  ...(svgs.length ? drawing(svgs[0]) : {}),
};

// As drawn_by_graphviz reads Graphviz's SVG: per node or edge (by its title), each text
// element's y and spans (text, colour); the caption's lines; the nodes in the highlight fill.
function drawing(svg) {
  const graph = svg.querySelector("g");
  const groups = {}, lit = [];
  for (const g of svg.querySelectorAll("g.node, g.edge")) {
    const title = g.querySelector(":scope > title");
    if (!title) { continue; }
    groups[title.textContent] = Array.from(g.querySelectorAll("text"), (t) => {
      const spans = t.querySelectorAll("tspan");
      return [t.getAttribute("y"), Array.from(spans.length ? spans : [t], (span) =>
        [span.textContent, span.getAttribute("fill") || t.getAttribute("fill") || "#000000"])];
    });
    if (g.matches("g.node") && Array.from(g.querySelectorAll("[fill]")).some(
        (e) => e.tagName !== "text" && e.tagName !== "tspan"
               && e.getAttribute("fill").toLowerCase() === highlightFill)) {
      lit.push(title.textContent);
    }
  }
  const captionLines = Array.from(graph.children).filter((e) => e.tagName === "text")
    .map((t) => t.textContent);
  return {groups: groups, captionLines: captionLines, lit: lit};
}
"""

RECTS_JS = """
const svg = document.querySelector("div.bpl-player div.bpl-picture svg");
const box = (e) => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.width, r.height].map((x) => Math.round(x * 100)); };
const nodes = {};
for (const g of svg.querySelectorAll("g.node")) {
  const t = g.querySelector("title");
  if (t && arguments[0].includes(t.textContent)) { nodes[t.textContent] = box(g); }
}
return {svg: box(svg), nodes: nodes, scroll: [window.scrollX, window.scrollY]};
"""


# Per node or edge (by its DOT name): its lines of text, each as (text, colours of its spans).
Lines = dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class Drawn:
    """What Graphviz draws for one frame, from the frame's own DOT (no player involved)."""

    lines: Lines
    caption: list[str]
    lit: list[str]


@dataclass(frozen=True)
class Player:
    name: str
    stepper: viz.Stepper
    path: Path
    drawn: dict[int, Drawn] = field(default_factory=dict, compare=False)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def __len__(self) -> int:
        return len(self.stepper)

    def graphviz(self, frame: int) -> Drawn:
        """Frame ``frame`` (from 1) as Graphviz draws it from its own DOT (rendered once)."""
        if frame not in self.drawn:
            svg = viz.render(self.stepper[frame - 1].source, "svg").decode("utf-8")
            self.drawn[frame] = drawn_by_graphviz(svg)
        return self.drawn[frame]


def _markup_graph() -> Value:
    """Labels that are markup: in the player they must be text, never elements."""
    a = Value(1.0, label="<script>alert(1)</script>")
    b = Value(2.0, label="<img src=x onerror=alert(2)>")
    f = a * b
    f.label = "f"
    return f


@pytest.fixture(scope="module")
def players(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Player]:
    directory = tmp_path_factory.mktemp("players")
    graphs = {
        "sigmoid_neuron": lectures.sigmoid_neuron_staged(),
        "mlp": lectures.small_mlp(),
        "markup": _markup_graph(),
    }
    made = {}
    for name, root in graphs.items():
        stepper = viz.step(root)
        made[name] = Player(name, stepper, stepper.save_html(directory / f"{name}.html"))
    return made


@pytest.fixture(scope="module")
def driver() -> Iterator[Chrome]:
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root in a container, where the sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers' /dev/shm is small: crashes, not errors
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    # The console (errors) and the DevTools Network events (fetches), read after every test.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        browser.set_window_size(*WINDOW)
        yield browser
    finally:
        browser.quit()


def _log(driver: Chrome, kind: str) -> list[dict[str, Any]]:
    """The entries of a log since the last call (reading empties it); selenium leaves
    ``get_log`` untyped."""
    get_log = cast("Callable[[str], list[dict[str, Any]]]", driver.get_log)
    return get_log(kind)


def _severe(driver: Chrome) -> list[dict[str, Any]]:
    return [entry for entry in _log(driver, "browser") if entry["level"] == "SEVERE"]


def _requests(driver: Chrome) -> list[str]:
    """The URLs the page asked for since the last call (DevTools Network.requestWillBeSent)."""
    urls = []
    for entry in _log(driver, "performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.fixture(autouse=True)
def clean_page(driver: Chrome, players: dict[str, Player]) -> Iterator[None]:
    """Every test, whatever it does: no console error, and no request but the player files."""
    _severe(driver)  # start from empty logs
    _requests(driver)
    yield
    assert _severe(driver) == []
    own = {player.url for player in players.values()}
    assert [url for url in _requests(driver) if url not in own] == []


def load(driver: Chrome, player: Player) -> None:
    """Open the player's file and give its root the keyboard focus."""
    driver.get(player.url)
    root = driver.find_element(By.CSS_SELECTOR, "div.bpl-player")
    driver.execute_script("arguments[0].focus();", root)


def state(driver: Chrome) -> dict[str, Any]:
    shown: dict[str, Any] = driver.execute_script(STATE_JS, HIGHLIGHT_FILL.lower())
    return shown


def press(driver: Chrome, key: str) -> dict[str, Any]:
    """A key on the focused player root, then what the page shows."""
    ActionChains(driver).send_keys(key).perform()
    return state(driver)


def click(driver: Chrome, selector: str) -> dict[str, Any]:
    driver.find_element(By.CSS_SELECTOR, f"div.bpl-player {selector}").click()
    return state(driver)


def go_to(driver: Chrome, frame: int) -> dict[str, Any]:
    """Move the slider to ``frame`` as a drag does: set its value, fire "input"."""
    driver.execute_script(
        "const s = document.querySelector('div.bpl-player input.bpl-slider');"
        "s.value = arguments[0]; s.dispatchEvent(new Event('input', {bubbles: true}));",
        frame,
    )
    return state(driver)


def _clean(text: str) -> str:
    return text.strip(" \u00a0")


def _lines(texts: list[tuple[str | None, list[tuple[str, str]]]]) -> list[tuple[str, str]]:
    """Text elements (y, spans) as lines: the spans at one height joined, top to bottom, with
    the colours of the spans that show something. Blank lines are left out: the picture keeps
    a slot for every line a label ever has, Graphviz draws only the lines it has now."""
    rows: dict[float, list[tuple[str, str]]] = {}
    for y, spans in texts:
        rows.setdefault(round(float(y or 0), 1), []).extend(spans)
    lines = []
    for _, spans in sorted(rows.items()):
        text = _clean("".join(t for t, _ in spans))
        if text:
            lines.append((text, ",".join(c for t, c in spans if _clean(t))))
    return lines


def drawn_by_graphviz(svg: str) -> Drawn:
    root = ET.fromstring(svg)
    graph = root.find(f"{SVG}g")
    assert graph is not None
    lines: Lines = {}
    lit = []
    for group in root.iter(f"{SVG}g"):
        kind = (group.get("class") or "").split()[:1]
        title = group.find(f"{SVG}title")
        if kind not in (["node"], ["edge"]) or title is None or title.text is None:
            continue
        texts = []
        for text in group.iter(f"{SVG}text"):
            spans = list(text.iter(f"{SVG}tspan")) or [text]
            colour = text.get("fill") or "#000000"
            texts.append(
                (
                    text.get("y"),
                    [("".join(span.itertext()), span.get("fill") or colour) for span in spans],
                )
            )
        lines[title.text] = _lines(texts)
        shapes = [e for e in group.iter() if e.tag not in (f"{SVG}text", f"{SVG}tspan")]
        if kind == ["node"] and any(
            (e.get("fill") or "").lower() == HIGHLIGHT_FILL.lower() for e in shapes
        ):
            lit.append(title.text)
    caption = [_clean("".join(t.itertext())) for t in graph.findall(f"{SVG}text")]
    return Drawn(lines, [line for line in caption if line], lit)


def label_texts(shown: dict[str, Any]) -> set[str]:
    """Every line of text of the picture's nodes and edges, as the browser shows them."""
    return {
        text
        for texts in shown["groups"].values()
        for text, _ in _lines([(y, [(t, c) for t, c in spans]) for y, spans in texts])
    }


def summary(shown: dict[str, Any]) -> str:
    """What the page shows, short enough for an assertion's message (texts counted)."""
    brief = {k: v for k, v in shown.items() if k not in ("texts", "groups", "captionLines")}
    return f"page shows {brief}, {len(shown['texts'])} svg texts"


def assert_shows(shown: dict[str, Any], player: Player, frame: int) -> None:
    """The page shows frame ``frame`` (from 1) as the stepper made it, and its picture shows
    what Graphviz draws from that frame's own DOT: every node's and edge's lines of text (in
    their colours), the highlighted node, and the caption (which the player writes above the
    picture; in the picture its lines are blank, or the caption's)."""
    expected = player.stepper[frame - 1]
    n = len(player)
    wanted = {
        "frame": str(frame),
        "counter": f"{frame} / {n}",
        "caption": expected.caption,
        "slider": ["1", str(n), str(frame)],
        "svgs": 1,
        "current": [expected.trace.highlight],
    }
    wrong = {key: value for key, value in wanted.items() if shown.get(key) != value}
    assert not wrong, f"{player.name} frame {frame}: expected {wrong}; {summary(shown)}"
    drawn = player.graphviz(frame)
    where = f"{player.name} frame {frame}"
    assert " ".join(drawn.caption) == expected.caption, f"{where}: Graphviz's caption {drawn}"
    in_browser: Lines = {
        title: _lines([(y, [(t, c) for t, c in spans]) for y, spans in texts])
        for title, texts in shown["groups"].items()
    }
    differ = {
        title: {"browser": in_browser.get(title), "graphviz": drawn.lines.get(title)}
        for title in sorted(in_browser.keys() | drawn.lines.keys())
        if in_browser.get(title) != drawn.lines.get(title)
    }
    assert not differ, (
        f"{where}: {len(differ)} labels differ, e.g. {dict(list(differ.items())[:3])}"
    )
    assert shown["lit"] == drawn.lit == [expected.trace.highlight], (
        f"{where}: filled with the highlight colour: browser {shown['lit']}, Graphviz {drawn.lit}"
    )
    caption_lines = [_clean(line) for line in shown["captionLines"]]
    assert caption_lines in ([""] * len(caption_lines), drawn.caption), (
        f"{where}: the picture's caption lines {caption_lines}, Graphviz's {drawn.caption}"
    )


BOTH = pytest.mark.parametrize("name", ["sigmoid_neuron", "mlp"])


# -- (a) it opens at frame 1 --------------------------------------------------------------------


@BOTH
def test_opens_at_the_first_frame(driver: Chrome, players: dict[str, Player], name: str) -> None:
    player = players[name]
    load(driver, player)
    shown = state(driver)
    assert shown["tabindex"] == "0", summary(shown)
    assert player.stepper[0].caption.startswith("forward 1/")
    assert_shows(shown, player, 1)


# -- (b) buttons and keys move between frames; every frame is its full render ------------------


@BOTH
def test_next_and_the_keys(driver: Chrome, players: dict[str, Player], name: str) -> None:
    player, n = players[name], len(players[name])
    load(driver, player)
    first = state(driver)
    second = click(driver, "button.bpl-next")
    assert_shows(second, player, 2)
    assert second["texts"] != first["texts"], "the picture's texts did not change"
    if player.stepper[0].trace.highlight != player.stepper[1].trace.highlight:
        assert second["current"] != first["current"], (first["current"], second["current"])

    load(driver, player)  # the keys, on the focused root
    assert_shows(press(driver, Keys.ARROW_RIGHT), player, 2)
    assert_shows(press(driver, Keys.ARROW_LEFT), player, 1)
    assert_shows(press(driver, Keys.ARROW_LEFT), player, 1)  # no frame 0
    last = press(driver, Keys.END)
    assert player.stepper[-1].caption == player.stepper[n - 1].caption
    assert_shows(last, player, n)
    assert_shows(press(driver, Keys.ARROW_RIGHT), player, n)  # no frame n + 1
    assert_shows(press(driver, Keys.HOME), player, 1)
    assert_shows(click(driver, "button.bpl-prev"), player, 1)


@BOTH
def test_every_frame_is_its_full_render(
    driver: Chrome, players: dict[str, Player], name: str
) -> None:
    """Walking forward frame by frame, each frame's texts and highlighted gate are those of
    ``stepper[k].svg()``; and walking back gets them back (no change is one-way)."""
    player, n = players[name], len(players[name])
    load(driver, player)
    assert_shows(state(driver), player, 1)
    for frame in range(2, n + 1):
        assert_shows(press(driver, Keys.ARROW_RIGHT), player, frame)
    for frame in range(n - 1, 0, -1):
        assert_shows(press(driver, Keys.ARROW_LEFT), player, frame)


# -- (c) nothing moves ----------------------------------------------------------------------------


@BOTH
def test_the_picture_does_not_move(driver: Chrome, players: dict[str, Player], name: str) -> None:
    player, n = players[name], len(players[name])
    gates = [node.id for node in player.stepper[0].trace.nodes if GATE_ID.fullmatch(node.id)]
    watched = [gates[0], gates[len(gates) // 2], gates[-1]]
    load(driver, player)
    first: dict[str, Any] | None = None
    for frame in (1, 2, n, 1):
        shown = go_to(driver, frame)
        assert shown["frame"] == str(frame), summary(shown)
        rects = driver.execute_script(RECTS_JS, watched)
        if first is None:
            first = rects
            assert sorted(rects["nodes"]) == sorted(watched), rects
        assert rects == first, f"frame {frame} moved: {first} -> {rects}"


# -- (d) the slider -------------------------------------------------------------------------------


def test_the_slider(driver: Chrome, players: dict[str, Player]) -> None:
    player, n = players["sigmoid_neuron"], len(players["sigmoid_neuron"])
    load(driver, player)
    k = n // 2 + 1
    assert_shows(go_to(driver, k), player, k)
    assert_shows(click(driver, "button.bpl-next"), player, k + 1)  # the slider follows
    assert_shows(go_to(driver, n), player, n)
    assert_shows(go_to(driver, 1), player, 1)


# -- (e) play and pause ---------------------------------------------------------------------------


def _frame(driver: Chrome) -> int:
    return int(state(driver)["frame"])


def test_play_and_pause(driver: Chrome, players: dict[str, Player]) -> None:
    player, n = players["sigmoid_neuron"], len(players["sigmoid_neuron"])
    load(driver, player)
    paused = state(driver)
    assert "▶" in paused["play"] and "pause" not in paused["play"], summary(paused)
    playing = click(driver, "button.bpl-play")
    assert "pause" in playing["play"], summary(playing)
    time.sleep(2.5)
    shown = click(driver, "button.bpl-play")  # pause
    assert "▶" in shown["play"], summary(shown)
    assert 3 <= int(shown["frame"]) <= 4, f"2.5 s of play from frame 1: {shown}"
    assert_shows(shown, player, int(shown["frame"]))
    time.sleep(1.5 * PLAY_INTERVAL)
    assert state(driver)["frame"] == shown["frame"], "it went on playing after the pause"

    # Space on the focused root plays and pauses too.
    load(driver, player)
    assert "pause" in press(driver, " ")["play"]
    time.sleep(1.3 * PLAY_INTERVAL)
    shown = press(driver, " ")
    assert "▶" in shown["play"] and shown["frame"] in ("2", "3"), summary(shown)

    # Playing stops at the last frame.
    go_to(driver, n - 1)
    click(driver, "button.bpl-play")
    time.sleep(2.5 * PLAY_INTERVAL)
    shown = state(driver)
    assert shown["frame"] == str(n) and "▶" in shown["play"], summary(shown)
    assert_shows(shown, player, n)


# -- (f) fitting a laptop's window, and screenshots ----------------------------------------------

GEOMETRY_JS = """
window.scrollTo(0, 0);
const svg = document.querySelector("div.bpl-player div.bpl-picture svg");
const r = svg.getBoundingClientRect();
const page = document.documentElement;
return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,
        viewport: [window.innerWidth, window.innerHeight],
        scroll: [page.scrollWidth, page.clientWidth]};
"""


def _fits(geometry: dict[str, Any]) -> bool:
    width, height = geometry["viewport"]
    return bool(
        geometry["left"] >= 0
        and geometry["top"] >= 0
        and geometry["right"] <= width
        and geometry["bottom"] <= height
        and geometry["scroll"][0] <= geometry["scroll"][1]  # no horizontal scrolling
    )


def natural_width(svg: str) -> float:
    """The width an SVG document asks for, in CSS pixels (Graphviz writes points)."""
    width = ET.fromstring(svg).get("width", "")
    match = re.fullmatch(r"([\d.]+)(pt|px)?", width)
    assert match, width
    return float(match[1]) * (4 / 3 if match[2] == "pt" else 1)


@BOTH
def test_fit_and_natural_size(driver: Chrome, players: dict[str, Player], name: str) -> None:
    """In one mode of the fit button the whole picture is in a 1366 x 768 window; in the other
    it has its natural size. Screenshots of both go to /tmp/player_shots/ to look at."""
    player = players[name]
    driver.set_window_size(*WINDOW)
    load(driver, player)
    # A backward frame a little into the pass: a gate is highlighted, its edges have numbers.
    kinds = [frame.kind for frame in player.stepper]
    shot_frame = kinds.index("backward") + 3
    go_to(driver, shot_frame)
    before = driver.execute_script(GEOMETRY_JS)
    click(driver, "button.bpl-fit")
    after = driver.execute_script(GEOMETRY_JS)
    assert before["width"] != after["width"], f"the fit button changed nothing: {after}"
    fitted, natural = (before, after) if _fits(before) else (after, before)
    assert _fits(fitted), f"neither mode fits the window: {before} / {after}"
    assert abs(natural["width"] - natural_width(player.stepper[0].svg())) < 1, natural

    SHOTS.mkdir(parents=True, exist_ok=True)
    for _ in range(2):  # each mode once, in the order they come, back to the first
        mode = "fit" if _fits(driver.execute_script(GEOMETRY_JS)) else "natural"
        go_to(driver, shot_frame)  # measuring scrolled to the top: let the player scroll back
        assert driver.save_screenshot(str(SHOTS / f"{name}_{mode}_frame{shot_frame}.png"))
        click(driver, "button.bpl-fit")
    assert driver.execute_script(GEOMETRY_JS) == after, "two clicks did not toggle back"
    assert_shows(state(driver), player, shot_frame)  # fitting does not change the frame


# -- (g) no console errors, nothing fetched -------------------------------------------------------


@BOTH
def test_nothing_is_fetched_and_nothing_logged(
    driver: Chrome, players: dict[str, Player], name: str
) -> None:
    player = players[name]
    page = player.path.read_text(encoding="utf-8").lower()
    for url in NAMESPACE_URLS:
        page = page.replace(url, "")
    assert "http://" not in page and "https://" not in page

    load(driver, player)
    click(driver, "button.bpl-next")
    press(driver, Keys.END)
    click(driver, "button.bpl-fit")
    go_to(driver, 2)
    click(driver, "button.bpl-play")
    time.sleep(PLAY_INTERVAL + 0.2)
    click(driver, "button.bpl-play")
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name);"
    )
    assert resources == []
    assert _requests(driver) == [player.url]  # DevTools: the page itself, nothing else
    assert _severe(driver) == []


# -- (h) markup in a label is text ----------------------------------------------------------------


def _no_alert(driver: Chrome) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 (the property's getter is the check)


def test_markup_in_a_label_is_text(driver: Chrome, players: dict[str, Player]) -> None:
    player, n = players["markup"], len(players["markup"])
    load(driver, player)
    _no_alert(driver)
    shown = state(driver)
    assert_shows(shown, player, 1)
    assert shown["caption"].endswith("<script>alert(1)</script> = 1.00"), summary(shown)
    assert "<script>alert(1)</script>" in label_texts(shown), summary(shown)
    for frame in range(2, n + 1):
        assert_shows(press(driver, Keys.ARROW_RIGHT), player, frame)
        _no_alert(driver)
    assert "<img src=x onerror=alert(2)>" in label_texts(state(driver))
    assert driver.execute_script("return document.querySelectorAll('img').length;") == 0

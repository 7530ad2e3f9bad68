"""The step-through player in a notebook exported to HTML (``jupyter nbconvert --to html``).

A lecturer sends students an executed notebook as one HTML file; the player must survive the
export: its picture, its frames (a JSON block) and its script, once per stepper, and the script
must run in the exported page. A tiny notebook is executed and exported here with nbconvert's
own classes, as the ``jupyter nbconvert --to html --execute`` command does.

nbconvert is not in the dev extra (nbmake executes notebooks with nbclient, not nbconvert), so
these tests skip, with the reason, where it is missing. The browser check also needs selenium and
Debian's chromium + chromium-driver, as tests/test_player_browser.py does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import viz
from viz import lectures

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (nbmake needs it)")
nbconvert = pytest.importorskip(
    "nbconvert",
    reason="nbconvert is not installed: pip install nbconvert (it is not in the dev extra)",
)
from nbconvert import HTMLExporter  # noqa: E402
from nbconvert.preprocessors import ExecutePreprocessor  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SOURCE = "import viz\nfrom viz import lectures\nviz.step(lectures.xyz())"
FRAMES = len(viz.step(lectures.xyz()))  # 5 nodes forward, 2 gates backward


@dataclass
class Script:
    attrs: dict[str, str | None]
    text: str = ""
    in_player: bool = False


class Page(HTMLParser):
    """What the exported page holds that the player needs: its divs, scripts and inline SVG."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.players: list[dict[str, str | None]] = []
        self.scripts: list[Script] = []
        self.counters: list[str] = []
        self.svgs_in_player = 0
        self._depth = 0  # open <div>s inside the player (0: outside it)
        self._script: Script | None = None
        self._counter: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        if tag == "div" and "bpl-player" in classes:
            self.players.append(named)
            self._depth = 1
        elif tag == "div" and self._depth:
            self._depth += 1
        if tag == "svg" and self._depth:
            self.svgs_in_player += 1
        if tag == "span" and "bpl-counter" in classes:
            self._counter = []
        if tag == "script":
            self._script = Script(named, in_player=self._depth > 0)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._depth -= 1
        if tag == "span" and self._counter is not None:
            self.counters.append("".join(self._counter))
            self._counter = None
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.text += data
        if self._counter is not None:
            self._counter.append(data)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny notebook, executed (kernel started in the repository, so ``import viz`` finds
    this checkout) and exported as one HTML file."""
    folder = tmp_path_factory.mktemp("export")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SOURCE)]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    (folder / "tiny.ipynb").write_text(nbformat.writes(notebook), encoding="utf-8")
    ExecutePreprocessor(timeout=60, kernel_name="python3").preprocess(  # type: ignore[no-untyped-call]
        notebook, {"metadata": {"path": str(REPO)}}
    )
    errors = [o for o in notebook.cells[0].outputs if o.get("output_type") == "error"]
    assert errors == [], errors
    body, _ = HTMLExporter().from_notebook_node(notebook)  # type: ignore[no-untyped-call]
    page = folder / "tiny.html"
    page.write_text(body, encoding="utf-8")
    return page


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_one_player_with_its_picture_frames_and_script(exported: Path) -> None:
    page = parse(exported)
    assert len(page.players) == 1, page.players
    player_id = page.players[0].get("id")
    assert player_id and player_id.startswith("bpl-")
    assert page.svgs_in_player == 1
    assert page.counters == [f"1 / {FRAMES}"]

    data = [
        s
        for s in page.scripts
        if s.attrs.get("type") == "application/json"
        and "bpl-data" in (s.attrs.get("class") or "").split()
    ]
    assert len(data) == 1 and data[0].in_player
    payload = json.loads(data[0].text)
    assert len(payload["frames"]) == len(payload["captions"]) == FRAMES
    assert payload["captions"][0].startswith("forward 1/5")

    code = [s for s in page.scripts if f'getElementById("{player_id}")' in s.text]
    assert len(code) == 1
    assert code[0].attrs.get("type") in (None, "text/javascript")
    # the player fetches nothing: no address in its data or its code (nbconvert's template may
    # load require.js and MathJax from a CDN; that is the template's, outside the player)
    assert "http" not in data[0].text and "http" not in code[0].text


# -- in a browser -----------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (it is in the dev extra)"
    )
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("chromium or chromedriver not found: apt-get install chromium chromium-driver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1366,768",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    # The template's CDN scripts are refused at once, so the test neither waits on a network
    # that a CI box may not have nor depends on one.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
    try:
        yield driver
    finally:
        driver.quit()


def test_the_exported_player_plays(exported: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    driver.get(exported.as_uri())
    root = driver.find_element(By.CSS_SELECTOR, "div.bpl-player")
    counter = root.find_element(By.CSS_SELECTOR, ".bpl-counter")
    caption = root.find_element(By.CSS_SELECTOR, ".bpl-caption")
    assert counter.text == f"1 / {FRAMES}"
    first_caption = caption.text
    root.find_element(By.CSS_SELECTOR, ".bpl-next").click()
    WebDriverWait(driver, 5).until(lambda _: counter.text == f"2 / {FRAMES}")
    assert caption.text != first_caption and caption.text.startswith("forward 2/5")
    assert root.get_attribute("data-frame") == "2"
    # The only console errors allowed are the template's blocked CDN scripts.
    errors = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "ERR_BLOCKED_BY_CLIENT" not in entry["message"]
    ]
    assert errors == []
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    template_scripts = {s.attrs.get("src") for s in parse(exported).scripts if s.attrs.get("src")}
    assert set(fetched) <= template_scripts, fetched

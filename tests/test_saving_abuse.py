"""The savers under abuse (issue 10): the smallest and an absurdly large graph, paths that cannot
be written, folders that are not ours, labels full of markup, and saves killed with SIGKILL.

Every failure must name the path and leave no partial file; a killed save must leave the
previous set of frames or the new one, whole, and the next save must clear what it left.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import viz
from autograd import Value
from nn.files import write_atomically
from viz.stepper import Stepper

render_module = importlib.import_module("viz.render")
layout_module = importlib.import_module("viz.layout")
diagram_module = importlib.import_module("viz.diagram")

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

needs_renderer = pytest.mark.skipif(
    not viz.available_renderers(),
    reason="no Graphviz renderer (system dot or graphviz-pure) installed",
)
needs_video = pytest.mark.skipif(
    importlib.util.find_spec("PIL") is None or importlib.util.find_spec("imageio") is None,
    reason='GIFs need pip install "backprop-lab[video]"',
)

#: What the savers leave beside a target while they work (see nn.files).
LEFTOVER = re.compile(r"\..*\.(tmp|saving|old)-\d+-")


def everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if LEFTOVER.match(p.name)]


# -- the smallest and the largest graphs -------------------------------------------------------


@needs_renderer
def test_a_single_leaf_draws_and_steps(tmp_path: Path) -> None:
    x = Value(1.0, "x")
    diagram = viz.draw(x)
    assert diagram.save(tmp_path / "x.svg").stat().st_size > 0
    stepper = viz.step(x)
    assert len(stepper) == 1
    assert stepper[0].kind == "forward"
    assert stepper.save_html(tmp_path / "x.html").stat().st_size > 0
    assert [p.name for p in stepper.save_frames(tmp_path / "frames")] == ["frame_001.svg"]
    beamer = stepper.save_beamer(tmp_path / "x.tex").read_text(encoding="utf-8")
    assert "\\only<1>" in beamer and "\\only<2>" not in beamer


@pytest.fixture
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("Graphviz was called")

    monkeypatch.setattr(render_module, "_run_graphviz", fail)
    monkeypatch.setattr(layout_module, "render", fail)
    monkeypatch.setattr(diagram_module, "render", fail)


@pytest.fixture(scope="module")
def huge() -> Value:
    """100,001 nodes: x + 1 + 1 + ... (50,000 additions and their constants)."""
    x = Value(1.0)
    for _ in range(50_000):
        x = x + 1.0
    return x


@pytest.mark.usefixtures("no_graphviz")
@pytest.mark.parametrize("make", [viz.draw, viz.step], ids=["draw", "step"])
def test_a_graph_of_100_000_nodes_is_refused_quickly(
    huge: Value, make: Callable[[Value], Any], tmp_path: Path
) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match="100001 nodes") as refused:
        make(huge)
    assert time.perf_counter() - start < 30  # a generous bound; it takes about a second
    message = str(refused.value)
    assert "max_nodes=" in message
    assert "around=" in message or "collapse=" in message
    assert list(tmp_path.iterdir()) == []


# -- paths that cannot be written ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> tuple[viz.Diagram, Stepper]:
    if not viz.available_renderers():
        pytest.skip("no Graphviz renderer")
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    f = x * y + x
    f.backward()
    return viz.draw(f), viz.step(f)


#: Each saver: the name it saves to, and how it is called (diagram, stepper, path).
SAVERS: dict[str, tuple[str, Callable[[viz.Diagram, Stepper, Path], Any]]] = {
    "Diagram.save": ("fig.svg", lambda d, s, p: d.save(p)),
    "Diagram.save-png": ("fig.png", lambda d, s, p: d.save(p)),
    "save_html": ("steps.html", lambda d, s, p: s.save_html(p)),
    "save_beamer": ("steps.tex", lambda d, s, p: s.save_beamer(p)),
    "save_frames": ("frames", lambda d, s, p: s.save_frames(p)),
    "save_gif": ("steps.gif", lambda d, s, p: s.save_gif(p, width=320)),
}


def saver_params() -> list[Any]:
    return [
        pytest.param(name, marks=[needs_video] if name == "save_gif" else [], id=name)
        for name in SAVERS
    ]


@pytest.mark.parametrize("name", saver_params())
def test_a_missing_folder_is_made(
    small: tuple[viz.Diagram, Stepper], tmp_path: Path, name: str
) -> None:
    folder = tmp_path / "a" / "b"
    target, save = SAVERS[name]
    save(*small, folder / target)
    assert len(list(folder.iterdir())) == 1
    assert leftovers(folder) == []


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(a folder no save can write into, the folder to check is left as it was).

    A read-only folder; as root, who ignores permissions, a "folder" that is a regular file.
    """
    if os.geteuid() == 0:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file", encoding="utf-8")
        yield blocker / "inside", tmp_path
        return
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder, tmp_path
    folder.chmod(0o755)


@pytest.mark.parametrize("name", saver_params())
def test_an_unwritable_folder_is_a_clear_error_and_leaves_nothing(
    small: tuple[viz.Diagram, Stepper], unwritable: tuple[Path, Path], name: str
) -> None:
    folder, around = unwritable
    before = everything(around)
    target, save = SAVERS[name]
    with pytest.raises((OSError, ValueError)) as failed:
        save(*small, folder / target)
    message = str(failed.value)
    assert repr(str(folder / target)) in message, message  # the path asked for, quoted
    assert "Traceback" not in message and "\n" not in message
    assert everything(around) == before


# -- the frames folder ----------------------------------------------------------------------


def chain_stepper(uses: int) -> Stepper:
    x = Value(1.5, "x")
    root = x
    for _ in range(uses - 1):
        root = root * x
    return viz.step(root)


@needs_renderer
def test_frames_are_not_saved_into_a_folder_of_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "frame_001.svg").write_text("an old frame", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"notes\.txt") as refused:
        chain_stepper(2).save_frames(folder)
    assert str(folder) in str(refused.value)
    assert everything(tmp_path) == ["frames", "frames/frame_001.svg", "frames/notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"


@needs_renderer
def test_three_frames_over_eleven_leave_three(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    eleven, three = chain_stepper(6), chain_stepper(2)
    assert (len(eleven), len(three)) == (11, 3)
    eleven.save_frames(folder)
    assert len(list(folder.iterdir())) == 11
    three.save_frames(folder)
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_00{k}.svg" for k in (1, 2, 3)]
    assert [(folder / f"frame_00{k}.svg").read_text(encoding="utf-8") for k in (1, 2, 3)] == [
        three[k].svg() for k in range(3)
    ]
    assert leftovers(tmp_path) == []


# -- saves killed with SIGKILL ----------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import viz
    from nn import MLP

    def stepper(which):
        inputs = [0.5, -1.0] if which == "A" else [0.25, 0.75]
        out = MLP(2, [8, 8, 1], seed=0)(inputs)
        loss = (out - 1.0) ** 2
        return viz.step(loss)

    if __name__ == "__main__":
        mode, which, target = sys.argv[1:4]
        s = stepper(which)
        if mode == "hashes":
            import hashlib, json
            print(json.dumps([hashlib.sha256(f.svg().encode("utf-8")).hexdigest() for f in s]))
            sys.exit(0)
        print("saving", flush=True)
        s.save_frames(Path(target))
        print("saved", flush=True)
    """
)


def child(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def hashes_of(folder: Path) -> list[str]:
    files = sorted(folder.iterdir())
    assert [p.name for p in files] == [f"frame_{k:03d}.svg" for k in range(1, len(files) + 1)]
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]


@needs_renderer
@pytest.mark.slow
def test_a_frame_save_killed_midway_leaves_one_whole_set(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    expected = {}
    for which in "AB":
        done = child(work, "hashes", which, "-")
        out, _ = done.communicate(timeout=300)
        expected[which] = json.loads(out)
    assert len(expected["A"]) == len(expected["B"]) > 400
    assert expected["A"] != expected["B"]

    folder = tmp_path / "out" / "frames"
    first = child(work, "save", "A", str(folder))
    first.communicate(timeout=300)
    assert first.returncode == 0
    holds, killed_midway = "A", 0
    for attempt, delay in enumerate((0.3, 0.5, 0.7, 0.9, 0.4)):
        new = "B" if holds == "A" else "A"
        saving = child(work, "save", new, str(folder))
        assert saving.stdout is not None
        assert saving.stdout.readline() == "saving\n"
        time.sleep(delay)
        saving.send_signal(signal.SIGKILL)
        saving.wait(timeout=60)
        if saving.returncode == -signal.SIGKILL:
            killed_midway += 1
        # One whole set: in the folder, or (killed between its two renames) moved aside.
        aside = [p for p in folder.parent.iterdir() if p.name.startswith(".frames.old-")]
        whole = folder if folder.exists() else max(aside, key=lambda p: len(list(p.iterdir())))
        found = hashes_of(whole)
        assert found in (expected["A"], expected["B"]), f"attempt {attempt}: a mixed set"
        holds = "A" if found == expected["A"] else "B"
    assert killed_midway > 0, "every save finished before the kill: nothing was tested"

    # The next save clears what the killed ones left, and replaces the set with its own.
    three = chain_stepper(2)
    three.save_frames(folder)
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_00{k}.svg" for k in (1, 2, 3)]
    assert leftovers(folder.parent) == []
    assert [p.name for p in folder.parent.iterdir()] == ["frames"]


def dead_pid() -> int:
    """The id of a process that has ended (and been waited for)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@needs_renderer
def test_the_next_save_removes_temporary_files_of_killed_saves(
    small: tuple[viz.Diagram, Stepper], tmp_path: Path
) -> None:
    diagram, stepper = small
    dead = dead_pid()
    stale = [
        tmp_path / f".fig.svg.tmp-{dead}-abc123",
        tmp_path / f".steps.html.tmp-{dead}-xyz",
        tmp_path / f".frames.saving-{dead}-q1",
    ]
    for path in stale[:2]:
        path.write_bytes(b"half a file")
    stale[2].mkdir()
    (stale[2] / "frame_001.svg").write_bytes(b"half a set")
    running = tmp_path / f".fig.svg.tmp-{os.getpid()}-live"  # a save still running: kept
    running.write_bytes(b"still being written")
    diagram.save(tmp_path / "fig.svg")
    stepper.save_html(tmp_path / "steps.html")
    stepper.save_frames(tmp_path / "frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["fig.svg", "steps.html", "frames", running.name]
    )


@needs_renderer
@pytest.mark.slow
def test_a_diagram_save_killed_midwrite_leaves_the_old_file_or_the_new(tmp_path: Path) -> None:
    # A large SVG (an MLP, about 1 MB) saved over and over; killed at some point of a write.
    script = tmp_path / "saver.py"
    target = tmp_path / "out" / "fig.svg"
    script.write_text(
        textwrap.dedent(
            f"""
            import viz
            from pathlib import Path
            from nn import MLP
            out = MLP(2, [8, 8, 1], seed=0)([0.5, -1.0])
            loss = (out - 1.0) ** 2
            loss.backward()
            diagram = viz.draw(loss)
            data = diagram.svg()
            print("saving", flush=True)
            while True:
                diagram.save(Path({str(target)!r}))
            """
        ),
        encoding="utf-8",
    )
    for delay in (0.2, 0.45, 0.7):
        saver = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert saver.stdout is not None
        assert saver.stdout.readline() == "saving\n"
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=60)
        if target.exists():
            ET.fromstring(target.read_bytes())  # whole: it parses
    write_atomically(target, b"<svg/>")
    assert [p.name for p in target.parent.iterdir()] == ["fig.svg"]


# -- labels full of markup -------------------------------------------------------------------

NASTY = ["a\ud800b", "<b>&x</b>", "</script><script>alert(1)</script>", '"q" \\N {}$%']


@needs_renderer
@pytest.mark.parametrize("label", NASTY, ids=["surrogate", "markup", "script", "tex"])
def test_nasty_labels_save_everywhere_escaped(tmp_path: Path, label: str) -> None:
    x, y = Value(2.0, label), Value(3.0, "y")
    f = x * y + x
    f.label = label
    f.backward()
    shown = label.replace("\ud800", "\ufffd")  # a lone surrogate cannot be written: replaced
    diagram = viz.draw(f)
    for suffix in ("svg", "png", "pdf", "tex", "dot"):
        assert diagram.save(tmp_path / f"fig.{suffix}").stat().st_size > 0
    texts = ["".join(t.itertext()) for t in ET.parse(tmp_path / "fig.svg").iter(f"{SVG}text")]
    assert shown in texts
    stepper = viz.step(f)
    page = stepper.save_html(tmp_path / "steps.html").read_text(encoding="utf-8")
    assert page.count("</script>") == page.count("<script")  # no script closed early
    assert "<script>alert(1)" not in page and "<b>&x" not in page
    frames = stepper.save_frames(tmp_path / "frames")
    for frame in frames:
        ET.parse(frame)  # well-formed XML
    beamer = stepper.save_beamer(tmp_path / "steps.tex").read_text(encoding="utf-8")
    standalone = (tmp_path / "fig.tex").read_text(encoding="utf-8")
    for tex in (beamer, standalone):
        assert "alert(1)</script>" not in tex and " \\N {}" not in tex
        assert "\ud800" not in tex

"""Rendering with the system Graphviz and with the bundled one (graphviz-pure); saving files."""

from __future__ import annotations

import importlib
import os
import shutil
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

import viz
from viz import lectures

# ``viz.render`` is the function (re-exported by viz/__init__); these are the modules.
render_module = importlib.import_module("viz.render")
diagram_module = importlib.import_module("viz.diagram")

SVG = "{http://www.w3.org/2000/svg}"
NO_DOT = "system Graphviz 'dot' not installed; CI installs it with apt-get"
NO_BUNDLED = "the bundled renderer graphviz-pure is not installed (pip install graphviz-pure)"


def bundled_installed() -> bool:
    return render_module.bundled_program() is not None


requires_dot = pytest.mark.skipif(shutil.which("dot") is None, reason=NO_DOT)
requires_bundled = pytest.mark.skipif(not bundled_installed(), reason=NO_BUNDLED)


@pytest.fixture(params=["bundled", "system"])
def renderer(request: pytest.FixtureRequest) -> str:
    if request.param == "bundled" and not bundled_installed():
        pytest.skip(NO_BUNDLED)
    if request.param == "system" and shutil.which("dot") is None:
        pytest.skip(NO_DOT)
    return str(request.param)


@pytest.fixture(scope="module")
def xyz() -> viz.Diagram:
    return viz.draw(lectures.xyz())


def svg_texts(svg: bytes | str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return ["".join(text.itertext()).strip() for text in root.iter(f"{SVG}text")]


def files_in(folder: Path) -> list[str]:
    """Every file below ``folder``, hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class Spy:
    """Records which renderer ran, then runs it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real: Callable[[str, str, str], bytes] = render_module._run_graphviz

        def run(program: str, source: str, fmt: str) -> bytes:
            self.calls.append("system" if program == render_module.system_dot() else "bundled")
            return real(program, source, fmt)

        monkeypatch.setattr(render_module, "_run_graphviz", run)


# -- SVG with each renderer -----------------------------------------------------------------------


def test_svg_renders_with_the_labels(renderer: str, xyz: viz.Diagram) -> None:
    texts = svg_texts(viz.render(xyz.source, "svg", renderer))
    # the labels, not the node names (a Graphviz without HTML-like labels would draw n0, n1...)
    # ("q =": the named intermediate value, written before its number on the edge)
    for expected in ["x", "y", "z", "+", "*", "q =", "f", "-12.00", "1.00", "-2.00", "-4.00"]:
        assert expected in texts, (expected, texts)
    assert not {"n0", "n1", "n2", "n3", "n4"} & set(texts)


def test_svg_colours_with_each_renderer(renderer: str, xyz: viz.Diagram) -> None:
    root = ET.fromstring(viz.render(xyz.source, "svg", renderer))
    pairs = {("".join(t.itertext()), t.get("fill")) for t in root.iter(f"{SVG}text")}
    green, red = "#2e7d32", "#c62828"
    for forward in ["-2.00", "5.00", "3.00", "-4.00", "-12.00"]:
        assert (forward, green) in pairs
    for gradient in ["-4.00", "3.00", "1.00"]:
        assert (gradient, red) in pairs
    assert ("1.00", green) not in pairs
    assert ("-12.00", red) not in pairs


def test_env_var_forces_the_renderer(
    renderer: str, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram
) -> None:
    spy = Spy(monkeypatch)
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    texts = svg_texts(viz.Diagram(xyz.source).svg())
    assert "-12.00" in texts
    assert spy.calls == [renderer]


def test_explicit_renderer_wins_over_env_var(
    renderer: str, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram
) -> None:
    spy = Spy(monkeypatch)
    other = "system" if renderer == "bundled" else "bundled"
    monkeypatch.setenv(render_module.ENV_VAR, other)
    viz.render(xyz.source, "svg", renderer)
    assert spy.calls == [renderer]


def test_unknown_renderer_is_refused(monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram) -> None:
    with pytest.raises(ValueError, match="renderer must be"):
        viz.render(xyz.source, "svg", "cairo")
    monkeypatch.setenv(render_module.ENV_VAR, "cairo")
    with pytest.raises(ValueError, match="renderer must be"):
        viz.render(xyz.source, "svg")


def test_dot_format_needs_no_renderer(no_dot: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "bundled_program", lambda: None)
    assert viz.render("digraph { a -> b }", "dot") == b"digraph { a -> b }"
    assert viz.available_renderers() == []


@pytest.mark.parametrize("source", ["digraph { a -> }", "graph { a -- b ", "not dot at all"])
def test_graphviz_failure_is_a_render_error(renderer: str, source: str) -> None:
    with pytest.raises(viz.RenderError):
        viz.render(source, "svg", renderer)


@requires_bundled
def test_bundled_makes_png_and_pdf(xyz: viz.Diagram) -> None:
    assert viz.render(xyz.source, "png", "bundled").startswith(b"\x89PNG\r\n\x1a\n")
    # PDF: the bundled SVG converted by svglib/reportlab (checked in detail in test_export.py)
    assert viz.render(xyz.source, "pdf", "bundled").startswith(b"%PDF")


def test_asking_for_a_missing_system_dot(no_dot: None, xyz: viz.Diagram) -> None:
    with pytest.raises(viz.RenderError, match="apt-get install graphviz"):
        viz.render(xyz.source, "svg", "system")


def test_nothing_installed(no_dot: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_module, "bundled_program", lambda: None)
    with pytest.raises(viz.RenderError, match=r"no Graphviz renderer found.*pip install"):
        viz.render("digraph { a }", "svg")


# -- saving with the system dot -------------------------------------------------------------------


@requires_dot
@pytest.mark.parametrize(
    ("suffix", "magic"),
    [pytest.param(".png", b"\x89PNG\r\n\x1a\n", id="png"), pytest.param(".pdf", b"%PDF", id="pdf")],
)
def test_png_and_pdf_with_the_system_dot(
    tmp_path: Path, xyz: viz.Diagram, suffix: str, magic: bytes
) -> None:
    path = xyz.save(tmp_path / f"fig{suffix}")
    assert path == tmp_path / f"fig{suffix}"
    assert path.read_bytes().startswith(magic)
    assert len(path.read_bytes()) > 1000
    assert files_in(tmp_path) == [f"fig{suffix}"]


@pytest.mark.parametrize("name", ["fig.svg", "FIG.SVG"])
def test_save_svg(tmp_path: Path, xyz: viz.Diagram, name: str) -> None:
    if not viz.available_renderers():
        pytest.skip("no Graphviz renderer installed")
    path = xyz.save(str(tmp_path / name))
    assert "-12.00" in svg_texts(path.read_bytes())
    assert files_in(tmp_path) == [name]


# -- without a system dot -----------------------------------------------------------------------


@requires_bundled
def test_auto_falls_back_to_bundled(no_dot: None, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy(monkeypatch)
    diagram = viz.draw(lectures.copy_gate())
    texts = svg_texts(diagram.svg())
    assert "-3.00 + 4.00 = 1.00" in texts
    assert spy.calls == ["bundled", "bundled"]  # the layout (JSON), then the pinned drawing


@requires_bundled
def test_png_without_dot_uses_the_bundled_renderer(
    no_dot: None, tmp_path: Path, xyz: viz.Diagram
) -> None:
    path = viz.Diagram(xyz.source).save(tmp_path / "fig.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert files_in(tmp_path) == ["fig.png"]


@requires_bundled
@pytest.mark.parametrize("suffix", [".pdf", ".PDF"])
def test_pdf_without_dot_comes_from_the_bundled_svg(
    no_dot: None, tmp_path: Path, xyz: viz.Diagram, suffix: str
) -> None:
    path = viz.Diagram(xyz.source).save(tmp_path / f"fig{suffix}")
    assert path.read_bytes().startswith(b"%PDF")
    assert files_in(tmp_path) == [f"fig{suffix}"]


@pytest.mark.parametrize("suffix", [".pdf", ".PDF"])
def test_pdf_without_dot_or_converter_says_what_to_install(
    no_dot: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xyz: viz.Diagram, suffix: str
) -> None:
    monkeypatch.setattr(render_module, "missing_pdf_libraries", lambda: ["svglib", "reportlab"])
    target = tmp_path / "out" / f"fig{suffix}"
    with pytest.raises(viz.RenderError) as caught:
        viz.Diagram(xyz.source).save(target)
    message = str(caught.value)
    for hint in ("pip install svglib reportlab", "apt-get", "brew", "conda", ".svg"):
        assert hint in message
    assert files_in(tmp_path) == []  # no file, no temporary file, not even the folder


@requires_bundled
def test_dot_and_svg_save_without_dot(no_dot: None, tmp_path: Path, xyz: viz.Diagram) -> None:
    diagram = viz.Diagram(xyz.source)
    assert diagram.save(tmp_path / "fig.dot").read_text(encoding="utf-8") == xyz.source
    assert "-12.00" in svg_texts(diagram.save(tmp_path / "fig.svg").read_bytes())
    assert files_in(tmp_path) == ["fig.dot", "fig.svg"]


# -- file names, atomic writes, permissions -----------------------------------------------------


@pytest.mark.parametrize("name", ["fig.jpg", "fig", "fig.svg.bak", "fig."])
def test_unknown_suffix_lists_the_supported_ones(
    tmp_path: Path, xyz: viz.Diagram, name: str
) -> None:
    with pytest.raises(ValueError, match=r"\.dot, \.pdf, \.png, \.svg"):
        xyz.save(tmp_path / name)
    assert files_in(tmp_path) == []


def test_dot_file_into_a_new_sub_folder(tmp_path: Path, xyz: viz.Diagram) -> None:
    path = xyz.save(tmp_path / "a" / "b" / "fig.dot")
    assert path.read_text(encoding="utf-8") == xyz.source
    assert files_in(tmp_path) == ["a", "a/b", "a/b/fig.dot"]


def test_saved_file_is_readable_by_others(tmp_path: Path, xyz: viz.Diagram) -> None:
    path = xyz.save(tmp_path / "fig.dot")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@pytest.mark.parametrize("failing", ["replace", "chmod"])
def test_failed_write_leaves_the_old_file(
    tmp_path: Path, xyz: viz.Diagram, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "fig.dot"
    target.write_text("old figure", encoding="utf-8")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(f"{failing} failed (simulated)")

    monkeypatch.setattr(render_module.os, failing, fail)
    with pytest.raises(OSError, match="simulated"):
        xyz.save(target)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "old figure"
    assert files_in(tmp_path) == ["fig.dot"]


def test_failed_render_leaves_the_old_file(
    tmp_path: Path, xyz: viz.Diagram, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "fig.png"
    target.write_bytes(b"old png")

    def fail(source: str, fmt: str = "svg", renderer: str = "auto") -> bytes:
        raise viz.RenderError("dot crashed (simulated)")

    monkeypatch.setattr(diagram_module, "render", fail)
    with pytest.raises(viz.RenderError, match="simulated"):
        viz.Diagram(xyz.source).save(target)
    assert target.read_bytes() == b"old png"
    assert files_in(tmp_path) == ["fig.png"]


def test_write_interrupted_midway_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "fig.svg"
    target.write_bytes(b"old")

    real_fdopen = os.fdopen

    def fdopen(fd: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        handle = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        class Half:
            def __enter__(self):  # type: ignore[no-untyped-def]
                return self

            def __exit__(self, *exc: object) -> None:
                handle.close()

            def write(self, data: bytes) -> int:
                handle.write(data[:10])
                raise KeyboardInterrupt  # the user pressed Ctrl-C while writing

        return Half()

    monkeypatch.setattr(render_module.os, "fdopen", fdopen)
    with pytest.raises(KeyboardInterrupt):
        render_module.write_atomically(target, b"<svg>new</svg>" * 100)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert files_in(tmp_path) == ["fig.svg"]


def test_overwrite_replaces_the_whole_file(tmp_path: Path, xyz: viz.Diagram) -> None:
    target = tmp_path / "fig.dot"
    target.write_text("x" * 100_000, encoding="utf-8")
    xyz.save(target)
    assert target.read_text(encoding="utf-8") == xyz.source
    assert files_in(tmp_path) == ["fig.dot"]

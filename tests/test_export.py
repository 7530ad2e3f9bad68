"""Slide formats: PNG at a chosen resolution (``scale=``, ``dpi=``) and PDF with no system
Graphviz (the bundled renderer's SVG converted by svglib and reportlab, fonts embedded)."""

from __future__ import annotations

import importlib
import math
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

import viz
from autograd import Value
from viz import lectures
from viz.__main__ import main

render_module = importlib.import_module("viz.render")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NO_DOT = "system Graphviz 'dot' not installed; CI installs it with apt-get"
NO_BUNDLED = "the bundled renderer graphviz-pure is not installed"


@pytest.fixture(scope="module")
def xyz() -> viz.Diagram:
    return viz.draw(lectures.xyz())


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything rendered by graphviz-pure, as after a plain ``pip install``."""
    if render_module.bundled_program() is None:
        pytest.skip(NO_BUNDLED)
    monkeypatch.setenv(render_module.ENV_VAR, "bundled")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (always the first, at byte 8)."""
    assert data.startswith(PNG_MAGIC)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def files_in(folder: Path) -> list[str]:
    """Every file below ``folder``, hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def pdf_fonts(path: Path) -> dict[str, bool]:
    """Each font the PDF's pages use: its name, and whether its program is embedded."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(path).pages:
        resources: Any = page["/Resources"]
        for ref in resources.get("/Font", {}).values():
            font = ref.get_object()
            # a composite (Type0) font keeps its descriptor in its descendant font
            described = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = described.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# -- PNG resolution -------------------------------------------------------------------------------


def test_scale_3_makes_a_png_three_times_as_wide_and_high(
    renderer: str, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram, tmp_path: Path
) -> None:
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    diagram = viz.Diagram(xyz.source)
    width, height = png_size(diagram.save(tmp_path / "default.png").read_bytes())
    one = png_size(diagram.save(tmp_path / "one.png", scale=1).read_bytes())
    three = png_size(diagram.save(tmp_path / "three.png", scale=3).read_bytes())
    assert one == pytest.approx((width, height), abs=1)  # scale=1 is Graphviz's default 96 dpi
    assert three[0] == pytest.approx(3 * width, abs=3)
    assert three[1] == pytest.approx(3 * height, abs=3)
    assert width > 300  # a real drawing, not an empty page


def test_dpi_300_scales_the_png_by_300_over_96(
    renderer: str, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram, tmp_path: Path
) -> None:
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    diagram = viz.Diagram(xyz.source)
    width, height = png_size(diagram.file_bytes("png"))
    big = png_size(diagram.save(tmp_path / "fig.png", dpi=300).read_bytes())
    assert big[0] == pytest.approx(width * 300 / 96, abs=3)
    assert big[1] == pytest.approx(height * 300 / 96, abs=3)
    assert files_in(tmp_path) == ["fig.png"]


def test_render_passes_dpi_to_graphviz(renderer: str, xyz: viz.Diagram) -> None:
    small = png_size(viz.render(xyz.source, "png", renderer, dpi=48))
    large = png_size(viz.render(xyz.source, "png", renderer, dpi=192))
    assert large[0] == pytest.approx(4 * small[0], abs=4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scale": 0}, r"scale must be a positive number such as 2 or 3"),
        ({"scale": -2}, r"scale must be a positive number.*got -2"),
        ({"scale": math.nan}, r"scale must be a positive number"),
        ({"scale": math.inf}, r"scale must be a positive number"),
        ({"scale": 20}, r"scale=20 \(that is 1920 dpi\) is over the 1200 dpi limit: pass"),
        ({"scale": 0.05}, r"under the 12 dpi minimum.*pass dpi=12 or more"),
        ({"dpi": 0}, r"dpi must be a positive number such as 150 or 300, got 0"),
        ({"dpi": -300}, r"dpi must be a positive number"),
        ({"dpi": 5000}, r"dpi=5000 is over the 1200 dpi limit: pass dpi=1200 or less"),
        ({"dpi": 5}, r"dpi=5 is under the 12 dpi minimum"),
        ({"scale": 2, "dpi": 300}, r"give scale= or dpi=, not both .*scale=3 is dpi=288"),
    ],
)
def test_bad_scale_or_dpi_says_what_to_pass(
    xyz: viz.Diagram, tmp_path: Path, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        xyz.save(tmp_path / "fig.png", **options)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("option", ["scale", "dpi"])
@pytest.mark.parametrize("value", ["3", True, [3]])
def test_scale_and_dpi_must_be_numbers(
    xyz: viz.Diagram, tmp_path: Path, option: str, value: object
) -> None:
    with pytest.raises(TypeError, match=rf"{option} must be a number"):
        xyz.save(tmp_path / "fig.png", **{option: value})  # type: ignore[arg-type]
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("name", ["fig.svg", "fig.pdf", "fig.dot"])
@pytest.mark.parametrize("option", ["scale", "dpi"])
def test_scale_and_dpi_are_refused_for_vector_formats(
    xyz: viz.Diagram, tmp_path: Path, name: str, option: str
) -> None:
    value = 3 if option == "scale" else 300
    with pytest.raises(
        ValueError, match=rf"{option}= sets the pixel size of a PNG; .* save as \.png"
    ):
        xyz.save(tmp_path / name, **{option: value})
    assert files_in(tmp_path) == []


def test_render_refuses_dpi_for_vector_formats(xyz: viz.Diagram) -> None:
    for fmt in ("svg", "pdf", "dot"):
        with pytest.raises(ValueError, match=rf"{fmt.upper()} is not made of pixels"):
            viz.render(xyz.source, fmt, dpi=300)


def big_diagram() -> viz.Diagram:
    """A drawing whose PNG at 1200 dpi would be far over 100 megapixels: a sum of 8 products."""
    f = Value(0.0, "b")
    for k in range(8):
        f = f + Value(0.5, f"w{k}") * Value(float(k), f"x{k}")
    f.backward()
    return viz.draw(f)


def test_a_png_over_100_megapixels_is_refused_before_rendering(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not viz.available_renderers():
        pytest.skip("no Graphviz renderer installed")
    diagram = big_diagram()
    width, height = render_module.svg_size_points(diagram.svg())
    assert width / 72 * 1200 * height / 72 * 1200 > 100e6  # the premise
    rendered: list[str] = []

    def run_graphviz(*args: object) -> bytes:
        rendered.append("png")
        return b""

    monkeypatch.setattr(render_module, "_run_graphviz", run_graphviz)
    with pytest.raises(ValueError, match=r"megapixels\), over the 100 megapixel limit") as caught:
        diagram.save(tmp_path / "fig.png", dpi=1200)
    assert rendered == []  # refused from the SVG's size, without rendering
    assert files_in(tmp_path) == []
    # the dpi it proposes fits under the limit
    proposed = int(str(caught.value).split("pass dpi=")[1].split(" ")[0])
    assert width / 72 * proposed * height / 72 * proposed <= 100e6
    assert "save as .pdf or .svg" in str(caught.value)


def test_png_size_check_reads_graphviz_svg_sizes() -> None:
    svg = '<svg width="1440pt" height="720pt" viewBox="0 0 1440 720">'
    assert render_module.svg_size_points(svg) == (1440.0, 720.0)
    render_module.check_png_size(svg, 300)  # 6000 x 3000 px = 18 megapixels: fine
    with pytest.raises(ValueError, match="24000 x 12000 pixel PNG"):
        render_module.check_png_size(svg, 1200)
    assert render_module.svg_size_points("<svg>") is None
    render_module.check_png_size("<svg>", 1200)  # no size given: nothing to check


# -- PDF without a system Graphviz ----------------------------------------------------------------


def test_pdf_from_the_bundled_renderer(bundled: None, tmp_path: Path) -> None:
    diagram = viz.draw(lectures.sigmoid_neuron_staged())
    path = diagram.save(tmp_path / "neuron.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert files_in(tmp_path) == ["neuron.pdf"]
    # every font embedded (no bare Helvetica for the viewer to substitute)
    fonts = pdf_fonts(path)
    assert fonts, "the PDF has no fonts: its text was drawn as shapes or lost"
    assert all(fonts.values()), fonts
    assert any("Arimo" in name for name in fonts), fonts
    # the diagram's text, selectable: names, gates, values (green) and gradients (red)
    words = pdf_text(path).split()
    for expected in ["w0", "x0", "w1", "x1", "w2", "exp", "1/x", "2.00", "-0.20", "0.73", "-0.53"]:
        assert expected in words, (expected, words)
    # the page is the drawing's size, as the SVG says
    page = PdfReader(path).pages[0]
    size = render_module.svg_size_points(diagram.svg())
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(size)


def test_pdf_has_the_glyphs_beyond_latin(bundled: None, tmp_path: Path) -> None:
    x = Value(2.0, "x")
    f = x * x + x + x  # x used four times: its gradient is written "Σ = ..."
    f.backward()
    path = viz.draw(f, chain=True).save(tmp_path / "fig.pdf")
    text = pdf_text(path)
    assert "Σ = 6.00" in text  # 2x + 1 + 1 = 6 at x = 2
    assert "1.00 × 2.00 = 2.00" in text
    assert all(pdf_fonts(path).values())


def test_pdf_is_the_same_bytes_each_time(bundled: None, xyz: viz.Diagram) -> None:
    first = viz.Diagram(xyz.source).file_bytes("pdf")
    assert viz.Diagram(xyz.source).file_bytes("pdf") == first  # no time stamp, no random id


def test_pdf_without_dot_from_the_command_line(
    no_dot: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if render_module.bundled_program() is None:
        pytest.skip(NO_BUNDLED)
    monkeypatch.chdir(tmp_path)
    expression = ["(x + y) * z", "--set", "x=-2", "--set", "y=5", "--set", "z=-4"]
    assert main([*expression, "-o", "fig.pdf", "-o", "fig.svg"]) == 0
    assert files_in(tmp_path) == ["fig.pdf", "fig.svg"]
    assert "-12.00" in pdf_text(tmp_path / "fig.pdf").split()


@pytest.mark.parametrize(
    "failure", [ValueError("bad path data"), MemoryError(), KeyError("fontName")]
)
def test_a_failing_conversion_leaves_no_file(
    bundled: None,
    monkeypatch: pytest.MonkeyPatch,
    xyz: viz.Diagram,
    tmp_path: Path,
    failure: BaseException,
) -> None:
    import svglib.svglib

    def broken(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(svglib.svglib, "svg2rlg", broken)
    target = tmp_path / "out" / "fig.pdf"
    with pytest.raises(viz.RenderError) as caught:
        viz.Diagram(xyz.source).save(target)
    message = str(caught.value)
    assert message.startswith("converting the diagram's SVG to PDF failed")
    assert type(failure).__name__ in message
    assert "Save as .svg" in message and "apt-get install graphviz" in message
    assert caught.value.__cause__ is failure
    assert files_in(tmp_path) == []  # no file, no temporary file, not even the folder


def test_a_failing_conversion_keeps_the_old_file(
    bundled: None, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram, tmp_path: Path
) -> None:
    import svglib.svglib

    monkeypatch.setattr(svglib.svglib, "svg2rlg", lambda *args, **kwargs: None)  # unreadable
    target = tmp_path / "fig.pdf"
    target.write_bytes(b"%PDF old slide")
    with pytest.raises(viz.RenderError, match="svglib could not read the SVG"):
        viz.Diagram(xyz.source).save(target)
    assert target.read_bytes() == b"%PDF old slide"
    assert files_in(tmp_path) == ["fig.pdf"]


def test_missing_converter_packages_say_what_to_install(
    bundled: None, monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram, tmp_path: Path
) -> None:
    monkeypatch.setattr(render_module, "missing_pdf_libraries", lambda: ["fontpkg-arimo"])
    with pytest.raises(viz.RenderError, match=r"pip install fontpkg-arimo.*apt-get") as caught:
        viz.Diagram(xyz.source).save(tmp_path / "fig.pdf")
    assert "save as .svg" in str(caught.value)
    assert files_in(tmp_path) == []
    with pytest.raises(viz.RenderError, match="pip install fontpkg-arimo"):
        render_module.svg_to_pdf(b"<svg/>")


def test_the_converter_needs_only_declared_packages() -> None:
    assert render_module.missing_pdf_libraries() == []  # all come with backprop-lab


# -- PDF with the system Graphviz -----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("dot") is None, reason=NO_DOT)
def test_system_dot_still_writes_the_pdf(
    monkeypatch: pytest.MonkeyPatch, xyz: viz.Diagram, tmp_path: Path
) -> None:
    import svglib.svglib

    def unused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the system dot makes PDF itself; the converter is not used")

    monkeypatch.setattr(svglib.svglib, "svg2rlg", unused)
    monkeypatch.delenv(render_module.ENV_VAR, raising=False)
    path = viz.Diagram(xyz.source).save(tmp_path / "fig.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    assert "-12.00" in pdf_text(path).split()

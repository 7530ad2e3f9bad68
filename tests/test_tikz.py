"""TikZ export (``viz.tikz``): the SVG-to-TikZ converter, ``save("fig.tex")``, and the LaTeX it
writes compiled by pdflatex (standalone figures and a Beamer step-through)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

import viz
from autograd import Value
from viz import lectures
from viz.demo import FIGURES, MIN_PRECISION
from viz.render import format_for
from viz.tikz import beamer_tex, escape_tex, standalone_tex, svg_to_tikz

render_module = importlib.import_module("viz.render")

NO_PDFLATEX = (
    "pdflatex is not installed: apt-get install texlive-latex-base texlive-latex-recommended "
    "texlive-pictures"
)
needs_pdflatex = pytest.mark.skipif(shutil.which("pdflatex") is None, reason=NO_PDFLATEX)

HEADER = (
    '<svg width="100pt" height="50pt" viewBox="0.00 0.00 100.00 50.00" '
    'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<g id="graph0" class="graph" transform="scale(1 1) rotate(0) translate(4 46)">'
    "<title>g</title>"
)


def svg(body: str) -> str:
    """A Graphviz-like SVG, 100 x 50 pt, its graph translated by (4, 46) as Graphviz does."""
    return HEADER + body + "</g></svg>"


def text(content: str, **attributes: str) -> str:
    attrs = {"text-anchor": "start", "x": "10", "y": "-20", "font-size": "14.00"} | {
        k.replace("_", "-"): v for k, v in attributes.items()
    }
    written = " ".join(f'{k}="{v}"' for k, v in attrs.items())
    return f"<text {written}>{content}</text>"


def nodes(tikz: str) -> list[str]:
    return [line for line in tikz.splitlines() if line.startswith("\\node")]


def small_graph() -> Value:
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    z = x * y + x
    z.label = "z"
    return z


# -- the converter ------------------------------------------------------------------------------


def test_the_picture_is_the_svg_size_in_points_with_y_flipped() -> None:
    tikz = svg_to_tikz(
        svg('<polygon fill="white" stroke="transparent" points="-4,4 -4,-46 96,-46 96,4 -4,4"/>')
    )
    assert tikz.startswith("\\begin{tikzpicture}[x=1bp, y=1bp")
    assert tikz.rstrip().endswith("\\end{tikzpicture}")
    assert "\\useasboundingbox (0,0) rectangle (100,-50);" in tikz
    # the background polygon, translated by (4, 46), fills the canvas; the repeated first point
    # becomes "cycle"; a transparent stroke draws nothing
    assert "\\path[fill=svgFFFFFF] (0,-50) -- (0,0) -- (100,0) -- (100,-50) -- cycle;" in tikz


def test_graphviz_rounded_size_keeps_one_scale() -> None:
    """Graphviz rounds width and height up (138pt for a 137.5 viewBox): the drawing keeps its
    scale and is centred, as an SVG viewer shows it."""
    rounded = (
        '<svg width="100pt" height="51pt" viewBox="0.00 0.00 100.00 50.50" '
        'xmlns="http://www.w3.org/2000/svg"><g transform="translate(0 50.5)">'
        '<ellipse fill="none" stroke="black" cx="50" cy="-25" rx="10" ry="10"/></g></svg>'
    )
    tikz = svg_to_tikz(rounded)
    assert "\\useasboundingbox (0,0) rectangle (100,-51);" in tikz
    assert "(50,-25.75) ellipse [x radius=10, y radius=10]" in tikz


def test_each_colour_is_defined_once_and_used_by_name() -> None:
    tikz = svg_to_tikz(
        svg(
            text("-2.00", fill="#2e7d32")
            + text("3.00", fill="#2e7d32", y="-10")
            + text("-4.00", fill="#c62828", y="-5")
            + '<polygon fill="#fff59d" stroke="black" stroke-width="2" '
            'points="0,0 10,0 10,-10 0,0"/>'
        )
    )
    assert tikz.count("\\definecolor{svg2E7D32}{HTML}{2E7D32}") == 1
    assert tikz.count("\\definecolor{svgC62828}{HTML}{C62828}") == 1
    assert tikz.count("\\definecolor{svgFFF59D}{HTML}{FFF59D}") == 1
    assert tikz.count("\\definecolor{svg000000}{HTML}{000000}") == 1
    assert sum("text=svg2E7D32" in line for line in nodes(tikz)) == 2
    assert "fill=svgFFF59D, draw=svg000000, line width=2bp" in tikz


def test_colours_are_defined_before_they_are_used() -> None:
    tikz = svg_to_tikz(svg(text("a", fill="#123456")))
    assert tikz.index("\\definecolor{svg123456}") < tikz.index("text=svg123456")


@pytest.mark.parametrize(
    ("anchor", "tikz_anchor"),
    [("start", "base west"), ("middle", "base"), ("end", "base east")],
)
def test_text_anchors(anchor: str, tikz_anchor: str) -> None:
    (node,) = nodes(svg_to_tikz(svg(text("label", text_anchor=anchor))))
    assert f"anchor={tikz_anchor}," in node
    assert node.endswith("at (14,-26) {label};")  # x + 4, -(y + 46): the baseline's point


def test_font_size_family_and_weight() -> None:
    (node,) = nodes(svg_to_tikz(svg(text("title", font_size="16.00", font_weight="bold"))))
    assert "font=\\sffamily\\bfseries\\fontsize{16bp}{19.2bp}\\selectfont" in node


def test_tspans_keep_their_colours() -> None:
    body = text('q = <tspan fill="#2e7d32">3.00</tspan> and <tspan font-weight="bold">b</tspan>')
    (node,) = nodes(svg_to_tikz(svg(body)))
    assert node.endswith(
        "{q =\\ {\\color{svg2E7D32}3.00}\\ and\\ "
        "{\\sffamily\\bfseries\\fontsize{14bp}{16.8bp}\\selectfont b}};"
    )


def test_a_spline_becomes_controls() -> None:
    tikz = svg_to_tikz(
        svg('<path fill="none" stroke="black" d="M36.13,-110C41.23,-110 46.84,-110 52,-110"/>')
    )
    assert (
        "\\path[draw=svg000000] (40.13,64) .. controls (45.23,64) and (50.84,64) .. (56,64);"
        in tikz
    )


def test_dashes_widths_polylines_and_ellipses() -> None:
    tikz = svg_to_tikz(
        svg(
            '<path fill="none" stroke="black" stroke-width="3" stroke-dasharray="5,2" '
            'd="M0,0C1,0 2,0 3,0"/>'
            '<polyline fill="none" stroke="#bdbdbd" points="0,0 10,0 10,-10"/>'
            '<ellipse fill="#fff59d" stroke="black" stroke-width="2" cx="20" cy="-20" '
            'rx="19" ry="18"/>'
        )
    )
    assert "line width=3bp, dash pattern=on 5bp off 2bp] (4,-46) .. controls" in tikz
    assert "\\path[draw=svgBDBDBD] (4,-46) -- (14,-46) -- (14,-36);" in tikz
    assert (
        "\\path[fill=svgFFF59D, draw=svg000000, line width=2bp] (24,-26) ellipse "
        "[x radius=19, y radius=18];" in tikz
    )


def test_tooltip_links_and_titles_are_looked_through() -> None:
    body = (
        '<g id="node3" class="node"><title>n2</title>'
        '<g id="a_node3"><a xlink:title="+ gate: d(a+b)/da = 1 &amp; more">'
        '<ellipse fill="none" stroke="black" cx="20" cy="-20" rx="19" ry="19"/>'
        + text("+")
        + "</a></g></g>"
    )
    tikz = svg_to_tikz(svg(body))
    assert "ellipse [x radius=19, y radius=19]" in tikz
    assert nodes(tikz)[0].endswith("{+};")
    assert "gate" not in tikz and "n2" not in tikz  # tooltips and titles draw nothing


def test_what_graphviz_never_writes_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported SVG path command 'A'"):
        svg_to_tikz(svg('<path stroke="black" d="M0,0 A5,5 0 0 1 10,10"/>'))
    with pytest.raises(ValueError, match="unsupported SVG element <image>"):
        svg_to_tikz(svg('<image href="x.png"/>'))
    with pytest.raises(ValueError, match="not readable as SVG"):
        svg_to_tikz("digraph { a -> b }")


# -- text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tex"),
    [
        ("\\", "\\textbackslash{}"),
        ("{x}", "\\{x\\}"),
        ("$", "\\$"),
        ("&", "\\&"),
        ("#", "\\#"),
        ("^", "\\textasciicircum{}"),
        ("_", "\\_"),
        ("%", "\\%"),
        ("~", "\\textasciitilde{}"),
        ("<", "\\textless{}"),
        (">", "\\textgreater{}"),
        ("a--b,,c", "a-{}-b,{},c"),  # no en dash or low quotes from ligatures
    ],
)
def test_tex_specials_are_escaped(raw: str, tex: str) -> None:
    assert escape_tex(raw) == tex


@pytest.mark.parametrize(
    ("raw", "tex"),
    [
        ("×", "\\ensuremath{\\times}"),
        ("Σ", "\\ensuremath{\\mathsf{\\Sigma}}"),
        ("σ", "\\ensuremath{\\sigma}"),
        ("−", "\\ensuremath{-}"),
        ("·", "\\ensuremath{\\cdot}"),
        ("²", "\\textsuperscript{2}"),
        ("ᵀ", "\\textsuperscript{T}"),
        ("∂", "\\ensuremath{\\partial}"),
        ("←", "\\ensuremath{\\leftarrow}"),
        ("…", "\\textellipsis{}"),
        ("θ", "\\ensuremath{\\theta}"),
        ("η", "\\ensuremath{\\eta}"),
        ("δ", "\\ensuremath{\\delta}"),
        ("a\u00a0b", "a~b"),
        ("é", "\\'{e}"),
        ("☃", "[U+2603]"),  # no spelling in pdflatex: shown as its code point, never dropped
    ],
)
def test_unicode_becomes_ascii_tex(raw: str, tex: str) -> None:
    assert escape_tex(raw) == tex


def test_spaces_tex_would_drop_are_kept() -> None:
    assert escape_tex(" a  b ") == "\\ a \\ b\\ "


@pytest.mark.parametrize("label", ["<b>&x", "a\\b{c}", "$\\alpha$ 100% #1 ^_~", "\\textbf{x}"])
def test_markup_in_labels_comes_out_literal(label: str) -> None:
    """A label's characters reach the page as text: after removing the escapes, no TeX
    special character is left to act as markup or a command."""
    tex = escape_tex(label)
    stripped = re.sub(
        r"\\(textbackslash|textasciicircum|textasciitilde|textless|textgreater)\{\}|\\[{}$&#_%]",
        "",
        tex,
    )
    assert not re.search(r"[\\{}$&#^_%~<>]", stripped), tex


def test_a_label_with_markup_in_a_diagram() -> None:
    x = Value(2.0, label="<b>&x")
    y = Value(3.0, label="a\\b{c}")
    f = x * y
    f.backward()
    tikz = svg_to_tikz(viz.draw(f).svg())
    assert "{\\textless{}b\\textgreater{}\\&x}" in tikz
    assert "{a\\textbackslash{}b\\{c\\}}" in tikz
    assert tikz.isascii()


# -- saving ---------------------------------------------------------------------------------------


def test_tex_is_a_format() -> None:
    assert format_for(Path("fig.tex")) == "tex"
    assert format_for(Path("FIG.TEX")) == "tex"


def test_save_tex_writes_the_standalone_document(tmp_path: Path) -> None:
    diagram = viz.draw(lectures.xyz())
    path = diagram.save(tmp_path / "fig.tex")
    assert path.read_text(encoding="utf-8") == standalone_tex(diagram.svg())
    assert diagram.file_bytes("tex") == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.tex"]


@pytest.mark.parametrize("option", [{"scale": 3.0}, {"dpi": 300.0}])
def test_save_tex_refuses_scale_and_dpi(tmp_path: Path, option: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="TEX is not made of pixels"):
        viz.draw(lectures.xyz()).save(tmp_path / "fig.tex", **option)
    assert not (tmp_path / "fig.tex").exists()


def test_tex_needs_only_the_svg_renderer(no_dot: None) -> None:
    """Without the system Graphviz, TeX comes from the bundled renderer's SVG."""
    if render_module.bundled_program() is None:
        pytest.skip("the bundled renderer graphviz-pure is not installed")
    assert render_module.choose_renderer("tex") == "bundled"


def test_standalone_document_is_plain_ascii_and_needs_no_extra_packages() -> None:
    document = standalone_tex(viz.draw(lectures.sigmoid_neuron_fused()).svg())
    assert document.isascii()
    assert document.startswith("% Made by backprop-lab")
    assert "\\documentclass{article}" in document  # standalone.cls is in texlive-latex-extra
    packages = set(re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]*)\}", document))
    assert packages == {"fontenc", "lmodern", "tikz"}


# -- Beamer ---------------------------------------------------------------------------------------


def test_beamer_is_one_frame_with_one_overlay_per_step() -> None:
    stepper = viz.step(small_graph())
    document = beamer_tex([f.svg() for f in stepper], [f.caption for f in stepper], "z = x y + x")
    assert document.count("\\begin{frame}") == 1
    assert "\\begin{frame}[t]{z = x y + x}" in document
    for k in range(1, len(stepper) + 1):
        assert document.count(f"\\only<{k}>{{") == 2  # the picture, and its caption
    assert f"\\only<{len(stepper) + 1}>" not in document
    assert document.count("\\begin{tikzpicture}") == len(stepper)
    assert escape_tex(stepper[0].caption) in document


def test_beamer_typesets_each_picture_once_before_the_frame() -> None:
    """The frame's body (read whole by Beamer, and typeset once per overlay) only places the
    pictures, so a long step-through neither overflows TeX's memory nor takes quadratic time."""
    stepper = viz.step(small_graph())
    document = beamer_tex([f.svg() for f in stepper], [f.caption for f in stepper], "t")
    frame = document[document.index("\\begin{frame}") :]
    assert "tikzpicture" not in frame
    for k in range(1, len(stepper) + 1):
        assert f"\\savestep{{{k}}}{{%" in document[: document.index("\\begin{frame}")]
        assert f"\\only<{k}>{{\\fitstep{{\\usestep{{{k}}}}}}}%" in frame


@pytest.mark.parametrize(
    ("svgs", "captions", "error", "message"),
    [
        ([], [], ValueError, "at least one step: got no SVGs"),
        ([svg("")], [], ValueError, "one caption per step: got 1 SVGs and 0 captions"),
        ([svg(""), svg("")], ["a"], ValueError, "got 2 SVGs and 1 captions"),
        (svg(""), ["a"], TypeError, "a list of SVGs"),
    ],
)
def test_beamer_refuses_empty_or_mismatched_input(
    svgs: list[str], captions: list[str], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        beamer_tex(svgs, captions, "title")


# -- compiled by pdflatex -------------------------------------------------------------------------


def pdflatex(folder: Path, name: str, document: str) -> Path:
    """Compile ``document`` as ``folder/name.tex``; the PDF's path (the log on failure)."""
    source = folder / f"{name}.tex"
    source.write_text(document, encoding="utf-8")
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", source.name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    log = (folder / f"{name}.log").read_text(encoding="latin-1")
    assert "Missing character" not in log  # nothing silently left out of a font
    pdf = folder / f"{name}.pdf"
    assert pdf.is_file()
    return pdf


def lecture_figure(name: str) -> viz.Diagram:
    """A figure of ``python -m viz demo`` (with gradients), drawn as the demo draws it."""
    for figure, build, options in FIGURES:
        if figure == name:
            roots, titles = build()
            digits = max(2, MIN_PRECISION.get(name, 0))
            return viz.draw(roots, titles=titles, precision=digits, **options)
    raise KeyError(name)


@needs_pdflatex
@pytest.mark.parametrize("name", [name for name, _, _ in FIGURES])
def test_lecture_figures_compile_to_one_page_the_svg_size(
    name: str, renderer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    diagram = lecture_figure(name)
    size = render_module.svg_size_points(diagram.svg())
    assert size is not None
    pdf = pdflatex(tmp_path, name, standalone_tex(diagram.svg()))
    pages = PdfReader(pdf).pages
    assert len(pages) == 1
    box = pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(size, abs=0.1)


@needs_pdflatex
def test_every_special_and_symbol_compiles(tmp_path: Path) -> None:
    labels = ["<b>&x", "a\\b{c}", "$5 #1 ^_~ 100%", "×Σσ−·²∂←…θη\u00a0é☃", '"q"`\'', "--,,"]
    leaves = [Value(float(i + 1), label=label) for i, label in enumerate(labels)]
    f = leaves[0]
    for leaf in leaves[1:]:
        f = f * leaf
    f.backward()
    pdf = pdflatex(tmp_path, "labels", standalone_tex(viz.draw(f).svg()))
    assert len(PdfReader(pdf).pages) == 1


@needs_pdflatex
def test_beamer_step_through_has_one_page_per_step(tmp_path: Path) -> None:
    stepper = viz.step(small_graph())
    document = beamer_tex(
        [f.svg() for f in stepper], [f.caption for f in stepper], "z = x y + x: σ(x) & <b> 100%"
    )
    pdf = pdflatex(tmp_path, "steps", document)
    assert len(PdfReader(pdf).pages) == len(stepper)

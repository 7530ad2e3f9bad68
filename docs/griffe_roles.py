"""A griffe extension: our reST-flavoured docstrings, read as the Markdown mkdocstrings renders.

The docstrings are written for readers of the source (and ``help()``): Sphinx roles such as
``:class:`~autograd.Value```, ``::`` before an indented block, and doctest lines. Before
mkdocstrings renders them, each docstring is rewritten so that

* a role becomes a cross-reference to the object it names (resolved in the module that wrote
  it, as Sphinx would: ``:class:`Tensor``` in ``autograd.tensor`` is ``autograd.tensor.Tensor``),
  shown as code; a name that is not documented on the site stays code, without a link;
* ``text::`` before an indented block reads ``text:`` (the block is already a Markdown code
  block);
* a run of ``>>>`` lines with their printed results becomes a ``pycon`` code block;
* a reST "simple table" (columns under runs of ``=``) becomes a Markdown table.

The source is never changed: this runs only when the site is built.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _lookup(collection: griffe.ModulesCollection, path: str) -> griffe.Object | None:
    try:
        found = collection.get_member(path)
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    if isinstance(found, griffe.Alias):
        try:
            return found.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None
    return found if isinstance(found, griffe.Object) else None


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """The documented path that ``name``, written in ``obj``'s docstring, refers to."""
    collection = obj.modules_collection
    scopes = [obj, *_parents(obj)]
    for scope in scopes:
        target = _lookup(collection, f"{scope.path}.{name}")
        if target is not None:
            return target.path
    target = _lookup(collection, name)
    return target.path if target is not None else None


def _parents(obj: griffe.Object) -> list[griffe.Object]:
    found: list[griffe.Object] = []
    parent = obj.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def _role(obj: griffe.Object, match: re.Match[str]) -> str:
    short, name = match.group(1) == "~", match.group(2).strip()
    bare = name.removesuffix("()")
    shown = bare.rsplit(".", 1)[-1] if short else bare
    code = f"<code>{shown}</code>"
    path = _resolve(obj, bare) or bare
    return f'<autoref identifier="{path}" optional>{code}</autoref>'


def _doctests(text: str) -> str:
    """Wrap each run of ``>>>`` lines (with their output, up to a blank line) in a fence."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        block = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i].removeprefix(indent))
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
    return "\n".join(out)


BORDER = re.compile(r"^=+( +=+)+$")


def _columns(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _cells(line: str, columns: list[tuple[int, int]]) -> list[str]:
    bounds = [start for start, _ in columns[1:]] + [len(line) + 1]
    starts = [start for start, _ in columns]
    return [line[a:b].strip() for a, b in zip(starts, bounds, strict=True)]


def _tables(text: str) -> str:
    """Turn reST simple tables (header, rows; a row with an empty first cell continues the
    row above it) into Markdown tables."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not BORDER.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        columns = _columns(lines[i])
        borders = [j for j in range(i, len(lines)) if BORDER.match(lines[j])][:3]
        if len(borders) < 3:
            out.append(lines[i])
            i += 1
            continue
        header = _cells(lines[borders[0] + 1], columns)
        rows: list[list[str]] = []
        for line in lines[borders[1] + 1 : borders[2]]:
            cells = _cells(line, columns)
            if rows and not cells[0]:
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
            elif line.strip():
                rows.append(cells)
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        i = borders[2] + 1
    return "\n".join(out)


def rewrite(obj: griffe.Object, text: str) -> str:
    """The Markdown that mkdocstrings renders for one docstring."""
    text = ROLE.sub(lambda m: _role(obj, m), text)
    text = re.sub(r"(\S)::[ \t]*$", r"\1:", text, flags=re.MULTILINE)
    text = re.sub(r"^[ \t]*::[ \t]*$", "", text, flags=re.MULTILINE)
    return _tables(_doctests(text))


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of a package once the whole package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj, obj.docstring.value)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not isinstance(member, griffe.Alias):
            found += _walk(member)
    return found

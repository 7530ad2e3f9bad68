"""README's code runs as printed, so it cannot rot.

Every ```python block of README.md runs, top to bottom, in one namespace (a later block uses
what an earlier one made, as a reader's session would), in a temporary folder (the files the
tour saves land there). Where a line is an expression or an assignment followed by a comment
that starts with a Python literal (``f.data, x.grad  # (-12.0, -4.0)``, ``q = W @ x  # [0.22,
0.26]``, ``train.title  # '2 training steps ...'``), the value must equal the literal, numbers
to the digits the comment prints. The ```bash blocks' ``python -m viz`` commands run too, with
this interpreter; the Quickstart's set-up commands (a new virtual environment, an install) are
what CI itself runs, so they are not repeated here.
"""

from __future__ import annotations

import ast
import io
import re
import shlex
import subprocess
import sys
import tokenize
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, code) of every fenced block in ``language``."""
    text = README.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 2, match.group(2))
        for match in FENCE.finditer(text)
        if match.group(1) == language
    ]


def claimed(comment: str) -> tuple[Any, int] | None:
    """The literal a comment starts with, and how many decimals its numbers print (the
    precision of the claim); None when the comment is prose."""
    text = comment.lstrip("#").strip()
    for end in range(len(text), 0, -1):  # the longest prefix that is a literal
        head = text[:end].rstrip(" :=,")
        try:
            value = ast.literal_eval(head)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(value, (int, float)) and not head.lstrip("-").replace(".", "").isdigit():
            continue  # a bare word such as "1e" or a sum written in prose
        decimals = [len(d) for d in re.findall(r"\d\.(\d+)", head)]
        return value, max(decimals, default=0)
    return None


def agrees(value: Any, expected: Any, decimals: int) -> bool:
    if isinstance(expected, str) or isinstance(value, str):
        return bool(value == expected)
    if isinstance(expected, bool) or isinstance(value, bool):
        return bool(value == expected)
    if hasattr(value, "data") and not isinstance(value, (int, float, tuple, list)):
        value = value.data  # a Value or a Tensor: its number(s)
    if isinstance(expected, tuple) and isinstance(value, tuple):
        if len(expected) != len(value):
            return False
        return all(agrees(v, e, decimals) for v, e in zip(value, expected, strict=True))
    try:
        got = np.asarray(value, dtype=float)
        want = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return bool(value == expected)
    if got.shape != want.shape:
        return False
    tolerance = 0.5 * 10.0**-decimals + 1e-12
    return bool(np.all(np.abs(got - want) <= tolerance))


def commented_expressions(code: str) -> dict[int, str]:
    """Line number (1-based, in ``code``) -> comment, for lines with code and a comment."""
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    return comments


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One namespace for the whole tour, and a folder to run it in."""
    return {"__name__": "readme", "_folder": tmp_path_factory.mktemp("readme")}


def test_readme_has_python_blocks() -> None:
    assert len(blocks("python")) >= 6


@pytest.mark.parametrize(("line", "code"), blocks("python"), ids=lambda v: f"line{v}")
def test_python_block_runs_as_printed(
    line: int, code: str, session: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(session["_folder"])
    comments = commented_expressions(code)
    tree = ast.parse(code, filename=f"README.md:{line}")
    for statement in tree.body:
        where = f"README.md line {line + statement.lineno - 1}"
        if isinstance(statement, ast.Expr):
            value = eval(compile(ast.Expression(statement.value), where, "eval"), session)
            comment = comments.get(statement.end_lineno or statement.lineno)
            claim = claimed(comment) if comment else None
            if claim is not None:
                expected, decimals = claim
                assert agrees(value, expected, decimals), (
                    f"{where}: {ast.unparse(statement.value)} is {value!r}, README says {comment}"
                )
        else:
            exec(compile(ast.Module([statement], []), where, "exec"), session)
            comment = comments.get(statement.end_lineno or statement.lineno)
            claim = claimed(comment) if comment else None
            targets = getattr(statement, "targets", [])
            if claim is not None and len(targets) == 1 and isinstance(targets[0], ast.Name):
                value, (expected, decimals) = session[targets[0].id], claim
                assert agrees(value, expected, decimals), (
                    f"{where}: {targets[0].id} is {value!r}, README says {comment}"
                )


def shell_commands() -> list[tuple[int, str]]:
    """The ``python -m viz`` commands of the bash blocks (continuation lines joined)."""
    found = []
    for line, code in blocks("bash"):
        joined = code.replace("\\\n", " ")
        for offset, command in enumerate(joined.splitlines()):
            if command.startswith("python -m viz"):
                found.append((line + offset, command))
    return found


@pytest.mark.parametrize(("line", "command"), shell_commands(), ids=lambda v: f"line{v}")
def test_shell_command_runs_as_printed(line: int, command: str, tmp_path: Path) -> None:
    argv = shlex.split(command)
    argv[0] = sys.executable
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"README.md line {line}: {command}\n{done.stderr}"
    assert "Traceback" not in done.stderr


def test_the_literal_reader_reads_what_readme_writes() -> None:
    assert claimed("# (-12.0, -4.0, -4.0, 3.0)") == ((-12.0, -4.0, -4.0, 3.0), 1)
    assert claimed("# [0.22, 0.26]") == ([0.22, 0.26], 2)
    assert claimed("# ||W x||^2 = 0.116") is None
    assert claimed("# shows inline in Jupyter") is None
    assert claimed("# (5, 10)") == ((5, 10), 0)
    assert agrees(0.1159, 0.116, 3) and not agrees(0.1169, 0.116, 3)

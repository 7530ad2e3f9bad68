"""The scalar engine is read in one sitting, and ``x + y`` is followed to its gradient in two
files.

Students read ``autograd/`` to learn backprop, so its size is a feature to guard. The budgets
count *code lines*: lines with code on them, not blank lines, comments or docstrings (the
docstrings carry the math and are meant to be read too, but they are prose).

Why these numbers: the scalar engine (the op table ``ops.py`` and ``engine.py``: the node,
``apply``, the backward walk, grad mode, ``Value``) was 845 code lines when this test was
written; 900 leaves room for a few more ops (an entry is about 10 lines) but not for a second
copy of anything. Read at a steady pace that is about an hour. The walk itself is held to what
fits on a screen, with its docstring, and ``apply`` to half of that.
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
from pathlib import Path
from typing import Any

import autograd
from autograd import Value, engine, ops

AUTOGRAD = Path(autograd.__file__).parent

#: ops.py + engine.py, in code lines.
SCALAR_ENGINE_BUDGET = 900
#: the backward walk (autograd.engine.backprop), in code lines.
WALK_BUDGET = 35
#: the one place where the graph grows (autograd.engine.apply), in code lines.
APPLY_BUDGET = 16


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    lines: set[int] = set()
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in skip or token.type == tokenize.ENDMARKER:
            continue
        lines.update(n for n in range(token.start[0], token.end[0] + 1) if n not in docstrings)
    return len(lines)


def test_code_lines_skip_docstrings_comments_and_blanks() -> None:
    source = '''"""Module docstring,
over two lines."""

x = 1  # a comment


def f(a):
    """f's docstring."""
    # a comment line
    return (a +
            x)
'''
    assert code_lines(source) == 4  # x = 1, def f, and the return over two lines


def test_the_scalar_engine_is_read_in_one_sitting() -> None:
    files = [AUTOGRAD / "ops.py", AUTOGRAD / "engine.py"]
    total = sum(code_lines(f.read_text(encoding="utf-8")) for f in files)
    assert total <= SCALAR_ENGINE_BUDGET, (
        f"ops.py + engine.py are {total} code lines, over the budget of "
        f"{SCALAR_ENGINE_BUDGET}: make something shorter, or argue for a larger budget here"
    )


def test_the_walk_fits_on_a_screen_and_apply_in_half() -> None:
    walk = code_lines(inspect.getsource(engine.backprop))
    grow = code_lines(inspect.getsource(engine.apply))
    assert walk <= WALK_BUDGET, f"backprop is {walk} code lines (budget {WALK_BUDGET})"
    assert grow <= APPLY_BUDGET, f"apply is {grow} code lines (budget {APPLY_BUDGET})"


def test_x_plus_y_is_followed_to_its_gradient_in_two_files() -> None:
    """x + y runs Value.__add__, which is the add gate applying ops.ADD; backward runs the walk.
    Every function on that path is defined in engine.py or ops.py."""
    x, y = Value(2.0), Value(3.0)
    f = x + y
    assert f.gate is ops.ADD
    on_the_path: list[Any] = [
        Value.__add__,  # the gate (a fast path of apply, engine.py)
        engine.apply,
        ops.ADD.forward,
        ops.ADD.local,
        Value.backward,
        engine.fast_backprop,
        engine.backprop,
        engine.topological_order,
    ]
    files = {Path(inspect.getsourcefile(function) or "").name for function in on_the_path}
    assert files == {"engine.py", "ops.py"}


def test_the_engine_has_no_file_writing_and_no_old_modules() -> None:
    names = {p.stem for p in AUTOGRAD.glob("*.py")}
    assert "files" not in names  # atomic file writing lives in nn/files.py
    assert not names & {"graph", "value"}  # merged into engine.py

"""The mistakes a beginner makes with ``python -m viz``, and the message each one gets (issue 13).

Each row is what a user types, the whole message they read after ``error:``, and the column of
the caret shown under the offending token (None: the mistake is not at one place in the text).
Every message speaks of the expression as written (``/``, ``**``, the name as typed), suggests
the likely fix, and never shows a traceback or Python's own wording. Most rows run in-process
through :func:`viz.__main__.main`, as the other CLI tests do; a few run the real
``python -m viz`` in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteError
from viz.__main__ import main
from viz.expression import FUNCTION_LIST, ExpressionError, build, names_in, parse

OUT = ["-o", "f.dot"]
FUNCTIONS = FUNCTION_LIST
ALLOWED = "use names, numbers, + - * / **, unary - and functions such as exp(x) or max(x, y)"

#: Python's words, which a user must never read.
PYTHON_WORDING = [
    "Traceback",
    "invalid syntax",
    "invalid decimal literal",
    "invalid character",
    "was never closed",
    "Perhaps you forgot",
    "math domain error",
    "math range error",
    "truediv",
    "NoneType",
    "unsupported operand",
    "SyntaxError",
    "ValueError",
    "invalid int value",
]

MISTAKES = [
    pytest.param(
        ["x / y", "--set", "x=1", "--set", "y=0", *OUT],
        "x / y is undefined at y = 0: division by zero; y must not be 0",
        3,
        id="division-by-zero",
    ),
    pytest.param(
        ["x^2", "--set", "x=3", *OUT],
        "the operator ^ is not allowed (column 2): ^ is not a power in Python notation (it is "
        "bitwise xor); did you mean **, as in x**2?",
        2,
        id="caret-power",
    ),
    pytest.param(
        ["2x", "--set", "x=3", *OUT],
        "'x' (column 2) follows '2' with no operator between them; multiplication must be "
        "written with *: did you mean 2*x?",
        2,
        id="implicit-number-name",
    ),
    pytest.param(
        ["x ** 0.5", "--set", "x=0", *OUT],
        "x ** 0.5 has no finite slope at x = 0: x ** 0.5 = 0 there, but its slope 0.5 * x ** "
        "-0.5 is infinite, and every gate of the graph keeps its slope; x ** 0.5 needs x > 0",
        3,
        id="sqrt-power-at-zero",
    ),
    pytest.param(
        ["x ** 0.5", "--set", "x=-4", *OUT],
        "x ** 0.5 is undefined at x = -4: a fractional power of a negative number is not "
        "real; x ** 0.5 needs x > 0",
        3,
        id="fractional-power-negative",
    ),
    pytest.param(
        ["x ** y", "--set", "x=-2", "--set", "y=0.5", *OUT],
        "x ** y is undefined at x = -2: with an exponent that is an input, the base must be > "
        "0: the gradient with respect to the exponent is x ** y * log(x), and log needs x > "
        "0; for a negative base use a number exponent, as in x ** 2",
        3,
        id="power-negative-base-input-exponent",
    ),
    pytest.param(
        ["exp(x)", "--set", "x=710", *OUT],
        "exp(x) overflows at x = 710: e to the power 710 is too large for a float (the "
        "largest is about 1.8e308), so exp needs x <= 709.78",
        1,
        id="exp-overflow",
    ),
    pytest.param(
        ["sine(x)", "--set", "x=1", *OUT],
        "there is no function 'sine' (column 1); did you mean sin(x)? The functions are "
        f"{FUNCTIONS}",
        1,
        id="unknown-function",
    ),
    pytest.param(
        ["ln(x)", "--set", "x=1", *OUT],
        f"there is no function 'ln' (column 1); did you mean log(x)? The functions are {FUNCTIONS}",
        1,
        id="ln",
    ),
    pytest.param(
        ["Exp(x)", "--set", "x=1", *OUT],
        "there is no function 'Exp' (column 1); did you mean exp(x)? The functions are "
        f"{FUNCTIONS}",
        1,
        id="capitalised-function",
    ),
    pytest.param(
        ["foo(x)", "--set", "x=1", *OUT],
        f"there is no function 'foo' (column 1). The functions are {FUNCTIONS}",
        1,
        id="unknown-function-no-match",
    ),
    pytest.param(
        ["(x + 1", "--set", "x=1", *OUT],
        "the ( at column 1 is never closed; did you mean (x + 1)?",
        1,
        id="unclosed-bracket",
    ),
    pytest.param(
        ["x + 1)", "--set", "x=1", *OUT],
        "the ) at column 6 closes a bracket that was never opened; remove it, or add the ( it "
        "belongs to",
        6,
        id="extra-closing-bracket",
    ),
    pytest.param(
        ["(x + 1]", "--set", "x=1", *OUT],
        "the ] at column 7 closes the ( at column 1; did you mean )? (brackets are ( and ) only)",
        7,
        id="wrong-closing-bracket",
    ),
    pytest.param(
        ["x +", "--set", "x=1", *OUT],
        "the + at column 3 has nothing after it, before the end; add what it applies to, as "
        "in x + 1",
        3,
        id="missing-operand",
    ),
    pytest.param(
        ["* x", "--set", "x=1", *OUT],
        "the * at column 1 has nothing before it; add what it applies to, as in 2 * x",
        1,
        id="missing-left-operand",
    ),
    pytest.param(
        ["x +* y", "--set", "x=1", "--set", "y=1", *OUT],
        "the * at column 4 follows the + at column 3 with nothing between them; remove one, "
        "or put an operand between them",
        4,
        id="two-operators",
    ),
    pytest.param(
        ["x = 2", *OUT],
        "'=' (column 3) is not allowed in an expression; give values with --set, not in the "
        "expression: --set x=2",
        3,
        id="assignment",
    ),
    pytest.param(
        ["f = x * y", "--set", "x=1", "--set", "y=2", *OUT],
        "'=' (column 3) is not allowed in an expression; write only the right-hand side: x * y",
        3,
        id="equation",
    ),
    pytest.param(
        ["x * 1,5", "--set", "x=1", *OUT],
        "the comma at column 6 is inside a number: the decimal point is a .; did you mean x * 1.5?",
        6,
        id="decimal-comma",
    ),
    pytest.param(
        ["1,000 * x", "--set", "x=1", *OUT],
        "the comma at column 2 is inside a number: numbers are written without a thousands "
        "separator; did you mean 1000 * x? (or 1.000 * x, if it is a decimal point)",
        2,
        id="thousands-separator",
    ),
    pytest.param(
        ["x * 2", "--set", "x=1", "--set", "y=2", *OUT],
        "y is given a value but not used in the expression (its inputs are x)",
        None,
        id="unknown-variable-in-set",
    ),
    pytest.param(
        ["x * y", "--set", "x=1", *OUT],
        "no value for y: add --set y=NUMBER",
        5,
        id="variable-without-value",
    ),
    pytest.param(
        ["log(x)", "--set", "x=0", *OUT],
        "log(x) is undefined at x = 0: log(0) is minus infinity; log needs x > 0",
        1,
        id="log-of-zero",
    ),
    pytest.param(
        ["log(x)", "--set", "x=-1", *OUT],
        "log(x) is undefined at x = -1: the log of a negative number is not real; log needs x > 0",
        1,
        id="log-of-negative",
    ),
    pytest.param(
        ["sqrt(x)", "--set", "x=-4", *OUT],
        "sqrt(x) is undefined at x = -4: the square root of a negative number is not real; "
        "sqrt needs x > 0",
        1,
        id="sqrt-of-negative",
    ),
    pytest.param(
        ["sqrt(x)", "--set", "x=0", *OUT],
        "sqrt(x) has no finite slope at x = 0: sqrt(0) = 0, but its slope 1/(2*sqrt(x)) is "
        "infinite there, and every gate of the graph keeps its slope; sqrt needs x > 0",
        1,
        id="sqrt-at-zero",
    ),
    pytest.param(
        ["1/0", *OUT],
        "1/0 is undefined: division by zero; the divisor must not be 0",
        2,
        id="constants-divided-by-zero",
    ),
    pytest.param(
        ["1 / (x - 1)", "--set", "x=1", *OUT],
        "1 / (x - 1) is undefined at x = 1 (where x - 1 = 0): division by zero; (x - 1) must "
        "not be 0",
        3,
        id="division-by-sub-expression",
    ),
    pytest.param(
        ["", *OUT], 'the expression is empty: type one, in quotes, e.g. "x * y"', None, id="empty"
    ),
    pytest.param(
        ["x.__class__", "--set", "x=1", *OUT],
        f"attribute access not allowed: 'x.__class__' (column 1); {ALLOWED}",
        1,
        id="attribute-access",
    ),
    pytest.param(
        ["import os", *OUT],
        "'import' (column 1) is a Python keyword: an expression is not Python code and is "
        f"never run; {ALLOWED}",
        1,
        id="import",
    ),
    pytest.param(
        ["__import__('os').system('ls')", *OUT],
        "calling '__import__('os').system' (column 1) is not allowed: the functions are "
        f"{FUNCTIONS}",
        1,
        id="dunder-import",
    ),
    pytest.param(
        ["x+" * 6000 + "x", *OUT],
        "the expression is 12001 characters long; the limit is 10000",
        None,
        id="too-long",
    ),
    pytest.param(
        ["x − 1", "--set", "x=1", *OUT],
        "'−' (column 3) is a typographic minus sign, not the - of the keyboard; did you mean "
        "x - 1?",
        3,
        id="unicode-minus",
    ),
    pytest.param(
        ["x × y", "--set", "x=1", "--set", "y=2", *OUT],
        "'×' (column 3) is a multiplication sign, not the * of the keyboard; did you mean x * y?",
        3,
        id="times-sign",
    ),
    pytest.param(
        ["x² + 1", "--set", "x=1", *OUT],
        "'²' (column 2) is a superscript; a power is written with **: did you mean x**2 + 1?",
        2,
        id="superscript-two",
    ),
    pytest.param(
        ["√x", "--set", "x=1", *OUT],
        "'√' (column 1) is a square-root sign; write the function: did you mean sqrt(x)?",
        1,
        id="root-sign",
    ),
    pytest.param(
        ["(x+1)(x-1)", "--set", "x=1", *OUT],
        "the bracket at column 6 follows 'x+1' with no operator between them; multiplication "
        "must be written with *: did you mean (x+1)*(x-1)?",
        6,
        id="implicit-brackets",
    ),
    pytest.param(
        ["2(x+1)", "--set", "x=1", *OUT],
        "the bracket at column 2 follows '2' with no operator between them; multiplication "
        "must be written with *: did you mean 2*(x+1)?",
        2,
        id="implicit-number-bracket",
    ),
    pytest.param(
        ["x(y+1)", "--set", "x=1", "--set", "y=1", *OUT],
        "x is not a function (column 1); to multiply, write * before the bracket: did you "
        f"mean x*(y+1)? The functions are {FUNCTIONS}",
        2,
        id="variable-called",
    ),
    pytest.param(
        ["sin x", "--set", "x=1", *OUT],
        "a function needs brackets around its argument (column 5); did you mean sin(x)?",
        5,
        id="function-without-brackets",
    ),
    pytest.param(
        ["x y", "--set", "x=1", "--set", "y=1", *OUT],
        "'y' (column 3) follows 'x' with no operator between them; multiplication must be "
        "written with *: did you mean x * y?",
        3,
        id="names-side-by-side",
    ),
    pytest.param(
        ["(x+1)x", "--set", "x=1", *OUT],
        "'x' (column 6) follows ')' with no operator between them; multiplication must be "
        "written with *: did you mean (x+1)*x?",
        6,
        id="bracket-then-name",
    ),
    pytest.param(
        ["math.exp(x)", "--set", "x=1", *OUT],
        "write exp(x) without 'math.' (column 1): the functions are built in",
        1,
        id="math-prefix",
    ),
    pytest.param(
        ["x // 2", "--set", "x=1", *OUT],
        "the operator // is not allowed (column 3): // is floor division, which has no "
        "gradient; did you mean /, as in x / 2?",
        3,
        id="floor-division",
    ),
    pytest.param(
        ["x ** -1", "--set", "x=0", *OUT],
        "x ** -1 is undefined at x = 0: 0 to a negative power divides by zero; x ** -1 needs "
        "x != 0",
        3,
        id="negative-power-at-zero",
    ),
    pytest.param(
        ["x ** 2000", "--set", "x=10", *OUT],
        "x ** 2000 overflows at x = 10: the result is too large for a float (the largest is "
        "about 1.8e308); use smaller values",
        3,
        id="power-overflow",
    ),
    pytest.param(
        ["x $ 2", "--set", "x=1", *OUT],
        f"'$' (column 3) cannot be used in an expression; {ALLOWED}",
        3,
        id="stray-character",
    ),
    pytest.param(
        ["max(x)", "--set", "x=1", *OUT],
        "max takes 2 arguments and no keywords, in 'max(x)' (column 1)",
        1,
        id="wrong-arity",
    ),
    pytest.param(
        ["exp()", *OUT],
        "exp takes 1 argument and no keywords, in 'exp()' (column 1)",
        1,
        id="empty-call",
    ),
    pytest.param(
        ["x", "--set", "x:2", *OUT],
        "--set wants NAME=NUMBER, got 'x:2'; did you mean --set x=2?",
        None,
        id="set-without-equals",
    ),
    pytest.param(
        ["x", "--set", "x=abc", *OUT],
        "--set x: 'abc' is not a number; give a plain number, as in 2, -0.5 or 1e-3",
        None,
        id="set-not-a-number",
    ),
    pytest.param(
        ["x", "--set", "x=1,5", *OUT],
        "--set x: '1,5' is not a number (the decimal point is a .); did you mean --set x=1.5?",
        None,
        id="set-decimal-comma",
    ),
    pytest.param(
        ["x", "--set", "x=−2", *OUT],
        "--set x: '−2' is not a number ('−' is not the - of the keyboard); did you mean --set "
        "x=-2?",
        None,
        id="set-unicode-minus",
    ),
    pytest.param(
        ["x", "--set", "x=", *OUT],
        "--set x: '' is not a number; give a value, as in --set x=2",
        None,
        id="set-empty-value",
    ),
    pytest.param(
        ["x", "--set", "x=pi", *OUT],
        "--set x: 'pi' is not a number; write the digits: --set x=3.141592653589793",
        None,
        id="set-pi",
    ),
    pytest.param(
        ["(x + y) * z", "--set", "x=-2,y=5,z=-4", *OUT],
        "--set x: '-2,y=5,z=-4' is not a number; one --set per value: --set x=-2 --set y=5 "
        "--set z=-4",
        None,
        id="set-several-at-once",
    ),
    pytest.param(
        ["(x + y) * z", "--set", "X=-2", "--set", "y=5", "--set", "z=-4", *OUT],
        "no value for x: add --set x=NUMBER (--set X was given: did you mean --set x?)",
        2,
        id="set-name-in-the-wrong-case",
    ),
    pytest.param(
        ["x", "--set", "x=1", "--set", "x=2", *OUT], "--set x is given twice", None, id="set-twice"
    ),
    pytest.param(
        ["x", "--set", "x=inf", *OUT],
        "--set x: the value must be finite, got inf",
        None,
        id="set-infinite",
    ),
    pytest.param(
        ["x", "--set", "x=1"],
        "nothing to write: add -o FILE (.svg, .png, .pdf, .tex or .dot), --frames DIR or "
        "--html FILE (see python -m viz --help)",
        None,
        id="no-output",
    ),
    pytest.param(
        ["x", "--set", "x=1", "--precision", "13", *OUT],
        "precision must be 0 to 12 digits (--precision N), got 13",
        None,
        id="precision-out-of-range",
    ),
    pytest.param(
        ["1e200 * (1e200 * x)", "--set", "x=1e-200", *OUT],
        "the gradients of 1e200 * (1e200 * x) overflow at these values: a gradient is too "
        "large for a float (the largest is about 1.8e308); use smaller values, or draw with "
        "--no-grad",
        None,
        id="gradient-overflow",
    ),
    pytest.param(
        ["   x ^ 2", "--set", "x=3", *OUT],
        "the operator ^ is not allowed (column 6): ^ is not a power in Python notation (it is "
        "bitwise xor); did you mean **, as in x ** 2?",
        6,
        id="leading-blanks-caret",
    ),
    pytest.param(
        ["e**x", "--set", "x=1", *OUT],
        "no value for e: add --set e=NUMBER (for e to a power write exp(x))",
        1,
        id="e-for-exp",
    ),
    pytest.param(
        ["x **", "--set", "x=1", *OUT],
        "the ** at column 3 has nothing after it, before the end; add what it applies to, as "
        "in x ** 1",
        3,
        id="power-without-exponent",
    ),
    pytest.param(
        ["max(x y)", "--set", "x=1", "--set", "y=2", *OUT],
        "'y' (column 7) follows 'x' with nothing between them; max takes its arguments "
        "separated by commas: did you mean max(x, y)?",
        7,
        id="missing-comma",
    ),
    pytest.param(
        ["2.5.3 * x", "--set", "x=1", *OUT],
        "a number has a second decimal point at column 4; a number has one point at most, as in "
        "2.5",
        4,
        id="two-decimal-points",
    ),
    pytest.param(
        ["x * ()", "--set", "x=1", *OUT],
        "the brackets at column 5 are empty; put an expression inside them",
        5,
        id="empty-brackets",
    ),
    pytest.param(
        ["x; y", "--set", "x=1", "--set", "y=1", *OUT],
        f"';' (column 2) cannot be used in an expression; {ALLOWED}",
        2,
        id="semicolon",
    ),
    pytest.param(
        ["'x'", *OUT], "only numbers are allowed as literals, not ''x'' (column 1)", 1, id="string"
    ),
    pytest.param(
        ["x == 1", "--set", "x=1", *OUT],
        f"comparisons not allowed: 'x == 1' (column 1); {ALLOWED}",
        1,
        id="comparison",
    ),
    pytest.param(
        ["lambda: 1", *OUT],
        f"lambdas not allowed: 'lambda: 1' (column 1); {ALLOWED}",
        1,
        id="lambda",
    ),
]
USAGE = [
    pytest.param(
        ["x * 2", "--at", "x=1", *OUT],
        "unrecognized arguments: --at x=1; did you mean --set x=1? (see python -m viz --help)",
        None,
        id="at-instead-of-set",
    ),
    pytest.param(
        ["(x + y) * z", "--at", "x=-2,y=5,z=-4", *OUT],
        "unrecognized arguments: --at x=-2,y=5,z=-4; did you mean --set x=-2 --set y=5 --set "
        "z=-4? (see python -m viz --help)",
        None,
        id="at-with-a-list",
    ),
    pytest.param(
        ["x * 2", "x=1", *OUT],
        "unrecognized arguments: x=1; did you mean --set x=1? (each value needs its own "
        "--set) (see python -m viz --help)",
        None,
        id="value-without-set",
    ),
    pytest.param(
        ["x", "--sett", "x=1", *OUT],
        "unrecognized arguments: --sett x=1; did you mean --set? (see python -m viz --help)",
        None,
        id="option-typo",
    ),
    pytest.param(
        ["x", "--set", "x", "=", "2", *OUT],
        "unrecognized arguments: = 2; write --set with no blanks around the =, as in --set x=2 "
        "(see python -m viz --help)",
        None,
        id="set-with-blanks",
    ),
    pytest.param(
        ["x", "--precision", "two", *OUT],
        "argument --precision: wants a whole number of digits from 0 to 12, got 'two' (see "
        "python -m viz --help)",
        None,
        id="precision-not-a-number",
    ),
    pytest.param(
        [],
        "the following arguments are required: EXPRESSION (see python -m viz --help)",
        None,
        id="missing-expression",
    ),
]


def run_in_process(
    args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    """Run the CLI on ``args`` in ``tmp_path``; check it failed with exit code 2, printed nothing
    on stdout and wrote nothing; return stderr."""
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as caught:  # argparse's usage errors exit by themselves
        code = caught.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []
    return captured.err


def check_message(err: str, expression: str | None, message: str, column: int | None) -> None:
    """``err`` is ``error: message``, then, with a column, the expression and a caret under it."""
    for words in PYTHON_WORDING:
        assert words not in err, err
    assert err.endswith("\n")
    lines = err[:-1].split("\n")
    assert lines[0] == f"error: {message}"
    if column is None:
        assert len(lines) == 1, err
        return
    assert expression is not None
    assert lines[1:] == [f"  {expression}", "  " + " " * (column - 1) + "^"], err


@pytest.mark.parametrize(("args", "message", "column"), MISTAKES + USAGE)
def test_each_mistake_gets_its_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
    column: int | None,
) -> None:
    err = run_in_process(args, tmp_path, monkeypatch, capsys)
    check_message(err, args[0] if args else None, message, column)


def test_the_table_is_long_enough() -> None:
    assert len(MISTAKES) + len(USAGE) >= 30
    ids = [param.id for param in MISTAKES + USAGE]
    assert len(set(ids)) == len(ids)
    assert sum(1 for param in MISTAKES if param.values[2] is not None) >= 30  # with a caret


SUBPROCESS = [
    "division-by-zero",
    "caret-power",
    "implicit-number-name",
    "exp-overflow",
    "unknown-function",
    "unicode-minus",
    "at-instead-of-set",
]


@pytest.mark.parametrize(
    ("args", "message", "column"),
    [param for param in MISTAKES + USAGE if param.id in SUBPROCESS],
)
def test_a_real_command_line_prints_the_same(
    tmp_path: Path, args: list[str], message: str, column: int | None
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    check_message(done.stderr, args[0], message, column)
    assert list(tmp_path.iterdir()) == []


def test_the_api_carries_the_column_and_both_error_kinds() -> None:
    """The library raises what the CLI prints: one line, a column, and for a domain error an
    error that is both an ExpressionError and the engine's NonFiniteError."""
    with pytest.raises(ExpressionError) as caught:
        parse("x^2")
    assert (caught.value.column, caught.value.text) == (2, "x^2")
    assert caught.value.pointer() == ["  x^2", "   ^"]
    with pytest.raises(NonFiniteError) as domain:
        build("x / y", {"x": 1.0, "y": 0.0})
    assert isinstance(domain.value, ExpressionError)
    assert domain.value.column == 3
    assert str(domain.value) == "x / y is undefined at y = 0: division by zero; y must not be 0"


def test_a_long_expression_shows_the_part_around_the_caret() -> None:
    text = "x + " * 30 + "y ^ 2" + " + x" * 30
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    shown, caret = caught.value.pointer()
    assert len(shown) <= 2 + 3 + 70 + 3
    assert shown[caret.index("^")] == "^"


ALPHABET = "xy+-*/^()=,.;2 0e" + "−×²√" + "sinexplogqrt" + "$'"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=30))
def test_any_text_gets_our_words_and_a_caret_inside_the_text(text: str) -> None:
    try:
        tree = parse(text)
        build(text, dict.fromkeys(names_in(tree), 0.0))  # 0: divisions, logs, roots fail
    except ExpressionError as error:
        message = str(error)
        assert "\n" not in message
        for words in PYTHON_WORDING:
            assert words not in message, message
        if error.column is not None:
            assert 1 <= error.column <= len(text) + 1, (text, error.column)
            assert error.pointer()[1].strip() == "^"
    except NonFiniteError:
        raise AssertionError(f"{text!r}: a domain error that is not an ExpressionError") from None

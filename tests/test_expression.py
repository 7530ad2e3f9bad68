"""``viz.expression``: text -> graph under a whitelist, with the lecture numbers as reference.

The refusal tests check three things each: the error is an ExpressionError, its message is one
line naming the offending part, and nothing ran (no import, no ``os.system``, no file).
"""

from __future__ import annotations

import ast
import builtins
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import OPS, NonFiniteError, Value, topological_order
from viz.expression import (
    FUNCTION_LIST,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_OPERATORS,
    ExpressionError,
    build,
    names_in,
    parse,
    parse_assignment,
)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail (instead of hanging the run) if the test takes over 10 s; POSIX only."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("took over 10 s: absurd input must be refused quickly")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, 10.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the lecture examples: reference numbers ------------------------------------------------


def leaves_of(root: Value) -> dict[str, Value]:
    """The named leaves below ``root``, found iteratively."""
    found: dict[str, Value] = {}
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.is_leaf:
            found.setdefault(node.label, node)
        stack.extend(node.parents)
    return found


def test_xyz_lecture_example() -> None:
    f = build("(x + y) * z", {"x": -2, "y": 5, "z": -4})
    f.backward()
    leaves = leaves_of(f)
    assert f.data == -12.0
    assert (leaves["x"].grad, leaves["y"].grad, leaves["z"].grad) == (-4.0, -4.0, 3.0)
    assert f.op == "mul"


def test_sigmoid_neuron_lecture_example() -> None:
    values = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    f = build("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", values)
    f.backward()
    leaves = leaves_of(f)
    assert f.data == pytest.approx(0.7310585786300049, abs=1e-12)
    expected = {
        "w0": -0.19661193324148185,
        "x0": 0.39322386648296376,
        "w1": -0.39322386648296376,
        "x1": -0.5898357997244457,
        "w2": 0.19661193324148185,
    }
    for name, grad in expected.items():
        assert leaves[name].grad == pytest.approx(grad, abs=1e-12), name


def test_same_name_is_one_leaf_the_copy_gate() -> None:
    f = build("x * x", {"x": 3})
    assert f.parents[0] is f.parents[1]
    f.backward()
    assert f.parents[0].grad == 6.0  # 3 + 3: the copy gate adds the two uses


def test_names_in_order_of_appearance() -> None:
    assert names_in(parse("z * (y + x) + exp(y) * w")) == ["z", "y", "x", "w"]
    assert names_in(parse("max(b, a) * b")) == ["b", "a"]


def test_signed_literal_is_one_constant_leaf() -> None:
    f = build("x * -1", {"x": 2})
    constant = f.parents[1]
    assert constant.is_leaf
    assert constant.label == "-1"
    assert constant.data == -1.0
    assert f.data == -2.0


@pytest.mark.parametrize(
    ("text", "label"),
    [("x * 2", "2"), ("x * 0.5", "0.5"), ("x * 1e-07", "1e-07"), ("x * 3.14159265", "3.14159265")],
)
def test_constant_labels_read_as_written_and_never_rounded(text: str, label: str) -> None:
    constant = build(text, {"x": 1}).parents[1]
    assert constant.label == label
    assert float(label) == constant.data


def test_number_exponent_is_the_one_input_power_gate() -> None:
    f = build("x ** 2", {"x": 3})
    assert (f.op, len(f.parents), f.data) == ("pow", 1, 9.0)
    inverse = build("x ** -1", {"x": 4})  # a signed number exponent too
    assert (inverse.op, len(inverse.parents), inverse.data) == ("pow", 1, 0.25)
    g = build("x ** y", {"x": 2, "y": 3})
    assert (g.op, len(g.parents), g.data) == ("pow_value", 2, 8.0)


def test_unary_minus_and_plus() -> None:
    assert build("-x", {"x": 2}).op == "neg"
    assert build("+x", {"x": 2}).is_leaf
    assert build("--x", {"x": 2}).data == 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exp(x)", math.exp(0.5)),
        ("log(x)", math.log(0.5)),
        ("sigmoid(x)", 1 / (1 + math.exp(-0.5))),
        ("tanh(x)", math.tanh(0.5)),
        ("relu(x)", 0.5),
        ("relu(-x)", 0.0),
        ("max(x, 2)", 2.0),
        ("max(x, -2)", 0.5),
        ("min(x, 2)", 0.5),
        ("min(x, -2)", -2.0),
        ("abs(-x)", 0.5),
        ("sqrt(x)", math.sqrt(0.5)),
        ("sin(x)", math.sin(0.5)),
        ("cos(x)", math.cos(0.5)),
        ("softplus(x)", math.log1p(math.exp(0.5))),
        ("x / 4 - 1", -0.875),
        ("2 ** x", 2**0.5),
    ],
)
def test_functions_and_operators(text: str, expected: float) -> None:
    assert build(text, {"x": 0.5}).data == pytest.approx(expected, rel=1e-15)


def test_the_functions_are_the_call_ops_of_the_table() -> None:
    """Every op on numbers written as a call is callable, with its arity; nothing else is."""
    expected = {
        name: op.arity for name, op in OPS.items() if op.forward is not None and not op.written
    }
    assert {name: arity for name, (arity, _) in FUNCTIONS.items()} == expected
    assert {"exp", "log", "sigmoid", "tanh", "relu", "max", "min", "abs", "sqrt"} <= set(expected)
    assert not {"add", "neg", "pow_value", "reciprocal", "matmul"} & set(FUNCTIONS)
    for name, (arity, gate) in FUNCTIONS.items():
        node = gate(*(Value(0.5 + i) for i in range(arity)))
        assert node.gate is OPS[name]
    assert FUNCTION_LIST.endswith("max(a, b) and min(a, b)")


def test_a_refused_call_lists_every_function() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("foo(x)")
    message = str(caught.value)
    assert message.endswith(f"The functions are {FUNCTION_LIST}")
    assert all(name in message for name in FUNCTIONS)


def test_gradients_through_the_functions_added_with_the_table() -> None:
    f = build("sqrt(x) * sin(x) + min(x, 1) * softplus(-x) + abs(cos(x))", {"x": 0.7})
    f.backward()
    (x,) = (node for node in topological_order(f) if node.label == "x")
    a = 0.7
    s = 1 / (1 + math.exp(a))  # σ(-a), softplus'(-a)
    expected = (
        math.cos(a) * math.sqrt(a)
        + math.sin(a) / (2 * math.sqrt(a))
        + math.log1p(math.exp(-a))
        - a * s
        - math.sin(a)
    )
    assert x.grad == pytest.approx(expected, rel=1e-12)


def test_a_constant_alone_is_a_leaf() -> None:
    f = build("3", {})
    assert f.is_leaf
    assert f.data == 3.0


def test_surrounding_blanks_are_fine() -> None:
    assert build("  x * 2\t", {"x": 1}).data == 2.0


# -- values: missing, unused, domain errors -------------------------------------------------


def test_missing_value_is_named_with_the_set_hint() -> None:
    with pytest.raises(ExpressionError) as caught:
        build("x * y + z", {"x": 1})
    assert str(caught.value) == "no value for y, z: add --set y=NUMBER --set z=NUMBER"


def test_unused_value_is_an_error() -> None:
    with pytest.raises(ExpressionError, match=r"^w is given a value but not used"):
        build("x", {"x": 1, "w": 1})


def test_domain_error_is_the_engines_one_line_message() -> None:
    with pytest.raises(NonFiniteError) as caught:
        build("log(x)", {"x": -1})
    assert "log" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x=-2", ("x", -2.0)), (" w0 = 1.5 ", ("w0", 1.5)), ("α=1e-3", ("α", 0.001))],
)
def test_parse_assignment(text: str, expected: tuple[str, float]) -> None:
    assert parse_assignment(text) == expected


def test_parse_assignment_normalises_names_as_python_does() -> None:
    name, _ = parse_assignment("ﬁ=1")  # the "fi" ligature: Python reads it as "fi"
    assert names_in(parse("ﬁ * 2")) == [name]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x", "NAME=NUMBER, got 'x'"),
        ("x=abc", "'abc' is not a number"),
        ("x=", "'' is not a number"),
        ("x=inf", "must be finite"),
        ("x=nan", "must be finite"),
        ("x=1e999", "must be finite"),
        ("1x=2", "'1x' is not a name"),
        ("=2", "'' is not a name"),
        ("if=2", "'if' is not a name"),
    ],
)
def test_parse_assignment_refusals(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_assignment(text)
    assert fragment in str(caught.value)


# -- the whitelist ---------------------------------------------------------------------------

REFUSED = [
    ("__import__('os').system('ls')", "calling '__import__('os').system'"),
    ("x.real", "attribute access not allowed: 'x.real'"),
    ("x[0]", "subscripts not allowed: 'x[0]'"),
    ("lambda: 1", "lambdas not allowed: 'lambda: 1'"),
    ("[a for a in b]", "comprehensions not allowed: '[a for a in b]'"),
    ("(a for a in b)", "comprehensions not allowed"),
    ("{a: 1}", "dicts not allowed: '{a: 1}'"),
    ("{a}", "sets not allowed"),
    ("[x]", "lists not allowed"),
    ("x, y", "tuples not allowed"),
    ("foo(x)", "there is no function 'foo' (column 1)"),
    ("exp(x, y)", "exp takes 1 argument and no keywords, in 'exp(x, y)'"),
    ("max(a, b=1)", "max takes 2 arguments and no keywords, in 'max(a, b=1)'"),
    ("max(*a)", "max takes 2 arguments"),
    ("exp", "exp is a function"),
    ('"s"', "only numbers are allowed as literals, not '\"s\"'"),
    ("b'x'", "only numbers are allowed as literals"),
    ("f'{x}'", "strings not allowed"),
    ("...", "only numbers are allowed as literals, not '...'"),
    ("None", "only numbers are allowed as literals, not 'None'"),
    ("1j", "only numbers are allowed as literals, not '1j'"),
    ("x < y", "comparisons not allowed: 'x < y'"),
    ("x and y", "and/or not allowed"),
    ("x if y else z", "if/else not allowed: 'x if y else z'"),
    ("(y := 2)", "assignment (:=) not allowed: 'y := 2'"),
    ("x // y", "the operator // is not allowed (column 3): // is floor division"),
    ("x % y", "the operator % is not allowed"),
    ("x @ y", "the operator @ is not allowed (column 3)"),
    ("x ^ y", "the operator ^ is not allowed"),
    ("not x", "the operator not is not allowed, in 'not x'"),
    ("~x", "the operator ~ is not allowed"),
    ("1e999", "the number '1e999' (column 1) is too large"),
    ("x * 1" + "0" * 400, "is too large"),
    ("True", "only numbers are allowed as literals, not 'True'"),
    ("__x", "names starting with __ are not allowed: '__x'"),
    ("await x", "await not allowed"),
    ("", "the expression is empty"),
    ("   ", "the expression is empty"),
    ("x +\ny", "must be a single line"),
    ("x\r+ y", "must be a single line"),
    ("x\0", "NUL"),
    ("import os", "'import' (column 1) is a Python keyword"),
    ("x; import os", "';' (column 2) cannot be used in an expression"),
    ("x = 1", "'=' (column 3) is not allowed in an expression; give values with --set"),
    ("(x + y", "the ( at column 1 is never closed; did you mean (x + y)?"),
    ("x +* y", "the * at column 4 follows the + at column 3"),
]


@pytest.mark.parametrize(("text", "fragment"), REFUSED)
def test_refused_with_a_one_line_message_naming_the_part(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        build(text, {"x": 1, "y": 2})
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message
    assert caught.value.__cause__ is None  # no chained Python internals in a traceback


def test_columns_count_characters_in_the_text_as_typed() -> None:
    with pytest.raises(ExpressionError, match=r"'y\.real' \(column 7\)"):
        parse("  é + y.real")  # two blanks stripped before parsing, é is two UTF-8 bytes
    with pytest.raises(ExpressionError, match="the \\( at column 7 is never closed") as caught:
        parse("  é + ( * y")
    assert caught.value.column == 7
    assert caught.value.pointer() == ["    é + ( * y", "        ^"]


def test_long_offending_parts_are_shortened() -> None:
    text = "x[" + "+".join(["y"] * 50) + "]"
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert "..." in str(caught.value)
    assert len(str(caught.value)) < 200


def test_text_only() -> None:
    with pytest.raises(ExpressionError, match="must be text"):
        parse(42)  # type: ignore[arg-type]


INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w')",
    "exec('import os')",
    "eval('1')",
    "exp.__globals__",
    "(lambda: __import__('os'))()",
    "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "x.__class__",
    "breakpoint()",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_attempts_run_nothing(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported: list[str] = []
    real_import = builtins.__import__

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        imported.append(name)
        return real_import(name, *args, **kwargs)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"something ran: {args}")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "breakpoint", forbidden)
    monkeypatch.setattr(os, "system", forbidden)
    monkeypatch.setattr(builtins, "__import__", spy)  # last: monkeypatch itself imports
    try:
        build(text, {"x": 1.0})
    except ExpressionError:
        refused = True
    else:
        refused = False
    monkeypatch.undo()  # before pytest's own machinery imports anything
    assert refused
    assert imported == []
    assert list(tmp_path.iterdir()) == []


# -- limits: absurd input is refused quickly and clearly -------------------------------------

ABSURD = [
    ("x" * 100_000, f"the limit is {MAX_LENGTH}"),
    ("x+" * 50_000 + "x", "100001 characters long"),
    ("-" * 10_000 + "x", "characters long"),
    ("(" * 10_000 + "x" + ")" * 10_000, "characters long"),
    ("-" * 5_000 + "x", f"the limit is {MAX_OPERATORS}"),
    ("x+" * 4_999 + "x", "4999 operators and brackets"),  # long but flat: a deep tree
    ("x**" * 3_000 + "x", "3000 operators"),
    ("x" + ".a" * 3_000, "3000 operators"),
    ("x" + "[0]" * 2_000, "2000 operators"),
    ("not " * 2_400 + "x", "2400 operators"),
    ("lambda:" * 1_400 + "x", "operators"),
    ("(" * 150 + "x" + ")" * 150, f"nested more than {MAX_DEPTH} deep"),
    ("exp(" * 150 + "x" + ")" * 150, f"nested more than {MAX_DEPTH} deep"),
    ("- " * 150 + "x", f"nested more than {MAX_DEPTH} deep"),
    ("1" * 5_000, "too many digits"),
]


@pytest.mark.parametrize(("text", "fragment"), ABSURD, ids=lambda v: str(v)[:20])
def test_absurd_input_is_refused_quickly(deadline: None, text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        build(text, {"x": 1})
    assert fragment in str(caught.value)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "text",
    [
        "x+" * MAX_OPERATORS + "x",  # left-nested: as deep as Python's default recursion limit
        "x**" * (MAX_OPERATORS // 2) + "x",  # right-nested
        "-(" * (MAX_DEPTH // 2) + "x" + ")" * (MAX_DEPTH // 2),
    ],
    ids=["plus-chain", "power-chain", "nested-minus"],
)
def test_deep_trees_within_the_limits_build_without_recursion(deadline: None, text: str) -> None:
    assert sys.getrecursionlimit() <= MAX_OPERATORS  # so a recursive walk would fail here
    f = build(text, {"x": 1.0})
    f.backward()
    assert math.isfinite(f.data)
    assert leaves_of(f)["x"].grad != 0.0


def test_plus_chain_value_and_gradient() -> None:
    f = build("+".join(["x"] * 1000), {"x": 0.5})
    f.backward()
    assert f.data == 500.0
    assert leaves_of(f)["x"].grad == 1000.0


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
def test_parser_giving_up_is_refused_cleanly(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    """The last line of defence: ast.parse's own limits shrink deep in a call stack."""

    def give_up(*args: object, **kwargs: object) -> ast.Expression:
        raise error()

    monkeypatch.setattr(ast, "parse", give_up)
    with pytest.raises(ExpressionError, match="too long or too deeply nested"):
        parse("x + y")


# -- properties ------------------------------------------------------------------------------

Leaf = tuple[str, Callable[[dict[str, float]], float]]


def _expressions() -> st.SearchStrategy[Leaf]:
    """Pairs (text, function computing the same thing with plain floats)."""
    names = st.sampled_from(["x", "y"]).map(lambda n: (n, lambda v, n=n: v[n]))
    numbers = st.sampled_from(["2", "0.5", "-1", "3"]).map(lambda t: (t, lambda v, t=t: float(t)))

    def extend(inner: st.SearchStrategy[Leaf]) -> st.SearchStrategy[Leaf]:
        def binary(symbol: str, op: Callable[[float, float], float]) -> st.SearchStrategy[Leaf]:
            return st.tuples(inner, inner).map(
                lambda ab: (
                    f"({ab[0][0]} {symbol} {ab[1][0]})",
                    lambda v: op(ab[0][1](v), ab[1][1](v)),
                )
            )

        return st.one_of(
            binary("+", lambda a, b: a + b),
            binary("-", lambda a, b: a - b),
            binary("*", lambda a, b: a * b),
            inner.map(lambda a: (f"-{a[0]}", lambda v: -a[1](v))),
            inner.map(lambda a: (f"tanh({a[0]})", lambda v: math.tanh(a[1](v)))),
            st.tuples(inner, inner).map(
                lambda ab: (
                    f"max({ab[0][0]}, {ab[1][0]})",
                    lambda v: max(ab[0][1](v), ab[1][1](v)),
                )
            ),
        )

    return st.recursive(st.one_of(names, numbers), extend, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3))
def test_built_graphs_compute_what_the_text_says(pair: Leaf, x: float, y: float) -> None:
    text, function = pair
    values = {"x": x, "y": y}
    used = {name: values[name] for name in names_in(parse(text))}
    assert build(text, used).data == pytest.approx(function(values), rel=1e-12, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xy+-*/()., 0123456789e_[]:=<>'\"lambdaexpmaxtnhr", max_size=40))
def test_any_text_gives_a_graph_or_a_clean_error(text: str) -> None:
    try:
        tree = parse(text)
    except ExpressionError as error:
        assert "\n" not in str(error)
        return
    values = dict.fromkeys(names_in(tree), 0.5)
    try:
        f = build(text, values)
    except NonFiniteError as error:  # a domain error at these values: 1/0, log(-0.5)...
        assert "\n" not in str(error)
    else:
        assert math.isfinite(f.data)

"""Arithmetic expressions as text, turned into graphs: ``"(x + y) * z"`` -> a Value.

The text is parsed with Python's :mod:`ast` and then *interpreted* by walking the tree under a
whitelist; nothing is ever evaluated by Python itself (no ``eval``, no ``compile`` to code).
Allowed:

* names (leaves; the same name twice is the same leaf, so ``x * x`` shows the copy gate),
* number literals (constant leaves; a signed literal such as ``-1`` is one leaf labelled "-1"),
* ``+ - * / **`` and unary ``-`` (and unary ``+``, which does nothing); ``x ** 2`` with a
  number exponent is the one-input power gate, ``x ** y`` the two-input one,
* calls of the :data:`FUNCTIONS`: every op of the op table (:data:`autograd.OPS`) that works on
  numbers and is written as a call, such as ``exp(a)``, ``sqrt(a)`` or ``max(a, b)``; an op
  registered there is callable here without a change to this module.

Anything else (attribute access, subscripts, lambdas, comprehensions, other calls, keyword
arguments, strings, comparisons...) is refused with a one-line :class:`ExpressionError` quoting
the offending part and its column.

Absurd input is refused before :func:`ast.parse` sees it, cheaply and with a message that says
what is wrong: over :data:`MAX_LENGTH` characters, over :data:`MAX_OPERATORS` operators and
brackets, or nested more than :data:`MAX_DEPTH` deep. The limits matter because ``ast.parse``
recurses in C: ``x+x+...+x`` is a *left-nested* tree as deep as it has terms, and a few thousand
levels make it raise ``RecursionError`` or ``MemoryError`` (both still caught, as a last line of
defence). Every walk over the tree here is iterative, so depth never reaches Python's stack.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import partial

from autograd import OPS, Value, apply

#: Longest expression text accepted, in characters.
MAX_LENGTH = 10_000
#: Deepest nesting accepted: brackets plus runs of unary signs (``--x`` is 2 deep).
MAX_DEPTH = 100
#: Most operators and brackets accepted. Far above any readable diagram, and far below the
#: few thousand levels at which ``ast.parse`` itself gives up on a chain like ``x+x+...+x``.
MAX_OPERATORS = 1_000

#: The functions an expression may call, by name: ``(number of arguments, the gate)``. Read
#: from the op table: every op on numbers (``forward`` is set) that is written as a call
#: (``exp(a)``, not ``a + b`` or ``-a``).
FUNCTIONS: dict[str, tuple[int, Callable[..., Value]]] = {
    op.name: (op.arity, partial(apply, op))
    for op in OPS.values()
    if op.forward is not None and not op.written
}


def _listed(functions: Mapping[str, tuple[int, Callable[..., Value]]]) -> str:
    """The functions as a user reads them: the one-argument ones by name, then the others as
    calls, ``exp, log, ..., max(a, b) and min(a, b)``."""
    names = [name for name, (arity, _) in functions.items() if arity == 1]
    names += [
        f"{name}({', '.join('abcdefgh'[:arity])})"
        for name, (arity, _) in functions.items()
        if arity != 1
    ]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


#: :data:`FUNCTIONS` as a user reads them, for messages and ``--help``.
FUNCTION_LIST = _listed(FUNCTIONS)

_BINARY: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}

#: Operators Python has and we do not, by the symbol a user typed.
_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}

# What every refusal suggests instead. It names one function of each arity only: the full list
# grows with the op table, and is given where it matters, when a call is refused, and in --help.
_EXAMPLES = [
    next(f"{name}({', '.join('xy'[:arity])})" for name, (n, _) in FUNCTIONS.items() if n == arity)
    for arity in (1, 2)
    if any(n == arity for n, _ in FUNCTIONS.values())
]
_ALLOWED = f"use names, numbers, + - * / **, unary - and functions such as {' or '.join(_EXAMPLES)}"

_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.NamedExpr: "assignment (:=)",
    ast.Starred: "* unpacking",
    ast.JoinedStr: "strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

# What counts towards MAX_OPERATORS: everything that can add a level to the tree, i.e. each
# operator symbol (``**`` and ``//`` once), opening bracket, attribute dot and operator keyword.
_OPERATOR = re.compile(
    r"\*\*|//|<<|>>|[-+*/%@<>=!&|^~,:(\[{]|\.(?=\s*[^\W\d])"
    r"|\b(?:not|and|or|if|lambda|await|yield|for|in|is)\b"
)


class ExpressionError(ValueError):
    """The expression text is not something we draw; the message says what and where."""


# -- parsing and validation -----------------------------------------------------------------


class _Source:
    """The text as parsed, with what is needed to point at a node in the *original* text.

    ``ast`` counts columns in UTF-8 bytes of the text it was given; we strip leading blanks
    (``mode="eval"`` refuses an indent) and users count characters, so both are corrected.
    """

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self.lead = len(text) - len(text.lstrip())
        try:
            self._utf8 = self.text.encode("utf-8")
        except UnicodeEncodeError as error:  # a lone surrogate: no text a user could type
            raise ExpressionError(
                f"the expression holds U+{ord(self.text[error.start]):04X} at character "
                f"{self.lead + error.start + 1}, which is not a character of any text; type "
                "it again"
            ) from None

    def column(self, byte_offset: int) -> int:
        """1-based character column in the original text of a byte offset in the parsed one."""
        return self.lead + len(self._utf8[:byte_offset].decode("utf-8", "replace")) + 1

    def where(self, node: ast.AST) -> str:
        """``'x.real' (column 5)``: the source of ``node``, shortened, and where it starts."""
        segment = ast.get_source_segment(self.text, node) or ""
        if len(segment) > 40:
            segment = segment[:37] + "..."
        return f"'{segment}' (column {self.column(getattr(node, 'col_offset', 0))})"

    def near(self, column: int) -> str:
        """Up to 20 characters of the original text from a 1-based character column."""
        start = max(column - 1 - self.lead, 0)
        excerpt = self.text[start : start + 20]
        return f" near '{excerpt}'" if excerpt else " at the end"


def _depth_of(text: str) -> int:
    """An upper bound on nesting, counted without parsing: brackets plus runs of unary signs."""
    depth = deepest = run = 0
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char in "+-~":
            run += 1
        elif not char.isspace():
            run = 0
        deepest = max(deepest, depth + run)
    return deepest


def parse(text: str) -> ast.expr:
    """Parse and validate ``text``; return the expression tree.

    Raises:
        ExpressionError: the text is empty, too long, too deep, not one line, not valid
            syntax, or uses anything outside the whitelist; the message names the part.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}"
        )
    if "\n" in text or "\r" in text:
        raise ExpressionError("the expression must be a single line")
    if "\0" in text:
        raise ExpressionError("the expression contains a NUL character")
    operators = len(_OPERATOR.findall(text))
    if operators > MAX_OPERATORS:
        raise ExpressionError(
            f"the expression has {operators} operators and brackets; the limit is "
            f"{MAX_OPERATORS} (a diagram that big is unreadable)"
        )
    if _depth_of(text) > MAX_DEPTH:
        raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} deep")
    source = _Source(text)
    try:
        tree = ast.parse(source.text, mode="eval")
    except SyntaxError as error:
        message = (error.msg or "invalid syntax").rstrip(".")
        if message.startswith("Exceeds the limit"):  # Python's int-string conversion limit
            raise ExpressionError("a number in the expression has too many digits") from None
        if error.offset:
            column = source.lead + error.offset
            raise ExpressionError(
                f"not a valid expression: {message} at column {column}{source.near(column)}"
            ) from None
        raise ExpressionError(f"not a valid expression: {message}") from None
    except (RecursionError, MemoryError, ValueError):
        # The limits above keep ast.parse well inside its own; this is the last line of defence
        # (the C parser's limits also shrink when we are called from deep in a stack).
        raise ExpressionError("the expression is too long or too deeply nested to parse") from None
    _validate(tree.body, source)
    return tree.body


def _validate(root: ast.expr, source: _Source) -> None:
    """Refuse every node that is not on the whitelist (iteratively: the tree may be deep)."""
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(
                    f"the operator {symbol} is not allowed, in {source.where(node)}; {_ALLOWED}"
                )
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise ExpressionError(
                    f"the operator {symbol} is not allowed, in {source.where(node)}; {_ALLOWED}"
                )
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                raise ExpressionError(
                    f"calling {source.where(node.func)} is not allowed: the functions are "
                    f"{FUNCTION_LIST}"
                )
            arity = FUNCTIONS[name][0]
            if node.keywords or len(node.args) != arity:
                raise ExpressionError(
                    f"{name} takes {arity} argument{'s' if arity > 1 else ''} and no keywords, "
                    f"in {source.where(node)}"
                )
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(
                    f"{node.id} is a function, at {source.where(node)}: call it, as {node.id}(x)"
                )
            if node.id.startswith("__"):
                raise ExpressionError(
                    f"names starting with __ are not allowed: {source.where(node)}"
                )
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ExpressionError(
                    f"only numbers are allowed as literals, not {source.where(node)}"
                )
            try:
                number = float(value)
            except OverflowError:  # an int literal beyond float64
                number = math.inf
            if not math.isfinite(number):
                raise ExpressionError(
                    f"the number {source.where(node)} is too large: the largest is about 1.8e308"
                )
        else:
            kind = _DESCRIPTIONS.get(type(node), type(node).__name__)
            raise ExpressionError(f"{kind} not allowed: {source.where(node)}; {_ALLOWED}")


def names_in(tree: ast.expr) -> list[str]:
    """The leaf names of a parsed expression, in order of first appearance in the text."""
    found = [
        (node.col_offset, node.id)
        for node in ast.walk(tree)  # breadth-first and iterative; sorted by position below
        if isinstance(node, ast.Name) and node.id not in FUNCTIONS
    ]
    return list(dict.fromkeys(name for _, name in sorted(found)))


# -- building the graph ---------------------------------------------------------------------


def build(text: str, values: Mapping[str, float]) -> Value:
    """Build the graph of ``text`` with the leaves set from ``values``; return its output.

    Each name becomes one leaf ``Value`` labelled with the name, used as often as the name
    appears; each number literal becomes a constant leaf labelled as the number reads.

    Raises:
        ExpressionError: the text is not allowed, a name has no value, or a value is given for
            a name the expression does not use (a typo, most likely).
        autograd.NonFiniteError: an op is outside its domain at these values (log of -1...).
    """
    tree = parse(text)
    used = names_in(tree)
    missing = [name for name in used if name not in values]
    if missing:
        hint = " ".join(f"--set {name}=NUMBER" for name in missing)
        raise ExpressionError(f"no value for {', '.join(missing)}: add {hint}")
    unused = [name for name in values if name not in used]
    if unused:
        verb = "is" if len(unused) == 1 else "are"
        raise ExpressionError(
            f"{', '.join(unused)} {verb} given a value but not used in the expression"
        )
    leaves = {name: Value(values[name], name) for name in used}
    return _interpret(tree, leaves)


def _number(node: ast.expr) -> float | None:
    """The value of a number literal, signed ones (``-1``) included; else None."""
    if isinstance(node, ast.Constant):
        return _literal(node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    return None


def _literal(node: ast.Constant) -> float:
    """A number literal's value; :func:`parse` has checked it is a finite int or float."""
    value = node.value
    assert isinstance(value, (int, float))
    return float(value)


def _label(number: float) -> str:
    """A constant's label: short (``2``, ``-1``, ``0.5``, ``1e-07``) but never a rounded lie."""
    short = f"{number:g}"
    if float(short) == number:
        return short
    if number.is_integer():
        return str(int(number))
    return repr(number)


def _operands(node: ast.expr) -> list[ast.expr]:
    """The sub-expressions whose Values ``node``'s gate takes, left to right."""
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Pow) and _number(node.right) is not None:
            return [node.left]  # a number exponent is part of the x**n gate, not an input
        return [node.left, node.right]
    if isinstance(node, ast.Call):
        return list(node.args)
    raise AssertionError(f"unvalidated node {type(node).__name__}")  # parse() rules this out


def _apply(node: ast.expr, inputs: list[Value]) -> Value:
    """Make ``node``'s gate from the Values of its operands."""
    if isinstance(node, ast.UnaryOp):
        return -inputs[0] if isinstance(node.op, ast.USub) else inputs[0]
    if isinstance(node, ast.BinOp):
        exponent = _number(node.right) if isinstance(node.op, ast.Pow) else None
        if exponent is not None:
            return inputs[0] ** exponent  # the one-input x**n gate
        return _BINARY[type(node.op)](inputs[0], inputs[1])
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return FUNCTIONS[node.func.id][1](*inputs)
    raise AssertionError(f"unvalidated node {type(node).__name__}")  # parse() rules this out


def _interpret(root: ast.expr, leaves: Mapping[str, Value]) -> Value:
    """Walk the validated tree bottom-up, making one gate per operation.

    Iterative post-order with an explicit stack (a recursive walk would hit Python's recursion
    limit on a left-nested chain such as ``x+x+...+x``). Operands are visited left to right,
    so gates are made in the order the text reads.
    """
    done: list[Value] = []  # Values of finished sub-expressions, in order
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, operands_ready = stack.pop()
        if operands_ready:
            count = len(_operands(node))
            inputs = done[len(done) - count :]
            del done[len(done) - count :]
            done.append(_apply(node, inputs))
            continue
        number = _number(node)
        if number is not None:  # a constant leaf, labelled as written: "* -1" shows "-1"
            done.append(Value(number, label=_label(number)))
        elif isinstance(node, ast.Name):
            done.append(leaves[node.id])
        else:
            stack.append((node, True))
            stack.extend((operand, False) for operand in reversed(_operands(node)))
    (result,) = done
    return result


# -- --set NAME=NUMBER ----------------------------------------------------------------------


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x=-2"`` -> ``("x", -2.0)`` for ``--set``; raises ExpressionError otherwise.

    The name is normalised as Python normalises identifiers (NFKC), so it matches the name as
    :func:`parse` reads it from the expression.
    """
    name, sep, number = text.partition("=")
    name = unicodedata.normalize("NFKC", name.strip())
    if not sep:
        raise ExpressionError(f"--set wants NAME=NUMBER, got {text!r}")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ExpressionError(f"--set wants NAME=NUMBER, and {name!r} is not a name")
    try:
        value = float(number)
    except ValueError:
        raise ExpressionError(f"--set {name}: {number.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"--set {name}: the value must be finite, got {number.strip()}")
    return name, value

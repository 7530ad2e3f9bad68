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

The messages are for a beginner, who should never read Python's own words ("invalid syntax",
"invalid decimal literal"): text that does not parse is read again by a small tokenizer of our
own that names the usual mistakes (a bracket never closed, ``x +``, ``2x``, ``x = 2``, ``−``
typed for ``-``), and a refused node says what was likely meant (``^`` -> ``**``, ``sine`` ->
``sin``, ``2(x+1)`` -> ``2*(x+1)``, ``1,5`` -> ``1.5``). An op outside its domain at the values
given is said as written, ``x / y is undefined at y = 0: division by zero``
(:class:`DomainError`). Every error carries the ``column`` of the offending token, for a caret.

Absurd input is refused before :func:`ast.parse` sees it, cheaply and with a message that says
what is wrong: over :data:`MAX_LENGTH` characters, over :data:`MAX_OPERATORS` operators and
brackets, or nested more than :data:`MAX_DEPTH` deep. The limits matter because ``ast.parse``
recurses in C: ``x+x+...+x`` is a *left-nested* tree as deep as it has terms, and a few thousand
levels make it raise ``RecursionError`` or ``MemoryError`` (both still caught, as a last line of
defence). Every walk over the tree here is iterative, so depth never reaches Python's stack.
"""

from __future__ import annotations

import ast
import difflib
import itertools
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from functools import partial

from autograd import OPS, NonFiniteError, Value, apply
from autograd.ops import Op, power

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
    """The expression text is not something we draw; the message says what and where.

    The message is one line. Where the mistake is at one place in the text, ``text`` is the
    expression as typed and ``column`` the 1-based character column of the offending token, so a
    terminal can show the text with a caret under it (:meth:`pointer`).
    """

    def __init__(self, message: str, *, text: str | None = None, column: int | None = None):
        super().__init__(message)
        self.text = text
        self.column = column

    def pointer(self) -> list[str]:
        """The expression and a caret ``^`` under the column, two lines for a terminal; a long
        expression is cut to the 70 characters around the caret. ``[]`` when there is no
        column."""
        if self.text is None or self.column is None:
            return []
        line = self.text.replace("\t", " ")
        at = min(max(self.column - 1, 0), len(line))
        start = max(0, min(at - 35, len(line) - 70))
        shown = line[start : start + 70]
        if start > 0:
            shown, at = "..." + shown, at - start + 3
        if start + 70 < len(line):
            shown += "..."
        return [f"  {shown}", f"  {' ' * at}^"]


class DomainError(NonFiniteError, ExpressionError):
    """An op of the expression is outside its domain, or overflows, at the values given.

    Both a :class:`autograd.NonFiniteError` (what the engine raises) and an
    :class:`ExpressionError` (the message speaks of the expression as written, with a column).
    """

    def __init__(self, message: str, *, text: str | None = None, column: int | None = None):
        ExpressionError.__init__(self, message, text=text, column=column)


# -- parsing and validation -----------------------------------------------------------------


class _Source:
    """The text as parsed, with what is needed to point at a node in the *original* text.

    ``ast`` counts columns in UTF-8 bytes of the text it was given; we strip leading blanks
    (``mode="eval"`` refuses an indent) and users count characters, so both are corrected.
    """

    def __init__(self, text: str) -> None:
        self.original = text
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

    def segment(self, node: ast.AST) -> str:
        """The source of ``node`` as typed."""
        return ast.get_source_segment(self.text, node) or ""

    def where(self, node: ast.AST) -> str:
        """``'x.real' (column 5)``: the source of ``node``, shortened, and where it starts."""
        segment = self.segment(node)
        if len(segment) > 40:
            segment = segment[:37] + "..."
        return f"'{segment}' (column {self.start(node)})"

    def start(self, node: ast.AST) -> int:
        """The column where ``node`` starts."""
        return self.column(getattr(node, "col_offset", 0))

    def find(self, symbol: str, after: int, before: int | None = None) -> int:
        """The column of the first ``symbol`` between two byte offsets (an operator between its
        operands, a call's bracket after its function)."""
        found = self._utf8.find(symbol.encode("utf-8"), after, before)
        return self.column(found if found >= 0 else after)

    def operator(self, node: ast.BinOp, symbol: str) -> int:
        """The column of ``node``'s operator, as typed between its operands."""
        return self.find(symbol, node.left.end_col_offset or 0, node.right.col_offset)

    def error(self, message: str, column: int | None) -> ExpressionError:
        """An ExpressionError pointing at ``column`` of the text as typed."""
        return ExpressionError(message, text=self.original, column=column)

    def fixed(self, column: int, length: int, replacement: str) -> str:
        """The text with ``length`` characters at ``column`` replaced: the suggested fix."""
        at = column - 1 - self.lead
        return self.text[:at] + replacement + self.text[at + length :]


def _suggest(fixed: str, short: str) -> str:
    """The whole corrected expression if it reads at a glance, else the local fix alone."""
    return fixed if len(fixed) <= 60 else short


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


#: Characters a word processor or a maths habit types where an expression wants ASCII:
#: ``(what it is, what to type instead)``.
_LOOKALIKES: dict[str, tuple[str, str]] = {
    "\u2212": ("a typographic minus sign", "-"),
    "\u2013": ("an en dash", "-"),
    "\u2014": ("an em dash", "-"),
    "\u2010": ("a hyphen", "-"),
    "\u00d7": ("a multiplication sign", "*"),
    "\u00b7": ("a middle dot", "*"),
    "\u22c5": ("a dot operator", "*"),
    "\u2217": ("an asterisk operator", "*"),
    "\u00f7": ("a division sign", "/"),
    "\u2215": ("a division slash", "/"),
    "\u2044": ("a fraction slash", "/"),
    **{sup: ("a superscript", f"**{n}") for n, sup in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")},
    "\u221a": ("a square-root sign", "sqrt"),
    "\uff08": ("a full-width bracket", "("),
    "\uff09": ("a full-width bracket", ")"),
    "\uff0c": ("a full-width comma", ","),
    "\u2018": ("a curly quote", ""),
    "\u2019": ("a curly quote", ""),
    "\u201c": ("a curly quote", ""),
    "\u201d": ("a curly quote", ""),
}


def _lookalike(source: _Source) -> ExpressionError | None:
    """The first character that looks like an operator but is not the ASCII one, with the fix."""
    for at, char in enumerate(source.text):
        if char not in _LOOKALIKES:
            continue
        what, instead = _LOOKALIKES[char]
        column = source.lead + at + 1
        fixed = "".join(_LOOKALIKES.get(c, ("", c))[1] for c in source.text)
        if instead == "sqrt":
            rest = re.match(r"\s*(\w+|\([^()]*\))", source.text[at + 1 :])
            operand = rest.group(1).strip("()") if rest else "x"
            fixed = f"sqrt({operand})"
            return source.error(
                f"'{char}' (column {column}) is {what}; write the function: did you mean {fixed}?",
                column,
            )
        if not instead:
            return source.error(
                f"'{char}' (column {column}) is {what}; leave quotes out of the expression: did "
                f"you mean {_suggest(fixed, '(no quotes)')}?",
                column,
            )
        if instead.startswith("**"):
            return source.error(
                f"'{char}' (column {column}) is {what}; a power is written with **: did you "
                f"mean {_suggest(fixed, instead)}?",
                column,
            )
        return source.error(
            f"'{char}' (column {column}) is {what}, not the {instead} of the keyboard; did you "
            f"mean {_suggest(fixed, instead)}?",
            column,
        )
    return None


def _parse(text: str) -> tuple[ast.expr, _Source]:
    """:func:`parse`, also returning the :class:`_Source` that maps nodes to columns."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError('the expression is empty: type one, in quotes, e.g. "x * y"')
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
    lookalike = _lookalike(source)
    if lookalike is not None:
        raise lookalike
    try:
        with warnings.catch_warnings():  # "1if x else y" parses, with Python's warning
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(source.text, mode="eval")
    except SyntaxError as error:
        if (error.msg or "").startswith("Exceeds the limit"):  # the int-string limit
            raise ExpressionError("a number in the expression has too many digits") from None
        column = source.lead + error.offset if error.offset else None
        raise _diagnose(source, column) from None
    except (RecursionError, MemoryError, ValueError):
        # The limits above keep ast.parse well inside its own; this is the last line of defence
        # (the C parser's limits also shrink when we are called from deep in a stack).
        raise ExpressionError("the expression is too long or too deeply nested to parse") from None
    _validate(tree.body, source)
    return tree.body, source


def parse(text: str) -> ast.expr:
    """Parse and validate ``text``; return the expression tree.

    Raises:
        ExpressionError: the text is empty, too long, too deep, not one line, not valid
            syntax, or uses anything outside the whitelist; the message names the part, says
            its column and suggests a fix.
    """
    return _parse(text)[0]


# -- what a beginner meant: the text did not parse ------------------------------------------

_TOKEN = re.compile(
    r"(?P<number>0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"
    r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<op>\*\*|//|==|!=|<=|>=|<<|>>|->|:=|[-+*/%@^&|~<>=!.,:;])"
    r"|(?P<open>[(\[{])|(?P<close>[)\]}])"
    r"|(?P<quote>['\"])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)"
)

#: Operators that need an operand on both sides (``+`` and ``-`` may also be unary signs).
_BINARY_ONLY = {"*", "/", "**", "//", "%", "@", "^", "&", "|", "<<", ">>", "==", "!=", "<=", ">="}
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _diagnose(source: _Source, offset: int | None) -> ExpressionError:
    """What is wrong with text that is not an expression, in a beginner's words, with the
    column of the offending token and the likely fix. ``offset`` is where Python's parser gave
    up: only used when none of the usual mistakes is found."""
    tokens = [
        (match.lastgroup or "other", match.group(), source.lead + match.start() + 1)
        for match in _TOKEN.finditer(source.text)
        if match.lastgroup != "space"
    ]
    for kind, token, column in tokens:
        if kind == "other" or token in (";", ":", "->", "!"):
            return source.error(
                f"'{token}' (column {column}) cannot be used in an expression; {_ALLOWED}",
                column,
            )
        if kind == "name" and keyword.iskeyword(token) and token not in _CONSTANTS:
            return source.error(
                f"'{token}' (column {column}) is a Python keyword: an expression is not Python "
                f"code and is never run; {_ALLOWED}",
                column,
            )
        if kind == "quote":
            return source.error(
                f"the quote at column {column} starts text, and only numbers are allowed",
                column,
            )
    for problem in (_brackets, _assignment, _operators, _juxtaposed):
        found = problem(source, tokens)
        if found is not None:
            return found
    if not offset and tokens:
        offset = tokens[-1][2]
    where = f" (column {offset})" if offset else ""
    return source.error(
        f"this is not an expression we can read{where}; {_ALLOWED}, as in (x + y) * z", offset
    )


_CONSTANTS = {"True", "False", "None"}
Token = tuple[str, str, int]


def _brackets(source: _Source, tokens: list[Token]) -> ExpressionError | None:
    """A bracket closed that was never opened, closed by the wrong kind, or never closed."""
    opened: list[tuple[str, int]] = []
    for kind, token, column in tokens:
        if kind == "open":
            opened.append((token, column))
        elif kind == "close":
            if not opened:
                return source.error(
                    f"the {token} at column {column} closes a bracket that was never opened; "
                    "remove it, or add the ( it belongs to",
                    column,
                )
            bracket, where = opened.pop()
            if _PAIRS[bracket] != token:
                return source.error(
                    f"the {token} at column {column} closes the {bracket} at column {where}; "
                    f"did you mean {_PAIRS[bracket]}? (brackets are ( and ) only)",
                    column,
                )
    if opened:
        bracket, column = opened[-1]
        closers = "".join(_PAIRS[b] for b, _ in reversed(opened))
        return source.error(
            f"the {bracket} at column {column} is never closed; did you mean "
            f"{_suggest(source.text + closers, closers + ' at the end')}?",
            column,
        )
    return None


def _assignment(source: _Source, tokens: list[Token]) -> ExpressionError | None:
    """``x = 2`` or ``f = x * y``: values are given with --set, and only the right side is
    drawn."""
    for at, (_, token, column) in enumerate(tokens):
        if token not in ("=", ":="):
            continue
        left, right = tokens[:at], tokens[at + 1 :]
        if len(left) == 1 and left[0][0] == "name" and len(right) == 1 and right[0][0] == "number":
            hint = (
                f"give values with --set, not in the expression: --set {left[0][1]}={right[0][1]}"
            )
        else:
            rest = source.text[column - source.lead :].strip()
            hint = f"write only the right-hand side: {rest}" if rest else "write an expression"
        return source.error(
            f"'{token}' (column {column}) is not allowed in an expression; {hint}", column
        )
    return None


def _operators(source: _Source, tokens: list[Token]) -> ExpressionError | None:
    """An operator with nothing on one side: ``x +``, ``* x``, ``x +* y``, ``(x +)``."""
    previous: Token | None = None
    for at, (kind, token, column) in enumerate(tokens):
        after = tokens[at + 1] if at + 1 < len(tokens) else None
        if kind == "op" and token not in (",", "."):
            ends = after is None or after[0] == "close" or after[1] == ","
            if ends:
                place = "the end" if after is None else f"the {after[1]} at column {after[2]}"
                return source.error(
                    f"the {token} at column {column} has nothing after it, before {place}; "
                    f"add what it applies to, as in x {token} 1",
                    column,
                )
            starts = previous is None or previous[0] in ("open", "op")
            if token in _BINARY_ONLY and starts:
                if previous is not None and previous[0] == "op":
                    return source.error(
                        f"the {token} at column {column} follows the {previous[1]} at column "
                        f"{previous[2]} with nothing between them; remove one, or put an "
                        "operand between them",
                        column,
                    )
                return source.error(
                    f"the {token} at column {column} has nothing before it; add what it "
                    f"applies to, as in 2 {token} x",
                    column,
                )
        if kind == "open" and after is not None and after[0] == "close":
            is_call = previous is not None and previous[0] == "name"
            what = f"{previous[1]}() needs its argument" if is_call and previous else "() is empty"
            return source.error(
                f"{what} (column {column}); put an expression inside the brackets", column
            )
        previous = (kind, token, column)
    return None


def _juxtaposed(source: _Source, tokens: list[Token]) -> ExpressionError | None:
    """Two operands side by side: ``2x``, ``x y``, ``(x+1)x``, ``sin x``: multiplication must be
    written; ``max(x y)``: a missing comma; ``2.5.3``: a second decimal point."""
    calls: list[str] = []  # for each open bracket, the function it calls ("" if none)
    previous = ""
    for (kind, token, _), (next_kind, next_token, column) in itertools.pairwise(tokens):
        if next_kind == "open":
            calls.append(token if kind == "name" else "")
        elif next_kind == "close" and calls:
            calls.pop()
        if kind not in ("number", "name", "close") or next_kind not in ("number", "name"):
            previous = token
            continue
        if kind == "number" and next_token.startswith(".") and "." in token:
            return source.error(
                f"a number has a second decimal point at column {column}; a number has one "
                "point at most, as in 2.5",
                column,
            )
        if kind == "name" and token in FUNCTIONS:
            fixed = source.fixed(column, len(next_token), f"({next_token})")
            fixed = re.sub(rf"\b{token}\s+\(", f"{token}(", fixed, count=1)
            return source.error(
                f"a function needs brackets around its argument (column {column}); did you "
                f"mean {_suggest(fixed, f'{token}({next_token})')}?",
                column,
            )
        inside = calls[-1] if calls else ""
        if FUNCTIONS.get(inside, (1,))[0] > 1 and previous == "(":
            fixed = source.fixed(column, 0, ", ").replace(" , ", ", ")
            return source.error(
                f"'{next_token}' (column {column}) follows '{token}' with nothing between them; "
                f"{inside} takes its arguments separated by commas: did you mean "
                f"{_suggest(fixed, f'{token}, {next_token}')}?",
                column,
            )
        fixed = source.fixed(column, 0, "*")
        if fixed[column - source.lead - 2] == " ":  # "x y" -> "x * y", not "x *y"
            fixed = source.fixed(column, 0, "* ")
        return source.error(
            f"'{next_token}' (column {column}) follows '{token}' with no operator between "
            "them; multiplication must be written with *: did you mean "
            f"{_suggest(fixed, f'{token}*{next_token}')}?",
            column,
        )
    return None


#: Common names of functions we have under another name (the closest match would miss them).
_ALIASES = {"ln": "log", "log10": "log", "exponential": "exp", "sqr": "sqrt", "root": "sqrt"}
#: Modules a function may be typed from, out of habit: ``math.exp(x)``, ``np.exp(x)``.
_MODULES = {"math", "np", "numpy", "torch", "autograd"}


def _validate(root: ast.expr, source: _Source) -> None:
    """Refuse every node that is not on the whitelist (iteratively: the tree may be deep)."""
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise _refused_operator(node, source)
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise source.error(
                    f"the operator {symbol} is not allowed, in {source.where(node)}; {_ALLOWED}",
                    source.start(node),
                )
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            _check_call(node, source)
            stack.extend(reversed(node.args))
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise source.error(
                    f"{node.id} is a function, at {source.where(node)}: call it, as {node.id}(x)",
                    source.start(node),
                )
            if node.id.startswith("__"):
                raise source.error(
                    f"names starting with __ are not allowed: {source.where(node)}",
                    source.start(node),
                )
        elif isinstance(node, ast.Constant):
            _check_constant(node, source)
        elif isinstance(node, ast.Tuple):
            raise _commas(node, source)
        else:
            kind = _DESCRIPTIONS.get(type(node), type(node).__name__)
            raise source.error(
                f"{kind} not allowed: {source.where(node)}; {_ALLOWED}", source.start(node)
            )


def _refused_operator(node: ast.BinOp, source: _Source) -> ExpressionError:
    """An operator Python has and we do not, pointed at, with what was likely meant."""
    symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
    column = source.operator(node, symbol)
    meant = {"^": "**", "//": "/", "@": "*"}.get(symbol)
    if meant is None:
        return source.error(
            f"the operator {symbol} is not allowed (column {column}), in "
            f"'{source.segment(node)}'; {_ALLOWED}",
            column,
        )
    fixed = source.fixed(column, len(symbol), meant)
    left, right = source.segment(node.left), source.segment(node.right)
    why = {
        "^": "^ is not a power in Python notation (it is bitwise xor)",
        "//": "// is floor division, which has no gradient",
        "@": "@ is the matrix product; these are numbers",
    }[symbol]
    return source.error(
        f"the operator {symbol} is not allowed (column {column}): {why}; did you mean "
        f"{meant}, as in {_suggest(fixed, f'{left} {meant} {right}')}?",
        column,
    )


def _check_call(node: ast.Call, source: _Source) -> None:
    """A call of one of the FUNCTIONS, with its number of arguments; else say what was meant:
    the closest function, or a multiplication written without ``*`` (``2(x+1)``)."""
    func, whole = node.func, source.segment(node)
    arguments = whole[len(source.segment(func)) :].strip()
    bracket = source.find("(", func.end_col_offset or 0)
    if isinstance(func, ast.Name) and func.id in FUNCTIONS:
        arity = FUNCTIONS[func.id][0]
        if node.keywords or len(node.args) != arity:
            raise source.error(
                f"{func.id} takes {arity} argument{'s' if arity > 1 else ''} and no keywords, "
                f"in {source.where(node)}",
                source.start(node),
            )
        return
    listed = f"The functions are {FUNCTION_LIST}"
    if isinstance(func, ast.Name):
        meant = _ALIASES.get(func.id) or _closest(func.id)
        if meant is not None:
            raise source.error(
                f"there is no function '{func.id}' (column {source.start(func)}); did you mean "
                f"{meant}{arguments}? {listed}",
                source.start(func),
            )
        if len(func.id) <= 2 and not func.id.startswith("_"):  # x(y + 1): a variable
            fixed = source.fixed(bracket, 0, "*")
            raise source.error(
                f"{func.id} is not a function (column {source.start(func)}); to multiply, write "
                f"* before the bracket: did you mean {_suggest(fixed, f'{func.id}*{arguments}')}"
                f"? {listed}",
                bracket,
            )
        raise source.error(
            f"there is no function '{func.id}' (column {source.start(func)}). {listed}",
            source.start(func),
        )
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in _MODULES
        and func.attr in FUNCTIONS
    ):
        raise source.error(
            f"write {func.attr}{arguments} without '{func.value.id}.' (column "
            f"{source.start(func)}): the functions are built in",
            source.start(func),
        )
    if isinstance(func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)) or (
        isinstance(func, ast.Name) and func.id not in FUNCTIONS
    ):
        fixed = source.fixed(bracket, 0, "*")
        head = source.segment(func)
        raise source.error(
            f"the bracket at column {bracket} follows '{head}' with no operator between them; "
            "multiplication must be written with *: did you mean "
            f"{_suggest(fixed, '*'.join((head, '(...)')))}?",
            bracket,
        )
    raise source.error(
        f"calling {source.where(func)} is not allowed: the functions are {FUNCTION_LIST}",
        source.start(func),
    )


def _closest(name: str) -> str | None:
    """The allowed function a misspelt ``name`` most likely means (``sine`` -> ``sin``)."""
    if name.lower() in FUNCTIONS:
        return name.lower()
    close = difflib.get_close_matches(name.lower(), FUNCTIONS, n=1, cutoff=0.6)
    return close[0] if close else None


def _check_constant(node: ast.Constant, source: _Source) -> None:
    """Only finite int and float literals are numbers here."""
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise source.error(
            f"only numbers are allowed as literals, not {source.where(node)}", source.start(node)
        )
    try:
        number = float(value)
    except OverflowError:  # an int literal beyond float64
        number = math.inf
    if not math.isfinite(number):
        raise source.error(
            f"the number {source.where(node)} is too large: the largest is about 1.8e308",
            source.start(node),
        )


def _commas(node: ast.Tuple, source: _Source) -> ExpressionError:
    """A comma outside a call: a decimal comma (``1,5``), a thousands separator (``1,000``),
    or two expressions where one is drawn."""
    commas = [source.find(",", element.end_col_offset or 0) for element in node.elts[:-1]]
    for column in commas:
        at = column - 1 - source.lead
        before = re.search(r"(\d+)$", source.text[:at])
        after = re.match(r"\d+(?![\w.])", source.text[at + 1 :])
        if not (before and after):
            continue
        if len(after.group()) == 3:  # 1,000: a thousands separator
            fixed = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", source.text)
            why = "numbers are written without a thousands separator"
            one = not re.search(r"\d,\d{3},\d", source.text)
            also = f" (or {source.fixed(column, 1, '.')}, if it is a decimal point)" if one else ""
        else:
            fixed, why, also = source.fixed(column, 1, "."), "the decimal point is a .", ""
        return source.error(
            f"the comma at column {column} is inside a number: {why}; did you mean "
            f"{_suggest(fixed, fixed.split()[0])}?{also if len(fixed) <= 60 else ''}",
            column,
        )
    if not node.elts:
        return source.error(
            f"the brackets at column {source.start(node)} are empty; put an expression inside them",
            source.start(node),
        )
    first = commas[0] if commas else source.find(",", node.elts[-1].end_col_offset or 0)
    return source.error(
        f"tuples not allowed: {source.where(node)}; a comma (column {first}) only separates "
        f"the arguments of a function such as max(x, y); draw one expression at a time",
        first,
    )


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
        DomainError: an op is outside its domain, or overflows, at these values (log of -1,
            x / y at y = 0, exp(710)); both an ExpressionError and an autograd.NonFiniteError.
    """
    tree, source = _parse(text)
    used = names_in(tree)
    missing = [name for name in used if name not in values]
    if missing:
        hint = " ".join(f"--set {name}=NUMBER" for name in missing)
        known = {"e": "for e to a power write exp(x)", "pi": f"pi is --set pi={math.pi!r}"}
        hint += "".join(f" ({known[name]})" for name in missing if name in known)
        for name in missing:  # --set X=1 for x: a typo of the name
            typed = [n for n in values if n not in used and n.lower() == name.lower()]
            typed = typed or difflib.get_close_matches(name, [n for n in values if n not in used])
            if typed:
                hint += f" (--set {typed[0]} was given: did you mean --set {name}?)"
        first = min(
            (
                node.col_offset
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id == missing[0]
            ),
        )
        raise source.error(f"no value for {', '.join(missing)}: add {hint}", source.column(first))
    unused = [name for name in values if name not in used]
    if unused:
        verb = "is" if len(unused) == 1 else "are"
        inputs = f"its inputs are {', '.join(used)}" if used else "it has no inputs"
        meant = [name for name in used if name.lower() == unused[0].lower()]
        meant = meant or difflib.get_close_matches(unused[0], used, n=1)
        hint = f"; did you mean --set {meant[0]}=...?" if meant and meant[0] not in values else ""
        raise ExpressionError(
            f"{', '.join(unused)} {verb} given a value but not used in the expression "
            f"({inputs}){hint}"
        )
    leaves = {name: Value(values[name], name) for name in used}
    return _interpret(tree, leaves, source)


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


def _interpret(root: ast.expr, leaves: Mapping[str, Value], source: _Source) -> Value:
    """Walk the validated tree bottom-up, making one gate per operation.

    Iterative post-order with an explicit stack (a recursive walk would hit Python's recursion
    limit on a left-nested chain such as ``x+x+...+x``). Operands are visited left to right,
    so gates are made in the order the text reads. An op outside its domain is reported as the
    expression is written (:func:`_domain_error`).
    """
    done: list[Value] = []  # Values of finished sub-expressions, in order
    stack: list[tuple[ast.expr, bool]] = [(root, False)]
    while stack:
        node, operands_ready = stack.pop()
        if operands_ready:
            count = len(_operands(node))
            inputs = done[len(done) - count :]
            del done[len(done) - count :]
            try:
                done.append(_apply(node, inputs))
            except NonFiniteError as error:
                raise _domain_error(node, inputs, leaves, source, error) from None
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


# -- an op outside its domain, said as the expression is written -----------------------------

#: The largest float64, as a user reads it.
_LARGEST = "about 1.8e308"


def _op_of(node: ast.expr) -> Op:
    """The op of the table that ``node``'s gate applies."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return OPS[node.func.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _number(node.right)
        return OPS["pow_value"] if exponent is None else power(exponent)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return OPS["truediv"]
    names: dict[type[ast.AST], str] = {
        ast.Add: "add",
        ast.Sub: "sub",
        ast.Mult: "mul",
        ast.USub: "neg",
    }
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in names:
        return OPS[names[type(node.op)]]
    return OPS["add"]  # not reached: only the ops above have gates that can fail


def _domain_error(
    node: ast.expr,
    inputs: list[Value],
    leaves: Mapping[str, Value],
    source: _Source,
    error: NonFiniteError,
) -> DomainError:
    """The engine refused ``node``'s gate at ``inputs``: say so in the words of the expression
    (``x / y is undefined at y = 0: division by zero``), pointing at the operator."""
    op = _op_of(node)
    xs = [value.data for value in inputs]
    written = source.segment(node)
    if isinstance(node, ast.BinOp):
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
        column = source.operator(node, symbol.get(type(node.op), ""))
    else:
        column = source.start(node)
    outside = op.inside is not None and not op.inside(*xs)
    if not outside or op.name == "exp":  # exp's domain is where e^a fits in a float
        where = _at(node, leaves, source, None)
        reason = _overflow_reason(op, xs, _needs(node, 0, leaves, source))
        return DomainError(
            f"{written} overflows{where}: {reason}", text=source.original, column=column
        )
    # the operand whose value is out of the domain: the divisor, else the base or the argument
    culprit = 1 if op.name == "truediv" else 0
    where = _at(_operands(node)[culprit], leaves, source, xs[culprit])
    needs = _needs(node, culprit, leaves, source)
    verb, reason = _domain_reason(op, xs[culprit], written, needs) or ("is undefined", str(error))
    return DomainError(f"{written} {verb}{where}: {reason}", text=source.original, column=column)


def _at(
    operand: ast.expr, leaves: Mapping[str, Value], source: _Source, value: float | None
) -> str:
    """`` at x = 1 (where x - 1 = 0)``: the inputs in ``operand`` with their values, and the
    operand's own value when it is a sub-expression."""
    shown = source.segment(operand)
    named = sorted(
        {n.id for n in ast.walk(operand) if isinstance(n, ast.Name) and n.id in leaves},
        key=lambda name: min(
            n.col_offset for n in ast.walk(operand) if isinstance(n, ast.Name) and n.id == name
        ),
    )
    where = ", ".join(f"{name} = {_label(leaves[name].data)}" for name in named)
    where = f" at {where}" if where else ""
    simple = isinstance(operand, (ast.Name, ast.Constant)) or _number(operand) is not None
    if value is not None and not simple:
        where += f" (where {shown} = {_label(value)})"
    return where


def _needs(node: ast.expr, culprit: int, leaves: Mapping[str, Value], source: _Source) -> str:
    """The culprit operand as a condition reads it: ``x``, ``(x - 1)``, or, for a number,
    ``the divisor`` / ``the base`` / ``its argument``."""
    operand = _operands(node)[culprit]
    if not any(isinstance(n, ast.Name) and n.id in leaves for n in ast.walk(operand)):
        if isinstance(node, ast.BinOp):
            return "the divisor" if isinstance(node.op, ast.Div) else "the base"
        return "its argument"
    shown = source.segment(operand)
    return shown if isinstance(operand, ast.Name) else f"({shown})"


def _overflow_reason(op: Op, xs: list[float], needs: str) -> str:
    """Why a gate's value (or its slope) is not a finite float."""
    if op.name == "exp":
        return (
            f"e to the power {_label(xs[0])} is too large for a float (the largest is "
            f"{_LARGEST}), so exp needs {needs} <= 709.78"
        )
    try:
        value = float(op.on_floats(*xs))
    except (OverflowError, ValueError, ZeroDivisionError):
        value = math.inf
    if math.isfinite(value):
        return (
            f"its value is {_label(value)}, but its slope there is too large for a float "
            f"(the largest is {_LARGEST}); use values further from that point"
        )
    return f"the result is too large for a float (the largest is {_LARGEST}); use smaller values"


def _domain_reason(op: Op, value: float, written: str, needs: str) -> tuple[str, str] | None:
    """Why ``op`` is undefined where its culprit operand is ``value`` (or defined, but with an
    infinite slope: ``sqrt`` at 0), and what it needs: ``(verb, reason)``. None for an op whose
    domain is not known here."""
    undefined = "is undefined"
    if op.name in ("truediv", "reciprocal"):
        return undefined, f"division by zero; {needs} must not be 0"
    if op.name == "log":
        why = (
            "log(0) is minus infinity" if value == 0 else "the log of a negative number is not real"
        )
        return undefined, f"{why}; log needs {needs} > 0"
    if op.name == "sqrt":
        if value == 0:
            return "has no finite slope", (
                f"sqrt(0) = 0, but its slope 1/(2*sqrt({needs})) is infinite there, and every "
                f"gate of the graph keeps its slope; sqrt needs {needs} > 0"
            )
        return (
            undefined,
            f"the square root of a negative number is not real; sqrt needs {needs} > 0",
        )
    if op.name == "pow_value":
        return undefined, (
            "with an exponent that is an input, the base must be > 0: the gradient with respect "
            f"to the exponent is {written} * log({needs}), and log needs {needs} > 0; for a "
            "negative base use a number exponent, as in x ** 2"
        )
    if op.name == "pow":
        n = float(op.symbol[2:])
        power_of = written
        if value == 0 and n < 0:
            return (
                undefined,
                f"0 to a negative power divides by zero; {power_of} needs {needs} != 0",
            )
        if value == 0:
            return "has no finite slope", (
                f"{power_of} = 0 there, but its slope {_label(n)} * {needs} ** {_label(n - 1)} "
                f"is infinite, and every gate of the graph keeps its slope; {power_of} needs "
                f"{needs} > 0"
            )
        bound = ">= 0" if n > 1 else "> 0"
        return undefined, (
            f"a fractional power of a negative number is not real; {power_of} needs {needs} {bound}"
        )
    return None


# -- --set NAME=NUMBER ----------------------------------------------------------------------


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x=-2"`` -> ``("x", -2.0)`` for ``--set``; raises ExpressionError otherwise, with the
    likely fix (``x:2`` -> ``x=2``, ``1,5`` -> ``1.5``, ``−2`` -> ``-2``).

    The name is normalised as Python normalises identifiers (NFKC), so it matches the name as
    :func:`parse` reads it from the expression.
    """
    name, sep, number = text.partition("=")
    name = unicodedata.normalize("NFKC", name.strip())
    if not sep:
        guess = re.fullmatch(r"\s*([^\W\d]\w*)\s*[:\s]\s*(\S+)\s*", text)
        hint = f"--set {guess.group(1)}={guess.group(2)}" if guess else "--set x=2"
        raise ExpressionError(f"--set wants NAME=NUMBER, got {text!r}; did you mean {hint}?")
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ExpressionError(f"--set wants NAME=NUMBER, and {name!r} is not a name")
    number = number.strip()
    try:
        value = float(number)
    except ValueError:
        raise ExpressionError(
            f"--set {name}: {number!r} is not a number{_number_hint(name, number)}"
        ) from None
    if not math.isfinite(value):
        raise ExpressionError(f"--set {name}: the value must be finite, got {number}")
    return name, value


def _number_hint(name: str, number: str) -> str:
    """What a --set value that is not a number was likely meant to be."""
    fixed = "".join(_LOOKALIKES.get(c, ("", c))[1] for c in number)
    if fixed != number and _is_number(fixed):
        return f" ('{number[0]}' is not the - of the keyboard); did you mean --set {name}={fixed}?"
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", number):
        return f" (no thousands separator); did you mean --set {name}={number.replace(',', '')}?"
    if re.fullmatch(r"-?\d+,\d+", number):
        return f" (the decimal point is a .); did you mean --set {name}={number.replace(',', '.')}?"
    if number.startswith("="):
        return f"; did you mean --set {name}={number.lstrip('=')}?"
    if not number:
        return f"; give a value, as in --set {name}=2"
    if "," in number and "=" in number:  # --set x=1,y=2
        rest = " ".join(f"--set {part.strip()}" for part in number.split(",")[1:])
        first = number.split(",")[0]
        return f"; one --set per value: --set {name}={first} {rest}"
    constants = {"pi": math.pi, "π": math.pi, "e": math.e, "tau": math.tau}
    if number in constants:
        return f"; write the digits: --set {name}={constants[number]!r}"
    return "; give a plain number, as in 2, -0.5 or 1e-3"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

"""The op table: every primitive the engine knows, each defined once.

An :class:`Op` is a plain record (the "rules as data" of JAX's Autodidax): its name, the symbol a
diagram draws in its gate, its forward rule, its **local** derivatives, the formula text of those
derivatives, and its domain. Everything else reads this table: the operators on
:class:`~autograd.Value`, ``backward()``, the diagrams in ``viz`` and the Hypothesis strategies
in :mod:`autograd.testing`. A new op is one more ``Op(...)`` here (or in your own code, applied
with :func:`autograd.apply`).

Conventions for the rules:

* ``forward(*xs) -> float`` takes the input values as floats. (A Tensor op is the same record
  with arrays in and out, and locals that may be arrays or linear maps: see
  :mod:`autograd.tensor`.)
* ``local(*xs, out) -> tuple[float, ...]`` takes the same inputs *and the forward output* (so
  ``exp`` and ``sigmoid`` can reuse it) and returns ``d out / d x_i`` for every input, in order.
  Backprop then applies ``downstream_i = upstream * local_i`` for each input.
* The local rules use only operators (``+ - * / **``), comparisons and :func:`_ln`, so the
  same rule also runs on :class:`~autograd.Value` s: given Values it builds the derivative as
  a graph, which is how :func:`autograd.grad` with ``create_graph=True`` differentiates a
  gradient again (second derivatives, Newton's method).
* ``smooth(*xs) -> bool`` says whether the inputs are inside the domain *and* at least
  :data:`KINK_MARGIN` away from any point where the derivative jumps (relu at 0, max at a tie).
  The test strategies use it to draw inputs where central differences are meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: How far from a kink (relu at 0, max at a tie) test inputs must stay: far larger than the
#: 1e-6 step of the central differences, so the numeric gradient never straddles the kink.
KINK_MARGIN = 1e-3


#: Symbols written between their two operands (``a / b``) in expressions, captions and errors.
INFIX_SYMBOLS = frozenset({"+", "-", "*", "/", "**", "@"})

#: The domain text of an op defined everywhere (the default).
ALL_REALS = "all real inputs"


def _always_smooth(*xs: float) -> bool:
    return True


@dataclass(frozen=True)
class Op:
    """One primitive: forward rule, local derivatives and how to draw and test it.

    Attributes:
        name: identifier, e.g. ``"mul"``; what ``Value.op`` reports.
        symbol: the text inside the gate's circle in a diagram, e.g. ``"*"``.
        arity: number of inputs.
        forward: ``forward(*xs) -> out``.
        local: ``local(*xs, out) -> (d out/d x_0, ...)``.
        formula: the local derivatives as text, shown in diagrams and error messages.
        domain: the inputs where the op is defined, as text for error messages.
        smooth: predicate used by the test strategies (see the module docstring).
        sample_range: interval the test strategies draw each input from before ``smooth``
            filters it.
        always_finite: finite inputs always give a finite output and finite locals (relu,
            reshape, a stable softmax). The Tensor gate then skips its inf/nan check of the
            result, a pass over the whole array. Scalar gates check every op regardless.
    """

    name: str
    symbol: str
    arity: int
    forward: Callable[..., Any]  # floats in, a float out (Value); arrays for a Tensor op
    local: Callable[..., tuple[Any, ...]]
    formula: str
    domain: str = ALL_REALS
    smooth: Callable[..., bool] = _always_smooth
    sample_range: tuple[float, float] = (-5.0, 5.0)
    always_finite: bool = False

    def __repr__(self) -> str:
        return f"Op({self.name!r}, symbol={self.symbol!r})"


def _sigmoid(x: float) -> float:
    """sigma(x) = 1 / (1 + e^-x), evaluated so that e^t never overflows.

    For x >= 0 use 1 / (1 + e^-x); for x < 0 use e^x / (1 + e^x). Both exponents are <= 0, so
    the function is exact and silent for any finite x (sigma(-1e4) = 0.0, sigma(1e4) = 1.0).
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _ln(a: Any) -> Any:
    """ln a for a float, or for a Value (its ``log`` gate): the one function a local rule
    needs that is not an operator (see the module docstring)."""
    return math.log(a) if isinstance(a, float) else a.log()


def _max_local(a: float, b: float, out: float) -> tuple[float, float]:
    """The router: the larger input gets the whole upstream gradient, the other 0.

    At a tie (a == b) the gradient is split in half. That is PyTorch's rule for ``max`` of two
    tensors and what the central difference (f(a+h) - f(a-h)) / 2h measures at a tie.
    """
    if a > b:
        return (1.0, 0.0)
    if b > a:
        return (0.0, 1.0)
    return (0.5, 0.5)


def _away_from_zero(*xs: float) -> bool:
    return all(abs(x) > KINK_MARGIN for x in xs)


ADD = Op(
    "add",
    "+",
    2,
    forward=lambda a, b: a + b,
    local=lambda a, b, out: (1.0, 1.0),
    formula="d(a+b)/da = 1, d(a+b)/db = 1  (distributor)",
)
SUB = Op(
    "sub",
    "-",
    2,
    forward=lambda a, b: a - b,
    local=lambda a, b, out: (1.0, -1.0),
    formula="d(a-b)/da = 1, d(a-b)/db = -1",
)
NEG = Op(
    "neg",
    "-",
    1,
    forward=lambda a: -a,
    local=lambda a, out: (-1.0,),
    formula="d(-a)/da = -1",
)
MUL = Op(
    "mul",
    "*",
    2,
    forward=lambda a, b: a * b,
    local=lambda a, b, out: (b, a),
    formula="d(ab)/da = b, d(ab)/db = a  (swap multiplier)",
)
TRUEDIV = Op(
    "truediv",
    "/",
    2,
    forward=lambda a, b: a / b,
    # -a/b^2 computed as -(a/b)/b: b*b would underflow to 0 for tiny b with a finite answer
    local=lambda a, b, out: (1.0 / b, -out / b),
    formula="d(a/b)/da = 1/b, d(a/b)/db = -a/b^2",
    domain="b != 0",
    smooth=lambda a, b: abs(b) > 0.1,
)
POW_VALUE = Op(
    "pow_value",
    "**",
    2,
    forward=lambda a, b: math.pow(a, b),
    local=lambda a, b, out: (b * a ** (b - 1.0), out * _ln(a)),
    formula="d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a",
    domain="a > 0 (the derivative with respect to the exponent is a^b ln a); "
    "for a negative base use a number exponent, x ** 2",
    smooth=lambda a, b: a > 0.1,
    sample_range=(0.1, 3.0),
)
EXP = Op(
    "exp",
    "exp",
    1,
    forward=math.exp,
    local=lambda a, out: (out,),
    formula="d(e^a)/da = e^a",
    domain="a <= 709.78 (beyond that e^a overflows float64)",
)
LOG = Op(
    "log",
    "log",
    1,
    forward=math.log,
    local=lambda a, out: (1.0 / a,),
    formula="d(ln a)/da = 1/a",
    domain="a > 0",
    smooth=lambda a: a > 0.05,
    sample_range=(0.05, 10.0),
)
RECIPROCAL = Op(
    "reciprocal",
    "1/x",
    1,
    forward=lambda a: 1.0 / a,
    local=lambda a, out: (-out * out,),
    formula="d(1/a)/da = -1/a^2",
    domain="a != 0",
    smooth=lambda a: abs(a) > 0.1,
)
SIGMOID = Op(
    "sigmoid",
    "σ",
    1,
    forward=_sigmoid,
    local=lambda a, out: (out * (1.0 - out),),
    formula="dσ(a)/da = (1 - σ(a)) σ(a)",
)
TANH = Op(
    "tanh",
    "tanh",
    1,
    forward=math.tanh,
    local=lambda a, out: (1.0 - out * out,),
    formula="d tanh(a)/da = 1 - tanh(a)^2",
)
RELU = Op(
    "relu",
    "relu",
    1,
    forward=lambda a: a if a > 0.0 else 0.0,
    local=lambda a, out: (1.0 if a > 0.0 else 0.0,),
    formula="d relu(a)/da = 1 if a > 0 else 0  (0 at a = 0, as in PyTorch)",
    smooth=_away_from_zero,
)
MAX = Op(
    "max",
    "max",
    2,
    forward=lambda a, b: a if a >= b else b,
    local=_max_local,
    formula="d max(a,b)/da = 1 if a > b else 0  (router; a tie splits it 1/2, 1/2)",
    smooth=lambda a, b: abs(a - b) > KINK_MARGIN,
)


@lru_cache(maxsize=256)
def power(n: float) -> Op:
    """The op ``x ** n`` for a number exponent ``n``: one cached :class:`Op` per exponent.

    d(x^n)/dx = n x^(n-1). Negative bases are fine for whole-number exponents; a fractional
    exponent needs x > 0 (x >= 0 when n >= 1), and a negative exponent needs x != 0.
    """
    if n == 0:
        local: Callable[..., tuple[float, ...]] = lambda a, out: (0.0,)  # noqa: E731
    elif n == 1:
        local = lambda a, out: (1.0,)  # noqa: E731
    else:
        local = lambda a, out: (n * a ** (n - 1.0),)  # noqa: E731
    whole = float(n).is_integer()
    smooth: Callable[..., bool]
    if whole and n >= 0:
        domain, smooth = ALL_REALS, _always_smooth
    elif whole:
        domain, smooth = "x != 0", _away_from_small
    else:
        domain = "x > 0 (a fractional power of a negative number is not real)"
        smooth = _positive
    return Op(
        "pow",
        f"**{n:g}",
        1,
        forward=lambda a: math.pow(a, n),
        local=local,
        formula=f"d(x^{n:g})/dx = {n:g} x^{n - 1:g}",
        domain=domain,
        smooth=smooth,
    )


def _away_from_small(a: float) -> bool:
    return abs(a) > 0.1


def _positive(a: float) -> bool:
    return a > 0.1


#: Every fixed op by name. ``power(n)`` makes the number-exponent family on demand.
OPS: dict[str, Op] = {
    op.name: op
    for op in (
        ADD,
        SUB,
        NEG,
        MUL,
        TRUEDIV,
        POW_VALUE,
        EXP,
        LOG,
        RECIPROCAL,
        SIGMOID,
        TANH,
        RELU,
        MAX,
    )
}

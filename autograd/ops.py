"""The op table: every primitive the engine knows, each defined once.

An :class:`Op` is a plain record (the "rules as data" of JAX's Autodidax): its name, the symbol a
diagram draws in its gate, how it is written in an expression, its forward rule, its **local**
derivatives, the formula text of those derivatives, and its domain. Everything else reads this
record: the operators on :class:`~autograd.Value` and :class:`~autograd.Tensor`, ``backward()``,
the CLI's list of functions, the captions in ``viz`` and the Hypothesis strategies in
:mod:`autograd.testing`. A new op is one more ``Op(...)`` (in :data:`OPS`, or in your own code,
applied with :func:`autograd.apply`); CONTRIBUTING.md shows one added end to end.

Conventions for the rules:

* ``forward(*xs)`` takes the input values as floats and returns a float. ``array_forward`` is
  the same rule on numpy arrays, for Tensors; it is left out where ``forward`` already works on
  arrays (``a + b``), and an op with no ``forward`` works on Tensors only (``matmul``).
* ``local(*xs, out)`` takes the same inputs *and the forward output* (so ``exp`` and ``sigmoid``
  can reuse it) and returns ``d out / d x_i`` for every input, in order. Backprop then applies
  ``downstream_i = upstream * local_i``. The rules use only operators (``+ - * / **``) and the
  helpers below (:func:`ln`, :func:`sin`, :func:`cos`, :func:`sigmoid`, :func:`step`), so one
  rule serves floats, arrays and Values: given Values it builds the derivative as a graph,
  which is how :func:`autograd.grad` with ``create_graph=True`` differentiates a gradient
  again (second derivatives, Newton's method).
* ``inside(*xs)`` is the domain as a predicate (``None``: every real input). The gate checks it
  before computing, and ``domain`` says the same in words for the error message.
* ``smooth(*xs)`` says whether the inputs are inside the domain *and* at least
  :data:`KINK_MARGIN` away from any point where the derivative jumps (relu at 0, max at a tie).
  The test strategies use it to draw inputs where central differences are meaningful.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: How far from a kink (relu at 0, max at a tie) test inputs must stay: far larger than the
#: 1e-6 step of the central differences, so the numeric gradient never straddles the kink.
KINK_MARGIN = 1e-3

#: ln of the largest float64: e^a overflows beyond it.
_LARGEST_EXPONENT = math.log(np.finfo(np.float64).max)

#: The domain text of an op defined everywhere (the default).
ALL_REALS = "all real inputs"


def _always_smooth(*xs: float) -> bool:
    return True


@dataclass(frozen=True)
class Op:
    """One primitive: forward rule, local derivatives and how to write, draw and test it.

    Attributes:
        name: identifier, e.g. ``"mul"``; what ``Value.op`` reports.
        symbol: the text inside the gate's circle in a diagram, e.g. ``"*"``.
        arity: number of inputs (every gate in the lectures has one or two).
        forward: ``forward(*xs) -> out`` on floats; ``None`` for an op on arrays only.
        local: ``local(*xs, out) -> (d out/d x_0, ...)``.
        formula: the local derivatives as text, shown in diagrams and error messages.
        written: how the op is written in an expression, a ``str.format`` template over the
            inputs (``"{0} + {1}"``, ``"-{0}"``, ``"{0}**2"``); by default a call, ``exp(a)``.
        domain: the inputs where the op is defined, as text for error messages.
        inside: the domain as a predicate, ``inside(*xs) -> bool`` (elementwise for arrays);
            ``None`` when the op is defined for every real input.
        array_forward: the forward rule on numpy arrays, where ``forward`` does not serve
            (``math.exp`` takes one number). There is no second local rule: ``local`` is
            written to run on floats, arrays, Values and Tensors alike.
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
    forward: Callable[..., Any] | None
    local: Callable[..., tuple[Any, ...]]
    formula: str
    written: str = ""
    domain: str = ALL_REALS
    inside: Callable[..., Any] | None = None
    array_forward: Callable[..., Any] | None = None
    smooth: Callable[..., bool] = _always_smooth
    sample_range: tuple[float, float] = (-5.0, 5.0)
    always_finite: bool = False

    def write(self, *args: str) -> str:
        """The op applied to ``args`` as an expression: ``write("x", "y")`` is ``"x + y"``."""
        if self.written:
            return self.written.format(*args)
        return f"{self.name}({', '.join(args)})"

    @property
    def on_floats(self) -> Callable[..., Any]:
        """The forward rule for numbers (an op on arrays only has none)."""
        if self.forward is None:
            raise TypeError(f"{self.name} works on Tensors only")
        return self.forward

    @property
    def on_arrays(self) -> Callable[..., Any]:
        """The forward rule for numpy arrays: ``array_forward``, else the float one."""
        forward = self.array_forward or self.forward
        assert forward is not None, f"{self.name} has no rule for arrays"
        return forward

    def __repr__(self) -> str:
        return f"Op({self.name!r}, symbol={self.symbol!r})"


# -- the helpers a local rule may use besides operators -----------------------------------------
# Each works on a float, a numpy array, a Value and a Tensor, so one rule serves all four.


def _on_any(
    method: str, on_float: Callable[[float], float], on_array: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """A function for local rules that works on all four kinds: ``on_float`` for a float,
    ``on_array`` for an array, and the node's own gate (``a.log()``) for a Value or a Tensor, so
    a rule using it can be differentiated again."""

    def function(a: Any) -> Any:
        if isinstance(a, float):
            return on_float(a)
        if isinstance(a, np.ndarray):
            return on_array(a)
        return getattr(a, method)()

    function.__name__ = function.__qualname__ = method
    return function


def step(a: Any, b: Any = 0.0, tie: float = 0.5) -> Any:
    """The step function ``[a > b]``, ``tie`` at ``a == b``: 1.0 or 0.0 for numbers, an array of
    them for arrays. A constant, never a gate: a step's own derivative is 0 wherever it has one,
    so in a gradient graph it is a number (a Value's or Tensor's ``.data`` is compared).

    The routers (max, min) split a tie 1/2, 1/2; relu's slope at 0 is 0 (``tie=0``)."""
    a, b = values_of(a), values_of(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        above = np.asarray(np.greater(a, b))
        if tie == 0.0:
            return above  # a mask of bools multiplies as 1s and 0s, and costs one pass
        ties = np.equal(a, b)
        weights = above.astype(np.result_type(a, b))  # float32 stays float32
        return weights + tie * ties if ties.any() else weights
    return 1.0 if a > b else 0.0 if a < b else tie


def values_of(x: Any) -> Any:
    """The numbers of a number, an array, a Value or a Tensor: its ``.data`` if it is a node."""
    return x if isinstance(x, (float, int, np.ndarray, np.generic)) else x.data


def _sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^-x), evaluated so that e^t never overflows.

    For x >= 0 use 1 / (1 + e^-x); for x < 0 use e^x / (1 + e^x). Both exponents are <= 0, so
    the function is exact and silent for any finite x (σ(-1e4) = 0.0, σ(1e4) = 1.0).
    """
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _array_sigmoid(x: Any) -> Any:
    """σ elementwise by the same rule: e^t only for t <= 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


#: The functions a local rule may use besides operators (see the module docstring).
ln = _on_any("log", math.log, np.log)
exp = _on_any("exp", math.exp, np.exp)
sin = _on_any("sin", math.sin, np.sin)
cos = _on_any("cos", math.cos, np.cos)
sigmoid = _on_any("sigmoid", _sigmoid, _array_sigmoid)


def _softplus(x: float) -> float:
    """softplus(x) = log(1 + e^x), as max(x, 0) + log(1 + e^-|x|): the exponent is never positive,
    so nothing overflows (softplus(1e4) = 1e4), and log1p keeps the tiny values for very
    negative x (softplus(-40) = 4.2e-18, not 0)."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _array_softplus(x: Any) -> Any:
    """softplus elementwise by the same rule."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _away_from_zero(*xs: float) -> bool:
    return all(abs(x) > KINK_MARGIN for x in xs)


def _away_from_small(a: float) -> bool:
    return abs(a) > 0.1


def _positive(a: float) -> bool:
    return a > 0.1


ADD = Op(
    "add",
    "+",
    2,
    forward=lambda a, b: a + b,
    local=lambda a, b, out: (1.0, 1.0),
    formula="d(a+b)/da = 1, d(a+b)/db = 1  (distributor)",
    written="{0} + {1}",
)
SUB = Op(
    "sub",
    "-",
    2,
    forward=lambda a, b: a - b,
    local=lambda a, b, out: (1.0, -1.0),
    formula="d(a-b)/da = 1, d(a-b)/db = -1",
    written="{0} - {1}",
)
NEG = Op(
    "neg",
    "-",
    1,
    forward=lambda a: -a,
    local=lambda a, out: (-1.0,),
    formula="d(-a)/da = -1",
    written="-{0}",
    always_finite=True,
)
MUL = Op(
    "mul",
    "*",
    2,
    forward=lambda a, b: a * b,
    local=lambda a, b, out: (b, a),
    formula="d(ab)/da = b, d(ab)/db = a  (swap multiplier)",
    written="{0} * {1}",
)
TRUEDIV = Op(
    "truediv",
    "/",
    2,
    forward=lambda a, b: a / b,
    # -a/b^2 computed as -(a/b)/b: b*b would underflow to 0 for tiny b with a finite answer
    local=lambda a, b, out: (1.0 / b, -out / b),
    formula="d(a/b)/da = 1/b, d(a/b)/db = -a/b^2",
    written="{0} / {1}",
    domain="b != 0",
    inside=lambda a, b: b != 0,
    smooth=lambda a, b: abs(b) > 0.1,
)
POW_VALUE = Op(
    "pow_value",
    "**",
    2,
    forward=lambda a, b: math.pow(a, b),
    local=lambda a, b, out: (b * a ** (b - 1.0), out * ln(a)),
    formula="d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a",
    written="{0} ** {1}",
    domain="a > 0 (the derivative with respect to the exponent is a^b ln a); "
    "for a negative base use a number exponent, x ** 2",
    inside=lambda a, b: a > 0,
    array_forward=np.power,
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
    domain="a <= 709.78 (beyond that e^a is too large for a float: over about 1.8e308)",
    inside=lambda a: a <= _LARGEST_EXPONENT,
    array_forward=np.exp,
)
LOG = Op(
    "log",
    "log",
    1,
    forward=math.log,
    local=lambda a, out: (1.0 / a,),
    formula="d(ln a)/da = 1/a",
    domain="a > 0",
    inside=lambda a: a > 0,
    array_forward=np.log,
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
    written="1/{0}",
    domain="a != 0",
    inside=lambda a: a != 0,
    smooth=lambda a: abs(a) > 0.1,
)
SIGMOID = Op(
    "sigmoid",
    "σ",
    1,
    forward=_sigmoid,
    local=lambda a, out: (out * (1.0 - out),),
    formula="dσ(a)/da = (1 - σ(a)) σ(a)",
    array_forward=_array_sigmoid,
    always_finite=True,
)
TANH = Op(
    "tanh",
    "tanh",
    1,
    forward=math.tanh,
    local=lambda a, out: (1.0 - out * out,),
    formula="d tanh(a)/da = 1 - tanh(a)^2",
    array_forward=np.tanh,
    always_finite=True,
)
RELU = Op(
    "relu",
    "relu",
    1,
    forward=lambda a: a if a > 0.0 else 0.0,
    local=lambda a, out: (step(a, tie=0.0),),
    formula="d relu(a)/da = 1 if a > 0 else 0  (0 at a = 0, as in PyTorch)",
    array_forward=lambda a: np.maximum(a, 0.0),
    smooth=_away_from_zero,
    always_finite=True,
)
MAX = Op(
    "max",
    "max",
    2,
    forward=lambda a, b: a if a >= b else b,
    # The router: the larger input gets the whole upstream gradient, the other 0. At a tie the
    # gradient is split in half: PyTorch's rule, and what a central difference measures there.
    local=lambda a, b, out: (step(a, b), step(b, a)),
    formula="d max(a,b)/da = 1 if a > b else 0  (router; a tie splits it 1/2, 1/2)",
    array_forward=np.maximum,
    smooth=lambda a, b: abs(a - b) > KINK_MARGIN,
    always_finite=True,
)
MIN = Op(
    "min",
    "min",
    2,
    forward=lambda a, b: a if a <= b else b,
    # The mirror of max: the smaller input gets the whole upstream gradient; a tie splits it.
    local=lambda a, b, out: (step(b, a), step(a, b)),
    formula="d min(a,b)/da = 1 if a < b else 0  (router; a tie splits it 1/2, 1/2)",
    array_forward=np.minimum,
    smooth=lambda a, b: abs(a - b) > KINK_MARGIN,
    always_finite=True,
)
ABS = Op(
    "abs",
    "|x|",
    1,
    forward=math.fabs,
    # sign(a) as two steps: 1 - 0 for a > 0, 0 - 1 for a < 0, and 1/2 - 1/2 = 0 at a = 0
    local=lambda a, out: (step(a) - step(0.0, a),),
    formula="d|a|/da = sign(a) = 1 if a > 0, -1 if a < 0  (0 at a = 0, as in PyTorch)",
    array_forward=np.abs,
    smooth=_away_from_zero,
    always_finite=True,
)
SQRT = Op(
    "sqrt",
    "√",
    1,
    forward=math.sqrt,
    local=lambda a, out: (0.5 / out,),
    formula="d√a/da = 1/(2√a)",
    domain="a > 0 (the square root of a negative number is not real, and at 0 the slope "
    "1/(2√a) is infinite)",
    inside=lambda a: a > 0,
    array_forward=np.sqrt,
    smooth=lambda a: a > 0.05,
    sample_range=(0.05, 10.0),
    always_finite=True,  # inside the domain: √a > 0 for every a > 0, even a subnormal one
)
SIN = Op(
    "sin",
    "sin",
    1,
    forward=math.sin,
    local=lambda a, out: (cos(a),),
    formula="d sin(a)/da = cos(a)",
    array_forward=np.sin,
    always_finite=True,
)
COS = Op(
    "cos",
    "cos",
    1,
    forward=math.cos,
    local=lambda a, out: (-sin(a),),
    formula="d cos(a)/da = -sin(a)",
    array_forward=np.cos,
    always_finite=True,
)
SOFTPLUS = Op(
    "softplus",
    "softplus",
    1,
    forward=_softplus,
    local=lambda a, out: (sigmoid(a),),
    formula="d softplus(a)/da = σ(a)  (softplus(a) = log(1 + e^a), a smooth relu)",
    array_forward=_array_softplus,
    always_finite=True,
)


@lru_cache(maxsize=256)
def power(n: float) -> Op:
    """The op ``x ** n`` for a number exponent ``n``: one cached :class:`Op` per exponent.

    d(x^n)/dx = n x^(n-1). Negative bases are fine for whole-number exponents; a fractional
    exponent needs x > 0 (x >= 0 when n >= 1), and a negative exponent needs x != 0.
    """
    if n == 0:
        local: Callable[..., tuple[Any, ...]] = lambda a, out: (0.0,)  # noqa: E731
    elif n == 1:
        local = lambda a, out: (1.0,)  # noqa: E731
    else:
        local = lambda a, out: (n * a ** (n - 1.0),)  # noqa: E731
    domain, inside, smooth = _power_domain(n)
    return Op(
        "pow",
        f"**{n:g}",
        1,
        forward=lambda a: math.pow(a, n),
        local=local,
        formula=f"d(x^{n:g})/dx = {n:g} x^{n - 1:g}",
        written=f"{{0}}**{n:g}",
        domain=domain,
        inside=inside,
        array_forward=lambda a: np.power(a, n),
        smooth=smooth,
    )


def _power_domain(n: float) -> tuple[str, Callable[..., Any] | None, Callable[..., bool]]:
    """``x ** n``'s domain as text, as a predicate, and where test inputs may be drawn."""
    if float(n).is_integer() and n >= 0:
        return ALL_REALS, None, _always_smooth
    if float(n).is_integer():
        return "x != 0", lambda a: a != 0, _away_from_small
    not_real = f"for x < 0, x**{n:g} is not a real number"
    if n > 1:  # 0 ** 1.5 = 0 with slope 0: fine
        return f"x >= 0 ({not_real})", lambda a: a >= 0, _positive
    # 0 < n < 1: 0 ** n = 0 but the slope n x^(n-1) is infinite there; n < 0: 0 ** n itself is
    at_zero = "its slope is infinite" if n > 0 else f"0**{n:g} divides by zero"
    return f"x > 0 ({not_real}; at x = 0 {at_zero})", lambda a: a > 0, _positive


#: Every op with a fixed rule, by name. Families made on demand (``power(n)``; a Tensor's
#: ``sum`` over given axes, ``reshape`` to a given shape) are not listed.
OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to :data:`OPS` (the CLI, captions and test strategies find it there)."""
    if OPS.get(op.name, op) is not op:
        raise ValueError(f"an op named {op.name!r} is already in the table")
    OPS[op.name] = op
    return op


for _op in (
    *(ADD, SUB, NEG, MUL, TRUEDIV, POW_VALUE, EXP, LOG, RECIPROCAL, SIGMOID, TANH, RELU, MAX),
    *(MIN, ABS, SQRT, SIN, COS, SOFTPLUS),
):
    register(_op)

"""The scalar graph node :class:`Value` and reverse-mode ``backward``.

Every operator on a ``Value`` is made from an entry of the op table (:mod:`autograd.ops`) by
one of two factories below, :func:`_unary_gate` and :func:`_binary_gate`. The function they
build computes the op's forward value and its **local** derivatives and records both on the new
node. ``backward()`` is then the one generic loop of :mod:`autograd.graph`, which never asks
which op a node came from: for every node, in reverse topological order, and every input
``p`` of that node::

    p.grad += node.grad * local        # downstream += upstream x local

That one line is all four lecture gate patterns: an add gate's locals are 1 (distributor), a
mul gate's are the swapped inputs (swap multiplier), a max gate's are 1 and 0 (router), and
``+=`` adds up the gradients of a value used twice (copy gate).

Design notes (why it looks like this):

* Local derivatives are data on the node, not closures: the diagrams print them, ``gradcheck``
  can blame a single gate, and a node holds no reference back to itself, so graphs contain no
  reference cycles and are freed by reference counting alone.
* Every gate has one or two inputs, as every gate in the lectures does. They are kept in fixed
  slots (``_in0``, ``_in1`` and their local derivatives ``_d0``, ``_d1``) rather than in tuples:
  a tuple per node would be one more object per node for Python's garbage collector to scan,
  which costs more than the arithmetic. ``parents`` and ``local_grads`` present them as tuples.
* The walk itself (Kahn's algorithm, no recursion) and grad mode live in :mod:`autograd.graph`,
  shared with :class:`~autograd.Tensor`; here a local gradient is a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Union

import numpy as np

from autograd import graph as _graph
from autograd import ops as _ops
from autograd.graph import BackwardStep, GraphNode, NonFiniteError, backprop, topological_order
from autograd.ops import Op

Operand = Union["Value", int, float]

_INF = math.inf
_ACCEPTED = (int, float, np.integer, np.floating, np.bool_)


class Value(GraphNode):
    """A scalar node of the computational graph.

    Attributes:
        data: the forward value (a Python float).
        grad: d root / d self after ``root.backward()``; 0.0 before.
        label: a name for diagrams (``"x"``, ``"w0"``); optional.
        gate: the :class:`~autograd.ops.Op` that produced this node, ``None`` for a leaf.
        op: the op's name (``"mul"``), ``""`` for a leaf.
        parents: the input Values in argument order (``x * x`` has two); ``()`` for a leaf.
        local_grads: ``d self / d parents[i]`` at the forward point, aligned with ``parents``.
    """

    __slots__ = ("_d0", "_d1", "_in0", "_in1", "_pending", "data", "gate", "grad", "label")

    data: float
    grad: float
    label: str
    gate: Op | None
    _in0: Value | None
    _in1: Value | None
    _d0: float
    _d1: float
    _pending: int  # consumers not yet processed by a graph walk; 0 outside a walk

    def __init__(self, data: float | int | bool | np.number, label: str = "") -> None:
        if data.__class__ is float:  # the common case, checked first for speed
            value = data
        elif isinstance(data, _ACCEPTED):
            value = _to_float(data)
        else:
            hint = " (use .item() to get a Python number)" if isinstance(data, np.ndarray) else ""
            raise TypeError(
                f"Value() takes a real number (int, float, bool or a numpy scalar), "
                f"got {type(data).__name__}: {data!r}{hint}"
            )
        if not -_INF < value < _INF:
            raise NonFiniteError(
                f"Value() needs a finite number, got {value}: inf and nan have no useful "
                "gradient; check the computation that produced it"
            )
        if label.__class__ is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.data = value
        self.grad = 0.0
        self.label = label
        self.gate = self._in0 = self._in1 = None
        self._d0 = self._d1 = 0.0
        self._pending = 0

    # -- introspection (op, parents, local_grads and is_leaf come from GraphNode) --------------

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.gate is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{op}{label})"

    def __float__(self) -> float:
        return self.data

    # -- operators: each one is made from its entry in the op table (see the end of the file) -

    __add__: Callable[[Value, Operand], Value]
    __radd__: Callable[[Value, Operand], Value]
    __sub__: Callable[[Value, Operand], Value]
    __rsub__: Callable[[Value, Operand], Value]
    __mul__: Callable[[Value, Operand], Value]
    __rmul__: Callable[[Value, Operand], Value]
    __truediv__: Callable[[Value, Operand], Value]
    __rtruediv__: Callable[[Value, Operand], Value]
    __rpow__: Callable[[Value, Operand], Value]
    __neg__: Callable[[Value], Value]

    def __pow__(self, exponent: Operand) -> Value:
        """``x ** n`` with a number ``n`` is a one-input gate, d/dx = n x^(n-1).

        ``a ** b`` with a Value ``b`` is the two-input gate whose exponent gets a gradient too,
        a^b ln a, so it needs ``a > 0``.
        """
        if isinstance(exponent, Value):
            return _binary_gate(_ops.POW_VALUE)(self, exponent)
        return _unary_gate(_ops.power(_as_exponent(exponent)))(self)

    # -- comparisons: of the values, giving a bool, outside the graph --------------------------
    # (A comparison is a step function: no gate, its derivative is 0 wherever it has one. The
    # local rules of relu and max use them, so those rules run on Values too. == is left as
    # identity: Values are dictionary keys.)

    def __lt__(self, other: Operand) -> bool:
        return self.data < _compared(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _compared(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _compared(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _compared(other)

    def exp(self) -> Value:
        """e^x; d/dx = e^x."""
        return _exp(self)

    def log(self) -> Value:
        """Natural logarithm, for x > 0; d/dx = 1/x."""
        return _log(self)

    def reciprocal(self) -> Value:
        """1/x, the lectures' "1/x" gate, for x != 0; d/dx = -1/x^2."""
        return _reciprocal(self)

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^-x) as one fused gate; d/dx = (1 - σ) σ. Stable for any x."""
        return _sigmoid(self)

    def tanh(self) -> Value:
        """tanh(x); d/dx = 1 - tanh(x)^2."""
        return _tanh(self)

    def relu(self) -> Value:
        """max(0, x); d/dx = 1 for x > 0, else 0 (0 at exactly 0, as in PyTorch)."""
        return _relu(self)

    def max(self, other: Operand) -> Value:
        """max(self, other), the router gate.

        The larger input receives the whole upstream gradient and the other 0. At a tie the
        value is the same whichever side "wins", and the gradient is split 1/2 to each input:
        PyTorch's rule, and what the central difference measures at a tie.
        """
        return _max(self, other)

    # -- backprop -----------------------------------------------------------------------------

    def backward(
        self, grad: float | None = None, on_step: Callable[[BackwardStep], None] | None = None
    ) -> None:
        """Fill ``.grad`` of every node this one depends on with ``grad`` * d self / d node.

        Seeds ``self`` with ``grad`` (1.0 by default: d self / d self), then visits the graph
        in reverse topological order applying ``parent.grad += node.grad * local`` on every
        edge. A seed other than 1 is the upstream gradient of ``self`` in a larger
        computation (``backward(2.0)`` gives twice the gradients).

        ``on_step``, if given, is called after each gate has sent its gradient to its inputs,
        with a :class:`BackwardStep` (the gate, its upstream gradient, local and downstream
        gradients). The graph is in the engine's real partial state at that moment: this is how
        ``viz.step`` shows the backward pass one gate at a time.

        Accumulation, as in PyTorch: leaves (inputs, parameters, constants) *add* the new
        gradient to what ``.grad`` already holds, so calling ``backward`` twice doubles them;
        clear them between steps with :meth:`zero_grad`. Interior nodes are reset at the start
        of each call and hold the gradient of the latest ``backward`` through them.

        A backward that fails part-way changes no gradient (see
        :func:`autograd.graph.backprop`).

        Raises:
            TypeError: ``grad`` is not a real number (a callback belongs in ``on_step=``).
            NonFiniteError: ``grad`` is inf or nan, or a gradient overflowed float64; names
                the node where it happened.
        """
        seed = 1.0 if grad is None else as_seed(grad)
        backprop(self, seed, 0.0, math.isfinite, on_step)

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0.0 on this node and every node it depends on."""
        for node in topological_order(self):
            node.grad = 0.0


def _compared(other: object) -> float:
    if isinstance(other, Value):
        return other.data
    if isinstance(other, _ACCEPTED):
        return _to_float(other)
    raise TypeError(f"cannot compare a Value with {type(other).__name__}")


def as_seed(grad: object) -> float:
    """``backward(grad)``'s seed, checked before the walk touches anything."""
    if callable(grad):
        raise TypeError(
            "backward(grad): grad is the seed gradient, a number; pass a callback as "
            "backward(on_step=...)"
        )
    if isinstance(grad, (bool, np.bool_)) or not isinstance(grad, _ACCEPTED):
        raise TypeError(f"backward(grad): grad must be a real number, got {type(grad).__name__}")
    seed = _to_float(grad)
    if not -_INF < seed < _INF:
        raise NonFiniteError(f"backward(grad): grad must be finite, got {seed}")
    return seed


def _to_float(number: object) -> float:
    """``float(number)``, with an int too large for float64 reported by the engine's policy."""
    try:
        return float(number)  # type: ignore[arg-type]  # callers checked _ACCEPTED
    except OverflowError:
        raise NonFiniteError(
            f"{number} is too large for a float64 (the largest is about 1.8e308)"
        ) from None


def _constant(number: Operand) -> Value:
    """A number operand becomes a leaf labelled with its value, so diagrams show "* -1"."""
    if isinstance(number, Value):
        return number
    if not isinstance(number, _ACCEPTED):
        raise TypeError(
            f"cannot combine a Value with {type(number).__name__} ({number!r}); "
            "use a Value or a real number"
        )
    value = _to_float(number)
    return Value(value, label=f"{value:g}")


def _as_exponent(exponent: object) -> float:
    if not isinstance(exponent, _ACCEPTED):
        raise TypeError(f"exponent must be a real number or a Value, got {type(exponent).__name__}")
    n = _to_float(exponent)
    if not -_INF < n < _INF:
        raise NonFiniteError(f"exponent must be finite, got {n}")
    return n


# -- making gates from the op table -----------------------------------------------------------
#
# `_unary_gate(op)` and `_binary_gate(op)` build the function that applies `op`: forward value,
# local derivatives, the finiteness check, and the new node. They are the only places where
# nodes are made by ops. The Value operators above are these functions, made once per op.


@cache
def _unary_gate(op: Op) -> Callable[[Value], Value]:
    forward, local = op.forward, op.local

    def gate(a: Value) -> Value:
        x = a.data
        try:
            out = forward(x)
            (d0,) = local(x, out)
        except (ValueError, ZeroDivisionError, OverflowError) as error:
            raise _non_finite(op, (x,), error) from error
        if not -_INF < out + d0 < _INF and not (-_INF < out < _INF and -_INF < d0 < _INF):
            raise _non_finite(op, (x,), f"= {out} with local derivative {d0}")
        node = _new_node(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node._in1 = None
        node._d1 = 0.0
        if _graph._grad_enabled:
            node.gate = op
            node._in0 = a
            node._d0 = d0
        else:  # a plain leaf: nothing recorded
            node.gate = node._in0 = None
            node._d0 = 0.0
        node._pending = 0
        return node

    gate.__name__ = gate.__qualname__ = op.name
    gate.__doc__ = f"Apply the {op.name} gate: {op.formula}."
    return gate


@cache
def _binary_gate(op: Op, reflected: bool = False) -> Callable[[Value, Operand], Value]:
    forward, local = op.forward, op.local

    def gate(first: Value, second: Operand) -> Value:
        # `reflected` serves `2 * x`: Python calls x.__rmul__(2), the gate computes 2 * x.
        b = second if type(second) is Value else _constant(second)
        a = first
        if reflected:
            a, b = b, a
        x = a.data
        y = b.data
        try:
            out = forward(x, y)
            d0, d1 = local(x, y, out)
        except (ValueError, ZeroDivisionError, OverflowError) as error:
            raise _non_finite(op, (x, y), error) from error
        # One range test screens all three numbers: the sum is finite only if each term is.
        # (A finite sum can still overflow, so a failed screen is confirmed term by term.)
        if not -_INF < out + d0 + d1 < _INF and not (
            -_INF < out < _INF and -_INF < d0 < _INF and -_INF < d1 < _INF
        ):
            raise _non_finite(op, (x, y), f"= {out} with local derivatives ({d0}, {d1})")
        node = _new_node(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        if _graph._grad_enabled:
            node.gate = op
            node._in0 = a
            node._in1 = b
            node._d0 = d0
            node._d1 = d1
        else:  # a plain leaf: nothing recorded
            node.gate = node._in0 = node._in1 = None
            node._d0 = node._d1 = 0.0
        node._pending = 0
        return node

    gate.__name__ = gate.__qualname__ = f"r{op.name}" if reflected else op.name
    gate.__doc__ = f"Apply the {op.name} gate: {op.formula}."
    return gate


_new_node = object.__new__


def _non_finite(op: Op, xs: tuple[float, ...], problem: Exception | str) -> NonFiniteError:
    """The error for an op whose value or local derivative is not a finite real number.

    ``problem`` is the exception the op's rule raised (``math.log(0)`` raises ValueError: a
    domain error) or a description of the inf/nan it returned (float64 overflow).
    """
    # written as the expression is, with the op's symbol: "1.0 / 0.0", "log(-1.0)", "(-8.0)**0.5"
    args = ", ".join(repr(x) for x in xs)
    if len(xs) == 2 and op.symbol in _ops.INFIX_SYMBOLS:
        call = f"{xs[0]!r} {op.symbol} {xs[1]!r}"
    elif op.symbol.startswith("**"):
        call = f"({args}){op.symbol}"
    else:
        call = f"{op.symbol if op.symbol.isidentifier() else op.name}({args})"
    if isinstance(problem, (ValueError, ZeroDivisionError)):
        # (Python's own wording, "math domain error", says nothing the domain does not)
        return NonFiniteError(f"{call} is undefined: {op.symbol} is defined for {op.domain}")
    what = "overflows float64" if isinstance(problem, OverflowError) else problem
    return NonFiniteError(
        f"{call} {what}: float64 overflowed (its largest value is about 1.8e308). "
        f"{op.symbol} is defined for {op.domain}; scale the inputs down."
    )


def apply(op: Op, *inputs: Operand) -> Value:
    """Apply ``op`` to ``inputs`` (Values or numbers) and record the result in the graph.

    This is how you use an op you defined yourself; the operators on ``Value`` are the same
    functions. Numbers become constant leaves; inside :func:`no_grad` the result is a leaf.

    Raises:
        NonFiniteError: the value or a local derivative is not a finite real number (outside
            the op's domain, or float64 overflow).
        TypeError: the number of inputs does not match ``op.arity``, or an input is neither a
            Value nor a real number.
    """
    if len(inputs) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} input(s), got {len(inputs)}")
    if op.arity == 1:
        return _unary_gate(op)(_constant(inputs[0]))
    return _binary_gate(op)(_constant(inputs[0]), inputs[1])


Value.__add__ = _binary_gate(_ops.ADD)
Value.__radd__ = _binary_gate(_ops.ADD, reflected=True)
Value.__sub__ = _binary_gate(_ops.SUB)
Value.__rsub__ = _binary_gate(_ops.SUB, reflected=True)
Value.__mul__ = _binary_gate(_ops.MUL)
Value.__rmul__ = _binary_gate(_ops.MUL, reflected=True)
Value.__truediv__ = _binary_gate(_ops.TRUEDIV)
Value.__rtruediv__ = _binary_gate(_ops.TRUEDIV, reflected=True)
Value.__rpow__ = _binary_gate(_ops.POW_VALUE, reflected=True)
Value.__neg__ = _unary_gate(_ops.NEG)
_exp = _unary_gate(_ops.EXP)
_log = _unary_gate(_ops.LOG)
_reciprocal = _unary_gate(_ops.RECIPROCAL)
_sigmoid = _unary_gate(_ops.SIGMOID)
_tanh = _unary_gate(_ops.TANH)
_relu = _unary_gate(_ops.RELU)
_max = _binary_gate(_ops.MAX)

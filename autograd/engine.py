"""The engine: the graph node, ``apply`` (how the graph grows), ``backward`` (how gradients flow
back through it), grad mode, and the scalar node :class:`Value`.

Every node, a :class:`Value` (a number) or a :class:`~autograd.Tensor` (an array), has the same
fields: ``data`` (its forward value), ``grad``, ``gate`` (the :class:`~autograd.ops.Op` that
made it, ``None`` for a leaf), its ``parents`` (the inputs of that op, in order) and their
``local_grads``: d node / d parent at the forward point, computed by the op's rule when the node
is made and kept as data. ``backward()`` is then the lectures' rule and nothing else::

    for node in reversed(topological_order(root)):      # each gradient complete when reached
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += node.grad * local               # downstream = upstream x local

That line is all four gate patterns: an add gate's locals are 1 (distributor), a mul gate's are
the swapped inputs (swap multiplier), a max gate's are 1 and 0 (router), and ``+=`` adds up the
gradients of a value used twice (copy gate). For a Value a local gradient is a number; for a
Tensor it is the op's Jacobian in whatever form multiplies an upstream array cheapest (an array
of elementwise derivatives, or a small linear map: see :mod:`autograd.jacobians`).

Design notes (why it looks like this):

* Local derivatives are data on the node, not closures: the diagrams print them, ``gradcheck``
  can blame a single gate, and a node holds no reference back to itself, so graphs contain no
  reference cycles and are freed by reference counting alone.
* No recursion anywhere, so a chain of a million ops works.
* Grad mode lives in a :class:`~contextvars.ContextVar`, so it is per thread and per asyncio
  task, as PyTorch's is: a ``no_grad`` block in one thread never stops another from recording.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple, Union

import numpy as np

from autograd import ops as _ops
from autograd.ops import Op

Operand = Union["Value", int, float]


class NonFiniteError(ArithmeticError, ValueError):
    """A value, local derivative or gradient would not be a finite real number.

    The engine's one policy for domain errors and overflow: it never produces inf or nan.
    It raises this error, naming the op, its inputs and its domain, so a wrong number can never
    flow silently into a gradient. Catch it as ``ValueError`` or ``ArithmeticError`` too.
    """


# -- grad mode ------------------------------------------------------------------------------------

_recording: ContextVar[bool] = ContextVar("autograd_recording", default=True)


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager inside which ops record nothing (results are plain leaves).

    Use it for evaluation, numerical gradients or optimiser updates: nothing made inside is
    part of any graph, so nothing is kept alive and ``backward`` cannot reach through it.
    Serves Values and Tensors alike, and holds for the current thread (or asyncio task) only.
    """
    token = _recording.set(False)
    try:
        yield
    finally:
        _recording.reset(token)


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad` (in this thread or task)."""
    return _recording.get()


# -- the graph node -------------------------------------------------------------------------------


class Node:
    """What every node (a Value, a Tensor) has; the walks below read nothing else.

    A kind of node says, as class attributes, what an interior node's gradient starts from
    (``no_gradient_yet``) and how to test a gradient for inf and nan (``is_finite``), and
    implements the hooks :func:`apply` calls.
    """

    # Every gate has one or two inputs, as every gate in the lectures does. They are kept in two
    # slots, `_in0` and `_in1` (None when absent), with their local gradients `_d0` and `_d1`,
    # not in tuples: a tuple is one more object per node for Python's garbage collector, which
    # made building a graph twice as slow. `parents` and `local_grads` present them as tuples,
    # and everything except the two fast paths at the end of this file reads those.
    __slots__ = ("_d0", "_d1", "_in0", "_in1", "_pending", "data", "gate", "grad", "label")

    data: Any
    grad: Any
    label: str
    gate: Op | None
    _in0: Any
    _in1: Any
    _d0: Any
    _d1: Any
    _pending: int  # uses not yet processed by a walk; 0 outside a walk

    no_gradient_yet: ClassVar[Any] = 0.0

    @staticmethod
    def is_finite(grad: Any) -> bool:
        """Whether a gradient of this kind holds no inf or nan."""
        return math.isfinite(grad)

    @property
    def op(self) -> str:
        """Name of the op that produced this node; ``""`` for a leaf."""
        return "" if self.gate is None else self.gate.name

    @property
    def parents(self) -> tuple[Any, ...]:
        """The input nodes, in argument order (``x * x`` has two); ``()`` for a leaf."""
        if self._in0 is None:
            return ()
        return (self._in0,) if self._in1 is None else (self._in0, self._in1)

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """Per input, the local gradient ``backward`` multiplies the upstream by: d self /
        d parents[i], a number for a Value; an array or a linear map for a Tensor."""
        if self._in0 is None:
            return ()
        return (self._d0,) if self._in1 is None else (self._d0, self._d1)

    @property
    def is_leaf(self) -> bool:
        """True for inputs, parameters and constants: nodes that no op produced."""
        return self._in0 is None

    def _clear(self) -> None:
        """No gate and no inputs: a leaf."""
        self.gate = self._in0 = self._in1 = self._d0 = self._d1 = None
        self._pending = 0

    def _record(self, op: Op, parents: tuple[Any, ...], local_grads: tuple[Any, ...]) -> None:
        """This node was made by ``op`` from ``parents``, with these local gradients."""
        self.gate = op
        self._in0, self._in1 = parents if len(parents) == 2 else (parents[0], None)
        self._d0, self._d1 = local_grads if len(local_grads) == 2 else (local_grads[0], None)

    # The hooks of `apply`, one set per kind of node.
    @classmethod
    def lift(cls, x: Any, like: Any) -> Any:
        """An operand as a node: a number or array becomes a constant leaf."""
        raise NotImplementedError

    @classmethod
    def evaluate(cls, op: Op, xs: list[Any]) -> Any:
        """``op``'s forward value at ``xs``, refused when ``xs`` is outside the domain or the
        result is not finite."""
        raise NotImplementedError

    @classmethod
    def locals_of(
        cls, op: Op, xs: list[Any], out: Any, parents: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        """``op``'s local gradients at ``xs``, checked, one per parent."""
        raise NotImplementedError

    @classmethod
    def result(cls, out: Any, recorded: bool) -> Any:
        """A new node holding ``out``, with no inputs yet."""
        raise NotImplementedError

    @classmethod
    def records(cls, parents: tuple[Any, ...]) -> bool:
        """Whether a gate over ``parents`` is recorded (outside ``no_grad``)."""
        return True


def apply(op: Op, *inputs: Any) -> Any:
    """Apply ``op`` to ``inputs`` and record the result in the graph: the one place where the
    graph grows, for Values and Tensors alike.

    The output is a Tensor if any input is one, else a Value. Numbers (and arrays, for
    Tensors) become constant leaves. The op's forward value and its local gradients are
    computed here and stored on the new node, with its inputs as ``parents``; inside
    :func:`no_grad` the result is a plain leaf. This is how you use an op you defined yourself.

    Raises:
        NonFiniteError: the inputs are outside the op's domain, or the value or a local
            derivative is not a finite real number (float64 overflow).
        TypeError: the number of inputs does not match ``op.arity``, or an input is neither a
            node nor a number.
    """
    if len(inputs) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} input(s), got {len(inputs)}")
    kind = type(inputs[0]) if isinstance(inputs[0], Node) else _kind_of(inputs)
    parents = tuple([kind.lift(x, inputs) for x in inputs])
    xs = [p.data for p in parents]
    out = kind.evaluate(op, xs)
    recorded = _recording.get() and kind.records(parents)
    node = kind.result(out, recorded)
    if recorded:
        node._record(op, parents, kind.locals_of(op, xs, out, parents))
    return node


def _kind_of(inputs: tuple[Any, ...]) -> type[Node]:
    """The kind of node a gate over ``inputs`` makes: a Tensor if any input is one."""
    return next((type(x) for x in inputs if isinstance(x, Node)), Value)


# -- the walks ------------------------------------------------------------------------------------


class BackwardStep(NamedTuple):
    """One gate's work during ``backward``: ``downstream[i] = upstream * local_grads[i]``."""

    gate: Any  # the node (a Value or a Tensor) whose gradient was just sent to its inputs
    upstream: Any
    local_grads: tuple[Any, ...]
    downstream: tuple[Any, ...]


OnStep = Callable[[BackwardStep], None]


def topological_order(root: Node) -> list[Any]:
    """Every node ``root`` depends on (itself included), each after all of its inputs.

    Kahn's algorithm, backwards from ``root``: a node is emitted once every node that uses it
    has been, then the list is reversed. Iterative, so depth is limited only by memory, and
    deterministic: the order depends only on the graph's shape.
    """
    order = []
    try:
        _count_uses(root)
        ready = [root]
        while ready:
            node = ready.pop()
            order.append(node)
            for parent in node.parents:
                parent._pending -= 1
                if not parent._pending:  # every use of parent is emitted
                    ready.append(parent)
    except BaseException:  # Ctrl-C mid-walk: leave no counter set
        _reset_counters(root)
        raise
    order.reverse()
    return order


def _count_uses(root: Node) -> list[Any]:
    """Pass 1 of both walks: set each node's ``_pending`` to its number of uses below ``root``
    (``x * x`` uses x twice); return every node found, ``root`` first.

    Counters on the nodes are cheaper than a set of visited nodes; the second pass of each walk
    counts them back down to 0.
    """
    found = [root]
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if not parent._pending:  # first use found: visit its inputs too
                found.append(parent)
                stack.append(parent)
            parent._pending += 1
    return found


def backprop(root: Node, seed: Any, on_step: OnStep | None = None) -> None:
    """Add ``seed`` x d root / d node to the ``.grad`` of every leaf ``root`` depends on, and
    set every interior node's ``.grad`` to its gradient: the engine's one backward walk.

    ``seed`` is d root / d root (1 for a loss), or the upstream gradient of ``root`` in a larger
    computation. ``on_step``, if given, is called after each gate has sent its gradient to its
    inputs, with the graph in the walk's real partial state (how ``viz.step`` shows it).

    The nodes are visited in reverse topological order, found as :func:`topological_order`
    finds it (Kahn's algorithm): a node is ready once every node that uses it has sent its part
    of the gradient, so its own gradient is complete when it sends to its inputs.

    Leaves *add* to what ``.grad`` already holds (call ``backward`` twice and their gradients
    double; clear them with ``zero_grad``). A walk that fails part-way (a gradient overflows,
    ``on_step`` raises, Ctrl-C) puts every leaf's gradient back as it was, so no leaf keeps half
    a gradient that the next ``backward`` would add to.

    Raises:
        NonFiniteError: a gradient overflowed; names the leaf and the gate where it began.
    """
    # each leaf's gradient before this walk, to put back on failure (two flat lists: a
    # (leaf, grad) tuple each would cost 56 bytes more per leaf)
    leaves, old_grads = [], []
    try:
        for node in _count_uses(root):
            if node.parents:  # interior: start from nothing, then add what each use sends
                node.grad = node.no_gradient_yet
            else:
                leaves.append(node)
                old_grads.append(node.grad)
        root.grad = seed if root.parents else root.grad + seed
        if not root.parents and not root.is_finite(root.grad):
            raise _grad_overflow(root, root)
        ready = [root]
        while ready:
            node = ready.pop()
            upstream = node.grad  # complete: every use of node has sent its part
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                parent.grad = parent.grad + upstream * local  # downstream = upstream x local
                parent._pending -= 1
                if parent.parents:
                    if not parent._pending:  # every use has sent its part: ready
                        ready.append(parent)
                elif not parent.is_finite(parent.grad):  # (an inf or nan reaches a leaf)
                    raise _grad_overflow(parent, root)
            if on_step is not None and node.parents:
                downstream = tuple(upstream * local for local in node.local_grads)
                on_step(BackwardStep(node, upstream, node.local_grads, downstream))
    except BaseException:
        _reset_counters(root)
        for leaf, grad in zip(leaves, old_grads, strict=True):
            leaf.grad = grad
        raise


def _grad_overflow(leaf: Node, root: Node) -> NonFiniteError:
    first = next(
        (n for n in reversed(topological_order(root)) if n.parents and not _finite_grad(n)),
        None,
    )
    where = "" if first is None else f" It first appears in the gradient of {first!r}."
    return NonFiniteError(
        f"the gradient reaching {leaf!r} is not finite (inf or nan): it overflowed float "
        f"range during backward. Scale the inputs or the loss down.{where}"
    )


def _finite_grad(node: Node) -> bool:
    grad = node.grad
    return not isinstance(grad, (float, np.ndarray)) or node.is_finite(grad)


def _reset_counters(root: Node) -> None:
    """Put every ``_pending`` below ``root`` back to 0 after a walk was interrupted.

    The walks rely on all counters being 0 when they start. Only used on the error path, so it
    keeps it simple: a set of visited nodes.
    """
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        node._pending = 0
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)


# -- the scalar node ------------------------------------------------------------------------------

_INF = math.inf
_ACCEPTED = (int, float, np.integer, np.floating, np.bool_)


class Value(Node):
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

    __slots__ = ()

    data: float
    grad: float

    is_finite = staticmethod(math.isfinite)  # type: ignore[assignment]  # (no Python call)

    def __init__(self, data: float | int | bool | np.number, label: str = "") -> None:
        if isinstance(data, Node):
            raise TypeError("Value() got a node; use .data to copy its value")
        if not isinstance(data, _ACCEPTED):
            hint = " (use .item() to get a Python number)" if isinstance(data, np.ndarray) else ""
            raise TypeError(
                f"Value() takes a real number (int, float, bool or a numpy scalar), "
                f"got {type(data).__name__}: {data!r}{hint}"
            )
        value = _to_float(data)
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
        self._clear()

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.gate is not None else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{op}{label})"

    def __float__(self) -> float:
        return self.data

    def item(self) -> float:
        """The value as a Python float (as ``Tensor.item()`` and PyTorch's)."""
        return self.data

    # -- operators: each applies its entry of the op table (through the fast path below) ------

    # Each is the gate of its op, made by `fast_scalar_gate` at the end of this file, with its
    # docstring from the op's entry: `x + y` runs Value.__add__(x, y), which is
    # `apply(ADD, x, y)`, and `x.exp()` runs Value.exp(x), which is `apply(EXP, x)`.
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
    __abs__: ClassVar[Callable[[Value], Value]]
    exp: ClassVar[Callable[[Value], Value]]
    log: ClassVar[Callable[[Value], Value]]
    reciprocal: ClassVar[Callable[[Value], Value]]  # the lectures' "1/x" gate
    sigmoid: ClassVar[Callable[[Value], Value]]  # one fused gate, stable for any x
    tanh: ClassVar[Callable[[Value], Value]]
    relu: ClassVar[Callable[[Value], Value]]
    abs: ClassVar[Callable[[Value], Value]]
    sqrt: ClassVar[Callable[[Value], Value]]
    sin: ClassVar[Callable[[Value], Value]]
    cos: ClassVar[Callable[[Value], Value]]
    softplus: ClassVar[Callable[[Value], Value]]
    max: ClassVar[Callable[[Value, Operand], Value]]  # the router; a tie splits it 1/2, 1/2
    min: ClassVar[Callable[[Value, Operand], Value]]

    def __pow__(self, exponent: Operand) -> Value:
        """``x ** n`` with a number ``n`` is a one-input gate, d/dx = n x^(n-1).

        ``a ** b`` with a Value ``b`` is the two-input gate whose exponent gets a gradient too,
        a^b ln a, so it needs ``a > 0``.
        """
        if isinstance(exponent, Value):
            return _pow_value(self, exponent)
        return _power(_as_exponent(exponent))(self)

    # -- comparisons: of the values, giving a bool, outside the graph --------------------------
    # (A comparison is a step function: no gate, its derivative is 0 wherever it has one. == is
    # left as identity: Values are dictionary keys.)

    def __lt__(self, other: Operand) -> bool:
        return self.data < _compared(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _compared(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _compared(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _compared(other)

    # -- backprop -----------------------------------------------------------------------------

    def backward(
        self,
        grad: float | None = None,
        on_step: OnStep | None = None,
        create_graph: bool = False,
    ) -> None:
        """Fill ``.grad`` of every node this one depends on with ``grad`` x d self / d node.

        ``grad`` is the seed, 1.0 by default (d self / d self); another seed is the upstream
        gradient of ``self`` in a larger computation (``backward(2.0)`` doubles every gradient).
        ``on_step`` is called after each gate has sent its gradient to its inputs, with a
        :class:`BackwardStep` (how ``viz.step`` shows the backward pass one gate at a time).
        With ``create_graph=True`` each leaf's gradient is a Value that is a node of a graph,
        so it can be differentiated again (see :func:`autograd.grad`).

        Leaves *add* to what ``.grad`` holds, as in PyTorch (clear them with
        :meth:`zero_grad`); interior nodes hold the gradient of the latest ``backward``. A
        backward that fails changes no gradient (see :func:`backprop`).

        Raises:
            TypeError: ``grad`` is not a real number (a callback belongs in ``on_step=``).
            NonFiniteError: ``grad`` is inf or nan, or a gradient overflowed float64.
        """
        seed = 1.0 if grad is None else as_seed(grad)
        if create_graph:
            if on_step is not None:
                raise TypeError("backward(): on_step shows a walk of numbers, not create_graph")
            from autograd.derivatives import backward_graph  # (derivatives imports this module)

            backward_graph(self, seed)
        elif on_step is None:
            fast_backprop(self, seed)
        else:
            backprop(self, seed, on_step)

    def zero_grad(self) -> None:
        """Set ``.grad`` to 0.0 on this node and every node it depends on."""
        for node in topological_order(self):
            node.grad = 0.0

    # -- the hooks of `apply` for numbers -----------------------------------------------------

    @classmethod
    def lift(cls, x: Any, like: Any) -> Value:
        """A number operand becomes a leaf labelled with its value, so diagrams show "* -1"."""
        if isinstance(x, Value):
            return x
        if not isinstance(x, _ACCEPTED):
            raise TypeError(
                f"cannot combine a Value with {type(x).__name__} ({x!r}); "
                "use a Value or a real number"
            )
        value = _to_float(x)
        return Value(value, label=f"{value:g}")

    @classmethod
    def evaluate(cls, op: Op, xs: list[Any]) -> float:
        forward = op.on_floats
        if op.inside is not None and not op.inside(*xs):
            raise NonFiniteError(
                f"{_written(op, xs)} is outside the domain of {op.symbol}: {op.symbol} needs "
                f"{op.domain}"
            )
        try:
            out = float(forward(*xs))
        except OverflowError:
            out = _INF
        if not -_INF < out < _INF:
            raise _overflow(op, xs, "overflows: the result is too large for a float")
        return out

    @classmethod
    def locals_of(
        cls, op: Op, xs: list[Any], out: Any, parents: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        try:
            local_grads = tuple(float(d) for d in op.local(*xs, out))
        except (OverflowError, ZeroDivisionError):
            local_grads = (_INF,)
        if not all(-_INF < d < _INF for d in local_grads):
            raise _overflow(op, xs, f"= {out!r}, but its local derivative overflows")
        return local_grads

    @classmethod
    def result(cls, out: Any, recorded: bool) -> Value:
        node = object.__new__(Value)  # `out` is a checked float: skip __init__'s checks
        node.data, node.grad, node.label = out, 0.0, ""
        node._clear()
        return node


def _written(op: Op, xs: list[Any]) -> str:
    """``op`` applied to the numbers ``xs``, as written: ``1.0 / 0.0``, ``(-8.0)**0.5``."""
    power = op.written.startswith("{0}**")
    return op.write(*(f"({x!r})" if power and x < 0 else repr(x) for x in xs))


def _overflow(op: Op, xs: list[Any], what: str) -> NonFiniteError:
    return NonFiniteError(
        f"{_written(op, xs)} {what} (the largest float64 is about 1.8e308); scale the inputs down"
    )


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


def _as_exponent(exponent: object) -> float:
    if not isinstance(exponent, _ACCEPTED):
        raise TypeError(f"exponent must be a real number or a Value, got {type(exponent).__name__}")
    n = _to_float(exponent)
    if not -_INF < n < _INF:
        raise NonFiniteError(f"exponent must be finite, got {n}")
    return n


# -- the fast paths ------------------------------------------------------------------------------
#
# `apply` and `backprop` above are the definitions. Two copies of them do the same work with the
# generic steps unrolled: `fast_scalar_gate` builds a Value of one op directly in its slots (for
# numbers the bookkeeping costs more than the arithmetic), and `fast_backprop`, which every
# `backward()` without `on_step` runs, walks the two input slots without making tuples.
# Together they make scalar graphs about 2x cheaper to build and to differentiate. Anything
# unusual (an input outside the domain, an overflow, a `backward(on_step=...)`) goes to the
# definitions, so every error comes from one place. tests/test_fast_paths.py checks that both
# give the same nodes, gradients and errors, for every op of the table and random graphs.


def fast_scalar_gate(op: Op, reflected: bool = False) -> Callable[..., Value]:
    """``apply(op, *inputs)`` for Values and numbers, specialised to ``op`` (see above).

    ``reflected`` makes the method Python calls for ``2 * x``: ``x.__rmul__(2)``, which
    computes ``2 * x``.
    """
    forward, local, inside = op.on_floats, op.local, op.inside

    def unary(a: Value) -> Value:
        x = a.data
        try:
            if inside is not None and not inside(x):
                raise ValueError
            out = forward(x)
            (d,) = local(x, out)
        except (ArithmeticError, ValueError):
            return apply(op, a)
        if not -_INF < out + d < _INF:  # the sum is finite only if both terms are
            return apply(op, a)
        node = _new_value(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node._pending = 0
        node._in1 = node._d1 = None
        if _recording.get():
            node.gate = op
            node._in0 = a
            node._d0 = d
        else:
            node.gate = node._in0 = node._d0 = None
        return node

    def binary(first: Value, second: Operand) -> Value:
        a = first
        b = second if second.__class__ is Value else Value.lift(second, None)
        if reflected:
            a, b = b, a
        x = a.data
        y = b.data
        try:
            if inside is not None and not inside(x, y):
                raise ValueError
            out = forward(x, y)
            d0, d1 = local(x, y, out)
        except (ArithmeticError, ValueError):
            return apply(op, a, b)
        if not -_INF < out + d0 + d1 < _INF:
            return apply(op, a, b)
        node = _new_value(Value)
        node.data = out
        node.grad = 0.0
        node.label = ""
        node._pending = 0
        if _recording.get():
            node.gate = op
            node._in0 = a
            node._in1 = b
            node._d0 = d0
            node._d1 = d1
        else:
            node.gate = node._in0 = node._in1 = node._d0 = node._d1 = None
        return node

    gate = unary if op.arity == 1 else binary
    gate.__name__ = gate.__qualname__ = f"r{op.name}" if reflected else op.name
    defined = "" if op.inside is None else f" Defined for {op.domain}."
    gate.__doc__ = f"The {op.name} gate, {op.write(*'xy'[: op.arity])}: {op.formula}.{defined}"
    return gate


_new_value = object.__new__


def fast_backprop(root: Node, seed: Any) -> None:
    """:func:`backprop` with no ``on_step``, its loops over ``parents`` unrolled into the two
    input slots (see above): what ``backward()`` runs, for Values and Tensors. The same passes
    in the same order, except that pass 1 does all its bookkeeping at once (interior nodes
    reset, leaves noted) instead of returning the nodes it found: one list fewer, which a graph
    of a million leaves notices."""
    zero, finite = root.no_gradient_yet, root.is_finite
    leaves: list[Any] = []  # each leaf once, and its gradient before this walk
    old_grads: list[Any] = []
    try:
        if root._in0 is None:  # a leaf: d root / d root = seed and nothing else
            leaves.append(root)
            old_grads.append(root.grad)
            root.grad = root.grad + seed
            if not finite(root.grad):
                raise _grad_overflow(root, root)
            return
        stack = [root]
        while stack:  # pass 1: count uses, reset interior gradients, note the leaves
            node = stack.pop()
            parent = node._in0
            if parent is None:
                continue
            if not parent._pending:  # found for the first time
                if parent._in0 is not None:
                    parent.grad = zero
                    stack.append(parent)
                else:
                    leaves.append(parent)
                    old_grads.append(parent.grad)
            parent._pending += 1
            parent = node._in1
            if parent is None:
                continue
            if not parent._pending:
                if parent._in0 is not None:
                    parent.grad = zero
                    stack.append(parent)
                else:
                    leaves.append(parent)
                    old_grads.append(parent.grad)
            parent._pending += 1
        root.grad = seed
        ready = [root]
        while ready:  # pass 2: Kahn's algorithm
            node = ready.pop()
            upstream = node.grad
            parent = node._in0
            parent.grad = parent.grad + upstream * node._d0  # (not +=: never change an array)
            parent._pending -= 1
            if parent._in0 is not None:
                if not parent._pending:
                    ready.append(parent)
            elif not finite(parent.grad):
                raise _grad_overflow(parent, root)
            parent = node._in1
            if parent is None:
                continue
            parent.grad = parent.grad + upstream * node._d1
            parent._pending -= 1
            if parent._in0 is not None:
                if not parent._pending:
                    ready.append(parent)
            elif not finite(parent.grad):
                raise _grad_overflow(parent, root)
    except BaseException:
        _reset_counters(root)
        for leaf, grad in zip(leaves, old_grads, strict=True):
            leaf.grad = grad
        raise


@lru_cache(maxsize=256)
def _power(n: float) -> Callable[..., Value]:
    return fast_scalar_gate(_ops.power(n))


Value.__add__ = fast_scalar_gate(_ops.ADD)
Value.__radd__ = fast_scalar_gate(_ops.ADD, reflected=True)
Value.__sub__ = fast_scalar_gate(_ops.SUB)
Value.__rsub__ = fast_scalar_gate(_ops.SUB, reflected=True)
Value.__mul__ = fast_scalar_gate(_ops.MUL)
Value.__rmul__ = fast_scalar_gate(_ops.MUL, reflected=True)
Value.__truediv__ = fast_scalar_gate(_ops.TRUEDIV)
Value.__rtruediv__ = fast_scalar_gate(_ops.TRUEDIV, reflected=True)
Value.__rpow__ = fast_scalar_gate(_ops.POW_VALUE, reflected=True)
Value.__neg__ = fast_scalar_gate(_ops.NEG)
_pow_value = fast_scalar_gate(_ops.POW_VALUE)
Value.__abs__ = Value.abs = fast_scalar_gate(_ops.ABS)
Value.exp = fast_scalar_gate(_ops.EXP)
Value.log = fast_scalar_gate(_ops.LOG)
Value.reciprocal = fast_scalar_gate(_ops.RECIPROCAL)
Value.sigmoid = fast_scalar_gate(_ops.SIGMOID)
Value.tanh = fast_scalar_gate(_ops.TANH)
Value.relu = fast_scalar_gate(_ops.RELU)
Value.sqrt = fast_scalar_gate(_ops.SQRT)
Value.sin = fast_scalar_gate(_ops.SIN)
Value.cos = fast_scalar_gate(_ops.COS)
Value.softplus = fast_scalar_gate(_ops.SOFTPLUS)
Value.max = fast_scalar_gate(_ops.MAX)
Value.min = fast_scalar_gate(_ops.MIN)

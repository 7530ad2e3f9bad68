"""The graph core shared by :class:`~autograd.Value` and :class:`~autograd.Tensor`.

A node of either kind has the same fields: ``data`` (its forward value), ``grad``, ``gate``
(the :class:`~autograd.ops.Op` that made it, ``None`` for a leaf), up to two inputs ``_in0``
and ``_in1``, the **local** gradients ``_d0`` and ``_d1`` that go with them, and a ``_pending``
counter used by the graph walks below. Everything here reads only those fields, so one walk,
one backward rule and one grad mode serve scalars and arrays alike.

The backward rule is the lectures' one line, for every node in reverse topological order and
every input ``p`` of it::

    p.grad = p.grad + node.grad * local        # downstream = upstream x local, then summed

For a ``Value`` the local gradient is a number: d node / d p. For a ``Tensor`` it is the
Jacobian of the op, kept as data in whatever form multiplies an upstream array cheapest: an
array of elementwise derivatives (``exp``: e^x), or a small linear-map object
(:mod:`autograd.jacobians`: "matmul by W^T", "sum back to shape (10,)") whose ``__rmul__``
applies it. Either way ``upstream * local`` is the vector-Jacobian product, and the walk never
asks which op a node came from.

Why the walk looks like this:

* It never recurses, so a chain of a million ops works.
* The order is Kahn's algorithm. Each node counts, in its ``_pending`` slot, how many of its
  consumers have not been processed yet, and is processed when that reaches 0, i.e. when its
  gradient is complete. A counter on the node is cheaper than a ``set`` of visited nodes plus
  a sort, and the walk leaves every counter back at 0 (also when it is interrupted, see
  :func:`_reset_counters`).
* Leaves (inputs, parameters, constants) only receive: they are never counted nor pushed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple


class NonFiniteError(ArithmeticError, ValueError):
    """A value, local derivative or gradient would not be a finite real number.

    The engine's one policy for domain errors and overflow: it never produces inf or nan.
    It raises this error, naming the op, its inputs and its domain, so a wrong number can never
    flow silently into a gradient. Catch it as ``ValueError`` or ``ArithmeticError`` too.
    """


# Grad mode. A plain module flag (not thread-local): cheap to read on every op, and the
# teaching engine is single-threaded. See `no_grad`.
_grad_enabled = True


@contextmanager
def no_grad() -> Iterator[None]:
    """Context manager inside which ops record no inputs (results are plain leaves).

    Use it for evaluation, numerical gradients or optimiser updates: nothing made inside is
    part of any graph, so nothing is kept alive and ``backward`` cannot reach through it.
    Serves Values and Tensors alike.
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad`."""
    return _grad_enabled


# A graph node: a Value or a Tensor. Both have the fields the walks use (`data`, `grad`,
# `label`, `_in0`, `_in1`, `_d0`, `_d1`, `_pending` and the `parents` property); typed loosely
# because the walks write to them and each kind stores different things there.
Node = Any


class GraphNode:
    """What every node (a Value, a Tensor) says about itself, read from the shared fields."""

    __slots__ = ()

    gate: Any
    _in0: Any
    _in1: Any
    _d0: Any
    _d1: Any

    @property
    def op(self) -> str:
        """Name of the op that produced this node; ``""`` for a leaf."""
        return "" if self.gate is None else str(self.gate.name)

    @property
    def parents(self) -> tuple[Any, ...]:
        """The input nodes, in argument order (``x * x`` has two); ``()`` for a leaf."""
        if self._in0 is None:
            return ()
        if self._in1 is None:
            return (self._in0,)
        return (self._in0, self._in1)

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """Per input, the local gradient ``backward`` multiplies the upstream by: a number
        for a Value (d self / d parents[i]); a number, array or linear map for a Tensor."""
        return (self._d0, self._d1)[: len(self.parents)]

    @property
    def is_leaf(self) -> bool:
        """True for inputs, parameters and constants: nodes that no op produced."""
        return self._in0 is None


class BackwardStep(NamedTuple):
    """One gate's work during ``backward``: ``downstream[i] = upstream * local_grads[i]``."""

    gate: Any  # the node (a Value or a Tensor) whose gradient was just sent to its inputs
    upstream: Any
    local_grads: tuple[Any, ...]
    downstream: tuple[Any, ...]


OnStep = Callable[[BackwardStep], None]


def backprop(
    root: Node,
    seed: Any,
    zero: Any,
    finite: Callable[[Any], bool],
    on_step: OnStep | None = None,
    finite_upstream: Callable[[Any], bool] | None = None,
) -> None:
    """Fill ``.grad`` of every node ``root`` depends on with d root / d node, times ``seed``.

    The one backward walk of the engine (``Value.backward`` and ``Tensor.backward`` call it).

    Args:
        root: the node to differentiate.
        seed: d root / d root: 1.0 for a scalar, an array shaped like ``root.data`` otherwise.
        zero: what an interior node's gradient starts from before its uses add to it (0.0 for
            Values; for Tensors an additive identity that costs no array).
        finite: ``finite(g)`` is True when the gradient ``g`` holds no inf or nan. Every
            complete gradient is checked before it is used or stored.
        on_step: called after each gate has sent its gradient to its inputs, with a
            :class:`BackwardStep`; the graph is in the walk's real partial state then.
        finite_upstream: the test for each interior node's complete gradient, ``finite`` by
            default. Tensors check only what reaches the leaves: a VJP multiplies or adds
            every upstream element into some downstream one, and inf * 0 and inf - inf are
            nan, so an inf or nan anywhere always arrives at a leaf.

    Leaves *add* to what ``.grad`` already holds (call ``backward`` twice and their gradients
    double; clear them with ``zero_grad``). Interior nodes are reset at the start of each walk.

    A walk that fails part-way (a gradient overflows, ``on_step`` raises, Ctrl-C) leaves every
    leaf's gradient as it was: pass 1 notes each leaf's gradient, and the error puts them back,
    so no leaf keeps half a gradient that the next ``backward`` would add to. (Interior nodes
    are left partial; every walk resets them anyway.)

    Raises:
        NonFiniteError: a gradient overflowed; names the node where it happened.
    """
    if root._in0 is None:  # a leaf: d root / d root = seed and nothing else
        grad = root.grad + seed
        if not finite(grad):
            raise _grad_overflow(root, grad)
        root.grad = grad
        return
    check_upstream = finite if finite_upstream is None else finite_upstream
    # Pass 1: count, in each interior node's `_pending`, how many nodes below `root` use it,
    # and reset its grad. Only interior nodes are pushed. Each leaf's gradient is noted once
    # (its `_pending`, otherwise unused, marks it noted), so a failure can put it back.
    leaves: list[Any] = []
    old_grads: list[Any] = []  # two flat lists: a tuple per leaf would cost 56 bytes more
    root.grad = zero
    stack = [root]
    try:
        while stack:
            node = stack.pop()
            assert node._in0 is not None  # only interior nodes are ever pushed
            for parent in (node._in0, node._in1):  # _in1 is None for a one-input op
                if parent is None:
                    continue
                if parent._in0 is not None:  # an interior node: count this use
                    if not parent._pending:  # first use found: visit it
                        parent.grad = zero
                        stack.append(parent)
                    parent._pending += 1
                elif not parent._pending:  # a leaf, noted once
                    parent._pending = 1
                    leaves.append(parent)
                    old_grads.append(parent.grad)
        for leaf in leaves:
            leaf._pending = 0
        # Pass 2, Kahn's algorithm: a node is processed once every node using it has added
        # its part to node.grad, i.e. when its `_pending` count is back to 0.
        root.grad = seed
        stack = [root]
        while stack:
            node = stack.pop()
            upstream = node.grad  # complete: every use of node has been processed
            if not check_upstream(upstream):
                raise _grad_overflow(node, upstream)
            in0 = node._in0
            assert in0 is not None
            down0 = upstream * node._d0  # downstream = upstream x local
            grad = in0.grad + down0  # ... added to what other uses sent
            if in0._in0 is not None:
                in0.grad = grad
                in0._pending -= 1
                if not in0._pending:
                    stack.append(in0)
            elif finite(grad):  # leaves are never popped: check them here
                in0.grad = grad
            else:
                raise _grad_overflow(in0, grad)
            in1 = node._in1
            if in1 is not None:
                down1 = upstream * node._d1
                grad = in1.grad + down1
                if in1._in0 is not None:
                    in1.grad = grad
                    in1._pending -= 1
                    if not in1._pending:
                        stack.append(in1)
                elif finite(grad):
                    in1.grad = grad
                else:
                    raise _grad_overflow(in1, grad)
            if on_step is not None:
                if in1 is None:
                    on_step(BackwardStep(node, upstream, (node._d0,), (down0,)))
                else:
                    on_step(BackwardStep(node, upstream, (node._d0, node._d1), (down0, down1)))
    except BaseException:
        _reset_counters(root)
        for leaf, grad in zip(leaves, old_grads, strict=True):
            leaf.grad = grad
        raise


def topological_order(root: Node) -> list[Any]:
    """Every node ``root`` depends on (itself included), each after all of its inputs.

    Kahn's algorithm, backwards from ``root``: a node is emitted once every node that consumes
    it has been, then the list is reversed. Iterative, so depth is limited only by memory, and
    deterministic: the order depends only on the graph's shape.
    """
    _count_consumers(root)
    order = []
    stack = [root]
    try:
        while stack:
            node = stack.pop()
            order.append(node)
            in0 = node._in0
            if in0 is not None:
                in0._pending -= 1
                if not in0._pending:
                    stack.append(in0)
                in1 = node._in1
                if in1 is not None:
                    in1._pending -= 1
                    if not in1._pending:
                        stack.append(in1)
    except BaseException:
        _reset_counters(root)
        raise
    order.reverse()
    return order


def _count_consumers(root: Node) -> None:
    """Set each node's ``_pending`` to the number of its uses by nodes below ``root``.

    Depth-first from ``root``: a node is pushed when it is first reached (its count goes from
    0 to 1) and every further use only counts. (:func:`backprop` has its own copy of this pass
    that also resets grads and skips leaves, which only receive gradient.)
    """
    stack = [root]
    try:
        while stack:
            node = stack.pop()
            in0 = node._in0
            if in0 is None:
                continue
            if not in0._pending:
                stack.append(in0)
            in0._pending += 1
            in1 = node._in1
            if in1 is not None:
                if not in1._pending:
                    stack.append(in1)
                in1._pending += 1
    except BaseException:
        _reset_counters(root)
        raise


def _grad_overflow(node: Node, grad: Any) -> NonFiniteError:
    return NonFiniteError(
        f"the gradient reaching {node!r} is not finite (inf or nan): it overflowed float "
        "range during backward. Scale the inputs or the loss down."
    )


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

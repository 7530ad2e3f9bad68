"""The scalar fast paths equal the definitions exactly.

``autograd.apply`` and ``autograd.engine.backprop`` define a gate and the backward walk;
Value's operators run ``fast_scalar_gate`` and ``Value.backward`` runs ``fast_backprop``, copies
unrolled for speed (see the end of autograd/engine.py). Here both run on the same inputs and must
give the same nodes (value, inputs, local derivatives: bit for bit), the same gradients and the
same errors, for every op of the table and for random graphs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteError, Op, Value, apply, no_grad, power, topological_order
from autograd.engine import backprop, fast_backprop, fast_scalar_gate
from autograd.testing import Expression, expressions, op_inputs, table_ops

OPS_AND_POWERS = [*table_ops(), power(-2.0), power(1.5)]


def outcome(make: Callable[[], Value]) -> Any:
    """What making a node gives: its value, gate, inputs and locals, or the error it raises."""
    try:
        node = make()
    except (NonFiniteError, TypeError) as error:
        return (type(error), str(error))
    return (node.data, node.gate, [id(p) for p in node.parents], node.local_grads, node.grad)


def both_ways(op: Op, xs: tuple[float, ...]) -> tuple[Any, Any, Any]:
    """(definition, fast path, reflected fast path) for ``op`` at ``xs``."""
    leaves = [Value(x) for x in xs]
    plain = outcome(lambda: apply(op, *leaves))
    fast = outcome(lambda: fast_scalar_gate(op)(*leaves))
    if op.arity == 2:  # `x.__rmul__(y)` computes y * x
        reflected = outcome(lambda: fast_scalar_gate(op, reflected=True)(leaves[1], leaves[0]))
    else:
        reflected = fast
    return plain, fast, reflected


@pytest.mark.parametrize("op", OPS_AND_POWERS, ids=lambda op: op.symbol)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_op_gives_the_same_node_both_ways(op: Op, data: st.DataObject) -> None:
    xs = data.draw(op_inputs(op))
    plain, fast, reflected = both_ways(op, xs)
    assert fast == plain
    assert reflected == plain
    assert all(type(d) is float for d in plain[3])  # floats, as the walk expects


EDGES = [0.0, -0.0, -1.0, 1e-320, 1e200, -1e200, 1e308, 710.0, -8.0, 2.5]


@pytest.mark.parametrize("op", OPS_AND_POWERS, ids=lambda op: op.symbol)
def test_domain_errors_and_overflow_are_the_same_both_ways(op: Op) -> None:
    """At the edges (0, a negative base, overflow) the fast path hands over to `apply`."""
    pairs = [(x,) for x in EDGES] if op.arity == 1 else [(x, y) for x in EDGES for y in EDGES]
    errors = 0
    for xs in pairs:
        plain, fast, reflected = both_ways(op, xs)
        assert fast == plain, xs
        assert reflected == plain, xs
        errors += plain[0] is NonFiniteError
    if op.name in ("truediv", "log", "exp", "mul", "reciprocal"):
        assert errors, "the edges must reach this op's error path"


def test_numbers_are_lifted_the_same_both_ways() -> None:
    x = Value(3.0, "x")
    for op in (OPS_AND_POWERS[0], OPS_AND_POWERS[3]):  # add, mul
        plain = apply(op, 2, x)
        fast = fast_scalar_gate(op, reflected=True)(x, 2)
        assert (fast.data, fast.local_grads) == (plain.data, plain.local_grads)
        assert fast.parents[0].label == plain.parents[0].label == "2"
        assert fast.parents[1] is x
    with pytest.raises(TypeError, match="cannot combine a Value with str") as fast_error:
        fast_scalar_gate(OPS_AND_POWERS[0])(x, "1")
    with pytest.raises(TypeError) as plain_error:
        apply(OPS_AND_POWERS[0], x, "1")
    assert str(fast_error.value) == str(plain_error.value)


def test_inside_no_grad_both_give_leaves() -> None:
    x = Value(2.0)
    with no_grad():
        for op in OPS_AND_POWERS[:3]:
            fast = fast_scalar_gate(op)(*(x,) * op.arity)
            plain = apply(op, *(x,) * op.arity)
            assert (fast.data, fast.is_leaf, fast.gate) == (plain.data, True, None)


def gradients(expr: Expression, walk: Callable[[Value, float], None]) -> list[Any]:
    leaves = [Value(x) for x in expr.inputs]
    out = expr(*leaves)
    walk(out, 0.5)
    walk(out, 1.0)  # twice: leaves accumulate, interior nodes are reset
    return [(node.data, node.grad, node._pending) for node in topological_order(out)]


@settings(max_examples=150, deadline=None)
@given(expressions(max_leaves=3, min_nodes=2, max_nodes=14))
def test_fast_backprop_gives_the_same_gradients(expr: Expression) -> None:
    plain = gradients(expr, lambda out, seed: backprop(out, seed))
    assert gradients(expr, fast_backprop) == plain


@pytest.mark.parametrize("walk", [backprop, fast_backprop], ids=["plain", "fast"])
def test_an_overflowing_walk_leaves_every_grad_as_it_was(
    walk: Callable[[Value, float], None],
) -> None:
    x, y = Value(1e-200, "x"), Value(3.0, "y")
    x.grad, y.grad = 0.25, -1.0
    f = (x * 1.0) * 1e200 * 1e200 + y * y
    with pytest.raises(NonFiniteError, match="not finite"):
        walk(f, 1.0)
    assert (x.grad, y.grad) == (0.25, -1.0)
    assert all(node._pending == 0 for node in topological_order(f))


def test_a_leaf_root_is_seeded_both_ways() -> None:
    for walk in (backprop, fast_backprop):
        x = Value(2.0)
        walk(x, 3.0)
        walk(x, 1.0)
        assert x.grad == 4.0
        with pytest.raises(NonFiniteError):
            walk(x, math.inf)
        assert x.grad == 4.0

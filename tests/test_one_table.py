"""One op table serves numbers and arrays: every entry's array rules (what a Tensor runs) agree,
element by element, with its number rules (what a Value runs), and every entry passes a Tensor
gradcheck on random arrays drawn from the table's own ranges."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd
from autograd import Op, Tensor, Value
from autograd.testing import ArrayRuleError, array_inputs, check_array_rules, table_ops

ELEMENTWISE = table_ops()


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.symbol)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_array_rules_agree_with_number_rules(op: Op, data: st.DataObject) -> None:
    check_array_rules(op, data.draw(array_inputs(op)))


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.symbol)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_entry_passes_a_tensor_gradcheck(op: Op, data: st.DataObject) -> None:
    arrays = data.draw(array_inputs(op))
    assert autograd.gradcheck(lambda *ts: autograd.apply(op, *ts), [Tensor(a) for a in arrays])


def test_a_disagreeing_array_rule_is_caught() -> None:
    exp = next(op for op in ELEMENTWISE if op.name == "exp")
    from dataclasses import replace

    wrong = replace(exp, array_forward=lambda a: np.exp(a) * (1 + 1e-9))
    with pytest.raises(ArrayRuleError, match="array forward"):
        check_array_rules(wrong, (np.array([0.5, 1.0]),))
    # a local rule that answers differently for an array than for a number
    wrong_local = replace(exp, local=lambda a, out: (out if isinstance(a, float) else out * 2,))
    with pytest.raises(ArrayRuleError, match="local derivative for input 0"):
        check_array_rules(wrong_local, (np.array([0.5, 1.0]),))


def second_derivatives(op: Op, leaves: list[Any]) -> list[list[Any]]:
    """d²(Σ op(leaves)) / d leaf_i d leaf_j, by differentiating a gradient graph again."""
    out = autograd.apply(op, *leaves)
    total = out.sum() if isinstance(out, Tensor) else out
    first = autograd.grad(total, leaves, create_graph=True)
    return [autograd.grad(g.sum() if isinstance(g, Tensor) else g, leaves) for g in first]


@pytest.mark.parametrize("op", ELEMENTWISE, ids=lambda op: op.symbol)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_tensor_second_derivatives_agree_with_value_ones(op: Op, data: st.DataObject) -> None:
    """create_graph through a Tensor gate gives, element by element, what it gives through the
    same op's Value gate: one rule, differentiated twice on both kinds."""
    arrays = data.draw(array_inputs(op, hnp.array_shapes(min_dims=1, max_dims=2, max_side=3)))
    tensors = second_derivatives(op, [Tensor(a) for a in arrays])
    for index in np.ndindex(arrays[0].shape):
        values = second_derivatives(op, [Value(float(a[index])) for a in arrays])
        for i in range(op.arity):
            for j in range(op.arity):
                # numpy's and math's forward rules may differ in the last bit (tanh does), and
                # a second derivative such as -2 tanh (1 - tanh^2) magnifies that where tanh
                # saturates (1e-12 relative at x = 4.6): hence 1e-9, not 1e-15
                assert math.isclose(
                    tensors[i][j][index], values[i][j], rel_tol=1e-9, abs_tol=1e-300
                ), (op.name, index, i, j)

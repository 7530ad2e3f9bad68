"""numerical_grad, gradcheck and find_wrong_gate: the tools for checking a derivative rule."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import pytest

from autograd import (
    GateMismatch,
    GradcheckError,
    NonFiniteError,
    Op,
    Value,
    apply,
    find_wrong_gate,
    gradcheck,
    no_grad,
    numerical_grad,
)

# A deliberately wrong op: x^2 whose recorded local derivative is 3x instead of 2x.
BAD_SQUARE = Op(
    "square",
    "x²",
    1,
    forward=lambda a: a * a,
    local=lambda a, out: (3.0 * a,),
    formula="d(x^2)/dx = 3x  (wrong on purpose)",
)
GOOD_SQUARE = Op(
    "square",
    "x²",
    1,
    forward=lambda a: a * a,
    local=lambda a, out: (2.0 * a,),
    formula="d(x^2)/dx = 2x",
)


def _identity_with_local(delta: float) -> Op:
    """forward(a) = a, recorded derivative 1 + delta: wrong by exactly delta."""
    return Op(
        "ident", "id", 1, forward=lambda a: a, local=lambda a, out: (1.0 + delta,), formula=""
    )


def _constant_with_local(delta: float) -> Op:
    """forward(a) = 1, recorded derivative delta: wrong by exactly delta (true one is 0)."""
    return Op("const", "c", 1, forward=lambda a: 1.0, local=lambda a, out: (delta,), formula="")


# -- gradcheck on correct functions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "inputs"),
    [
        (lambda x, y, z: (x + y) * z, [-2.0, 5.0, -4.0]),
        (lambda x, y: (x * y + x.tanh()).sigmoid(), [0.4, -1.2]),
        (lambda x, y: x**y + (x / y).log(), [1.3, 0.7]),
        (lambda x: (x * x * x).exp() - 2 / x, [0.6]),
        (lambda x, y: x.max(y) * x.relu(), [1.5, -0.5]),
        (lambda x: apply(GOOD_SQUARE, x) * 3, [-0.8]),
        (lambda x, y: x, [2.0, 3.0]),  # output is an input; y unused
    ],
)
def test_gradcheck_passes_on_correct_functions(
    f: Callable[..., Value], inputs: list[float]
) -> None:
    assert gradcheck(f, inputs) is True


def test_gradcheck_accepts_values_and_leaves_them_alone() -> None:
    x, y = Value(0.5, "x"), Value(2.0, "y")
    x.grad = 7.0
    assert gradcheck(lambda a, b: a * b.exp(), [x, y])
    assert x.grad == 7.0
    assert y.grad == 0.0
    assert (x.data, y.data) == (0.5, 2.0)


def test_gradcheck_defaults() -> None:
    params = inspect.signature(gradcheck).parameters
    assert params["eps"].default == 1e-6
    assert params["atol"].default == 1e-5
    assert params["rtol"].default == 1e-3


@pytest.mark.parametrize(("delta", "passes"), [(0.9e-3, True), (1.2e-3, False)])
def test_gradcheck_default_rtol(delta: float, passes: bool) -> None:
    # |analytic - numeric| = delta against atol + rtol * 1 = 1.01e-3
    op = _identity_with_local(delta)
    if passes:
        assert gradcheck(lambda x: apply(op, x), [0.7])
    else:
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: apply(op, x), [0.7])


@pytest.mark.parametrize(("delta", "passes"), [(5e-6, True), (2e-5, False)])
def test_gradcheck_default_atol(delta: float, passes: bool) -> None:
    # numeric gradient is 0, so only atol = 1e-5 applies
    op = _constant_with_local(delta)
    if passes:
        assert gradcheck(lambda x: apply(op, x), [0.7])
    else:
        with pytest.raises(GradcheckError):
            gradcheck(lambda x: apply(op, x), [0.7])


def test_gradcheck_tolerances_can_be_widened() -> None:
    op = _identity_with_local(0.05)
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: apply(op, x), [0.7])
    assert gradcheck(lambda x: apply(op, x), [0.7], rtol=0.1)
    assert gradcheck(lambda x: apply(op, x), [0.7], atol=0.1)


# -- gradcheck on a wrong op ----------------------------------------------------------------------


def _bad_f(x: Value, y: Value) -> Value:
    return apply(BAD_SQUARE, x) * y + y


def test_gradcheck_raises_on_wrong_local_derivative() -> None:
    x0, y0 = 1.5, 2.0
    with pytest.raises(GradcheckError) as info:
        gradcheck(_bad_f, [Value(x0, "x"), Value(y0, "y")])
    error = info.value
    assert isinstance(error, AssertionError)
    # analytic uses 3x, numeric measures 2x
    assert error.analytic == pytest.approx([3 * x0 * y0, x0**2 + 1], abs=1e-12)
    assert error.numeric == pytest.approx([2 * x0 * y0, x0**2 + 1], abs=1e-6)

    message = str(error)
    lines = message.splitlines()
    row_x = next(line for line in lines if "input 0" in line)
    row_y = next(line for line in lines if "input 1" in line)
    for row in (row_x, row_y):
        assert "analytic" in row
        assert "numeric" in row
        assert "abs err" in row
        assert "rel err" in row
    assert "(x)" in row_x  # labels are shown
    assert "(y)" in row_y
    assert repr(error.analytic[0]) in row_x
    assert "mismatch" in row_x
    assert "mismatch" not in row_y
    assert "abs err 3" in row_x  # |9 - 6|
    assert "rel err 0.5" in row_x  # 3 / 6

    blamed = error.blamed_gate
    assert isinstance(blamed, GateMismatch)
    assert blamed.node.op == "square"
    assert blamed.input_index == 0
    assert blamed.recorded == 3 * x0
    assert blamed.numeric == pytest.approx(2 * x0, abs=1e-6)
    assert "square" in message
    assert "1.5" in message  # the gate's input
    assert "recorded 4.5" in message
    assert f"numeric {blamed.numeric!r}" in message
    assert "wrong on purpose" in message  # the op's formula text


def test_gradcheck_error_blames_first_wrong_gate_in_forward_order() -> None:
    def f(x: Value) -> Value:
        good = (x * 2.0).tanh()
        return apply(BAD_SQUARE, good).exp() + apply(BAD_SQUARE, x)

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [0.4])
    blamed = info.value.blamed_gate
    assert blamed is not None
    assert blamed.node.op == "square"
    assert blamed.node.parents[0].op == "tanh"  # the earlier of the two square gates


def test_find_wrong_gate() -> None:
    x = Value(-0.5)
    out = apply(BAD_SQUARE, x.exp()) * 2.0
    blamed = find_wrong_gate(out)
    assert blamed is not None
    assert blamed.node.op == "square"
    assert blamed.recorded == pytest.approx(3 * math.exp(-0.5))
    assert blamed.numeric == pytest.approx(2 * math.exp(-0.5), abs=1e-6)
    description = blamed.describe()
    assert "square" in description
    assert "input 0" in description


def test_find_wrong_gate_none_for_correct_graph() -> None:
    x, y = Value(0.3), Value(1.7)
    out = (x * y).sigmoid() + (y / x).log() + x**y + y.max(x)
    assert find_wrong_gate(out) is None
    assert find_wrong_gate(x) is None  # a leaf has no gates


def test_find_wrong_gate_skips_gates_at_domain_edge() -> None:
    x = Value(1e-9)
    out = x.log()  # log(x - eps) is undefined: that gate cannot be checked, and is not blamed
    assert find_wrong_gate(out) is None


# -- kinks ----------------------------------------------------------------------------------------


def test_kink_is_not_blamed_on_a_gate() -> None:
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: x.relu() * 3.0, [0.0])
    error = info.value
    assert error.analytic == [0.0]
    assert error.numeric == pytest.approx([1.5])
    assert error.blamed_gate is None
    message = str(error)
    assert "Every gate" in message
    assert "kink" in message
    assert "relu" in message


def test_find_wrong_gate_accepts_kinks() -> None:
    assert find_wrong_gate(Value(0.0).relu()) is None
    assert find_wrong_gate(Value(2.0).max(Value(2.0))) is None


def test_wrong_rule_at_a_kink_is_still_blamed() -> None:
    bad_relu = Op(
        "bad_relu",
        "r",
        1,
        forward=lambda a: a if a > 0.0 else 0.0,
        local=lambda a, out: (2.0,),  # outside the slopes 0 (left) and 1 (right)
        formula="wrong",
    )
    assert find_wrong_gate(apply(bad_relu, 0.0)) is not None
    assert find_wrong_gate(apply(bad_relu, 1.0)) is not None


def test_gradcheck_passes_near_but_not_at_kink() -> None:
    assert gradcheck(lambda x: x.relu(), [1e-3])
    assert gradcheck(lambda x: x.relu(), [-1e-3])


def test_gradcheck_refuses_to_run_inside_no_grad() -> None:
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        gradcheck(lambda x: x * x, [1.0])


# -- numerical_grad -------------------------------------------------------------------------------


def test_numerical_grad_returns_list_of_floats() -> None:
    result = numerical_grad(lambda x, y: x * y + y.exp(), [2.0, -1.0])
    assert isinstance(result, list)
    assert len(result) == 2
    assert all(type(g) is float for g in result)
    assert result == pytest.approx([-1.0, 2.0 + math.exp(-1.0)], abs=1e-8)


def test_numerical_grad_accepts_numbers_and_values() -> None:
    def f(a: Value, b: Value, c: Value) -> Value:
        return a * b * c

    mixed = numerical_grad(f, [Value(1.5), 2, Value(-0.5)])
    plain = numerical_grad(f, [1.5, 2.0, -0.5])
    assert mixed == pytest.approx(plain, abs=1e-12)
    assert mixed == pytest.approx([2.0 * -0.5, 1.5 * -0.5, 1.5 * 2.0], abs=1e-8)


def test_numerical_grad_leaves_inputs_untouched() -> None:
    x, y = Value(0.25, "x"), Value(3.0, "y")
    z = x * y  # a graph the caller already has
    z.backward()
    grads_before = (x.grad, y.grad, z.grad)
    numerical_grad(lambda a, b: (a * b).tanh(), [x, y])
    assert (x.data, y.data) == (0.25, 3.0)
    assert (x.grad, y.grad, z.grad) == grads_before
    assert (x.label, y.label) == ("x", "y")
    assert x.is_leaf
    assert y.is_leaf


def test_numerical_grad_gets_fresh_leaves_with_labels() -> None:
    seen: list[Value] = []

    def f(a: Value) -> Value:
        seen.append(a)
        return a * a

    x = Value(2.0, "x")
    numerical_grad(f, [x])
    assert len(seen) == 2
    assert all(a is not x for a in seen)
    assert all(a.label == "x" for a in seen)
    assert sorted(a.data for a in seen) == [2.0 - 1e-6, 2.0 + 1e-6]


def test_numerical_grad_eps_is_used() -> None:
    # for x^3 the centred difference is exactly 3x^2 + eps^2
    eps = 1e-2
    (g,) = numerical_grad(lambda x: x * x * x, [1.0], eps=eps)
    assert g == pytest.approx(3.0 + eps**2, abs=1e-10)


@pytest.mark.parametrize("eps", [0.0, -1e-6, math.nan])
def test_numerical_grad_eps_must_be_positive(eps: float) -> None:
    with pytest.raises(ValueError, match="eps"):
        numerical_grad(lambda x: x * x, [1.0], eps=eps)


def test_numerical_grad_f_must_return_value() -> None:
    with pytest.raises(TypeError, match="float"):
        numerical_grad(lambda x: x.data * 2.0, [1.0])
    with pytest.raises(TypeError, match="Value"):
        gradcheck(lambda x: x.data * 2.0, [1.0])


def test_numerical_grad_outside_domain_is_a_clear_error() -> None:
    with pytest.raises(NonFiniteError) as info:
        numerical_grad(lambda x: x.log(), [5e-7])  # log(5e-7 - 1e-6) is undefined
    message = str(info.value)
    assert "numerical_grad" in message
    assert "input 0" in message
    assert "log" in message
    assert "eps" in message


def test_numerical_grad_no_inputs() -> None:
    assert numerical_grad(lambda: Value(1.0), []) == []

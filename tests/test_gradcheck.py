"""numerical_grad, gradcheck and find_wrong_gate: the tools for checking a derivative rule,
for Values and Tensors alike."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autograd import (
    GateMismatch,
    GradcheckError,
    NonFiniteError,
    Op,
    Tensor,
    Value,
    apply,
    concatenate,
    find_wrong_gate,
    find_wrong_tensor_gate,
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
    out: Value = apply(BAD_SQUARE, x) * y + y
    return out


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
        out: Value = apply(BAD_SQUARE, good).exp() + apply(BAD_SQUARE, x)
        return out

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


# -- GradcheckError and raise_exception (as torch.autograd.gradcheck) ---------------------------


def test_gradcheck_error_is_a_runtime_error_as_in_pytorch() -> None:
    assert issubclass(GradcheckError, RuntimeError)
    assert issubclass(GradcheckError, AssertionError)  # a failed check in a test
    with pytest.raises(RuntimeError, match="square"):
        gradcheck(_bad_f, [1.5, 2.0])


@pytest.mark.parametrize(
    ("f", "inputs"),
    [
        (_bad_f, [1.5, 2.0]),
        (lambda x: x.relu() * 3.0, [0.0]),  # a kink: no gate to blame, still False
        (lambda a: apply(BAD_SQUARE, a).sum(), [np.array([0.5, -1.0])]),
    ],
    ids=["values", "kink", "tensor"],
)
def test_gradcheck_without_raising_returns_false(f: Callable[..., Any], inputs: list[Any]) -> None:
    assert gradcheck(f, inputs, raise_exception=False) is False


def test_gradcheck_without_raising_returns_true_on_success() -> None:
    assert inspect.signature(gradcheck).parameters["raise_exception"].default is True
    assert gradcheck(lambda x, y: x * y.exp(), [0.5, 2.0], raise_exception=False) is True
    t = [np.array([[0.5, -1.0], [2.0, 0.3]])]
    assert gradcheck(lambda a: (a * a).tanh(), t, raise_exception=False) is True


def test_gradcheck_without_raising_still_refuses_misuse() -> None:
    # raise_exception is about the check's verdict; a call that cannot check still raises
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        gradcheck(lambda x: x * x, [1.0], raise_exception=False)
    with pytest.raises(TypeError, match="Value"):
        gradcheck(lambda x: x.data, [1.0], raise_exception=False)


# -- Tensors: one numerical gradient, one gradcheck ------------------------------------------------


def test_numerical_grad_treats_a_number_as_a_0d_array() -> None:
    def f(x: Any) -> Any:
        return (x * x).exp()

    (as_value,) = numerical_grad(f, [0.7])
    (as_tensor,) = numerical_grad(f, [np.array(0.7)])
    assert type(as_value) is float
    assert isinstance(as_tensor, np.ndarray) and as_tensor.shape == ()
    assert as_value == float(as_tensor)  # the same differences, evaluated the same way
    assert as_value == pytest.approx(2 * 0.7 * math.exp(0.49), abs=1e-8)


def test_numerical_grad_of_tensors_is_one_array_per_input() -> None:
    a, b = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -1.0])
    ga, gb = numerical_grad(lambda x, y: (x * y).sum(), [Tensor(a, "a"), b])
    assert ga == pytest.approx(np.broadcast_to(b, a.shape), abs=1e-8)
    assert gb == pytest.approx(a.sum(axis=0), abs=1e-8)


def test_numerical_grad_projects_a_larger_output_with_fixed_weights() -> None:
    x = np.array([0.3, -1.2, 2.0])
    (g1,) = numerical_grad(lambda t: t * t, [x])
    (g2,) = numerical_grad(lambda t: t * t, [x])
    assert np.array_equal(g1, g2)  # the projection is fixed
    x_t = Tensor(x)
    (x_t * x_t).backward(g1 / (2 * x))  # g1 = r * 2x for the fixed weights r
    assert x_t.grad == pytest.approx(g1, abs=1e-8)


def test_numerical_grad_of_tensors_outside_domain_names_the_element() -> None:
    with pytest.raises(NonFiniteError, match=r"input 0, element \(1,\) = 5e-07"):
        numerical_grad(lambda t: t.log().sum(), [np.array([1.0, 5e-7])])


def test_gradcheck_refuses_values_and_tensors_together() -> None:
    with pytest.raises(TypeError, match="not both"):
        gradcheck(lambda a, b: a, [Value(1.0), Tensor([1.0])])


def test_a_failing_tensor_gradcheck_reports_the_worst_element() -> None:
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: (apply(BAD_SQUARE, a) * b).sum(), [Tensor(x, "x"), 2.0])
    error = info.value
    assert error.analytic[0] == pytest.approx(6 * x)
    assert error.numeric[0] == pytest.approx(4 * x, abs=1e-6)
    row_x, row_b = (line for line in str(error).splitlines() if "  input " in line)
    assert "input 0 (x), shape (2, 3): 6 of 6 elements differ" in row_x
    assert "largest error at (0, 2): analytic 12.0, numeric 7.99999" in row_x  # x = 2: 6x, 4x
    assert "abs err 4, rel err 0.5" in row_x
    assert "mismatch" in row_x
    assert row_b.startswith("  input 1 = 2.0: analytic")  # a 0-d input reads like a Value's
    assert "mismatch" not in row_b
    blamed = error.blamed_gate
    assert blamed is not None and blamed.node.gate is BAD_SQUARE
    assert blamed.element == (0, 2)  # the worst element, as the row
    assert "input 0, element (0, 2)" in blamed.describe()


# -- constants as operands: numbers, arrays, requires_grad=False -----------------------------------
#
# A constant's local gradient is NO_GRADIENT and its .grad NOT_NEEDED: the search skips it. Before
# it did, a failing check crashed with "unsupported operand type(s) for -: '_NotNeeded' and
# 'float'" as soon as a constant was met before the wrong gate.

# a * b whose recorded derivative for b is 2a instead of a: wrong for its second input only
WRONG_SECOND = Op(
    "wrong_second",
    "*?",
    2,
    forward=lambda a, b: a * b,
    local=lambda a, b, out: (b, 2.0 * a),
    formula="d(ab)/db = 2a (wrong on purpose)",
)
CONSTANTS = [
    pytest.param(lambda: 3.0, id="number"),
    pytest.param(lambda: np.array([1.5, -2.0]), id="array"),
    pytest.param(lambda: Tensor([1.5, -2.0], requires_grad=False), id="requires_grad=False"),
]


@pytest.mark.parametrize("constant", CONSTANTS)
def test_a_failing_check_with_a_constant_first_operand_blames_the_gate(
    constant: Callable[[], Any],
) -> None:
    c = constant()
    x = Tensor([0.5, -1.5], "x")
    with pytest.raises(GradcheckError, match="wrong_second") as info:
        gradcheck(lambda t: apply(WRONG_SECOND, c, t).sum(), [x])
    blamed = info.value.blamed_gate
    assert blamed is not None
    assert blamed.node.gate is WRONG_SECOND
    assert blamed.input_index == 1  # input 0 is the constant: skipped, not blamed
    assert gradcheck(lambda t: apply(WRONG_SECOND, c, t).sum(), [x], raise_exception=False) is False


@pytest.mark.parametrize("constant", CONSTANTS)
def test_a_failing_check_with_a_constant_in_an_earlier_gate_blames_the_wrong_one(
    constant: Callable[[], Any],
) -> None:
    c = constant()
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: (t * c).sum() * apply(BAD_SQUARE, t).sum(), [np.array([0.5, -1.5])])
    blamed = info.value.blamed_gate
    assert blamed is not None and blamed.node.gate is BAD_SQUARE


@pytest.mark.parametrize("constant", CONSTANTS)
@pytest.mark.parametrize(
    "f",
    [
        pytest.param(lambda x, c: (c * x + c).sum(), id="mul-add"),
        pytest.param(lambda x, c: (c - x) / c, id="sub-div"),
        pytest.param(lambda x, c: x.maximum(c * 0.5), id="maximum"),
        pytest.param(lambda x, c: (x @ (np.ones((2, 2)) * c)).tanh(), id="matmul"),
        pytest.param(lambda x, c: concatenate([x, x * c]).exp(), id="concatenate"),
    ],
)
def test_find_wrong_gate_passes_a_correct_tensor_graph_with_constants(
    f: Callable[[Tensor, Any], Tensor], constant: Callable[[], Any]
) -> None:
    x = Tensor([0.5, -1.5], "x")
    out = f(x, constant())
    assert find_wrong_gate(out) is None
    assert gradcheck(lambda t: f(t, constant()), [x])


def test_a_wrong_custom_tensor_op_is_blamed_by_name() -> None:
    # x * 1 whose recorded local derivative is 1 + 2x: wrong everywhere but at x = 0
    bad_identity = Op(
        "bad_identity",
        "id?",
        1,
        forward=lambda a: a * 1.0,
        local=lambda a, out: (1.0 + 2.0 * a,),
        formula="d(a)/da = 1 + 2a (wrong on purpose)",
    )
    x = Tensor([[0.5, -1.0], [2.0, 0.25]], "x")
    out = (apply(bad_identity, x.tanh()) * 3.0).sum()
    blamed = find_wrong_gate(out)
    assert blamed is not None
    assert blamed.node.gate is bad_identity
    assert blamed.node.parents[0].op == "tanh"
    assert "bad_identity" in blamed.describe() and "wrong on purpose" in blamed.describe()
    with pytest.raises(GradcheckError, match="First wrong local derivative: gate bad_identity"):
        gradcheck(lambda t: (apply(bad_identity, t.tanh()) * 3.0).sum(), [x])


def test_find_wrong_gate_checks_values_and_tensors() -> None:
    assert find_wrong_tensor_gate is find_wrong_gate  # the old name, for Tensor graphs
    value_blame = find_wrong_gate(apply(BAD_SQUARE, Value(1.5)))
    tensor_blame = find_wrong_gate(apply(BAD_SQUARE, Tensor(1.5)))
    assert value_blame is not None and tensor_blame is not None
    # one number either way, so no random upstream: the bare local derivatives, 4.5 and ~3
    assert (value_blame.recorded, tensor_blame.recorded) == (4.5, 4.5)
    assert value_blame.numeric == pytest.approx(tensor_blame.numeric, abs=1e-9)


def test_a_kink_in_a_tensor_graph_is_not_blamed() -> None:
    # The second relu sees exact zeros (relu(-1) = 0): a kink, where its rule's 0 is valid.
    x = Tensor([-1.0, 2.0, -0.5], "x")
    assert find_wrong_gate(x.relu().relu()) is None
    assert find_wrong_gate(x.maximum(np.array([-1.0, 0.0, 1.0]))) is None  # a tie in element 0
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: t.relu().sum(), [np.array([0.0, 1.0])])
    assert info.value.blamed_gate is None
    assert "sits on a kink with respect to input 0, element (0,)" in str(info.value)

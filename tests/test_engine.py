"""The engine itself: Value construction, every operator, local derivatives, backward,
no_grad, deep and wide graphs, the error policy and memory behaviour."""

from __future__ import annotations

import gc
import math
import sys
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import autograd
from autograd import OPS, NonFiniteError, Value, is_grad_enabled, no_grad, topological_order

TOL = 1e-12


def close(got: float, expected: float, tol: float = TOL) -> bool:
    return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)


# -- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (3, 3.0),
        (-2.5, -2.5),
        (True, 1.0),
        (False, 0.0),
        (np.float32(0.1), float(np.float32(0.1))),
        (np.float64(-7.25), -7.25),
        (np.int64(12), 12.0),
        (np.int8(-3), -3.0),
        (np.bool_(True), 1.0),
    ],
)
def test_value_accepts_real_numbers_as_python_float(raw: object, expected: float) -> None:
    v = Value(raw)  # type: ignore[arg-type]
    assert type(v.data) is float
    assert v.data == expected


@pytest.mark.parametrize(
    ("raw", "type_name"),
    [
        ("1.0", "str"),
        ([1.0], "list"),
        (None, "NoneType"),
        (np.array(1.0), "ndarray"),
        (np.array([1.0, 2.0]), "ndarray"),
        (1 + 2j, "complex"),
        ({1.0}, "set"),
    ],
)
def test_value_rejects_non_real_with_type_in_message(raw: object, type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        Value(raw)  # type: ignore[arg-type]


def test_value_rejects_a_value() -> None:
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", [math.nan, math.inf, -math.inf, np.float64("nan"), np.inf])
def test_value_rejects_non_finite(raw: float) -> None:
    with pytest.raises(NonFiniteError, match="finite"):
        Value(raw)
    with pytest.raises(ValueError):
        Value(raw)
    with pytest.raises(ArithmeticError):
        Value(raw)


def test_non_finite_error_is_a_value_error() -> None:
    assert issubclass(NonFiniteError, ValueError)
    assert issubclass(NonFiniteError, ArithmeticError)
    assert autograd.NonFiniteError is NonFiniteError


def test_value_rejects_int_too_large_for_float() -> None:
    with pytest.raises(NonFiniteError):
        Value(10**400)


def test_label_must_be_str() -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)  # type: ignore[arg-type]


# -- attributes -----------------------------------------------------------------------------------


def test_leaf_attributes() -> None:
    x = Value(2.0, "x")
    assert x.data == 2.0
    assert x.grad == 0.0
    assert x.label == "x"
    assert x.op == ""
    assert x.gate is None
    assert x.parents == ()
    assert x.local_grads == ()
    assert x.is_leaf
    assert Value(1.0).label == ""


def test_gate_attributes() -> None:
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    m = x * y
    assert m.data == -6.0
    assert m.grad == 0.0
    assert m.label == ""
    assert m.op == "mul"
    assert m.gate is OPS["mul"]
    assert isinstance(m.parents, tuple)
    assert m.parents == (x, y)
    assert m.local_grads == (-3.0, 2.0)  # aligned with parents: d/dx = y, d/dy = x
    assert not m.is_leaf
    d = y - x
    assert d.parents == (y, x)  # argument order is kept
    assert d.local_grads == (1.0, -1.0)
    t = x.tanh()
    assert t.parents == (x,)
    assert len(t.local_grads) == 1
    p = x**3
    assert p.op == "pow"
    assert p.gate is not None
    assert p.gate.arity == 1


def test_grad_is_zero_before_backward() -> None:
    x = Value(1.5)
    y = (x * 2.0).exp()
    assert x.grad == 0.0
    assert y.grad == 0.0


def test_value_has_slots_and_no_dict() -> None:
    x = Value(1.0)
    y = x + 1
    for v in (x, y):
        assert not hasattr(v, "__dict__")
        with pytest.raises(AttributeError):
            v.extra = 1  # type: ignore[attr-defined]


def test_float_conversion() -> None:
    assert float(Value(2.5) * 2) == 5.0


def test_repr_is_readable() -> None:
    x = Value(3.0, "x")
    r = repr(x)
    assert r.startswith("Value(")
    assert "data=3.0" in r
    assert "grad=0.0" in r
    assert "label='x'" in r
    assert "op=" not in r
    y = x * 2
    y.backward()
    ry = repr(y)
    assert "data=6.0" in ry
    assert "grad=1.0" in ry
    assert "op='mul'" in ry
    assert "label" not in ry


# -- operators with numbers on either side --------------------------------------------------------

X = 1.7
Y = 0.6

OPERATOR_CASES: list[tuple[str, Callable[[Value], Value], float, float]] = [
    # (name, f, f(X), df/dX)
    ("2 * x", lambda x: 2 * x, 2 * X, 2.0),
    ("x * 2", lambda x: x * 2, 2 * X, 2.0),
    ("x + 1", lambda x: x + 1, X + 1, 1.0),
    ("1 + x", lambda x: 1 + x, 1 + X, 1.0),
    ("x - 3", lambda x: x - 3, X - 3, 1.0),
    ("3 - x", lambda x: 3 - x, 3 - X, -1.0),
    ("x / 2", lambda x: x / 2, X / 2, 0.5),
    ("1 / x", lambda x: 1 / x, 1 / X, -1 / X**2),
    ("2 ** x", lambda x: 2**x, 2**X, 2**X * math.log(2)),
    ("-x", lambda x: -x, -X, -1.0),
    ("x ** 2", lambda x: x**2, X**2, 2 * X),
    ("x ** 0.5", lambda x: x**0.5, math.sqrt(X), 0.5 / math.sqrt(X)),
    ("x ** -2", lambda x: x**-2, X**-2, -2 * X**-3),
    ("x ** 0", lambda x: x**0, 1.0, 0.0),
    ("x ** 1", lambda x: x**1, X, 1.0),
    ("x.exp()", lambda x: x.exp(), math.exp(X), math.exp(X)),
    ("x.log()", lambda x: x.log(), math.log(X), 1 / X),
    ("x.reciprocal()", lambda x: x.reciprocal(), 1 / X, -1 / X**2),
    ("x.tanh()", lambda x: x.tanh(), math.tanh(X), 1 - math.tanh(X) ** 2),
    (
        "x.sigmoid()",
        lambda x: x.sigmoid(),
        1 / (1 + math.exp(-X)),
        math.exp(-X) / (1 + math.exp(-X)) ** 2,
    ),
    ("x.relu()", lambda x: x.relu(), X, 1.0),
    ("(-x).relu()", lambda x: (-x).relu(), 0.0, 0.0),
    ("x.max(1)", lambda x: x.max(1), X, 1.0),
    ("x.max(5)", lambda x: x.max(5), 5.0, 0.0),
    ("x + np.float32", lambda x: x + np.float32(0.5), X + 0.5, 1.0),
    ("np.int64 * x", lambda x: x * np.int64(3), 3 * X, 3.0),
]


@pytest.mark.parametrize(
    ("f", "value", "grad"),
    [case[1:] for case in OPERATOR_CASES],
    ids=[case[0] for case in OPERATOR_CASES],
)
def test_operator_value_and_gradient(
    f: Callable[[Value], Value], value: float, grad: float
) -> None:
    x = Value(X)
    out = f(x)
    assert isinstance(out, Value)
    assert type(out.data) is float
    out.backward()
    assert close(out.data, value)
    assert close(x.grad, grad)


def test_reflected_operators_keep_argument_order() -> None:
    x = Value(4.0)
    r = 3 - x
    constant, second = r.parents
    assert second is x
    assert constant.is_leaf
    assert constant.data == 3.0
    assert constant.label == "3"
    assert r.data == -1.0
    q = 1 / x
    assert q.parents[1] is x
    assert q.parents[0].data == 1.0
    p = 2**x
    assert p.op == "pow_value"
    assert p.parents[1] is x


def test_value_exponent() -> None:
    x, y = Value(X), Value(Y)
    out = x**y
    out.backward()
    assert out.op == "pow_value"
    assert out.parents == (x, y)
    assert close(out.data, X**Y)
    assert close(x.grad, Y * X ** (Y - 1))
    assert close(y.grad, X**Y * math.log(X))


def test_binary_operators_between_values() -> None:
    x, y = Value(X), Value(Y)
    out = (x + y) * (x - y) / (x * y)  # (x^2 - y^2) / (x y) = x/y - y/x
    out.backward()
    assert close(out.data, X / Y - Y / X)
    assert close(x.grad, 1 / Y + Y / X**2)
    assert close(y.grad, -X / Y**2 - 1 / X)


def test_number_operand_becomes_labelled_constant_leaf() -> None:
    x = Value(2.0)
    y = x * -1
    assert y.parents[0] is x
    c = y.parents[1]
    assert c.is_leaf
    assert c.label == "-1"
    assert c.data == -1.0
    z = x + 0.5
    assert z.parents[1].label == "0.5"


# -- each op's documented local derivative --------------------------------------------------------

POINTS = [-1.3, 0.4, 2.2]
POSITIVE = [0.3, 1.0, 2.7]


def _sig(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a))


UNARY_LOCALS: list[tuple[str, Callable[[Value], Value], Callable[[float], float], list[float]]] = [
    ("neg", lambda v: -v, lambda a: -1.0, POINTS),
    ("exp", lambda v: v.exp(), math.exp, POINTS),
    ("log", lambda v: v.log(), lambda a: 1 / a, POSITIVE),
    ("reciprocal", lambda v: v.reciprocal(), lambda a: -1 / a**2, POINTS),
    ("sigmoid", lambda v: v.sigmoid(), lambda a: (1 - _sig(a)) * _sig(a), POINTS),
    ("tanh", lambda v: v.tanh(), lambda a: 1 - math.tanh(a) ** 2, POINTS),
    ("relu", lambda v: v.relu(), lambda a: 1.0 if a > 0 else 0.0, [*POINTS, 0.0]),
    ("pow", lambda v: v**3, lambda a: 3 * a**2, POINTS),
    ("pow", lambda v: v**-1.5, lambda a: -1.5 * a**-2.5, POSITIVE),
    ("abs", lambda v: v.abs(), lambda a: 1.0 if a > 0 else -1.0 if a < 0 else 0.0, [*POINTS, 0.0]),
    ("abs", lambda v: abs(v), lambda a: math.copysign(1.0, a) if a else 0.0, [*POINTS, -0.0]),
    ("sqrt", lambda v: v.sqrt(), lambda a: 0.5 * a**-0.5, POSITIVE),
    ("sin", lambda v: v.sin(), math.cos, POINTS),
    ("cos", lambda v: v.cos(), lambda a: -math.sin(a), POINTS),
    # d/da log(1 + e^a) = e^a / (1 + e^a), written out as the derivative of the definition
    ("softplus", lambda v: v.softplus(), lambda a: math.exp(a) / (1 + math.exp(a)), POINTS),
]


@pytest.mark.parametrize(
    ("name", "f", "local", "points"),
    UNARY_LOCALS,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(UNARY_LOCALS)],
)
def test_unary_local_derivative(
    name: str,
    f: Callable[[Value], Value],
    local: Callable[[float], float],
    points: list[float],
) -> None:
    for a in points:
        node = f(Value(a))
        assert node.op == name
        (d,) = node.local_grads
        assert close(d, local(a)), (name, a, d, local(a))


BINARY_LOCALS: list[
    tuple[str, Callable[[Value, Value], Value], Callable[[float, float], tuple[float, float]]]
] = [
    ("add", lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    ("sub", lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    ("mul", lambda a, b: a * b, lambda a, b: (b, a)),
    ("truediv", lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2)),
    ("pow_value", lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * math.log(a))),
    (
        "max",
        lambda a, b: a.max(b),
        lambda a, b: (1.0, 0.0) if a > b else (0.0, 1.0) if b > a else (0.5, 0.5),
    ),
    (
        "min",
        lambda a, b: a.min(b),
        lambda a, b: (1.0, 0.0) if a < b else (0.0, 1.0) if b < a else (0.5, 0.5),
    ),
]


@pytest.mark.parametrize(("name", "f", "local"), BINARY_LOCALS, ids=[c[0] for c in BINARY_LOCALS])
@pytest.mark.parametrize(("a", "b"), [(0.5, 2.0), (2.5, 0.7), (1.25, 1.25), (3.0, -1.5)])
def test_binary_local_derivatives(
    name: str,
    f: Callable[[Value, Value], Value],
    local: Callable[[float, float], tuple[float, float]],
    a: float,
    b: float,
) -> None:
    node = f(Value(a), Value(b))
    assert node.op == name
    expected = local(a, b)
    assert len(node.local_grads) == 2
    for got, want in zip(node.local_grads, expected, strict=True):
        assert close(got, want), (name, a, b, node.local_grads, expected)


def test_every_fixed_op_has_a_local_derivative_test() -> None:
    tested = {c[0] for c in UNARY_LOCALS} | {c[0] for c in BINARY_LOCALS}
    assert {name for name, op in OPS.items() if op.forward is not None} <= tested


# -- backward -------------------------------------------------------------------------------------


def test_backward_twice_accumulates_on_leaves_and_resets_interior() -> None:
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (-4.0, -4.0, 3.0, -4.0, 1.0)
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-8.0, -8.0, 6.0)  # leaves accumulate
    assert q.grad == -4.0  # interior nodes hold the latest backward only
    assert f.grad == 1.0


def test_zero_grad_clears_every_node() -> None:
    x, y = Value(1.5), Value(-0.5)
    q = x * y
    f = q.tanh() + x
    f.backward()
    assert x.grad != 0.0
    f.zero_grad()
    for node in topological_order(f):
        assert node.grad == 0.0
    f.backward()
    assert close(x.grad, y.data * (1 - math.tanh(1.5 * -0.5) ** 2) + 1.0)


def test_diamond_graph() -> None:
    x = Value(1.5)
    a = x * 2.0
    b = x * 3.0
    c = a * b  # 6 x^2
    c.backward()
    assert close(c.data, 6 * 1.5**2)
    assert close(x.grad, 12 * 1.5)
    assert close(a.grad, b.data)
    assert close(b.grad, a.data)


def test_diamond_with_nonlinear_branches() -> None:
    x = Value(0.8)
    top = x.exp()
    bottom = x.tanh()
    f = top * bottom
    f.backward()
    e, t = math.exp(0.8), math.tanh(0.8)
    assert close(x.grad, e * t + e * (1 - t * t))


def test_value_reused_many_times() -> None:
    x = Value(0.5)
    total = x * 1
    for k in range(2, 1001):
        total = total + x * k
    total.backward()
    assert close(total.data, 0.5 * 500500)
    assert x.grad == 500500.0  # sum of k: every use adds its own gradient


def test_power_by_repeated_product() -> None:
    x = Value(1.01)
    y = x
    for _ in range(49):
        y = y * x
    y.backward()
    assert close(y.data, 1.01**50, 1e-12)
    assert close(x.grad, 50 * 1.01**49, 1e-12)


def test_backward_from_intermediate_node() -> None:
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    q.backward()
    assert q.grad == 1.0
    assert x.grad == 1.0
    assert y.grad == 1.0
    assert z.grad == 0.0  # z is not upstream of q
    assert f.grad == 0.0  # f is downstream: untouched


def test_backward_on_a_leaf() -> None:
    x = Value(3.0)
    x.backward()
    assert x.grad == 1.0
    x.backward()
    assert x.grad == 2.0  # a leaf accumulates, as documented


def test_backward_after_graph_is_extended() -> None:
    x = Value(2.0)
    y = x * x
    y.backward()
    assert x.grad == 4.0
    x.grad = 0.0
    z = y * 3.0  # reuse y in a bigger graph
    z.backward()
    assert close(x.grad, 12.0)
    assert close(y.grad, 3.0)


# -- no_grad --------------------------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    x = Value(2.0)
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        y = x * 3.0 + 1.0
        t = y.tanh()
        p = x**x
    assert is_grad_enabled()
    for node in (y, t, p):
        assert node.is_leaf
        assert node.parents == ()
        assert node.op == ""
        assert node.gate is None
        assert node.local_grads == ()
    assert y.data == 7.0
    assert close(t.data, math.tanh(7.0))
    f = y * x  # y is a plain constant now
    f.backward()
    assert x.grad == y.data  # no path from f to x through y
    assert y.grad == x.data


def test_no_grad_still_checks_domains() -> None:
    with no_grad(), pytest.raises(NonFiniteError):
        Value(-1.0).log()
    assert is_grad_enabled()


def test_no_grad_restores_flag_after_exception() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), no_grad():
        raise Boom
    assert is_grad_enabled()
    y = Value(1.0) * 2
    assert not y.is_leaf


def test_no_grad_nests() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) + 1).is_leaf
    assert is_grad_enabled()


# -- deep and wide graphs -------------------------------------------------------------------------


@pytest.mark.slow
def test_chain_of_a_million_ops() -> None:
    """y <- y * w + c, 500,000 times: 1,000,000 gates, no recursion anywhere.

    With S(w) = sum_{k<n} w^k = (1 - w^n) / (1 - w):
        y_n = w^n x + c S(w),  dy/dx = w^n,  dy/dc = S(w),
        dy/dw = n w^(n-1) x + c (1 - n w^(n-1) + (n-1) w^n) / (1 - w)^2.
    """
    n = 500_000
    x0, w0, c0 = 0.5, 1.0 - 1e-6, 0.25
    x, w, c = Value(x0, "x"), Value(w0, "w"), Value(c0, "c")
    y = x
    for _ in range(n):
        y = y * w + c
    y.backward()
    wn = w0**n
    s = (1 - wn) / (1 - w0)
    ds = (1 - n * w0 ** (n - 1) + (n - 1) * wn) / (1 - w0) ** 2
    assert math.isclose(y.data, wn * x0 + c0 * s, rel_tol=1e-9)
    assert math.isclose(x.grad, wn, rel_tol=1e-9)
    assert math.isclose(c.grad, s, rel_tol=1e-9)
    assert math.isclose(w.grad, n * w0 ** (n - 1) * x0 + c0 * ds, rel_tol=1e-7)
    del y  # freeing the chain must not recurse either


def test_wide_graph_sum_of_products() -> None:
    n = 100_000
    xs = [Value((i % 97) / 10.0 - 4.0) for i in range(n)]
    ws = [Value(((i * 31) % 89) / 20.0 - 2.0) for i in range(n)]
    total = Value(0.0)
    for x, w in zip(xs, ws, strict=True):
        total = total + x * w
    total.backward()
    assert math.isclose(
        total.data, math.fsum(x.data * w.data for x, w in zip(xs, ws, strict=True)), rel_tol=1e-9
    )
    assert all(x.grad == w.data for x, w in zip(xs, ws, strict=True))
    assert all(w.grad == x.data for x, w in zip(xs, ws, strict=True))


# -- error policy ---------------------------------------------------------------------------------

DIVISION_BY_ZERO = ["1.0 / 0.0 is outside the domain of /", "/ needs b != 0"]

# Each error speaks of the expression as written: the op's symbol (/, **), not its name.
DOMAIN_ERRORS: list[tuple[str, Callable[[], Value], list[str]]] = [
    ("log(0)", lambda: Value(0.0).log(), ["log", "a > 0"]),
    ("log(-1)", lambda: Value(-1.0).log(), ["log", "a > 0"]),
    ("reciprocal(0)", lambda: Value(0.0).reciprocal(), ["1/0.0", "a != 0"]),
    ("1 / Value(0)", lambda: 1 / Value(0.0), DIVISION_BY_ZERO),
    ("Value(1) / 0", lambda: Value(1.0) / 0, DIVISION_BY_ZERO),
    ("Value / Value(0)", lambda: Value(1.0) / Value(0.0), DIVISION_BY_ZERO),
    ("0 ** -1", lambda: Value(0.0) ** -1, ["0.0**-1", "x != 0"]),
    ("(-8) ** 0.5", lambda: Value(-8.0) ** 0.5, ["(-8.0)**0.5", "x > 0"]),
    ("(-2) ** Value", lambda: Value(-2.0) ** Value(2.0), ["**", "a > 0"]),
    ("(-2) ** Value(0.5)", lambda: Value(-2.0) ** Value(0.5), ["**", "a > 0"]),
    ("0 ** Value", lambda: Value(0.0) ** Value(2.0), ["**", "a > 0"]),
    ("exp(1000)", lambda: Value(1000.0).exp(), ["exp", "709"]),
    ("1e200 * 1e200", lambda: Value(1e200) * 1e200, ["1e+200 * 1e+200", "overflow"]),
    ("1e308 + 1e308", lambda: Value(1e308) + Value(1e308), ["1e+308 + 1e+308", "overflow"]),
    ("x ** 2 overflow", lambda: Value(1e200) ** 2, ["**2", "overflow"]),
]


@pytest.mark.parametrize(
    ("make", "words"), [c[1:] for c in DOMAIN_ERRORS], ids=[c[0] for c in DOMAIN_ERRORS]
)
def test_non_finite_error_names_op_and_domain(make: Callable[[], Value], words: list[str]) -> None:
    with pytest.raises(NonFiniteError) as info:
        make()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert isinstance(info.value, ValueError)


def test_gradient_overflow_at_interior_node_raises() -> None:
    x = Value(1e-200)
    m = x * 1.0  # an interior node whose gradient will be 1e400
    n = m * 1e200  # = 1, local 1e200
    out = n * 1e200  # = 1e200, local 1e200
    with pytest.raises(NonFiniteError, match="overflow"):
        out.backward()


def test_graph_is_usable_after_a_failed_backward() -> None:
    x = Value(1e-200)
    m = x * 1.0
    n = m * 1e200
    out = n * 1e200
    with pytest.raises(NonFiniteError):
        out.backward()
    order = topological_order(out)
    assert len(order) == 7  # x, 1.0, m, 1e200, n, 1e200, out
    assert x in order
    x.grad = 0.0
    n.backward()  # a root whose gradients stay finite
    assert n.grad == 1.0
    assert m.grad == 1e200
    assert x.grad == 1e200
    assert len(topological_order(n)) == 5


def test_gradient_overflow_at_leaf_raises() -> None:
    x = Value(1e-200)
    out = (x * 1e200) * 1e200  # forward values 1 and 1e200 are finite
    with pytest.raises(NonFiniteError):
        out.backward()
    assert math.isfinite(x.grad)


def test_truediv_by_tiny_divisor_with_finite_derivatives() -> None:
    a, b = Value(1e-200), Value(1e-162)
    q = a / b
    q.backward()
    assert math.isclose(q.data, 1e-38, rel_tol=1e-12)
    assert math.isclose(a.grad, 1e162, rel_tol=1e-12)
    assert math.isclose(b.grad, -1e124, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("method", "big", "limit"),
    [("sigmoid", 1e4, 1.0), ("sigmoid", -1e4, 0.0), ("tanh", 1e4, 1.0), ("tanh", -1e4, -1.0)],
)
def test_saturating_ops_are_silent_at_extremes(method: str, big: float, limit: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Value(big)
        out = getattr(x, method)()
        out.backward()
        np_x = Value(np.float64(big))
        np_out = getattr(np_x, method)()
    assert out.data == limit
    assert out.local_grads == (0.0,)
    assert x.grad == 0.0
    assert np_out.data == limit


# -- operand type errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "type_name"),
    [
        (lambda x: x + "a", "str"),
        (lambda x: "a" + x, "str"),
        (lambda x: x * [1], "list"),
        (lambda x: x - None, "NoneType"),
        (lambda x: x / (1 + 1j), "complex"),
        (lambda x: x.max("1"), "str"),
        (lambda x: x ** "2", "str"),
        (lambda x: x + np.array([1.0]), "ndarray"),
    ],
)
def test_bad_operand_raises_type_error(make: Callable[[Value], object], type_name: str) -> None:
    with pytest.raises(TypeError, match=type_name):
        make(Value(1.0))


def test_bad_operand_message_is_clear() -> None:
    with pytest.raises(TypeError) as info:
        Value(1.0) + "a"  # type: ignore[arg-type]
    message = str(info.value)
    assert "Value" in message
    assert "'a'" in message
    assert "real number" in message


def test_apply_checks_arity() -> None:
    with pytest.raises(TypeError, match="input"):
        autograd.apply(OPS["mul"], Value(1.0))
    assert autograd.apply(OPS["mul"], Value(2.0), 3).data == 6.0


# -- topological order ----------------------------------------------------------------------------


def _graph() -> tuple[Value, list[Value]]:
    x, y = Value(1.0, "x"), Value(2.0, "y")
    a = x * y
    b = a + x
    c = b.tanh() * a
    d = c + c
    return d, [x, y, a, b, c, d]


def test_topological_order_parents_first() -> None:
    root, nodes = _graph()
    order = topological_order(root)
    assert order[-1] is root
    assert len(order) == len({id(n) for n in order})  # each node once
    for n in nodes:
        assert n in order
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_topological_order_is_deterministic() -> None:
    root, _ = _graph()
    first = topological_order(root)
    second = topological_order(root)
    assert [id(n) for n in first] == [id(n) for n in second]
    root2, _ = _graph()
    same_shape = [(n.op, n.data) for n in topological_order(root2)]
    assert same_shape == [(n.op, n.data) for n in first]


def test_topological_order_of_leaf() -> None:
    x = Value(1.0)
    assert topological_order(x) == [x]


def test_topological_order_excludes_unrelated_nodes() -> None:
    x, y = Value(1.0), Value(2.0)
    a = x * 2
    _ = y * 3
    order = topological_order(a)
    assert len(order) == 3
    assert order[-1] is a
    assert set(order) == {x, a.parents[1], a}


# -- memory ---------------------------------------------------------------------------------------


def _live_values() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def test_graphs_have_no_reference_cycles() -> None:
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # so nothing but reference counting can free the graph
    try:
        before = _live_values()
        x = Value(0.3, "x")
        x_refs = sys.getrefcount(x)
        y = x
        for i in range(300):
            y = (y * 1.01 + x).tanh().max(x * i)
        y.backward()
        assert _live_values() > before + 300
        assert sys.getrefcount(x) > x_refs
        del y
        assert sys.getrefcount(x) == x_refs
        assert _live_values() == before + 1  # only x is left
        del x
        assert _live_values() == before
    finally:
        if was_enabled:
            gc.enable()
    assert gc.collect() == 0


def test_no_grad_results_keep_nothing_alive() -> None:
    x = Value(1.0)
    refs = sys.getrefcount(x)
    with no_grad():
        y = (x * 2).exp()
    assert sys.getrefcount(x) == refs
    assert y.data == math.exp(2.0)

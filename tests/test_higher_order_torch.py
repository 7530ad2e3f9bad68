"""Second derivatives, Hessians and Jacobians checked against PyTorch, an independent engine.

``tests/test_derivatives.py`` checks a few second derivatives against closed forms written by
hand. Here the reference is PyTorch (float64 on the CPU), so every op is covered without
anyone deriving a formula, and a new op cannot slip in untested:

1. **Every scalar op, twice differentiated.** Each op of :data:`autograd.OPS` (applied with
   :func:`autograd.apply`, as the operators do) and ``x ** n`` for several ``n`` is
   differentiated with ``grad(..., create_graph=True)`` and then once more, giving the value,
   the gradient and the full matrix of second derivatives (all pairs for a two-input op). The
   same function is differentiated by ``torch.autograd.grad(..., create_graph=True)`` at the
   same point. Each op is checked on its leaves, on the same leaf twice (``x * x``) and on
   inner nodes (``op(x * y)``), where the chain rule mixes first and second derivatives. relu
   and max are checked where they are smooth: their second derivative there is exactly 0. A
   table test fails as soon as ``OPS`` holds an op with no PyTorch counterpart here.
2. **Hessians of random programs.** :func:`autograd.hessian` of the DAGs drawn by
   :func:`autograd.testing.expressions` (values reused, fan-out) against centred differences
   of the first derivatives, and against ``torch.autograd.functional.hessian`` of the same
   program rebuilt in PyTorch from the expression's steps.
3. **Jacobians of the Tensor ops** (:func:`autograd.jacobian`) against ``torch.func.jacrev``:
   matmul on either side, reductions along axes, reshapes, transposes, indexing, softmax and
   log softmax, the elementwise ops, broadcasting, concatenation and cross-entropy.

The whole module is skipped when PyTorch is not installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings

import autograd
from autograd import OPS, Tensor, Value
from autograd.testing import DEFAULT_POWERS, Expression, expressions, table_ops

torch = pytest.importorskip(
    "torch", reason="PyTorch is the reference here (pip install torch==2.13.0, a CPU build)"
)

# Every comparison with PyTorch is in float64; both engines round differently (different
# formulas for the same derivative), so "equal" means equal to about 1e-9 relative.
RTOL, ATOL = 1e-9, 1e-12

Array = np.ndarray[Any, Any]
TorchFn = Callable[..., Any]


# -- 1. second derivatives of every scalar op --------------------------------------------------

#: The PyTorch function of each op in autograd.OPS: on 0-d float64 tensors for the ops on
#: numbers; an op on arrays only (``forward`` None, like matmul) is checked in section 3.
TORCH_OPS: dict[str, TorchFn] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "neg": lambda a: -a,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "pow_value": lambda a, b: a**b,
    "exp": lambda a: torch.exp(a),
    "log": lambda a: torch.log(a),
    "reciprocal": lambda a: torch.reciprocal(a),
    "sigmoid": lambda a: torch.sigmoid(a),
    "tanh": lambda a: torch.tanh(a),
    "relu": lambda a: torch.relu(a),
    "max": lambda a, b: torch.maximum(a, b),
    "min": lambda a, b: torch.minimum(a, b),
    "abs": lambda a: torch.abs(a),
    "sqrt": lambda a: torch.sqrt(a),
    "sin": lambda a: torch.sin(a),
    "cos": lambda a: torch.cos(a),
    # log(e^a + e^0): F.softplus would return a itself beyond its threshold of 20
    "softplus": lambda a: torch.logaddexp(a, torch.zeros_like(a)),
    "matmul": lambda a, b: a @ b,
    "matmul_t": lambda a, b: a @ b.T,
}

#: Where each op is evaluated: inside its domain, away from relu's kink at 0 and max's tie.
POINTS: dict[str, list[tuple[float, ...]]] = {
    "add": [(0.7, -1.3), (2.0, 0.5)],
    "sub": [(0.7, -1.3), (-2.0, 0.5)],
    "neg": [(-0.8,), (1.9,)],
    "mul": [(0.7, -1.3), (-2.0, 3.0)],
    "truediv": [(1.3, -0.7), (-2.0, 0.4)],
    "pow_value": [(1.7, 0.6), (0.4, -1.5), (2.5, 2.0)],
    "exp": [(-1.2,), (0.9,)],
    "log": [(0.3,), (2.5,)],
    "reciprocal": [(-0.6,), (1.4,)],
    "sigmoid": [(-2.1,), (0.4,)],
    "tanh": [(-0.9,), (0.5,)],
    "relu": [(-0.7,), (1.3,)],
    "max": [(1.2, -0.4), (-0.8, 0.3)],
    "min": [(1.2, -0.4), (-0.8, 0.3)],
    "abs": [(-0.7,), (1.3,)],
    "sqrt": [(0.3,), (2.5,)],
    "sin": [(-0.9,), (2.1,)],
    "cos": [(-0.9,), (2.1,)],
    "softplus": [(-2.1,), (0.4,), (25.0,)],
}

#: The ``x ** n`` family (one cached op per exponent), at points inside each one's domain. 0
#: and 1 are special-cased in the op table (constant locals), -1 and 0.5 need x != 0 and x > 0.
POWERS: list[tuple[float, float]] = [
    (0.0, 1.3),
    (1.0, -0.6),
    (2.0, -1.3),
    (3.0, 0.8),
    (3.0, -1.1),
    (-1.0, 0.7),
    (-1.0, -1.6),
    (-2.0, 1.2),
    (0.5, 2.3),
    (1.5, 0.6),
]


@dataclass(frozen=True)
class Derivatives:
    """A scalar function's value, gradient and matrix of second derivatives at one point."""

    value: float
    gradient: Array
    hessian: Array


def ours(f: Callable[..., Value], point: Sequence[float]) -> Derivatives:
    """Value, gradient and second derivatives by the engine: grad(create_graph=True), then grad
    of each first derivative. Checks that no ``.grad`` was touched on the way."""
    xs = [Value(x, f"x{i}") for i, x in enumerate(point)]
    out = f(*xs)
    first = autograd.grad(out, xs, create_graph=True)
    assert all(isinstance(g, Value) for g in first)
    second = [autograd.grad(g, xs) for g in first]
    assert all(x.grad == 0.0 for x in xs)  # grad() reports, it accumulates nothing
    return Derivatives(
        out.data,
        np.array([g.data for g in first], dtype=float),
        np.array(second, dtype=float),
    )


def theirs(f: TorchFn, point: Sequence[float]) -> Derivatives:
    """The same by PyTorch: torch.autograd.grad(create_graph=True), then torch.autograd.grad
    of each first derivative. A first derivative that does not depend on the inputs (the
    constant 1 of add) has no graph: its second derivatives are 0."""
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = f(*xs)
    first = torch.autograd.grad(
        out, xs, create_graph=True, allow_unused=True, materialize_grads=True
    )
    rows = []
    for g in first:
        if g.requires_grad:
            row = torch.autograd.grad(
                g, xs, retain_graph=True, allow_unused=True, materialize_grads=True
            )
            rows.append([float(d) for d in row])
        else:
            rows.append([0.0] * len(xs))
    return Derivatives(
        float(out.detach()),
        np.array([float(g.detach()) for g in first]),
        np.array(rows, dtype=float),
    )


def assert_same(got: Derivatives, want: Derivatives) -> None:
    np.testing.assert_allclose(got.value, want.value, rtol=RTOL, atol=ATOL, err_msg="value")
    np.testing.assert_allclose(
        got.gradient, want.gradient, rtol=RTOL, atol=ATOL, err_msg="first derivatives"
    )
    np.testing.assert_allclose(
        got.hessian, want.hessian, rtol=RTOL, atol=ATOL, err_msg="second derivatives"
    )


def _table_cases() -> list[Any]:
    return [
        pytest.param(name, point, id=f"{name}({', '.join(f'{x:g}' for x in point)})")
        for name, points in POINTS.items()
        for point in points
    ]


def _scalar_ops() -> set[str]:
    """The ops of the table that work on numbers (an op on arrays only has no ``forward``)."""
    return {name for name, op in OPS.items() if op.forward is not None}


def test_every_op_in_the_table_has_a_torch_counterpart_and_test_points() -> None:
    """A new op in autograd.OPS must get its PyTorch function here, and, if it works on
    numbers, points for its second derivatives, or this fails. (For an op on arrays only see
    test_every_array_op_in_the_table_is_in_a_jacobian_case.)"""
    assert set(OPS) <= set(TORCH_OPS), f"no PyTorch counterpart for {set(OPS) - set(TORCH_OPS)}"
    scalar = _scalar_ops()
    assert scalar <= set(POINTS), f"no test points for {scalar - set(POINTS)}"
    for name in sorted(scalar):
        op = OPS[name]
        assert all(len(point) == op.arity for point in POINTS[name]), name
        assert all(op.smooth(*point) for point in POINTS[name]), f"{name}: a point is not smooth"


@pytest.mark.parametrize(("name", "point"), _table_cases())
def test_second_derivatives_of_each_op_match_torch(name: str, point: tuple[float, ...]) -> None:
    op = OPS[name]
    got = ours(lambda *xs: autograd.apply(op, *xs), point)
    assert_same(got, theirs(TORCH_OPS[name], point))
    if name in ("relu", "max", "min", "abs"):  # piecewise linear: the second derivative is 0
        assert np.array_equal(got.hessian, np.zeros_like(got.hessian))


@pytest.mark.parametrize(("name", "point"), _table_cases())
def test_second_derivatives_of_each_op_on_inner_nodes_match_torch(
    name: str, point: tuple[float, ...]
) -> None:
    """``op(x * y)`` and ``op(x * y, y)``, at x, y making the op's inputs ``point``: the chain
    rule multiplies the op's first and second derivatives with those of the product, and the
    Hessian is a full 2 x 2 matrix (relu(x y) has d²/dx dy = 1 where x y > 0)."""
    op = OPS[name]
    if op.arity == 1:
        xy = (point[0] / 2.0, 2.0)
        got = ours(lambda x, y: autograd.apply(op, x * y), xy)
        want = theirs(lambda x, y: TORCH_OPS[name](x * y), xy)
    else:
        a, b = point
        xy = (a / b, b)
        got = ours(lambda x, y: autograd.apply(op, x * y, y), xy)
        want = theirs(lambda x, y: TORCH_OPS[name](x * y, y), xy)
    assert_same(got, want)


@pytest.mark.parametrize(
    ("name", "at"),
    [
        pytest.param(name, at, id=f"{name}(x, x) at {at:g}")
        for name, at in [
            ("add", 0.6),
            ("sub", 0.6),
            ("mul", -1.4),
            ("truediv", 0.9),
            ("pow_value", 1.6),
            ("pow_value", 0.3),
        ]
    ],
)
def test_second_derivatives_of_a_two_input_op_on_one_value_match_torch(
    name: str, at: float
) -> None:
    """``x * x``, ``x ** x``: both inputs are the same node, so its gradient is the sum of two
    terms, and so is each second derivative."""
    op = OPS[name]
    got = ours(lambda x: autograd.apply(op, x, x), (at,))
    assert_same(got, theirs(lambda x: TORCH_OPS[name](x, x), (at,)))


@pytest.mark.parametrize(
    ("n", "at"), [pytest.param(n, at, id=f"x**{n:g} at {at:g}") for n, at in POWERS]
)
def test_second_derivatives_of_powers_match_torch(n: float, at: float) -> None:
    got = ours(lambda x: x**n, (at,))
    assert_same(got, theirs(lambda x: x**n, (at,)))
    # and inside a product, where the second derivative meets the first: (x y)**n
    xy = (at / 2.0, 2.0)
    assert_same(ours(lambda x, y: (x * y) ** n, xy), theirs(lambda x, y: (x * y) ** n, xy))


def _pow_by_exp_log(a: Any, b: Any) -> Any:
    """a ** b for a > 0 as e^(b ln a). PyTorch's own ``a ** b`` masks the derivative with
    respect to the base to 0 wherever the exponent is exactly 0, and so loses the mixed
    second derivative d²(a^b)/da db = a^(b-1) (1 + b ln a), which is 1/a there, not 0; and
    expressions() does draw exponents of exactly 0.0. (pow_value's domain is a > 0.1.)"""
    return torch.exp(b * torch.log(a))


@pytest.mark.parametrize("a", [0.4, 1.7])
def test_pow_value_at_a_zero_exponent_has_its_mixed_second_derivative(a: float) -> None:
    """At b = 0, d²(a^b)/da db = a^(b-1) (1 + b ln a) = 1/a, d²/da² = b (b-1) a^(b-2) = 0 and
    d²/db² = a^b ln² a = ln² a. (PyTorch's ``a ** b`` gives 0 for the mixed one: it masks the
    base's derivative where the exponent is 0; e^(b ln a) is the reference here.)"""
    got = ours(lambda x, y: x**y, (a, 0.0))
    closed = np.array([[0.0, 1 / a], [1 / a, math.log(a) ** 2]])
    np.testing.assert_allclose(got.hessian, closed, rtol=1e-12, atol=1e-15)
    assert_same(got, theirs(_pow_by_exp_log, (a, 0.0)))


def test_number_operands_are_constants_in_second_derivatives_too() -> None:
    """``2 ** x``, ``3 / x``, ``x - 1.5`` and ``max(x, 1)``: the reflected and constant forms
    of the binary ops, whose number operand is a leaf that must get no derivative into the
    result."""
    cases: list[tuple[Callable[[Value], Value], TorchFn, float]] = [
        (lambda x: 2**x, lambda x: 2**x, 0.8),
        (lambda x: 3 / x, lambda x: 3 / x, -1.3),
        (lambda x: (x - 1.5) * x, lambda x: (x - 1.5) * x, 0.4),
        (lambda x: x.max(1.0) * x, lambda x: torch.clamp(x, min=1.0) * x, 1.7),
        (lambda x: x.min(1.0) * x, lambda x: torch.clamp(x, max=1.0) * x, 0.4),
    ]
    for f, g, at in cases:
        assert_same(ours(f, (at,)), theirs(g, (at,)))


# -- 2. Hessians of random expression DAGs ----------------------------------------------------


def _torch_op(name: str, symbol: str) -> TorchFn:
    """The PyTorch function of an expression's op: a table op by name, ``x ** n`` by its
    symbol (``"**0.5"``; the family's exponents print exactly with ``:g``)."""
    if name == "pow" and symbol.startswith("**"):
        n = float(symbol[2:])
        return lambda a: a**n
    if name == "pow_value":
        return _pow_by_exp_log
    return TORCH_OPS[name]


def in_torch(expr: Expression) -> Callable[[Any], Any]:
    """The expression's program rebuilt with PyTorch ops: a function of one 1-D tensor holding
    the inputs (the form torch.autograd.functional.hessian differentiates)."""
    fns = [_torch_op(step.op.name, step.op.symbol) for step in expr.steps]

    def program(v: Any) -> Any:
        nodes = [v[i] for i in range(len(expr.inputs))]
        for step, fn in zip(expr.steps, fns, strict=True):
            nodes.append(fn(*(nodes[i] for i in step.args)))
        return nodes[-1]

    return program


def _gradient(expr: Expression, xs: Sequence[float]) -> Array:
    leaves = [Value(x) for x in xs]
    return np.array(autograd.grad(expr(*leaves), leaves), dtype=float)


def central_hessian(expr: Expression, h: float) -> Array:
    """Column j: centred difference of the gradient (grad without create_graph) along x_j."""
    n = len(expr.inputs)
    H = np.zeros((n, n))
    for j in range(n):
        plus, minus = list(expr.inputs), list(expr.inputs)
        plus[j] += h
        minus[j] -= h
        H[:, j] = (_gradient(expr, plus) - _gradient(expr, minus)) / (2.0 * h)
    return H


# expressions() keeps every node within a step of 1e-6 x MAX_SENSITIVITY = KINK_MARGIN of where
# it was, so with h = 1e-6 no difference straddles a kink of relu or max or leaves a domain.
_H = 1e-6
_HESSIAN_RTOL, _HESSIAN_ATOL = 1e-3, 1e-4


@settings(max_examples=40, deadline=None)
@given(expressions(max_leaves=3, min_nodes=4, max_nodes=10))
def test_hessians_of_random_programs_match_differences_of_the_gradient(
    expr: Expression,
) -> None:
    H = autograd.hessian(expr, expr.inputs)
    numeric = central_hessian(expr, _H)
    # The reference must be sound: where the gradient curves so sharply that differences with
    # steps h and 2h disagree, the difference measures the wrong thing (as expressions() does
    # for the first derivative). Only forward gradients are compared, never H.
    coarse = central_hessian(expr, 2 * _H)
    assume(np.all(np.abs(numeric - coarse) <= 0.3 * (_HESSIAN_ATOL + _HESSIAN_RTOL * abs(numeric))))
    assert H.shape == (len(expr.inputs),) * 2
    assert np.allclose(H, numeric, rtol=_HESSIAN_RTOL, atol=_HESSIAN_ATOL), (expr, H, numeric)


@settings(max_examples=40, deadline=None)
@given(expressions(max_leaves=3, min_nodes=4, max_nodes=10))
def test_hessians_of_random_programs_match_torch(expr: Expression) -> None:
    program = in_torch(expr)
    v = torch.tensor(expr.inputs, dtype=torch.float64)
    # the rebuilt program is the same program: same value as the engine's forward rules
    assert math.isclose(
        float(program(v)), expr.evaluate(*expr.inputs), rel_tol=1e-12, abs_tol=1e-12
    )
    want = torch.autograd.functional.hessian(program, v).numpy()
    H = autograd.hessian(expr, expr.inputs)
    assert np.allclose(H, want, rtol=RTOL, atol=ATOL), (expr, H, want)


def test_the_torch_rebuild_covers_every_op_expressions_draws() -> None:
    """Every op expressions() may draw has a PyTorch function computing the same value."""
    for op in table_ops(DEFAULT_POWERS):
        fn = _torch_op(op.name, op.symbol)
        at = [1.3, 0.7][: op.arity]
        assert op.forward is not None
        assert math.isclose(
            float(fn(*(torch.tensor(x, dtype=torch.float64) for x in at))),
            op.forward(*at),
            rel_tol=1e-12,
        ), op


# -- 3. Jacobians of the Tensor ops --------------------------------------------------------------

_rng = np.random.default_rng(20240613)


def _data(*shape: int, low: float = -2.0, high: float = 2.0) -> Array:
    """Distinct random float64 numbers (no ties for max, none near relu's kink at 0)."""
    while True:
        a = _rng.uniform(low, high, size=shape)
        flat = np.sort(a.reshape(-1))
        if np.all(np.diff(flat) > 1e-2) and np.all(np.abs(flat) > 1e-2):
            return a


A23, B23, C34 = _data(2, 3), _data(2, 3), _data(3, 4)
V3, V4 = _data(3), _data(4)
T234 = _data(2, 3, 4)
POS23 = _data(2, 3, low=0.2, high=3.0)


def _const(a: Array) -> Tensor:
    return Tensor(a, requires_grad=False)


def _t(a: Array) -> Any:
    return torch.tensor(a, dtype=torch.float64)


@dataclass(frozen=True)
class JacobianCase:
    """``ours(x)`` and ``theirs(x)`` compute the same Tensor function of ``x``; the other
    operands are constants inside them."""

    id: str
    ours: Callable[[Tensor], Tensor]
    theirs: TorchFn
    x: Array


def _unary(id: str, f: Callable[[Tensor], Tensor], g: TorchFn, x: Array) -> JacobianCase:
    return JacobianCase(id, f, g, x)


def _both_sides(
    id: str,
    f: Callable[[Tensor, Tensor], Tensor],
    g: TorchFn,
    a: Array,
    b: Array,
) -> list[JacobianCase]:
    """A two-input op: its Jacobian with respect to each side, the other side held constant."""
    return [
        JacobianCase(f"{id} d/da", lambda t: f(t, _const(b)), lambda t: g(t, _t(b)), a),
        JacobianCase(f"{id} d/db", lambda t: f(_const(a), t), lambda t: g(_t(a), t), b),
    ]


_LOGITS, _TARGETS = _data(4, 3), np.array([2, 0, 1, 2])
F = torch.nn.functional

JACOBIAN_CASES: list[JacobianCase] = [
    *_both_sides("matmul (2,3)@(3,4)", lambda a, b: a @ b, TORCH_OPS["matmul"], A23, C34),
    *_both_sides("matmul (2,3)@(3,)", lambda a, b: a @ b, TORCH_OPS["matmul"], A23, V3),
    *_both_sides("matmul (3,)@(3,4)", lambda a, b: a @ b, TORCH_OPS["matmul"], V3, C34),
    *_both_sides("matmul (3,)@(3,)", lambda a, b: a @ b, TORCH_OPS["matmul"], V3, _data(3)),
    *_both_sides(
        "matmul_t (2,3)@(4,3)ᵀ",
        lambda a, b: a.matmul_t(b),
        TORCH_OPS["matmul_t"],
        A23,
        C34.T,
    ),
    _unary("sum all", lambda t: t.sum(), lambda t: t.sum(), T234),
    _unary("sum axis 0", lambda t: t.sum(axis=0), lambda t: t.sum(dim=0), T234),
    _unary("sum axis -1", lambda t: t.sum(axis=-1), lambda t: t.sum(dim=-1), T234),
    _unary("sum axes (0, 2)", lambda t: t.sum(axis=(0, 2)), lambda t: t.sum(dim=(0, 2)), T234),
    _unary(
        "sum axis 1 keepdims",
        lambda t: t.sum(axis=1, keepdims=True),
        lambda t: t.sum(dim=1, keepdim=True),
        T234,
    ),
    _unary("mean all", lambda t: t.mean(), lambda t: t.mean(), T234),
    _unary("mean axis 1", lambda t: t.mean(axis=1), lambda t: t.mean(dim=1), T234),
    _unary("mean axes (0, 1)", lambda t: t.mean(axis=(0, 1)), lambda t: t.mean(dim=(0, 1)), T234),
    _unary(
        "mean axis 2 keepdims",
        lambda t: t.mean(axis=2, keepdims=True),
        lambda t: t.mean(dim=2, keepdim=True),
        T234,
    ),
    _unary("max all", lambda t: t.max(), lambda t: t.amax(), T234),
    _unary("max axis 0", lambda t: t.max(axis=0), lambda t: t.amax(dim=0), T234),
    _unary("max axis -1", lambda t: t.max(axis=-1), lambda t: t.amax(dim=-1), T234),
    _unary("max axes (1, 2)", lambda t: t.max(axis=(1, 2)), lambda t: t.amax(dim=(1, 2)), T234),
    _unary(
        "max axis 1 keepdims",
        lambda t: t.max(axis=1, keepdims=True),
        lambda t: t.amax(dim=1, keepdim=True),
        T234,
    ),
    _unary("reshape (6,)", lambda t: t.reshape(6), lambda t: t.reshape(6), A23),
    _unary("reshape (4, -1)", lambda t: t.reshape(4, -1), lambda t: t.reshape(4, -1), T234),
    _unary("transpose .T", lambda t: t.T, lambda t: t.T, A23),
    _unary(
        "transpose (2, 0, 1)",
        lambda t: t.transpose(2, 0, 1),
        lambda t: t.permute(2, 0, 1),
        T234,
    ),
    _unary("index [1]", lambda t: t[1], lambda t: t[1], A23),
    _unary("index [:, 1:3]", lambda t: t[:, 1:3], lambda t: t[:, 1:3], A23),
    _unary("index [-1, ::2]", lambda t: t[-1, ::2], lambda t: t[-1, ::2], T234),
    _unary(
        "index [[0, 2, 0]] (repeats add)",
        lambda t: t[np.array([0, 2, 0])],
        lambda t: t[torch.tensor([0, 2, 0])],
        C34,
    ),
    _unary(
        "index [rows, cols]",
        lambda t: t[np.array([0, 1, 1]), np.array([2, 0, 2])],
        lambda t: t[torch.tensor([0, 1, 1]), torch.tensor([2, 0, 2])],
        A23,
    ),
    _unary("softmax axis 0", lambda t: t.softmax(axis=0), lambda t: t.softmax(dim=0), C34),
    _unary("softmax axis -1", lambda t: t.softmax(axis=-1), lambda t: t.softmax(dim=-1), C34),
    _unary("softmax 1-D", lambda t: t.softmax(), lambda t: t.softmax(dim=0), V4),
    _unary(
        "log_softmax axis 0", lambda t: t.log_softmax(axis=0), lambda t: t.log_softmax(dim=0), C34
    ),
    _unary(
        "log_softmax axis 1", lambda t: t.log_softmax(axis=1), lambda t: t.log_softmax(dim=1), C34
    ),
    _unary(
        "log_softmax axis 1 of 3-D",
        lambda t: t.log_softmax(axis=1),
        lambda t: t.log_softmax(dim=1),
        T234,
    ),
    _unary("exp", lambda t: t.exp(), torch.exp, A23),
    _unary("log", lambda t: t.log(), torch.log, POS23),
    _unary("sigmoid", lambda t: t.sigmoid(), torch.sigmoid, A23),
    _unary("tanh", lambda t: t.tanh(), torch.tanh, A23),
    _unary("relu", lambda t: t.relu(), torch.relu, A23),
    _unary("neg", lambda t: -t, lambda t: -t, A23),
    _unary("x ** 3", lambda t: t**3, lambda t: t**3, A23),
    _unary("x ** -1", lambda t: t**-1, lambda t: t**-1, A23),
    _unary("x ** 0.5", lambda t: t**0.5, lambda t: t**0.5, POS23),
    _unary("abs", lambda t: t.abs(), torch.abs, A23),
    _unary("sqrt", lambda t: t.sqrt(), torch.sqrt, POS23),
    _unary("sin", lambda t: t.sin(), torch.sin, A23),
    _unary("cos", lambda t: t.cos(), torch.cos, A23),
    _unary("softplus", lambda t: t.softplus(), F.softplus, A23),
    *_both_sides("minimum", lambda a, b: a.minimum(b), torch.minimum, A23, B23),
    *_both_sides("minimum (2,3) (3,)", lambda a, b: a.minimum(b), torch.minimum, A23, V3),
    _unary("min all", lambda t: t.min(), lambda t: t.amin(), T234),
    _unary("min axis 1", lambda t: t.min(axis=1), lambda t: t.amin(dim=1), T234),
    _unary(
        "min axes (0, 2) keepdims",
        lambda t: t.min(axis=(0, 2), keepdims=True),
        lambda t: t.amin(dim=(0, 2), keepdim=True),
        T234,
    ),
    _unary("clip [-1, 0.5]", lambda t: t.clip(-1.0, 0.5), lambda t: t.clamp(-1.0, 0.5), A23),
    _unary("clip [0.2, ∞)", lambda t: t.clip(0.2), lambda t: t.clamp(min=0.2), A23),
    *_both_sides(
        "where",
        lambda a, b: autograd.where(A23 > 0, a, b),
        lambda a, b: torch.where(torch.tensor(A23 > 0), a, b),
        A23,
        V3,
    ),
    _unary("var all", lambda t: t.var(), lambda t: t.var(unbiased=False), T234),
    _unary("var axis 1 ddof 1", lambda t: t.var(axis=1, ddof=1), lambda t: t.var(dim=1), T234),
    _unary("std all ddof 1", lambda t: t.std(ddof=1), lambda t: t.std(), T234),
    _unary(
        "std axes (0, 2) keepdims",
        lambda t: t.std(axis=(0, 2), keepdims=True),
        lambda t: t.std(dim=(0, 2), keepdim=True, unbiased=False),
        T234,
    ),
    *_both_sides("dot", lambda a, b: a.dot(b), torch.dot, V3, _data(3)),
    _unary(
        "stack [x, c, x] axis 1",
        lambda t: autograd.stack([t, _const(B23), t], axis=1),
        lambda t: torch.stack([t, _t(B23), t], dim=1),
        A23,
    ),
    _unary(
        "unsqueeze, squeeze, flatten",
        lambda t: t.unsqueeze(1).squeeze(0).flatten(),
        lambda t: t.unsqueeze(1).squeeze(0).flatten(),
        _data(1, 3),
    ),
    *_both_sides("maximum", lambda a, b: a.maximum(b), torch.maximum, A23, B23),
    *_both_sides("maximum (2,3) (3,)", lambda a, b: a.maximum(b), torch.maximum, A23, V3),
    *_both_sides("add (2,3) + (3,)", lambda a, b: a + b, lambda a, b: a + b, A23, V3),
    *_both_sides(
        "add (2,1) + (1,3)", lambda a, b: a + b, lambda a, b: a + b, _data(2, 1), _data(1, 3)
    ),
    *_both_sides("sub (2,3,4) - (3,1)", lambda a, b: a - b, lambda a, b: a - b, T234, _data(3, 1)),
    *_both_sides("mul (2,3) * (3,)", lambda a, b: a * b, lambda a, b: a * b, A23, V3),
    *_both_sides(
        "mul (2,1) * (1,3)", lambda a, b: a * b, lambda a, b: a * b, _data(2, 1), _data(1, 3)
    ),
    *_both_sides("mul (2,3) * ()", lambda a, b: a * b, lambda a, b: a * b, A23, np.array(1.7)),
    *_both_sides("truediv (2,3) / (2,1)", lambda a, b: a / b, lambda a, b: a / b, A23, _data(2, 1)),
    *_both_sides(
        "concatenate axis 0",
        lambda a, b: autograd.concatenate([a, b], axis=0),
        lambda a, b: torch.cat([a, b], dim=0),
        A23,
        _data(1, 3),
    ),
    *_both_sides(
        "concatenate axis 1",
        lambda a, b: autograd.concatenate([a, b], axis=1),
        lambda a, b: torch.cat([a, b], dim=1),
        A23,
        _data(2, 2),
    ),
    _unary(
        "concatenate [x, c, x] axis -1",
        lambda t: autograd.concatenate([t, _const(B23), t], axis=-1),
        lambda t: torch.cat([t, _t(B23), t], dim=-1),
        A23,
    ),
    _unary(
        "cross_entropy (4,3) wrt logits",
        lambda t: t.cross_entropy(_TARGETS),
        lambda t: F.cross_entropy(t, torch.tensor(_TARGETS)),
        _LOGITS,
    ),
    _unary(
        "cross_entropy (3,) one target",
        lambda t: t.cross_entropy(np.int64(1)),
        lambda t: F.cross_entropy(t, torch.tensor(1)),
        V3,
    ),
    # a tensor used more than once: its gradients from the uses add
    _unary("x @ x.T", lambda t: t @ t.T, lambda t: t @ t.T, A23),
    _unary("(x * x).sum(axis=0)", lambda t: (t * t).sum(axis=0), lambda t: (t * t).sum(dim=0), A23),
    _unary(
        "x[0] * x[1] + x.max(axis=0)",
        lambda t: t[0] * t[1] + t.max(axis=0),
        lambda t: t[0] * t[1] + t.amax(dim=0),
        A23,
    ),
    _unary(
        "tanh(W x) softmax",
        lambda t: (_const(C34.T) @ t).tanh().softmax(),
        lambda t: torch.softmax(torch.tanh(_t(C34.T) @ t), dim=0),
        V3,
    ),
]


@pytest.mark.parametrize("case", JACOBIAN_CASES, ids=[c.id for c in JACOBIAN_CASES])
def test_jacobians_of_tensor_ops_match_torch(case: JacobianCase) -> None:
    x = case.x.copy()
    y = case.ours(Tensor(x))
    want_y = case.theirs(_t(x))
    np.testing.assert_allclose(y.data, want_y.numpy(), rtol=RTOL, atol=ATOL, err_msg="value")
    J = autograd.jacobian(case.ours, x)
    want = torch.func.jacrev(case.theirs)(_t(x)).numpy()
    assert J.shape == y.shape + x.shape == want.shape
    np.testing.assert_allclose(J, want, rtol=RTOL, atol=ATOL, err_msg="Jacobian")
    assert np.array_equal(x, case.x)  # the input array was not changed in place


def test_every_array_op_in_the_table_is_in_a_jacobian_case() -> None:
    """An op of autograd.OPS that works on arrays only (no ``forward`` on numbers) has no
    second-derivative test in section 1: some Jacobian case here must use it (its gate is
    found in the case's graph), or this fails."""
    used: set[str] = set()
    for case in JACOBIAN_CASES:
        graph = autograd.topological_order(case.ours(Tensor(case.x)))
        used |= {node.gate.name for node in graph if node.gate is not None}
    array_only = set(OPS) - _scalar_ops()
    assert array_only <= used, f"no Jacobian case uses {array_only - used}"
    assert {"matmul", "matmul_t", "softmax", "log_softmax", "cross_entropy"} <= used

"""autograd.grad and autograd.jacobian: derivatives on request, every .grad left alone."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import NonFiniteError, Tensor, Value
from autograd.testing import Expression, expressions


def test_grad_of_values_is_what_backward_gives_and_touches_no_grad() -> None:
    x, y = Value(3.0, "x"), Value(-2.0, "y")
    x.grad = 0.25  # accumulated earlier: must survive
    f = x * x * y + y
    dx, dy = autograd.grad(f, [x, y])
    assert (dx, dy) == (2 * 3.0 * -2.0, 9.0 + 1.0)
    assert (x.grad, y.grad, f.grad) == (0.25, 0.0, 0.0)
    assert autograd.grad(f, x, grad_output=2.0) == 2 * dx  # a seed, as in backward(grad)
    assert autograd.grad(f, Value(1.0)) == 0.0  # f does not depend on it
    q = x * y  # an interior node: d f / d q
    g = q + x
    assert autograd.grad(g, q) == 1.0


def test_grad_leaves_every_grad_alone_when_the_walk_fails() -> None:
    x = Value(1e-200, "x")
    f = (x * 1.0) * 1e200 * 1e200
    with pytest.raises(NonFiniteError):
        autograd.grad(f, x)
    assert x.grad == 0.0


def test_grad_refuses_mixed_kinds_and_data() -> None:
    with pytest.raises(TypeError, match="every input must be a Value"):
        autograd.grad(Value(1.0) * 2, Tensor([1.0]))
    data = Tensor([1.0, 2.0], requires_grad=False)
    w = Tensor([3.0, 4.0], "w")
    with pytest.raises(ValueError, match="requires_grad=False"):
        autograd.grad((w * data).sum(), data)


def test_the_jacobian_of_a_linear_map_is_its_matrix() -> None:
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    J = autograd.jacobian(lambda x: Tensor(W, requires_grad=False) @ x, [0.5, -1.0, 2.0])
    assert J.shape == (2, 3)  # outputs x inputs
    assert np.array_equal(J, W)


def test_relus_jacobian_is_diagonal_with_its_mask() -> None:
    """The seed's question: what is special about ReLU's Jacobian? Diagonal (elementwise), 1
    where the input is positive and 0 elsewhere: mostly zeros, never stored as a matrix."""
    x = np.array([1.0, -2.0, 3.0, -0.5])
    J = autograd.jacobian(lambda t: t.relu(), x)
    assert np.array_equal(J, np.diag((x > 0).astype(float)))


def test_softmaxs_jacobian_is_diag_s_minus_s_st() -> None:
    x = np.array([0.3, -1.2, 2.0])
    s = np.exp(x) / np.exp(x).sum()
    J = autograd.jacobian(lambda t: t.softmax(axis=0), x)
    assert np.allclose(J, np.diag(s) - np.outer(s, s), rtol=1e-12, atol=1e-15)


def central_jacobian(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:  # type: ignore[no-untyped-def]
    y0 = f(Tensor(x)).data
    J = np.zeros(y0.shape + x.shape)
    for j in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[j] += eps
        minus[j] -= eps
        column = (..., *j)  # not inside J[...]: mypy reads that as 3.11's star-in-subscript syntax
        J[column] = (f(Tensor(plus)).data - f(Tensor(minus)).data) / (2 * eps)
    return J


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-2, 2), min_size=6, max_size=6),
    st.lists(st.floats(-2, 2), min_size=3, max_size=3),
)
def test_jacobians_match_central_differences(w: list[float], x: list[float]) -> None:
    W = np.array(w).reshape(2, 3)

    def layer(t: Tensor) -> Tensor:
        return (Tensor(W, requires_grad=False) @ t).tanh()

    J = autograd.jacobian(layer, np.array(x))
    assert np.allclose(J, central_jacobian(layer, np.array(x)), atol=1e-7, rtol=1e-6)


def test_a_matrix_input_gives_a_jacobian_shaped_outputs_by_inputs() -> None:
    x = np.arange(6.0).reshape(2, 3)
    J = autograd.jacobian(lambda t: t.sum(axis=0), x)
    assert J.shape == (3, 2, 3)
    assert J[1, 0, 1] == 1.0 and J[1, 0, 2] == 0.0


def test_a_huge_jacobian_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValueError, match="vector-Jacobian product"):
        autograd.jacobian(lambda t: t * 2.0, np.zeros(4000))


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch not installed (pip install torch==2.13.0, a CPU build); CI installs it",
)
def test_jacobian_agrees_with_pytorch() -> None:
    import torch

    W = np.array([[0.1, 0.5], [-0.3, 0.8], [1.0, -1.0]])
    x = np.array([0.2, 0.4])
    ours = autograd.jacobian(lambda t: (Tensor(W, requires_grad=False) @ t).sigmoid(), x)
    theirs = torch.autograd.functional.jacobian(
        lambda t: torch.sigmoid(torch.tensor(W) @ t), torch.tensor(x)
    ).numpy()
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-15)


# -- gradients that are graphs: second derivatives ------------------------------------------

SECOND_DERIVATIVES = [
    ("x ** 3", lambda x: x**3, lambda x: 6 * x, 1.3),
    ("exp", lambda x: x.exp(), math.exp, 0.4),
    ("log", lambda x: x.log(), lambda x: -1 / x**2, 1.7),
    ("sigmoid", lambda x: x.sigmoid(), lambda x: _s(x) * (1 - _s(x)) * (1 - 2 * _s(x)), 0.7),
    ("tanh", lambda x: x.tanh(), lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2), 0.3),
    ("1/x", lambda x: x.reciprocal(), lambda x: 2 / x**3, 1.2),
    ("2 / x", lambda x: 2 / x, lambda x: 4 / x**3, 0.9),
    ("2 ** x", lambda x: 2**x, lambda x: math.log(2) ** 2 * 2**x, 0.8),
    ("x ** x", lambda x: x**x, lambda x: x**x * ((math.log(x) + 1) ** 2 + 1 / x), 1.4),
    ("relu(x) * x", lambda x: x.relu() * x, lambda x: 2.0, 0.6),
    ("max(x, 1) ** 2", lambda x: x.max(Value(1.0)) ** 2, lambda x: 2.0, 1.5),
]


def _s(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@pytest.mark.parametrize(
    ("f", "second", "at"),
    [c[1:] for c in SECOND_DERIVATIVES],
    ids=[c[0] for c in SECOND_DERIVATIVES],
)
def test_second_derivatives_of_every_op(f, second, at: float) -> None:  # type: ignore[no-untyped-def]
    x = Value(at, "x")
    first = autograd.grad(f(x), x, create_graph=True)
    assert isinstance(first, Value)
    assert math.isclose(autograd.grad(first, x), second(at), rel_tol=1e-9, abs_tol=1e-12)
    assert x.grad == 0.0  # nothing accumulated anywhere


@settings(max_examples=40, deadline=None)
@given(expressions(max_leaves=2, max_nodes=5))
def test_second_derivatives_match_differences_of_the_first(expr: Expression) -> None:
    def first(*xs: float) -> float:
        leaves = [Value(x) for x in xs]
        return float(autograd.grad(expr(*leaves), leaves[0]))

    leaves = [Value(x) for x in expr.inputs]
    d1 = autograd.grad(expr(*leaves), leaves[0], create_graph=True)
    d2 = autograd.grad(d1, leaves[0])
    eps = 1e-5
    x0, *rest = expr.inputs
    numeric = (first(x0 + eps, *rest) - first(x0 - eps, *rest)) / (2 * eps)
    assert math.isclose(d2, numeric, rel_tol=1e-3, abs_tol=1e-4), (expr, d2, numeric)


def test_the_hessian_is_the_matrix_of_second_derivatives() -> None:
    H = autograd.hessian(lambda a, b: a * a * b + b.exp(), [1.5, 0.5])
    assert np.allclose(H, [[2 * 0.5, 2 * 1.5], [2 * 1.5, math.exp(0.5)]], rtol=1e-12)
    assert np.array_equal(H, H.T)


def test_newtons_method_finds_the_minimum_in_a_few_steps() -> None:
    """Seed 003: θ := θ − J'(θ) / J''(θ), and θ := θ − H⁻¹ ∇J for a vector."""
    theta = Value(3.0, "θ")
    for _ in range(8):
        cost = (theta - 1.0) ** 4 + (theta - 1.0) ** 2  # minimum at θ = 1
        slope = autograd.grad(cost, theta, create_graph=True)
        theta = Value(theta.data - slope.data / autograd.grad(slope, theta), "θ")
    assert abs(theta.data - 1.0) < 1e-6
    point = np.array([2.0, -1.0])  # a quadratic bowl: one Newton step lands on its minimum

    def bowl(x: Value, y: Value) -> Value:
        return 3 * (x - 1.0) ** 2 + (x - 1.0) * (y + 2.0) + 2 * (y + 2.0) ** 2

    xs = [Value(v) for v in point]
    gradient = np.array(autograd.grad(bowl(*xs), xs))
    step = np.linalg.solve(autograd.hessian(bowl, point), gradient)
    assert np.allclose(point - step, [1.0, -2.0], atol=1e-12)


def test_a_gradient_graph_can_be_drawn() -> None:
    import viz

    x = Value(0.5, "x")
    f = x.sigmoid()
    f.label = "f"
    g = autograd.grad(f, x, create_graph=True)
    assert g.label == "df/dx"
    source = viz.draw(g).source
    assert "σ" in source and "df/dx" in source


def test_a_tensor_gradient_is_a_graph_too() -> None:
    t = Tensor([1.0, 2.0], "t")
    g = autograd.grad((t * t * t).sum(), t, create_graph=True)  # 3 t^2
    assert isinstance(g, Tensor) and g.requires_grad
    assert np.array_equal(g.data, [3.0, 12.0])
    assert np.array_equal(autograd.grad(g.sum(), t), [6.0, 12.0])  # 6 t
    assert np.array_equal(t.grad, [0.0, 0.0])  # nothing accumulated anywhere


# Tensor functions whose Hessians are checked against torch: every structured op's VJP is
# differentiated again (matmul both sides, broadcasting, sum, mean, max, reshape, transpose,
# indexing, concatenation, softmax, log_softmax, cross-entropy). Each: ours, then torch's.
W = np.array([[0.5, -1.0, 0.2], [0.1, 0.4, -0.3]])
B = np.array([0.05, -0.2])
TENSOR_FUNCTIONS: list[tuple[str, Any, Any]] = [
    (
        "tanh layer",
        lambda x: (Tensor(W) @ x + B).tanh().sum(),
        lambda t, th: th.tanh(th.tensor(W) @ t + th.tensor(B)).sum(),
    ),
    (
        "x @ W.T",
        lambda x: (x.reshape(1, 3).matmul_t(Tensor(W)).sigmoid() ** 2).mean(),
        lambda t, th: (th.sigmoid(t.reshape(1, 3) @ th.tensor(W).T) ** 2).mean(),
    ),
    ("x @ x", lambda x: (x @ x) * x.sum(), lambda t, th: (t @ t) * t.sum()),
    (
        "softmax",
        lambda x: (x.softmax() * np.arange(3.0)).sum(),
        lambda t, th: (th.softmax(t, 0) * th.arange(3.0, dtype=th.float64)).sum(),
    ),
    (
        "log_softmax",
        lambda x: x.log_softmax()[1] * 2.0,
        lambda t, th: th.log_softmax(t, 0)[1] * 2.0,
    ),
    (
        "cross-entropy",
        lambda x: (Tensor(W) @ x).reshape(1, 2).cross_entropy([1]),
        lambda t, th: th.nn.functional.cross_entropy(
            (th.tensor(W) @ t).reshape(1, 2), th.tensor([1])
        ),
    ),
    (
        "max and index",
        lambda x: (x * x).max() + x[[0, 0, 2]].exp().sum(),
        lambda t, th: (t * t).max() + t[[0, 0, 2]].exp().sum(),
    ),
    (
        "concatenate, transpose",
        lambda x: (autograd.concatenate([x, x * x]).reshape(2, 3).T.sum(axis=1) ** 3).sum(),
        lambda t, th: (th.cat([t, t * t]).reshape(2, 3).T.sum(dim=1) ** 3).sum(),
    ),
    (
        "broadcast",
        lambda x: ((x.reshape(3, 1) * x) ** 2).mean(axis=0).sum(),
        lambda t, th: ((t.reshape(3, 1) * t) ** 2).mean(dim=0).sum(),
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs"), [c[1:] for c in TENSOR_FUNCTIONS], ids=[c[0] for c in TENSOR_FUNCTIONS]
)
def test_tensor_hessians_match_pytorch(ours: Any, theirs: Any) -> None:
    torch = pytest.importorskip(
        "torch", reason="PyTorch is the oracle here (pip install torch==2.13.0, a CPU build)"
    )
    x0 = np.array([0.3, -0.7, 1.2])
    hessian = autograd.hessian(ours, Tensor(x0, "x"))
    expected = torch.autograd.functional.hessian(
        lambda t: theirs(t, torch), torch.tensor(x0)
    ).numpy()
    assert hessian.shape == (3, 3)
    assert np.allclose(hessian, expected, rtol=1e-9, atol=1e-12)


def test_backward_with_create_graph_leaves_graphs_in_grad() -> None:
    x = Value(2.0, "x")
    (x**3).backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.data == 12.0
    assert autograd.grad(x.grad, x) == 12.0  # d(3x^2)/dx = 6x
    t = Tensor([1.0, -2.0], "t")
    (t**3).sum().backward(create_graph=True)
    assert isinstance(t.grad, Tensor) and np.array_equal(t.grad.data, [3.0, 12.0])
    (t**3).sum().backward(create_graph=True)  # accumulates, as backward does
    assert np.array_equal(t.grad.data, [6.0, 24.0])
    with pytest.raises(TypeError, match="on_step"):
        x.backward(on_step=print, create_graph=True)


def test_a_gradient_graph_has_no_needless_gates() -> None:
    """The seed 1 and add's local 1 multiply nothing: d σ(x)/dx is σ (1 - σ), three gates."""
    x = Value(0.5, "x")
    f = x.sigmoid()
    g = autograd.grad(f, x, create_graph=True)
    new = [n for n in autograd.topological_order(g) if n.gate is not None and n is not f]
    assert sorted(n.op for n in new) == ["mul", "sub"]
    y = Value(3.0, "y")
    assert autograd.grad(x * y, x, create_graph=True) is y  # d(xy)/dx is y itself
    assert autograd.grad(x * y, Value(1.0), create_graph=True).data == 0.0

"""The API a micrograd or PyTorch user reaches for, checked against independent references.

Values: ``abs`` (and ``abs(x)``), ``sqrt``, ``sin``, ``cos``, ``softplus`` and ``min`` against
``math`` and closed-form derivatives. Tensors: the same elementwise ops, ``minimum``, the ``min``
reduction, ``clip``, :func:`autograd.where`, ``dot``, ``flatten``, ``squeeze``, ``unsqueeze``,
``var`` and ``std`` (both ``ddof``), :func:`autograd.stack`, against PyTorch's values and
gradients (float64) and numpy's values; the conventions at kinks (``abs`` at 0, ties of
``min``, ``clip`` at its bounds, ``std`` at zero variance) as PyTorch has them; the semantics of
``detach`` and ``numpy``; the local rules run on Tensors too (second derivatives); and the
error messages for bad input.

The module is skipped when PyTorch is not installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import autograd
from autograd import NonFiniteError, Tensor, Value, stack, where
from autograd.jacobians import NOT_NEEDED

torch = pytest.importorskip(
    "torch", reason="PyTorch is the reference here (pip install torch==2.13.0, a CPU build)"
)
F = torch.nn.functional

Array = NDArray[Any]
Fn = Callable[..., Any]

RTOL, ATOL = 1e-10, 1e-12

_rng = np.random.default_rng(20250101)


def data(*shape: int, low: float = -2.0, high: float = 2.0) -> Array:
    """Random numbers, at least 0.01 apart and from 0: no ties, no kinks of abs or min."""
    while True:
        a = _rng.uniform(low, high, size=shape)
        flat = np.sort(a.reshape(-1))
        if np.all(np.diff(flat) > 1e-2) and np.all(np.abs(flat) > 1e-2):
            return a


def close(ours: Any, theirs: Any) -> bool:
    return bool(np.allclose(ours, theirs, rtol=RTOL, atol=ATOL))


def against_torch(ours: Fn, theirs: Fn, inputs: Sequence[Array]) -> Tensor:
    """Run ``ours`` on Tensors and ``theirs`` on torch tensors; compare the value and, for one
    random upstream gradient, every input's gradient. Returns our output."""
    leaves = [Tensor(x) for x in inputs]
    out: Tensor = ours(*leaves)
    torch_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    torch_out = theirs(*torch_leaves)
    assert out.shape == tuple(torch_out.shape)
    assert close(out.data, torch_out.detach().numpy()), (out.data, torch_out)
    upstream = np.random.default_rng(7).standard_normal(out.shape)
    out.backward(upstream)
    torch_out.backward(torch.tensor(upstream, dtype=torch.float64))
    for i, (leaf, t) in enumerate(zip(leaves, torch_leaves, strict=True)):
        want = np.zeros(leaf.shape) if t.grad is None else t.grad.numpy()
        assert leaf.grad.shape == want.shape
        assert close(leaf.grad, want), f"d out/d input {i}: ours {leaf.grad}, torch {want}"
    return out


# -- Values ----------------------------------------------------------------------------------

#: (method, forward by math, derivative in closed form, points)
VALUE_OPS: list[tuple[str, Fn, Fn, list[float]]] = [
    ("abs", math.fabs, lambda a: math.copysign(1.0, a), [-1.7, -0.2, 0.4, 3.0]),
    ("sqrt", math.sqrt, lambda a: 1 / (2 * math.sqrt(a)), [1e-6, 0.3, 2.0, 1e6]),
    ("sin", math.sin, math.cos, [-2.5, 0.0, 1.1, 40.0]),
    ("cos", math.cos, lambda a: -math.sin(a), [-2.5, 0.0, 1.1, 40.0]),
    (
        "softplus",
        lambda a: math.log1p(math.exp(a)),  # the definition, accurate while e^a is finite
        lambda a: 1 / (1 + math.exp(-a)),
        [-30.0, -1.0, 0.0, 2.5, 30.0],
    ),
]


@pytest.mark.parametrize(("name", "f", "df", "points"), VALUE_OPS, ids=[c[0] for c in VALUE_OPS])
def test_value_ops_match_math_and_their_derivatives(
    name: str, f: Fn, df: Fn, points: list[float]
) -> None:
    for a in points:
        x = Value(a, "x")
        y = getattr(x, name)()
        assert y.op == name
        assert math.isclose(y.data, f(a), rel_tol=1e-12, abs_tol=1e-300)
        y.backward()
        assert math.isclose(x.grad, df(a), rel_tol=1e-12, abs_tol=1e-300), (name, a)


def test_abs_builtin_is_the_abs_gate() -> None:
    x = Value(-2.5)
    y = abs(x)
    assert (y.op, y.data, y.local_grads) == ("abs", 2.5, (-1.0,))
    assert abs(Value(0.0)).local_grads == (0.0,)  # sign(0) = 0, as PyTorch


def test_value_min_routes_to_the_smaller_and_splits_a_tie() -> None:
    a, b = Value(1.5), Value(-0.5)
    m = a.min(b)
    assert m.data == -0.5 and m.local_grads == (0.0, 1.0)
    assert Value(2.0).min(2.0).local_grads == (0.5, 0.5)
    assert Value(2.0).min(3).data == 2.0  # a number operand becomes a constant leaf


def test_softplus_is_stable_for_any_input() -> None:
    assert Value(1e4).softplus().data == 1e4
    assert Value(-800.0).softplus().data == 0.0
    assert math.isclose(Value(-40.0).softplus().data, math.exp(-40.0), rel_tol=1e-12)
    big = Value(800.0)
    big.softplus().backward()
    assert big.grad == 1.0


@pytest.mark.parametrize("a", [0.0, -0.0, -1.0])
def test_sqrt_refuses_zero_and_negatives_naming_the_infinite_slope(a: float) -> None:
    refused = r"sqrt\(.*\) is outside the domain of √.*at 0 the slope"
    with pytest.raises(NonFiniteError, match=refused):
        Value(a).sqrt()


def test_second_derivatives_of_the_new_value_ops_in_closed_form() -> None:
    """The local rules are written with the helpers, so ``create_graph`` differentiates them."""
    cases: list[tuple[str, Fn, float]] = [
        ("sin", lambda a: -math.sin(a), 0.7),
        ("cos", lambda a: -math.cos(a), 0.7),
        ("sqrt", lambda a: -0.25 * a**-1.5, 0.7),
        ("softplus", lambda a: math.exp(-a) / (1 + math.exp(-a)) ** 2, 0.7),
        ("abs", lambda a: 0.0, -0.7),
    ]
    for name, d2f, a in cases:
        x = Value(a, "x")
        (g,) = autograd.grad(getattr(x, name)(), [x], create_graph=True)
        assert math.isclose(autograd.grad(g, x), d2f(a), rel_tol=1e-12, abs_tol=1e-15), name


# -- Tensors: elementwise ops and the min reduction --------------------------------------------

A23, B23, V3 = data(2, 3), data(2, 3), data(3)
T234 = data(2, 3, 4)


@pytest.mark.parametrize(
    ("ours", "theirs", "x"),
    [
        (lambda t: t.abs(), torch.abs, A23),
        (lambda t: abs(t), torch.abs, A23),
        (lambda t: t.sqrt(), torch.sqrt, data(2, 3, low=0.05, high=4.0)),
        (lambda t: t.sin(), torch.sin, T234 * 3),
        (lambda t: t.cos(), torch.cos, T234 * 3),
        (lambda t: t.softplus(), F.softplus, T234 * 5),
    ],
    ids=["abs", "abs()", "sqrt", "sin", "cos", "softplus"],
)
def test_elementwise_tensor_ops_match_torch(ours: Fn, theirs: Fn, x: Array) -> None:
    out = against_torch(ours, theirs, [x])
    assert out.dtype == np.float64


def test_elementwise_ops_keep_float32() -> None:
    x = Tensor(np.array([0.5, 2.0], dtype=np.float32))
    for y in (x.abs(), x.sqrt(), x.sin(), x.cos(), x.softplus(), x.minimum(1.0), x.clip(0, 1)):
        assert y.dtype == np.float32


def test_abs_at_zero_has_gradient_zero_like_torch() -> None:
    against_torch(lambda t: t.abs(), torch.abs, [np.array([0.0, -0.0, 1.0, -2.0])])


def test_minimum_broadcasts_and_splits_ties_like_torch() -> None:
    against_torch(lambda a, b: a.minimum(b), torch.minimum, [A23, V3])
    against_torch(
        lambda a, b: a.minimum(b), torch.minimum, [np.array([1.0, 2.0, -1.0]), np.ones(3)]
    )
    against_torch(lambda a: a.minimum(0.3), lambda t: torch.clamp(t, max=0.3), [A23])


@pytest.mark.parametrize(
    ("axis", "keepdims", "dim"),
    [(None, False, (0, 1, 2)), (1, False, 1), (-1, True, -1), ((0, 2), False, (0, 2))],
)
def test_min_reduction_matches_torch_amin(axis: Any, keepdims: bool, dim: Any) -> None:
    out = against_torch(
        lambda t: t.min(axis=axis, keepdims=keepdims),
        lambda t: torch.amin(t, dim=dim, keepdim=keepdims),
        [T234],
    )
    assert out.op == "min"
    assert np.array_equal(out.data, T234.min(axis=axis, keepdims=keepdims))


def test_min_reduction_splits_ties_evenly_like_torch_amin() -> None:
    x = np.array([[1.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    against_torch(lambda t: t.min(axis=1), lambda t: torch.amin(t, dim=1), [x])
    t = Tensor(x)
    t.min(axis=1).sum().backward()
    assert t.grad.tolist() == [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]


def test_min_reduction_gate_is_drawn_as_min() -> None:
    m = Tensor(T234).min(axis=1)
    assert m.gate is not None
    assert m.gate.symbol == "min axis 1"
    (local,) = m.local_grads
    assert "minimum" in local.formula


# -- clip, where ----------------------------------------------------------------------------


def test_clip_matches_torch_clamp_including_at_the_bounds() -> None:
    """Gradient 1 inside and *at* the bounds, 0 outside: torch.clamp's rule."""
    x = np.array([-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 1.7])
    against_torch(lambda t: t.clip(-1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), [x])
    against_torch(lambda t: t.clip(low=0.0), lambda t: torch.clamp(t, min=0.0), [x])
    against_torch(lambda t: t.clip(high=0.5), lambda t: torch.clamp(t, max=0.5), [x])
    against_torch(lambda t: t.clip(0.5, 0.5), lambda t: torch.clamp(t, 0.5, 0.5), [x])
    t = Tensor(x)
    t.clip(-1.0, 1.0).sum().backward()
    assert t.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert np.array_equal(Tensor(x).clip(-1, 1).data, np.clip(x, -1, 1))


def test_where_routes_the_gradient_like_torch_where() -> None:
    condition = A23 > 0
    against_torch(
        lambda a, b: where(condition, a, b),
        lambda a, b: torch.where(torch.tensor(condition), a, b),
        [A23, B23],
    )
    # broadcasting: condition (2, 1), a (2, 3), b (3,): b's gradient sums over the rows
    column = np.array([[True], [False]])
    against_torch(
        lambda a, b: where(column, a, b),
        lambda a, b: torch.where(torch.tensor(column), a, b),
        [A23, V3],
    )
    # a number on either side is a constant
    against_torch(
        lambda a: where(condition, a, 0.0),
        lambda a: torch.where(torch.tensor(condition), a, 0.0),
        [A23],
    )
    out = where(condition, 1.0, Tensor(A23))
    assert np.array_equal(out.data, np.where(condition, 1.0, A23))


def test_where_copies_its_condition() -> None:
    condition = np.array([True, False, True])
    x = Tensor([1.0, 2.0, 3.0])
    y = where(condition, x, -x)
    condition[:] = False  # changing the caller's array afterwards changes nothing
    y.sum().backward()
    assert y.data.tolist() == [1.0, -2.0, 3.0]
    assert x.grad.tolist() == [1.0, -1.0, 1.0]


# -- dot, shapes, stack -----------------------------------------------------------------------


def test_dot_matches_torch_and_is_a_matmul_gate() -> None:
    out = against_torch(lambda a, b: a.dot(b), torch.dot, [V3, data(3)])
    assert out.shape == () and out.op == "matmul"
    against_torch(lambda a: a.dot(a), lambda a: torch.dot(a, a), [V3])
    against_torch(
        lambda a: a.dot(np.array([1.0, -2.0, 0.5])),
        lambda a: torch.dot(a, torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)),
        [V3],
    )


def test_flatten_squeeze_unsqueeze_match_torch() -> None:
    x = data(1, 3, 1, 2)
    against_torch(lambda t: t.flatten(), lambda t: t.flatten(), [x])
    against_torch(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    against_torch(lambda t: t.squeeze(2), lambda t: t.squeeze(2), [x])
    against_torch(lambda t: t.squeeze((0, -2)), lambda t: t.squeeze((0, -2)), [x])
    for axis in (0, 2, 4, -1, -5):
        against_torch(lambda t, a=axis: t.unsqueeze(a), lambda t, a=axis: t.unsqueeze(a), [x])
    assert Tensor(2.0).flatten().shape == (1,)
    assert Tensor(2.0).unsqueeze(0).shape == (1,)
    assert Tensor([[5.0]]).squeeze().shape == ()


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack_matches_torch_stack(axis: int) -> None:
    out = against_torch(
        lambda a, b: stack([a, b, a], axis=axis),
        lambda a, b: torch.stack([a, b, a], dim=axis),
        [A23, B23],
    )
    assert np.array_equal(out.data, np.stack([A23, B23, A23], axis=axis))


def test_stack_takes_constants_and_one_tensor() -> None:
    x = Tensor(V3)
    # stack's signature says Tensors; constants beside them are accepted, as here
    out = stack([x, np.zeros(3), [1.0, 2.0, 3.0]])
    assert out.shape == (3, 3)
    assert stack([x]).shape == (1, 3)


# -- var and std --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["var", "std"])
@pytest.mark.parametrize(
    ("axis", "keepdims", "dim"),
    [(None, False, None), (0, False, 0), (-1, True, -1), ((0, 2), False, (0, 2))],
)
@pytest.mark.parametrize("ddof", [0, 1])
def test_var_and_std_match_torch_with_either_correction(
    kind: str, axis: Any, keepdims: bool, dim: Any, ddof: int
) -> None:
    """ddof=0 (our default, numpy's) is torch's ``unbiased=False``; ddof=1 is torch's default."""

    def theirs(t: Any) -> Any:
        f = getattr(torch, kind)
        if dim is None:
            return f(t, correction=ddof)
        return f(t, dim=dim, keepdim=keepdims, correction=ddof)

    out = against_torch(
        lambda t: getattr(t, kind)(axis=axis, keepdims=keepdims, ddof=ddof), theirs, [T234]
    )
    want = getattr(np, kind)(T234, axis=axis, keepdims=keepdims, ddof=ddof)
    assert close(out.data, want)


def test_var_and_std_default_to_ddof_0_unlike_torch() -> None:
    x = np.array([1.0, 2.0, 4.0])
    assert math.isclose(Tensor(x).var().item(), np.var(x))
    assert math.isclose(Tensor(x).std().item(), np.std(x))
    assert math.isclose(Tensor(x).var(ddof=1).item(), torch.tensor(x).var().item())


def test_std_at_zero_variance_has_gradient_zero_like_torch() -> None:
    """Constant data: std(c + t v) = |t| std(v) has a kink at t = 0, and the gradient there is
    0, as abs at 0 (and torch.std) have it."""
    x = np.array([[2.0, 2.0, 2.0], [1.0, -1.0, 3.0]])
    out = against_torch(lambda t: t.std(axis=1), lambda t: t.std(dim=1, unbiased=False), [x])
    assert out.data[0] == 0.0
    t = Tensor(np.full(4, 0.5))
    t.std(ddof=1).backward()
    assert t.grad.tolist() == [0.0] * 4


def test_sqrt_of_a_zero_variance_is_refused() -> None:
    with pytest.raises(NonFiniteError, match="outside its domain"):
        Tensor([3.0, 3.0]).var().sqrt()


# -- detach and numpy ---------------------------------------------------------------------------


def test_detach_is_a_leaf_sharing_the_data_like_torch() -> None:
    x = Tensor([1.0, -2.0, 3.0], "x")
    d = (x * 2.0).detach()
    assert d.is_leaf and d.gate is None and d.parents == ()
    assert not d.requires_grad and d.grad is NOT_NEEDED
    x_data = x.detach()
    assert np.shares_memory(x_data.data, x.data)  # as torch's detach: no copy
    assert x_data.label == "x"
    x.data[0] = 10.0  # an in-place change (an optimiser step) shows in both
    assert x_data.data[0] == 10.0


def test_no_gradient_flows_through_a_detached_tensor_like_torch() -> None:
    x0 = np.array([1.5, -0.5, 2.0])
    x = Tensor(x0)
    (x * x.detach()).sum().backward()
    t = torch.tensor(x0, requires_grad=True)
    (t * t.detach()).sum().backward()
    assert np.array_equal(x.grad, x0) and np.array_equal(x.grad, t.grad.numpy())
    with pytest.raises(ValueError, match="does not require a gradient"):
        x.detach().sum().backward()


def test_numpy_is_a_read_only_view_of_the_data() -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    y = x * x
    a = x.numpy()
    assert np.array_equal(a, x.data) and np.shares_memory(a, x.data)
    with pytest.raises(ValueError, match="read-only"):
        a[0, 0] = 5.0
    y.sum().backward()
    assert x.grad.tolist() == [[2.0, 4.0], [6.0, 8.0]]  # the graph's numbers are intact
    x.data[0, 0] = 7.0
    assert a[0, 0] == 7.0  # a view, not a copy
    assert x.data.flags.writeable  # the tensor's own array stays writeable
    own = x.numpy().copy()
    own[0, 0] = 0.0
    assert x.data[0, 0] == 7.0


# -- the local rules run on Tensors too: second derivatives against torch ----------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "x"),
    [
        (lambda t: (t.sin() * t).sum(), lambda t: (t.sin() * t).sum(), A23),
        (lambda t: (t.cos() * t).sum(), lambda t: (t.cos() * t).sum(), A23),
        (lambda t: (t * t + 1.0).sqrt().sum(), lambda t: (t * t + 1.0).sqrt().sum(), A23),
        (lambda t: t.softplus().sum(), lambda t: F.softplus(t).sum(), A23),
        (lambda t: (t.abs() * t).sum(), lambda t: (t.abs() * t).sum(), A23),
        (
            lambda t: (t.minimum(0.2) * t).sum(),
            lambda t: (torch.clamp(t, max=0.2) * t).sum(),
            A23,
        ),
        (lambda t: (t.min(axis=1) ** 2).sum(), lambda t: (t.amin(dim=1) ** 2).sum(), A23),
        (lambda t: (t.clip(-1, 1) ** 2).sum(), lambda t: (t.clamp(-1, 1) ** 2).sum(), A23),
        (
            lambda t: where(A23 > 0, t * t, t).sum(),
            lambda t: torch.where(torch.tensor(A23 > 0), t * t, t).sum(),
            A23,
        ),
        (lambda t: t.var(axis=1, ddof=1).sum(), lambda t: t.var(dim=1).sum(), A23),
        (lambda t: t.std(axis=0).sum(), lambda t: t.std(dim=0, correction=0).sum(), A23),
        (lambda t: t.std(), lambda t: t.std(correction=0), A23),
    ],
    ids=[
        *("sin", "cos", "sqrt", "softplus", "abs", "minimum", "min", "clip", "where"),
        *("var", "std axis 0", "std"),
    ],
)
def test_hessians_of_the_new_tensor_ops_match_torch(ours: Fn, theirs: Fn, x: Array) -> None:
    H = autograd.jacobian(lambda t: autograd.grad(ours(t), t, create_graph=True), x)
    want = torch.autograd.functional.hessian(theirs, torch.tensor(x, dtype=torch.float64))
    assert close(H, want.numpy().reshape(H.shape))


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Tensor(np.ones((1, 3))).squeeze(1), ValueError, r"axis 1 of shape \(1, 3\) has"),
        (lambda: Tensor(np.ones((1, 3))).squeeze(2), ValueError, "axis 2 is out of range"),
        (lambda: Tensor(np.ones((1, 3))).squeeze((0, 0)), ValueError, "repeats an axis"),
        (lambda: Tensor(np.ones((2, 3))).unsqueeze(3), ValueError, "from -3 to 2.*got 3"),
        (lambda: Tensor(np.ones((2, 3))).unsqueeze(1.0), ValueError, "must be an int"),  # type: ignore[arg-type]
        (lambda: Tensor([1.0]).clip(1.0, 0.0), ValueError, "low <= high, got low=1 > high=0"),
        (lambda: Tensor([1.0]).clip(), TypeError, "a low bound, a high bound or both"),
        (lambda: Tensor([1.0]).clip(Tensor(0.0), 1.0), TypeError, "low must be a number"),  # type: ignore[arg-type]
        (lambda: Tensor([1.0]).clip(math.nan, 1.0), ValueError, "low is nan"),
        (
            lambda: where(np.ones((2, 3), bool), Tensor(np.ones((2, 2))), 0.0),
            ValueError,
            r"condition's shape \(2, 3\), a's \(2, 2\) and b's \(\) do not broadcast",
        ),
        (lambda: where(Tensor([1.0]), Tensor([1.0]), 2.0), TypeError, "not a Tensor"),  # type: ignore[arg-type]
        (lambda: where(np.array([1.0]), Tensor([1.0]), 2.0), TypeError, "must be booleans"),
        (lambda: where(np.array([True]), 1.0, 2.0), TypeError, "needs a Tensor as a or b"),
        (
            lambda: Tensor(np.ones((2, 3))).dot(Tensor(np.ones(3))),
            ValueError,
            r"dot takes two 1-D tensors, got shapes \(2, 3\) and \(3,\); for matrices use a @ b",
        ),
        (lambda: Tensor(np.ones(3)).dot(np.ones(4)), ValueError, "lengths 3 and 4"),
        (lambda: Tensor([1.0]).var(ddof=1), ValueError, "ddof=1 of 1 element.*n - ddof = 0"),
        (lambda: Tensor(np.ones((0, 2))).std(), ValueError, "of 0 element"),
        (lambda: Tensor([1.0, 2.0]).var(ddof=-1), ValueError, "ddof must be 0 or more"),
        (lambda: Tensor([1.0, 2.0]).std(ddof=0.5), TypeError, "ddof must be an int"),  # type: ignore[arg-type]
        (lambda: Tensor([1.0, 2.0]).var(axis=1), ValueError, "axis 1 is out of range"),
        (lambda: stack([]), ValueError, "at least one tensor"),
        (
            lambda: stack([Tensor(np.ones(2)), Tensor(np.ones(3))]),
            ValueError,
            r"same shape, got \(2,\) and \(3,\)",
        ),
        (lambda: stack([Tensor(np.ones(2))], axis=2), ValueError, "stack: axis must be"),
        (lambda: Tensor(np.ones((0, 2))).min(), ValueError, "empty tensor"),
        (lambda: Tensor([1.0, 0.0]).sqrt(), NonFiniteError, "sqrt.*1 element.*outside"),
        (lambda: Tensor([-1.0]).sqrt(), NonFiniteError, r"a > 0 \(the square root"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(make: Fn, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_the_new_functions_are_exported() -> None:
    assert autograd.where is where and autograd.stack is stack
    assert {"where", "stack"} <= set(autograd.__all__)

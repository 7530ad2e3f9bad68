"""Tensor: the lectures' vectorised examples, every op against centred differences, the gate
patterns on arrays, backward semantics, grad mode, dtypes, the error policy, ``on_step``, user
ops, and agreement with the scalar ``Value`` engine element by element.

Gradient checks use :func:`autograd.gradcheck` at its defaults (PyTorch's: eps 1e-6, atol 1e-5,
rtol 1e-3); a function returning a larger tensor is checked through a fixed random projection.
Inputs are drawn away from the ops' kinks (relu at 0, max at a tie) and domain edges; the
kinks themselves are checked with exact values.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import autograd
from autograd import (
    OPS,
    BackwardStep,
    GradcheckError,
    NonFiniteError,
    Op,
    Tensor,
    Value,
    concatenate,
    find_wrong_tensor_gate,
    gradcheck,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from autograd.jacobians import LinearMap

Array = NDArray[Any]
TensorFn = Callable[..., Tensor]

TOL = 1e-12


def allclose(got: Any, expected: Any, tol: float = TOL) -> bool:
    return bool(np.allclose(got, expected, rtol=tol, atol=tol))


def rng_for(name: str) -> np.random.Generator:
    """A generator seeded by a case name, so every case has its own fixed data."""
    return np.random.default_rng(sum(ord(c) * 31**i for i, c in enumerate(name)) % 2**32)


def normal(name: str, *shape: int) -> Array:
    return rng_for(name).standard_normal(shape)


def positive(name: str, *shape: int) -> Array:
    out: Array = rng_for(name).uniform(0.5, 2.0, shape)
    return out


def away_from_zero(name: str, *shape: int) -> Array:
    """Entries in +-[0.5, 2]: safe denominators, and far from relu's kink."""
    rng = rng_for(name)
    out: Array = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return out


def distinct(name: str, *shape: int) -> Array:
    """A random permutation of well-separated values: no ties for max, no kink for relu."""
    n = math.prod(shape)
    values = (np.arange(n) - n / 2 + 0.5) * 0.7
    return rng_for(name).permutation(values).reshape(shape)


def check(f: TensorFn, inputs: Sequence[Array | Tensor]) -> bool:
    """``gradcheck`` for tensors (its signature names only Values and numbers)."""
    tensor_inputs: Sequence[Any] = inputs
    return gradcheck(f, tensor_inputs)


def op_names(out: Tensor) -> set[str]:
    return {node.op for node in topological_order(out) if node.gate is not None}


# -- the lectures' vectorised example: f(x, W) = ||W x||^2 -------------------------------------

W6 = [[0.1, 0.5], [-0.3, 0.8]]
X6 = [0.2, 0.4]


@pytest.mark.parametrize("square", [lambda q: q * q, lambda q: q**2], ids=["q*q", "q**2"])
def test_reference_6_vectorised_example(square: Callable[[Tensor], Tensor]) -> None:
    W, x = Tensor(W6, "W"), Tensor(X6, "x")
    q = W @ x
    f = square(q).sum()
    f.backward()
    assert allclose(q.data, [0.22, 0.26])
    assert math.isclose(f.item(), 0.116, rel_tol=TOL)
    assert allclose(W.grad, [[0.088, 0.176], [0.104, 0.208]])
    assert allclose(x.grad, [-0.112, 0.636])
    # grad_W = 2 q x^T and grad_x = 2 W^T q, as the formulas say
    assert allclose(W.grad, 2 * np.outer(q.data, x.data))
    assert allclose(x.grad, 2 * np.asarray(W6).T @ q.data)
    # "The gradient with respect to a variable has the same shape as the variable."
    assert W.grad.shape == W.shape == (2, 2)
    assert x.grad.shape == x.shape == (2,)
    assert q.grad.shape == q.shape == (2,)


# -- the slides' small networks ----------------------------------------------------------------


def test_reference_7_layer_in_matrix_form() -> None:
    W, x, b = Tensor([[1.0, -2.0], [-1.0, 1.0]]), Tensor([1.0, -1.0]), Tensor([1.0, 0.0])
    z = W @ x + b
    out = z.sigmoid()
    assert allclose(z.data, [4.0, -2.0])
    assert np.round(out.data, 2).tolist() == [0.98, 0.12]
    assert allclose(out.data, 1.0 / (1.0 + np.exp(-np.array([4.0, -2.0]))))


def test_reference_7_softmax() -> None:
    s = Tensor([1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0]).softmax()
    assert np.round(s.data, 3).tolist() == [0.024, 0.064, 0.175, 0.475, 0.024, 0.064, 0.175]
    assert math.isclose(float(s.data.sum()), 1.0, rel_tol=TOL)


# -- every op against centred differences -------------------------------------------------------
#
# One row per op and situation: (id, function of fresh leaf tensors, input arrays). Broadcasting
# cases cover a bias (C,) added to (N, C), (N, 1) with (1, C), and 0-d with anything.

GradCase = tuple[str, TensorFn, list[Array]]

BROADCAST_PAIRS: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = [
    ("same", (3, 4), (3, 4)),
    ("bias", (3, 4), (4,)),
    ("bias-left", (4,), (3, 4)),
    ("col-row", (3, 1), (1, 4)),
    ("0d-left", (), (3, 4)),
    ("0d-right", (2, 3, 4), ()),
    ("0d-0d", (), ()),
    ("3d", (2, 3, 4), (3, 1)),
]

BINARY: dict[str, TensorFn] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "truediv": lambda a, b: a / b,
    "maximum": lambda a, b: a.maximum(b),
    "minimum": lambda a, b: a.minimum(b),
}


def binary_cases() -> list[GradCase]:
    cases: list[GradCase] = []
    for op, f in BINARY.items():
        for where, sa, sb in BROADCAST_PAIRS:
            name = f"{op}-{where}"
            a = normal(name + "a", *sa)
            b = away_from_zero(name + "b", *sb) if op == "truediv" else normal(name + "b", *sb)
            if op in ("maximum", "minimum"):  # keep every pair 0.1 apart: no tie within eps
                a = a + 0.2 * np.sign(a - b + 1e-300) * (np.abs(a - b) < 0.1)
            cases.append((name, f, [a, b]))
    return cases


def unary_cases() -> list[GradCase]:
    unary: list[tuple[str, TensorFn, Callable[..., Array]]] = [
        ("neg", lambda a: -a, normal),
        ("exp", lambda a: a.exp(), normal),
        ("log", lambda a: a.log(), positive),
        ("sigmoid", lambda a: a.sigmoid(), normal),
        ("tanh", lambda a: a.tanh(), normal),
        ("relu", lambda a: a.relu(), away_from_zero),
        ("pow2", lambda a: a**2, normal),
        ("pow3", lambda a: a**3, normal),
        ("pow-1", lambda a: a**-1, away_from_zero),
        ("pow0.5", lambda a: a**0.5, positive),
        ("pow1.5", lambda a: a**1.5, positive),
        ("pow0", lambda a: a**0 + a, normal),
        ("pow1", lambda a: a**1, normal),
        ("reciprocal", lambda a: a.reciprocal(), away_from_zero),
        ("2**a", lambda a: 2.0**a, normal),  # pow_value: a constant base, a tensor exponent
        ("a**a", lambda a: a**a, positive),
        ("abs", lambda a: a.abs(), away_from_zero),
        ("abs()", lambda a: abs(a), away_from_zero),
        ("sqrt", lambda a: a.sqrt(), positive),
        ("sin", lambda a: a.sin(), normal),
        ("cos", lambda a: a.cos(), normal),
        ("softplus", lambda a: a.softplus(), normal),
    ]
    cases: list[GradCase] = []
    for name, f, draw in unary:
        cases.append((name, f, [draw(name, 3, 4)]))
        cases.append((name + "-0d", f, [draw(name + "0", *())]))
    return cases


def constant_cases() -> list[GradCase]:
    """Numbers and arrays on either side become constant leaves (the reflected operators)."""
    c = np.array([0.5, -1.5, 2.0, 3.0])
    return [
        ("radd", lambda a: 2.0 + a, [normal("radd", 3, 4)]),
        ("rsub", lambda a: 2.0 - a, [normal("rsub", 3, 4)]),
        ("rmul", lambda a: 3 * a, [normal("rmul", 3, 4)]),
        ("rtruediv", lambda a: 3.0 / a, [away_from_zero("rdiv", 3, 4)]),
        ("array-mul", lambda a: a * c, [normal("amul", 3, 4)]),
        ("array-rsub", lambda a: c - a, [normal("arsub", 3, 4)]),
        ("maximum-number", lambda a: a.maximum(0.05), [away_from_zero("maxn", 3, 4)]),
        ("rmatmul", lambda a: c @ a, [normal("rmatmul", 4, 2)]),
    ]


MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4))]


def matmul_cases() -> list[GradCase]:
    return [
        (f"matmul-{sa}@{sb}", lambda a, b: a @ b, [normal("mma", *sa), normal("mmb", *sb)])
        for sa, sb in MATMUL_SHAPES
    ] + [
        (
            f"matmul_t-{sa}@{sb}T",
            lambda a, b: a.matmul_t(b),
            [normal("mta", *sa), normal("mtb", *sb)],
        )
        for sa, sb in [((3,), (2, 3)), ((4, 3), (2, 3))]
    ]


def test_matmul_t_is_the_two_gates_in_one() -> None:
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    a1, b1 = Tensor(x), Tensor(w)
    a2, b2 = Tensor(x), Tensor(w)
    (a1.matmul_t(b1) ** 2).sum().backward()
    ((a2 @ b2.T) ** 2).sum().backward()
    np.testing.assert_allclose(a1.grad, a2.grad, rtol=1e-14)
    np.testing.assert_allclose(b1.grad, b2.grad, rtol=1e-14)
    assert b1.grad.flags.c_contiguous  # W's gradient is made in W's layout
    with pytest.raises(ValueError, match="2-D right operand"):
        a1.matmul_t(Tensor(np.ones(3)))


AXES: list[int | tuple[int, ...] | None] = [None, 0, 1, 2, -1, (0, 2), (1, 2), (0, 1, 2)]


def reduction_cases() -> list[GradCase]:
    cases: list[GradCase] = []
    for kind in ("sum", "mean", "max", "min"):
        for axis in AXES:
            for keepdims in (False, True):

                def f(a: Tensor, kind: str = kind, axis: Any = axis, keep: bool = keepdims) -> Any:
                    return getattr(a, kind)(axis=axis, keepdims=keep)

                name = f"{kind}-axis{axis}-keepdims{keepdims}".replace(" ", "")
                cases.append((name, f, [distinct(name, 2, 3, 4)]))
        cases.append((f"{kind}-1d", lambda a, kind=kind: getattr(a, kind)(), [distinct(kind, 5)]))
    return cases


def shape_cases() -> list[GradCase]:
    x = normal("shape", 2, 3, 4)
    m = normal("matrix", 3, 4)
    return [
        ("reshape", lambda a: a.reshape(4, 6), [x]),
        ("reshape-tuple", lambda a: a.reshape((6, -1)), [x]),
        ("reshape-flat", lambda a: a.reshape(-1), [x]),
        ("reshape-0d", lambda a: a.reshape(()), [normal("r0", 1, 1)]),
        ("T", lambda a: a.T, [m]),
        ("T-3d", lambda a: a.T, [x]),
        ("transpose-axes", lambda a: a.transpose(1, 0, 2), [x]),
        ("transpose-negative", lambda a: a.transpose(-1, 0, 1), [x]),
        ("index-int", lambda a: a[1], [m]),
        ("index-negative", lambda a: a[-1, -2], [m]),
        ("index-slice", lambda a: a[1:, ::2], [m]),
        ("index-ellipsis", lambda a: a[..., 1], [x]),
        ("index-newaxis", lambda a: a[None, 1:], [m]),
        ("index-repeated", lambda a: a[[0, 0, 2, 0]], [m]),
        ("index-repeated-pairs", lambda a: a[[0, 0, 2], [1, 1, 3]], [m]),
        ("index-array-2d", lambda a: a[np.array([[0, 1], [1, 1]])], [m]),
        ("index-mixed", lambda a: a[1:, [3, 3, 0]], [m]),
        (
            "concatenate-axis0",
            lambda a, b, c: concatenate([a, b, c]),
            [normal("c0a", 1, 3), normal("c0b", 2, 3), normal("c0c", 3, 3)],
        ),
        (
            "concatenate-axis1",
            lambda a, b, c: concatenate([a, b, c], axis=1),
            [normal("c1a", 2, 1), normal("c1b", 2, 3), normal("c1c", 2, 2)],
        ),
        (
            "concatenate-axis-1-3d",
            lambda a, b, c: concatenate([a, b, c], axis=-1),
            [normal("c2a", 2, 2, 1), normal("c2b", 2, 2, 3), normal("c2c", 2, 2, 2)],
        ),
        (
            "concatenate-same-tensor",
            lambda a, b: concatenate([a, b, a]),
            [normal("csa", 2), normal("csb", 3)],
        ),
    ]


def api_cases() -> list[GradCase]:
    """clip, where, var and std, dot, flatten, squeeze, unsqueeze and stack."""
    x = distinct("api", 3, 4)  # multiples of 0.35: none within eps of a clip bound
    condition = np.array([[True], [False], [True]])
    cases: list[GradCase] = [
        ("clip", lambda a: a.clip(-1.0, 1.2), [x]),
        ("clip-low", lambda a: a.clip(low=0.1), [x]),
        ("clip-high", lambda a: a.clip(high=-0.2), [x]),
        (
            "where",
            lambda a, b: autograd.where(x > 0, a, b),
            [normal("wa", 3, 4), normal("wb", 3, 4)],
        ),
        (
            "where-broadcast",
            lambda a, b: autograd.where(condition, a, b),
            [normal("wba", 3, 4), normal("wbb", 4)],
        ),
        ("where-number", lambda a: autograd.where(x < 0, 0.5, a), [normal("wn", 3, 4)]),
        ("dot", lambda a, b: a.dot(b), [normal("da", 4), normal("db", 4)]),
        ("dot-self", lambda a: a.dot(a), [normal("ds", 5)]),
        ("flatten", lambda a: a.flatten(), [normal("fl", 2, 3, 4)]),
        ("flatten-0d", lambda a: a.flatten(), [normal("fl0")]),
        ("squeeze", lambda a: a.squeeze(), [normal("sq", 1, 3, 1)]),
        ("squeeze-axis", lambda a: a.squeeze(-1), [normal("sqa", 1, 3, 1)]),
        ("unsqueeze", lambda a: a.unsqueeze(1), [normal("us", 2, 3)]),
        ("unsqueeze-last", lambda a: a.unsqueeze(-1), [normal("usl", 2, 3)]),
        (
            "stack",
            lambda a, b: autograd.stack([a, b, a], axis=-1),
            [normal("sta", 2, 3), normal("stb", 2, 3)],
        ),
    ]
    for kind in ("var", "std"):
        for axis, keepdims, ddof in [
            (None, False, 0),
            (None, True, 1),
            (0, False, 1),
            (-1, True, 0),
            ((0, 2), False, 0),
            ((1, 2), True, 2),
        ]:
            name = f"{kind}-axis{axis}-keepdims{keepdims}-ddof{ddof}".replace(" ", "")

            def f(
                a: Tensor, kind: str = kind, axis: Any = axis, keep: bool = keepdims, d: int = ddof
            ) -> Any:
                return getattr(a, kind)(axis=axis, keepdims=keep, ddof=d)

            cases.append((name, f, [normal(name, 2, 3, 4)]))
    return cases


def softmax_cases() -> list[GradCase]:
    cases: list[GradCase] = []
    for kind in ("softmax", "log_softmax"):
        for shape, axis in [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)]:
            name = f"{kind}-{shape}-axis{axis}"
            cases.append(
                (name, lambda a, k=kind, ax=axis: getattr(a, k)(axis=ax), [normal(name, *shape)])
            )
    cases += [
        ("cross_entropy-2d", lambda a: a.cross_entropy([1, 3, 0]), [normal("ce2", 3, 4)]),
        ("cross_entropy-1d", lambda a: a.cross_entropy(2), [normal("ce1", 4)]),
        (
            "cross_entropy-int-array",
            lambda a: a.cross_entropy(np.array([2, 2], dtype=np.int32)),
            [normal("ce3", 2, 3)],
        ),
        ("cross_entropy-np-int", lambda a: a.cross_entropy(np.int64(0)), [normal("ce4", 3)]),
    ]
    return cases


GRAD_CASES: list[GradCase] = [
    *binary_cases(),
    *unary_cases(),
    *constant_cases(),
    *matmul_cases(),
    *reduction_cases(),
    *shape_cases(),
    *api_cases(),
    *softmax_cases(),
]


@pytest.mark.parametrize(
    ("f", "inputs"), [pytest.param(f, xs, id=name) for name, f, xs in GRAD_CASES]
)
def test_gradcheck_and_every_gradient_has_its_tensors_shape(
    f: TensorFn, inputs: list[Array]
) -> None:
    assert check(f, inputs)
    leaves = [Tensor(x) for x in inputs]
    out = f(*leaves)
    out.backward(np.ones(out.shape))
    for node in topological_order(out):
        if node.requires_grad:  # constants (numbers, arrays) have no gradient to compute
            assert np.shape(node.grad) == node.shape, node
    for leaf in leaves:
        assert leaf.grad.shape == leaf.shape


def test_gradcheck_cases_cover_every_tensor_op() -> None:
    """A newly registered Tensor op must get a row in GRAD_CASES."""
    covered: set[str] = set()
    for _, f, inputs in GRAD_CASES:
        covered |= op_names(f(*(Tensor(x) for x in inputs)))
    shaped = {"sum", "mean", "max", "reshape", "transpose", "index", "concatenate", "pow"}
    softmax = {"softmax", "log_softmax", "cross_entropy"}
    api = {"min", "clip", "where", "var", "std"}
    missing = (set(OPS) | shaped | softmax | api) - covered
    assert not missing, f"add gradcheck cases for {sorted(missing)}"


# -- max at a tie: the gradient is split evenly, so assert values ------------------------------
#
# gradcheck cannot check exactly at a tie: the centred difference there is the mean of the two
# one-sided slopes, which for k tied maxima is not what either side sees.


def test_max_reduction_splits_ties_evenly_per_row() -> None:
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [5.0, -1.0, 0.0]])
    m = x.max(axis=1)
    m.backward(np.array([1.0, 6.0, 2.0]))
    assert m.data.tolist() == [3.0, 2.0, 5.0]
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [2.0, 2.0, 2.0], [2.0, 0.0, 0.0]]
    # each group's upstream arrives whole: the split conserves the gradient
    assert x.grad.sum(axis=1).tolist() == [1.0, 6.0, 2.0]


@pytest.mark.parametrize("keepdims", [False, True])
def test_max_over_everything_splits_ties_across_rows(keepdims: bool) -> None:
    x = Tensor([[4.0, 1.0], [4.0, 4.0]])
    m = x.max(keepdims=keepdims)
    assert m.shape == ((1, 1) if keepdims else ())
    m.backward(np.full(m.shape, 3.0))
    assert x.grad.tolist() == [[1.0, 0.0], [1.0, 1.0]]


def test_max_over_axis_0_with_keepdims_splits_ties() -> None:
    x = Tensor([[1.0, 3.0], [1.0, 2.0], [0.0, 3.0]])
    m = x.max(axis=0, keepdims=True)
    m.backward(np.array([[1.0, 1.0]]))
    assert m.data.tolist() == [[1.0, 3.0]]
    assert x.grad.tolist() == [[0.5, 0.5], [0.5, 0.0], [0.0, 0.5]]


def test_max_tie_is_the_mean_of_the_one_sided_slopes_for_two() -> None:
    """For two tied maxima, 1/2 each is what the centred difference sees too."""
    x = np.array([2.0, 2.0, -1.0])

    def f(a: Tensor) -> Tensor:
        return a.max()

    t = Tensor(x)
    f(t).backward()
    h = 1e-6
    for i in range(3):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        numeric = (plus.max() - minus.max()) / (2 * h)
        assert math.isclose(t.grad[i], numeric, abs_tol=1e-9)


def test_maximum_tie_splits_half_half_and_max_with_itself_passes_all() -> None:
    a, b = Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 5.0, -3.0])
    a.maximum(b).backward(np.array([2.0, 2.0, 2.0]))
    assert a.grad.tolist() == [1.0, 0.0, 2.0]
    assert b.grad.tolist() == [1.0, 2.0, 0.0]
    x = Tensor([1.0, -2.0])
    x.maximum(x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_relu_at_zero_has_gradient_zero() -> None:
    x = Tensor([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


# -- Hypothesis: random shapes, broadcasting, random elementwise expressions --------------------

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def uniform(seed: int, shape: tuple[int, ...], low: float = -2.0, high: float = 2.0) -> Array:
    return np.random.default_rng(seed).uniform(low, high, shape)


@pytest.mark.parametrize("op", list(BINARY))
@settings(max_examples=30, deadline=None)
@given(
    pair=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=1, max_side=4),
    seed=seeds,
)
def test_binary_ops_broadcast_and_pass_gradcheck(
    op: str, pair: hnp.BroadcastableShapes, seed: int
) -> None:
    sa, sb = pair.input_shapes
    a = uniform(seed, sa)
    b = uniform(seed + 1, sb, 0.5, 2.0) * np.sign(uniform(seed + 2, sb))
    if op == "maximum":  # ties and near-ties have no derivative to check
        assume(bool(np.all(np.abs(np.subtract(a, b)) > 1e-3)))
    f = BINARY[op]
    ta, tb = Tensor(a), Tensor(b)
    out = f(ta, tb)
    assert out.shape == pair.result_shape
    out.backward(np.ones(out.shape))
    assert ta.grad.shape == sa and tb.grad.shape == sb
    assert check(f, [a, b])


UNARY: dict[str, tuple[TensorFn, tuple[float, float]]] = {
    "neg": (lambda a: -a, (-2.0, 2.0)),
    "exp": (lambda a: a.exp(), (-2.0, 2.0)),
    "log": (lambda a: a.log(), (0.2, 3.0)),
    "sigmoid": (lambda a: a.sigmoid(), (-4.0, 4.0)),
    "tanh": (lambda a: a.tanh(), (-3.0, 3.0)),
    "relu": (lambda a: a.relu(), (-2.0, 2.0)),
    "pow3": (lambda a: a**3, (-2.0, 2.0)),
    "pow0.5": (lambda a: a**0.5, (0.2, 3.0)),
    "softmax": (lambda a: a.softmax(), (-3.0, 3.0)),
    "log_softmax": (lambda a: a.log_softmax(axis=0), (-3.0, 3.0)),
    "reshape": (lambda a: a.reshape(-1), (-2.0, 2.0)),
    "T": (lambda a: a.T, (-2.0, 2.0)),
    "index": (lambda a: a[0], (-2.0, 2.0)),
}


@pytest.mark.parametrize("op", list(UNARY))
@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds)
def test_unary_ops_on_random_shapes_pass_gradcheck(
    op: str, shape: tuple[int, ...], seed: int
) -> None:
    f, (low, high) = UNARY[op]
    x = uniform(seed, shape, low, high)
    if op == "relu":
        assume(bool(np.all(np.abs(x) > 1e-3)))
    assert check(f, [x])


@st.composite
def reductions(draw: st.DrawFn) -> tuple[tuple[int, ...], Any, bool]:
    shape = draw(shapes)
    ndim = len(shape)
    axis = draw(
        st.none()
        | st.integers(-ndim, ndim - 1)
        | st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    )
    return shape, axis, draw(st.booleans())


@pytest.mark.parametrize("kind", ["sum", "mean", "max"])
@settings(max_examples=30, deadline=None)
@given(case=reductions(), seed=seeds)
def test_reductions_over_random_axes_match_numpy_and_pass_gradcheck(
    kind: str, case: tuple[tuple[int, ...], Any, bool], seed: int
) -> None:
    shape, axis, keepdims = case
    x = np.random.default_rng(seed).permutation(np.arange(math.prod(shape)) * 0.5)
    x = x.reshape(shape)  # distinct values: no ties for max

    def f(a: Tensor) -> Tensor:
        return getattr(a, kind)(axis=axis, keepdims=keepdims)  # type: ignore[no-any-return]

    out = f(Tensor(x))
    assert allclose(out.data, getattr(np, kind)(x, axis=axis, keepdims=keepdims))
    assert check(f, [x])


# Random elementwise programs over three leaves of mutually broadcastable shapes. Every step is
# written with operators both Tensor and Value have, so the same program runs on scalars too.
# log and division get inputs that keep them in their domain.

Node = Any  # a Tensor, or a Value when the program runs element by element


def _maximum(a: Node, b: Node) -> Node:
    return a.maximum(b) if isinstance(a, Tensor) else a.max(b)


STEPS: dict[str, tuple[int, Callable[..., Node]]] = {
    "neg": (1, lambda a: -a),
    "exp": (1, lambda a: a.exp()),
    "log": (1, lambda a: (a * a + 0.5).log()),
    "sigmoid": (1, lambda a: a.sigmoid()),
    "tanh": (1, lambda a: a.tanh()),
    "relu": (1, lambda a: a.relu()),
    "square": (1, lambda a: a**2),
    "cube": (1, lambda a: a**3),
    "sqrt": (1, lambda a: (a * a + 1.0) ** 0.5),
    "affine": (1, lambda a: 2.0 * a - 1.0),
    "reciprocal": (1, lambda a: 1.0 / (a * a + 1.0)),
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (b * b + 0.5)),
    "maximum": (2, _maximum),
}

Program = list[tuple[str, tuple[int, ...]]]


@st.composite
def programs(draw: st.DrawFn) -> tuple[Program, list[Array]]:
    """A random DAG of elementwise steps over 3 leaves (values may be used several times)."""
    shapes_ = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, min_side=1, max_side=4)
    )
    seed = draw(seeds)
    leaves = [uniform(seed + i, s) for i, s in enumerate(shapes_.input_shapes)]
    program: Program = []
    for _ in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(STEPS)))
        n = 3 + len(program)
        args = tuple(draw(st.integers(0, n - 1)) for _ in range(STEPS[name][0]))
        program.append((name, args))
    return program, leaves


def run(program: Program, leaves: Sequence[Node]) -> Node:
    """Run the steps; the output is the sum of every node no step uses (leaves included)."""
    nodes = list(leaves)
    used: set[int] = set()
    for name, args in program:
        nodes.append(STEPS[name][1](*(nodes[i] for i in args)))
        used.update(args)
    sinks = [node for i, node in enumerate(nodes) if i not in used]
    out = sinks[0]
    for node in sinks[1:]:
        out = out + node
    return out


def well_scaled(program: Program, leaves: list[Array]) -> bool:
    """No error and every value within 100 (exp(exp(x)) can overflow, and centred differences
    lose their accuracy on huge values)."""
    with no_grad():
        try:
            nodes = [Tensor(x) for x in leaves]
            for name, args in program:
                nodes.append(STEPS[name][1](*(nodes[i] for i in args)))
        except NonFiniteError:
            return False
    return all(float(np.abs(n.data).max()) < 100.0 for n in nodes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(programs())
def test_random_elementwise_programs_pass_gradcheck(case: tuple[Program, list[Array]]) -> None:
    program, leaves = case
    assume(well_scaled(program, leaves))
    assert check(lambda *xs: run(program, xs), leaves)


def assert_tensor_matches_values(program: Program, leaves: list[Array]) -> None:
    """Run ``program`` once on Tensors and once per output element on scalar Values (each leaf
    element one Value, shared by every position broadcasting copies it to); the values and the
    gradients of every leaf element must agree to 1e-12."""
    tensors = [Tensor(x) for x in leaves]
    out = run(program, tensors)
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)

    values = [np.vectorize(Value, otypes=[object])(x) for x in leaves]
    shape = out.shape
    spread = [np.broadcast_to(v, shape) for v in values]
    outs = np.empty(shape, dtype=object)
    total = Value(0.0)
    for index in np.ndindex(shape):
        outs[index] = run(program, [s[index] for s in spread])
        total = total + float(upstream[index]) * outs[index]
    total.backward()  # one walk: d (upstream . out) / d every leaf element, as Tensor computed

    assert allclose(out.data, np.vectorize(lambda v: v.data, otypes=[float])(outs))
    for tensor, value in zip(tensors, values, strict=True):
        grads = np.vectorize(lambda v: v.grad, otypes=[float])(value)
        assert allclose(tensor.grad, grads)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(programs())
def test_random_programs_agree_with_value_element_by_element(
    case: tuple[Program, list[Array]],
) -> None:
    """The Tensor engine is the Value engine on arrays: same values, same gradients."""
    program, leaves = case
    assume(well_scaled(program, leaves))
    assert_tensor_matches_values(program, leaves)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_each_step_agrees_with_value_element_by_element(step: str) -> None:
    """Every step alone, on leaves of shapes (3, 1), (4,) and (): broadcasting both ways. The
    values lie on a grid of 0.35 with 0 in it, so maximum meets ties and relu meets 0: the two
    engines' conventions there (1/2 each, and 0) must agree too."""
    leaves = [distinct(step + "a", 3, 1), distinct(step + "b", 4) + 0.35, np.array(0.45)]
    args = (0, 1) if STEPS[step][0] == 2 else (0,)
    assert_tensor_matches_values([(step, args), (step, (1, 2)[: len(args)])], leaves)


# -- gate patterns on tensors ------------------------------------------------------------------

U = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]])


def test_add_distributes_the_upstream_unchanged() -> None:
    a, b = Tensor(normal("ga", 2, 3)), Tensor(normal("gb", 2, 3))
    (a + b).backward(U)
    assert np.array_equal(a.grad, U) and np.array_equal(b.grad, U)


def test_add_of_a_bias_distributes_then_sums_over_the_batch() -> None:
    x, bias = Tensor(normal("gx", 2, 3)), Tensor([1.0, 2.0, 3.0])
    (x + bias).backward(U)
    assert np.array_equal(x.grad, U)
    assert allclose(bias.grad, U.sum(axis=0))


def test_mul_swaps_the_inputs() -> None:
    a, b = Tensor(normal("ma", 2, 3)), Tensor(normal("mb", 2, 3))
    (a * b).backward(U)
    assert np.array_equal(a.grad, U * b.data)
    assert np.array_equal(b.grad, U * a.data)


def test_maximum_routes_to_the_larger_input() -> None:
    a, b = Tensor([[1.0, 5.0, -2.0], [0.0, 4.0, 9.0]]), Tensor([[2.0, 3.0, -3.0], [1.0, 8.0, 7.0]])
    a.maximum(b).backward(U)
    larger = a.data > b.data
    assert np.array_equal(a.grad, np.where(larger, U, 0.0))
    assert np.array_equal(b.grad, np.where(larger, 0.0, U))


def test_max_reduction_routes_to_the_maximum_of_each_row() -> None:
    x = Tensor([[1.0, 7.0, 3.0], [9.0, 2.0, 4.0]])
    x.max(axis=1).backward(np.array([5.0, -1.0]))
    assert x.grad.tolist() == [[0.0, 5.0, 0.0], [-1.0, 0.0, 0.0]]


def test_a_tensor_used_twice_adds_its_gradients() -> None:
    data = normal("twice", 2, 3)
    cases: list[tuple[TensorFn, Array]] = [
        (lambda x: x * x, 2 * data * U),
        (lambda x: x + x, 2 * U),
        (lambda x: x - x, 0 * U),
        (lambda x: x / x, 0 * U),
        (lambda x: x**2, 2 * data * U),
        (lambda x: (x + x) * x, 4 * data * U),
        (lambda x: concatenate([x, x], axis=0)[:2] + concatenate([x, x], axis=0)[2:], 2 * U),
    ]
    for f, expected in cases:
        x = Tensor(data)
        f(x).backward(U)
        assert allclose(x.grad, expected)


def test_an_interior_tensor_used_twice_adds_its_gradients() -> None:
    x = Tensor(normal("interior", 2, 3))
    h = x.tanh()
    y = h * h + h  # h feeds two gates; the mul uses it on both inputs
    y.backward(U)
    assert allclose(h.grad, U * (2 * h.data + 1))
    assert allclose(x.grad, U * (2 * h.data + 1) * (1 - h.data**2))


def test_repeated_indices_add_their_gradients() -> None:
    x = Tensor([10.0, 20.0, 30.0])
    x[[0, 2, 0, 0]].backward(np.array([1.0, 2.0, 3.0, 4.0]))
    assert x.grad.tolist() == [8.0, 0.0, 2.0]
    m = Tensor(np.zeros((2, 3)))
    m[[1, 1, 0], [2, 2, 2]].backward(np.array([1.0, 1.0, 5.0]))
    assert m.grad.tolist() == [[0.0, 0.0, 5.0], [0.0, 0.0, 2.0]]


def test_concatenate_gives_each_input_its_own_slice() -> None:
    a, b, c = Tensor(np.ones((2, 1))), Tensor(np.ones((2, 2))), Tensor(np.ones((2, 3)))
    out = concatenate([a, b, c], axis=1)
    assert out.shape == (2, 6)
    assert np.array_equal(out.data, np.ones((2, 6)))
    upstream = np.arange(12.0).reshape(2, 6)
    out.backward(upstream)
    assert np.array_equal(a.grad, upstream[:, :1])
    assert np.array_equal(b.grad, upstream[:, 1:3])
    assert np.array_equal(c.grad, upstream[:, 3:])


# -- backward semantics ------------------------------------------------------------------------


def small_net() -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    W = Tensor(normal("netW", 3, 4), "W")
    b = Tensor(normal("netb", 3), "b")
    x = Tensor(normal("netx", 5, 4), "x")
    h = (x @ W.T + b).tanh()
    loss = h.cross_entropy([0, 2, 1, 1, 0])
    return W, b, x, h, loss


def test_leaves_accumulate_and_interior_grads_reset() -> None:
    W, b, x, h, loss = small_net()
    loss.backward()
    first = [W.grad.copy(), b.grad.copy(), x.grad.copy()]
    h_first = h.grad.copy()
    loss.backward()
    for leaf, g in zip((W, b, x), first, strict=True):
        assert allclose(leaf.grad, 2 * g)
    assert allclose(h.grad, h_first)
    assert np.array_equal(np.asarray(loss.grad), np.ones(()))


def test_zero_grad_clears_every_gradient() -> None:
    W, b, x, _, loss = small_net()
    loss.backward()
    loss.zero_grad()
    for node in topological_order(loss):
        assert np.array_equal(node.grad, np.zeros(node.shape))
    W2, b2, x2, _, fresh = small_net()
    fresh.backward()
    loss.backward()
    for leaf, new in ((W, W2), (b, b2), (x, x2)):
        assert np.array_equal(leaf.grad, new.grad)


def test_op_outputs_have_no_grad_before_backward_and_leaves_start_at_zero() -> None:
    *_, loss = small_net()
    for node in topological_order(loss):
        if node.is_leaf:
            assert np.array_equal(node.grad, np.zeros(node.shape))
        else:
            assert node.grad is None
    loss.backward()
    for node in topological_order(loss):
        assert np.shape(node.grad) == node.shape


def test_a_node_outside_the_walk_keeps_no_grad() -> None:
    x = Tensor([1.0, 2.0])
    side = x.exp()
    (x * 2.0).sum().backward()
    assert side.grad is None
    assert x.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_backward_without_grad_on_one_element_seeds_one(shape: tuple[int, ...]) -> None:
    x = Tensor(np.full(shape, 3.0))
    (x * x).backward()
    assert np.shape(x.grad) == shape
    assert allclose(x.grad, np.full(shape, 6.0))


@pytest.mark.parametrize("shape", [(2, 2), (2,), (1, 3)])
def test_backward_without_grad_on_many_elements_is_an_error(shape: tuple[int, ...]) -> None:
    y = Tensor(np.ones(shape)) * 2.0
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        y.backward()


@pytest.mark.parametrize("grad", [np.ones(3), np.ones((2, 2, 1)), np.ones(()), np.ones((4,))])
def test_backward_with_a_wrong_shaped_grad_names_both_shapes(grad: Array) -> None:
    y = Tensor(np.ones((2, 2))) * 2.0
    with pytest.raises(ValueError, match="shape") as info:
        y.backward(grad)
    assert str(grad.shape) in str(info.value) and "(2, 2)" in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_backward_with_a_non_finite_grad_is_an_error(bad: float) -> None:
    x = Tensor(np.ones((2, 2)))
    y = x * 2.0
    grad = np.ones((2, 2))
    grad[1, 0] = bad
    with pytest.raises(NonFiniteError, match=str(bad).lstrip("-")):
        y.backward(grad)
    assert np.array_equal(x.grad, np.zeros((2, 2)))  # nothing was sent
    y.backward(np.ones((2, 2)))  # and the graph is still usable
    assert np.array_equal(x.grad, np.full((2, 2), 2.0))


def test_backward_of_a_leaf_is_its_seed_and_accumulates() -> None:
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    x.backward(U[:, :2])
    assert np.array_equal(x.grad, U[:, :2])
    x.backward(U[:, :2])
    assert np.array_equal(x.grad, 2 * U[:, :2])
    s = Tensor(5.0)
    s.backward()
    assert float(s.grad) == 1.0
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        x.backward()


def test_backward_from_an_interior_node() -> None:
    x = Tensor([1.0, 2.0])
    h = x * 3.0
    y = (h * h).sum()
    y.backward()
    h.backward(np.array([1.0, 1.0]))  # d h / d x added to what y sent
    assert x.grad.tolist() == [2 * 9 * 1.0 + 3, 2 * 9 * 2.0 + 3]


def test_backward_accepts_a_list_seed_and_casts_it_to_the_tensors_dtype() -> None:
    x = Tensor([1.0, 2.0], dtype="float32")
    (x * 2.0).backward([1, 3])
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [2.0, 6.0]


def test_a_deep_chain_backpropagates_without_recursion() -> None:
    x = Tensor([0.5, -0.25])
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


# -- no_grad -----------------------------------------------------------------------------------


def test_no_grad_results_are_leaves_without_a_graph() -> None:
    x = Tensor([1.0, -2.0], "x")
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 3.0).exp().sum()
        z = x @ x
    assert is_grad_enabled()
    for t in (y, z):
        assert t.is_leaf and t.gate is None and t.op == "" and t.parents == ()
        assert t.local_grads == ()
        assert not t.requires_grad  # as in PyTorch: nothing to differentiate
    assert math.isclose(y.item(), math.exp(3.0) + math.exp(-6.0), rel_tol=TOL)
    assert math.isclose(z.item(), 5.0, rel_tol=TOL)
    with pytest.raises(ValueError, match="requires_grad"):
        y.backward()
    w = y * x  # a no_grad result used later is a constant of the new graph
    w.sum().backward()
    assert allclose(x.grad, np.full(2, y.item()))


def test_no_grad_is_restored_after_an_error() -> None:
    with pytest.raises(NonFiniteError), no_grad():
        Tensor([-1.0]).log()
    assert is_grad_enabled()
    assert not (Tensor([1.0]) * 2.0).is_leaf


# -- dtypes --------------------------------------------------------------------------------------

DTYPE_CASES: list[tuple[str, TensorFn, list[Array]]] = [
    ("add-broadcast", lambda a, b: a + b, [normal("d1", 2, 3), normal("d2", 3)]),
    ("sub", lambda a, b: a - b, [normal("d3", 2, 3), normal("d4", 2, 1)]),
    ("mul", lambda a, b: a * b, [normal("d5", 2, 3), normal("d6", 3)]),
    ("truediv", lambda a, b: a / b, [normal("d7", 2, 3), away_from_zero("d8", 3)]),
    ("neg", lambda a: -a, [normal("d9", 2, 3)]),
    ("pow", lambda a: a**3, [normal("d10", 2, 3)]),
    ("pow-fraction", lambda a: a**0.5, [positive("d11", 2, 3)]),
    ("exp", lambda a: a.exp(), [normal("d12", 2, 3)]),
    ("log", lambda a: a.log(), [positive("d13", 2, 3)]),
    ("sigmoid", lambda a: a.sigmoid(), [normal("d14", 2, 3)]),
    ("tanh", lambda a: a.tanh(), [normal("d15", 2, 3)]),
    ("relu", lambda a: a.relu(), [normal("d16", 2, 3)]),
    ("maximum", lambda a, b: a.maximum(b), [normal("d17", 2, 3), normal("d18", 3)]),
    ("matmul", lambda a, b: a @ b, [normal("d19", 2, 3), normal("d20", 3, 4)]),
    ("matmul-1d", lambda a, b: a @ b, [normal("d21", 3), normal("d22", 3)]),
    ("sum", lambda a: a.sum(axis=0), [normal("d23", 2, 3)]),
    ("mean", lambda a: a.mean(axis=(0, 1), keepdims=True), [normal("d24", 2, 3)]),
    ("max", lambda a: a.max(axis=1), [normal("d25", 2, 3)]),
    ("reshape", lambda a: a.reshape(3, 2), [normal("d26", 2, 3)]),
    ("transpose", lambda a: a.T, [normal("d27", 2, 3)]),
    ("index", lambda a: a[[0, 0, 1]], [normal("d28", 2, 3)]),
    ("concatenate", lambda a, b: concatenate([a, b, a]), [normal("d29", 2), normal("d30", 3)]),
    ("softmax", lambda a: a.softmax(), [normal("d31", 2, 3)]),
    ("log_softmax", lambda a: a.log_softmax(axis=0), [normal("d32", 2, 3)]),
    ("cross_entropy", lambda a: a.cross_entropy([2, 0]), [normal("d33", 2, 3)]),
]


@pytest.mark.parametrize(
    ("f", "inputs"),
    [
        pytest.param(
            f,
            xs,
            id=name,
        )
        for name, f, xs in DTYPE_CASES
    ],
)
def test_float32_stays_float32_through_ops_and_gradients(f: TensorFn, inputs: list[Array]) -> None:
    leaves = [Tensor(x, dtype="float32") for x in inputs]
    out = f(*leaves)
    out.backward(np.ones(out.shape))
    for node in topological_order(out):
        assert node.dtype == np.float32, node
        assert np.asarray(node.grad).dtype == np.float32, f"grad of {node}"
    # and the float32 values are the float64 ones, rounded
    reference = f(*(Tensor(x) for x in inputs))
    assert np.allclose(out.data, reference.data, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x + 1,
        lambda x: 1 - x,
        lambda x: x * 2.5,
        lambda x: 2.5 * x,
        lambda x: x / 3,
        lambda x: 3.0 / x,
        lambda x: x**2,
        lambda x: x.maximum(0.0) + 0.0,
        lambda x: x - np.float64(0.1),
        lambda x: x * True,
        lambda x: x + np.array([1, 2, 3]),
    ],
    ids=[
        "add-int",
        "rsub-int",
        "mul-float",
        "rmul-float",
        "div-int",
        "rdiv-float",
        "pow",
        "maximum",
        "np-float64",
        "bool",
        "int-array",
    ],
)
def test_number_constants_keep_float32(f: TensorFn) -> None:
    x = Tensor([1.5, 2.0, 4.0], dtype=np.float32)
    assert f(x).dtype == np.float32


def test_float32_arrays_stay_float32_and_float32_can_be_asked_for() -> None:
    assert Tensor(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert Tensor([1, 2], dtype="float32").dtype == np.float32
    assert Tensor(np.ones(2, dtype=np.float32), dtype="float64").dtype == np.float64
    x = Tensor(np.ones(2, dtype=np.float32))
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        np.arange(3, dtype=np.int8),
        np.arange(3, dtype=np.uint16),
        [True, False],
        np.array([True]),
        7,
        True,
        np.float16(1.5),
        np.ones(2, dtype=np.float16),
        np.int64(3),
    ],
    ids=[
        "int-list",
        "int8",
        "uint16",
        "bool-list",
        "bool-array",
        "int",
        "bool",
        "f16",
        "f16a",
        "np-int",
    ],
)
def test_integer_bool_and_half_data_become_float64(data: Any) -> None:
    t = Tensor(data)
    assert t.dtype == np.float64
    assert t.grad.dtype == np.float64
    assert np.array_equal(t.data, np.asarray(data, dtype=np.float64))


BAD_DATA: list[tuple[str, Any]] = [
    ("str", "1.5"),
    ("str-list", ["1", "2"]),
    ("bytes", b"12"),
    ("object-array", np.array([1.0, 2.0], dtype=object)),
    ("object-none", [1.0, None]),
    ("complex-list", [1 + 2j]),
    ("complex-array", np.array([1 + 2j])),
    ("complex-number", 1 + 2j),
    ("dict", {"a": 1.0}),
    ("ragged", [[1.0, 2.0], [3.0]]),
]


@pytest.mark.parametrize(
    ("data", "dtype"),
    [
        pytest.param(
            data,
            dtype,
            id=f"{name}-{dtype}",
        )
        for name, data in BAD_DATA
        for dtype in (None, "float64", "float32")
    ],
)
def test_complex_str_and_object_data_are_rejected(data: Any, dtype: str | None) -> None:
    with pytest.raises(TypeError), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        Tensor(data, dtype=dtype)


@pytest.mark.parametrize("dtype", ["int64", "float16", "complex128", np.int32, bool])
def test_only_float64_and_float32_can_be_asked_for(dtype: Any) -> None:
    with pytest.raises(TypeError, match="float64 or float32"):
        Tensor([1.0], dtype=dtype)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("dtype", [None, "float32"])
def test_non_finite_data_is_rejected(bad: float, dtype: str | None) -> None:
    with pytest.raises(NonFiniteError, match="finite"):
        Tensor([[1.0, 2.0], [bad, 3.0]], dtype=dtype)
    with pytest.raises(NonFiniteError):
        Tensor(bad)
    with pytest.raises(ValueError):  # NonFiniteError is a ValueError
        Tensor([bad])


def test_other_constructor_errors() -> None:
    with pytest.raises(TypeError, match="Tensor"):
        Tensor(Tensor([1.0]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="label"):
        Tensor([1.0], label=3)  # type: ignore[arg-type]


def test_the_tensor_copies_its_data() -> None:
    raw = np.array([1.0, 2.0])
    t = Tensor(raw)
    raw[0] = 100.0
    assert t.data.tolist() == [1.0, 2.0]


# -- the error policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "f"),
    [
        ("log", lambda: Tensor([1.0, -1.0]).log()),
        ("log", lambda: Tensor([[1.0, 0.0]]).log()),
        ("truediv", lambda: Tensor([1.0, 2.0]) / Tensor([1.0, 0.0])),
        ("truediv", lambda: Tensor([0.0, 2.0]) / 0.0),
        ("truediv", lambda: 1.0 / Tensor([3.0, 0.0])),
        ("exp", lambda: Tensor([1.0, 1000.0]).exp()),
        ("pow", lambda: Tensor([0.0, 1.0]) ** -1),
        ("pow", lambda: Tensor([-1.0, 1.0]) ** 0.5),
        ("pow", lambda: Tensor([1e200]) ** 2),
        ("mul", lambda: Tensor([1e200]) * 1e200),
        ("sum", lambda: Tensor([1.7e308, 1.7e308]).sum()),
        ("mean", lambda: Tensor(np.zeros(0)).mean()),
    ],
)
def test_non_finite_results_raise_naming_the_op(op: str, f: Callable[[], Tensor]) -> None:
    with pytest.raises(NonFiniteError, match=op), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        f()


def test_a_local_derivative_that_overflows_is_an_error() -> None:
    # 1/x at 1e-160 is 1e160, finite; its derivative -1/x^2 = -1e320 is not
    with pytest.raises(NonFiniteError, match="local derivative"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        Tensor([1e-160, 4.0]).reciprocal()


def test_sqrt_at_zero_is_outside_its_domain() -> None:
    # sqrt(0) = 0 is finite, its derivative 1 / (2 sqrt(0)) is not: refused before computing
    with pytest.raises(NonFiniteError, match=r"1 element\(s\) are outside its domain.*slope"):
        Tensor([0.0, 4.0]) ** 0.5


def test_a_gradient_that_overflows_during_backward_is_an_error() -> None:
    x = Tensor([1e300, 1.0])
    y = (x * 1e-300) * 1e300  # finite values, but upstream 1e300 * local 1e300 overflows
    with pytest.raises(NonFiniteError, match="gradient"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y.backward(np.array([1e300, 1.0]))


@pytest.mark.parametrize(
    "f",
    [
        pytest.param(lambda: Tensor([-1.0]).log(), id="log-negative"),
        pytest.param(lambda: Tensor([0.0]).log(), id="log-zero"),
        pytest.param(lambda: Tensor([1.0]) / 0.0, id="truediv"),
        pytest.param(lambda: 1.0 / Tensor([0.0]), id="rtruediv"),
        pytest.param(lambda: Tensor([1000.0]).exp(), id="exp"),
        pytest.param(lambda: Tensor([0.0]) ** -1, id="pow-negative-at-zero"),
        pytest.param(lambda: Tensor([-1.0]) ** 0.5, id="pow-fraction-of-negative"),
        pytest.param(lambda: Tensor([0.0]) ** 0.5, id="local-of-sqrt-at-zero"),
        pytest.param(lambda: Tensor([1.0]) / Tensor([1e-200]), id="local-of-division-by-tiny"),
        pytest.param(
            lambda: ((Tensor([1e300]) * 1e-300) * 1e300).backward(np.array([1e300])),
            id="backward-overflow",
        ),
    ],
)
def test_non_finite_error_comes_without_a_numpy_warning(f: Callable[[], object]) -> None:
    """As for Values: the error is the engine's own, also when warnings are errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError):
            f()


@pytest.mark.parametrize(
    "f",
    [
        pytest.param(lambda: Tensor([1e200]) * 1e200, id="mul-overflow"),
        pytest.param(lambda: Tensor([1.7e308]) + 1.7e308, id="add-overflow"),
        pytest.param(lambda: Tensor([1e200]) ** 2, id="pow-overflow"),
        pytest.param(lambda: Tensor([1.7e308, 1.7e308]).sum(), id="sum-overflow"),
    ],
)
def test_overflow_in_an_op_defined_everywhere_is_an_error(f: Callable[[], object]) -> None:
    """Float overflow in add, mul, x ** 2 or sum is the engine's error too. numpy may warn
    first: these ops (the hot path of training) do not pay for np.errstate on every call,
    and only ops with a restricted domain run under it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(NonFiniteError):
            f()


def test_stable_ops_do_not_overflow_far_out() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Tensor([-1000.0, 0.0, 1000.0])
        assert x.sigmoid().data.tolist() == [0.0, 0.5, 1.0]
        assert x.tanh().data.tolist() == [-1.0, 0.0, 1.0]
        assert allclose(x.softmax().data, [0.0, 0.0, 1.0])
        assert allclose(x.log_softmax().data, [-2000.0, -1000.0, 0.0])
        loss = x.cross_entropy(0)
        assert allclose(loss.data, 2000.0)
        loss.backward()
        assert allclose(x.grad, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("a", "b"),
    [((2, 3), (2, 3)), ((3,), (2,)), ((2, 3), (4,)), ((4,), (3, 2)), ((2, 5), (4, 5))],
)
def test_matmul_shape_mismatch_names_both_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    with pytest.raises(ValueError) as info:
        Tensor(np.ones(a)) @ Tensor(np.ones(b))
    assert str(a) in str(info.value) and str(b) in str(info.value)
    assert "matmul" in str(info.value)


def test_elementwise_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError) as info:
        Tensor(np.ones((2, 3))) + Tensor(np.ones((4,)))
    assert "(2, 3)" in str(info.value) and "(4,)" in str(info.value)


@pytest.mark.parametrize(
    ("logits", "targets", "error", "match"),
    [
        ((2, 3), [0.0, 1.0], TypeError, "integer"),
        ((2, 3), np.array([0.0, 1.0]), TypeError, "float64"),
        ((2, 3), [True, False], TypeError, "bool"),
        ((3,), 1.0, TypeError, "integer"),
        ((2, 3), [0, 3], ValueError, r"\[0, 3\)"),
        ((2, 3), [-1, 0], ValueError, "-1"),
        ((3,), 5, ValueError, "5"),
        ((2, 3), [0, 1, 2], ValueError, "2 targets"),
        ((2, 3), [0], ValueError, "2 targets"),
        ((2, 3), [[0], [1]], ValueError, r"\(2, 1\)"),
        ((3,), [1], ValueError, "one integer target"),
        ((2, 2, 2), [0, 1], ValueError, r"\(N, C\)"),
        ((), 0, ValueError, r"\(N, C\)"),
    ],
)
def test_cross_entropy_target_errors(
    logits: tuple[int, ...], targets: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Tensor(np.zeros(logits)).cross_entropy(targets)


def test_tensor_and_value_do_not_mix() -> None:
    t: Any = Tensor([1.0, 2.0])  # Any: these mistakes are the point, not type errors
    v: Any = Value(1.0)
    for f in (
        lambda: t + v,
        lambda: v + t,
        lambda: t * v,
        lambda: v * t,
        lambda: t - v,
        lambda: t / v,
        lambda: t.maximum(v),
        lambda: t @ v,
        lambda: concatenate([t, v]),
    ):
        with pytest.raises(TypeError):
            f()
    with pytest.raises(TypeError, match="Value"):
        t + v


def test_other_operand_errors() -> None:
    x = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="exponent"):
        x ** "2"  # type: ignore[operator]
    assert np.allclose((x ** Tensor([2.0])).data, [1.0, 4.0])  # a tensor exponent is a gate
    with pytest.raises(TypeError):
        x + "1"
    with pytest.raises(TypeError, match="Tensor"):
        x[Tensor([0.0])]


@pytest.mark.parametrize(
    ("f", "error", "match"),
    [
        (lambda x: x.sum(axis=3), ValueError, "axis 3"),
        (lambda x: x.mean(axis=(0, 0)), ValueError, "repeats"),
        (lambda x: x.max(axis=-4), ValueError, "axis -4"),
        (lambda x: x.reshape(5, 5), ValueError, r"\(2, 3, 4\)"),
        (lambda x: x.transpose(0, 1), ValueError, "permutation"),
        (lambda x: x.transpose(0, 0, 1), ValueError, "permutation"),
        (lambda x: x[2], IndexError, r"\(2, 3, 4\)"),
        (lambda x: x.softmax(axis=3), ValueError, "axis 3"),
        (lambda x: concatenate([x, x[0]]), ValueError, "axes"),
        (lambda x: concatenate([x, x[:, :1, :2]]), ValueError, "concatenate"),
        (lambda x: concatenate([]), ValueError, "at least one"),
        (lambda x: Tensor(np.zeros((2, 0))).max(), ValueError, "empty"),
    ],
)
def test_shape_errors_are_clear(f: TensorFn, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        f(Tensor(np.zeros((2, 3, 4))))


@pytest.mark.parametrize("axes", [(2, 1), (3, 0), (0, -3), (1, 1), (0,), (0, 1, 2)])
def test_transpose_rejects_axes_that_are_not_a_permutation(axes: tuple[int, ...]) -> None:
    # out-of-range axes are refused, not taken modulo ndim ((2, 1) is not the identity)
    with pytest.raises(ValueError, match="permutation"):
        Tensor(np.zeros((2, 3))).transpose(*axes)


# -- on_step ---------------------------------------------------------------------------------------


def test_on_step_reports_each_gate_once_with_matching_shapes() -> None:
    W, b, x, _, loss = small_net()
    steps: list[BackwardStep] = []
    loss.backward(on_step=steps.append)
    with_steps = {id(t): np.array(t.grad) for t in (W, b, x)}

    gates = [node for node in topological_order(loss) if node.gate is not None]
    assert sorted(id(s.gate) for s in steps) == sorted(id(g) for g in gates)
    assert steps[0].gate is loss  # the walk starts at the root ...
    for i, step in enumerate(steps):
        gate = step.gate
        # ... and reaches a gate only after every gate that uses it: no later step sends to it
        assert all(gate is not p for later in steps[i:] for p in later.gate.parents)
        assert np.shape(step.upstream) == gate.shape
        assert len(step.local_grads) == len(step.downstream) == len(gate.parents)
        assert all(a is b for a, b in zip(step.local_grads, gate.local_grads, strict=True))
        for parent, local, down in zip(
            gate.parents, step.local_grads, step.downstream, strict=True
        ):
            if not parent.requires_grad:
                continue
            assert np.shape(down) == parent.shape
            assert allclose(down, np.asarray(step.upstream) * local)  # downstream = up x local

    loss.zero_grad()
    loss.backward()
    for t in (W, b, x):
        assert np.array_equal(t.grad, with_steps[id(t)])


def test_on_step_sees_a_reused_tensor_on_both_edges() -> None:
    x = Tensor([1.0, -3.0])
    steps: list[BackwardStep] = []
    (x * x).backward(np.array([1.0, 1.0]), on_step=steps.append)
    (step,) = steps
    assert len(step.gate.parents) == 2
    assert all(p is x for p in step.gate.parents)
    assert [d.tolist() for d in step.downstream] == [[1.0, -3.0], [1.0, -3.0]]
    assert x.grad.tolist() == [2.0, -6.0]


def test_on_step_is_not_called_for_a_leaf_root() -> None:
    steps: list[BackwardStep] = []
    x = Tensor(2.0)
    x.backward(on_step=steps.append)
    assert steps == []


# -- user-defined ops and gradcheck's blame ------------------------------------------------------

SQUARE = Op(
    "square",
    "x²",
    1,
    forward=np.square,
    local=lambda a, out: (2.0 * a,),
    formula="d(x^2)/dx = 2x",
)
BAD_SQUARE = Op(
    "bad_square",
    "x²?",
    1,
    forward=np.square,
    local=lambda a, out: (a,),  # wrong on purpose: should be 2a
    formula="d(x^2)/dx = x (wrong)",
)
TRIPLE = Op("triple", "3x", 1, forward=lambda a: 3.0 * a, local=lambda a, out: (3.0,), formula="3")
HYPOT = Op(
    "hypot",
    "hypot",
    2,
    forward=np.hypot,
    local=lambda a, b, out: (a / out, b / out),
    formula="d hypot/da = a / hypot, d hypot/db = b / hypot",
)


class FlipBack(LinearMap):
    """The Jacobian of reversing the last axis: reverse the upstream back."""

    __slots__ = ("flip",)

    def __init__(self, flip: bool = True) -> None:
        self.flip = flip

    def apply(self, upstream: Array) -> Array:
        return upstream[..., ::-1] if self.flip else upstream

    @property
    def formula(self) -> str:
        return "upstream reversed" if self.flip else "upstream (wrong)"


FLIP = Op(
    "flip",
    "flip",
    1,
    forward=lambda a: a[..., ::-1],
    local=lambda a, out: (FlipBack(),),
    formula="reversed",
)
BAD_FLIP = Op(
    "bad_flip",
    "flip?",
    1,
    forward=lambda a: a[..., ::-1],
    local=lambda a, out: (FlipBack(flip=False),),
    formula="not reversed (wrong)",
)


@pytest.mark.parametrize(
    ("f", "inputs"),
    [
        pytest.param(lambda a: autograd.apply(SQUARE, a).sum(), [normal("sq", 3, 2)], id="array"),
        pytest.param(lambda a: autograd.apply(TRIPLE, a.tanh()), [normal("tr", 4)], id="number"),
        pytest.param(
            lambda a, b: autograd.apply(HYPOT, a, b),
            [away_from_zero("ha", 3, 1), away_from_zero("hb", 1, 4)],
            id="broadcast",
        ),
        pytest.param(lambda a: autograd.apply(FLIP, a) * a, [normal("fl", 2, 3)], id="linear-map"),
    ],
)
def test_a_correct_user_op_passes_gradcheck(f: TensorFn, inputs: list[Array]) -> None:
    assert check(f, inputs)
    assert find_wrong_tensor_gate(f(*(Tensor(x) for x in inputs))) is None


@pytest.mark.parametrize(
    ("op", "f"),
    [
        (BAD_SQUARE, lambda a: (autograd.apply(BAD_SQUARE, a.tanh()) * 2.0).sum()),
        (BAD_FLIP, lambda a: (autograd.apply(BAD_FLIP, a) * a).mean()),
    ],
    ids=["array-local", "linear-map-local"],
)
def test_a_wrong_user_op_fails_gradcheck_and_is_blamed(op: Op, f: TensorFn) -> None:
    with pytest.raises(GradcheckError) as info:
        check(f, [normal("bad", 2, 3)])
    blamed = info.value.blamed_gate
    assert blamed is not None
    assert blamed.node.gate is op
    assert blamed.input_index == 0
    assert op.name in blamed.describe()
    assert op.name in str(info.value)
    assert "mismatch" in str(info.value)


def test_gradcheck_rejects_float32_inputs() -> None:
    with pytest.raises(TypeError, match="float64"):
        check(lambda a: a.sum(), [Tensor([1.0], dtype="float32")])


def test_gradcheck_leaves_the_callers_tensors_alone() -> None:
    x = Tensor([1.0, 2.0], "x")
    assert check(lambda a: (a * a).sum(), [x])
    assert x.grad.tolist() == [0.0, 0.0]
    assert x.data.tolist() == [1.0, 2.0]


def test_backward_refuses_a_seed_of_strings() -> None:
    y = Tensor([1.0, 2.0]) * 2.0
    with pytest.raises(TypeError, match="real numbers"):
        y.backward(["1", "2"])


def test_changing_an_index_array_afterwards_does_not_move_the_gradient() -> None:
    x = Tensor([1.0, 2.0, 3.0])
    idx = np.array([0, 1])
    y = x[idx]
    idx[0] = 2
    y.backward(np.array([1.0, 10.0]))
    assert x.grad.tolist() == [1.0, 10.0, 0.0]


def test_a_float32_leaf_keeps_float32_gradients_next_to_float64() -> None:
    small = Tensor([1.0, 2.0], dtype="float32")
    wide = Tensor([[3.0, 4.0], [5.0, 6.0]])
    (small * wide).sum().backward()
    assert small.grad.dtype == np.float32
    assert small.grad.tolist() == [8.0, 10.0]
    assert wide.grad.dtype == np.float64


def test_cross_entropy_of_an_empty_batch_is_an_error_not_nan() -> None:
    with pytest.raises(ValueError, match="empty batch"):
        Tensor(np.zeros((0, 3))).cross_entropy(np.zeros(0, dtype=int))


# -- a leaf's gradient before backward: zeros that cost nothing ---------------------------------


def test_a_fresh_leaf_gradient_reads_as_zeros_of_its_shape() -> None:
    from autograd.tensor import ZeroGrad

    w = Tensor(np.ones((3, 2)))
    assert isinstance(w.grad, np.ndarray) and isinstance(w.grad, ZeroGrad)
    assert w.grad.shape == (3, 2) and w.grad.dtype == np.float64
    assert not w.grad.any()
    doubled = w.grad * 2 + 1  # arithmetic gives plain arrays
    assert type(doubled) is np.ndarray and doubled.tolist() == [[1.0, 1.0]] * 3
    assert repr(w.grad).startswith("array(")
    with pytest.raises(ValueError, match="read-only"):
        w.grad += 1.0  # nothing may write into the shared zeros


def test_two_leaves_added_get_separate_gradient_arrays() -> None:
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.tolist() == b.grad.tolist() == [1.0, 1.0]
    assert a.grad is not b.grad and not np.shares_memory(a.grad, b.grad)
    a.grad *= 5.0  # writable, and changes nothing else
    assert b.grad.tolist() == [1.0, 1.0]


def test_gradients_accumulate_from_zero_grad_over_two_backward_passes() -> None:
    w = Tensor([[1.0, 2.0], [3.0, 4.0]])
    x = Tensor([1.0, -1.0], requires_grad=False)
    for _ in range(2):
        (w @ x).sum().backward()
    assert w.grad.tolist() == [[2.0, -2.0], [2.0, -2.0]]
    w.zero_grad()
    assert not w.grad.any()
    (w * w).sum().backward()  # a leaf used twice: 2 w
    assert w.grad.tolist() == [[2.0, 4.0], [6.0, 8.0]]


def test_the_cross_entropy_op_keeps_no_state_between_its_rules() -> None:
    """Its local rule needs nothing from its forward rule: it runs alone, twice, or never
    (in no_grad, where the old op kept every forward's softmax: 24 arrays after a gradcheck)."""
    from autograd.tensor import _cross_entropy_op

    logits = Tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    op = _cross_entropy_op(logits, [1, 2])
    local = op.local
    first = local(logits.data, None)[0]
    assert np.array_equal(local(logits.data, None)[0], first)  # the same answer again
    s = np.exp(logits.data) / np.exp(logits.data).sum(axis=1, keepdims=True)
    assert np.allclose(first, (s - np.eye(3)[[1, 2]]) / 2)
    closures = [c.cell_contents for f in (op.on_arrays, op.local) for c in (f.__closure__ or ())]
    assert not any(isinstance(c, list) for c in closures)  # no list of kept arrays

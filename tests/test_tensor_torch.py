"""Cross-check of Tensor against PyTorch: the same function, run in both engines in float64.

Every case runs a function on random inputs in our engine and in torch (``requires_grad``
leaves), compares the output, then back-propagates the same random upstream gradient through
both and compares the gradient of every input. Shapes are drawn by Hypothesis (1 to 3 axes of
1 to 4), broadcasting included; the data by numpy from a drawn seed, so inputs are continuous
and ties or kinks only appear where a test puts them on purpose.

Where a derivative is a convention rather than a limit the two engines agree too: ``amax`` over
tied maxima splits the gradient evenly (``torch.max(dim)`` would route it to one index, so
``torch.amax`` is the counterpart of our ``max``), ``maximum`` at a tie gives 1/2 to each input,
and ``relu`` at 0 gives 0.

Tolerance: ``|ours - torch| <= ATOL + RTOL |torch|`` with RTOL = 1e-10 and ATOL = 1e-12. The two
compute the same formulas, but sums, matrix products and the transcendental functions may round
differently in the last bits; every value here is O(1) to O(10), so those differences stay near
1e-15, far below a wrong rule, which is off by a fair fraction of the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from autograd import Tensor, concatenate

torch = pytest.importorskip(
    "torch",
    reason="the PyTorch cross-check needs torch (pip install torch==2.13.0, a CPU build)",
)
F = torch.nn.functional

Array = NDArray[Any]
Fn = Callable[..., Any]

RTOL = 1e-10
ATOL = 1e-12

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def close(ours: Any, theirs: Any) -> bool:
    return bool(np.allclose(ours, theirs, rtol=RTOL, atol=ATOL))


def uniform(seed: int, shape: Sequence[int], low: float = -2.0, high: float = 2.0) -> Array:
    return np.random.default_rng(seed).uniform(low, high, tuple(shape))


def check_against_torch(ours: Fn, theirs: Fn, inputs: Sequence[Array]) -> None:
    """Run ``ours`` on Tensors and ``theirs`` on torch tensors; compare the output and, for one
    random upstream gradient, the gradient of every input."""
    leaves = [Tensor(x) for x in inputs]
    out = ours(*leaves)
    torch_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    torch_out = theirs(*torch_leaves)

    assert out.shape == tuple(torch_out.shape), f"shape: ours {out.shape}, torch {torch_out.shape}"
    expected = torch_out.detach().numpy()
    assert close(out.data, expected), f"forward: ours {out.data}, torch {expected}"

    upstream = np.random.default_rng(12345).standard_normal(out.shape)
    out.backward(upstream)
    torch_out.backward(torch.tensor(upstream, dtype=torch.float64))
    for i, (leaf, t) in enumerate(zip(leaves, torch_leaves, strict=True)):
        # an input the output does not depend on gets no .grad in torch: its gradient is 0
        theirs_grad = np.zeros(leaf.shape) if t.grad is None else t.grad.numpy()
        assert leaf.grad.shape == theirs_grad.shape
        assert close(leaf.grad, theirs_grad), (
            f"d out / d input {i}: ours {leaf.grad}, torch {theirs_grad}"
        )


# -- elementwise ops, broadcasting included ------------------------------------------------------

BINARY: dict[str, tuple[Fn, Fn]] = {
    "add": (lambda a, b: a + b, torch.add),
    "sub": (lambda a, b: a - b, torch.sub),
    "mul": (lambda a, b: a * b, torch.mul),
    "truediv": (lambda a, b: a / b, torch.true_divide),
    "maximum": (lambda a, b: a.maximum(b), torch.maximum),
    "minimum": (lambda a, b: a.minimum(b), torch.minimum),
}


@pytest.mark.parametrize("op", list(BINARY))
@settings(max_examples=30, deadline=None)
@given(
    pair=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=1, max_side=4),
    seed=seeds,
)
def test_binary_ops_with_broadcasting_match_torch(
    op: str, pair: hnp.BroadcastableShapes, seed: int
) -> None:
    sa, sb = pair.input_shapes
    a = uniform(seed, sa)
    b = uniform(seed + 1, sb, 0.5, 2.0) * np.where(uniform(seed + 2, sb) < 0, -1.0, 1.0)
    ours, theirs = BINARY[op]
    check_against_torch(ours, theirs, [a, b])


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda a: 2.0 - a * 3, lambda a: 2.0 - a * 3),
        (lambda a: 1.5 / a + a / 4, lambda a: 1.5 / a + a / 4),
        (lambda a: a.maximum(0.25), lambda a: torch.clamp(a, min=0.25)),
        (lambda a: a * np.array([1.0, -2.0, 0.5]), lambda a: a * torch.tensor([1.0, -2.0, 0.5])),
    ],
    ids=["rsub-rmul", "rtruediv", "maximum-number", "array-constant"],
)
def test_number_and_array_constants_match_torch(ours: Fn, theirs: Fn) -> None:
    x = uniform(7, (4, 3), 0.5, 2.0) * np.array([1.0, -1.0, 1.0])
    check_against_torch(ours, theirs, [x])


UNARY: dict[str, tuple[Fn, Fn, tuple[float, float]]] = {
    "neg": (lambda a: -a, torch.neg, (-3.0, 3.0)),
    "exp": (lambda a: a.exp(), torch.exp, (-3.0, 3.0)),
    "log": (lambda a: a.log(), torch.log, (0.1, 5.0)),
    "sigmoid": (lambda a: a.sigmoid(), torch.sigmoid, (-6.0, 6.0)),
    "tanh": (lambda a: a.tanh(), torch.tanh, (-3.0, 3.0)),
    "relu": (lambda a: a.relu(), torch.relu, (-2.0, 2.0)),
    "pow2": (lambda a: a**2, lambda t: t**2, (-3.0, 3.0)),
    "pow3": (lambda a: a**3, lambda t: t**3, (-2.0, 2.0)),
    "pow-1": (lambda a: a**-1, lambda t: t**-1, (0.5, 3.0)),
    "pow0.5": (lambda a: a**0.5, torch.sqrt, (0.1, 5.0)),
    "pow1.5": (lambda a: a**1.5, lambda t: t**1.5, (0.1, 5.0)),
    "abs": (lambda a: a.abs(), torch.abs, (-3.0, 3.0)),
    "sqrt": (lambda a: a.sqrt(), torch.sqrt, (0.1, 5.0)),
    "sin": (lambda a: a.sin(), torch.sin, (-4.0, 4.0)),
    "cos": (lambda a: a.cos(), torch.cos, (-4.0, 4.0)),
    "softplus": (lambda a: a.softplus(), F.softplus, (-6.0, 6.0)),
}


@pytest.mark.parametrize("op", list(UNARY))
@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds)
def test_unary_ops_match_torch(op: str, shape: tuple[int, ...], seed: int) -> None:
    ours, theirs, (low, high) = UNARY[op]
    check_against_torch(ours, theirs, [uniform(seed, shape, low, high)])


def test_zero_dimensional_tensors_match_torch() -> None:
    check_against_torch(
        lambda s, x: (s * x + s).tanh() / (s.exp() + 1.0),
        lambda s, x: (s * x + s).tanh() / (s.exp() + 1.0),
        [np.array(0.7), uniform(3, (2, 3))],
    )


# -- matmul ----------------------------------------------------------------------------------------


@st.composite
def matmul_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    k, n, m = (draw(st.integers(1, 4)) for _ in range(3))
    left = draw(st.sampled_from([(n,), (k, n)]))
    right = draw(st.sampled_from([(n,), (n, m)]))
    return left, right


@settings(max_examples=30, deadline=None)
@given(pair=matmul_shapes(), seed=seeds)
def test_matmul_1d_and_2d_match_torch(
    pair: tuple[tuple[int, ...], tuple[int, ...]], seed: int
) -> None:
    sa, sb = pair
    check_against_torch(
        lambda a, b: a @ b, torch.matmul, [uniform(seed, sa), uniform(seed + 1, sb)]
    )


# -- reductions --------------------------------------------------------------------------------


@st.composite
def reductions(draw: st.DrawFn) -> tuple[tuple[int, ...], int | tuple[int, ...] | None, bool]:
    shape = draw(shapes)
    ndim = len(shape)
    axis = draw(
        st.none()
        | st.integers(-ndim, ndim - 1)
        | st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    )
    return shape, axis, draw(st.booleans())


def torch_dims(axis: int | tuple[int, ...] | None, ndim: int) -> int | tuple[int, ...]:
    # torch's amax treats dim=() as "every axis"; spell every axis out instead
    return tuple(range(ndim)) if axis is None else axis


TORCH_REDUCTIONS: dict[str, Fn] = {
    "sum": torch.sum,
    "mean": torch.mean,
    "max": torch.amax,
    "min": torch.amin,
}


def reduction_pair(
    kind: str, axis: int | tuple[int, ...] | None, keepdims: bool, ndim: int
) -> tuple[Fn, Fn]:
    def ours(a: Tensor) -> Tensor:
        return getattr(a, kind)(axis=axis, keepdims=keepdims)  # type: ignore[no-any-return]

    def theirs(t: Any) -> Any:
        return TORCH_REDUCTIONS[kind](t, dim=torch_dims(axis, ndim), keepdim=keepdims)

    return ours, theirs


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@settings(max_examples=30, deadline=None)
@given(case=reductions(), seed=seeds)
def test_reductions_match_torch(
    kind: str, case: tuple[tuple[int, ...], Any, bool], seed: int
) -> None:
    shape, axis, keepdims = case
    ours, theirs = reduction_pair(kind, axis, keepdims, len(shape))
    check_against_torch(ours, theirs, [uniform(seed, shape)])


@pytest.mark.parametrize("kind", ["max", "min"])
@settings(max_examples=30, deadline=None)
@given(case=reductions(), seed=seeds)
def test_max_and_min_with_ties_split_like_torch_amax_and_amin(
    kind: str, case: tuple[tuple[int, ...], Any, bool], seed: int
) -> None:
    """Few distinct values, so most groups have tied maxima (minima): both split the gradient
    evenly, as torch.amax (torch.amin) does."""
    shape, axis, keepdims = case
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
    ours, theirs = reduction_pair(kind, axis, keepdims, len(shape))
    check_against_torch(ours, theirs, [x])


def test_max_ties_split_like_torch_amax_not_like_max_dim() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    ours, theirs = reduction_pair("max", 1, False, 2)
    check_against_torch(ours, theirs, [x])
    t = Tensor(x)
    t.max(axis=1).sum().backward()
    assert t.grad.tolist() == [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]


def test_maximum_tie_and_relu_at_zero_like_torch() -> None:
    a, b = np.array([1.0, 2.0, -1.0]), np.array([1.0, 0.0, -1.0])
    check_against_torch(lambda x, y: x.maximum(y), torch.maximum, [a, b])
    check_against_torch(lambda x: x.relu(), torch.relu, [np.array([0.0, -0.0, 1.0, -1.0])])


def test_minimum_tie_and_abs_at_zero_like_torch() -> None:
    a, b = np.array([1.0, 2.0, -1.0]), np.array([1.0, 0.0, -1.0])
    check_against_torch(lambda x, y: x.minimum(y), torch.minimum, [a, b])
    check_against_torch(lambda x: x.abs(), torch.abs, [np.array([0.0, -0.0, 1.0, -1.0])])


# -- shapes: reshape, transpose, indexing, concatenate ---------------------------------------------


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_reshape_matches_torch(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    size = math.prod(shape)
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    d = data.draw(st.sampled_from(divisors), label="d")
    target = data.draw(st.sampled_from([(d, -1), (-1,), (size // d, 1, d), shape[::-1]]))
    check_against_torch(
        lambda a: a.reshape(target) * a.reshape(target),
        lambda t: t.reshape(target) * t.reshape(target),
        [uniform(seed, shape)],
    )


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_transpose_matches_torch_permute(
    shape: tuple[int, ...], seed: int, data: st.DataObject
) -> None:
    axes = tuple(data.draw(st.permutations(range(len(shape))), label="axes"))
    x = uniform(seed, shape)
    check_against_torch(lambda a: a.transpose(*axes), lambda t: t.permute(*axes), [x])
    reverse = tuple(range(len(shape)))[::-1]
    check_against_torch(lambda a: a.T.exp(), lambda t: t.permute(*reverse).exp(), [x])


def to_torch_key(key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(to_torch_key(k) for k in key)
    if isinstance(key, np.ndarray):
        return torch.from_numpy(key)
    return key


@st.composite
def index_keys(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """An int, a slice, an integer array with repeats, a pair of arrays, or a mix."""
    n = shape[0]
    picks = st.lists(st.integers(-n, n - 1), min_size=1, max_size=6).map(np.array)
    ints = st.integers(-n, n - 1)
    slices = st.builds(
        slice, st.none() | st.integers(-n, n), st.none() | st.integers(-n, n), st.integers(1, 3)
    )
    kinds = [ints, slices, picks]
    if len(shape) >= 2:
        m = shape[1]
        second = st.lists(st.integers(-m, m - 1), min_size=1, max_size=6).map(np.array)
        kinds.append(st.tuples(ints, slices))
        kinds.append(st.tuples(slices, second))
        kinds.append(
            st.integers(1, 5).flatmap(
                lambda k: st.tuples(
                    st.lists(st.integers(0, n - 1), min_size=k, max_size=k).map(np.array),
                    st.lists(st.integers(0, m - 1), min_size=k, max_size=k).map(np.array),
                )
            )
        )
    return draw(st.one_of(kinds))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_indexing_matches_torch(shape: tuple[int, ...], seed: int, data: st.DataObject) -> None:
    key = data.draw(index_keys(shape), label="key")
    x = uniform(seed, shape)
    assume(x[key].size > 0)  # torch and numpy agree on empty picks, but nothing is checked
    check_against_torch(
        lambda a: a[key] * a[key], lambda t: t[to_torch_key(key)] * t[to_torch_key(key)], [x]
    )


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_concatenate_three_matches_torch(
    shape: tuple[int, ...], seed: int, data: st.DataObject
) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=3, max_size=3), label="sizes")
    parts = []
    for i, n in enumerate(sizes):
        part_shape = list(shape)
        part_shape[axis] = n
        parts.append(uniform(seed + i, part_shape))
    check_against_torch(
        lambda a, b, c: concatenate([a, b, c], axis=axis) ** 2,
        lambda a, b, c: torch.cat([a, b, c], dim=axis) ** 2,
        parts,
    )


# -- softmax, log_softmax, cross-entropy -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["softmax", "log_softmax"])
@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=seeds, data=st.data())
def test_softmax_and_log_softmax_match_torch(
    kind: str, shape: tuple[int, ...], seed: int, data: st.DataObject
) -> None:
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    check_against_torch(
        lambda a: getattr(a, kind)(axis=axis),
        lambda t: getattr(torch, kind)(t, dim=axis),
        [uniform(seed, shape, -5.0, 5.0)],
    )


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), classes=st.integers(1, 5), seed=seeds, data=st.data())
def test_cross_entropy_matches_torch(n: int, classes: int, seed: int, data: st.DataObject) -> None:
    targets = np.array(
        data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n), label="targets")
    )
    check_against_torch(
        lambda a: a.cross_entropy(targets),
        lambda t: F.cross_entropy(t, torch.from_numpy(targets)),
        [uniform(seed, (n, classes), -5.0, 5.0)],
    )


@settings(max_examples=30, deadline=None)
@given(classes=st.integers(1, 5), seed=seeds, data=st.data())
def test_cross_entropy_of_one_example_matches_torch(
    classes: int, seed: int, data: st.DataObject
) -> None:
    target = data.draw(st.integers(0, classes - 1), label="target")
    check_against_torch(
        lambda a: a.cross_entropy(target),
        lambda t: F.cross_entropy(t, torch.tensor(target)),
        [uniform(seed, (classes,), -5.0, 5.0)],
    )


def test_cross_entropy_far_out_matches_torch() -> None:
    logits = np.array([[-800.0, 0.0, 800.0], [300.0, -300.0, 0.0]])
    targets = np.array([0, 0])
    check_against_torch(
        lambda a: a.cross_entropy(targets),
        lambda t: F.cross_entropy(t, torch.from_numpy(targets)),
        [logits],
    )


# -- whole programs ----------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 4),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    seed=seeds,
)
def test_a_two_layer_network_matches_torch(
    batch: int, sizes: tuple[int, int, int], seed: int
) -> None:
    n_in, hidden, classes = sizes
    targets = np.random.default_rng(seed).integers(0, classes, batch)

    def network(ce: Fn, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        h = (x @ w1.T + b1).relu()
        return ce(h @ w2.T + b2)

    inputs = [
        uniform(seed, (batch, n_in)),
        uniform(seed + 1, (hidden, n_in)),
        uniform(seed + 2, (hidden,)),
        uniform(seed + 3, (classes, hidden)),
        uniform(seed + 4, (classes,)),
    ]
    assume(bool(np.all(np.abs(inputs[0] @ inputs[1].T + inputs[2]) > 1e-6)))  # no relu at 0
    check_against_torch(
        lambda *ts: network(lambda z: z.cross_entropy(targets), *ts),
        lambda *ts: network(lambda z: F.cross_entropy(z, torch.from_numpy(targets)), *ts),
        inputs,
    )


@settings(max_examples=30, deadline=None)
@given(
    shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, min_side=1, max_side=4),
    seed=seeds,
)
def test_a_mixed_expression_with_broadcasting_and_reductions_matches_torch(
    shapes3: hnp.BroadcastableShapes, seed: int
) -> None:
    """Every kind of op in one graph, with a tensor used several times."""

    def f(a: Any, b: Any, c: Any, maximum: Fn, mean: Fn, softmax: Fn) -> Any:
        h = (a * b - c / (b * b + 1.0)).tanh()
        g = maximum(h, c.sigmoid()) * (a**2 + 1.0).log() + h * h
        return softmax(g.reshape(-1) * mean(g)) * (g.exp().sum() + 1.0)

    inputs = [uniform(seed + i, s) for i, s in enumerate(shapes3.input_shapes)]
    check_against_torch(
        lambda a, b, c: f(a, b, c, Tensor.maximum, Tensor.mean, Tensor.softmax),
        lambda a, b, c: f(a, b, c, torch.maximum, torch.mean, lambda t: torch.softmax(t, dim=-1)),
        inputs,
    )

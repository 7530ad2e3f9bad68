"""autograd.grad and autograd.jacobian: derivatives on request, every .grad left alone."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import NonFiniteError, Tensor, Value


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
        autograd.grad(Value(1.0) * 2, Tensor([1.0]))  # type: ignore[call-overload]
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
        J[(..., *j)] = (f(Tensor(plus)).data - f(Tensor(minus)).data) / (2 * eps)
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

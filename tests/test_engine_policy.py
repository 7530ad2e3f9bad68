"""Bugs found by other projects' test suites (issue 11): a seed for Value.backward, a failed
backward that changes nothing, one-axis ops that refuse several axes, no inf from
log_softmax or cross_entropy, and Tensor gradchecks with constant operands."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
from autograd import NonFiniteError, Op, Tensor, Value, apply
from autograd.tensor import concatenate


def test_value_backward_takes_a_seed() -> None:
    x = Value(3.0, "x")
    y = x * x
    y.backward(5.0)
    assert x.grad == 5.0 * 6.0
    y.backward()  # accumulates, seed 1
    assert x.grad == 5.0 * 6.0 + 6.0


@pytest.mark.parametrize(
    ("seed", "error", "words"),
    [
        (lambda step: None, TypeError, "on_step="),
        ("1", TypeError, "real number"),
        (True, TypeError, "real number"),
        (float("inf"), NonFiniteError, "finite"),
        (float("nan"), NonFiniteError, "finite"),
    ],
)
def test_a_bad_seed_is_refused_before_anything_changes(
    seed: object, error: type[Exception], words: str
) -> None:
    x = Value(2.0, "x")
    y = x * x
    with pytest.raises(error, match=words):
        y.backward(seed)  # type: ignore[arg-type]
    assert x.grad == 0.0 and y.grad == 0.0


def test_a_backward_that_fails_part_way_changes_no_gradient() -> None:
    x = Value(1e-200, "x")
    w = Value(3.0, "w")
    # forward 1e-200 * 1e200 * 1e200 = 1e200 is finite; the gradient reaching x * 1.0 is
    # 1e200 * 1e200 = inf. w's share is sent before that is found.
    f = w * 2.0 + (x * 1.0) * 1e200 * 1e200
    w.grad = 0.5  # a gradient accumulated earlier must survive the failed walk
    with pytest.raises(NonFiniteError):
        f.backward()
    assert w.grad == 0.5 and x.grad == 0.0
    assert all(node._pending == 0 for node in autograd.topological_order(f))


def test_a_callback_that_raises_changes_no_gradient() -> None:
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    f = a * b + a
    seen: list[object] = []

    def stop(step: object) -> None:
        seen.append(step)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        f.backward(on_step=stop)
    assert (a.grad, b.grad) == (0.0, 0.0)
    f.backward()  # and the next backward is exactly one backward's worth
    assert (a.grad, b.grad) == (-3.0 + 1.0, 2.0)


def test_a_tensor_backward_that_fails_changes_no_gradient() -> None:
    x = Tensor([1e-200, 1e-200], "x")
    w = Tensor([3.0, 4.0], "w")
    f = (w * 2.0).sum() + ((x * 1.0) * 1e200 * 1e200).sum()
    with pytest.raises(NonFiniteError):
        f.backward()
    assert not np.any(x.grad) and not np.any(w.grad)


@pytest.mark.parametrize("axis", [None, (0, 1), (1,), 1.0])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_works_along_one_axis_and_says_so(op: str, axis: object) -> None:
    t = Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="one axis"):
        getattr(t, op)(axis=axis)


def test_concatenate_refuses_several_axes() -> None:
    t = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="concatenate works along one axis"):
        concatenate([t, t], axis=(1, 0))  # type: ignore[arg-type]


def test_log_softmax_and_cross_entropy_never_return_inf() -> None:
    logits = Tensor([1e308, -1e308])
    with pytest.raises(NonFiniteError, match="log_softmax"):
        logits.log_softmax(axis=0)
    with pytest.raises(NonFiniteError, match="cross_entropy"):
        Tensor([[1e308, -1e308]]).cross_entropy([1])
    # ordinary logits are unaffected
    assert np.allclose(np.exp(Tensor([1.0, 2.0, 3.0]).log_softmax(axis=0).data).sum(), 1.0)


WRONG_SCALE = Op(
    "wrong_scale",
    "wrong*",
    2,
    forward=lambda a, b: a * b,
    local=lambda a, b, out: (b * 2.0, a),  # d/da is b, not 2b: a wrong gate
    formula="d(ab)/da = 2b (wrong on purpose)",
)


@pytest.mark.parametrize(
    "constant", [3.0, np.array([1.0, 2.0]), Tensor([1.0, 2.0], requires_grad=False)]
)
def test_a_failing_tensor_gradcheck_names_the_gate_with_a_constant_operand(
    constant: object,
) -> None:
    x = Tensor([0.5, -1.5], "x")
    with pytest.raises(autograd.GradcheckError, match="wrong_scale"):
        autograd.gradcheck(lambda x: apply(WRONG_SCALE, x, constant).sum(), [x])


def test_find_wrong_gate_passes_a_correct_tensor_graph_with_constants() -> None:
    x = Tensor([0.5, -1.5], "x")
    f = (x * np.array([2.0, 3.0]) + 1.0).sum()
    f.backward()
    assert autograd.find_wrong_gate(f) is None

"""nn.losses: values against closed forms, gradients against central differences, stability at
extreme logits, the bias rule of regularisation, and the errors for odd labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteError, Value, gradcheck
from nn import MLP, softmax
from nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    hinge,
    is_bias,
    l1_penalty,
    l2_penalty,
    max_margin,
    mean,
    mean_squared_error,
    softmax_cross_entropy,
    squared_error,
    weights,
)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def softplus(z: float) -> float:
    """log(1 + e^z), exactly, for any z."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


finite = st.floats(-20.0, 20.0, allow_nan=False)
# gradcheck's central difference cannot see through a kink: stay eps away from z = 0
off_kink = finite.filter(lambda z: abs(z) > 1e-3)


# -- squared error -------------------------------------------------------------------------------


def test_squared_error_value_and_gradient() -> None:
    y = Value(3.0)
    loss = squared_error(y, 1.0)
    loss.backward()
    assert loss.data == 2.0  # 1/2 (3 - 1)^2
    assert y.grad == 2.0  # y - y*


@given(finite, finite)
def test_squared_error_gradcheck(y: float, target: float) -> None:
    assert gradcheck(lambda a, b: squared_error(a, b), [y, target])


def test_mean_squared_error_is_the_mean() -> None:
    loss = mean_squared_error([Value(1.0), Value(2.0), 4.0], [0.0, 0.0, 1.0])
    assert loss.data == pytest.approx((0.5 + 2.0 + 4.5) / 3, abs=1e-15)


def test_mean_gradient_is_one_over_n() -> None:
    xs = [Value(float(i)) for i in range(4)]
    mean(xs).backward()
    assert [x.grad for x in xs] == [0.25] * 4


# -- binary cross-entropy --------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.999])
@pytest.mark.parametrize("y", [0, 1])
def test_bce_from_probability_closed_form(p: float, y: int) -> None:
    expected = -(y * math.log(p) + (1 - y) * math.log(1 - p))
    assert binary_cross_entropy(Value(p), y).data == pytest.approx(expected, rel=1e-12)
    assert gradcheck(lambda q: binary_cross_entropy(q, y), [p])


@pytest.mark.parametrize("z", [-30.0, -3.0, -0.5, 0.0, 0.25, 2.0, 30.0])
@pytest.mark.parametrize("y", [0, 1])
def test_bce_with_logits_matches_probability_version(z: float, y: int) -> None:
    expected = softplus(z) - y * z  # = -[y log s(z) + (1-y) log(1 - s(z))]
    loss = binary_cross_entropy_with_logits(Value(z), y)
    # log(1 + e^-|z|) without a log1p gate: the tiny tail is exact to ~1e-16 absolute
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-15)
    if abs(z) < 10:
        via_p = binary_cross_entropy(Value(sigmoid(z)), y).data
        assert loss.data == pytest.approx(via_p, rel=1e-9)


@settings(max_examples=60)
@given(off_kink, st.sampled_from([0, 1]))
def test_bce_with_logits_gradcheck(z: float, y: int) -> None:
    assert gradcheck(lambda a: binary_cross_entropy_with_logits(a, y), [z])


@pytest.mark.parametrize("y", [0, 1])
def test_bce_with_logits_gradient_at_zero_is_sigmoid_minus_y(y: int) -> None:
    # the kinks of max(z, 0) and |z| cancel; the engine must still give d/dz = 1/2 - y
    z = Value(0.0)
    binary_cross_entropy_with_logits(z, y).backward()
    assert z.grad == 0.5 - y


@pytest.mark.parametrize("z", [-1e4, -800.0, -50.0, 50.0, 800.0, 1e4])
@pytest.mark.parametrize("y", [0, 1])
def test_bce_with_logits_is_stable_at_extreme_logits(z: float, y: int) -> None:
    logit = Value(z)
    loss = binary_cross_entropy_with_logits(logit, y)  # must not raise NonFiniteError
    loss.backward()
    # right side: the loss and gradient vanish; wrong side: the loss is |z|, slope -+1
    right = (z > 0) == (y == 1)
    assert loss.data == pytest.approx(0.0 if right else abs(z), abs=1e-12)
    assert logit.grad == pytest.approx(sigmoid(z) - y, abs=1e-12)
    assert math.isfinite(loss.data) and math.isfinite(logit.grad)


def test_bce_from_a_saturated_probability_says_use_logits() -> None:
    p = Value(40.0).sigmoid()
    assert p.data == 1.0
    with pytest.raises(NonFiniteError, match="with_logits"):
        binary_cross_entropy(p, 0)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bce_probability_outside_0_1(p: float) -> None:
    with pytest.raises(ValueError, match=r"probability in \(0, 1\)"):
        binary_cross_entropy(Value(p), 1)


@pytest.mark.parametrize("bad", [2, -1, 0.5, float("nan")])
@pytest.mark.parametrize("loss", [binary_cross_entropy, binary_cross_entropy_with_logits])
def test_bce_target_must_be_0_or_1(loss: object, bad: float) -> None:
    with pytest.raises(ValueError, match=r"\{0, 1\}"):
        loss(Value(0.5), bad)  # type: ignore[operator]


def test_bce_accepts_numpy_and_float_labels() -> None:
    a = binary_cross_entropy_with_logits(Value(0.3), np.int64(1)).data
    b = binary_cross_entropy_with_logits(Value(0.3), 1.0).data
    assert a == b == binary_cross_entropy_with_logits(Value(0.3), 1).data


def test_bce_target_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="target"):
        binary_cross_entropy_with_logits(Value(0.3), "1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="target"):
        binary_cross_entropy_with_logits(Value(0.3), True)


# -- softmax cross-entropy -------------------------------------------------------------------------

LECTURE_LOGITS = [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0]


def test_reference_softmax_to_three_decimals() -> None:
    probabilities = [p.data for p in softmax(LECTURE_LOGITS)]
    assert [round(p, 3) for p in probabilities] == [0.024, 0.064, 0.175, 0.475, 0.024, 0.064, 0.175]


def test_reference_softmax_closed_form() -> None:
    e = math.e
    total = 2 * (e + e**2 + e**3) + e**4
    probabilities = [p.data for p in softmax(LECTURE_LOGITS)]
    assert probabilities == pytest.approx([e**z / total for z in LECTURE_LOGITS], abs=1e-12)


@pytest.mark.parametrize("y", range(7))
def test_softmax_cross_entropy_is_minus_log_softmax(y: int) -> None:
    e = math.e
    total = 2 * (e + e**2 + e**3) + e**4
    expected = math.log(total) - LECTURE_LOGITS[y]
    loss = softmax_cross_entropy([Value(z) for z in LECTURE_LOGITS], y)
    assert loss.data == pytest.approx(expected, abs=1e-12)
    assert loss.data == pytest.approx(-math.log(softmax(LECTURE_LOGITS)[y].data), abs=1e-12)


def test_softmax_cross_entropy_gradient_is_softmax_minus_onehot() -> None:
    logits = [Value(z) for z in LECTURE_LOGITS]
    softmax_cross_entropy(logits, 3).backward()
    probabilities = [p.data for p in softmax(LECTURE_LOGITS)]
    expected = [p - (j == 3) for j, p in enumerate(probabilities)]
    assert [z.grad for z in logits] == pytest.approx(expected, abs=1e-12)


@settings(max_examples=40)
@given(st.lists(finite, min_size=2, max_size=5), st.data())
def test_softmax_cross_entropy_gradcheck(zs: list[float], data: st.DataObject) -> None:
    y = data.draw(st.integers(0, len(zs) - 1))
    # the max logit is subtracted as a constant: its gradient must still be exact
    assert gradcheck(lambda *z: softmax_cross_entropy(list(z), y), zs)


def test_softmax_cross_entropy_is_stable_at_extreme_logits() -> None:
    logits = [Value(1e4), Value(-1e4), Value(0.0)]
    right = softmax_cross_entropy(logits, 0)
    right.backward()
    assert right.data == 0.0
    assert [z.grad for z in logits] == [0.0, 0.0, 0.0]
    wrong = softmax_cross_entropy([Value(1e4), Value(-1e4), Value(0.0)], 1)
    assert wrong.data == pytest.approx(2e4)


@pytest.mark.parametrize("bad", [7, -1, 100])
def test_softmax_cross_entropy_class_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="out of range for 7 logits"):
        softmax_cross_entropy(LECTURE_LOGITS, bad)


@pytest.mark.parametrize("bad", [1.0, True, "1", None])
def test_softmax_cross_entropy_class_must_be_an_int(bad: object) -> None:
    with pytest.raises(TypeError, match="int class index"):
        softmax_cross_entropy(LECTURE_LOGITS, bad)


def test_softmax_cross_entropy_needs_a_list() -> None:
    with pytest.raises(TypeError, match="list of logits"):
        softmax_cross_entropy(Value(1.0), 0)
    with pytest.raises(ValueError, match="at least one logit"):
        softmax_cross_entropy([], 0)


# -- hinge -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "t", "expected", "slope"),
    [(2.0, 1, 0.0, 0.0), (0.5, 1, 0.5, -1.0), (-1.0, 1, 2.0, -1.0), (-3.0, -1, 0.0, 0.0),
     (0.25, -1, 1.25, 1.0)],
)  # fmt: skip
def test_hinge_closed_form(score: float, t: int, expected: float, slope: float) -> None:
    y = Value(score)
    loss = hinge(y, t)
    loss.backward()
    assert loss.data == expected
    assert y.grad == slope


def test_max_margin_is_the_mean_hinge() -> None:
    scores = [Value(2.0), Value(0.5), Value(-1.0), Value(0.25)]
    targets = [1, 1, 1, -1]
    assert max_margin(scores, targets).data == pytest.approx((0 + 0.5 + 2.0 + 1.25) / 4)


@pytest.mark.parametrize("bad", [0, 2, 0.5])
def test_hinge_target_must_be_plus_or_minus_one(bad: float) -> None:
    with pytest.raises(ValueError, match="to_signed"):
        hinge(Value(1.0), bad)


def test_batch_errors() -> None:
    with pytest.raises(ValueError, match="empty batch"):
        mean([])
    with pytest.raises(ValueError, match="empty batch"):
        max_margin([], [])
    with pytest.raises(ValueError, match="2 predictions but 1 targets"):
        mean_squared_error([1.0, 2.0], [1.0])


# -- regularisation --------------------------------------------------------------------------------


def test_is_bias() -> None:
    assert is_bias("b") and is_bias("layer1.neuron0.b")
    assert not is_bias("layer1.neuron0.w0") and not is_bias("bias_free.w")


def test_regularisation_skips_biases() -> None:
    model = MLP(2, [3, 1], seed=0)
    for name, p in model.named_parameters():
        p.data = 5.0 if name.endswith(".b") else 0.5
    named = weights(model)
    assert len(named) == 2 * 3 + 3 * 1
    assert all(not name.endswith(".b") for name, _ in named)
    assert l2_penalty(model).data == pytest.approx(9 * 0.25)
    assert l1_penalty(model).data == pytest.approx(9 * 0.5)

    penalty = l2_penalty(model) + l1_penalty(model)
    penalty.backward()
    for name, p in model.named_parameters():
        # d/dw (w^2 + |w|) = 2 w + sign(w) = 2 at w = 0.5; biases get nothing
        assert p.grad == (0.0 if name.endswith(".b") else 2.0), name


def test_regularisation_takes_named_pairs_and_not_bare_values() -> None:
    w, b = Value(-2.0), Value(3.0)
    assert l2_penalty([("w", w), ("b", b)]).data == 4.0
    assert l1_penalty([("w", w), ("b", b)]).data == 2.0
    assert l2_penalty([]).data == 0.0
    with pytest.raises(TypeError, match="named parameters"):
        l2_penalty([w, b])  # type: ignore[list-item]


def test_l1_slope_at_zero_is_zero() -> None:
    w = Value(0.0)
    l1_penalty([("w", w)]).backward()
    assert w.grad == 0.0


@given(st.lists(off_kink, min_size=1, max_size=4))
def test_penalties_gradcheck(ws: list[float]) -> None:
    def l2(*values: Value) -> Value:
        out: Value = l2_penalty([(f"w{i}", v) for i, v in enumerate(values)])
        return out

    def l1(*values: Value) -> Value:
        out: Value = l1_penalty([(f"w{i}", v) for i, v in enumerate(values)])
        return out

    assert gradcheck(l2, ws)
    assert gradcheck(l1, ws)

"""Optimisers (nn.optim): each update rule step by step against the lecture's formula computed
independently here, convergence on an elongated valley, properties (rho = 0 is SGD, Adam's first
step is lr), the 1/t schedule, validation, the all-or-nothing step, and the numpy-array path."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import NonFiniteError, Value
from nn import MLP
from nn.optim import (
    SGD,
    AdaGrad,
    Adam,
    InverseTimeDecay,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
)

TOL = 1e-12
ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam]


def close(got: float, expected: float, tol: float = TOL) -> bool:
    return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)


# -- the quadratic J(theta) = sum_i a_i (theta_i - c_i)^2, as a graph and by hand ------------------

A = [1.0, 3.0, 0.5]
C = [0.5, -1.0, 2.0]
THETA0 = [2.0, 0.3, -1.5]


def quadratic(theta: list[Value]) -> Value:
    loss = Value(0.0)
    for a, c, t in zip(A, C, theta, strict=True):
        loss = loss + a * (t - c) ** 2
    return loss


def grad_by_hand(theta: list[float]) -> list[float]:
    """dJ/dtheta_i = 2 a_i (theta_i - c_i)."""
    return [2.0 * a * (t - c) for a, c, t in zip(A, C, theta, strict=True)]


def run(opt_class: type[Optimizer], steps: int, **kwargs: float) -> list[list[float]]:
    """theta after each of ``steps`` optimiser steps on the quadratic, via backward."""
    theta = [Value(t, f"theta{i}") for i, t in enumerate(THETA0)]
    opt = opt_class(theta, **kwargs)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        quadratic(theta).backward()
        opt.step()
        path.append([t.data for t in theta])
    return path


def assert_path(got: list[list[float]], expected: list[list[float]]) -> None:
    assert len(got) == len(expected)
    for step, (g, e) in enumerate(zip(got, expected, strict=True), start=1):
        for i, (gi, ei) in enumerate(zip(g, e, strict=True)):
            assert close(gi, ei), f"step {step}, theta{i}: optimiser {gi!r}, formula {ei!r}"


STEPS = 5


# Each reference below is the slide's rule written out per coordinate in plain Python.


def test_sgd_follows_its_formula() -> None:
    lr, theta, expected = 0.1, list(THETA0), []
    for _ in range(STEPS):
        g = grad_by_hand(theta)
        theta = [t - lr * gi for t, gi in zip(theta, g, strict=True)]  # theta -= alpha g
        expected.append(theta)
    assert_path(run(SGD, STEPS, lr=lr), expected)


def test_momentum_follows_the_slide() -> None:
    lr, rho = 0.05, 0.8
    theta, v, expected = list(THETA0), [0.0] * 3, []
    for _ in range(STEPS):
        g = grad_by_hand(theta)
        v = [rho * vi + lr * gi for vi, gi in zip(v, g, strict=True)]  # v = rho v + alpha g
        theta = [t - vi for t, vi in zip(theta, v, strict=True)]  # theta -= v
        expected.append(theta)
    assert_path(run(Momentum, STEPS, lr=lr, rho=rho), expected)


def test_nesterov_follows_its_formula() -> None:
    lr, rho = 0.05, 0.8
    phi, v, expected = list(THETA0), [0.0] * 3, []
    for _ in range(STEPS):
        g = grad_by_hand(phi)
        v = [rho * vi + lr * gi for vi, gi in zip(v, g, strict=True)]
        phi = [p - (rho * vi + lr * gi) for p, vi, gi in zip(phi, v, g, strict=True)]
        expected.append(phi)
    assert_path(run(Nesterov, STEPS, lr=lr, rho=rho), expected)


def test_nesterov_visits_the_look_ahead_points_of_the_slide_form() -> None:
    """The slide's form evaluates the gradient at the look-ahead point theta - rho v, then
    v = rho v + alpha g; theta -= v. The optimiser's parameters are that look-ahead point."""
    lr, rho = 0.05, 0.8
    theta, v, expected = list(THETA0), [0.0] * 3, []
    for _ in range(STEPS):
        look_ahead = [t - rho * vi for t, vi in zip(theta, v, strict=True)]
        g = grad_by_hand(look_ahead)
        v = [rho * vi + lr * gi for vi, gi in zip(v, g, strict=True)]
        theta = [t - vi for t, vi in zip(theta, v, strict=True)]
        expected.append([t - rho * vi for t, vi in zip(theta, v, strict=True)])
    assert_path(run(Nesterov, STEPS, lr=lr, rho=rho), expected)


def test_adagrad_follows_the_slides_sigma_form() -> None:
    """Slide: alpha^t = alpha / sqrt(t + 1), sigma^t = sqrt(1/(t+1) sum_{i<=t} (g^i)^2),
    theta -= alpha^t / sigma^t g (eps added as in the slide code: alpha / (sqrt(sum g^2) + eps))."""
    lr, eps = 0.5, 1e-7
    theta, expected = list(THETA0), []
    history: list[list[float]] = [[] for _ in THETA0]
    for t in range(STEPS):
        g = grad_by_hand(theta)
        new = []
        for i, gi in enumerate(g):
            history[i].append(gi)
            alpha_t = lr / math.sqrt(t + 1)
            sigma_t = math.sqrt(sum(h * h for h in history[i]) / (t + 1))
            new.append(theta[i] - alpha_t / (sigma_t + eps / math.sqrt(t + 1)) * gi)
        theta = new
        expected.append(theta)
    assert_path(run(AdaGrad, STEPS, lr=lr, eps=eps), expected)


def test_rmsprop_follows_the_slide_code() -> None:
    lr, rho, eps = 0.05, 0.9, 1e-7
    theta, u, expected = list(THETA0), [0.0] * 3, []
    for _ in range(STEPS):
        g = grad_by_hand(theta)
        u = [rho * ui + (1 - rho) * gi * gi for ui, gi in zip(u, g, strict=True)]
        theta = [t - lr * gi / (math.sqrt(ui) + eps) for t, gi, ui in zip(theta, g, u, strict=True)]
        expected.append(theta)
    assert_path(run(RMSProp, STEPS, lr=lr, rho=rho, eps=eps), expected)


def test_adam_follows_the_slide_code_with_bias_correction() -> None:
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-8
    theta, first, second, expected = list(THETA0), [0.0] * 3, [0.0] * 3, []
    for t in range(1, STEPS + 1):
        g = grad_by_hand(theta)
        first = [beta1 * m + (1 - beta1) * gi for m, gi in zip(first, g, strict=True)]
        second = [beta2 * u + (1 - beta2) * gi * gi for u, gi in zip(second, g, strict=True)]
        theta = [
            th - lr * (m / (1 - beta1**t)) / (math.sqrt(u / (1 - beta2**t)) + eps)
            for th, m, u in zip(theta, first, second, strict=True)
        ]
        expected.append(theta)
    assert_path(run(Adam, STEPS, lr=lr), expected)


# -- convergence on an elongated valley ----------------------------------------------------------


def valley(x: Value, y: Value) -> Value:
    """J = x^2 / 2 + 5 y^2: ten times steeper across (y) than along (x); minimum at 0."""
    return 0.5 * x * x + 5.0 * y * y


SETTINGS: dict[type[Optimizer], dict[str, float]] = {
    SGD: {"lr": 0.09},
    Momentum: {"lr": 0.02, "rho": 0.8},
    Nesterov: {"lr": 0.02, "rho": 0.8},
    AdaGrad: {"lr": 1.0},
    RMSProp: {"lr": 0.02},
    Adam: {"lr": 0.1},
}


def descend(opt: Optimizer, x: Value, y: Value, steps: int) -> list[float]:
    losses = []
    for _ in range(steps):
        loss = valley(x, y)
        losses.append(loss.data)
        opt.zero_grad()
        loss.backward()
        opt.step()
    losses.append(valley(x, y).data)
    return losses


@pytest.mark.parametrize("opt_class", ALL, ids=lambda c: c.__name__)
def test_every_optimiser_reaches_the_bottom_of_the_valley(opt_class: type[Optimizer]) -> None:
    x, y = Value(-4.0, "x"), Value(2.0, "y")
    losses = descend(opt_class([x, y], **SETTINGS[opt_class]), x, y, 300)
    assert losses[0] == 28.0
    assert losses[-1] < 1e-3, f"{opt_class.__name__} stopped at loss {losses[-1]}"
    assert math.hypot(x.data, y.data) < 0.02
    assert losses[-1] < min(losses[:10])  # it got there by descending, not by luck at step 1


def test_momentum_outpaces_sgd_at_the_same_small_learning_rate() -> None:
    finals = {}
    for name, opt_class in [("sgd", SGD), ("momentum", Momentum), ("nesterov", Nesterov)]:
        x, y = Value(-4.0), Value(2.0)
        finals[name] = descend(opt_class([x, y], lr=0.01), x, y, 100)[-1]
    assert finals["sgd"] > 0.5  # (1 - 0.01)^100 leaves x at 37 %: slow along the valley
    assert finals["momentum"] < finals["sgd"] / 100
    assert finals["nesterov"] < finals["sgd"] / 100


def test_an_mlp_trains_with_adam() -> None:
    model = MLP(2, [4, 1], seed=0)
    data = [([1.0, 0.0], 1.0), ([0.0, 1.0], -1.0), ([1.0, 1.0], 0.5)]
    opt = Adam(model.parameters(), lr=0.05)

    def loss() -> Value:
        total = Value(0.0)
        for x, target in data:
            out = model(x)
            assert isinstance(out, Value)
            total = total + (out - target) ** 2
        return total

    start = loss().data
    for _ in range(60):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss().data < start / 20


# -- properties ------------------------------------------------------------------------------------

grads = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False)


def one_step(opt_class: type[Optimizer], theta: float, g: float, **kwargs: float) -> float:
    p = Value(theta)
    opt = opt_class([p], **kwargs)
    p.grad = g
    opt.step()
    return p.data


@settings(max_examples=60, deadline=None)
@given(
    st.lists(grads, min_size=1, max_size=6),
    st.floats(min_value=1e-4, max_value=0.5),
)
def test_momentum_and_nesterov_with_rho_0_are_sgd(gs: list[float], lr: float) -> None:
    params = {cls: Value(1.5) for cls in (SGD, Momentum, Nesterov)}
    opts = [
        SGD([params[SGD]], lr=lr),
        Momentum([params[Momentum]], lr=lr, rho=0.0),
        Nesterov([params[Nesterov]], lr=lr, rho=0.0),
    ]
    for g in gs:
        for p, opt in zip(params.values(), opts, strict=True):
            p.grad = g
            opt.step()
        assert params[Momentum].data == params[SGD].data
        assert params[Nesterov].data == params[SGD].data


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=1e-3, max_value=1e3) | st.floats(min_value=-1e3, max_value=-1e-3),
    st.floats(min_value=1e-5, max_value=1.0),
)
def test_adams_first_step_moves_by_lr_whatever_the_gradient(g: float, lr: float) -> None:
    """Bias correction: m_hat = g and u_hat = g^2 at t = 1, so the step is lr g / (|g| + eps)."""
    moved = one_step(Adam, 0.0, g, lr=lr) - 0.0
    assert math.isclose(abs(moved), lr, rel_tol=1e-5)
    assert math.copysign(1.0, moved) == -math.copysign(1.0, g)


def test_without_bias_correction_adams_first_step_would_be_too_large() -> None:
    """The slide's question for "Adam (biased)": what happens at the first step? The raw
    moments are (1 - beta1) g and (1 - beta2) g^2, so the step would be
    lr 0.1 / sqrt(0.001) = 3.16 lr. Bias correction brings it back to lr."""
    g, lr = 4.0, 1e-3
    biased = lr * (0.1 * g) / (math.sqrt(0.001 * g * g) + 1e-8)
    assert math.isclose(biased, lr * 0.1 / math.sqrt(0.001), rel_tol=1e-6)
    assert math.isclose(abs(one_step(Adam, 0.0, g, lr=lr)), lr, rel_tol=1e-6)


def test_adagrad_steps_shrink_with_a_constant_gradient() -> None:
    """u only grows, so with g fixed the t-th step is alpha / sqrt(t): the slide's question."""
    p = Value(0.0)
    opt = AdaGrad([p], lr=1.0, eps=1e-12)
    before, steps = p.data, []
    for _ in range(4):
        p.grad = 2.0
        opt.step()
        steps.append(before - p.data)
        before = p.data
    for t, step in enumerate(steps, start=1):
        assert close(step, 1 / math.sqrt(t), 1e-9)


def test_zero_grad_zeroes_every_parameter() -> None:
    params = [Value(1.0), Value(2.0)]
    opt = SGD(params, lr=0.1)
    (params[0] * params[1]).backward()
    assert [p.grad for p in params] == [2.0, 1.0]
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


def test_step_counts_and_repr() -> None:
    opt = Adam([Value(1.0)], lr=0.01)
    assert opt.t == 0
    opt.step()
    opt.step()
    assert opt.t == 2
    assert repr(opt) == "Adam(1 parameters, lr=0.01)"


# -- the 1/t schedule ------------------------------------------------------------------------------


def test_inverse_time_decay_values() -> None:
    opt = SGD([Value(1.0)], lr=0.5)
    schedule = InverseTimeDecay(opt, decay=0.1)
    assert opt.lr == 0.5 and schedule.lr_at(0) == 0.5
    for t in range(1, 6):
        assert close(schedule.step(), 0.5 / (1 + 0.1 * t))
        assert opt.lr == schedule.lr_at(t) and schedule.t == t
    assert close(schedule.lr_at(90), 0.05)  # ten times smaller after 1 + 0.1 t = 10


def test_the_slides_sqrt_decay_is_power_one_half() -> None:
    """The slide's "1/t decay" alpha^t = alpha / sqrt(t + 1) is decay = 1, power = 0.5."""
    schedule = InverseTimeDecay(Momentum([Value(0.0)], lr=0.3), decay=1.0, power=0.5)
    for t in range(6):
        assert close(schedule.lr_at(t), 0.3 / math.sqrt(t + 1))


def test_decay_0_keeps_lr_and_the_schedule_drives_any_optimiser() -> None:
    opt = Adam([Value(0.0)], lr=0.2)
    constant = InverseTimeDecay(opt, decay=0.0)
    assert [constant.step() for _ in range(3)] == [0.2, 0.2, 0.2]
    p = Value(0.0)
    opt = Adam([p], lr=0.2)
    schedule = InverseTimeDecay(opt, decay=1.0)
    moves = []
    for _ in range(3):
        before = p.data
        p.grad = 1.0
        opt.step()
        schedule.step()
        moves.append(before - p.data)
    # with a constant gradient every Adam step is lr; lr goes 0.2, 0.1, 0.0667
    assert [round(m, 6) for m in moves] == [0.2, 0.1, round(0.2 / 3, 6)]


def test_schedule_validation() -> None:
    opt = SGD([Value(0.0)], lr=0.1)
    with pytest.raises(ValueError, match="decay must be >= 0"):
        InverseTimeDecay(opt, decay=-1.0)
    with pytest.raises(ValueError, match="power must be > 0"):
        InverseTimeDecay(opt, decay=1.0, power=0.0)
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        InverseTimeDecay(0.1, decay=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="t must be an integer >= 0"):
        InverseTimeDecay(opt, decay=1.0).lr_at(-1)


# -- validation ------------------------------------------------------------------------------------


def test_params_must_be_a_non_empty_list_of_distinct_leaves() -> None:
    w = Value(1.0, "w")
    with pytest.raises(ValueError, match="empty list of parameters"):
        SGD([])
    with pytest.raises(ValueError, match=r"params\[2\] \('w'\) is the same object as params\[0\]"):
        SGD([w, Value(2.0), w])
    with pytest.raises(TypeError, match="got a single one"):
        SGD(w)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
        SGD(MLP(2, [1]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"params\[1\] is a float, not a parameter"):
        SGD([w, 2.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="takes a list of parameters"):
        SGD(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="output of a mul gate, not a leaf"):
        SGD([w * 2.0])


def test_params_may_be_any_iterable() -> None:
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(iter(model.parameters()))
    assert len(opt.params) == len(model.parameters())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: SGD(p, lr=0.0), "lr must be > 0, got 0.0"),
        (lambda p: SGD(p, lr=-0.1), "lr must be > 0"),
        (lambda p: Adam(p, lr=math.nan), "lr must be a finite number"),
        (lambda p: Momentum(p, rho=1.0), r"rho must be in \[0, 1\), got 1.0"),
        (lambda p: Nesterov(p, rho=-0.1), r"rho must be in \[0, 1\)"),
        (lambda p: RMSProp(p, rho=1.5), r"rho must be in \[0, 1\)"),
        (lambda p: Adam(p, beta1=1.0), r"beta1 must be in \[0, 1\), got 1.0"),
        (lambda p: Adam(p, beta2=-0.5), r"beta2 must be in \[0, 1\)"),
        (lambda p: Adam(p, eps=0.0), "eps must be > 0"),
        (lambda p: AdaGrad(p, eps=-1e-7), "eps must be > 0"),
    ],
)
def test_hyperparameters_are_checked(make: Callable[[list[Value]], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


def test_hyperparameters_must_be_numbers() -> None:
    with pytest.raises(TypeError, match="lr must be a number, got str"):
        SGD([Value(1.0)], lr="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="lr must be a number, got bool"):
        SGD([Value(1.0)], lr=True)
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="lr must be > 0"):
        opt.lr = -1.0
    assert opt.lr == 0.1


# -- non-finite gradients and updates: an error, and nothing changes ----------------------------


@pytest.mark.parametrize("opt_class", ALL, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_gradient_changes_nothing(opt_class: type[Optimizer], bad: float) -> None:
    params = [Value(1.0, "a"), Value(2.0, "b")]
    opt = opt_class(params, lr=0.1)
    params[0].grad, params[1].grad = 0.5, -0.25
    opt.step()  # some optimiser state now
    state_before = {
        k: list(v) for k, v in vars(opt).items() if isinstance(v, list) and k != "params"
    }
    data_before = [p.data for p in params]
    params[0].grad, params[1].grad = 0.5, bad
    with pytest.raises(NonFiniteError, match=r"params\[1\] \('b'\) has gradient"):
        opt.step()
    assert [p.data for p in params] == data_before
    state_after = {
        k: list(v) for k, v in vars(opt).items() if isinstance(v, list) and k != "params"
    }
    assert state_after == state_before
    assert opt.t == 1


def test_an_overflowing_update_is_refused() -> None:
    p = Value(-1e300, "w")
    opt = SGD([Value(0.0), p], lr=1e10)
    p.grad = 1e300
    with pytest.raises(NonFiniteError, match=r"would set params\[1\] \('w'\).*lr=1e\+10 too large"):
        opt.step()
    assert p.data == -1e300


def test_a_non_finite_gradient_is_a_value_error_too() -> None:
    p = Value(1.0)
    p.grad = math.nan
    with pytest.raises(ValueError):
        SGD([p]).step()


# -- the array path: the same classes update numpy-backed parameters ---------------------------


class ArrayParam:
    """A stand-in for a future tensor: ``.data`` and ``.grad`` are numpy arrays."""

    def __init__(self, data: Any) -> None:
        self.data = np.asarray(data, dtype=float)
        self.grad = np.zeros_like(self.data)


ARRAY0 = np.array([[2.0, -1.0, 0.5], [0.3, 1.7, -2.2]])
ARRAY_A = np.array([[1.0, 3.0, 0.5], [2.0, 0.25, 1.5]])


@pytest.mark.parametrize("opt_class", ALL, ids=lambda c: c.__name__)
def test_arrays_update_exactly_like_scalars(opt_class: type[Optimizer]) -> None:
    """J = sum a (theta - 1)^2 on a 2 x 3 array, against the same rule on six scalar Values."""
    tensor = ArrayParam(ARRAY0)
    scalars = [Value(float(x)) for x in ARRAY0.ravel()]
    a_flat = ARRAY_A.ravel().tolist()
    opt_array = opt_class([tensor], lr=0.05)
    opt_scalar = opt_class(scalars, lr=0.05)
    for _ in range(4):
        tensor.grad = 2.0 * ARRAY_A * (tensor.data - 1.0)
        for s, a in zip(scalars, a_flat, strict=True):
            s.grad = 2.0 * a * (s.data - 1.0)
        opt_array.step()
        opt_scalar.step()
        assert tensor.data.shape == (2, 3)
        np.testing.assert_allclose(
            tensor.data.ravel(), [s.data for s in scalars], rtol=1e-12, atol=1e-12
        )
    opt_array.zero_grad()
    assert isinstance(tensor.grad, np.ndarray) and tensor.grad.shape == (2, 3)
    assert not tensor.grad.any()


def test_a_nan_anywhere_in_an_array_gradient_changes_nothing() -> None:
    tensor = ArrayParam(ARRAY0)
    opt = Adam([tensor], lr=0.1)
    tensor.grad = np.ones((2, 3))
    tensor.grad[1, 2] = np.nan
    with pytest.raises(NonFiniteError, match="not a finite number"):
        opt.step()
    np.testing.assert_array_equal(tensor.data, ARRAY0)
    assert not opt.m[0].any() and opt.t == 0

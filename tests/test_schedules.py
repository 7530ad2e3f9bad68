"""Learning-rate schedules and Nadam (issue 12): StepDecay, the seed's alpha / sqrt(t + 1) and
true 1/t decay against their formulas and PyTorch's StepLR; Nadam step by step against its
formula written out here with numpy, and against ``torch.optim.NAdam`` for Values and Tensors;
``state_of``, validation, and schedules driving ``fit``."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

from autograd import NonFiniteError, Tensor, Value
from nn import (
    MLP,
    SGD,
    Adam,
    InverseSqrtDecay,
    InverseTimeDecay,
    Momentum,
    Nadam,
    Schedule,
    StepDecay,
    fit,
)

needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="PyTorch not installed (pip install torch==2.13.0, a CPU build); CI installs it",
)


def close(got: float, expected: float, tol: float = 1e-12) -> bool:
    return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)


# -- StepDecay ---------------------------------------------------------------------------------


def test_step_decay_multiplies_by_factor_every_few_steps() -> None:
    opt = SGD([Value(0.0)], lr=0.8)
    schedule = StepDecay(opt, every=3, factor=0.5)
    assert schedule.lr_at(0) == 0.8 and schedule.t == 0
    got = [schedule.step() for _ in range(10)]  # t = 1 .. 10
    expected = [0.8 * 0.5 ** (t // 3) for t in range(1, 11)]
    assert got == expected
    assert got[:3] == [0.8, 0.8, 0.4]  # the first decay happens at t = every
    assert opt.lr == schedule.lr_at(10) == 0.1 and schedule.t == 10
    assert schedule(7) == schedule.lr_at(7) == 0.2


def test_step_decay_factor_1_keeps_lr_and_every_1_decays_each_step() -> None:
    constant = StepDecay(Adam([Value(0.0)], lr=0.3), every=2, factor=1.0)
    assert [constant.step() for _ in range(5)] == [0.3] * 5
    each = StepDecay(Momentum([Value(0.0)], lr=1.0), every=1, factor=0.1)
    assert all(close(each.step(), 0.1**t) for t in range(1, 6))


@needs_torch
@pytest.mark.parametrize(("every", "factor"), [(1, 0.9), (3, 0.5), (7, 0.25), (4, 1.0)])
def test_step_decay_agrees_with_torch_step_lr(every: int, factor: float) -> None:
    import torch

    p = torch.zeros(1, requires_grad=True)
    theirs = torch.optim.SGD([p], lr=0.7)
    scheduler = torch.optim.lr_scheduler.StepLR(theirs, step_size=every, gamma=factor)
    ours = StepDecay(SGD([Value(0.0)], lr=0.7), every=every, factor=factor)
    for t in range(1, 31):
        theirs.step()
        scheduler.step()
        got = ours.step()
        assert close(got, theirs.param_groups[0]["lr"]), f"t = {t}"
        assert ours.optimizer.lr == got


# -- alpha / sqrt(t + 1) and 1/t ---------------------------------------------------------------


def test_inverse_sqrt_decay_is_the_seeds_formula() -> None:
    """Seed 003: "1/t decay: alpha^t = alpha / sqrt(t + 1)" (a 1/sqrt(t) decay in truth)."""
    opt = SGD([Value(0.0)], lr=0.6)
    schedule = InverseSqrtDecay(opt)
    assert schedule.lr_at(0) == 0.6
    for t in range(1, 50):
        assert close(schedule.step(), 0.6 / math.sqrt(t + 1))
        assert opt.lr == schedule.lr_at(t)
    assert close(schedule.lr_at(99), 0.06)  # ten times smaller at t + 1 = 100, not t + 1 = 10
    assert isinstance(schedule, InverseTimeDecay) and schedule.power == 0.5
    same = InverseTimeDecay(SGD([Value(0.0)], lr=0.6), decay=1.0, power=0.5)
    assert all(close(schedule.lr_at(t), same.lr_at(t)) for t in range(200))
    scaled = InverseSqrtDecay(SGD([Value(0.0)], lr=0.6), decay=0.25)
    assert close(scaled.lr_at(12), 0.6 / 2.0)


def test_inverse_time_decay_is_true_one_over_t() -> None:
    schedule = InverseTimeDecay(SGD([Value(0.0)], lr=0.6), decay=1.0)
    assert all(close(schedule.lr_at(t), 0.6 / (t + 1)) for t in range(100))
    assert close(schedule.lr_at(9), 0.06)  # ten times smaller at t + 1 = 10


def test_every_schedule_is_a_schedule_with_a_repr() -> None:
    opt = SGD([Value(0.0)], lr=0.5)
    schedules: list[Schedule] = [
        StepDecay(opt, every=2, factor=0.5),
        InverseSqrtDecay(opt),
        InverseTimeDecay(opt, decay=1.0),
    ]
    assert all(isinstance(s, Schedule) for s in schedules)
    schedules[0].step()
    assert repr(schedules[0]) == "StepDecay(lr0=0.5, every=2, factor=0.5, t=1)"
    assert repr(schedules[1]) == "InverseSqrtDecay(lr0=0.5, decay=1, t=0)"


def test_a_schedule_drives_fit_per_epoch() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=0.2)
    schedule = StepDecay(opt, every=2, factor=0.5)
    seen: list[float] = []
    X, y = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [1.0, -1.0, 0.5]

    def record(epoch: int, history: Any) -> None:
        seen.append(opt.lr)

    fit(model, X, y, loss="squared_error", optimizer=opt, epochs=6, lr_schedule=schedule,
        on_epoch_end=record, progress=False)  # fmt: skip
    assert seen == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda o: StepDecay(o, every=0, factor=0.5), ValueError, "every must be an integer > 0"),
        (lambda o: StepDecay(o, every=-2, factor=0.5), ValueError, "every must be an integer > 0"),
        (lambda o: StepDecay(o, every=2.0, factor=0.5), TypeError, "every must be an integer"),  # type: ignore[arg-type]
        (lambda o: StepDecay(o, every=True, factor=0.5), TypeError, "every must be an integer"),
        (lambda o: StepDecay(o, every=2, factor=0.0), ValueError, r"factor must be in \(0, 1\]"),
        (lambda o: StepDecay(o, every=2, factor=1.5), ValueError, r"factor must be in \(0, 1\]"),
        (lambda o: StepDecay(o, every=2, factor=-0.5), ValueError, r"factor must be in \(0, 1\]"),
        (lambda o: StepDecay(o, every=2, factor=math.nan), ValueError, "finite number"),
        (lambda o: StepDecay(o, every=2, factor="0.5"), TypeError, "factor must be a number"),  # type: ignore[arg-type]
        (lambda o: StepDecay(0.1, every=2, factor=0.5), TypeError, "must be an Optimizer"),  # type: ignore[arg-type]
        (lambda o: InverseSqrtDecay(o, decay=-1.0), ValueError, "decay must be >= 0"),
        (lambda o: InverseSqrtDecay(o).lr_at(-1), ValueError, "t must be an integer >= 0"),
        (lambda o: StepDecay(o, every=2, factor=0.5).lr_at(1.5), ValueError, "t must be"),  # type: ignore[arg-type]
    ],
)
def test_schedule_validation(
    make: Callable[[Any], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make(SGD([Value(0.0)], lr=0.1))


# -- Nadam: the formula, written out with numpy ------------------------------------------------

A = np.array([1.0, 3.0, 0.5])
C = np.array([0.5, -1.0, 2.0])
THETA0 = np.array([2.0, 0.3, -1.5])


def quadratic(theta: list[Value]) -> Value:
    """J = sum_i a_i (theta_i - c_i)^2, as a graph; dJ/dtheta_i = 2 a_i (theta_i - c_i)."""
    loss = Value(0.0)
    for a, c, t in zip(A.tolist(), C.tolist(), theta, strict=True):
        loss = loss + a * (t - c) ** 2
    return loss


def nadam_by_hand(
    steps: int, lr: float, beta1: float, beta2: float, eps: float, psi: float
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """theta^t, m^t, u^t for t = 1..steps on the quadratic, from Nadam's formula."""
    theta, m, u, product, out = THETA0.copy(), np.zeros(3), np.zeros(3), 1.0, []
    for t in range(1, steps + 1):
        g = 2.0 * A * (theta - C)
        mu_t = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        product *= mu_t  # mu^1 ... mu^t
        m = beta1 * m + (1.0 - beta1) * g
        u = beta2 * u + (1.0 - beta2) * g * g
        u_hat = u / (1.0 - beta2**t)
        nesterov = (1.0 - mu_t) / (1.0 - product) * g + mu_next / (1.0 - product * mu_next) * m
        theta = theta - lr * nesterov / (np.sqrt(u_hat) + eps)
        out.append((theta, m, u))
    return out


@pytest.mark.parametrize(
    "hyper",
    [
        {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "psi": 4e-3},
        {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "psi": 0.5},
        {"lr": 0.2, "beta1": 0.0, "beta2": 0.9, "eps": 1e-8, "psi": 0.0},
    ],
    ids=["defaults", "other", "beta1-0"],
)
def test_nadam_follows_its_formula_step_by_step(hyper: dict[str, float]) -> None:
    theta = [Value(float(x), f"theta{i}") for i, x in enumerate(THETA0)]
    opt = Nadam(
        theta,
        lr=hyper["lr"],
        beta1=hyper["beta1"],
        beta2=hyper["beta2"],
        eps=hyper["eps"],
        momentum_decay=hyper["psi"],
    )
    expected = nadam_by_hand(8, **hyper)
    for step, (e_theta, e_m, e_u) in enumerate(expected, start=1):
        opt.zero_grad()
        quadratic(theta).backward()
        opt.step()
        np.testing.assert_allclose([p.data for p in theta], e_theta, rtol=1e-12, atol=1e-14)
        for i, p in enumerate(theta):
            state = opt.state_of(p)
            assert set(state) == {"m", "u"}, f"step {step}"
            assert close(state["m"], float(e_m[i])) and close(state["u"], float(e_u[i]))
    assert opt.t == 8


def test_nadam_momentum_schedule() -> None:
    opt = Nadam([Value(0.0)], beta1=0.9)
    assert close(opt.mu(1), 0.9 * (1 - 0.5 * 0.96**0.004))
    assert 0.45 < opt.mu(1) < opt.mu(100) < opt.mu(1000) < 0.9  # rises from beta1 / 2 to beta1
    assert close(opt.mu(10**6), 0.9)
    assert close(Nadam([Value(0.0)], momentum_decay=0.0).mu(50), 0.45)


def test_nadam_state_of_is_shaped_like_the_parameter() -> None:
    w, b = Tensor(np.ones((2, 3))), Value(1.0)
    opt = Nadam([w, b], lr=0.01)
    w.grad, b.grad = np.full((2, 3), 0.5), -2.0
    opt.step()
    state = opt.state_of(w)
    assert state["m"].shape == (2, 3) and np.allclose(state["m"], 0.05)
    assert np.allclose(state["u"], 0.001 * 0.25)
    assert opt.state_of(b) == {"m": pytest.approx(-0.2), "u": pytest.approx(0.004)}
    with pytest.raises(ValueError, match="not one of this optimiser's parameters"):
        opt.state_of(Value(0.0))


def test_nadams_first_step_is_about_lr_and_it_reaches_the_minimum() -> None:
    p = Value(0.0)
    opt = Nadam([p], lr=0.01)
    p.grad = 123.0
    opt.step()
    # t = 1: m = (1 - b1) g and u_hat = g^2, so the step is lr ((1 - mu1) / (1 - mu1)
    # + mu2 (1 - b1) / (1 - mu1 mu2)) / (1 + eps / |g|)
    mu1, mu2 = opt.mu(1), opt.mu(2)
    assert close(p.data, -0.01 * (1.0 + mu2 * 0.1 / (1 - mu1 * mu2)) / (1 + 1e-8 / 123.0))
    theta = [Value(float(x)) for x in THETA0]
    opt = Nadam(theta, lr=0.05)
    for _ in range(600):
        opt.zero_grad()
        quadratic(theta).backward()
        opt.step()
    np.testing.assert_allclose([t.data for t in theta], C, atol=1e-3)


def test_nadam_refuses_a_non_finite_gradient_and_changes_nothing() -> None:
    params = [Value(1.0, "a"), Value(2.0, "b")]
    opt = Nadam(params, lr=0.1)
    params[0].grad, params[1].grad = 0.5, -0.25
    opt.step()
    before = ([p.data for p in params], opt.m.copy(), opt.u.copy())
    params[1].grad = math.nan
    with pytest.raises(NonFiniteError, match=r"params\[1\] \('b'\) has gradient"):
        opt.step()
    assert [p.data for p in params] == before[0] and opt.t == 1
    np.testing.assert_array_equal(opt.m, before[1])
    np.testing.assert_array_equal(opt.u, before[2])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: Nadam(p, lr=-0.1), "lr must be > 0"),
        (lambda p: Nadam(p, lr=0.0), "lr must be > 0"),
        (lambda p: Nadam(p, beta1=1.0), r"beta1 must be in \[0, 1\), got 1.0"),
        (lambda p: Nadam(p, beta1=-0.1), r"beta1 must be in \[0, 1\)"),
        (lambda p: Nadam(p, beta2=1.5), r"beta2 must be in \[0, 1\)"),
        (lambda p: Nadam(p, eps=0.0), "eps must be > 0"),
        (lambda p: Nadam(p, momentum_decay=-1e-3), "momentum_decay must be >= 0"),
    ],
)
def test_nadam_hyperparameters_are_checked(
    make: Callable[[list[Value]], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make([Value(1.0)])


# -- Nadam against torch.optim.NAdam -----------------------------------------------------------


@contextmanager
def float64_torch() -> Iterator[Any]:
    """torch in float64, so NAdam keeps its step and mu product in float64 too."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield torch
    finally:
        torch.set_default_dtype(old)


def gradients(steps: int, shape: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Gradients of varied sign and size (up to 1e3 apart), the same for both optimisers."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) * 10.0 ** rng.uniform(-2, 1, size=shape) for _ in range(steps)]


SETTINGS = [
    {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 4e-3},
    {"lr": 0.1, "betas": (0.8, 0.99), "eps": 1e-6, "momentum_decay": 0.3},
]


def _ours(params: list[Any], setting: dict[str, Any]) -> Nadam:
    beta1, beta2 = setting["betas"]
    return Nadam(
        params,
        lr=setting["lr"],
        beta1=beta1,
        beta2=beta2,
        eps=setting["eps"],
        momentum_decay=setting["momentum_decay"],
    )


@needs_torch
@pytest.mark.parametrize("setting", SETTINGS, ids=["defaults", "other"])
def test_nadam_agrees_with_torch_nadam_on_values(setting: dict[str, Any]) -> None:
    with float64_torch() as torch:
        start = [0.7, -1.3, 2.0]
        ours = [Value(x) for x in start]
        theirs = [torch.tensor(x, requires_grad=True) for x in start]
        opt, reference = _ours(ours, setting), torch.optim.NAdam(theirs, **setting)
        for step, g in enumerate(gradients(20, (3,), seed=1), start=1):
            for p, q, gi in zip(ours, theirs, g.tolist(), strict=True):
                p.grad, q.grad = gi, torch.tensor(gi)
            opt.step()
            reference.step()
            for p, q in zip(ours, theirs, strict=True):
                assert close(p.data, q.item()), f"step {step}: {p.data!r} vs {q.item()!r}"
                state, their_state = opt.state_of(p), reference.state[q]
                assert close(state["m"], their_state["exp_avg"].item())
                assert close(state["u"], their_state["exp_avg_sq"].item())


@needs_torch
@pytest.mark.parametrize("setting", SETTINGS, ids=["defaults", "other"])
def test_nadam_agrees_with_torch_nadam_on_tensors(setting: dict[str, Any]) -> None:
    with float64_torch() as torch:
        rng = np.random.default_rng(0)
        starts = [rng.normal(size=(4, 3)), rng.normal(size=(3,))]
        ours = [Tensor(x) for x in starts]
        theirs = [torch.tensor(x, requires_grad=True) for x in starts]
        opt, reference = _ours(ours, setting), torch.optim.NAdam(theirs, **setting)
        grads = zip(gradients(20, (4, 3), seed=2), gradients(20, (3,), seed=3), strict=True)
        for step, gs in enumerate(grads, start=1):
            for p, q, g in zip(ours, theirs, gs, strict=True):
                p.grad, q.grad = g.copy(), torch.tensor(g)
            opt.step()
            reference.step()
            for p, q in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(
                    p.data, q.detach().numpy(), rtol=1e-12, atol=1e-15, err_msg=f"step {step}"
                )
                np.testing.assert_allclose(
                    opt.state_of(p)["m"], reference.state[q]["exp_avg"].numpy(), rtol=1e-12
                )

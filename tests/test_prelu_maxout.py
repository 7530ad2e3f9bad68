"""PReLU and Maxout (issue 12): the scalar ``prelu`` gate's local rules, both layers checked by
central differences, PReLU against ``torch.nn.PReLU``, Maxout against a numpy formula and
against ``Linear`` layers joined by ``maximum``, naming in a Sequential, save and load, the
errors, and a Maxout network that learns two moons."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograd import Tensor, Value, apply, gradcheck
from autograd.testing import check_array_rules, check_local
from nn.activations import PRELU, prelu
from nn.datasets import moons
from nn.optim import Adam
from nn.tensor_layers import Linear, Maxout, PReLU, Sequential

TIGHT: dict[str, Any] = {"rtol": 1e-12, "atol": 1e-14}


def torch_or_skip() -> Any:
    return pytest.importorskip(
        "torch",
        reason="compared with PyTorch's PReLU (pip install torch==2.13.0, a CPU build)",
    )


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random numbers with |x| in [0.1, 2]: no element near PReLU's kink at 0, where a central
    difference with step 1e-6 would straddle the two slopes."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)


# -- the scalar gate ----------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.4, 3.0])
@pytest.mark.parametrize("alpha", [-0.5, 0.25, 1.0, 2.5])
def test_prelu_local_rules_match_central_differences(x: float, alpha: float) -> None:
    check_local(PRELU, [x, alpha])


def test_prelu_local_rules_by_hand_and_the_gradients_of_a_value() -> None:
    for xv, av in [(-1.5, 0.25), (2.0, 0.25), (-3.0, 1.7)]:
        x, alpha = Value(xv, "x"), Value(av, "alpha")
        y = prelu(x, alpha)
        y.backward()
        assert y.op == "prelu"
        assert y.data == (xv if xv > 0 else av * xv)
        assert x.grad == (1.0 if xv > 0 else av)
        assert alpha.grad == (0.0 if xv > 0 else xv)
    # a number alpha is a constant: only x gets a gradient
    x = Value(-2.0)
    y = prelu(x, 0.3)
    y.backward()
    assert math.isclose(y.data, -0.6) and x.grad == 0.3


def test_prelu_is_the_where_form_not_max_when_alpha_exceeds_one() -> None:
    """The lecture's max(αx, x) agrees with PReLU for α <= 1 only."""
    for alpha in (0.0, 0.25, 1.0):
        for x in (-2.0, 3.0):
            assert prelu(Value(x), alpha).data == max(alpha * x, x)
    assert prelu(Value(3.0), 2.0).data == 3.0  # x > 0 passes through
    assert max(2.0 * 3.0, 3.0) == 6.0  # where max(αx, x) would give αx


def test_prelu_array_rules_agree_with_number_rules() -> None:
    rng = np.random.default_rng(0)
    x = away_from_zero(rng, (4, 3))
    alpha = rng.uniform(-1.0, 2.0, size=(4, 3))
    check_array_rules(PRELU, (x, alpha))
    x[0, 0] = 0.0  # at the kink too: both rules take slope α there
    check_array_rules(PRELU, (x, alpha))


def test_scalar_prelu_matches_torch_including_at_zero() -> None:
    torch = torch_or_skip()
    for xv, av in [(-1.5, 0.25), (2.0, 0.25), (0.0, 0.25), (-0.7, 1.8), (1.1, -0.4)]:
        x, alpha = Value(xv), Value(av)
        y = prelu(x, alpha)
        y.backward()
        xt = torch.tensor([xv], dtype=torch.float64, requires_grad=True)
        at = torch.tensor([av], dtype=torch.float64, requires_grad=True)
        yt = torch.nn.functional.prelu(xt, at)
        yt.backward()
        assert y.data == yt.item(), (xv, av)
        assert x.grad == xt.grad.item(), (xv, av)
        assert alpha.grad == at.grad.item(), (xv, av)


def test_prelu_second_derivatives_through_create_graph() -> None:
    """d²/dx dα prelu = [x <= 0]: the local rule is built from graph ops, so it can be
    differentiated again."""
    from autograd import grad

    for xv, expected in [(-1.0, 1.0), (2.0, 0.0)]:
        x, alpha = Value(xv), Value(0.3)
        (dx,) = grad(prelu(x, alpha), [x], create_graph=True)
        (dxda,) = grad(dx, [alpha])
        assert dxda == expected


# -- PReLU on Tensors ---------------------------------------------------------------------------


def prelu_check(layer: PReLU, x: np.ndarray, alpha: np.ndarray) -> None:
    def f(x: Tensor, alpha: Tensor) -> Tensor:
        layer.alpha = alpha
        return layer(x)

    assert gradcheck(f, [x, alpha])


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4), (3, 3, 5)])
def test_prelu_gradcheck_one_alpha_for_the_layer(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    prelu_check(PReLU(), away_from_zero(rng, shape), np.array([0.3]))


@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4), (3, 3, 5)])
def test_prelu_gradcheck_one_alpha_per_channel(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    prelu_check(PReLU(3), away_from_zero(rng, shape), np.array([0.1, -0.4, 1.6]))


@pytest.mark.parametrize("channels", [1, 4])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5, 2)])
def test_prelu_matches_torch(channels: int, shape: tuple[int, ...]) -> None:
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    alpha = rng.uniform(-0.5, 1.8, size=channels)  # α > 1 and α < 0: where max(αx, x) fails
    x = rng.normal(size=shape)
    upstream = rng.normal(size=shape)
    ours = PReLU(channels)
    ours.alpha.data = alpha.copy()
    xt = Tensor(x)
    y = ours(xt)
    y.backward(upstream)
    theirs = torch.nn.PReLU(channels).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(alpha))
    x_torch = torch.tensor(x, requires_grad=True)
    y_torch = theirs(x_torch)
    y_torch.backward(torch.tensor(upstream))
    np.testing.assert_allclose(y.data, y_torch.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(xt.grad, x_torch.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.alpha.grad, theirs.weight.grad.numpy(), **TIGHT)
    assert ours.alpha.grad.shape == tuple(theirs.weight.shape) == (channels,)


def test_prelu_defaults_like_torch() -> None:
    torch = torch_or_skip()
    ours, theirs = PReLU(3), torch.nn.PReLU(3)
    np.testing.assert_array_equal(ours.alpha.data, theirs.weight.detach().numpy())
    assert ours.alpha.data.shape == (3,)


def test_prelu_alpha_per_channel_broadcasts_over_positions() -> None:
    """Channel c of every example and every position is scaled by α_c where x <= 0."""
    layer = PReLU(2)
    layer.alpha.data = np.array([0.5, 2.0])
    x = -np.ones((3, 2, 4, 4))
    y = layer(x).data
    np.testing.assert_array_equal(y[:, 0], -0.5 * np.ones((3, 4, 4)))
    np.testing.assert_array_equal(y[:, 1], -2.0 * np.ones((3, 4, 4)))


def test_prelu_alpha_learns() -> None:
    """Fit y = prelu(x) with α = 0.6 from α = 0.25: the gradient reaches α through the layer."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 1))
    target = np.where(x > 0, x, 0.6 * x)
    layer = PReLU()
    opt = Adam(layer.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert abs(layer.alpha.data[0] - 0.6) < 1e-3


def test_prelu_refuses_bad_sizes_and_shapes() -> None:
    with pytest.raises(ValueError, match="num_parameters >= 1"):
        PReLU(0)
    with pytest.raises(TypeError, match="int num_parameters"):
        PReLU(2.0)  # type: ignore[arg-type]
    layer = PReLU(4, name="act")
    expected = r"act has 4 parameters.*\(N, 4\) or \(N, 4, H, W\).*got \(6, 3\)"
    with pytest.raises(ValueError, match=expected):
        layer(np.ones((6, 3)))
    with pytest.raises(ValueError, match=r"got \(2, 3, 4, 4\)"):
        layer(np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        layer(np.ones(4))  # no channel axis


# -- Maxout -------------------------------------------------------------------------------------


def maxout_by_numpy(x: np.ndarray, W: np.ndarray, b: np.ndarray, pieces: int) -> np.ndarray:
    """out[n, j] = max_k (x[n] · W[k·nout + j] + b[k·nout + j]), written out with loops."""
    nout = W.shape[0] // pieces
    out = np.empty((x.shape[0], nout))
    for n in range(x.shape[0]):
        for j in range(nout):
            out[n, j] = max(x[n] @ W[k * nout + j] + b[k * nout + j] for k in range(pieces))
    return out


def random_maxout(nin: int, nout: int, pieces: int, seed: int) -> tuple[Maxout, np.ndarray]:
    """A Maxout with random biases and an input batch whose pieces are never near a tie."""
    rng = np.random.default_rng(seed)
    layer = Maxout(nin, nout, pieces=pieces, seed=seed)
    layer.b.data = rng.normal(size=pieces * nout)
    x = rng.normal(size=(5, nin))
    z = np.sort((x @ layer.W.data.T + layer.b.data).reshape(5, pieces, nout), axis=1)
    assert (z[:, -1] - z[:, -2]).min() > 1e-3  # the winner is clear: the max is smooth here
    return layer, x


@pytest.mark.parametrize("pieces", [2, 3, 5])
def test_maxout_matches_the_formula(pieces: int) -> None:
    layer, x = random_maxout(4, 3, pieces, seed=20 + pieces)
    y = layer(x)
    assert y.shape == (5, 3)
    np.testing.assert_allclose(
        y.data, maxout_by_numpy(x, layer.W.data, layer.b.data, pieces), **TIGHT
    )


@pytest.mark.parametrize("pieces", [2, 3])
def test_maxout_gradcheck_for_x_W_and_b(pieces: int) -> None:
    layer, x = random_maxout(4, 3, pieces, seed=10 + pieces)

    def f(x: Tensor, W: Tensor, b: Tensor) -> Tensor:
        layer.W, layer.b = W, b
        return layer(x)

    assert gradcheck(f, [x, layer.W.data.copy(), layer.b.data.copy()])


def test_maxout_equals_linear_layers_joined_by_maximum() -> None:
    """The lecture's max(w₁ᵀx + b₁, w₂ᵀx + b₂, ...) built from Linear layers and the max gate:
    the same values and, slice by slice, the same gradients."""
    pieces, nout = 3, 2
    layer, x = random_maxout(4, nout, pieces, seed=7)
    linears = [Linear(4, nout, seed=0) for _ in range(pieces)]
    for k, linear in enumerate(linears):
        linear.W.data = layer.W.data[k * nout : (k + 1) * nout].copy()
        linear.b.data = layer.b.data[k * nout : (k + 1) * nout].copy()
    upstream = np.random.default_rng(8).normal(size=(5, nout))
    x1, x2 = Tensor(x), Tensor(x)
    y = layer(x1)
    y.backward(upstream)
    composed = linears[0](x2)
    for linear in linears[1:]:
        composed = composed.maximum(linear(x2))
    composed.backward(upstream)
    np.testing.assert_allclose(y.data, composed.data, **TIGHT)
    np.testing.assert_allclose(x1.grad, x2.grad, **TIGHT)
    for k, linear in enumerate(linears):
        rows = slice(k * nout, (k + 1) * nout)
        np.testing.assert_allclose(layer.W.grad[rows], linear.W.grad, **TIGHT)
        np.testing.assert_allclose(layer.b.grad[rows], linear.b.grad, **TIGHT)


def test_maxout_routes_each_units_gradient_to_its_winning_piece() -> None:
    layer = Maxout(1, 1, pieces=3, seed=0)
    layer.W.data = np.array([[1.0], [-1.0], [0.5]])  # max(x, -x, x/2) = |x|
    layer.b.data = np.zeros(3)
    layer(np.array([[2.0], [-3.0]])).sum().backward()
    np.testing.assert_array_equal(layer.b.grad, [1.0, 1.0, 0.0])  # piece 0 wins x=2, 1 wins -3
    np.testing.assert_array_equal(layer.W.grad, [[2.0], [-3.0], [0.0]])


def test_maxout_piece_zero_draws_what_linear_draws() -> None:
    maxout, linear = Maxout(3, 4, pieces=2, seed=5), Linear(3, 4, seed=5)
    np.testing.assert_array_equal(maxout.W.data[:4], linear.W.data)
    assert maxout.W.shape == (8, 3) and maxout.b.shape == (8,)


def test_maxout_refuses_bad_sizes_and_shapes() -> None:
    with pytest.raises(ValueError, match="nin >= 1 and nout >= 1, got nin=0, nout=3"):
        Maxout(0, 3)
    with pytest.raises(ValueError, match="nin=2, nout=0"):
        Maxout(2, 0)
    with pytest.raises(ValueError, match=r"pieces >= 2, got pieces=1.*Linear\(2, 3\)"):
        Maxout(2, 3, pieces=1)
    with pytest.raises(ValueError, match="pieces >= 2, got pieces=0"):
        Maxout(2, 3, pieces=0)
    layer = Maxout(3, 2, name="mo")
    with pytest.raises(ValueError, match=r"mo expects inputs of shape \(N, 3\), got \(5, 4\)"):
        layer(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"\(N, 3\), got \(3,\)"):
        layer(np.ones(3))


def test_a_maxout_network_learns_two_moons() -> None:
    """Seeded, full-batch Adam, 300 steps: maxout then a linear read-out fits the moons and
    generalises (at least 97% of 100 held-out points); the read-out alone, a straight line,
    cannot fit the 300 training points (under 90% of them: the moons interleave)."""
    points, labels = moons(400, noise=0.1, seed=0)
    X, y = np.array(points), np.array(labels)
    train, test = slice(0, 300), slice(300, 400)

    def accuracies(model: Sequential) -> tuple[float, float]:
        opt = Adam(model.parameters(), lr=0.05)
        for _ in range(300):
            opt.zero_grad()
            model(X[train]).cross_entropy(y[train]).backward()
            opt.step()
        right = model(X).data.argmax(axis=1) == y
        return float(right[train].mean()), float(right[test].mean())

    fit, held_out = accuracies(Sequential(Maxout(2, 8, pieces=3, seed=0), Linear(8, 2, seed=1)))
    assert fit >= 0.99 and held_out >= 0.97
    line, _ = accuracies(Sequential(Linear(2, 2, seed=1)))
    assert line < 0.9


# -- in a model: names, saving and loading ------------------------------------------------------


def build(seed: int) -> Sequential:
    return Sequential(
        Linear(2, 6, seed=seed),
        PReLU(6),
        Maxout(6, 4, pieces=3, seed=seed + 1),
        PReLU(),
        Linear(4, 2, seed=seed + 2),
    )


def test_sequential_numbers_prelu_and_maxout_layers() -> None:
    model = build(0)
    assert [name for name, _ in model.named_parameters()] == [
        "layer1.W",
        "layer1.b",
        "prelu1.alpha",
        "maxout1.W",
        "maxout1.b",
        "prelu2.alpha",
        "layer2.W",
        "layer2.b",
    ]
    assert model[1].alpha.label == "prelu1.alpha"  # type: ignore[attr-defined]
    named = Sequential(Maxout(2, 2, name="mo"), PReLU(name="act"), Maxout(2, 1))
    assert [name for name, _ in named.named_parameters()] == [
        "mo.W",
        "mo.b",
        "act.alpha",
        "maxout2.W",  # the second Maxout: numbered by its place among the Maxouts
        "maxout2.b",
    ]
    with pytest.raises(ValueError, match="two layers are named 'act'"):
        Sequential(PReLU(name="act"), PReLU(name="act"))
    assert (
        repr(model[2]) == "Maxout(6, 4, pieces=3)" and repr(model[1]) == "PReLU(num_parameters=6)"
    )


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = build(0)
    model[1].alpha.data = np.linspace(-0.2, 1.5, 6)  # type: ignore[attr-defined]
    model[3].alpha.data = np.array([0.7])  # type: ignore[attr-defined]
    model[2].b.data = np.random.default_rng(0).normal(size=12)  # type: ignore[attr-defined]
    path = model.save(tmp_path / "model.json")
    fresh = build(100)
    x = np.random.default_rng(1).normal(size=(5, 2))
    assert not np.array_equal(model(x).data, fresh(x).data)
    fresh.load(path)
    saved, loaded = model.state_dict(), fresh.state_dict()
    assert list(saved) == list(loaded)
    for name in saved:
        np.testing.assert_array_equal(np.array(saved[name]), np.array(loaded[name]), err_msg=name)
    assert np.array(saved["prelu1.alpha"]).shape == (6,)
    np.testing.assert_array_equal(model(x).data, fresh(x).data)
    wrong = Sequential(Linear(2, 6), PReLU(5), Maxout(6, 4, pieces=3), PReLU(), Linear(4, 2))
    with pytest.raises(ValueError, match=r"prelu1\.alpha"):
        wrong.load(path)


def test_a_prelu_gate_on_tensors_is_the_one_the_scalar_draws() -> None:
    y = PReLU(2)(Tensor(np.ones((3, 2))))
    assert y.gate is PRELU
    assert apply(PRELU, Value(-1.0), 0.5).gate is PRELU

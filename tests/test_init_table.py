"""Seed 004's initialisation table as ``init=`` choices (nn.init).

n = n_inputs + n_outputs. Uniform on [-r, r], normal with std sigma:
logistic r = 4 sqrt(6/n), sigma = 4 sqrt(2/n); tanh r = sqrt(6/n), sigma = sqrt(2/n);
ReLU r = sqrt(2) sqrt(6/n), sigma = sqrt(2) sqrt(2/n) (docs/lecture-reference.md: the slide's factor
4 beside tanh is a slip; it is the logistic's).
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from nn import init

FAN_IN, FAN_OUT = 30, 20
N = FAN_IN + FAN_OUT
DRAWS = 40_000

#: (activation, gain) as the correct table has them, written out here, not read from nn.init.
TABLE = [("sigmoid", 4.0), ("tanh", 1.0), ("relu", math.sqrt(2.0))]


def _draws(name: str, seed: int = 0) -> np.ndarray:
    draw = init.get(name)
    rng = random.Random(seed)
    return np.array([draw(FAN_IN, FAN_OUT, rng) for _ in range(DRAWS)])


@pytest.mark.parametrize(("activation", "gain"), TABLE)
def test_uniform_row_draws_on_minus_r_to_r(activation: str, gain: float) -> None:
    r = gain * math.sqrt(6.0 / N)
    w = _draws(f"{activation}-uniform")
    assert np.abs(w).max() <= r
    assert np.abs(w).max() > 0.99 * r  # the whole range is used
    assert abs(w.mean()) < 0.02 * r
    # U(-r, r) has std r / sqrt(3)
    assert w.std() == pytest.approx(r / math.sqrt(3.0), rel=0.02)
    assert init.table_range(activation, FAN_IN, FAN_OUT) == pytest.approx(r)


@pytest.mark.parametrize(("activation", "gain"), TABLE)
def test_normal_row_has_the_tables_std(activation: str, gain: float) -> None:
    sigma = gain * math.sqrt(2.0 / N)
    w = _draws(f"{activation}-normal")
    assert w.std() == pytest.approx(sigma, rel=0.02)
    assert abs(w.mean()) < 0.02 * sigma
    assert np.abs(w).max() > 3 * sigma  # a normal, not a bounded, draw
    assert init.table_std(activation, FAN_IN, FAN_OUT) == pytest.approx(sigma)


def test_factor_four_is_the_logistics_not_tanhs() -> None:
    """The slip the slide makes: tanh gets sqrt(6/n), the logistic four times that."""
    assert init.table_range("tanh", 3, 5) == pytest.approx(math.sqrt(6 / 8))
    assert init.table_range("sigmoid", 3, 5) == pytest.approx(4 * math.sqrt(6 / 8))
    assert "slip" in (init.__doc__ or "")


def test_tanh_normal_is_xavier() -> None:
    assert np.array_equal(_draws("tanh-normal", seed=3), _draws("xavier", seed=3))


def test_draws_are_seeded() -> None:
    for name in ("sigmoid-uniform", "relu-normal"):
        assert np.array_equal(_draws(name, seed=7), _draws(name, seed=7))
        assert not np.array_equal(_draws(name, seed=7), _draws(name, seed=8))


def test_layers_take_the_table_names() -> None:
    from nn import MLP, Layer

    layer = Layer(40, 60, activation="tanh", init="tanh-uniform", seed=0)
    w = np.array([p.data for p in layer.parameters() if not p.label.endswith(".b")])
    assert np.abs(w).max() <= math.sqrt(6 / 100)
    model = MLP(3, [4, 1], activation="relu", init="relu-normal", seed=0)
    assert len(model.parameters()) == 21


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorot-tanh'") as info:
        init.get("glorot-tanh")
    message = str(info.value)
    for name in ("xavier", "he", "sigmoid-uniform", "tanh-normal", "relu-uniform"):
        assert name in message


def _deep_tanh(name: str, depth: int = 10, width: int = 100, seed: int = 0) -> list[np.ndarray]:
    """Activations of each layer of a deep tanh net (biases 0) on a batch of N(0, 1) inputs."""
    draw = init.get(name)
    rng = random.Random(seed)
    x = np.random.default_rng(seed).standard_normal((500, width))
    layers = []
    for _ in range(depth):
        W = np.array([[draw(width, width, rng) for _ in range(width)] for _ in range(width)])
        x = np.tanh(x @ W.T)
        layers.append(x)
    return layers


def test_tanh_row_keeps_a_deep_tanh_net_alive() -> None:
    """Ten tanh layers of 100 units. With the tanh row the activations' variance shrinks only
    slowly (tanh's slope is below 1 away from 0) and no unit saturates. ``small`` (N(0, 0.01^2))
    shrinks it a hundredfold per layer, to nothing; the logistic row (4x too wide for tanh)
    drives almost half the units into saturation, where tanh' ~ 0 and learning stalls."""
    good = _deep_tanh("tanh-normal")
    variances = [float(a.var()) for a in good]
    assert variances[-1] > 0.02
    assert variances[-1] / variances[4] > 0.25  # slow decay, not geometric collapse
    assert float((np.abs(good[-1]) > 0.99).mean()) < 0.01

    shrinking = [float(a.var()) for a in _deep_tanh("small")]
    assert shrinking[-1] < 1e-15
    assert shrinking[-1] / shrinking[4] < 1e-8

    saturated = _deep_tanh("sigmoid-normal")[-1]
    assert float((np.abs(saturated) > 0.99).mean()) > 0.3

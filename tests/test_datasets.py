"""nn.datasets: shapes, labels, determinism, value ranges, argument errors."""

from __future__ import annotations

import builtins
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nn import datasets
from nn.datasets import circles, digits, moons, spirals, to_signed, xor

Generator = Callable[..., datasets.Dataset]
GENERATORS: list[tuple[str, Generator]] = [
    ("moons", moons),
    ("circles", circles),
    ("spirals", spirals),
]


def check_types(X: list[list[float]], y: list[int], width: int = 2) -> None:
    assert isinstance(X, list) and isinstance(y, list)
    assert all(isinstance(x, list) and len(x) == width for x in X)
    assert all(type(v) is float and math.isfinite(v) for x in X for v in x)
    assert all(type(label) is int for label in y)


def test_xor() -> None:
    X, y = xor()
    check_types(X, y)
    assert [(int(a) ^ int(b)) for a, b in X] == y == [0, 1, 1, 0]


@pytest.mark.parametrize("n", [1, 2, 7, 100, 101])
def test_moons_and_circles_shapes_and_balance(n: int) -> None:
    for make in (moons, circles):
        X, y = make(n, noise=0.1, seed=3)
        check_types(X, y)
        assert len(X) == len(y) == n
        counts = Counter(y)
        assert counts[0] == n // 2 and counts[1] == n - n // 2


@pytest.mark.parametrize(("n", "classes"), [(300, 3), (10, 3), (8, 2), (5, 5)])
def test_spirals_shapes_and_balance(n: int, classes: int) -> None:
    X, y = spirals(n, classes, noise=0.2, seed=0)
    check_types(X, y)
    assert len(X) == n
    counts = Counter(y)
    assert set(counts) == set(range(classes))
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize(("name", "make"), GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name: str, make: Generator) -> None:
    assert make(seed=5) == make(seed=5)
    assert make(seed=5)[0] != make(seed=6)[0]


@pytest.mark.parametrize(("name", "make"), GENERATORS)
def test_examples_are_shuffled(name: str, make: Generator) -> None:
    _, y = make(seed=0)
    assert y != sorted(y)


def test_moons_without_noise_lie_on_the_two_half_circles() -> None:
    X, y = moons(50, noise=0.0, seed=0)
    for (x1, x2), label in zip(X, y, strict=True):
        if label == 0:  # upper half of the unit circle
            assert math.hypot(x1, x2) == pytest.approx(1.0)
            assert x2 >= -1e-12
        else:  # lower half-circle centred at (1, 1/2)
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0)
            assert x2 <= 0.5 + 1e-12
    xs = np.array(X)
    assert xs[:, 0].min() >= -1 - 1e-12 and xs[:, 0].max() <= 2 + 1e-12
    assert xs[:, 1].min() >= -0.5 - 1e-12 and xs[:, 1].max() <= 1 + 1e-12


def test_moons_noise_is_the_standard_deviation() -> None:
    clean, _ = moons(4000, noise=0.0, seed=2)
    noisy, _ = moons(4000, noise=0.1, seed=2)
    # same seed: same shuffle, so the difference is the noise itself
    assert np.std(np.array(noisy) - np.array(clean)) == pytest.approx(0.1, rel=0.05)


def test_circles_radii() -> None:
    X, y = circles(40, noise=0.0, factor=0.3, seed=0)
    for x, label in zip(X, y, strict=True):
        assert math.hypot(*x) == pytest.approx(1.0 if label == 0 else 0.3)


def test_spirals_lie_in_the_unit_disc() -> None:
    X, _ = spirals(300, 3, noise=0.5, seed=1)
    assert max(math.hypot(*x) for x in X) <= 1.0 + 1e-12


def test_moons_and_circles_match_scikit_learn() -> None:
    sk = pytest.importorskip("sklearn.datasets")
    # micrograd's demo: make_moons(n_samples=100, noise=0.1) after seeding numpy with 1337
    X, y = moons(100, noise=0.1, seed=1337)
    X_sk, y_sk = sk.make_moons(n_samples=100, noise=0.1, random_state=1337)
    assert np.array_equal(np.array(X), X_sk) and np.array_equal(np.array(y), y_sk)
    X, y = circles(55, noise=0.05, factor=0.4, seed=7)
    X_sk, y_sk = sk.make_circles(n_samples=55, noise=0.05, factor=0.4, random_state=7)
    assert np.array_equal(np.array(X), X_sk) and np.array_equal(np.array(y), y_sk)


def test_to_signed() -> None:
    assert to_signed([0, 1, 1, 0]) == [-1, 1, 1, -1]
    assert to_signed(np.array([1, 0]).tolist()) == [1, -1]
    with pytest.raises(ValueError, match="label 1 is 2"):
        to_signed([0, 2])
    with pytest.raises(ValueError, match="label 0 is -1"):
        to_signed([-1, 1])


@pytest.mark.parametrize(("name", "make"), GENERATORS)
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must be at least 1"),
        ({"n": -5}, ValueError, "n must be at least 1"),
        ({"n": 10.0}, TypeError, "n must be an int"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"noise": float("nan")}, ValueError, "noise"),
        ({"noise": "0.1"}, TypeError, "noise must be a number"),
    ],
)
def test_bad_arguments(
    name: str, make: Generator, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make(**kwargs)


def test_bad_generator_specific_arguments() -> None:
    with pytest.raises(ValueError, match="factor"):
        circles(10, factor=1.0)
    with pytest.raises(ValueError, match="factor"):
        circles(10, factor=0.0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        spirals(10, classes=1)
    with pytest.raises(ValueError, match="n >= classes"):
        spirals(2, classes=3)


def test_digits() -> None:
    pytest.importorskip("sklearn")
    X, y = digits()
    check_types(X[:20], y[:20], width=64)
    assert len(X) == len(y) == 1797
    assert set(y) == set(range(10))
    assert min(min(x) for x in X) == 0.0 and max(max(x) for x in X) == 1.0
    raw, _ = digits(n_class=2, scale=False)
    assert max(max(x) for x in raw) == 16.0
    assert len(raw) == sum(1 for label in y if label < 2)
    with pytest.raises(ValueError, match="10 digits"):
        digits(n_class=11)


def test_digits_without_scikit_learn_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_sklearn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"backprop-lab\[digits\]"):
        digits()

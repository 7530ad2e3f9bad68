"""Small classification datasets, generated from a seed: nothing is downloaded.

Every function returns ``(X, y)``: ``X`` a list of examples, each a list of Python floats (what
the scalar engine takes: ``model(X[i])``), and ``y`` a list of Python ints.

Label convention: binary datasets label their classes **0 and 1**, as binary cross-entropy
wants; :func:`to_signed` maps them to **-1 and +1** for the hinge (max-margin) loss.
:func:`spirals` and :func:`digits` label classes 0, 1, ..., k - 1 (softmax cross-entropy).

The same ``seed`` always gives the same data. :func:`moons` and :func:`circles` follow
scikit-learn's ``make_moons`` and ``make_circles`` draw for draw (a numpy ``RandomState``
seeded with ``seed``, a shuffle, then Gaussian noise), so ``moons(100, noise=0.1, seed=s)``
equals ``make_moons(100, noise=0.1, random_state=s)``: micrograd's demo data can be rebuilt
without scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

Dataset = tuple[list[list[float]], list[int]]


def _check_n(n: int, name: str = "n") -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}: {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")


def _check_noise(noise: float) -> None:
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating)):
        raise TypeError(f"noise must be a number, got {type(noise).__name__}: {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise is the standard deviation of the noise: >= 0, got {noise}")


def _finish(
    points: NDArray[np.float64],
    labels: NDArray[np.intp],
    noise: float,
    rng: np.random.RandomState,
) -> Dataset:
    """Shuffle the examples, add N(0, noise^2) to every coordinate, return plain lists."""
    order = np.arange(len(labels))
    rng.shuffle(order)
    points, labels = points[order], labels[order]
    points = points + rng.normal(scale=noise, size=points.shape)
    return points.tolist(), [int(label) for label in labels]


def xor() -> Dataset:
    """The four points of XOR: y = 1 when exactly one input is 1.

    Not linearly separable, so no single neuron can fit it; a 2-2-1 network can (as the
    slides build it: XNOR is OR of AND and NOR, and XOR is its negation).
    """
    return [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0]


def moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half-moons: ``n`` points, ``n // 2`` of class 0 (the rest class 1).

    Class 0 is the upper half-circle (cos t, sin t), class 1 the lower half-circle shifted
    right and down, (1 - cos t, 1/2 - sin t), for t evenly spaced in [0, pi]. Points are
    shuffled, then ``noise`` (a standard deviation) is added to every coordinate. Without noise
    x1 lies in [-1, 2] and x2 in [-1/2, 1].
    """
    _check_n(n)
    _check_noise(noise)
    rng = np.random.RandomState(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, np.pi, n0)
    t1 = np.linspace(0.0, np.pi, n1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    # (1 - sin t) - 1/2 rather than 1/2 - sin t: the same rounding as scikit-learn, bit for bit
    lower = np.column_stack([1.0 - np.cos(t1), 1.0 - np.sin(t1) - 0.5])
    labels = np.concatenate([np.zeros(n0, dtype=np.intp), np.ones(n1, dtype=np.intp)])
    return _finish(np.vstack([upper, lower]), labels, noise, rng)


def circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A circle of radius 1 (class 0, ``n // 2`` points) around one of radius ``factor``.

    Angles are evenly spaced over [0, 2 pi) on each circle; points are shuffled and then
    ``noise`` is added to every coordinate. ``factor`` must be in (0, 1).
    """
    _check_n(n)
    _check_noise(noise)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor is the inner circle's radius: 0 < factor < 1, got {factor}")
    rng = np.random.RandomState(seed)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0.0, 2.0 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0.0, 2.0 * np.pi, n1, endpoint=False)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.column_stack([np.cos(t1), np.sin(t1)])
    labels = np.concatenate([np.zeros(n0, dtype=np.intp), np.ones(n1, dtype=np.intp)])
    return _finish(np.vstack([outer, inner]), labels, noise, rng)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """``classes`` spiral arms around the origin (CS231n's example), ``n`` points in all.

    Arm k has ``n // classes`` points (the first ``n % classes`` arms one more): radius r from
    0 to 1 and angle 4k + 4r, plus N(0, noise^2) on the angle, at (r sin angle, r cos angle).
    Every point lies within the unit disc. Labels are 0 .. classes - 1; examples are shuffled.
    """
    _check_n(n)
    _check_n(classes, "classes")
    _check_noise(noise)
    if classes < 2:
        raise ValueError(f"spirals needs at least 2 classes, got {classes}")
    if n < classes:
        raise ValueError(f"{n} points cannot make {classes} arms: give n >= classes")
    rng = np.random.RandomState(seed)
    parts, labels = [], []
    for k in range(classes):
        m = n // classes + (1 if k < n % classes else 0)
        r = np.linspace(0.0, 1.0, m)
        angle = np.linspace(4.0 * k, 4.0 * (k + 1), m) + rng.normal(scale=noise, size=m)
        parts.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
        labels.append(np.full(m, k, dtype=np.intp))
    return _finish(np.vstack(parts), np.concatenate(labels), 0.0, rng)


def digits(n_class: int = 10, scale: bool = True) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images; no download).

    Each example is 64 pixel intensities, row by row, divided by 16 into [0, 1] when ``scale``
    (raw integers 0 .. 16 otherwise); labels are the digits 0 .. ``n_class - 1``. The lectures'
    "hello world" of classification, small enough for the scalar engine.

    Raises:
        ImportError: scikit-learn is not installed (``pip install 'backprop-lab[digits]'``).
    """
    _check_n(n_class, "n_class")
    if n_class > 10:
        raise ValueError(f"there are 10 digits, got n_class={n_class}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            "nn.datasets.digits() reads scikit-learn's bundled digits: install it with "
            "pip install 'backprop-lab[digits]' (or pip install scikit-learn)"
        ) from error
    bunch = load_digits(n_class=n_class)
    data = np.asarray(bunch.data, dtype=np.float64)
    if scale:
        data = data / 16.0
    return data.tolist(), [int(label) for label in bunch.target]


def to_signed(labels: Sequence[int]) -> list[int]:
    """Map {0, 1} labels to {-1, +1} (for the hinge loss): 0 -> -1, 1 -> +1."""
    signed = []
    for i, label in enumerate(labels):
        if isinstance(label, bool) or label not in (0, 1):
            raise ValueError(f"to_signed maps labels 0 and 1; label {i} is {label!r}")
        signed.append(2 * int(label) - 1)
    return signed

"""Weight initialisers, as the lectures compare them. Each draws one weight from a seeded
``random.Random`` given the layer's fan-in and fan-out.

* ``zeros``: every weight 0. Fails: all hidden units compute the same thing and get the same
  gradient, so they stay identical (the symmetry is never broken).
* ``small``: N(0, 0.01^2). Works for shallow nets; in deep ones the signal shrinks layer by
  layer.
* ``xavier`` (Glorot): N(0, 2 / (fan_in + fan_out)), keeps the variance of activations and
  gradients steady through tanh/sigmoid layers.
* ``he``: N(0, 2 / fan_in), the same for ReLU layers (which zero half their inputs).
* ``uniform``: U(-1, 1), micrograd's choice (used to compare with it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

Initialiser = Callable[[int, int, random.Random], float]


def zeros(fan_in: int, fan_out: int, rng: random.Random) -> float:
    return 0.0


def small(fan_in: int, fan_out: int, rng: random.Random) -> float:
    return rng.gauss(0.0, 0.01)


def xavier(fan_in: int, fan_out: int, rng: random.Random) -> float:
    return rng.gauss(0.0, math.sqrt(2.0 / (fan_in + fan_out)))


def he(fan_in: int, fan_out: int, rng: random.Random) -> float:
    return rng.gauss(0.0, math.sqrt(2.0 / fan_in))


def uniform(fan_in: int, fan_out: int, rng: random.Random) -> float:
    return rng.uniform(-1.0, 1.0)


INITIALISERS: dict[str, Initialiser] = {
    "zeros": zeros,
    "small": small,
    "xavier": xavier,
    "he": he,
    "uniform": uniform,
}


_SHARED = random.Random(0)


def shared_rng() -> random.Random:
    """The generator layers draw from when given no seed: one per process, seeded with 0."""
    return _SHARED


def reseed(seed: int) -> None:
    """Restart :func:`shared_rng` from ``seed``: layers built next draw the same numbers."""
    _SHARED.seed(seed)


def get(name: str | Initialiser) -> Initialiser:
    """An initialiser by name (or the function itself)."""
    if callable(name):
        return name
    try:
        return INITIALISERS[name]
    except KeyError:
        raise ValueError(
            f"unknown initialiser {name!r}; choose one of {', '.join(INITIALISERS)}"
        ) from None


def default_for(activation: str | object) -> str:
    """He for the ReLU family, Xavier otherwise."""
    return "he" if activation in ("relu", "leaky_relu", "elu") else "xavier"

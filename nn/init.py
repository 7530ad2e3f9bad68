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

The initialisation table of seed 004 (Glorot and Bengio's rule, with n = fan_in + fan_out,
"n_inputs + n_outputs"), one name per row and column: uniform on [-r, r] or normal with
standard deviation sigma.

=====================  =================  =================  ==================
activation             uniform r          normal sigma       names
=====================  =================  =================  ==================
logistic (sigmoid)     4 sqrt(6/n)        4 sqrt(2/n)        ``sigmoid-uniform``,
                                                             ``sigmoid-normal``
hyperbolic tangent     sqrt(6/n)          sqrt(2/n)          ``tanh-uniform``,
                                                             ``tanh-normal``
ReLU (and variants)    sqrt(2) sqrt(6/n)  sqrt(2) sqrt(2/n)  ``relu-uniform``,
                                                             ``relu-normal``
=====================  =================  =================  ==================

Pass the name as ``init=`` to :class:`nn.Neuron`, :class:`nn.Layer`, :class:`nn.MLP` or
:class:`nn.Linear`; the draws come from the layer's seeded generator like the others.

The slide (its OCR) prints the factor 4 beside "Hyperbolic tangent", and no formula beside
"Logistic". That is a slip, a known erratum of the book the slide follows: the factor 4 is the
logistic's, whose slope at 0 is 1/4 where tanh's is 1 (docs/lecture-reference.md). ``tanh-normal``
draws what ``xavier`` draws.
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


#: The table's gain per activation: the factor in front of sqrt(6/n) and sqrt(2/n).
TABLE_GAIN: dict[str, float] = {"sigmoid": 4.0, "tanh": 1.0, "relu": math.sqrt(2.0)}


def table_range(activation: str, fan_in: int, fan_out: int) -> float:
    """The table's uniform bound ``r = gain sqrt(6 / (fan_in + fan_out))``."""
    return TABLE_GAIN[activation] * math.sqrt(6.0 / (fan_in + fan_out))


def table_std(activation: str, fan_in: int, fan_out: int) -> float:
    """The table's normal standard deviation ``sigma = gain sqrt(2 / (fan_in + fan_out))``."""
    return TABLE_GAIN[activation] * math.sqrt(2.0 / (fan_in + fan_out))


def _table_uniform(activation: str) -> Initialiser:
    def draw(fan_in: int, fan_out: int, rng: random.Random) -> float:
        r = table_range(activation, fan_in, fan_out)
        return rng.uniform(-r, r)

    draw.__name__ = f"{activation}_uniform"
    draw.__doc__ = f"U(-r, r), r = {TABLE_GAIN[activation]:g} sqrt(6 / (fan_in + fan_out))."
    return draw


def _table_normal(activation: str) -> Initialiser:
    def draw(fan_in: int, fan_out: int, rng: random.Random) -> float:
        return rng.gauss(0.0, table_std(activation, fan_in, fan_out))

    draw.__name__ = f"{activation}_normal"
    gain = TABLE_GAIN[activation]
    draw.__doc__ = f"N(0, sigma^2), sigma = {gain:g} sqrt(2 / (fan_in + fan_out))."
    return draw


INITIALISERS: dict[str, Initialiser] = {
    "zeros": zeros,
    "small": small,
    "xavier": xavier,
    "he": he,
    "uniform": uniform,
}
for _activation in TABLE_GAIN:  # seed 004's table, registered row by row
    INITIALISERS[f"{_activation}-uniform"] = _table_uniform(_activation)
    INITIALISERS[f"{_activation}-normal"] = _table_normal(_activation)


_SHARED = random.Random(0)


def shared_rng() -> random.Random:
    """The generator layers draw from when given no seed: one per process, seeded with 0."""
    return _SHARED


def rng_for(seed: int | random.Random | None) -> random.Random:
    """The generator a Tensor layer draws its weights from: its own, seeded with ``seed`` (or
    the ``random.Random`` given), or :func:`shared_rng` when no seed is given."""
    if seed is None:
        return _SHARED
    return seed if isinstance(seed, random.Random) else random.Random(seed)


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

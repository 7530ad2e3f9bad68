"""Activation functions, by name, built from engine ops.

Each is a function ``Value -> Value``. ReLU, sigmoid and tanh are engine gates; leaky ReLU is
``max(0.1 x, x)``, a max gate (the router), exactly as the lectures write it; ELU is a gate of
its own defined here with :class:`autograd.Op`: an example of adding an op from outside the
engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from autograd import Op, Value, apply

Activation = Callable[[Value], Value]

ELU_ALPHA = 1.0


def _elu_forward(x: float) -> float:
    return x if x > 0.0 else ELU_ALPHA * math.expm1(x)


ELU = Op(
    "elu",
    "elu",
    1,
    forward=_elu_forward,
    # for x <= 0: d/dx alpha (e^x - 1) = alpha e^x = out + alpha
    local=lambda x, out: (1.0 if x > 0.0 else out + ELU_ALPHA,),
    formula="d elu(x)/dx = 1 if x > 0 else alpha e^x",
    smooth=lambda x: abs(x) > 1e-3,
)


def linear(x: Value) -> Value:
    """The identity: no gate at all."""
    return x


def leaky_relu(x: Value) -> Value:
    """max(0.1 x, x): slope 1 for x > 0 and 0.1 for x < 0."""
    return x.max(0.1 * x)


def elu(x: Value) -> Value:
    """x for x > 0, alpha (e^x - 1) otherwise (alpha = 1)."""
    return apply(ELU, x)


ACTIVATIONS: dict[str, Activation] = {
    "linear": linear,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
}


def get(name: str | Activation) -> Activation:
    """An activation by name (or the function itself)."""
    if callable(name):
        return name
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}"
        ) from None


def softmax(logits: Sequence[Value | float]) -> list[Value]:
    """softmax(z)_i = e^(z_i - m) / sum_j e^(z_j - m), with m = max_j z_j.

    Subtracting the largest logit changes nothing mathematically (it cancels) but keeps every
    exponent <= 0, so nothing overflows. ``m`` is taken as a plain number, a constant for the
    graph: the gradient is the same either way.
    """
    values = [z if isinstance(z, Value) else Value(z) for z in logits]
    if not values:
        raise ValueError("softmax of an empty list")
    m = max(v.data for v in values)
    exps = [(v - m).exp() for v in values]
    total = chain_sum(exps)
    return [e / total for e in exps]


def chain_sum(values: Sequence[Value]) -> Value:
    """v0 + v1 + ... as a chain of add gates. (Python's ``sum`` would start from a constant 0
    leaf, one more gate in every diagram.)"""
    if not values:
        raise ValueError("cannot add up an empty list of values")
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total

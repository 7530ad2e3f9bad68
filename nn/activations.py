"""Activation functions, by name, built from engine ops.

Each is a function ``Value -> Value``. ReLU, sigmoid and tanh are engine gates; leaky ReLU is
``max(0.1 x, x)``, a max gate (the router), exactly as the lectures write it; ELU is a gate of
its own defined here with :class:`autograd.Op`: an example of adding an op from outside the
engine. PReLU is another such gate, with two inputs (x and its learned slope α); it takes a
second argument, so it is called as ``prelu(x, alpha)`` and is not one of the names in
:data:`ACTIVATIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Op, Value, apply
from autograd.ops import KINK_MARGIN, step

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


def _prelu_forward(x: float, alpha: float) -> float:
    return x if x > 0.0 else alpha * x


def _prelu_array_forward(x: Any, alpha: Any) -> Any:
    return np.where(x > 0, x, alpha * x)


def _prelu_local(x: Any, alpha: Any, out: Any) -> tuple[Any, Any]:
    above = step(x, tie=0.0)  # [x > 0]: 1 or 0 (a bool mask for arrays)
    below = step(0.0, x, tie=1.0)  # [x <= 0]: at x = 0 the slope is α, as in PyTorch
    return above + below * alpha, below * x


PRELU = Op(
    "prelu",
    "prelu",
    2,
    forward=_prelu_forward,
    local=_prelu_local,
    formula="d prelu(x,α)/dx = 1 if x > 0 else α; d prelu(x,α)/dα = 0 if x > 0 else x",
    array_forward=_prelu_array_forward,
    smooth=lambda x, alpha: abs(x) > KINK_MARGIN,
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


def prelu(x: Value, alpha: Value | float) -> Value:
    """PReLU, the parametric ReLU: ``x`` for x > 0, ``α x`` otherwise, with ``α`` learned.

    One gate with two inputs, so a diagram shows a ``prelu`` gate fed by ``x`` and ``α`` and
    its local rules: d/dx = 1 if x > 0 else α, d/dα = 0 if x > 0 else x (at x = 0 the slope is
    α and d/dα = 0, as in PyTorch). The lecture writes g(x) = max(αx, x): the same function
    only while α <= 1 (for α > 1, max picks αx for x > 0); this is PyTorch's form, right for
    every α. ``α`` fixed at 0.1 is :func:`leaky_relu`; a number ``alpha`` is a constant leaf,
    a Value is learned like any weight. The same op on Tensors is :class:`nn.tensor_layers.PReLU`.
    """
    return apply(PRELU, x, alpha)


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

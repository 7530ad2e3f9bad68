"""Neurons, layers and multi-layer perceptrons, as scalar graphs on the engine.

A neuron computes ``act(b + w0 x0 + w1 x1 + ...)``: one mul gate per weight, a chain of add
gates, one activation gate, so ``viz.draw`` shows every step. Parameters are labelled by their
place in the model (``layer1.neuron0.w1``), and ``viz.draw(loss, group="label")`` boxes them by
neuron and layer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from autograd import Value
from nn import activations
from nn import init as initialisers
from nn.module import Module

Inputs = Sequence[Value | float] | NDArray[np.floating[Any]]
"""One example: a sequence of numbers (or Values), or a 1-D numpy array of them."""


def _as_values(x: Inputs, expected: int, who: str) -> list[Value]:
    if isinstance(x, (Value, int, float)):
        raise TypeError(f"{who} takes a list of {expected} inputs, got a single number")
    # raw numbers are the inputs: named x0, x1, ... so a drawing shows them by name
    values = [v if isinstance(v, Value) else Value(v, f"x{i}") for i, v in enumerate(x)]
    if len(values) != expected:
        raise ValueError(f"{who} expects {expected} inputs, got {len(values)}")
    return values


def _rng(seed: int | random.Random | None) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


class Neuron(Module):
    """``act(b + sum_i w_i x_i)``.

    Args:
        nin: number of inputs.
        activation: ``"tanh"``, ``"sigmoid"``, ``"relu"``, ``"leaky_relu"``, ``"elu"``,
            ``"linear"`` or a function ``Value -> Value``.
        init: weight initialiser (see :mod:`nn.init`); by default He for the ReLU family and
            Xavier otherwise. The bias starts at 0.
        seed: an int or a ``random.Random``, so every initialisation is reproducible.
        name: prefix of the parameter labels (``layer1.neuron0`` gives ``layer1.neuron0.w0``).
        fan_out: the fan-out the initialiser sees (the size of the layer this neuron is in).
    """

    def __init__(
        self,
        nin: int,
        activation: str | activations.Activation = "tanh",
        init: str | initialisers.Initialiser | None = None,
        seed: int | random.Random | None = 0,
        name: str = "neuron",
        fan_out: int = 1,
    ) -> None:
        if nin < 1:
            raise ValueError(f"a neuron needs at least one input, got nin={nin}")
        self.activation_name = activation if isinstance(activation, str) else "custom"
        self.activation = activations.get(activation)
        draw = initialisers.get(init if init is not None else initialisers.default_for(activation))
        rng = _rng(seed)
        self.w = [Value(draw(nin, fan_out, rng), f"{name}.w{i}") for i in range(nin)]
        self.b = Value(0.0, f"{name}.b")

    def __call__(self, x: Inputs) -> Value:
        xs = _as_values(x, len(self.w), "this neuron")
        act = self.b
        for wi, xi in zip(self.w, xs, strict=True):
            act = act + wi * xi
        return self.activation(act)

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for p in [*self.w, self.b]:
            yield p.label, p

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation_name!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; returns a list of ``nout`` Values."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | activations.Activation = "tanh",
        init: str | initialisers.Initialiser | None = None,
        seed: int | random.Random | None = 0,
        name: str = "layer",
    ) -> None:
        if nout < 1:
            raise ValueError(f"a layer needs at least one neuron, got nout={nout}")
        rng = _rng(seed)
        self.neurons = [
            Neuron(nin, activation, init, rng, name=f"{name}.neuron{j}", fan_out=nout)
            for j in range(nout)
        ]

    def __call__(self, x: Inputs) -> list[Value]:
        xs = _as_values(x, len(self.neurons[0].w), "this layer")
        return [neuron(xs) for neuron in self.neurons]

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for neuron in self.neurons:
            yield from neuron.named_parameters()

    def __repr__(self) -> str:
        first = self.neurons[0]
        return f"Layer({len(first.w)}, {len(self.neurons)}, activation={first.activation_name!r})"


class MLP(Module):
    """A multi-layer perceptron: ``MLP(2, [16, 16, 1])`` has two hidden layers of 16.

    Hidden layers use ``activation``; the last layer uses ``output_activation`` (linear by
    default: a score or a logit, to be fed to a loss). Calling the model on a list of ``nin``
    numbers or Values returns a Value when the last layer has one neuron, else a list.
    Layers are named ``layer1``, ``layer2``, ...
    """

    def __init__(
        self,
        nin: int,
        sizes: Sequence[int],
        activation: str | activations.Activation = "tanh",
        output_activation: str | activations.Activation = "linear",
        init: str | initialisers.Initialiser | None = None,
        seed: int | random.Random | None = 0,
    ) -> None:
        if not sizes:
            raise ValueError("an MLP needs at least one layer size, e.g. MLP(2, [4, 1])")
        rng = _rng(seed)
        widths = [nin, *sizes]
        self.layers = [
            Layer(
                widths[i],
                widths[i + 1],
                activation if i < len(sizes) - 1 else output_activation,
                init,
                rng,
                name=f"layer{i + 1}",
            )
            for i in range(len(sizes))
        ]

    def __call__(self, x: Inputs) -> Value | list[Value]:
        out: list[Value] = _as_values(x, len(self.layers[0].neurons[0].w), "this MLP")
        for layer in self.layers:
            out = layer(out)
        return out[0] if len(out) == 1 else out

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        for layer in self.layers:
            yield from layer.named_parameters()

    def __repr__(self) -> str:
        return f"MLP[{', '.join(repr(layer) for layer in self.layers)}]"

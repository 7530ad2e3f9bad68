"""Layers on :class:`autograd.Tensor`: the same network as :mod:`nn.layers`, one matrix per
layer instead of one gate per weight.

The lectures' step from scalars to vectors: a layer of ``nout`` neurons, each computing
``act(b_j + Σ_i W_ji x_i)``, is ``act(x Wᵀ + b)`` for a batch of row vectors ``x`` (N, nin),
with ``W`` of shape (nout, nin), one row per neuron, and ``b`` of shape (nout,). The graph is
two gates per layer (``@ᵀ``: x @ Wᵀ, then ``+``) whatever the width, and the gradients are the same
numbers the scalar graph computes: ``nn.Linear`` draws its weights from the same initialisers
in the same order as ``nn.Layer`` (row j = neuron j), so a Tensor model and a Value model made
with the same seed have the same weights.

>>> import numpy as np
>>> from autograd import Tensor
>>> model = Sequential(Linear(2, 4), ReLU(), Linear(4, 3))
>>> logits = model(Tensor(np.ones((5, 2))))
>>> logits.shape
(5, 3)
>>> [name for name, _ in model.named_parameters()]
['layer1.W', 'layer1.b', 'layer2.W', 'layer2.b']
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from autograd import Tensor
from nn import init as initialisers
from nn.module import Module

DEFAULT_NAME = "linear"


class Linear(Module):
    """``x Wᵀ + b``: a fully connected layer on a batch ``x`` of shape (N, nin) (or (nin,)).

    Args:
        nin, nout: input and output widths. ``W`` has shape (nout, nin), ``b`` (nout,).
        init: weight initialiser name or function (see :mod:`nn.init`); He by default, the
            choice for ReLU networks. The bias starts at 0.
        seed: an int or a ``random.Random``: the same draws, in the same order, as
            ``nn.Layer(nin, nout, ...)`` with that seed. By default the layer draws from
            :func:`nn.init.shared_rng`, one generator for the whole process (like PyTorch's
            global one): every layer gets new numbers, and a script that builds the same
            layers in the same order after ``nn.init.reseed(0)`` gets the same weights.
        name: prefix of the parameter labels (``fc1`` gives ``fc1.W`` and ``fc1.b``); left
            at the default, :class:`Sequential` names its layers ``layer1``, ``layer2``, ...
        dtype: float64 (default) or float32.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        init: str | initialisers.Initialiser = "he",
        seed: int | random.Random | None = None,
        name: str = DEFAULT_NAME,
        dtype: Any = np.float64,
    ) -> None:
        if nin < 1 or nout < 1:
            raise ValueError(f"Linear needs nin >= 1 and nout >= 1, got nin={nin}, nout={nout}")
        draw = initialisers.get(init)
        if seed is None:
            rng = initialisers.shared_rng()
        else:
            rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        weights = [[draw(nin, nout, rng) for _ in range(nin)] for _ in range(nout)]
        self.W = Tensor(weights, dtype=dtype)
        self.b = Tensor(np.zeros(nout), dtype=dtype)
        self.rename(name)

    def rename(self, name: str) -> None:
        """Label the parameters ``{name}.W`` and ``{name}.b``."""
        self.name = name
        self.W.label = f"{name}.W"
        self.b.label = f"{name}.b"

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """``x Wᵀ + b``. A numpy array (a batch of data) is taken as a constant input: its
        gradient is not needed, so none is computed (``Tensor(x, requires_grad=False)``)."""
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False, dtype=self.W.dtype)
        nin = self.W.shape[1]
        if x.ndim not in (1, 2) or x.shape[-1] != nin:
            raise ValueError(
                f"{self.name} expects inputs of shape (N, {nin}) or ({nin},), got {x.shape}"
            )
        return x.matmul_t(self.W) + self.b  # x @ W.T as one gate

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        yield self.W.label, self.W
        yield self.b.label, self.b

    def __repr__(self) -> str:
        nout, nin = self.W.shape
        return f"Linear({nin}, {nout})"


class _Activation(Module):
    """A layer without parameters that applies one elementwise Tensor op."""

    op = ""

    def __call__(self, x: Tensor) -> Tensor:
        result: Tensor = getattr(x, self.op)()
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ReLU(_Activation):
    """max(0, x) elementwise."""

    op = "relu"


class Sigmoid(_Activation):
    """σ(x) elementwise."""

    op = "sigmoid"


class Tanh(_Activation):
    """tanh(x) elementwise."""

    op = "tanh"


class Sequential(Module):
    """Modules applied one after the other: ``Sequential(Linear(64, 128), ReLU(), ...)``.

    :class:`Linear` layers left with the default name are named ``layer1``, ``layer2``, ...
    in order, matching the scalar ``MLP``'s layer numbering; a name you gave is kept.
    ``model[0]``, ``model[-1]``, ``len(model)`` and iteration reach the modules.
    """

    def __init__(self, *modules: Module) -> None:
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for module in modules:
            if not callable(module):
                raise TypeError(f"Sequential takes modules, got {module!r}")
        self.layers = list(modules)
        linear = [m for m in modules if isinstance(m, Linear)]
        for k, layer in enumerate(linear, start=1):
            if layer.name == DEFAULT_NAME:
                layer.rename(f"layer{k}")
        names = [layer.name for layer in linear]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"two layers are named {repeated[0]!r}: parameter names must be unique "
                "(give each Linear its own name, or leave them all to Sequential)"
            )

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        for module in self.layers:
            x = module(x)  # type: ignore[operator]
        assert isinstance(x, Tensor)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    def named_parameters(self) -> Iterator[tuple[str, Any]]:
        for module in self.layers:
            yield from module.named_parameters()

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(repr(m) for m in self.layers) + ")"

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
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from autograd import Tensor, apply
from nn import init as initialisers
from nn.activations import PRELU
from nn.module import Module


class NamedLayer(Module):
    """A layer whose tensors carry its name in their labels (``fc1.W``, ``bn.gamma``).

    A layer left at its class's ``default_name`` is numbered by :class:`Sequential`, per kind:
    ``f"{numbered_as}{k}"`` for the k-th layer of that kind (``layer1``, ``layer2`` for
    :class:`Linear`, as the scalar MLP numbers its layers; ``batchnorm1`` ...), so every
    parameter name in a model is unique without the user naming anything.
    """

    default_name: ClassVar[str]
    numbered_as: ClassVar[str]
    name: str

    def rename(self, name: str) -> None:
        """Set the layer's name and relabel its tensors with it."""
        raise NotImplementedError


class WeightsAndBias(NamedLayer):
    """A named layer whose parameters are a weight tensor ``W`` and a bias ``b``, labelled
    ``{name}.W`` and ``{name}.b`` (Linear, Conv2d, Maxout)."""

    W: Tensor
    b: Tensor

    def rename(self, name: str) -> None:
        """Label the parameters ``{name}.W`` and ``{name}.b``."""
        self.name = name
        self.W.label = f"{name}.W"
        self.b.label = f"{name}.b"

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        yield self.W.label, self.W
        yield self.b.label, self.b


class Linear(WeightsAndBias):
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

    default_name = "linear"
    numbered_as = "layer"

    def __init__(
        self,
        nin: int,
        nout: int,
        init: str | initialisers.Initialiser = "he",
        seed: int | random.Random | None = None,
        name: str = "linear",
        dtype: Any = np.float64,
    ) -> None:
        if nin < 1 or nout < 1:
            raise ValueError(f"Linear needs nin >= 1 and nout >= 1, got nin={nin}, nout={nout}")
        draw = initialisers.get(init)
        rng = initialisers.rng_for(seed)
        weights = [[draw(nin, nout, rng) for _ in range(nin)] for _ in range(nout)]
        self.W = Tensor(weights, dtype=dtype)
        self.b = Tensor(np.zeros(nout), dtype=dtype)
        self.rename(name)

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
        named = [m for m in modules if isinstance(m, NamedLayer)]
        for kind in dict.fromkeys(type(m) for m in named):  # each kind numbered on its own
            same = [m for m in named if type(m) is kind]
            for k, module in enumerate(same, start=1):
                if module.name == kind.default_name:
                    module.rename(f"{kind.numbered_as}{k}")
        names = [m.name for m in named]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"two layers are named {repeated[0]!r}: parameter names must be unique "
                "(give each layer its own name, or leave them all to Sequential)"
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

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for module in self.layers:
            yield from module.named_buffers()

    def __repr__(self) -> str:
        return "Sequential(" + ", ".join(repr(m) for m in self.layers) + ")"


class BatchNorm1d(NamedLayer):
    """Batch normalisation of a batch ``x`` of shape (N, features), as in the lecture:

    ``μ_B = (1/N) Σ_i x_i``, ``σ²_B = (1/N) Σ_i (x_i − μ_B)²``, ``x̂ = (x − μ_B) / √(σ²_B + ε)``,
    ``z = γ x̂ + β``, per feature, with learned ``γ`` (starts at 1) and ``β`` (starts at 0).

    Built from Tensor ops (mean, var, sqrt, ...), so the engine differentiates it and a diagram
    shows every gate. In training mode each call also updates the running estimates, as
    PyTorch does: ``running = (1 − momentum) running + momentum · batch``, with the *unbiased*
    batch variance (divided by N − 1) for ``running_var``. After ``model.eval()`` the running
    estimates replace μ_B and σ²_B, so a single example is normalised the same way whatever
    else is in its batch. The running estimates are buffers: saved with the model, never
    learned.

    Args:
        features: the width of the input (its second axis).
        eps: ε, added to the variance so the division is safe (PyTorch's 1e-5).
        momentum: weight of the newest batch in the running estimates (PyTorch's 0.1).
        name: prefix of the labels (``bn.gamma``, ``bn.beta``, ``bn.running_mean``, ...); left
            at the default, :class:`Sequential` names them ``batchnorm1``, ``batchnorm2``, ...
        dtype: float64 (default) or float32.
    """

    default_name = "batchnorm"
    numbered_as = "batchnorm"

    def __init__(
        self,
        features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        name: str = "batchnorm",
        dtype: Any = np.float64,
    ) -> None:
        if features < 1:
            raise ValueError(f"BatchNorm1d needs features >= 1, got {features}")
        if not eps > 0:
            raise ValueError(f"BatchNorm1d needs eps > 0, got {eps}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d needs momentum in [0, 1], got {momentum}")
        self.features = features
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.gamma = Tensor(np.ones(features), dtype=dtype)
        self.beta = Tensor(np.zeros(features), dtype=dtype)
        self.running_mean = Tensor(np.zeros(features), dtype=dtype, requires_grad=False)
        self.running_var = Tensor(np.ones(features), dtype=dtype, requires_grad=False)
        self.rename(name)

    def rename(self, name: str) -> None:
        """Label the tensors ``{name}.gamma``, ``{name}.beta``, ``{name}.running_mean`` and
        ``{name}.running_var``."""
        self.name = name
        for attribute in ("gamma", "beta", "running_mean", "running_var"):
            getattr(self, attribute).label = f"{name}.{attribute}"

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """``γ x̂ + β``; x̂ from the batch's statistics in training, the running ones in eval."""
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False, dtype=self.gamma.dtype)
        if x.ndim != 2 or x.shape[1] != self.features:
            raise ValueError(
                f"{self.name} expects inputs of shape (N, {self.features}), got {x.shape}"
            )
        if not self.training:
            x_hat = (x - self.running_mean) / (self.running_var + self.eps).sqrt()
            return self.gamma * x_hat + self.beta
        n = x.shape[0]
        if n < 2:
            raise ValueError(
                f"{self.name} needs more than one example per batch in training (got shape "
                f"{x.shape}): the variance of one example is 0; call model.eval() to use the "
                "running estimates"
            )
        mean = x.mean(axis=0)  # μ_B
        var = x.var(axis=0)  # σ²_B, divided by N
        x_hat = (x - mean) / (var + self.eps).sqrt()
        # The running estimates are plain numbers, outside the graph: PyTorch's rule, with
        # the unbiased variance (× N / (N − 1)).
        m = self.momentum
        self.running_mean.data = (1 - m) * self.running_mean.data + m * mean.data
        unbiased = var.data * (n / (n - 1))
        self.running_var.data = (1 - m) * self.running_var.data + m * unbiased
        return self.gamma * x_hat + self.beta

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        yield self.gamma.label, self.gamma
        yield self.beta.label, self.beta

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        yield self.running_mean.label, self.running_mean
        yield self.running_var.label, self.running_var

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.features})"


class Dropout(Module):
    """Inverted dropout: in training, each element is kept with probability 1 − p and scaled by
    1 / (1 − p), or set to 0; so the expected output equals the input and nothing needs
    rescaling at test time. After ``model.eval()`` (and for p = 0) it is the identity.

    The mask is a constant of the graph: the gradient is ``upstream · mask / (1 − p)``.

    Args:
        p: the probability of dropping an element, in [0, 1).
        seed: an int or a ``numpy.random.Generator`` for the masks; the same seed gives the
            same masks in the same order. By default, fresh entropy each run.
    """

    def __init__(self, p: float = 0.5, seed: int | np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(
                f"Dropout needs p, the probability of dropping an element, in [0, 1), got {p!r}"
                " (p = 1 would drop everything and divide by 0)"
            )
        self.p = float(p)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """``x · mask / (1 − p)`` in training; ``x`` in eval or for p = 0."""
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False)
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        scale = Tensor(keep / (1 - self.p), requires_grad=False, dtype=x.dtype)
        return x * scale

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class PReLU(NamedLayer):
    """PReLU, the parametric ReLU: ``x`` where x > 0 and ``α x`` elsewhere, with ``α`` learned
    (as ``torch.nn.PReLU``).

    The lecture writes g(x) = max(αx, x). That is the same function only while α <= 1: for
    α > 1, max picks αx for x > 0 too, and nothing stops training from taking α past 1. This
    layer uses PyTorch's form, right for every α: one ``prelu`` gate
    (:data:`nn.activations.PRELU`, the gate the scalar :func:`nn.activations.prelu` draws) with
    the local rules d/dx = 1 if x > 0 else α and d/dα = 0 if x > 0 else x (at x = 0: slope α,
    d/dα = 0, as PyTorch).

    ``α`` has shape (num_parameters,): one slope for the whole layer (the default), or one per
    channel, on axis 1 of an (N, C) or (N, C, H, W) input (any (N, C, ...)). For the second,
    ``α`` enters the graph reshaped to (C, 1, 1) (one 1 per axis after the channel), so it
    broadcasts over the positions of each channel, and its gradient is summed over the batch
    and the positions: dL/dα_c = Σ_{n,h,w} upstream · [x ≤ 0] · x over channel c.

    Args:
        num_parameters: 1, or the number of channels C.
        init: the starting value of every α (PyTorch's 0.25).
        name: prefix of the label (``act.alpha``); left at the default, :class:`Sequential`
            names them ``prelu1``, ``prelu2``, ...
        dtype: float64 (default) or float32.
    """

    default_name = "prelu"
    numbered_as = "prelu"

    def __init__(
        self,
        num_parameters: int = 1,
        init: float = 0.25,
        name: str = "prelu",
        dtype: Any = np.float64,
    ) -> None:
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int):
            raise TypeError(f"PReLU needs an int num_parameters, got {num_parameters!r}")
        if num_parameters < 1:
            raise ValueError(
                f"PReLU needs num_parameters >= 1 (1 for the layer, or the number of "
                f"channels), got {num_parameters}"
            )
        self.num_parameters = num_parameters
        self.alpha = Tensor(np.full(num_parameters, float(init)), dtype=dtype)
        self.rename(name)

    def rename(self, name: str) -> None:
        """Label α ``{name}.alpha``."""
        self.name = name
        self.alpha.label = f"{name}.alpha"

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """``x`` where x > 0, ``α x`` elsewhere, α per channel (axis 1) or one for all."""
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False, dtype=self.alpha.dtype)
        c = self.num_parameters
        if c == 1:
            return apply(PRELU, x, self.alpha)  # (1,) broadcasts over any shape
        if x.ndim < 2 or x.shape[1] != c:
            raise ValueError(
                f"{self.name} has {c} parameters, one per channel: it expects inputs of shape "
                f"(N, {c}) or (N, {c}, H, W), with {c} on axis 1, got {x.shape}"
            )
        # (C,) on axis 1: (C,) for (N, C), (C, 1, 1) for (N, C, H, W)
        alpha = self.alpha if x.ndim == 2 else self.alpha.reshape((c,) + (1,) * (x.ndim - 2))
        return apply(PRELU, x, alpha)

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        yield self.alpha.label, self.alpha

    def __repr__(self) -> str:
        return f"PReLU(num_parameters={self.num_parameters})"


class Maxout(WeightsAndBias):
    """Maxout: each of the ``nout`` units is the largest of ``pieces`` linear functions of the
    input, ``out_j = max_k (W_k x + b_k)_j``. The lecture's max(w₁ᵀx + b₁, w₂ᵀx + b₂) is
    ``pieces=2``; ReLU is the special case max(wᵀx + b, 0).

    On a batch ``x`` (N, nin), vectorised: all pieces are one matrix ``W`` of shape
    (pieces·nout, nin) and ``b`` (pieces·nout,), so the graph is ``x Wᵀ + b`` (one ``@ᵀ`` gate,
    one ``+``), a reshape to (N, pieces, nout) and a max over the pieces axis: the router, which
    sends each unit's upstream gradient to its winning piece only (a tie splits it). Row
    ``k·nout + j`` of ``W`` is piece k of unit j, so ``W[k·nout:(k+1)·nout]`` is the weight of
    a ``Linear(nin, nout)``.

    Args:
        nin, nout: input and output widths (at least 1).
        pieces: the number of linear pieces per unit, at least 2. One piece is refused: it
            would be ``Linear(nin, nout)`` with no non-linearity, so a typo could not go
            unnoticed.
        init: weight initialiser name or function (see :mod:`nn.init`), drawn with fan-in nin
            and fan-out nout (each piece is a layer nin -> nout); He by default, as for
            :class:`Linear` (maxout generalises ReLU). The biases start at 0.
        seed: an int or a ``random.Random``; by default :func:`nn.init.shared_rng`, as for
            :class:`Linear`. Piece 0 gets the numbers ``Linear(nin, nout, seed=...)`` would.
        name: prefix of the labels (``mo.W``, ``mo.b``); left at the default,
            :class:`Sequential` names them ``maxout1``, ``maxout2``, ...
        dtype: float64 (default) or float32.
    """

    default_name = "maxout"
    numbered_as = "maxout"

    def __init__(
        self,
        nin: int,
        nout: int,
        pieces: int = 2,
        init: str | initialisers.Initialiser = "he",
        seed: int | random.Random | None = None,
        name: str = "maxout",
        dtype: Any = np.float64,
    ) -> None:
        if nin < 1 or nout < 1:
            raise ValueError(f"Maxout needs nin >= 1 and nout >= 1, got nin={nin}, nout={nout}")
        if pieces < 2:
            raise ValueError(
                f"Maxout needs pieces >= 2, got pieces={pieces}: the max of one piece is "
                f"Linear({nin}, {nout}), with no non-linearity"
            )
        draw = initialisers.get(init)
        rng = initialisers.rng_for(seed)
        rows = pieces * nout
        self.pieces = pieces
        self.W = Tensor(
            [[draw(nin, nout, rng) for _ in range(nin)] for _ in range(rows)], dtype=dtype
        )
        self.b = Tensor(np.zeros(rows), dtype=dtype)
        self.rename(name)

    @property
    def nout(self) -> int:
        return self.W.shape[0] // self.pieces

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """``max over k of (x W_kᵀ + b_k)``, for x of shape (N, nin): (N, nout)."""
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False, dtype=self.W.dtype)
        nin = self.W.shape[1]
        if x.ndim != 2 or x.shape[1] != nin:
            raise ValueError(f"{self.name} expects inputs of shape (N, {nin}), got {x.shape}")
        z = x.matmul_t(self.W) + self.b  # (N, pieces·nout): every piece of every unit
        return z.reshape(x.shape[0], self.pieces, self.nout).max(axis=1)

    def __repr__(self) -> str:
        return f"Maxout({self.W.shape[1]}, {self.nout}, pieces={self.pieces})"

"""Optimisers: the lecture's update rules, one small class each, and learning-rate schedules.

The training loop they serve::

    opt = Adam(model.parameters(), lr=1e-3)
    for step in range(n):
        loss = ...                 # forward
        opt.zero_grad()            # backward accumulates, so clear first
        loss.backward()            # every p.grad = dJ/dp
        opt.step()                 # theta^{t+1} from theta^t and g^t = p.grad

Notation follows the slides (seed 003): theta is a parameter, g = grad J(theta) its gradient,
alpha the learning rate ``lr``, rho a decay rate, v a velocity or first moment, u a sum or
average of squared gradients. Every rule acts on each parameter separately (elementwise): where
a slide writes ``grad J^T grad J`` for the squared gradient it means ``g * g`` per parameter,
as the slide's own code (``dx * dx``) does; otherwise AdaGrad could not give "different
parameters different learning rates".

One implementation serves scalar Values and array-valued parameters alike: the update math
uses only ``+ - * /`` and ``** 0.5`` on ``p.data`` and ``p.grad``, and per-parameter state
lives in lists aligned with the parameters, started from ``p.data * 0.0`` so its shape follows
the parameter's. Anything with ``.data`` and ``.grad`` (a float or a numpy array each) can be
optimised.

A step is all or nothing. Every gradient is checked first and every new value is computed
before any is written: a gradient or an update that is not finite raises
:class:`~autograd.NonFiniteError`, naming the parameter, and leaves parameters and optimiser
state exactly as they were. nan is never written into a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from autograd import NonFiniteError, no_grad
from autograd.tensor import all_finite, zero_grad_of

# A parameter's data or gradient: a Python float for a Value, a numpy array for a tensor.
Numeric = Any
# A rule's state by name ("m", "u"), and what a rule returns: (theta^{t+1}, new state).
State = dict[str, Numeric]
Rule = tuple[Numeric, State]


@runtime_checkable
class Parameter(Protocol):
    """What an optimiser updates: a leaf with ``.data`` and ``.grad`` (a Value, or a tensor)."""

    data: Numeric
    grad: Numeric


__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "Momentum",
    "Nadam",
    "Nesterov",
    "Optimizer",
    "Parameter",
    "RMSProp",
    "Schedule",
    "StepDecay",
]


class Optimizer:
    """Base class: holds the parameters and ``lr``, checks gradients, applies updates.

    A subclass writes one method, :meth:`_update`, the rule: from theta^t, g^t and the
    current state (``{"v": v}``) it returns theta^{t+1} and the new state. Every rule here is
    elementwise, so it is written once, with ``+ - * /`` and ``** 0.5``, and the base class
    applies it to all parameters at once: their values and gradients are laid end to end in
    one numpy vector (a scalar Value is one element, a Tensor a block), and the rule runs on
    pieces of that vector small enough to stay in the CPU cache. State lives in vectors of the
    same layout (``self.v``). Everything else (validation, the all-or-nothing step, the step
    counter ``t``) is here too.

    Attributes:
        params: the parameters, in the order given.
        lr: the learning rate alpha (> 0); a schedule such as :class:`InverseTimeDecay` may
            change it between steps.
        t: the number of steps taken so far.
    """

    #: Elements per piece of the rule. A piece's temporaries (12288 float64 numbers are
    #: 96 KiB each) stay in the CPU cache and, being under glibc's 128 KiB threshold, are
    #: recycled by the allocator instead of mapped fresh from the OS; a large model's step
    #: needs no more memory than a small one's. (Measured: 8192 was slower, 16000 no faster.)
    CHUNK = 12288

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params: list[Parameter] = _check_params(params, type(self).__name__)
        self.lr = lr
        self.t = 0
        self._layout = _Layout(self.params)
        self._scratch: dict[str, np.ndarray] | None = None

    @property
    def lr(self) -> float:
        """The learning rate alpha; setting it checks that it is a finite number > 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _positive("lr", value)

    def _zeros(self) -> np.ndarray:
        """A fresh state vector: one 0 per parameter element."""
        return np.zeros(self._layout.size, dtype=self._layout.dtype)

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (``backward`` accumulates into ``.grad``)."""
        for p in self.params:
            p.grad = zero_grad_of(p.data)

    def step(self) -> None:
        """Take one step: every parameter from theta^t to theta^{t+1} using its ``.grad``.

        Raises:
            NonFiniteError: a gradient is inf or nan, or the update would make a parameter or
                the optimiser state inf or nan (lr too large, the loss diverged). Nothing is
                changed then.
        """
        layout = self._layout
        g = layout.gather_grads()
        if not all_finite(g):
            i = layout.first_non_finite(g)
            p = self.params[i]
            raise NonFiniteError(
                f"{_name(p, i)} has gradient {_bad(p.grad)}, not a finite number; nothing was "
                "updated. Check the loss (did it overflow or divide by zero?)"
            )
        theta = layout.gather_data()
        t = self.t + 1
        if self._scratch is None:
            # One scratch vector per state vector (and theta), found once and kept from step to
            # step: the rule writes its results there, the old state becomes the next step's
            # scratch, and a step allocates no model-sized array.
            names = self._state_names()
            self._scratch = {name: layout.empty() for name in ("theta", *names)}
        names = [name for name in self._scratch if name != "theta"]
        scratch = self._scratch
        # no graph is built (parameters are leaves: only their .data changes), and an overflow
        # is reported by the finiteness check below rather than by a numpy warning
        with no_grad(), np.errstate(all="ignore"):
            for start in range(0, layout.size, self.CHUNK):
                piece = slice(start, start + self.CHUNK)
                state = {name: getattr(self, name)[piece] for name in names}
                out = {name: scratch[name][piece] for name in scratch}
                theta_next, state_next = self._update(theta[piece], g[piece], t, state, out)
                for name, new in (("theta", theta_next), *state_next.items()):
                    if not all_finite(new):
                        i = layout.first_non_finite(_widen(new, layout.size, piece))
                        raise NonFiniteError(
                            f"this step would set {_name(self.params[i], i)} (or its optimiser "
                            f"state {name}) to a value that is not finite ({_bad(new)}); nothing "
                            f"was updated. Is lr={self.lr:g} too large, or has the loss diverged?"
                        )
                    if new is not out[name]:  # a rule may also return arrays of its own
                        out[name][...] = new
        # everything is computed and finite: now write it; the old state vectors become the
        # next step's scratch space
        layout.scatter_data(scratch["theta"])
        for name in names:
            scratch[name], old = getattr(self, name), scratch[name]
            setattr(self, name, old)
        self.t = t

    def state_of(self, param: Parameter) -> dict[str, Numeric]:
        """The optimiser's state for one of its parameters, shaped like it: ``{}`` for SGD,
        ``{"v": ...}`` for momentum, ``{"m": ..., "u": ...}`` for Adam (a copy, so it can be
        kept and compared with the next step's)."""
        index = next((i for i, p in enumerate(self.params) if p is param), None)
        if index is None:
            raise ValueError(f"{param!r} is not one of this optimiser's parameters")
        start, stop = self._layout.bounds[index], self._layout.bounds[index + 1]
        shape = self._layout.shapes[index]
        state: dict[str, Numeric] = {}
        for name in self._state_names():
            block = getattr(self, name)[start:stop]
            state[name] = block.reshape(shape).copy() if shape else float(block[0])
        return state

    def _state_names(self) -> list[str]:
        """Names of the state vectors (attributes made with :meth:`_zeros`)."""
        return [
            name
            for name, value in vars(self).items()
            if not name.startswith("_")
            and isinstance(value, np.ndarray)
            and value.shape == (self._layout.size,)
        ]

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        """The rule: ``(theta^{t+1}, new state)`` from theta^t, g^t and the state.

        ``t`` counts from 1 (the step being taken). The arguments are numpy vectors (pieces of
        the whole model, elementwise); the rule must not modify them. ``out`` holds a scratch
        vector of the same length for ``"theta"`` and each state name: a rule may compute its
        results there (``np.multiply(..., out=out["m"])``) and return them, saving the copy.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """Gradient descent: ``theta^{t+1} = theta^t - alpha g^t``.

    Batch, mini-batch or stochastic depends only on which examples the loss was summed over.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01) -> None:
        super().__init__(params, lr)

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        return theta - self.lr * g, {}


class Momentum(Optimizer):
    """Gradient descent with momentum, exactly the slide's form::

        v^0 = 0
        v^{t+1} = rho v^t + alpha g^t
        theta^{t+1} = theta^t - v^{t+1}

    The velocity v is a decaying sum of past steps, so steps along a consistent direction grow
    (up to alpha / (1 - rho) times the gradient) while oscillating components cancel.
    ``rho = 0`` is plain :class:`SGD`.
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, rho: float = 0.9) -> None:
        super().__init__(params, lr)
        self.rho = _unit_interval("rho", rho)
        self.v = self._zeros()

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        v = self.rho * state["v"] + self.lr * g
        return theta - v, {"v": v}


class Nesterov(Momentum):
    """Nesterov momentum (NAG): the gradient is taken at the look-ahead point.

    The rule, with the slide's conventions (``theta -= v``)::

        v^{t+1} = rho v^t + alpha grad J(theta^t - rho v^t)
        theta^{t+1} = theta^t - v^{t+1}

    (The slide prints ``grad J(theta^t + rho v^t)``: with ``theta -= v`` the look-ahead point,
    where momentum alone would carry theta, is ``theta^t - rho v^t``; ``+`` belongs to the
    other common convention ``v = rho v - alpha g; theta += v``.)

    A training loop can only give the gradient at the parameters it holds, so this class uses
    the common equivalent form (Bengio et al. 2012; CS231n) in which the parameters *are* the
    look-ahead point ``phi^t = theta^t - rho v^t``. Substituting gives::

        v^{t+1} = rho v^t + alpha g^t                # g^t = grad J(phi^t) = p.grad
        phi^{t+1} = phi^t - (rho v^{t+1} + alpha g^t)

    The two forms visit exactly the same points (``phi = theta - rho v`` at every step, and
    ``phi^0 = theta^0`` because v^0 = 0); ``rho = 0`` is plain :class:`SGD`. The velocity and
    its arguments are Momentum's; only the update differs.
    """

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        v = self.rho * state["v"] + self.lr * g
        return theta - (self.rho * v + self.lr * g), {"v": v}


class AdaGrad(Optimizer):
    """AdaGrad: each parameter's step is divided by the root of its summed squared gradients::

        u^0 = 0
        u^{t+1} = u^t + g^t * g^t
        theta^{t+1} = theta^t - alpha g^t / (sqrt(u^{t+1}) + eps)

    The slide's formula is ``alpha / sqrt(u^{t+1})``; ``eps`` (1e-7, as in the slide's code)
    keeps a parameter whose gradients have all been 0 from dividing 0 by 0. Equivalently
    (slide "AdaGrad"): alpha^t = alpha / sqrt(t + 1) divided by the root mean square
    sigma^t of the gradients so far. Because u only grows, the steps shrink towards 0 over a
    long run (the slide's question; RMSProp's answer).
    """

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(params, lr)
        self.eps = _positive("eps", eps)
        self.u = self._zeros()

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        u = state["u"] + g * g
        return theta - self.lr * g / (u**0.5 + self.eps), {"u": u}


class RMSProp(Optimizer):
    """RMSProp: AdaGrad with a leaky (exponentially decaying) average of squared gradients::

        u^0 = 0
        u^{t+1} = rho u^t + (1 - rho) g^t * g^t
        theta^{t+1} = theta^t - alpha g^t / (sqrt(u^{t+1}) + eps)

    ``rho`` is the slide code's ``decay_rate``; ``eps`` is 1e-7 as there (the slide's formula
    has none). Old gradients are forgotten, so the step size no longer decays to 0.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-7,
    ) -> None:
        super().__init__(params, lr)
        self.rho = _unit_interval("rho", rho)
        self.eps = _positive("eps", eps)
        self.u = self._zeros()

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        u = self.rho * state["u"] + (1.0 - self.rho) * g * g
        return theta - self.lr * g / (u**0.5 + self.eps), {"u": u}


class Adam(Optimizer):
    """Adam: momentum (first moment) plus RMSProp (second moment), with bias correction::

        m^0 = 0, u^0 = 0, and for t = 1, 2, ...
        m^t = beta1 m^{t-1} + (1 - beta1) g          # first moment  ("first_moment")
        u^t = beta2 u^{t-1} + (1 - beta2) g * g      # second moment ("second_moment")
        m_hat = m^t / (1 - beta1^t)                  # bias correction: both moments start
        u_hat = u^t / (1 - beta2^t)                  # at 0, so early averages are too small
        theta^t = theta^{t-1} - alpha m_hat / (sqrt(u_hat) + eps)

    This is the slide's bias-corrected code. Defaults beta1 = 0.9, beta2 = 0.999, lr = 1e-3
    ("or 5e-4"), eps = 1e-8 (Kingma & Ba; the slide's code uses 1e-7). At the first step
    m_hat = g and u_hat = g * g, so every parameter moves by almost exactly lr.
    (The slide's "Adam (biased)" formula pairs rho_1 with the squared gradient u and rho_2
    with the first moment v, the reverse of the code's beta1 / beta2; here beta1 always
    belongs to the first moment.)
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        self.beta1 = _unit_interval("beta1", beta1)
        self.beta2 = _unit_interval("beta2", beta2)
        self.eps = _positive("eps", eps)
        self.m = self._zeros()
        self.u = self._zeros()

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        # The docstring's formulas, computed in the scratch vectors `out` (Adam runs on every
        # step of every model here, so it spends no pass and no array it does not need).
        b1, b2 = self.beta1, self.beta2
        m = np.multiply(state["m"], b1, out=out["m"])  # m = b1 m + (1 - b1) g
        m += (1.0 - b1) * g
        u = np.multiply(g, g, out=out["u"])  # u = b2 u + (1 - b2) g * g
        u *= 1.0 - b2
        u += b2 * state["u"]
        # theta - alpha m_hat / (sqrt(u_hat) + eps), with the bias corrections c1 = 1 - b1^t and
        # c2 = 1 - b2^t moved onto numbers: m_hat = m / c1, sqrt(u_hat) = sqrt(u) / sqrt(c2)
        c1 = 1.0 - b1**t
        root_c2 = math.sqrt(1.0 - b2**t)
        theta_next = np.sqrt(u, out=out["theta"])
        theta_next += self.eps * root_c2
        np.divide(m, theta_next, out=theta_next)
        theta_next *= -self.lr * root_c2 / c1
        theta_next += theta
        return theta_next, {"m": m, "u": u}


class Nadam(Adam):
    """Nadam (Dozat 2016): Adam with Nesterov momentum, the seed's "Adam is RMSProp + Momentum;
    can Nesterov momentum take its place? YES. Nadam". As ``torch.optim.NAdam`` computes it (its
    defaults: no weight decay, ``momentum_decay`` psi = 4e-3)::

        m^0 = 0, u^0 = 0, and for t = 1, 2, ...
        mu^t = beta1 (1 - 0.5 * 0.96^(t psi))        # momentum schedule: mu^t rises towards
                                                     # beta1 as t grows (0.96^(t psi) -> 0)
        m^t = beta1 m^{t-1} + (1 - beta1) g          # first moment, as Adam's
        u^t = beta2 u^{t-1} + (1 - beta2) g * g      # second moment, as Adam's
        u_hat = u^t / (1 - beta2^t)
        theta^t = theta^{t-1} - alpha [ (1 - mu^t) / (1 - mu^1 ... mu^t) g
                                        + mu^{t+1} / (1 - mu^1 ... mu^{t+1}) m^t ]
                                      / (sqrt(u_hat) + eps)

    The Nesterov look-ahead is the second term: Adam's step uses the bias-corrected momentum
    m^t / (1 - beta1^t); Nadam uses the momentum one step further on, mu^{t+1} m^t, plus the
    share (1 - mu^t) of the current gradient, each divided by its own bias correction (the
    product of the mu's plays the part of beta1^t). ``psi = 0`` makes mu^t = beta1 / 2 at every
    step; very large psi gives mu^t = beta1 after the first steps. The state is Adam's, ``m``
    and ``u`` (see :meth:`~Optimizer.state_of`); the running product of the mu's is a function
    of t alone, kept as a number.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 2e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        momentum_decay: float = 4e-3,
    ) -> None:
        super().__init__(params, lr, beta1, beta2, eps)  # Adam's settings and state, m and u
        self.momentum_decay = _non_negative("momentum_decay", momentum_decay)
        self._mu_products = (0, 1.0)  # (t, mu^1 mu^2 ... mu^t)

    def mu(self, t: int) -> float:
        """The momentum schedule ``mu^t = beta1 (1 - 0.5 * 0.96^(t psi))``."""
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _mu_product(self, t: int) -> float:
        """``mu^1 mu^2 ... mu^t``, multiplied up in order (as PyTorch does) and cached."""
        k, product = self._mu_products
        if k > t:
            k, product = 0, 1.0
        while k < t:
            k += 1
            product *= self.mu(k)
        self._mu_products = (k, product)
        return product

    def _update(self, theta: Numeric, g: Numeric, t: int, state: State, out: State) -> Rule:
        b1, b2 = self.beta1, self.beta2
        mu, mu_next = self.mu(t), self.mu(t + 1)
        product = self._mu_product(t)
        product_next = product * mu_next
        m = b1 * state["m"] + (1.0 - b1) * g
        u = b2 * state["u"] + (1.0 - b2) * g * g
        denominator = (u / (1.0 - b2**t)) ** 0.5 + self.eps
        step = (1.0 - mu) / (1.0 - product) * g + mu_next / (1.0 - product_next) * m
        return theta - self.lr * step / denominator, {"m": m, "u": u}


# -- learning-rate schedules --------------------------------------------------------------------


class Schedule:
    """A learning-rate schedule: ``alpha^t`` from ``alpha^0`` and t, set on an optimiser.

    ``alpha^0`` is the optimiser's ``lr`` when the schedule is made. Call :meth:`step` once per
    optimiser step, or once per epoch, whichever "t" should count; it advances t and sets
    ``optimizer.lr = lr_at(t)``. A schedule is also a function ``t -> alpha^t`` (``schedule(t)``
    is ``lr_at(t)``), so ``fit(..., lr_schedule=schedule)`` uses it per epoch, from epoch 0.
    A subclass writes :meth:`_lr_at`.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be an Optimizer (SGD, Adam, ...), got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.lr0 = optimizer.lr
        self.t = 0

    def lr_at(self, t: int) -> float:
        """The learning rate alpha^t after t steps (``lr_at(0)`` is alpha^0)."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be an integer >= 0, got {t!r}")
        return self._lr_at(int(t))

    def __call__(self, t: int) -> float:
        return self.lr_at(t)

    def _lr_at(self, t: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance t by one and set the optimiser's ``lr`` to alpha^t; returns it."""
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
        return self.optimizer.lr


class InverseTimeDecay(Schedule):
    """1/t learning-rate decay for any optimiser: ``alpha^t = alpha^0 / (1 + decay t)^power``.

    ``power=1`` (default) is true 1/t decay: with ``decay=1``, alpha^t = alpha^0 / (t + 1).
    The slide "Adaptive learning rate" (seed 003) calls ``alpha / sqrt(t + 1)`` "1/t decay";
    that formula is 1/sqrt(t) decay (the name slips: docs/lecture-reference.md). It is
    ``decay=1, power=0.5`` here, or :class:`InverseSqrtDecay`.

    >>> from autograd import Value
    >>> opt = SGD([Value(1.0)], lr=0.1)
    >>> schedule = InverseTimeDecay(opt, decay=1.0)
    >>> [round(schedule.step(), 4) for _ in range(3)]   # 0.1/2, 0.1/3, 0.1/4
    [0.05, 0.0333, 0.025]
    >>> opt.lr == schedule.lr_at(3)
    True
    """

    def __init__(self, optimizer: Optimizer, decay: float, power: float = 1.0) -> None:
        super().__init__(optimizer)
        self.decay = _non_negative("decay", decay)
        self.power = _positive("power", power)

    def _lr_at(self, t: int) -> float:
        """``alpha^t = alpha^0 / (1 + decay t)^power``."""
        return self.lr0 / float((1.0 + self.decay * t) ** self.power)

    def __repr__(self) -> str:
        return (
            f"InverseTimeDecay(lr0={self.lr0:g}, decay={self.decay:g}, power={self.power:g}, "
            f"t={self.t})"
        )


class InverseSqrtDecay(InverseTimeDecay):
    """The seed's schedule: ``alpha^t = alpha^0 / sqrt(1 + decay t)``; with the default
    ``decay=1`` exactly the slide's ``alpha^t = alpha / sqrt(t + 1)`` (seed 003, "Adaptive
    learning rate", and AdaGrad's alpha^t).

    The slide names it "1/t decay", but the rate falls as 1/sqrt(t) (docs/lecture-reference.md
    names the slip); true 1/t decay is :class:`InverseTimeDecay` with ``power=1``. This is
    ``InverseTimeDecay(optimizer, decay, power=0.5)``.

    >>> from autograd import Value
    >>> schedule = InverseSqrtDecay(SGD([Value(1.0)], lr=1.0))
    >>> [round(schedule.step(), 4) for _ in range(3)]   # 1/sqrt(2), 1/sqrt(3), 1/sqrt(4)
    [0.7071, 0.5774, 0.5]
    """

    def __init__(self, optimizer: Optimizer, decay: float = 1.0) -> None:
        super().__init__(optimizer, decay, power=0.5)

    def _lr_at(self, t: int) -> float:
        """``alpha^t = alpha^0 / sqrt(1 + decay t)``."""
        return self.lr0 / math.sqrt(1.0 + self.decay * t)

    def __repr__(self) -> str:
        return f"InverseSqrtDecay(lr0={self.lr0:g}, decay={self.decay:g}, t={self.t})"


class StepDecay(Schedule):
    """Step decay, the seed's "reduce the learning rate by some factor every few epochs"::

        alpha^t = alpha^0 * factor^floor(t / every)

    t counts calls to :meth:`step` (epochs, or optimiser steps). With ``every=10, factor=0.5``
    the rate is alpha^0 for t = 0..9, alpha^0 / 2 for t = 10..19, and so on; ``factor=1``
    keeps it constant. This is PyTorch's ``StepLR(optimizer, step_size=every, gamma=factor)``.

    >>> from autograd import Value
    >>> schedule = StepDecay(SGD([Value(1.0)], lr=1.0), every=2, factor=0.5)
    >>> [schedule.step() for _ in range(5)]
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(self, optimizer: Optimizer, every: int, factor: float) -> None:
        super().__init__(optimizer)
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)):
            raise TypeError(f"every must be an integer, got {type(every).__name__}: {every!r}")
        if every <= 0:
            raise ValueError(f"every must be an integer > 0 (steps between decays), got {every}")
        self.every = int(every)
        self.factor = _number("factor", factor)
        if not 0.0 < self.factor <= 1.0:
            raise ValueError(
                f"factor must be in (0, 1] (the rate is multiplied by it), got {self.factor}"
            )

    def _lr_at(self, t: int) -> float:
        """``alpha^t = alpha^0 * factor^(t // every)``."""
        return self.lr0 * self.factor ** (t // self.every)

    def __repr__(self) -> str:
        return (
            f"StepDecay(lr0={self.lr0:g}, every={self.every}, factor={self.factor:g}, t={self.t})"
        )


# -- validation ---------------------------------------------------------------------------------


def _check_params(params: Iterable[Parameter], who: str) -> list[Parameter]:
    if isinstance(params, Parameter):
        raise TypeError(f"{who} takes a list of parameters, got a single one: use [p]")
    if hasattr(params, "named_parameters"):
        raise TypeError(f"{who} takes a list of parameters: pass model.parameters()")
    try:
        found = list(params)
    except TypeError:
        raise TypeError(
            f"{who} takes a list of parameters (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        ) from None
    if not found:
        raise ValueError(f"{who} got an empty list of parameters: there is nothing to optimise")
    seen: dict[int, int] = {}
    for i, p in enumerate(found):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"params[{i}] is a {type(p).__name__}, not a parameter (a Value, with .data "
                "and .grad)"
            )
        gate = getattr(p, "gate", None)
        if gate is not None:
            raise ValueError(
                f"{_name(p, i)} is the output of a {getattr(gate, 'name', '?')} gate, not a "
                "leaf: only leaves (weights, biases) can be parameters"
            )
        if id(p) in seen:
            raise ValueError(
                f"{_name(p, i)} is the same object as params[{seen[id(p)]}]: it would be "
                "updated twice per step; list each parameter once"
            )
        seen[id(p)] = i
    return found


def _number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    return number


def _positive(name: str, value: float) -> float:
    number = _number(name, value)
    if number <= 0.0:
        raise ValueError(f"{name} must be > 0, got {number}")
    return number


def _non_negative(name: str, value: float) -> float:
    number = _number(name, value)
    if number < 0.0:
        raise ValueError(f"{name} must be >= 0, got {number}")
    return number


def _unit_interval(name: str, value: float) -> float:
    number = _number(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {number}")
    return number


def _bad(x: Numeric) -> str:
    if not isinstance(x, np.ndarray):
        return repr(x)
    bad = x[~np.isfinite(x)]
    return f"with {bad.size} of {x.size} values like {bad.reshape(-1)[0]}"


class _Layout:
    """Every parameter laid end to end in one vector: its values, its gradients.

    A Value is one element; a Tensor is a block of ``size`` elements. For Tensors, the
    optimiser makes each ``p.data`` a view of its block of one array (updated in place, as
    PyTorch does), so gathering the values costs nothing while they stay views.
    """

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.arrays = [isinstance(p.data, np.ndarray) for p in params]
        self.shapes = [np.shape(p.data) for p in params]
        sizes = [int(np.size(p.data)) for p in params]
        self.bounds: list[int] = np.cumsum([0, *sizes]).tolist()
        self.size = self.bounds[-1]
        self.dtype = np.result_type(*[np.asarray(p.data).dtype for p in params], np.float32)
        if not any(self.arrays):
            self.dtype = np.dtype(np.float64)
        self.values = self.empty()
        self.grads = self.empty()
        self.views: list[Any] = [None] * len(params)
        self._bind()

    def empty(self) -> np.ndarray:
        return np.empty(self.size, dtype=self.dtype)

    def _block(self, i: int) -> np.ndarray:
        return self.values[self.bounds[i] : self.bounds[i + 1]].reshape(self.shapes[i])

    def _bind(self) -> None:
        """Make every array parameter's ``.data`` a view of its block of ``values``.

        (An array of another dtype than the rest, float32 among float64, keeps its own array
        and is copied in and out each step instead.)
        """
        for i, p in enumerate(self.params):
            if self.arrays[i] and p.data.dtype == self.dtype:
                block = self._block(i)
                block[...] = p.data
                p.data = self.views[i] = block

    def gather_data(self) -> np.ndarray:
        """All values in one vector (array parameters are already there unless replaced)."""
        for i, p in enumerate(self.params):
            if not self.arrays[i]:
                self.values[self.bounds[i]] = p.data
            elif p.data is not self.views[i]:  # assigned since, or of another dtype
                if np.shape(p.data) != self.shapes[i]:
                    raise ValueError(
                        f"{_name(p, i)} now has shape {np.shape(p.data)}, but had shape "
                        f"{self.shapes[i]} when the optimiser was made"
                    )
                block = self._block(i)
                block[...] = p.data
                if self.views[i] is not None or p.data.dtype == self.dtype:
                    p.data = self.views[i] = block
        return self.values

    def gather_grads(self) -> np.ndarray:
        for i, p in enumerate(self.params):
            start, stop = self.bounds[i], self.bounds[i + 1]
            if not self.arrays[i]:
                self.grads[start] = p.grad
                continue
            if getattr(p.grad, "shape", None) != self.shapes[i]:
                raise ValueError(
                    f"{_name(p, i)} has a gradient of shape {getattr(p.grad, 'shape', None)}, "
                    f"but the parameter has shape {self.shapes[i]}; a parameter's gradient "
                    "always has the parameter's shape"
                )
            self.grads[start:stop] = p.grad.reshape(-1)
        return self.grads

    def scatter_data(self, new: np.ndarray) -> None:
        """Write the new values: in place for arrays, a new float for each Value."""
        self.values[...] = new
        for i, p in enumerate(self.params):
            if not self.arrays[i]:
                p.data = float(self.values[self.bounds[i]])
            elif self.views[i] is None:  # an array of its own dtype
                p.data = self._block(i).astype(p.data.dtype)

    def first_non_finite(self, vector: np.ndarray) -> int:
        """The index of the parameter holding the first inf or nan of ``vector``."""
        bad = int(np.argmax(~np.isfinite(vector)))
        return int(np.searchsorted(self.bounds, bad, side="right")) - 1


def _widen(piece_values: Any, size: int, piece: slice) -> np.ndarray:
    """A piece's values placed at their position in a whole-model vector (for messages)."""
    whole = np.zeros(size)
    whole[piece] = piece_values
    return whole


def _name(p: Parameter, i: int) -> str:
    label = getattr(p, "label", "")
    return f"params[{i}] ({label!r})" if label else f"params[{i}]"

"""Optimisers: the lecture's update rules, one small class each, plus 1/t learning-rate decay.

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
from autograd.tensor import all_finite

# A parameter's data or gradient: a Python float for a Value, a numpy array for a tensor.
Numeric = Any


@runtime_checkable
class Parameter(Protocol):
    """What an optimiser updates: a leaf with ``.data`` and ``.grad`` (a Value, or a tensor)."""

    data: Numeric
    grad: Numeric


__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "InverseTimeDecay",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "Parameter",
    "RMSProp",
]


class Optimizer:
    """Base class: holds the parameters and ``lr``, checks gradients, applies updates.

    A subclass writes one method, :meth:`_update`, the rule for one parameter: from theta^t
    and g^t it returns theta^{t+1} and the parameter's new state (``{"v": v}``), which is
    stored in the list attribute of that name (``self.v[i]``). Everything else (validation,
    the all-or-nothing step, the step counter ``t``) is here.

    Attributes:
        params: the parameters, in the order given.
        lr: the learning rate alpha (> 0); a schedule such as :class:`InverseTimeDecay` may
            change it between steps.
        t: the number of steps taken so far.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params: list[Parameter] = _check_params(params, type(self).__name__)
        self.lr = lr
        self.t = 0
        # Every rule is elementwise, so when all parameters are arrays (Tensors) the optimiser
        # may lay them end to end in one vector and apply its rule once to the whole model:
        # one numpy call per line of the rule instead of one per line per parameter.
        self._flat = _FlatView(self.params) if _all_arrays(self.params) else None

    @property
    def lr(self) -> float:
        """The learning rate alpha; setting it checks that it is a finite number > 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _positive("lr", value)

    def _zeros(self) -> list[Numeric]:
        """Fresh per-parameter state, shaped like each parameter (0.0 for a Value); for array
        parameters one zero vector as long as all of them together."""
        if self._flat is not None:
            return [np.zeros(self._flat.size, dtype=self._flat.dtype)]
        return [p.data * 0.0 for p in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (``backward`` accumulates into ``.grad``)."""
        for p in self.params:
            p.grad = np.zeros_like(p.data) if isinstance(p.data, np.ndarray) else 0.0

    def step(self) -> None:
        """Take one step: every parameter from theta^t to theta^{t+1} using its ``.grad``.

        Raises:
            NonFiniteError: a gradient is inf or nan, or the update would make a parameter or
                the optimiser state inf or nan (lr too large, the loss diverged). Nothing is
                changed then.
        """
        if self._flat is not None:
            thetas, grads = [self._flat.gather_data()], [self._flat.gather_grads()]
        else:
            thetas, grads = [p.data for p in self.params], [p.grad for p in self.params]
        for i, g in enumerate(grads):
            if not _finite(g):
                p, name = self._locate(i, grads)
                raise NonFiniteError(
                    f"{name} has gradient {_bad(p.grad)}, not a finite number; nothing was "
                    "updated. Check the loss (did it overflow or divide by zero?)"
                )
        t = self.t + 1
        updates = []
        with no_grad():  # parameters are leaves: only their .data changes, no graph is built
            for i, (theta, g) in enumerate(zip(thetas, grads, strict=True)):
                new_theta, state = self._update(i, theta, g, t)
                for new in (new_theta, *state.values()):
                    if not _finite(new):
                        _, name = self._locate(i, [new])
                        raise NonFiniteError(
                            f"this step would set {name} (or its optimiser state) to a value "
                            f"that is not finite ({_bad(new)}); nothing was updated. Is "
                            f"lr={self.lr:g} too large, or has the loss diverged?"
                        )
                updates.append((new_theta, state))
        for i, (new_theta, state) in enumerate(updates):
            if self._flat is not None:
                self._flat.scatter_data(new_theta)
            else:
                self.params[i].data = new_theta
            for name, new in state.items():
                getattr(self, name)[i] = new
        self.t = t

    def _locate(self, i: int, values: list[Numeric]) -> tuple[Parameter, str]:
        """The parameter (and its name) behind entry ``i`` of ``values``, for messages; in the
        flat layout, the first parameter whose slice holds a non-finite number."""
        if self._flat is None:
            return self.params[i], _name(self.params[i], i)
        j = self._flat.first_non_finite(values[i])
        return self.params[j], _name(self.params[j], j)

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        """The rule for parameter ``i``: ``(theta^{t+1}, new state)`` from theta^t and g^t.

        ``t`` counts from 1 (the step being taken). Must not modify anything.
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        v = self.rho * self.v[i] + self.lr * g
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        v = self.rho * self.v[i] + self.lr * g
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        u = self.u[i] + g * g
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        u = self.rho * self.u[i] + (1.0 - self.rho) * g * g
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

    def _update(
        self, i: int, theta: Numeric, g: Numeric, t: int
    ) -> tuple[Numeric, dict[str, Numeric]]:
        m = self.beta1 * self.m[i] + (1.0 - self.beta1) * g
        u = self.beta2 * self.u[i] + (1.0 - self.beta2) * g * g
        m_hat = m / (1.0 - self.beta1**t)
        u_hat = u / (1.0 - self.beta2**t)
        return theta - self.lr * m_hat / (u_hat**0.5 + self.eps), {"m": m, "u": u}


class InverseTimeDecay:
    """1/t learning-rate decay for any optimiser: ``alpha^t = alpha^0 / (1 + decay t)^power``.

    ``alpha^0`` is the optimiser's ``lr`` when the schedule is made. Call :meth:`step` once per
    optimiser step, or once per epoch, whichever "t" should count; it sets ``optimizer.lr``.
    ``power=1`` (default) is true 1/t decay. The slide "Adaptive learning rate" calls
    ``alpha / sqrt(t + 1)`` "1/t decay"; that is ``decay=1, power=0.5`` here.

    >>> from autograd import Value
    >>> opt = SGD([Value(1.0)], lr=0.1)
    >>> schedule = InverseTimeDecay(opt, decay=1.0)
    >>> [round(schedule.step(), 4) for _ in range(3)]   # 0.1/2, 0.1/3, 0.1/4
    [0.05, 0.0333, 0.025]
    >>> opt.lr == schedule.lr_at(3)
    True
    """

    def __init__(self, optimizer: Optimizer, decay: float, power: float = 1.0) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"optimizer must be an Optimizer (SGD, Adam, ...), got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.lr0 = optimizer.lr
        self.decay = _non_negative("decay", decay)
        self.power = _positive("power", power)
        self.t = 0

    def lr_at(self, t: int) -> float:
        """``alpha^t = alpha^0 / (1 + decay t)^power``."""
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"t must be an integer >= 0, got {t!r}")
        return self.lr0 / float((1.0 + self.decay * int(t)) ** self.power)

    def step(self) -> float:
        """Advance t by one and set the optimiser's ``lr`` to alpha^t; returns it."""
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)
        return self.optimizer.lr

    def __repr__(self) -> str:
        return (
            f"InverseTimeDecay(lr0={self.lr0:g}, decay={self.decay:g}, power={self.power:g}, "
            f"t={self.t})"
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


def _finite(x: Numeric) -> bool:
    if x.__class__ is float:
        return math.isfinite(x)
    return all_finite(x)


def _bad(x: Numeric) -> str:
    if not isinstance(x, np.ndarray):
        return repr(x)
    bad = x[~np.isfinite(x)]
    return f"with {bad.size} of {x.size} values like {bad.reshape(-1)[0]}"


def _all_arrays(params: list[Parameter]) -> bool:
    return all(isinstance(p.data, np.ndarray) for p in params)


class _FlatView:
    """All array parameters laid end to end: one vector for the data, one for the gradients.

    ``gather_*`` concatenates (one numpy call); ``scatter_data`` gives every parameter a view
    of its slice of the new vector, shaped like the parameter.
    """

    def __init__(self, params: list[Parameter]) -> None:
        self.params = params
        self.shapes = [p.data.shape for p in params]
        sizes = [int(p.data.size) for p in params]
        self.bounds = np.cumsum([0, *sizes]).tolist()
        self.size = self.bounds[-1]
        self.dtype = np.result_type(*[p.data.dtype for p in params])

    def gather_data(self) -> np.ndarray:
        return np.concatenate([p.data.reshape(-1) for p in self.params])

    def gather_grads(self) -> np.ndarray:
        for i, (p, shape) in enumerate(zip(self.params, self.shapes, strict=True)):
            grad_shape = getattr(p.grad, "shape", None)
            if grad_shape != shape or p.data.shape != shape:
                raise ValueError(
                    f"{_name(p, i)} has data of shape {p.data.shape} and gradient of shape "
                    f"{grad_shape}, but had shape {shape} when the optimiser was made; a "
                    "parameter's gradient always has the parameter's shape"
                )
        return np.concatenate([p.grad.reshape(-1) for p in self.params])

    def scatter_data(self, flat: np.ndarray) -> None:
        for p, shape, start, stop in zip(
            self.params, self.shapes, self.bounds, self.bounds[1:], strict=False
        ):
            p.data = flat[start:stop].reshape(shape)

    def first_non_finite(self, flat: np.ndarray) -> int:
        bad = int(np.argmax(~np.isfinite(flat)))
        return int(np.searchsorted(self.bounds, bad, side="right")) - 1


def _name(p: Parameter, i: int) -> str:
    label = getattr(p, "label", "")
    return f"params[{i}] ({label!r})" if label else f"params[{i}]"

"""Numerical gradients and gradient checking, as the lectures teach them.

The centred difference ``(f(x + h) - f(x - h)) / 2h`` has truncation error O(h^2) (the forward
difference only O(h)); with h = 1e-6 in float64 it agrees with a correct analytic gradient to
about 1e-9 on well-scaled functions. It is slow (two evaluations of ``f`` per input), so it is
a tool for checking an implementation, not for training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd.engine import NonFiniteError, Value, is_grad_enabled, no_grad, topological_order
from autograd.ops import Op
from autograd.tensor import Tensor

Function = Callable[..., Any]


class GradcheckError(AssertionError):
    """``gradcheck`` found an analytic gradient that disagrees with the numeric one.

    Attributes:
        analytic: the gradients from ``backward()``, one per input.
        numeric: the centred-difference gradients, one per input.
        blamed_gate: the first gate whose recorded local derivative disagrees with a centred
            difference of that gate alone, or ``None`` if every gate agrees.
    """

    def __init__(
        self,
        message: str,
        analytic: list[Any],
        numeric: list[Any],
        blamed_gate: GateMismatch | None,
    ) -> None:
        super().__init__(message)
        self.analytic = analytic
        self.numeric = numeric
        self.blamed_gate = blamed_gate


@dataclass(frozen=True)
class GateMismatch:
    """One gate whose recorded local derivative disagrees with its centred difference."""

    node: Value | Tensor
    input_index: int
    recorded: float
    numeric: float

    def describe(self) -> str:
        op = self.node.gate
        assert op is not None
        args = ", ".join(
            f"shape {p.shape}" if isinstance(p, Tensor) else f"{p.data!r}"
            for p in self.node.parents
        )
        return (
            f"gate {op.name} ('{op.symbol}') at inputs ({args}): local derivative with respect "
            f"to input {self.input_index} recorded {self.recorded!r}, numeric "
            f"{self.numeric!r}  [{op.formula}]"
        )


def _leaves(inputs: Sequence[Value | float]) -> list[Value]:
    """Fresh leaves with the inputs' values and labels, so checking never touches the caller's
    nodes or their gradients."""
    leaves = []
    for x in inputs:
        if isinstance(x, Value):
            leaves.append(Value(x.data, label=x.label))
        else:
            leaves.append(Value(x))
    return leaves


def _call(f: Function, leaves: Sequence[Value]) -> Value:
    out = f(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value built from its inputs, got {type(out).__name__}")
    return out


def numerical_grad(f: Function, inputs: Sequence[Any], eps: float = 1e-6) -> list[Any]:
    """Centred differences ``(f(x_i + eps) - f(x_i - eps)) / (2 eps)`` for every input.

    ``f`` is called as ``f(*values)`` with fresh leaf Values and must return a Value. ``inputs``
    may be Values or numbers; they are not modified. With Tensors (or arrays) as inputs, ``f``
    gets fresh leaf Tensors and must return a one-element Tensor; the result is one array per
    input, each element's centred difference (two evaluations of ``f`` per element).
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    if _has_tensors(inputs):
        return _numerical_grad_tensors(f, _tensor_leaves(inputs), eps)
    base = [leaf.data for leaf in _leaves(inputs)]
    labels = [x.label if isinstance(x, Value) else "" for x in inputs]

    def f_at(i: int, shift: float) -> float:
        shifted = [
            Value(x + (shift if j == i else 0.0), label)
            for j, (x, label) in enumerate(zip(base, labels, strict=True))
        ]
        try:
            with no_grad():
                return _call(f, shifted).data
        except NonFiniteError as error:
            raise NonFiniteError(
                f"numerical_grad: f is not finite at input {i} = {base[i]!r} {shift:+g}: "
                f"{error}. Move the point away from the edge of the domain or use a smaller eps."
            ) from error

    return [(f_at(i, eps) - f_at(i, -eps)) / (2.0 * eps) for i in range(len(base))]


def _close(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    # The same test as numpy.isclose / torch.allclose: |a - n| <= atol + rtol |n|.
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)


def _gate_local_numeric(op: Op, xs: list[float], i: int, eps: float) -> float:
    """Centred difference of one gate's forward rule with respect to its input ``i``."""
    plus = list(xs)
    minus = list(xs)
    plus[i] += eps
    minus[i] -= eps
    return (op.on_floats(*plus) - op.on_floats(*minus)) / (2.0 * eps)


def _gate_one_sided(op: Op, xs: list[float], i: int, eps: float) -> tuple[float, float]:
    """Backward and forward differences of one gate with respect to its input ``i``."""
    plus = list(xs)
    minus = list(xs)
    plus[i] += eps
    minus[i] -= eps
    at = op.on_floats(*xs)
    return (at - op.on_floats(*minus)) / eps, (op.on_floats(*plus) - at) / eps


def _check_gates(
    root: Value, eps: float, atol: float, rtol: float
) -> tuple[GateMismatch | None, list[str]]:
    """The first wrong gate (or ``None``) and a description of every gate met on the way
    that sits on a kink.

    A gate is at a kink when its one-sided differences disagree (relu at 0, max at a tie):
    the centred difference then averages the two slopes and need not equal the recorded
    local derivative, yet any value between the two slopes (a subgradient, as PyTorch uses)
    is a correct choice. Such a gate is reported as a kink, not blamed.
    """
    kinks: list[str] = []
    for node in topological_order(root):
        op = node.gate
        if op is None:
            continue
        xs = [p.data for p in node.parents]
        for i, recorded in enumerate(node.local_grads):
            try:
                numeric = _gate_local_numeric(op, xs, i, eps)
                if _close(recorded, numeric, atol, rtol):
                    continue
                left, right = _gate_one_sided(op, xs, i, eps)
            except (ValueError, ZeroDivisionError, OverflowError):
                continue  # the gate's domain ends within eps: no centred difference here
            low, high = min(left, right), max(left, right)
            slack = atol + rtol * max(abs(low), abs(high))
            if not _close(left, right, atol, rtol) and low - slack <= recorded <= high + slack:
                args = ", ".join(repr(x) for x in xs)
                kinks.append(
                    f"gate {op.name} ('{op.symbol}') at inputs ({args}) sits on a kink with "
                    f"respect to input {i}: slope {left!r} on the left, {right!r} on the "
                    f"right, recorded {recorded!r}"
                )
                continue
            return GateMismatch(node, i, recorded, numeric), kinks
    return None, kinks


def find_wrong_gate(
    root: Value, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GateMismatch | None:
    """The first gate, in forward order, whose recorded local derivatives disagree with
    centred differences of that gate's forward rule alone; ``None`` if all agree.

    A gate exactly on a kink (relu at 0, max at a tie) is not blamed when its recorded
    derivative lies between the slopes on either side: that is a valid choice of derivative.

    This turns "the gradient is wrong" into "this op's derivative rule is wrong": the tool for
    debugging an op you added.
    """
    return _check_gates(root, eps, atol, rtol)[0]


def gradcheck(
    f: Function,
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check ``backward()`` against centred differences; True, or raise :class:`GradcheckError`.

    Passes when ``|analytic - numeric| <= atol + rtol * |numeric|`` for every input (PyTorch's
    defaults: eps 1e-6, atol 1e-5, rtol 1e-3). On failure the message lists, per input, both
    gradients with absolute and relative error, and names the first gate whose local derivative
    is wrong (see :func:`find_wrong_gate`).
    """
    if not is_grad_enabled():
        raise RuntimeError(
            "gradcheck was called inside no_grad(): no graph is recorded there, so backward "
            "cannot compute the analytic gradient. Call it outside the no_grad block."
        )
    if _has_tensors(inputs):
        return _gradcheck_tensors(f, inputs, eps, atol, rtol)
    leaves = _leaves(inputs)
    out = _call(f, leaves)
    out.backward()
    analytic = [leaf.grad for leaf in leaves]
    numeric = numerical_grad(f, inputs, eps)
    if all(_close(a, n, atol, rtol) for a, n in zip(analytic, numeric, strict=True)):
        return True

    rows = []
    for i, (leaf, a, n) in enumerate(zip(leaves, analytic, numeric, strict=True)):
        abs_err = abs(a - n)
        rel_err = abs_err / abs(n) if n != 0 else float("inf") if abs_err else 0.0
        mark = "  <-- mismatch" if not _close(a, n, atol, rtol) else ""
        name = f"{i} ({leaf.label})" if leaf.label else f"{i}"
        rows.append(
            f"  input {name} = {leaf.data!r}: analytic {a!r}, numeric {n!r}, "
            f"abs err {abs_err:.3g}, rel err {rel_err:.3g}{mark}"
        )
    blamed, kinks = _check_gates(out, eps, atol, rtol)
    if blamed is not None:
        where = "First wrong local derivative: " + blamed.describe()
    else:
        where = (
            "Every gate's recorded local derivative agrees with a difference of that gate "
            "alone, so look between the gates: values computed on .data outside the engine, "
            "or an input within eps of a kink (relu at 0, max at a tie)."
        )
    if kinks:
        where += (
            "\nThe centred difference straddles a kink here, so it cannot check these gates:\n"
            + "\n".join(f"  {kink}" for kink in kinks)
        )
    message = (
        f"gradcheck failed (eps={eps}, atol={atol}, rtol={rtol}):\n"
        + "\n".join(rows)
        + "\n"
        + where
    )
    raise GradcheckError(message, analytic, numeric, blamed)


# -- Tensors: the same check, element by element -----------------------------------------------
#
# For a function of tensors that returns one number, every element of every input gets its own
# centred difference. A function returning a larger tensor is checked through a fixed random
# projection: g(x) = Σ f(x) * r, whose gradient is what ``f(x).backward(r)`` computes.


def _has_tensors(inputs: Sequence[Any]) -> bool:
    return any(isinstance(x, (Tensor, np.ndarray)) for x in inputs)


def _tensor_leaves(inputs: Sequence[Any]) -> list[Tensor]:
    leaves = []
    for x in inputs:
        if isinstance(x, Value):
            raise TypeError("gradcheck takes Values or Tensors, not both in one call")
        leaf = Tensor(x.data, x.label) if isinstance(x, Tensor) else Tensor(x)
        if leaf.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 inputs, got {leaf.dtype}: in float32 a centred "
                "difference with eps 1e-6 is mostly rounding error. Convert with Tensor(x, "
                "dtype='float64')"
            )
        leaves.append(leaf)
    return leaves


def _projected(f: Function, leaves: Sequence[Tensor]) -> tuple[Tensor, np.ndarray | None]:
    """``f(*leaves)`` reduced to one number: itself, or Σ out * r for a fixed random r."""
    out = f(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"f must return a Tensor built from its inputs, got {type(out).__name__}")
    if out.size == 1:
        return out, None
    r = np.random.default_rng(0).standard_normal(out.shape)
    return out, r


def _numerical_grad_tensors(f: Function, leaves: list[Tensor], eps: float) -> list[np.ndarray]:
    base = [leaf.data.copy() for leaf in leaves]
    labels = [leaf.label for leaf in leaves]
    with no_grad():
        _, r = _projected(f, [Tensor(b, label) for b, label in zip(base, labels, strict=True)])

    def f_at(i: int, index: tuple[int, ...], shift: float) -> float:
        shifted = [b.copy() for b in base]
        shifted[i][index] += shift
        try:
            with no_grad():
                out = f(*[Tensor(b, label) for b, label in zip(shifted, labels, strict=True)])
        except NonFiniteError as error:
            raise NonFiniteError(
                f"numerical_grad: f is not finite at input {i}{list(index)} "
                f"{shift:+g}: {error}. Move the point away from the edge of the domain."
            ) from error
        return float(out.data.sum() if r is None else (out.data * r).sum())

    grads = []
    for i, b in enumerate(base):
        g = np.zeros_like(b)
        for index in np.ndindex(b.shape):
            g[index] = (f_at(i, index, eps) - f_at(i, index, -eps)) / (2.0 * eps)
        grads.append(g)
    return grads


def _gradcheck_tensors(
    f: Function, inputs: Sequence[Any], eps: float, atol: float, rtol: float
) -> bool:
    leaves = _tensor_leaves(inputs)
    out, r = _projected(f, leaves)
    out.backward(r)
    analytic = [leaf.grad for leaf in leaves]
    numeric = _numerical_grad_tensors(f, leaves, eps)
    close = [
        np.abs(a - n) <= atol + rtol * np.abs(n) for a, n in zip(analytic, numeric, strict=True)
    ]
    if all(c.all() for c in close):
        return True
    rows = []
    for i, (leaf, a, n, ok) in enumerate(zip(leaves, analytic, numeric, close, strict=True)):
        name = f"{i} ({leaf.label})" if leaf.label else f"{i}"
        if ok.all():
            rows.append(f"  input {name}, shape {leaf.shape}: ok")
            continue
        worst = np.unravel_index(np.argmax(np.abs(a - n)), a.shape) if a.ndim else ()
        rows.append(
            f"  input {name}, shape {leaf.shape}: {int((~ok).sum())} of {ok.size} elements "
            f"differ; worst at {tuple(int(k) for k in worst)}: analytic "
            f"{float(a[worst])!r}, numeric {float(n[worst])!r}  <-- mismatch"
        )
    blamed = find_wrong_tensor_gate(out, eps, atol, rtol)
    where = (
        "First wrong local gradient: " + blamed.describe()
        if blamed is not None
        else "Every gate's local gradient agrees with differences of that gate alone: look "
        "for values computed on .data outside the engine, or an input within eps of a kink."
    )
    projected = "" if r is None else " (f returns a tensor: checked via Σ f(x) * r, r fixed)"
    message = (
        f"gradcheck failed (eps={eps}, atol={atol}, rtol={rtol}){projected}:\n"
        + "\n".join(rows)
        + "\n"
        + where
    )
    raise GradcheckError(message, analytic, numeric, blamed)


def find_wrong_tensor_gate(
    root: Tensor, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GateMismatch | None:
    """The first Tensor gate, in forward order, whose local gradient is wrong; ``None`` if all
    agree.

    Each gate is checked alone: its recorded local gradient times a random upstream ``u``
    against the centred differences of ``Σ u * op.on_floats(inputs)``, element by element. The
    mismatch reports the largest disagreement (``recorded`` and ``numeric`` at that element).
    """
    rng = np.random.default_rng(1)
    for node in topological_order(root):
        op = node.gate
        if op is None:
            continue
        xs = [p.data.astype(np.float64) for p in node.parents]
        u = rng.standard_normal(node.data.shape)
        for i, local in enumerate(node.local_grads):
            if not node.parents[i].requires_grad:
                continue  # data (a number, an array): it gets no gradient, so none can be wrong
            recorded = np.broadcast_to(u * local, xs[i].shape)
            numeric = np.zeros_like(xs[i])
            try:
                for index in np.ndindex(xs[i].shape):
                    plus = [x.copy() for x in xs]
                    minus = [x.copy() for x in xs]
                    plus[i][index] += eps
                    minus[i][index] -= eps
                    with no_grad():
                        high = (u * op.on_arrays[0](*plus)).sum()
                        low = (u * op.on_arrays[0](*minus)).sum()
                    numeric[index] = (high - low) / (2.0 * eps)
            except (ValueError, FloatingPointError):
                continue
            wrong = np.abs(recorded - numeric) > atol + rtol * np.abs(numeric)
            if wrong.any():
                worst = np.unravel_index(np.argmax(np.abs(recorded - numeric)), numeric.shape)
                return GateMismatch(node, i, float(recorded[worst]), float(numeric[worst]))
    return None

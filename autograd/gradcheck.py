"""Numerical gradients and gradient checking, as the lectures teach them.

The centred difference ``(f(x + h) - f(x - h)) / 2h`` has truncation error O(h^2) (the forward
difference only O(h)); with h = 1e-6 in float64 it agrees with a correct analytic gradient to
about 1e-9 on well-scaled functions. It is slow (two evaluations of ``f`` per input number), so
it is a tool for checking an implementation, not for training.

Values and Tensors are checked by the same code: a Value's number is a 0-d array, with one
element to nudge. A function with a larger output is checked through a fixed random projection:
g(x) = Σ r * f(x), whose gradient is what ``f(x).backward(r)`` computes (:func:`_upstream`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import numpy as np

from autograd.engine import NonFiniteError, Value, is_grad_enabled, no_grad, topological_order
from autograd.jacobians import NO_GRADIENT, Array
from autograd.tensor import Tensor

Function = Callable[..., Any]


class GradcheckError(AssertionError, RuntimeError):
    """``gradcheck`` found an analytic gradient that disagrees with the numeric one.

    A ``RuntimeError``, as PyTorch's ``GradcheckError`` is, and an ``AssertionError``, as a
    failed check in a test is.

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
    """One gate whose recorded local derivative disagrees with its centred difference.

    For a gate with a larger output (a Tensor's), ``recorded`` and ``numeric`` are element
    ``element`` of ``upstream * local`` and of its difference, for a fixed random upstream.
    """

    node: Value | Tensor
    input_index: int
    recorded: float
    numeric: float
    element: tuple[int, ...] = ()

    def describe(self) -> str:
        op = self.node.gate
        assert op is not None
        weighted = " (times a fixed random upstream)" if np.size(self.node.data) > 1 else ""
        return (
            f"{_gate_text(self.node)}: local derivative{weighted} with respect to "
            f"{_input_text(self.input_index, self.element)} recorded {self.recorded!r}, "
            f"numeric {self.numeric!r}  [{op.formula}]"
        )


def _gate_text(node: Value | Tensor) -> str:
    """``gate relu ('relu') at inputs (0.0)``: the gate and what it was applied to."""
    assert node.gate is not None
    args = ", ".join(
        f"shape {p.shape}" if isinstance(p, Tensor) else repr(p.data) for p in node.parents
    )
    return f"gate {node.gate.name} ('{node.gate.symbol}') at inputs ({args})"


def _input_text(i: int, element: tuple[int, ...]) -> str:
    return f"input {i}, element {element}" if element else f"input {i}"


# -- the pieces both checks share --------------------------------------------------------------


def _fresh_leaves(inputs: Sequence[Any]) -> list[Value | Tensor]:
    """New leaves with the inputs' values and labels, so checking never touches the caller's
    nodes or their gradients: Values, or float64 Tensors if any input is a Tensor or an array
    (a number then becomes a 0-d Tensor)."""
    as_tensors = any(isinstance(x, (Tensor, np.ndarray)) for x in inputs)
    leaves: list[Value | Tensor] = []
    for x in inputs:
        label = x.label if isinstance(x, (Value, Tensor)) else ""
        if not as_tensors:
            leaves.append(Value(x.data if isinstance(x, Value) else x, label))
            continue
        if isinstance(x, Value):
            raise TypeError("gradcheck takes Values or Tensors, not both in one call")
        leaf = Tensor(x.data if isinstance(x, Tensor) else x, label)
        if leaf.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 inputs, got {leaf.dtype}: in float32 a centred "
                "difference with eps 1e-6 is mostly rounding error. Convert with Tensor(x, "
                "dtype='float64')"
            )
        leaves.append(leaf)
    return leaves


def _at(leaves: Sequence[Value | Tensor], xs: Sequence[Array]) -> list[Value | Tensor]:
    """Fresh leaves of the same kinds and labels as ``leaves``, holding ``xs``."""
    return [
        Value(float(x), leaf.label) if isinstance(leaf, Value) else Tensor(x, leaf.label)
        for leaf, x in zip(leaves, xs, strict=True)
    ]


def _call(f: Function, leaves: Sequence[Value | Tensor]) -> Value | Tensor:
    out = f(*leaves)
    kind = Tensor if leaves and isinstance(leaves[0], Tensor) else Value
    if not isinstance(out, kind):
        raise TypeError(
            f"f must return a {kind.__name__} built from its inputs, got {type(out).__name__}"
        )
    return out


@cache
def _upstream(shape: tuple[int, ...]) -> Array:
    """The fixed weights r that make an output of this shape one number, Σ r * out.

    Ones for an output of one element (nothing to project); otherwise standard normal draws, the
    same on every call (seed 0), so every difference and ``backward(r)`` see the same g. A
    random r, unlike ones, lets no error cancel against another by symmetry. Read-only: shared.
    """
    r = np.ones(shape) if np.prod(shape) == 1 else np.random.default_rng(0).standard_normal(shape)
    r.flags.writeable = False
    return r


def _nudged(xs: Sequence[Array], i: int, k: tuple[int, ...], shift: float) -> list[Array]:
    """A copy of ``xs`` with element ``k`` of input ``i`` moved by ``shift``."""
    x = xs[i].copy()
    x[k] += shift
    return [*xs[:i], x, *xs[i + 1 :]]


def _close(analytic: Any, numeric: Any, atol: float, rtol: float) -> Any:
    # The same test as numpy.isclose / torch.allclose: |a - n| <= atol + rtol |n|.
    return np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric)


# -- the numerical gradient ----------------------------------------------------------------------


def numerical_grad(f: Function, inputs: Sequence[Any], eps: float = 1e-6) -> list[Any]:
    """Centred differences ``(g(x + eps e_k) - g(x - eps e_k)) / (2 eps)`` for every element
    x_k of every input, where g is ``f``'s output (or Σ r * f(x) for an output of more than one
    element, r fixed and random).

    ``f`` is called as ``f(*leaves)`` with fresh leaves holding the inputs' values; the inputs
    are not modified. Values and numbers give Value leaves and one float per input; if any
    input is a Tensor or an array, the leaves are Tensors and the result one array per input.
    """
    return _numerical(f, _fresh_leaves(inputs), eps)


def _numerical(f: Function, leaves: Sequence[Value | Tensor], eps: float) -> list[Any]:
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    point = [np.array(leaf.data, dtype=np.float64) for leaf in leaves]

    def g(i: int, k: tuple[int, ...], shift: float) -> float:
        try:
            with no_grad():
                out = _call(f, _at(leaves, _nudged(point, i, k, shift))).data
            return float((_upstream(np.shape(out)) * out).sum())
        except NonFiniteError as error:
            raise NonFiniteError(
                f"numerical_grad: f is not finite at {_input_text(i, k)} = "
                f"{float(point[i][k])!r} {shift:+g}: {error}. Move the point away from the edge "
                "of the domain or use a smaller eps."
            ) from error

    grads: list[Any] = []
    for i, (leaf, x) in enumerate(zip(leaves, point, strict=True)):
        grad = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            grad[k] = (g(i, k, eps) - g(i, k, -eps)) / (2.0 * eps)
        grads.append(float(grad) if isinstance(leaf, Value) else grad)
    return grads


# -- gradcheck -----------------------------------------------------------------------------------


def gradcheck(
    f: Function,
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check ``backward()`` against centred differences: True, or raise :class:`GradcheckError`
    (return False instead with ``raise_exception=False``, as PyTorch's does).

    ``inputs`` are Values and numbers, or Tensors, arrays and numbers (see
    :func:`numerical_grad`); a constant that needs no checking belongs inside ``f``. Passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|`` for every element of every input
    (PyTorch's defaults: eps 1e-6, atol 1e-5, rtol 1e-3). On failure the message shows, per
    input, both gradients at its worst element with absolute and relative error, and names the
    first gate whose local derivative is wrong (see :func:`find_wrong_gate`).
    """
    if not is_grad_enabled():
        raise RuntimeError(
            "gradcheck was called inside no_grad(): no graph is recorded there, so backward "
            "cannot compute the analytic gradient. Call it outside the no_grad block."
        )
    leaves = _fresh_leaves(inputs)
    out = _call(f, leaves)
    r = _upstream(np.shape(out.data))
    if r.size == 1:
        out.backward()
    else:
        cast(Tensor, out).backward(r)  # only a Tensor holds more than one number
    analytic = [leaf.grad for leaf in leaves]
    numeric = _numerical(f, leaves, eps)
    report = [
        _row(i, leaf, a, n, atol, rtol)
        for i, (leaf, a, n) in enumerate(zip(leaves, analytic, numeric, strict=True))
    ]
    if not any(wrong for _, wrong in report):
        return True
    if not raise_exception:
        return False

    rows = [row for row, _ in report]
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
    projected = "" if r.size == 1 else " (f returns a tensor: checked via Σ f(x) * r, r fixed)"
    message = (
        f"gradcheck failed (eps={eps}, atol={atol}, rtol={rtol}){projected}:\n"
        + "\n".join(rows)
        + "\n"
        + where
    )
    raise GradcheckError(message, analytic, numeric, blamed)


def _row(
    i: int, leaf: Value | Tensor, analytic: Any, numeric: Any, atol: float, rtol: float
) -> tuple[str, bool]:
    """Input ``i``'s line of the report, and whether any of its elements disagree. The line
    shows both gradients at the element with the largest error; for a Tensor, how many
    elements disagree."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric)
    name = f"{i} ({leaf.label})" if leaf.label else f"{i}"
    if not a.size:
        return f"  input {name}, shape {a.shape}: no elements", False
    err = np.abs(a - n)
    k = tuple(int(j) for j in np.unravel_index(np.argmax(err), err.shape))
    wrong = ~_close(a, n, atol, rtol)
    if a.ndim:
        count = f"{int(wrong.sum())} of {a.size} elements differ"
        head = f"input {name}, shape {a.shape}: {count}, the largest error at {k}"
    else:
        head = f"input {name} = {float(leaf.data)!r}"
    rel = err[k] / abs(n[k]) if n[k] != 0 else float("inf") if err[k] else 0.0
    mark = "  <-- mismatch" if wrong.any() else ""
    row = (
        f"  {head}: analytic {float(a[k])!r}, numeric {float(n[k])!r}, abs err {err[k]:.3g}, "
        f"rel err {rel:.3g}{mark}"
    )
    return row, bool(wrong.any())


# -- which gate is wrong --------------------------------------------------------------------------


def find_wrong_gate(
    root: Value | Tensor, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> GateMismatch | None:
    """The first gate, in forward order, whose recorded local derivatives disagree with
    centred differences of that gate's forward rule alone; ``None`` if all agree.

    Each gate is checked alone, for Values and Tensors alike: ``upstream * local`` (a fixed
    random upstream u, or 1 for an output of one number) against the centred differences of
    Σ u * forward(inputs) in every element of every input, ``forward`` being the op's rule for
    floats or for arrays. Inputs that need no gradient (``requires_grad=False``, constants of a
    Tensor graph) are skipped, and so is an input whose gate leaves its domain within eps.

    A gate exactly on a kink (relu at 0, max at a tie) is not blamed when its recorded
    derivative lies between the slopes on either side: that is a valid choice of derivative.

    This turns "the gradient is wrong" into "this op's derivative rule is wrong": the tool for
    debugging an op you added.
    """
    return _check_gates(root, eps, atol, rtol)[0]


#: The former name of :func:`find_wrong_gate` for Tensor graphs (it now checks both kinds).
find_wrong_tensor_gate = find_wrong_gate


def _check_gates(
    root: Value | Tensor, eps: float, atol: float, rtol: float
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
        if node.gate is None:
            continue
        xs = [np.array(p.data, dtype=np.float64) for p in node.parents]
        u = _upstream(np.shape(node.data))
        for i, local in enumerate(node.local_grads):
            if local is NO_GRADIENT:
                continue  # a constant: no gradient is computed for it, so none can be wrong
            try:
                left, right = _one_sided(node, u, xs, i, eps)
            except (ArithmeticError, ValueError):
                continue  # the gate's domain ends within eps: no difference here
            if not (np.isfinite(left).all() and np.isfinite(right).all()):
                continue
            recorded = np.broadcast_to(np.asarray(u * local, dtype=np.float64), xs[i].shape)
            numeric = (left + right) / 2.0  # the centred difference
            low, high = np.minimum(left, right), np.maximum(left, right)
            slack = atol + rtol * np.maximum(np.abs(low), np.abs(high))
            between = (low - slack <= recorded) & (recorded <= high + slack)
            wrong = ~_close(recorded, numeric, atol, rtol)
            kinked = wrong & ~_close(left, right, atol, rtol) & between
            if kinked.any():
                k = tuple(int(j) for j in np.argwhere(kinked)[0])
                many = f" (and {int(kinked.sum()) - 1} more elements)" if kinked.sum() > 1 else ""
                kinks.append(
                    f"{_gate_text(node)} sits on a kink with respect to {_input_text(i, k)}"
                    f"{many}: slope {float(left[k])!r} on the left, {float(right[k])!r} on "
                    f"the right, recorded {float(recorded[k])!r}"
                )
            wrong &= ~kinked
            if wrong.any():
                error = np.where(wrong, np.abs(recorded - numeric), -1.0)
                k = tuple(int(j) for j in np.unravel_index(np.argmax(error), error.shape))
                mismatch = GateMismatch(node, i, float(recorded[k]), float(numeric[k]), k)
                return mismatch, kinks
    return None, kinks


def _one_sided(
    node: Value | Tensor, u: Array, xs: list[Array], i: int, eps: float
) -> tuple[Array, Array]:
    """Backward and forward differences of g = Σ u * forward(xs), the gate's rule alone, in
    every element k of input ``i``: (g(x) - g(x - eps e_k)) / eps, (g(x + eps e_k) - g(x)) / eps.
    """
    assert node.gate is not None
    forward = node.gate.on_arrays if isinstance(node, Tensor) else node.gate.on_floats

    def g(args: list[Array]) -> float:
        values = args if isinstance(node, Tensor) else [float(a) for a in args]
        with np.errstate(all="ignore"):  # a result outside the domain is caught as not finite
            return float((u * forward(*values)).sum())

    at = g(xs)
    left, right = np.zeros_like(xs[i]), np.zeros_like(xs[i])
    for k in np.ndindex(xs[i].shape):
        left[k] = (at - g(_nudged(xs, i, k, -eps))) / eps
        right[k] = (g(_nudged(xs, i, k, eps)) - at) / eps
    return left, right

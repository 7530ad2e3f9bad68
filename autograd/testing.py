"""Hypothesis strategies for property-testing ops, yours included.

The op table (:mod:`autograd.ops`) already says, for every op, where its inputs may be drawn from
(``sample_range``) and where central differences are meaningful (``smooth``). This module turns
that into test data:

* :func:`op_inputs` draws inputs for one op; :func:`check_local` compares the op's ``local``
  rule with centred differences of its ``forward`` rule at those inputs.
* :func:`ops` draws an op from the table (with a few members of the ``x ** n`` family).
* :func:`expressions` draws whole programs over the ops, as DAGs that *reuse* values (``x * x``,
  a node feeding several later nodes), ready for :func:`autograd.gradcheck`.
* :func:`array_inputs` draws arrays for one op, element by element as :func:`op_inputs` does,
  for Tensors; :func:`check_array_rules` checks that the op's array rules give, element by
  element, what its number rules give (one op, one definition, two kinds of input).

Property-testing an op you added, say ``cube``::

    from hypothesis import given
    from autograd import OPS, Op, gradcheck
    from autograd.testing import check_local, expressions, op_inputs

    CUBE = Op(
        "cube", "x³", 1,
        forward=lambda a: a ** 3,
        local=lambda a, out: (3 * a * a,),
        formula="d(a^3)/da = 3 a^2",
        sample_range=(-3.0, 3.0),
    )

    @given(op_inputs(CUBE))
    def test_cube_local_matches_central_differences(xs):
        check_local(CUBE, xs)  # raises LocalDerivativeError if `local` is wrong

    @given(expressions(ops=[CUBE, OPS["add"], OPS["mul"]]))
    def test_cube_in_expressions(expr):
        assert gradcheck(expr, expr.inputs)  # GradcheckError.blamed_gate names a wrong op

Tolerances are PyTorch gradcheck's: ``|analytic - numeric| <= atol + rtol |numeric|`` with
eps 1e-6, atol 1e-5, rtol 1e-3.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograd.engine import Value, apply
from autograd.ops import NEG, OPS, Op, power

__all__ = [
    "DEFAULT_POWERS",
    "MAX_MAGNITUDE",
    "MAX_SENSITIVITY",
    "ArrayRuleError",
    "Expression",
    "LocalDerivativeError",
    "Step",
    "array_inputs",
    "central_difference",
    "check_array_rules",
    "check_local",
    "expressions",
    "finite_floats",
    "op_inputs",
    "ops",
    "table_ops",
]

#: Exponents of the ``x ** n`` family that :func:`table_ops` adds to the fixed ops: squares and
#: cubes (negative bases allowed), a reciprocal (x != 0) and two fractional powers (x > 0).
DEFAULT_POWERS: tuple[float, ...] = (2.0, 3.0, -1.0, 0.5, 1.5)

#: :func:`expressions` keeps every intermediate value within +-MAX_MAGNITUDE, so ``exp`` is only
#: applied to inputs below about 6.9 and nothing overflows.
MAX_MAGNITUDE = 1e3

#: ... and bounds ``sum_i |d node / d input_i|`` by MAX_SENSITIVITY: a step of 1e-6 in an input
#: then moves every node by at most about 1e-3 = KINK_MARGIN, so the centred differences of
#: ``gradcheck`` never step over a kink or out of a domain, and their rounding error stays well
#: below its tolerance.
MAX_SENSITIVITY = 1e3

#: gradcheck's defaults (PyTorch's): the programs are kept accurate for these.
_EPS, _ATOL, _RTOL = 1e-6, 1e-5, 1e-3

_TINY = sys.float_info.min  # smallest normal float; anything between it and 0 is subnormal


def finite_floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats in ``[low, high]``: finite, never nan, never subnormal."""
    return st.floats(
        min_value=low,
        max_value=high,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )


def op_inputs(op: Op) -> st.SearchStrategy[tuple[float, ...]]:
    """Input tuples for ``op`` (one float per input) where its local derivatives can be tested.

    Each input is drawn from ``op.sample_range``; tuples outside ``op.smooth`` (outside the
    domain, or within KINK_MARGIN of a kink such as relu at 0 or a tie of max) are filtered out.

    >>> from hypothesis import given
    >>> from autograd import OPS
    >>> @given(op_inputs(OPS["log"]))
    ... def test_log(xs):
    ...     check_local(OPS["log"], xs)
    >>> test_log()
    """
    low, high = op.sample_range
    element = finite_floats(low, high)
    return st.tuples(*([element] * op.arity)).filter(lambda xs: bool(op.smooth(*xs)))


def array_inputs(
    op: Op, shapes: st.SearchStrategy[tuple[int, ...]] | None = None
) -> st.SearchStrategy[tuple[np.ndarray, ...]]:
    """Input arrays for ``op`` (one per input, all of one shape drawn from ``shapes``: up to 3
    axes of up to 4 by default), each element tuple drawn as :func:`op_inputs` draws one."""
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4) if shapes is None else shapes

    @st.composite
    def arrays(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
        shape = draw(shapes)
        size = math.prod(shape)
        rows = draw(st.lists(op_inputs(op), min_size=size, max_size=size))
        columns = np.array(rows, dtype=float).reshape(size, op.arity)
        return tuple(columns[:, i].reshape(shape) for i in range(op.arity))

    return arrays()


def check_array_rules(op: Op, arrays: Sequence[np.ndarray], rtol: float = 1e-13) -> None:
    """Check that ``op``'s rules on arrays (what Tensors run) agree, element by element, with
    its rules on numbers (what Values run): the same value and the same local derivatives.

    Raises:
        ArrayRuleError: naming the element, the rule and both answers.
    """
    forward, local = op.on_arrays, op.local
    out = np.broadcast_to(np.asarray(forward(*arrays), dtype=float), arrays[0].shape)
    locals_ = [
        np.broadcast_to(np.asarray(d, dtype=float), arrays[0].shape) for d in local(*arrays, out)
    ]
    for index in np.ndindex(arrays[0].shape):
        xs = [float(a[index]) for a in arrays]
        expected = op.on_floats(*xs)
        if not math.isclose(out[index], expected, rel_tol=rtol, abs_tol=1e-300):
            raise ArrayRuleError(
                f"{op.name}'s array forward gives {out[index]!r} at element {index} "
                f"({op.write(*map(repr, xs))}), its number forward {expected!r}"
            )
        # each rule alone: the number rule gets the array rule's output (numpy's and math's
        # tanh may differ in the last bit, which 1 - tanh^2 would magnify)
        for i, d in enumerate(op.local(*xs, float(out[index]))):
            if not math.isclose(locals_[i][index], d, rel_tol=rtol, abs_tol=1e-300):
                raise ArrayRuleError(
                    f"{op.name}'s array local derivative for input {i} gives "
                    f"{locals_[i][index]!r} at element {index} ({op.write(*map(repr, xs))}), "
                    f"its number rule {d!r}"
                )


class ArrayRuleError(AssertionError):
    """An op's rules on arrays disagree with its rules on numbers (see check_array_rules)."""


def table_ops(powers: Iterable[float] = DEFAULT_POWERS) -> list[Op]:
    """Every op of ``OPS`` that works on numbers (read when called, so ops registered later are
    included), then ``power(n)`` for each ``n`` in ``powers``."""
    return [*(op for op in OPS.values() if op.forward is not None), *map(power, powers)]


def ops(powers: Iterable[float] = DEFAULT_POWERS) -> st.SearchStrategy[Op]:
    """One op from :func:`table_ops`; shrinks towards ``add``, the first entry."""
    return st.sampled_from(table_ops(powers))


# -- one op against central differences ------------------------------------------------------


class LocalDerivativeError(AssertionError):
    """An op's ``local`` rule disagrees with centred differences of its ``forward`` rule.

    Attributes:
        op: the op.
        inputs: where it was evaluated.
        input_index: which input's derivative is wrong.
        recorded: what ``op.local`` returned for it.
        numeric: the centred difference.
    """

    def __init__(
        self,
        message: str,
        op: Op,
        inputs: tuple[float, ...],
        index: int,
        recorded: float,
        numeric: float,
    ) -> None:
        super().__init__(message)
        self.op = op
        self.inputs = inputs
        self.input_index = index
        self.recorded = recorded
        self.numeric = numeric


def central_difference(op: Op, xs: Sequence[float], i: int, eps: float = 1e-6) -> float:
    """``(forward(.., x_i + eps, ..) - forward(.., x_i - eps, ..)) / 2 eps``."""
    plus, minus = list(xs), list(xs)
    plus[i] += eps
    minus[i] -= eps
    return (op.on_floats(*plus) - op.on_floats(*minus)) / (2.0 * eps)


def check_local(
    op: Op, xs: Sequence[float], eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> None:
    """Raise :class:`LocalDerivativeError` unless ``op.local(*xs, op.on_floats(*xs))`` matches the
    centred difference of ``op.forward`` for every input, within ``atol + rtol |numeric|``."""
    inputs = tuple(float(x) for x in xs)
    out = op.on_floats(*inputs)
    local = tuple(op.local(*inputs, out))
    if len(local) != op.arity:
        raise LocalDerivativeError(
            f"{op.name}.local returned {len(local)} derivatives for {op.arity} input(s)",
            op,
            inputs,
            len(local),
            math.nan,
            math.nan,
        )
    for i, recorded in enumerate(local):
        numeric = central_difference(op, inputs, i, eps)
        if not abs(recorded - numeric) <= atol + rtol * abs(numeric):
            args = ", ".join(repr(x) for x in inputs)
            raise LocalDerivativeError(
                f"{op.name}({args}): local derivative with respect to input {i} is "
                f"{recorded!r}, centred difference {numeric!r} (eps={eps}, atol={atol}, "
                f"rtol={rtol})  [{op.formula}]",
                op,
                inputs,
                i,
                recorded,
                numeric,
            )


# -- random programs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One node of an :class:`Expression`: ``op`` applied to earlier nodes.

    ``args`` index the expression's nodes: first the inputs (0 .. n_inputs - 1), then the
    steps in order (step ``k`` is node ``n_inputs + k``). ``args`` may repeat (``x * x``).
    """

    op: Op
    args: tuple[int, ...]


@dataclass(frozen=True)
class Expression:
    """A recorded straight-line program: inputs, then steps; the last node is the output.

    Call it with one :class:`~autograd.Value` per input to replay it in the engine; so
    ``gradcheck(expr, expr.inputs)`` checks it. ``repr`` prints the program one node per line,
    so a value used twice shows up as a name used twice.
    """

    inputs: tuple[float, ...]
    steps: tuple[Step, ...]

    def __call__(self, *leaves: Value | float) -> Value:
        if len(leaves) != len(self.inputs):
            raise TypeError(f"expression takes {len(self.inputs)} inputs, got {len(leaves)}")
        nodes = [x if isinstance(x, Value) else Value(x) for x in leaves]
        for step in self.steps:
            nodes.append(apply(step.op, *(nodes[i] for i in step.args)))
        return nodes[-1]

    def evaluate(self, *xs: float) -> float:
        """The output computed with floats and the ops' forward rules alone (no engine)."""
        if len(xs) != len(self.inputs):
            raise TypeError(f"expression takes {len(self.inputs)} inputs, got {len(xs)}")
        return _run(self.steps, xs)

    def name(self, index: int) -> str:
        """``x0, x1, ..`` for inputs, ``v0, v1, ..`` for steps."""
        n = len(self.inputs)
        return f"x{index}" if index < n else f"v{index - n}"

    def uses(self) -> list[int]:
        """How many times each node is an argument of a step (``x * x`` counts twice)."""
        counts = [0] * (len(self.inputs) + len(self.steps))
        for step in self.steps:
            for i in step.args:
                counts[i] += 1
        return counts

    @property
    def has_reuse(self) -> bool:
        """True if some value is used more than once (fan-out or a same-input gate)."""
        return any(count > 1 for count in self.uses())

    def format_step(self, step: Step) -> str:
        """One step as code: ``x0 * v1``, ``v0**2``, ``-v3``, ``tanh(v2)``."""
        return step.op.write(*(self.name(i) for i in step.args))

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis (and IPython) would otherwise print the dataclass fields, not the program.
        for i, line in enumerate(repr(self).splitlines()):
            if i:
                printer.break_()
            printer.text(line)

    def __repr__(self) -> str:
        inputs = ", ".join(f"{self.name(i)}={x!r}" for i, x in enumerate(self.inputs))
        lines = [f"Expression({inputs}):"]
        n = len(self.inputs)
        for k, step in enumerate(self.steps):
            lines.append(f"    {self.name(n + k)} = {self.format_step(step)}")
        lines.append(f"    return {self.name(n + len(self.steps) - 1)}")
        return "\n".join(lines)


def _finite_normal(x: float, bound: float) -> bool:
    return -bound <= x <= bound and not 0.0 < abs(x) < _TINY


def _run(steps: Sequence[Step], xs: Sequence[float]) -> float:
    values = list(xs)
    for step in steps:
        values.append(step.op.on_floats(*(values[i] for i in step.args)))
    return values[-1]


def _try_step(
    step: Step,
    inputs: tuple[float, ...],
    steps: list[Step],
    values: list[float],
    sensitivity: list[float],
) -> tuple[float, float] | None:
    """``(value, sensitivity)`` of the node ``step`` would add, or None if it is unacceptable:
    outside ``op.smooth``, raising, not finite or subnormal, beyond MAX_MAGNITUDE or
    MAX_SENSITIVITY, or curved so sharply that a centred difference would be inaccurate."""
    op, args = step.op, step.args
    xs = [values[i] for i in args]
    try:
        if not op.smooth(*xs):
            return None
        out = op.on_floats(*xs)
        local = op.local(*xs, out)
    except (ArithmeticError, ValueError):
        return None
    if not _finite_normal(out, MAX_MAGNITUDE) or len(local) != op.arity:
        return None
    if not all(_finite_normal(d, math.inf) for d in local):
        return None
    sens = sum(abs(d) * sensitivity[i] for d, i in zip(local, args, strict=True))
    if not sens <= MAX_SENSITIVITY:
        return None
    if not _difference_is_accurate([*steps, step], inputs):
        return None
    return out, sens


def _difference_is_accurate(steps: Sequence[Step], inputs: tuple[float, ...]) -> bool:
    """Whether centred differences with gradcheck's step h measure d(last node)/d(input_i)
    accurately for every input.

    A centred difference errs by about h^2 f'''/6. Steps that each stay away from kinks and
    domain edges can still compose into a sharp curve (``(c x)**3`` near x = 0 with a large
    ``c``), where the *numeric* gradient would be the wrong one. The differences with steps h
    and 2h differ by about 3 times that error, so comparing them estimates it from forward
    values alone. No local derivative is looked at, so this can never hide a wrong ``local``
    rule: it only keeps programs where the reference ``gradcheck`` compares with is sound.
    """
    for i in range(len(inputs)):
        d = []
        for h in (_EPS, 2.0 * _EPS):
            plus, minus = list(inputs), list(inputs)
            plus[i] += h
            minus[i] -= h
            try:
                d.append((_run(steps, plus) - _run(steps, minus)) / (2.0 * h))
            except (ArithmeticError, ValueError):
                return False
        # Keep the estimated error of the step-h difference below a tenth of the tolerance.
        if not abs(d[0] - d[1]) <= 0.3 * (_ATOL + _RTOL * abs(d[0])):
            return False
    return True


def _live(n_inputs: int, steps: list[Step]) -> tuple[Step, ...]:
    """The steps the output depends on, with their arguments renumbered (dead code removed)."""
    if not steps:
        return ()
    needed = [False] * (n_inputs + len(steps))
    needed[-1] = True
    for k in range(len(steps) - 1, -1, -1):
        if needed[n_inputs + k]:
            for i in steps[k].args:
                needed[i] = True
    renumber = list(range(n_inputs))
    kept: list[Step] = []
    for k, step in enumerate(steps):
        renumber.append(n_inputs + len(kept))
        if needed[n_inputs + k]:
            kept.append(Step(step.op, tuple(renumber[i] for i in step.args)))
    return tuple(kept)


def expressions(
    ops: Sequence[Op] | None = None,
    max_leaves: int = 3,
    max_nodes: int = 8,
    min_nodes: int = 1,
    fallback: Op = NEG,
) -> st.SearchStrategy[Expression]:
    """Random programs over ``ops`` that reuse values and suit central differences.

    Args:
        ops: the ops to draw from; default :func:`table_ops` (every op and some powers).
        max_leaves: at most this many inputs (at least 1).
        max_nodes: draw at most this many steps; steps the output does not depend on are then
            dropped, so the result may have fewer.
        min_nodes: draw at least this many steps (at least 1).
        fallback: a one-input op applied when no op of ``ops`` is acceptable at a step; it must
            be smooth everywhere and keep magnitudes (the default, ``neg``, does).

    How it is built: each input is drawn from the ``sample_range`` of an op of ``ops`` (so every
    op has inputs it accepts). Then, for each new node, two parents are drawn among all existing
    nodes (the same node twice is allowed, as in ``x * x``, and a node may be a parent of
    several later nodes; a one-input op takes the first), and two ops. The first op that is
    acceptable is taken: the two drawn ones, then the rest of ``ops`` in order, then
    ``fallback``. Acceptable means: its inputs satisfy its ``smooth`` predicate, its value stays
    within +-MAX_MAGNITUDE, the sum of |d node / d input| stays within MAX_SENSITIVITY, and
    centred differences with steps 1e-6 and 2e-6 agree (the program is not curved too sharply
    for them). Everything is decided by Hypothesis' draws, so examples replay and shrink;
    shrinking leads towards few steps of ``add`` on the two newest nodes.

    >>> from hypothesis import given
    >>> from autograd import gradcheck
    >>> @given(expressions(max_nodes=5))
    ... def test_backward_matches_numeric(expr):
    ...     assert gradcheck(expr, expr.inputs)
    >>> test_backward_matches_numeric()
    """
    chosen = table_ops() if ops is None else list(ops)
    if not chosen:
        raise ValueError("expressions() needs at least one op")
    if not 1 <= min_nodes <= max_nodes:
        raise ValueError(f"need 1 <= min_nodes <= max_nodes, got {min_nodes}, {max_nodes}")
    if max_leaves < 1:
        raise ValueError(f"max_leaves must be at least 1, got {max_leaves}")
    if any(op.arity not in (1, 2) for op in [*chosen, fallback]) or fallback.arity != 1:
        raise ValueError("expressions() takes ops with one or two inputs and a one-input fallback")
    ranges = sorted({op.sample_range for op in chosen})
    leaf = st.sampled_from(ranges).flatmap(lambda r: finite_floats(*r))
    return _expressions(chosen, leaf, max_leaves, min_nodes, max_nodes, fallback)


@st.composite
def _expressions(
    draw: st.DrawFn,
    chosen: list[Op],
    leaf: st.SearchStrategy[float],
    max_leaves: int,
    min_nodes: int,
    max_nodes: int,
    fallback: Op,
) -> Expression:
    inputs = tuple(draw(st.lists(leaf, min_size=1, max_size=max_leaves)))
    values = list(inputs)
    sensitivity = [1.0] * len(inputs)
    steps: list[Step] = []
    k = len(chosen)
    for _ in range(draw(st.integers(min_nodes, max_nodes))):
        n = len(values)
        # Parents are counted back: the first from the newest node, the second from the one
        # before it (wrapping round to the newest), so shrinking gives `f(v[k-1], v[k-2])`,
        # where v[k-2] fans out. The first parent is the newest node half of the time:
        # otherwise most nodes would be dead code that the output does not depend on.
        first = n - 1 if draw(st.booleans()) else n - 1 - draw(st.integers(0, n - 1))
        parents = (first, (n - 2 - draw(st.integers(0, n - 1))) % n)
        j0, j1 = draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))
        candidates = [chosen[j0], *(chosen[(j1 + i) % k] for i in range(k)), fallback]
        for op in candidates:
            step = Step(op, parents[: op.arity])
            accepted = _try_step(step, inputs, steps, values, sensitivity)
            if accepted is not None:
                break
        else:
            raise ValueError(f"fallback {fallback.name} rejected {values[parents[0]]!r}")
        values.append(accepted[0])
        sensitivity.append(accepted[1])
        steps.append(step)
    return Expression(inputs, _live(len(inputs), steps))

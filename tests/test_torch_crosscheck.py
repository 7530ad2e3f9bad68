"""Cross-check against PyTorch: the same programs, replayed in torch float64.

Random expression DAGs from :func:`autograd.testing.expressions` are run twice: in our engine,
and op for op in PyTorch (float64 scalars, ``requires_grad``). The output value and the gradient
of every input must agree. Then the two conventions where a derivative is a choice rather than a
limit: ``max`` at a tie (both split the gradient 1/2, 1/2) and ``relu`` at 0 (both give 0).

Tolerance, both comparisons: ``|ours - torch| <= ATOL + RTOL |torch|`` with RTOL = 1e-9 and
ATOL = 1e-10. Why not exact: the two libraries compute the same formulas, but their exp, log,
tanh, pow and sigmoid may differ in the last bit (libm vs PyTorch's kernels), and a local rule
like tanh's 1 - y^2 turns one ulp of y ~ 1 into a *relative* error of 1e-16 / (1 - y^2). That
error stays small in *absolute* terms, because the strategy bounds every value by 1e3 and every
node's sensitivity to the inputs by 1e3: about 1e3 x 2.2e-16 ~ 2e-13. Over 20,000 random
programs (up to 12 steps) the largest differences seen were 5e-13 absolute for gradients, 1e-13
for values, and 6e-12 relative where |gradient| > 1e-3 (tanh near saturation). ATOL sits 200
times above the first and RTOL 150 times above the last, while a wrong rule or a different
convention would be off by a fair fraction of the gradient itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings

from autograd import OPS, Op, Value, power
from autograd.testing import DEFAULT_POWERS, Expression, Step, expressions

torch = pytest.importorskip(
    "torch",
    reason="the PyTorch cross-check needs torch (pip install torch==2.13.0, a CPU build)",
)

RTOL = 1e-9
ATOL = 1e-10

#: Our op name -> the torch function computing the same thing.
TORCH_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "add": torch.add,
    "sub": torch.sub,
    "neg": torch.neg,
    "mul": torch.mul,
    "truediv": torch.true_divide,
    "pow_value": torch.pow,
    "exp": torch.exp,
    "log": torch.log,
    "reciprocal": torch.reciprocal,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "max": torch.maximum,
    "min": torch.minimum,
    "abs": torch.abs,
    "sqrt": torch.sqrt,
    "sin": torch.sin,
    "cos": torch.cos,
    # log(e^x + e^0), stable everywhere. (F.softplus returns x itself beyond threshold=20, and
    # its slope exactly 1 there, which differs from σ(x) by more than RTOL up to x = 21.)
    "softplus": lambda t: torch.logaddexp(t, torch.zeros_like(t)),
}

#: power(n) is cached per exponent, so the Op objects of the strategy's powers are these.
EXPONENTS: dict[Op, float] = {power(n): n for n in DEFAULT_POWERS}


def op_id(op: Op) -> str:
    return f"pow{op.symbol[2:]}" if op.name == "pow" else op.name


def torch_function(op: Op) -> Callable[..., Any]:
    if op in EXPONENTS:
        n = EXPONENTS[op]
        return lambda t: torch.pow(t, n)  # a number exponent, as x ** n
    return TORCH_FUNCTIONS[op.name]


def run_torch(expr: Expression) -> tuple[float, list[float]]:
    """The expression's output and input gradients, computed by PyTorch in float64."""
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in expr.inputs]
    nodes = list(leaves)
    for step in expr.steps:
        nodes.append(torch_function(step.op)(*(nodes[i] for i in step.args)))
    out = nodes[-1]
    out.backward()
    # An input the output does not depend on gets no .grad in torch: its gradient is 0.
    return out.item(), [0.0 if leaf.grad is None else leaf.grad.item() for leaf in leaves]


def run_ours(expr: Expression) -> tuple[float, list[float]]:
    leaves = [Value(x) for x in expr.inputs]
    out = expr(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


#: The ops of the table that work on numbers (the rest are Tensor ops: test_tensor_torch.py).
SCALAR_OPS = [op for op in OPS.values() if op.forward is not None]


def close(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= ATOL + RTOL * abs(theirs)


def test_every_op_has_a_torch_counterpart() -> None:
    """A newly registered op must be added to TORCH_FUNCTIONS to be cross-checked."""
    missing = {op.name for op in SCALAR_OPS} - set(TORCH_FUNCTIONS)
    assert not missing, f"add torch functions for {sorted(missing)} to TORCH_FUNCTIONS"


@settings(max_examples=300, deadline=None)
@given(expressions(max_leaves=3, min_nodes=3, max_nodes=10))
def test_random_dags_match_torch(expr: Expression) -> None:
    ours, our_grads = run_ours(expr)
    theirs, their_grads = run_torch(expr)
    assert close(ours, theirs), f"forward: ours {ours!r}, torch {theirs!r}"
    for i, (g, t) in enumerate(zip(our_grads, their_grads, strict=True)):
        assert close(g, t), f"d out/d x{i}: ours {g!r}, torch {t!r}"


@pytest.mark.parametrize("op", [*SCALAR_OPS, *EXPONENTS], ids=op_id)
def test_each_op_matches_torch_at_a_point(op: Op) -> None:
    """One op on fixed, in-domain inputs, so a failure names the op directly."""
    xs = (1.7, 0.6)[: op.arity]
    expr = Expression(xs, (Step(op, tuple(range(op.arity))),))
    ours, our_grads = run_ours(expr)
    theirs, their_grads = run_torch(expr)
    assert close(ours, theirs)
    assert all(close(g, t) for g, t in zip(our_grads, their_grads, strict=True))


# -- conventions at kinks ----------------------------------------------------------------------

MAX, MIN, RELU, ABS = OPS["max"], OPS["min"], OPS["relu"], OPS["abs"]


@pytest.mark.parametrize("a", [2.0, -3.5, 0.0])
def test_max_tie_splits_the_gradient_like_torch(a: float) -> None:
    expr = Expression((a, a), (Step(MAX, (0, 1)),))  # two inputs with equal values
    assert run_ours(expr) == run_torch(expr) == (a, [0.5, 0.5])


def test_max_of_a_value_with_itself_passes_the_whole_gradient_like_torch() -> None:
    # max(x, x) = x: the two halves of the split meet again in x.grad.
    expr = Expression((1.25,), (Step(MAX, (0, 0)),))
    assert run_ours(expr) == run_torch(expr) == (1.25, [1.0])


def test_max_tie_inside_an_expression_like_torch() -> None:
    # max(x*y, y*x): a tie between two different nodes with equal values, then a * z after it.
    mul = OPS["mul"]
    expr = Expression(
        (1.5, -2.0, 3.0),
        (Step(mul, (0, 1)), Step(mul, (1, 0)), Step(MAX, (3, 4)), Step(mul, (5, 2))),
    )
    ours, our_grads = run_ours(expr)
    theirs, their_grads = run_torch(expr)
    assert ours == theirs == -9.0
    assert our_grads == their_grads == [-6.0, 4.5, -3.0]


def test_relu_at_zero_gives_zero_like_torch() -> None:
    expr = Expression((0.0,), (Step(RELU, (0,)),))
    assert run_ours(expr) == run_torch(expr) == (0.0, [0.0])


def test_relu_at_negative_zero_gives_zero_like_torch() -> None:
    expr = Expression((-0.0,), (Step(RELU, (0,)),))
    ours, our_grads = run_ours(expr)
    theirs, their_grads = run_torch(expr)
    assert ours == theirs == 0.0
    assert our_grads == their_grads == [0.0]


def test_sigmoid_saturates_like_torch() -> None:
    """Far out, both engines' sigmoid is exactly 0 or 1 and its local derivative underflows."""
    for x in (-800.0, 800.0):
        expr = Expression((x,), (Step(OPS["sigmoid"], (0,)),))
        ours, our_grads = run_ours(expr)
        theirs, their_grads = run_torch(expr)
        assert ours == theirs
        assert math.isclose(our_grads[0], their_grads[0], abs_tol=1e-300)


@pytest.mark.parametrize("a", [2.0, -3.5, 0.0])
def test_min_tie_splits_the_gradient_like_torch(a: float) -> None:
    expr = Expression((a, a), (Step(MIN, (0, 1)),))
    assert run_ours(expr) == run_torch(expr) == (a, [0.5, 0.5])


@pytest.mark.parametrize("a", [0.0, -0.0])
def test_abs_at_zero_gives_zero_like_torch(a: float) -> None:
    expr = Expression((a,), (Step(ABS, (0,)),))
    assert run_ours(expr) == run_torch(expr) == (0.0, [0.0])


@pytest.mark.parametrize("x", [-800.0, -40.0, -1.5, 0.0, 3.0, 19.0, 40.0, 800.0])
def test_softplus_is_stable_far_out_like_torch(x: float) -> None:
    """softplus(x) = log(1 + e^x) for large |x|: no overflow at 800, the tiny e^x kept at -40;
    the same as F.softplus (with no threshold: its default returns x beyond 20)."""
    expr = Expression((x,), (Step(OPS["softplus"], (0,)),))
    ours, (our_grad,) = run_ours(expr)
    theirs, (their_grad,) = run_torch(expr)
    assert close(ours, theirs) and close(our_grad, their_grad)
    if abs(x) <= 40:
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out = torch.nn.functional.softplus(t, threshold=100.0)
        out.backward()
        assert close(ours, out.item()) and close(our_grad, t.grad.item())

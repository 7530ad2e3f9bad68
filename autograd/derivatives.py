"""Asking for derivatives without touching ``.grad``: :func:`grad`, :func:`jacobian`,
:func:`hessian`.

``backward()`` *accumulates* into every leaf's ``.grad``, as training wants. Sometimes you only
want to know a derivative: "what is d f / d x here?", "what does the Jacobian of this layer look
like?". These functions run the same backward walk and hand the answer back, leaving every
``.grad`` in the graph as it was.

The Jacobian of ``y = f(x)`` is built row by row: seeding the backward walk with the one-hot
array ``e_i`` (1 at output element ``i``, 0 elsewhere) gives ``e_iᵀ J``, the ``i``-th row.
That is exactly what reverse mode computes cheaply (one vector-Jacobian product per walk), and
why a full Jacobian costs one walk per output element.

**Gradients that are graphs.** With ``create_graph=True`` the walk is run with Values instead
of floats: every ``downstream = upstream × local`` is a gate, and each local derivative is made
by the op's own rule (:mod:`autograd.ops`) applied to the inputs *as Values*. The gradient is
then an ordinary node, which can be drawn (``viz.draw``), stepped through, or differentiated
again: d/dx of (d f/dx) is the second derivative, and :func:`hessian` collects them all. This is
what Newton's method needs, θ ← θ − J'(θ)/J''(θ).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from autograd.engine import Value, as_seed, topological_order
from autograd.tensor import Tensor, zero_grad_of

Node = Value | Tensor

#: A Jacobian with more entries than this is refused: one backward walk per output element,
#: and an array of outputs x inputs numbers.
MAX_JACOBIAN_ENTRIES = 10_000_000


@overload
def grad(
    output: Node, inputs: Node, grad_output: Any = None, create_graph: bool = False
) -> Any: ...


@overload
def grad(
    output: Node, inputs: Sequence[Node], grad_output: Any = None, create_graph: bool = False
) -> list[Any]: ...


def grad(
    output: Node,
    inputs: Node | Sequence[Node],
    grad_output: Any = None,
    create_graph: bool = False,
) -> Any:
    """d output / d input for each of ``inputs`` (floats for Values, arrays for Tensors).

    ``grad_output`` is the seed, as in ``backward(grad)``: 1 by default (``output`` must then
    be a number, or a one-element tensor). An input the output does not depend on gets 0. Every
    ``.grad`` in the graph is left as it was, also when the walk fails.

    With ``create_graph=True`` (Values only) each gradient is returned as a Value that is a
    node of a graph built from the inputs, so it can be differentiated again (see the module
    docstring). A gradient may be a node of the original graph (d(x y)/dx is ``y`` itself);
    a new one is named ``df/dx`` when both ends have names. Inside :func:`~autograd.no_grad`
    nothing is recorded, so it cannot be differentiated again.
    """
    single = isinstance(inputs, (Value, Tensor))
    wanted: list[Node] = [inputs] if isinstance(inputs, (Value, Tensor)) else list(inputs)
    if not isinstance(output, (Value, Tensor)):
        raise TypeError(f"grad() takes a Value or a Tensor output, got {type(output).__name__}")
    for node in wanted:
        if not isinstance(node, type(output)):
            raise TypeError(
                f"grad(): every input must be a {type(output).__name__} like the output, got "
                f"{type(node).__name__}"
            )
        if isinstance(node, Tensor) and not node.requires_grad:
            raise ValueError(
                "grad(): an input was made with requires_grad=False, so it has no gradient; "
                "make it with requires_grad=True"
            )
    if create_graph:
        if not isinstance(output, Value):
            raise TypeError(
                "grad(create_graph=True) differentiates Values (scalar graphs); a Tensor's "
                "gradient of a gradient is not built yet: use Values, or jacobian() for first "
                "derivatives of a Tensor function"
            )
        seed = 1.0 if grad_output is None else as_seed(grad_output)
        found = _gradient_graph(output, wanted, seed)  # type: ignore[arg-type]
        return found[0] if single else found
    order = topological_order(output)
    saved = [(node, node.grad) for node in order]
    in_graph = {id(node) for node in order}
    try:
        for node in order:  # a clean slate: leaves accumulate, and must start from zero
            if isinstance(node, Value):
                node.grad = 0.0
            elif node.requires_grad:  # (data keeps its "no gradient" marker)
                node.grad = zero_grad_of(node.data)
        output.backward(grad_output)
        found = [_copy(node.grad) if id(node) in in_graph else _zero(node) for node in wanted]
    finally:
        for node, old in saved:
            node.grad = old
    return found[0] if single else found


def jacobian(f: Callable[[Tensor], Tensor], x: Any) -> np.ndarray:
    """The full Jacobian of ``y = f(x)`` at ``x``: ``J[i..., j...] = d y[i...] / d x[j...]``,
    of shape ``y.shape + x.shape`` (for a vector to a vector, the usual m x n matrix).

    Built one row per output element by seeding backward with a one-hot array (see the module
    docstring). ``x`` is a Tensor or anything ``Tensor(x)`` accepts.
    """
    leaf = x if isinstance(x, Tensor) else Tensor(x, "x")
    y = f(leaf)
    if not isinstance(y, Tensor):
        raise TypeError(f"jacobian: f must return a Tensor built from x, got {type(y).__name__}")
    entries = y.size * leaf.size
    if entries > MAX_JACOBIAN_ENTRIES:
        raise ValueError(
            f"jacobian: {y.shape} outputs x {leaf.shape} inputs is {entries:,} entries, one "
            f"backward walk per output; over {MAX_JACOBIAN_ENTRIES:,} is refused. Ask for a "
            "vector-Jacobian product instead: grad(y, x, grad_output=v)"
        )
    rows = np.zeros((y.size, leaf.size), dtype=leaf.data.dtype)
    for i in range(y.size):
        seed = np.zeros(y.size, dtype=y.data.dtype)
        seed[i] = 1.0
        rows[i] = np.ravel(grad(y, leaf, seed.reshape(y.shape)))
    return rows.reshape(y.shape + leaf.shape)


def _gradient_graph(output: Value, wanted: list[Value], seed: float) -> list[Value]:
    """The backward walk with Values for gradients (``create_graph=True``).

    The same rule as :func:`autograd.graph.backprop`, downstream = upstream × local, summed
    over a value's uses; but upstream and local are Values, and each local derivative comes
    from the op's rule applied to the gate's inputs and output *as Values*
    (``gate.local(*parents, node)``), so the product is a gate of a new graph. Numbers stay
    numbers until they meet a Value (the seed, add's local 1, relu's 0 or 1), so
    ``upstream × 1`` adds no gate and ``upstream × 0`` no term.
    """
    grads: dict[int, Value | float] = {id(output): seed}
    for node in reversed(topological_order(output)):
        upstream = grads.get(id(node))
        if upstream is None or node.gate is None:
            continue
        for parent, local in zip(node.parents, node.gate.local(*node.parents, node), strict=True):
            down = _times(upstream, local)
            if down is None:
                continue
            previous = grads.get(id(parent))
            grads[id(parent)] = down if previous is None else previous + down
    found = []
    for x in wanted:
        g = grads.get(id(x), 0.0)
        if not isinstance(g, Value):  # a number: the derivative does not depend on anything
            g = Value(float(g), f"{float(g):g}")
        if not g.label and output.label and x.label:
            g.label = f"d{output.label}/d{x.label}"
        found.append(g)
    return found


def _times(upstream: Value | float, local: Any) -> Value | float | None:
    """upstream × local with as few gates as possible; ``None`` for a product that is 0."""
    if not isinstance(upstream, Value) and not isinstance(local, Value):
        return upstream * float(local) or None
    if not isinstance(local, Value):
        return None if local == 0.0 else upstream if local == 1.0 else upstream * float(local)
    if not isinstance(upstream, Value):
        return None if upstream == 0.0 else local if upstream == 1.0 else local * upstream
    return upstream * local


def hessian(f: Callable[..., Value], inputs: Sequence[Any]) -> np.ndarray:
    """The matrix of second derivatives H[i, j] = d² f / d x_i d x_j of a scalar function at
    ``inputs`` (numbers or Values): each gradient, built as a graph
    (``grad(..., create_graph=True)``), differentiated once more. For Newton's method,
    θ ← θ − H⁻¹ ∇f."""
    xs = [x if isinstance(x, Value) else Value(float(x), f"x{i}") for i, x in enumerate(inputs)]
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"hessian: f must return a Value built from its inputs, got {out!r}")
    first = grad(out, xs, create_graph=True)
    return np.array([grad(g, xs) for g in first], dtype=float)


def _copy(g: Any) -> Any:
    return np.array(g, copy=True) if isinstance(g, np.ndarray) else float(g)


def _zero(node: Node) -> Any:
    return np.zeros_like(node.data) if isinstance(node, Tensor) else 0.0

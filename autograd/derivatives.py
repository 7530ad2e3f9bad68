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

**Gradients that are graphs.** With ``create_graph=True`` the walk is run with nodes (Values,
Tensors) instead of numbers: every ``downstream = upstream × local`` is a gate, and each local
derivative is made by the op's own rule (:mod:`autograd.ops`; a Tensor op's vector-Jacobian
product) applied to the inputs *as nodes*. The gradient is
then an ordinary node, which can be drawn (``viz.draw``), stepped through, or differentiated
again: d/dx of (d f/dx) is the second derivative, and :func:`hessian` collects them all. This is
what Newton's method needs, θ ← θ − J'(θ)/J''(θ).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np

from autograd.engine import Value, as_seed, topological_order
from autograd.jacobians import LinearMap, sum_to
from autograd.tensor import Tensor, seed_of, zero_grad_of

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

    With ``create_graph=True`` each gradient is returned as a node (a Value, a Tensor) of a
    graph built from the inputs, so it can be differentiated again (see the module
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
        found = gradient_graph(output, wanted, _graph_seed(output, grad_output))
        return found[0] if single else found
    if isinstance(output, Tensor) and not output.requires_grad:
        seed_of(output, grad_output)  # still checked: the seed must fit the output
        found = [_zero(node) for node in wanted]  # a constant depends on nothing: gradient 0
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


def gradient_graph(output: Node, wanted: Sequence[Node], seed: Any) -> list[Any]:
    """The backward walk with nodes for gradients (``create_graph=True``): d output / d x for
    each ``x`` of ``wanted``, each a node of a new graph built from the inputs.

    The same rule as :func:`autograd.engine.backprop`, downstream = upstream × local, summed
    over a value's uses; but upstream and local are nodes, and each local derivative comes from
    the op's rule applied to the gate's inputs and output *as nodes* (``local(*parents,
    node)``), so the product is a gate of a new graph. For a Tensor a structured op's local is
    its vector-Jacobian product, whose rule applied to a Tensor upstream is made of gates too.
    Numbers stay numbers until they meet a node (the seed, add's local 1, relu's 0 or 1), so
    ``upstream × 1`` adds no gate and ``upstream × 0`` no term.
    """
    grads: dict[int, Any] = {id(output): seed}
    for node in reversed(topological_order(output)):
        upstream = grads.get(id(node))
        if upstream is None or node.gate is None:
            continue
        for parent, local in zip(node.parents, node.gate.local(*node.parents, node), strict=True):
            if isinstance(parent, Tensor) and not parent.requires_grad:
                continue  # data: nobody wants its gradient
            down = _times(upstream, local, parent)
            if down is None:
                continue
            previous = grads.get(id(parent))
            grads[id(parent)] = down if previous is None else previous + down
    return [_as_node(grads.get(id(x), 0.0), x, output) for x in wanted]


def backward_graph(root: Node, seed: Any) -> None:
    """``backward(create_graph=True)``: add to every leaf's ``.grad`` its gradient as a node
    (see :func:`gradient_graph`). Nothing is changed until every gradient is built."""
    leaves = [
        n
        for n in topological_order(root)
        if n.is_leaf and (isinstance(n, Value) or n.requires_grad)
    ]
    found = gradient_graph(root, leaves, _graph_seed(root, seed))
    for leaf, g in zip(leaves, found, strict=True):
        old = leaf.grad
        nothing_yet = (old.__class__ is float and old == 0.0) or (
            isinstance(old, np.ndarray) and not old.any()
        )
        leaf.grad = g if nothing_yet else g + old


def _graph_seed(output: Node, grad_output: Any) -> Any:
    """The seed of a gradient graph: a number for a Value, a constant Tensor for a Tensor."""
    if isinstance(output, Value):
        return 1.0 if grad_output is None else as_seed(grad_output)
    if isinstance(grad_output, Tensor):
        return grad_output
    return Tensor(seed_of(output, grad_output), requires_grad=False)


def _times(upstream: Any, local: Any, parent: Node) -> Any:
    """upstream × local with as few gates as possible (a number 1 multiplies nothing), summed
    back to the input's shape where broadcasting stretched it; ``None`` for a product of 0."""
    if isinstance(local, LinearMap):
        down = local.apply(upstream)
    elif isinstance(local, (int, float)) and isinstance(upstream, (int, float)):
        return upstream * local or None
    elif isinstance(local, (int, float)):
        down = None if local == 0 else upstream if local == 1 else upstream * local
    elif isinstance(upstream, (int, float)):
        down = None if upstream == 0 else local if upstream == 1 else local * upstream
    else:
        down = upstream * local
    if isinstance(parent, Tensor) and isinstance(down, Tensor) and down.shape != parent.shape:
        down = sum_to(down, parent.shape)  # broadcasting stretched the input: add the copies
    return down


def _as_node(g: Any, x: Node, output: Node) -> Any:
    """A gradient as a node: a number (a derivative that depends on nothing) becomes a leaf; a
    new node is named ``df/dx`` when both ends have names."""
    if isinstance(x, Tensor) and not isinstance(g, Tensor):
        g = Tensor(np.zeros_like(x.data) + g, requires_grad=False)
    elif isinstance(x, Value) and not isinstance(g, Value):
        g = Value(float(g), f"{float(g):g}")
    if not g.label and output.label and x.label:
        g.label = f"d{output.label}/d{x.label}"
    return g


def hessian(f: Callable[..., Any], inputs: Any) -> np.ndarray:
    """The matrix of second derivatives H[i, j] = d² f / d x_i d x_j of a scalar function, for
    Newton's method (θ ← θ − H⁻¹ ∇f): each gradient, built as a graph
    (``grad(..., create_graph=True)``), differentiated once more.

    ``inputs`` is a list (or 1-D array) of numbers or Values, and ``f`` takes one Value each
    and returns a Value; or ``inputs`` is one Tensor ``x``, and ``f`` takes a Tensor and returns
    a one-element Tensor (H then has shape ``x.shape + x.shape``).
    """
    if isinstance(inputs, Tensor):
        return jacobian(lambda t: grad(f(t), t, create_graph=True), inputs)
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

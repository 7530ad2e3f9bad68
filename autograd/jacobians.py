"""What a Tensor's local gradient is: the Jacobian in the form that is cheapest to multiply an
upstream gradient by.

For a scalar gate the local gradient is a number and backprop multiplies by it. For an op on
arrays the local gradient is a Jacobian matrix, usually far too large to build (the Jacobian
of ``W @ x`` for a 128 x 64 ``W`` has 128 x 8192 entries). What backprop needs is only the
product of the upstream gradient with it, the *vector-Jacobian product*, so that is what a
Tensor node keeps, in one of three forms. In every case ``downstream = upstream * local``:

* a Python number: the same for every element (``a - b``: -1 for ``b``);
* a numpy array, multiplied elementwise with numpy broadcasting. For an elementwise op it is
  the diagonal of the Jacobian (``exp``: e^x; ``relu``: 1 where x > 0); for an op with one
  output number it is the gradient itself (cross-entropy: (softmax - onehot) / N);
* a :class:`LinearMap`, when the Jacobian is structured: a matrix product ("upstream @ Wᵀ"), a
  broadcast back over summed axes, a reshape, a scatter into a slice. Each op writes its own as
  a :class:`VJP`, the rule next to the op (see :mod:`autograd.tensor`); this module has only
  the maps every op shares: "nothing to do" (:data:`IDENTITY`), "nobody wants this gradient"
  (:data:`NO_GRADIENT`) and "sum back over the axes broadcasting added" (:class:`SumTo`).

A ``LinearMap`` sets ``__array_ufunc__ = None``, so ``upstream_array * local`` makes numpy step
aside and Python calls ``local.__rmul__(upstream)``, which is :meth:`LinearMap.apply`. Each map
says in ``formula`` what it computes, which is what diagrams print on the edge.

The rules are written with operators and methods that numpy arrays and Tensors share (``@``,
``.T``, ``.sum(axis, keepdims=True)``, ``.reshape``), so the same rule applied to a Tensor
upstream builds the gradient as a graph: how ``autograd.grad(..., create_graph=True)``
differentiates a Tensor function twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


class LinearMap:
    """A vector-Jacobian product ``upstream -> downstream``, applied by ``upstream * self``."""

    __slots__ = ()
    __array_ufunc__ = None  # `ndarray * map` returns NotImplemented, so map.__rmul__ runs

    def apply(self, upstream: Any) -> Any:
        """The downstream gradient: ``upstream`` times this Jacobian, shaped like the input."""
        raise NotImplementedError

    def __rmul__(self, upstream: Any) -> Any:
        return self.apply(upstream)

    @property
    def formula(self) -> str:
        """What ``apply`` computes, as text for diagrams, in terms of ``upstream``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.formula})"


class VJP(LinearMap):
    """A linear map given by its rule: ``downstream = rule(upstream)``, with its formula as text.

    How a structured op states its local gradient, e.g. matmul's for ``a`` in ``a @ b``:
    ``VJP(lambda u: u @ b.T, "upstream @ bᵀ")``.
    """

    __slots__ = ("_formula", "rule")

    def __init__(self, rule: Callable[[Any], Any], formula: str) -> None:
        self.rule = rule
        self._formula = formula

    def apply(self, upstream: Any) -> Any:
        return self.rule(upstream)

    @property
    def formula(self) -> str:
        return self._formula


class Identity(LinearMap):
    """d out / d in = 1 elementwise and the shapes agree (the add gate): downstream = upstream.

    Returned as a view of the upstream array, not a copy: the engine never modifies a
    gradient array in place, and a leaf that receives a view copies it (see
    :class:`autograd.tensor.ZeroGrad`), so two leaves never share one gradient array.
    """

    __slots__ = ()

    def apply(self, upstream: Any) -> Any:
        return upstream.view() if isinstance(upstream, np.ndarray) else upstream

    @property
    def formula(self) -> str:
        return "upstream"


IDENTITY = Identity()


class _NotNeeded:
    """The gradient of a tensor made with ``requires_grad=False`` (a batch of data, a constant).

    Gradient flowing to such a tensor is never computed: its local gradient is
    :data:`NO_GRADIENT`, whose product with any upstream is this object,
    and adding it to this object gives this object. So the backward walk treats the tensor like
    any other input, at no cost.
    """

    __slots__ = ()
    __array_ufunc__ = None

    def __add__(self, other: Any) -> Any:
        return self

    __radd__ = __add__

    def __repr__(self) -> str:
        return "not needed (requires_grad=False)"


NOT_NEEDED = _NotNeeded()


class NoGradient(LinearMap):
    """The local gradient towards an input made with ``requires_grad=False``: nothing is
    computed, and the downstream is the marker :data:`NOT_NEEDED`."""

    __slots__ = ()

    def apply(self, upstream: Any) -> Any:
        return NOT_NEEDED

    @property
    def formula(self) -> str:
        return "not needed (requires_grad=False)"


NO_GRADIENT = NoGradient()


def sum_to(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``: undo numpy broadcasting of an input of that shape.

    Broadcasting copies an input along new leading axes and along axes of length 1; each copy
    is a use of the same number, and the gradients of all uses add (the copy gate). So sum over
    the leading axes that broadcasting added, then over the axes where the input had length 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        leading = tuple(range(extra))
        if isinstance(grad, np.ndarray):  # np.add.reduce: .sum() without numpy's wrapper
            grad = np.add.reduce(grad, axis=leading)
        else:
            grad = grad.sum(axis=leading)
    ones = tuple(axis for axis, n in enumerate(shape) if n == 1 and grad.shape[axis] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad


class SumTo(LinearMap):
    """An elementwise local derivative for an input that broadcasting stretched.

    ``downstream = sum_to(upstream * local, shape)``: the elementwise product as for any
    elementwise op, then summed over the broadcast axes (every copy of an input element adds
    its gradient).
    """

    __slots__ = ("dtype", "local", "shape")

    def __init__(
        self,
        shape: tuple[int, ...],
        local: Any = None,
        dtype: np.dtype[Any] | None = None,
    ) -> None:
        self.shape = shape
        self.local = local  # None means 1
        self.dtype = dtype  # set when the input's dtype differs from the output's

    def apply(self, upstream: Any) -> Any:
        grad = upstream if self.local is None else upstream * self.local
        grad = sum_to(grad, self.shape)
        return grad if self.dtype is None else grad.astype(self.dtype)

    @property
    def formula(self) -> str:
        product = "upstream" if self.local is None else "upstream * local"
        return f"sum of {product} over the broadcast axes, to shape {self.shape}"

"""Local gradients of Tensor ops, kept as data: the Jacobian in the form that is cheapest to
multiply an upstream gradient by.

For a scalar gate the local gradient is a number and backprop multiplies by it. For an op on
arrays the local gradient is a Jacobian matrix, usually far too large to build (the Jacobian
of ``W @ x`` for a 128 x 64 ``W`` has 128 x 8192 entries). What backprop needs is only the
product of the upstream gradient with it, the *vector-Jacobian product*, so that is what a
Tensor node keeps, in one of three forms. In every case ``downstream = upstream * local``:

* a Python number: the same for every element (``a - b``: -1 for ``b``);
* a numpy array, multiplied elementwise with numpy broadcasting. For an elementwise op it is
  the diagonal of the Jacobian (``exp``: e^x; ``relu``: 1 where x > 0); for an op with one
  output number it is the gradient itself (cross-entropy: (softmax - onehot) / N);
* a :class:`LinearMap` from this module, when the Jacobian is structured: a matrix product
  ("upstream @ Wᵀ"), a broadcast back over summed axes, a reshape, a scatter into a slice, or
  a sum back to an input's shape when numpy broadcasting made the output larger than the input.

A ``LinearMap`` sets ``__array_ufunc__ = None``, so ``upstream_array * local`` makes numpy step
aside and Python calls ``local.__rmul__(upstream)``, which is :meth:`LinearMap.apply`. Each map
says in ``formula`` what it computes, which is what diagrams print on the edge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]


class LinearMap:
    """A vector-Jacobian product ``upstream -> downstream``, applied by ``upstream * self``."""

    __slots__ = ()
    __array_ufunc__ = None  # `ndarray * map` returns NotImplemented, so map.__rmul__ runs

    def apply(self, upstream: Array) -> Array:
        """The downstream gradient: ``upstream`` times this Jacobian, shaped like the input."""
        raise NotImplementedError

    def __rmul__(self, upstream: Array) -> Array:
        return self.apply(upstream)

    @property
    def formula(self) -> str:
        """What ``apply`` computes, as text for diagrams, in terms of ``upstream``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.formula})"


class Identity(LinearMap):
    """d out / d in = 1 elementwise and the shapes agree (the add gate): downstream = upstream.

    Returned as a view of the upstream array, not a copy: the engine never modifies a
    gradient array in place, and a leaf that receives a view copies it (see
    :class:`autograd.tensor.ZeroGrad`), so two leaves never share one gradient array.
    """

    __slots__ = ()

    def apply(self, upstream: Array) -> Array:
        return upstream.view()

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

    def apply(self, upstream: Array) -> Any:
        return NOT_NEEDED

    @property
    def formula(self) -> str:
        return "not needed (requires_grad=False)"


NO_GRADIENT = NoGradient()


def sum_to(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``grad`` down to ``shape``: undo numpy broadcasting of an input of that shape.

    Broadcasting copies an input along new leading axes and along axes of length 1; each copy
    is a use of the same number, and the gradients of all uses add (the copy gate). So sum over
    the leading axes that broadcasting added, then over the axes where the input had length 1.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:  # (np.add.reduce: .sum() without numpy's Python-level wrapper)
        grad = np.add.reduce(grad, axis=0 if extra == 1 else tuple(range(extra)))
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
        local: float | Array | None = None,
        dtype: np.dtype[Any] | None = None,
    ) -> None:
        self.shape = shape
        self.local = local  # None means 1
        self.dtype = dtype  # set when the input's dtype differs from the output's

    def apply(self, upstream: Array) -> Array:
        grad = upstream if self.local is None else upstream * self.local
        grad = sum_to(grad, self.shape)
        return grad if self.dtype is None else grad.astype(self.dtype)

    @property
    def formula(self) -> str:
        product = "upstream" if self.local is None else "upstream * local"
        return f"sum of {product} over the broadcast axes, to shape {self.shape}"


class MatmulRight(LinearMap):
    """The first input ``a`` of ``a @ b``: ``downstream = upstream @ bᵀ``."""

    __slots__ = ("b",)

    def __init__(self, b: Array) -> None:
        self.b = b

    def apply(self, upstream: Array) -> Array:
        b = self.b
        if b.ndim == 1:  # a @ b is a matrix-vector (or dot) product: out[i] = a[i, :] . b
            return np.multiply.outer(upstream, b)
        return upstream @ b.T

    @property
    def formula(self) -> str:
        return "outer(upstream, b)" if self.b.ndim == 1 else "upstream @ bᵀ"


class MatmulLeft(LinearMap):
    """The second input ``b`` of ``a @ b``: ``downstream = aᵀ @ upstream``."""

    __slots__ = ("a",)

    def __init__(self, a: Array) -> None:
        self.a = a

    def apply(self, upstream: Array) -> Array:
        a = self.a
        if a.ndim == 1:  # out[j] = a . b[:, j]
            return np.multiply.outer(a, upstream)
        return a.T @ upstream

    @property
    def formula(self) -> str:
        return "outer(a, upstream)" if self.a.ndim == 1 else "aᵀ @ upstream"


class MatmulTRight(LinearMap):
    """The first input ``a`` of ``a @ bᵀ``: ``downstream = upstream @ b``."""

    __slots__ = ("b",)

    def __init__(self, b: Array) -> None:
        self.b = b

    def apply(self, upstream: Array) -> Array:
        return upstream @ self.b

    @property
    def formula(self) -> str:
        return "upstream @ b"


class MatmulTLeft(LinearMap):
    """The second input ``b`` of ``a @ bᵀ``: ``downstream = upstreamᵀ @ a``, b's own layout."""

    __slots__ = ("a",)

    def __init__(self, a: Array) -> None:
        self.a = a

    def apply(self, upstream: Array) -> Array:
        if self.a.ndim == 1:  # out[j] = a . b[j, :]
            return np.multiply.outer(upstream, self.a)
        return upstream.T @ self.a

    @property
    def formula(self) -> str:
        return "outer(a, upstream)" if self.a.ndim == 1 else "upstreamᵀ @ a"


class Transpose(LinearMap):
    """An axes permutation: downstream is upstream permuted back."""

    __slots__ = ("inverse",)

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))

    def apply(self, upstream: Array) -> Array:
        return upstream.transpose(self.inverse)

    @property
    def formula(self) -> str:
        return "upstream transposed back"


class Reshape(LinearMap):
    """A reshape moves no numbers: downstream is upstream reshaped to the input's shape."""

    __slots__ = ("shape",)

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def apply(self, upstream: Array) -> Array:
        return upstream.reshape(self.shape)

    @property
    def formula(self) -> str:
        return f"upstream reshaped to {self.shape}"


def _restore_axes(upstream: Array, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
    """Put back, as length-1 axes, the axes a reduction removed, so upstream broadcasts."""
    if keepdims or axis is None:  # kept, or a 0-d upstream: broadcasts as it is
        return upstream
    return np.expand_dims(upstream, axis)


class BroadcastBack(LinearMap):
    """The local gradient of ``sum`` (``scale = 1``) or ``mean`` (``scale = 1/n``) over axes.

    Every input element added into its output element with weight ``scale``, so it receives
    that output's upstream gradient times ``scale``: upstream broadcast back to the input shape.
    """

    __slots__ = ("axis", "keepdims", "scale", "shape")

    def __init__(
        self, shape: tuple[int, ...], axis: tuple[int, ...] | None, keepdims: bool, scale: float
    ) -> None:
        self.shape = shape
        self.axis = axis
        self.keepdims = keepdims
        self.scale = scale

    def apply(self, upstream: Array) -> Array:
        grad = _restore_axes(upstream, self.axis, self.keepdims)
        if self.scale != 1.0:
            grad = grad * self.scale
        return np.broadcast_to(grad, self.shape)

    @property
    def formula(self) -> str:
        scale = "" if self.scale == 1.0 else f" * {self.scale:.4g}"
        return f"upstream{scale} copied back to shape {self.shape}"


class RouteMax(LinearMap):
    """The local gradient of ``max`` over axes: the router gate, once per output element.

    ``weights`` is 1 where an input element is the maximum of its group and 0 elsewhere; a
    tie between k elements splits the gradient 1/k each, as the scalar max gate splits 1/2.
    """

    __slots__ = ("axis", "keepdims", "weights")

    def __init__(self, weights: Array, axis: tuple[int, ...] | None, keepdims: bool) -> None:
        self.weights = weights
        self.axis = axis
        self.keepdims = keepdims

    def apply(self, upstream: Array) -> Array:
        return _restore_axes(upstream, self.axis, self.keepdims) * self.weights

    @property
    def formula(self) -> str:
        return "upstream routed to the maximum (ties split it evenly)"


class Scatter(LinearMap):
    """The local gradient of indexing ``x[key]``: upstream goes back into the picked places.

    Zeros everywhere else; an element picked twice (``x[[0, 0]]``) adds both gradients.
    """

    __slots__ = ("dtype", "key", "shape")

    def __init__(self, shape: tuple[int, ...], key: Any, dtype: np.dtype[Any]) -> None:
        self.shape = shape
        self.key = key
        self.dtype = dtype

    def apply(self, upstream: Array) -> Array:
        grad = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(grad, self.key, upstream)  # unlike grad[key] += ..., adds repeated picks
        return grad

    @property
    def formula(self) -> str:
        return f"upstream put back into zeros of shape {self.shape}"


class Slice(LinearMap):
    """One input of a concatenation: its part of upstream, ``upstream[start:stop]`` on axis."""

    __slots__ = ("axis", "start", "stop")

    def __init__(self, axis: int, start: int, stop: int) -> None:
        self.axis = axis
        self.start = start
        self.stop = stop

    def apply(self, upstream: Array) -> Array:
        key = (slice(None),) * self.axis + (slice(self.start, self.stop),)
        return upstream[key]

    @property
    def formula(self) -> str:
        return f"upstream[{self.start}:{self.stop}] along axis {self.axis}"


class SoftmaxJacobian(LinearMap):
    """``s = softmax(x)`` along ``axis``: ``downstream = s * (upstream - sum(upstream * s))``.

    The Jacobian is ``diag(s) - s sᵀ`` for each row; multiplied by the upstream row it gives
    the formula, without ever building the C x C matrix.
    """

    __slots__ = ("axis", "s")

    def __init__(self, s: Array, axis: int) -> None:
        self.s = s
        self.axis = axis

    def apply(self, upstream: Array) -> Array:
        s = self.s
        return s * (upstream - (upstream * s).sum(axis=self.axis, keepdims=True))

    @property
    def formula(self) -> str:
        return "s * (upstream - Σ upstream * s), s = softmax(x)"


class LogSoftmaxJacobian(LinearMap):
    """``log_softmax(x)`` along ``axis``: ``downstream = upstream - s * sum(upstream)``.

    d log s_i / d x_j = [i = j] - s_j, so each input gets its own upstream minus s_j times the
    sum of the row's upstream gradients.
    """

    __slots__ = ("axis", "s")

    def __init__(self, s: Array, axis: int) -> None:
        self.s = s
        self.axis = axis

    def apply(self, upstream: Array) -> Array:
        return upstream - self.s * upstream.sum(axis=self.axis, keepdims=True)

    @property
    def formula(self) -> str:
        return "upstream - s * Σ upstream, s = softmax(x)"

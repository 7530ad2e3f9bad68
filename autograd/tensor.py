"""The array graph node :class:`Tensor`: the same graph core as :class:`~autograd.Value`,
with numpy arrays for values and gradients.

"It's all just matrix-vector multiplications": a Tensor op is an :class:`~autograd.ops.Op`,
the same record a scalar op is, with a numpy ``forward`` and a ``local`` rule that returns, per
input, the op's Jacobian in a form that an upstream gradient can be multiplied by (a number, an
array, or a :class:`~autograd.jacobians.LinearMap`; see :mod:`autograd.jacobians`). The node
stores those locals exactly as a ``Value`` stores its local derivatives, and ``backward()`` is
the same walk (:func:`autograd.engine.backprop`) with the same rule::

    p.grad = p.grad + node.grad * local        # downstream = upstream x local

so the lecture's gate patterns carry over unchanged: add distributes (local 1), mul swaps
(the local for ``a`` is ``b``), max routes, and a tensor used twice adds. "The gradient with
respect to a variable has the same shape as the variable": every local rule returns a
downstream gradient shaped like its input (summing over axes that numpy broadcasting added).

Like every gate in the lectures, each op has one or two inputs; :func:`concatenate` of n
tensors is a chain of n - 1 two-input gates.

Error policy, as for Values: no op produces inf or nan. Every op's output, and every local
array that could overflow, is checked (ops that cannot leave the finite numbers, such as relu,
reshape or a stable softmax, say so with ``Op.always_finite`` and skip the pass), and a
problem raises :class:`~autograd.NonFiniteError` naming the op, the shapes and the domain.
``backward`` checks every gradient a leaf receives, and says in which gate an inf or nan first
appeared. Data that needs no gradient (``requires_grad=False``, numpy operands) gets none
computed, and a leaf's gradient starts as a :class:`ZeroGrad` that costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from autograd import jacobians as J
from autograd import ops as _ops
from autograd.engine import (
    Node,
    NonFiniteError,
    OnStep,
    apply,
    backprop,
    fast_backprop,
    topological_order,
)
from autograd.jacobians import NOT_NEEDED, VJP
from autograd.ops import Op

Array = NDArray[Any]
TensorOperand = Union["Tensor", float, int, ArrayLike]

_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))
_reduce_add = np.add.reduce


def all_finite(a: Any) -> bool:
    """True when the array (or number) ``a`` holds no inf and no nan.

    A sum is finite only if every term is (inf or nan in any term makes it inf or nan), so one
    fast ``sum`` screens the array; only when the sum is not finite (which a sum of huge finite
    numbers can also be) is every element tested.
    """
    if isinstance(a, float):
        return math.isfinite(a)
    if a is NOT_NEEDED:
        return True
    if a.dtype.kind not in "fc":
        return True  # integers and booleans are always finite
    # np.add.reduce is a.sum() without numpy's Python-level wrapper: this runs on every op
    return math.isfinite(_reduce_add(a, axis=None)) or bool(np.isfinite(a).all())


class _Zero:
    """The gradient of an interior node before any of its uses has sent it one: ``0 + g = g``.

    ``backward`` starts interior nodes from this instead of an array of zeros, so the first
    use's downstream gradient becomes the node's gradient without an array being allocated and
    added. Every node ``backward`` reaches gets at least one gradient, so none is left holding
    this once the walk has finished.
    """

    __slots__ = ()
    __array_ufunc__ = None

    def __add__(self, other: Any) -> Any:
        return other

    __radd__ = __add__

    def __repr__(self) -> str:
        return "0 (no gradient yet)"


_ZERO = _Zero()


class ZeroGrad(np.ndarray):
    """A leaf's gradient before any backward pass has reached it: zeros of the leaf's shape
    that cost nothing to make.

    It is a read-only numpy array whose every element is one shared 0 (all strides 0), so it
    reads, prints and computes as ``np.zeros(shape)``. One thing is different: ``zeros + g``
    returns ``g`` itself when ``g`` is a fresh array that nothing else holds (the product a
    gate just computed), instead of adding zeros to it. So after ``zero_grad()``, a backward
    pass hands each parameter its gradient without allocating or adding a second array of
    its size (for a 512 x 512 weight matrix, 2 MB that are neither zeroed nor copied).
    Anything else (a view, another array's slice) is copied: a leaf never shares its
    gradient array with anything.
    """

    def __add__(self, other: Any) -> Any:
        if (
            type(other) is np.ndarray
            and other.shape == self.shape
            and other.dtype == self.dtype
            and self._is_zero()
        ):
            fresh = other.base is None and other.flags.writeable and other.flags.c_contiguous
            return other if fresh else other.copy()
        return np.add(np.asarray(self), other)

    __radd__ = __add__

    def _is_zero(self) -> bool:
        """True for an array :func:`zero_grad_of` made: read-only with every stride 0 (one
        shared 0). A copy of it, or an array made like it (``np.zeros_like``), has strides."""
        return not self.flags.writeable and not any(self.strides)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # every other computation sees a plain array and gives plain arrays
        inputs = tuple(np.asarray(x) if isinstance(x, ZeroGrad) else x for x in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(x) if isinstance(x, ZeroGrad) else x for x in kwargs["out"]
            )
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __repr__(self) -> str:
        return repr(np.asarray(self))


_SHARED_ZEROS: dict[np.dtype[Any], Array] = {
    np.dtype(np.float64): np.zeros(1),
    np.dtype(np.float32): np.zeros(1, np.float32),
}


def zero_grad_of(data: Any) -> Any:
    """The gradient a leaf holding ``data`` starts from: a :class:`ZeroGrad` of its shape
    (0.0 for a number, the data of a Value).

    Read-only and never changed, so one per shape and dtype serves every leaf.
    """
    if not isinstance(data, np.ndarray):
        return 0.0
    key = (data.shape, data.dtype)
    zeros = _ZERO_GRADS.get(key)
    if zeros is None:
        zero = _SHARED_ZEROS.get(data.dtype)
        if zero is None:  # not a float dtype: an ordinary array
            return np.zeros_like(data)
        zeros = np.broadcast_to(zero.reshape(()), data.shape).view(ZeroGrad)
        if len(_ZERO_GRADS) < 1024:
            _ZERO_GRADS[key] = zeros
    return zeros


_ZERO_GRADS: dict[tuple[tuple[int, ...], np.dtype[Any]], Array] = {}


class Tensor(Node):
    """An array node of the computational graph.

    Attributes:
        data: the forward value, a numpy array (float64, or float32 if made so).
        grad: d root / d self after ``root.backward()``, an array of ``data``'s shape. Leaves
            (tensors you make) start from zeros; a tensor an op made holds ``None`` until a
            backward pass reaches it.
        label: a name for diagrams (``"W1"``); optional.
        gate: the :class:`~autograd.ops.Op` that produced this tensor, ``None`` for a leaf.
    """

    __slots__ = ("requires_grad",)
    __array_ufunc__ = None  # `ndarray + tensor` makes numpy step aside: Tensor.__radd__ runs

    data: Array
    grad: Any  # an array of data's shape; None on an op's output no backward has reached
    label: str
    gate: Op | None
    requires_grad: bool

    def __init__(
        self,
        data: ArrayLike,
        label: str = "",
        dtype: type | np.dtype[Any] | str | None = None,
        requires_grad: bool = True,
    ) -> None:
        """A leaf tensor holding a copy of ``data`` (a number, nested list or array).

        ``dtype`` is float64 by default (float32 arrays stay float32); float32 may be asked
        for. Integers and booleans are converted to floats: gradients are real numbers.
        ``requires_grad=False`` marks data whose gradient nobody wants (a batch of inputs):
        ``backward`` then skips computing it, and ``grad`` stays :data:`NOT_NEEDED`.
        """
        if isinstance(data, Tensor):
            raise TypeError("Tensor() got a Tensor; use t.data to copy its values")
        if label.__class__ is not str:
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.data = _float_array(data, dtype, "Tensor()")
        if not all_finite(self.data):
            raise NonFiniteError(
                f"Tensor() needs finite numbers, got {_describe_bad(self.data)}: inf and nan "
                "have no useful gradient; check the computation that produced them"
            )
        self.requires_grad = bool(requires_grad)
        self.grad = zero_grad_of(self.data) if requires_grad else NOT_NEEDED
        self.label = label
        self._clear()

    # -- introspection ------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, this one has shape {self.shape}")
        return float(self.data.reshape(()))

    def __float__(self) -> float:
        return self.item()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}"]
        if self.dtype != np.float64:
            parts.append(f"dtype={self.dtype}")
        if self.gate is not None:
            parts.append(f"op={self.op!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        if self.data.size <= 6:
            parts.insert(0, np.array2string(self.data, precision=4, separator=", "))
        return f"Tensor({', '.join(parts)})"

    # -- elementwise arithmetic, with numpy broadcasting --------------------------------------

    def __add__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.ADD, self, other)

    def __radd__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.ADD, other, self)

    def __sub__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.SUB, self, other)

    def __rsub__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.SUB, other, self)

    def __mul__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.MUL, self, other)

    def __rmul__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.MUL, other, self)

    def __truediv__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.TRUEDIV, self, other)

    def __rtruediv__(self, other: TensorOperand) -> Tensor:
        return apply(_ops.TRUEDIV, other, self)

    def __neg__(self) -> Tensor:
        return apply(_ops.NEG, self)

    def __pow__(self, exponent: Tensor | float) -> Tensor:
        """``x ** n`` for a number ``n``, elementwise; d/dx = n x^(n-1). With a Tensor
        exponent ``a ** b`` is the two-input gate (as for Values), which needs ``a > 0``."""
        if isinstance(exponent, Tensor):
            return apply(_ops.POW_VALUE, self, exponent)
        if not isinstance(exponent, (int, float, np.number)) or isinstance(exponent, bool):
            raise TypeError(
                f"a Tensor's exponent must be a number or a Tensor, got {type(exponent).__name__}"
            )
        return apply(_ops.power(float(exponent)), self)

    def maximum(self, other: TensorOperand) -> Tensor:
        """Elementwise max(self, other), the router gate; a tie splits the gradient 1/2, 1/2."""
        return apply(_ops.MAX, self, other)

    def exp(self) -> Tensor:
        """e^x elementwise; local e^x."""
        return apply(_ops.EXP, self)

    def log(self) -> Tensor:
        """Natural logarithm elementwise, for x > 0; local 1/x."""
        return apply(_ops.LOG, self)

    def reciprocal(self) -> Tensor:
        """1/x elementwise, for x != 0; local -1/x^2."""
        return apply(_ops.RECIPROCAL, self)

    def __rpow__(self, base: TensorOperand) -> Tensor:
        """``base ** t`` (``2 ** t``) for a positive base; local for t is base^t ln base."""
        return apply(_ops.POW_VALUE, base, self)

    def sigmoid(self) -> Tensor:
        """σ(x) elementwise, stable for any x; local (1 - σ) σ."""
        return apply(_ops.SIGMOID, self)

    def tanh(self) -> Tensor:
        """tanh(x) elementwise; local 1 - tanh^2."""
        return apply(_ops.TANH, self)

    def relu(self) -> Tensor:
        """max(0, x) elementwise; local 1 where x > 0, else 0 (0 at x = 0, as in PyTorch)."""
        return apply(_ops.RELU, self)

    # -- the rest of the API a PyTorch user reaches for -----------------------------------------
    # Elementwise ops of the table, a min reduction mirroring max, clip, the spread of the data
    # (var, std), shapes made by reshape (flatten, squeeze, unsqueeze) and the ways out of the
    # graph (numpy, detach). The Tensor-only ops they use are defined before MATMUL is
    # registered, below.

    def abs(self) -> Tensor:
        """|x| elementwise; local sign(x) (0 at x = 0, as in PyTorch)."""
        return apply(_ops.ABS, self)

    def __abs__(self) -> Tensor:
        """``abs(t)``: the same gate as :meth:`abs`."""
        return apply(_ops.ABS, self)

    def sqrt(self) -> Tensor:
        """√x elementwise, for x > 0 (at 0 the slope is infinite); local 1/(2√x)."""
        return apply(_ops.SQRT, self)

    def sin(self) -> Tensor:
        """sin x elementwise; local cos x."""
        return apply(_ops.SIN, self)

    def cos(self) -> Tensor:
        """cos x elementwise; local -sin x."""
        return apply(_ops.COS, self)

    def softplus(self) -> Tensor:
        """softplus(x) = log(1 + e^x) elementwise, stable for any x; local σ(x).

        (PyTorch's ``F.softplus`` returns x itself beyond ``threshold=20``; this one computes
        max(x, 0) + log(1 + e^-|x|) everywhere, which differs from it by at most 2e-9.)
        """
        return apply(_ops.SOFTPLUS, self)

    def minimum(self, other: TensorOperand) -> Tensor:
        """Elementwise min(self, other), the router gate; a tie splits the gradient 1/2, 1/2."""
        return apply(_ops.MIN, self, other)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Min over ``axis`` (all axes by default): the router gate per group, as :meth:`max`;
        ties split evenly (as ``torch.amin``)."""
        if self.data.size == 0:
            raise ValueError("min() of an empty tensor has no value")
        return apply(_min_reduction(_axes(axis, self.ndim), keepdims), self)

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Each element clipped into ``[low, high]`` (either bound may be ``None``: no bound).

        Local 1 where ``low <= x <= high`` (the bounds included) and 0 outside, as
        ``torch.clamp``: a clipped element does not move when x does.

        Raises:
            TypeError: a bound is not a number, or neither is given.
            ValueError: ``low > high`` (PyTorch and numpy would return ``high`` everywhere).
        """
        return apply(_clip(*_clip_bounds(low, high)), self)

    def dot(self, other: TensorOperand) -> Tensor:
        """The inner product Σ_i a_i b_i of two 1-D tensors of one length, as a 0-d tensor:
        ``a @ b``, one matmul gate (d/da = b, d/db = a)."""
        b = _as_tensor(other, self)
        if self.ndim != 1 or b.ndim != 1:
            raise ValueError(
                f"dot takes two 1-D tensors, got shapes {self.shape} and {b.shape}; for "
                "matrices use a @ b"
            )
        if self.shape != b.shape:
            raise ValueError(
                f"dot needs two vectors of one length, got lengths {len(self)} and {len(b)}"
            )
        return self @ b

    def flatten(self) -> Tensor:
        """The numbers as one axis, in order (a 0-d tensor gives shape (1,)): ``reshape(-1)``."""
        return self.reshape(-1)

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        """The axes of length 1 removed (all of them, or those in ``axis``): a reshape.

        Raises:
            ValueError: an axis is out of range, or its length is not 1 (PyTorch would leave
                it silently; removing it is impossible, so it is refused).
        """
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = _axes(axis, self.ndim)
        assert axes is not None
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(
                    f"squeeze: axis {a} of shape {self.shape} has length {self.shape[a]}, not 1; "
                    "only axes of length 1 can be removed"
                )
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis: int) -> Tensor:
        """A new axis of length 1 at position ``axis`` (-1: last), as ``torch.unsqueeze``: a
        reshape. ``axis`` runs from ``-(ndim + 1)`` to ``ndim``."""
        shape = list(self.shape)
        shape.insert(_new_axis(axis, self.ndim, "unsqueeze"), 1)
        return self.reshape(tuple(shape))

    def var(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0
    ) -> Tensor:
        """The variance over ``axis`` (all axes by default): Σ (x_i - mean)² / (n - ddof).

        ``ddof=0`` (numpy's default) divides by n; ``ddof=1`` by n - 1, the unbiased estimate,
        which is what PyTorch's ``var`` does by default (``unbiased=True``, ``correction=1``).
        One gate; local d var/d x_i = 2 (x_i - mean) / (n - ddof).

        Raises:
            ValueError: n - ddof <= 0 (an empty tensor, or ddof=1 with one element per group).
        """
        return apply(_spread(self, "var", axis, keepdims, ddof), self)

    def std(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0
    ) -> Tensor:
        """The standard deviation √var over ``axis``; ``ddof`` as for :meth:`var` (PyTorch's
        default is ``ddof=1``). One gate; local d std/d x_i = (x_i - mean) / ((n - ddof) std).

        Where a group has zero variance (all its elements equal) that slope is 0/0: std is not
        differentiable there, since std(c + t v) = |t| std(v) has a kink at t = 0 like |t|.
        As ``abs`` at 0 (and as PyTorch's std), the gradient there is 0. (``var(...).sqrt()``
        instead refuses zero variance: sqrt's slope at 0 is infinite.)
        """
        return apply(_spread(self, "std", axis, keepdims, ddof), self)

    def numpy(self) -> Array:
        """The data as a numpy array: a view sharing the tensor's memory, as PyTorch's
        ``numpy()`` is, but read-only.

        Writing into it would change numbers the graph has already used (a recorded local
        gradient may be this very array, as ``b`` is for ``a * b``), so gradients would be
        silently wrong. ``t.numpy().copy()`` is an array of your own. Unlike PyTorch a tensor
        that requires a gradient is not refused (there is no need for ``detach()`` first):
        the view cannot change it.
        """
        view = self.data.view()
        view.flags.writeable = False
        return view

    def detach(self) -> Tensor:
        """A new leaf holding the same numbers, cut off from the graph, as PyTorch's: no gate,
        no inputs, ``requires_grad=False``, so no gradient flows back through it (a target,
        a value to log, a running average).

        As in PyTorch it shares the data array with this tensor rather than copying it, so a
        later in-place change (an optimiser's ``p.data -= lr * p.grad``) shows in both. Use
        ``Tensor(t.data)`` for an independent copy that requires a gradient.
        """
        node = object.__new__(Tensor)
        node.data, node.label = self.data, self.label
        node._clear()
        node.requires_grad = False
        node.grad = NOT_NEEDED
        return node

    # -- linear algebra and shapes ------------------------------------------------------------

    def __matmul__(self, other: TensorOperand) -> Tensor:
        """The matrix product; each side 1-D (a vector) or 2-D (a matrix)."""
        return apply(MATMUL, self, _matmul_operand(other, self))

    def __rmatmul__(self, other: TensorOperand) -> Tensor:
        return apply(MATMUL, _matmul_operand(other, self), self)

    def matmul_t(self, other: TensorOperand) -> Tensor:
        """``self @ other.T`` as one gate (what a layer computes with ``W`` of shape
        (out, in)): the same numbers as the two gates, with ``other``'s gradient made in
        ``other``'s layout, ``upstreamᵀ @ self``. ``other`` must be 2-D."""
        b = _matmul_operand(other, self)
        if b.ndim != 2:
            raise ValueError(f"matmul_t needs a 2-D right operand, got shape {b.shape}")
        return apply(MATMUL_T, self, b)

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default); each input gets the upstream of its sum."""
        return apply(_reduction("sum", _axes(axis, self.ndim), keepdims), self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all by default); each input gets upstream / (elements averaged)."""
        return apply(_reduction("mean", _axes(axis, self.ndim), keepdims), self)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Max over ``axis`` (all by default): the router gate per group; ties split evenly."""
        if self.data.size == 0:
            raise ValueError("max() of an empty tensor has no value")
        return apply(_reduction("max", _axes(axis, self.ndim), keepdims), self)

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same numbers in a new shape (one axis may be -1); the gradient is reshaped back."""
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        try:
            np.empty(self.shape).reshape(target)  # validate with numpy's own rules and message
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot reshape shape {self.shape} to {target}: {error}") from None
        return apply(_reshape(tuple(int(n) for n in target)), self)  # type: ignore[arg-type]

    def transpose(self, *axes: int) -> Tensor:
        """Axes permuted (reversed by default); the gradient is permuted back."""
        return apply(_transpose(_permutation(axes, self.ndim)), self)

    @property
    def T(self) -> Tensor:
        """The transpose (axes reversed)."""
        return self.transpose()

    def __getitem__(self, key: Any) -> Tensor:
        """Indexing and slicing as numpy does it; the gradient is scattered back (and picks of
        the same element add)."""
        if isinstance(key, Tensor) or (
            isinstance(key, tuple) and any(isinstance(k, Tensor) for k in key)
        ):
            raise TypeError("index a Tensor with ints, slices or integer arrays, not a Tensor")
        try:
            self.data[key]
        except (IndexError, TypeError, ValueError) as error:
            raise IndexError(f"bad index {key!r} for shape {self.shape}: {error}") from None
        return apply(_index(key), self)

    def argmax(self, axis: int | None = None) -> Array:
        """Index of the largest element (along ``axis``) as a numpy array: a prediction, not
        part of the graph (it has no gradient)."""
        return np.asarray(self.data.argmax(axis=axis))

    # -- softmax and the loss -----------------------------------------------------------------

    def softmax(self, axis: int = -1) -> Tensor:
        """softmax along ``axis``: e^x_i / Σ_j e^x_j, computed from x - max(x) so that no
        exponent is positive (stable for any finite x)."""
        return apply(_softmax(_axis(axis, self.ndim, "softmax", _ALL_AT_ONCE)), self)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """log softmax along ``axis``: x_i - log Σ_j e^x_j, by the same shift (stable)."""
        axis_ = _axis(axis, self.ndim, "log_softmax", _ALL_AT_ONCE)
        return apply(_log_softmax(axis_), self)

    def cross_entropy(self, targets: ArrayLike) -> Tensor:
        """Softmax cross-entropy of these logits against integer class labels, averaged.

        For logits of shape (N, C) and ``targets`` N integers in [0, C):
        ``L = -1/N Σ_n log softmax(x_n)[t_n]``, and dL/dx_n = (softmax(x_n) - onehot(t_n)) / N.
        One-dimensional logits (C,) take one integer target.
        """
        return apply(_cross_entropy_op(self, targets), self)

    # -- backprop -----------------------------------------------------------------------------

    def backward(
        self,
        grad: ArrayLike | None = None,
        on_step: OnStep | None = None,
        create_graph: bool = False,
    ) -> None:
        """Fill ``.grad`` of every tensor this one depends on: d (grad · self) / d tensor.

        With no ``grad``, ``self`` must hold one number (a loss) and the seed is 1. Otherwise
        ``grad`` is the upstream gradient for ``self``, with exactly ``self``'s shape. Leaves
        add to their ``.grad`` (clear them with ``zero_grad``); see
        :func:`autograd.engine.backprop`, the walk shared with ``Value``. With
        ``create_graph=True`` each leaf's gradient is a Tensor that is a node of a graph, so
        it can be differentiated again (see :func:`autograd.grad`).

        Raises:
            ValueError: no ``grad`` for a tensor of more than one element, or a ``grad`` of the
                wrong shape.
            NonFiniteError: the seed or a gradient is not finite.
        """
        seed = seed_of(self, grad)
        if not self.requires_grad:
            raise ValueError(
                "backward() on a tensor that does not require a gradient (made with "
                "requires_grad=False, or only from such tensors): nothing to differentiate"
            )
        if create_graph:
            if on_step is not None:
                raise TypeError("backward(): on_step shows a walk of numbers, not create_graph")
            from autograd.derivatives import backward_graph  # (derivatives imports this module)

            backward_graph(self, seed)
            return
        with np.errstate(all="ignore"):  # an overflow is reported once, by the leaf check
            if on_step is None:
                fast_backprop(self, seed)
            else:
                backprop(self, seed, on_step)

    def zero_grad(self) -> None:
        """Set ``.grad`` to zeros on this tensor and every tensor it depends on."""
        for node in topological_order(self):
            if node.requires_grad:
                node.grad = zero_grad_of(node.data)

    # -- the hooks of `apply` for arrays (see autograd.engine.apply) ---------------------------
    # Operands become constant Tensors; the forward rule is the op's array rule, with numpy's
    # shape errors and the domain checked; each local gradient is made ready for
    # `upstream * local` (summed back over axes that broadcasting added).

    no_gradient_yet = _ZERO

    @staticmethod
    def is_finite(grad: Any) -> bool:
        return all_finite(grad)

    @classmethod
    def lift(cls, x: Any, like: Any) -> Tensor:
        if x.__class__ is Tensor:
            return x
        return _as_tensor(x, next(t for t in like if isinstance(t, Tensor)))

    @classmethod
    def evaluate(cls, op: Op, xs: list[Any]) -> Array:
        forward = op.on_arrays
        if op.inside is not None:
            inside = np.asarray(op.inside(*xs))
            if not inside.all():
                outside = int(inside.size - np.count_nonzero(inside))
                raise _non_finite(op, xs, None, f"{outside} element(s) are outside its domain")
        try:
            if op.inside is None:  # (np.errstate costs more than a small op: only where needed)
                out: Array = np.asarray(forward(*xs))
            else:  # near a domain's edge numpy may warn: the check below says it instead
                with np.errstate(all="ignore"):
                    out = np.asarray(forward(*xs))
        except ValueError as error:  # numpy's shape errors: say which op and which shapes
            shapes = " and ".join(str(x.shape) for x in xs)
            raise ValueError(f"{op.name} of shapes {shapes}: {error}") from None
        if not op.always_finite and not all_finite(out):
            raise _non_finite(op, xs, out, "the result")
        return out

    @classmethod
    def locals_of(
        cls, op: Op, xs: list[Any], out: Any, parents: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        if op.inside is None:
            locals_ = op.local(*xs, out)
        else:  # (1/b for a tiny b: _fit_local reports the overflow, numpy need not warn)
            with np.errstate(all="ignore"):
                locals_ = op.local(*xs, out)
        fitted = [
            _fit_local(d, x, out, op, xs) if p.requires_grad else NO_GRAD
            for d, x, p in zip(locals_, xs, parents, strict=True)
        ]
        return tuple(fitted)

    @classmethod
    def result(cls, out: Any, recorded: bool) -> Tensor:
        node = object.__new__(Tensor)  # `out` is a checked array: skip __init__'s copy, checks
        node.data, node.label = out, ""
        node._clear()
        node.requires_grad = recorded
        node.grad = None if recorded else NOT_NEEDED
        return node

    @classmethod
    def records(cls, parents: tuple[Any, ...]) -> bool:
        return parents[0].requires_grad or (len(parents) == 2 and parents[1].requires_grad)


# -- the Tensor-only ops --------------------------------------------------------------------------
#
# The elementwise ops are the op table's own entries (autograd.ops): their array rules serve
# Tensors, and they keep the same name, symbol and formula, so a diagram of a tensor graph reads
# like the scalar one. What follows are the ops that exist for arrays only: matrix products,
# reductions, shapes, softmax and the loss.

# The structured ops state their local gradients as vector-Jacobian products (VJP), each next
# to its op. The rules use only what numpy arrays and Tensors share, plus the helpers below and
# those of autograd.ops (values_of, exp), which do the same to either, so one rule also builds
# a gradient as a graph (create_graph).


def _outer(u: Any, v: Any) -> Any:
    """The outer product u vᵀ of two vectors (a 0-d one scales the other)."""
    if u.ndim == 0 or v.ndim == 0:
        return u * v
    return u.reshape(-1, 1) * v.reshape(1, -1)


def _restored(u: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """``u`` with the axes a reduction removed put back with length 1, so it broadcasts
    against the reduction's input."""
    if keepdims or axis is None:  # kept, or a 0-d upstream: broadcasts as it is
        return u
    shape = list(u.shape)
    for a in axis:  # sorted, so each insert lands where the axis was
        shape.insert(a, 1)
    return u.reshape(tuple(shape))


def _broadcast(u: Any, shape: tuple[int, ...]) -> Any:
    """``u`` copied out to ``shape``: a free view of an array; for a Tensor, ``u`` times ones
    (a gate, whose own gradient sums back)."""
    if isinstance(u, np.ndarray):
        return np.broadcast_to(u, shape)
    return u * np.ones(shape, dtype=u.dtype)


def _copy_back(shape: tuple[int, ...], axis: Any, keepdims: bool, scale: float) -> VJP:
    """The local gradient of ``sum`` (scale 1) or ``mean`` (scale 1/n) over ``axis``: each input
    element added into its output with weight ``scale``, so it gets that upstream x scale."""
    text = f"upstream{'' if scale == 1 else f' * {scale:.4g}'} copied back to shape {shape}"
    if scale == 1:
        return VJP(lambda u: _broadcast(_restored(u, axis, keepdims), shape), text)
    return VJP(lambda u: _broadcast(_restored(u, axis, keepdims) * scale, shape), text)


def _route_max(weights: Array, axis: Any, keepdims: bool) -> VJP:
    """The router once per group: upstream to the maximum (a tie of k splits it 1/k each)."""
    return VJP(
        lambda u: _restored(u, axis, keepdims) * weights,
        "upstream routed to the maximum (ties split it evenly)",
    )


def _scatter(u: Any, shape: tuple[int, ...], key: Any) -> Any:
    """``u`` put back into zeros of ``shape`` at ``key``; an element picked twice adds both."""
    if isinstance(u, Tensor):
        return apply(_scatter_op(shape, key), u)
    grad = np.zeros(shape, dtype=u.dtype)
    np.add.at(grad, key, u)  # unlike grad[key] += u, adds repeated picks
    return grad


def _scatter_op(shape: tuple[int, ...], key: Any) -> Op:
    """Indexing's gradient as a gate of its own, for gradients that are graphs: its local
    gradient is indexing again."""
    return Op(
        "scatter",
        "scatter",
        1,
        forward=None,
        array_forward=lambda u: _scatter(u, shape, key),
        local=lambda u, out: (VJP(lambda v: v[key], "upstream at the picked places"),),
        formula="upstream put back into zeros, at the picked places",
        always_finite=True,
    )


def _log_softmax_vjp(s: Any, axis: int) -> VJP:
    """d log s_i / d x_j = [i = j] - s_j: each input gets its upstream minus s_j times the sum
    of its row's upstream."""
    return VJP(
        lambda u: u - s * u.sum(axis=axis, keepdims=True),
        "upstream - s * Σ upstream, s = softmax(x)",
    )


def _matmul_vjp_a(b: Any) -> VJP:
    """The first input ``a`` of ``a @ b``: downstream = upstream @ bᵀ (for a vector ``b``,
    out[i] = a[i, :] · b, so downstream = outer(upstream, b))."""
    if b.ndim == 1:
        return VJP(lambda u: _outer(u, b), "outer(upstream, b)")
    return VJP(lambda u: u @ b.T, "upstream @ bᵀ")


def _matmul_vjp_b(a: Any) -> VJP:
    """The second input ``b`` of ``a @ b``: downstream = aᵀ @ upstream (outer(a, upstream) for
    a vector ``a``)."""
    if a.ndim == 1:
        return VJP(lambda u: _outer(a, u), "outer(a, upstream)")
    return VJP(lambda u: a.T @ u, "aᵀ @ upstream")


MATMUL = Op(
    "matmul",
    "@",
    2,
    forward=None,
    array_forward=np.matmul,
    written="{0} @ {1}",
    local=lambda a, b, out: (_matmul_vjp_a(b), _matmul_vjp_b(a)),
    formula="d(a@b): downstream_a = upstream @ bᵀ, downstream_b = aᵀ @ upstream",
    # values: any real numbers; shapes: 1-D or 2-D with agreeing inner dimensions (checked)
)
# `x @ W.T` as one gate: a layer's product with its weights stored one row per neuron. Its
# gradient for W comes out in W's own layout (upstreamᵀ @ x), where `x @ W.T` as two gates
# (transpose, then @) would produce it transposed and copy it back element by element.
MATMUL_T = Op(
    "matmul_t",
    "@ᵀ",
    2,
    forward=None,
    array_forward=lambda a, b: a @ b.T,
    written="{0} @ {1}ᵀ",
    local=lambda a, b, out: (
        VJP(lambda u: u @ b, "upstream @ b"),
        VJP(lambda u: _outer(u, a), "outer(upstream, a)")
        if a.ndim == 1
        else VJP(lambda u: u.T @ a, "upstreamᵀ @ a"),
    ),
    formula="d(a@bᵀ): downstream_a = upstream @ b, downstream_b = upstreamᵀ @ a",
)


def _matmul_operand(other: TensorOperand, this: Tensor) -> Tensor:
    """``other`` as a Tensor, with both sides of ``@`` checked to be 1-D or 2-D."""
    t = _as_tensor(other, this)
    for side in (this, t):
        if side.ndim not in (1, 2):
            raise ValueError(
                f"matmul takes 1-D or 2-D tensors, got shape {side.shape}; for a batch of "
                "matrices, loop over it or reshape to 2-D"
            )
    return t


def _axes(axis: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    """``axis`` as a sorted tuple of non-negative axes (``None``: all), checked."""
    if axis is None:
        return None
    given = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in given:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(f"axis {a!r} is out of range for a tensor with {ndim} axes")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"axis {axis!r} repeats an axis")
    return tuple(sorted(out))


_ALL_AT_ONCE = ". For all elements at once, reshape to 1-D first: t.reshape(-1).softmax()"


def _axis(axis: object, ndim: int, who: str, hint: str = "") -> int:
    """One axis, checked: ``who`` (softmax, concatenate) works along exactly one."""
    if axis is None or not isinstance(axis, (int, np.integer)):
        raise ValueError(
            f"{who} works along one axis, an int from {-ndim} to {ndim - 1}; got "
            f"axis={axis!r}{hint}"
        )
    axes = _axes(int(axis), ndim)
    assert axes is not None
    return axes[0]


def _max_weights(a: Any, out: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Array:
    """1/k for each of the k maxima of a group, 0 elsewhere: a constant (of the values)."""
    a, out = _ops.values_of(a), _ops.values_of(out)
    is_max = a == _restored(out, axis, keepdims)
    return (is_max / is_max.sum(axis=axis, keepdims=True)).astype(a.dtype, copy=False)


@lru_cache(maxsize=256)
def _reduction(kind: str, axis: tuple[int, ...] | None, keepdims: bool) -> Op:
    where = "all axes" if axis is None else f"axis {axis[0] if len(axis) == 1 else axis}"
    symbol = {"sum": "Σ", "mean": "mean", "max": "max"}[kind]
    if kind == "max":
        return Op(
            "max",
            f"max {where}",
            1,
            forward=None,
            array_forward=lambda a: a.max(axis=axis, keepdims=keepdims),
            local=lambda a, out: (
                _route_max(_max_weights(a, out, axis, keepdims), axis, keepdims),
            ),
            formula="router: 1 to the maximum of each group, ties split evenly",
            always_finite=True,
        )
    mean = kind == "mean"
    return Op(
        kind,
        f"{symbol} {where}",
        1,
        forward=None,
        array_forward=lambda a: (
            a.mean(axis=axis, keepdims=keepdims) if mean else a.sum(axis, None, None, keepdims)
        ),
        local=lambda a, out: (
            _copy_back(a.shape, axis, keepdims, out.size / a.size if mean else 1),
        ),
        formula=f"d {kind}/d x_i = {'1/n' if mean else '1'}  (upstream copied back)",
    )


@lru_cache(maxsize=256)
def _reshape(shape: tuple[int, ...]) -> Op:
    return Op(
        "reshape",
        f"reshape {shape}",
        1,
        forward=None,
        array_forward=lambda a: a.reshape(shape),
        local=lambda a, out: (
            VJP(lambda u: u.reshape(a.shape), f"upstream reshaped to {a.shape}"),
        ),
        formula="the same numbers: gradient reshaped back",
        always_finite=True,
    )


@lru_cache(maxsize=256)
def _permutation(axes: tuple[Any, ...], ndim: int) -> tuple[int, ...]:
    """``axes`` checked and made non-negative; reversed axes when none are given."""
    if not axes:
        return tuple(range(ndim))[::-1]
    try:
        order = tuple(int(a) % ndim if -ndim <= int(a) < ndim else -1 for a in axes)
    except (TypeError, ValueError, ZeroDivisionError):
        order = ()
    if sorted(order) != list(range(ndim)):
        raise ValueError(f"transpose axes {axes} are not a permutation of {ndim} axes")
    return order


@lru_cache(maxsize=64)
def _transpose(axes: tuple[int, ...]) -> Op:
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    back = VJP(lambda u: u.transpose(*inverse), "upstream transposed back")  # made once
    return Op(
        "transpose",
        "ᵀ" if len(axes) == 2 else f"transpose {axes}",
        1,
        forward=None,
        array_forward=lambda a: a.transpose(axes),
        local=lambda a, out: (back,),
        formula="the same numbers: gradient transposed back",
        always_finite=True,
    )


def _index(key: Any) -> Op:
    key = _frozen(key)  # a copy: the gradient must go where the forward took from
    text = repr(key)
    return Op(
        "index",
        f"[{text if len(text) <= 24 else text[:21] + '...'}]",
        1,
        forward=None,
        array_forward=lambda a: a[key],
        local=lambda a, out: (
            VJP(
                lambda u: _scatter(u, a.shape, key),
                f"upstream put back into zeros of shape {a.shape}",
            ),
        ),
        formula="picked elements get their upstream, the rest 0",
        always_finite=True,
    )


def _frozen(key: Any) -> Any:
    """An index with its arrays and lists copied, so later changes to them change nothing."""
    if isinstance(key, tuple):
        return tuple(_frozen(k) for k in key)
    if isinstance(key, (np.ndarray, list)):
        return np.array(key)
    return key


@lru_cache(maxsize=64)
def _concatenate(axis: int) -> Op:
    def local(a: Any, b: Any, out: Any) -> tuple[VJP, VJP]:
        n, m = a.shape[axis], b.shape[axis]
        before = (slice(None),) * axis
        first, second = (*before, slice(0, n)), (*before, slice(n, n + m))
        return (
            VJP(lambda u: u[first], f"upstream[0:{n}] along axis {axis}"),
            VJP(lambda u: u[second], f"upstream[{n}:{n + m}] along axis {axis}"),
        )

    return Op(
        "concatenate",
        f"concat axis {axis}",
        2,
        forward=None,
        array_forward=lambda a, b: np.concatenate((a, b), axis=axis),
        local=local,
        formula="each input gets its own slice of upstream",
        always_finite=True,
    )


def _stable_exp(x: Array, axis: int) -> tuple[Array, Array, Array]:
    """The stable softmax pieces along ``axis``: ``x - max(x)``, its exponentials and their
    sum. Every exponent is <= 0, so nothing overflows; softmax is ``e / total``."""
    with np.errstate(over="ignore"):  # logits spanning > 1.8e308: the gate's check says so
        shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=axis, keepdims=True)


@lru_cache(maxsize=16)
def _softmax(axis: int) -> Op:
    def forward(x: Array) -> Array:
        _, e, total = _stable_exp(x, axis)
        return e / total

    return Op(
        "softmax",
        "softmax",
        1,
        forward=None,
        array_forward=forward,
        local=lambda x, out: (
            VJP(
                lambda u: out * (u - (u * out).sum(axis=axis, keepdims=True)),
                "s * (upstream - Σ upstream * s), s = softmax(x)",
            ),
        ),
        formula="J = diag(s) - s sᵀ per row",
        always_finite=True,
    )


@lru_cache(maxsize=16)
def _log_softmax(axis: int) -> Op:
    def forward(x: Array) -> Array:
        shifted, _, total = _stable_exp(x, axis)
        return shifted - np.log(total)

    return Op(
        "log_softmax",
        "log softmax",
        1,
        forward=None,
        array_forward=forward,
        local=lambda x, out: (_log_softmax_vjp(_ops.exp(out), axis),),
        formula="d log s_i / d x_j = [i = j] - s_j",
        # not always finite: x - max(x) overflows when the logits span more than float64 can
        # (1e308 and -1e308), and the gate's check then says so instead of returning -inf
        always_finite=False,
    )


def _class_targets(targets: ArrayLike, n: int | None, classes: int) -> Array:
    """Integer class labels checked: the right count, integers, each in [0, classes)."""
    if isinstance(targets, Tensor):
        raise TypeError(
            "cross_entropy targets are class labels, not a Tensor (they get no gradient): "
            "pass an integer numpy array or a list of ints"
        )
    t = np.asarray(targets)
    if t.dtype.kind not in "iu":  # floats (even 1.0), bools, strings are refused
        raise TypeError(
            f"cross_entropy targets must be integer class indices in [0, {classes}), got "
            f"dtype {t.dtype}; for one-hot or probability targets use targets.argmax(axis=1)"
        )
    expected: tuple[int, ...] = () if n is None else (n,)
    if t.shape != expected:
        raise ValueError(
            f"cross_entropy needs {'one integer target' if n is None else f'{n} targets'} "
            f"for logits of this shape, got targets of shape {t.shape}"
        )
    if t.size and (t.min() < 0 or t.max() >= classes):
        bad = t[(t < 0) | (t >= classes)]
        raise ValueError(
            f"cross_entropy targets must be in [0, {classes}) (one per class of the logits), "
            f"got {bad.reshape(-1)[:5].tolist()}"
        )
    return t


def _cross_entropy_op(logits: Tensor, targets: ArrayLike) -> Op:
    """The fused softmax + negative log-likelihood gate for these ``targets``.

    Forward: ``L = -1/N Σ_n (x_n[t_n] - m_n - log Σ_j e^(x_nj - m_n))`` with ``m_n`` the row's
    max, so no exponent is positive. Its local gradient is ``(softmax(x) - onehot(t)) / N``.

    The op keeps no state between its forward and local rules: the local rule computes the
    softmax again (one more pass of exponentials over the logits) rather than keeping the
    forward's, so an op whose local rule never runs (in ``no_grad``, say) holds nothing.
    """
    if logits.ndim not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(
            f"cross_entropy needs logits of shape (N, C) or (C,), got shape {logits.shape}"
        )
    batched = logits.ndim == 2
    if batched and logits.shape[0] == 0:
        raise ValueError("cross_entropy of an empty batch (0 rows of logits) is undefined")
    t = _class_targets(targets, logits.shape[0] if batched else None, logits.shape[-1])
    n = logits.shape[0] if batched else 1
    pick = (np.arange(n), t) if batched else t

    def forward(x: Array) -> Array:
        shifted, _, total = _stable_exp(x, -1)
        return (np.log(total).sum() - shifted[pick].sum()) / n

    def local(x: Any, out: Any) -> tuple[Any]:
        if isinstance(x, Tensor):  # a gradient that is a graph: the same formula in gates
            onehot = np.zeros(x.shape, dtype=x.dtype)
            onehot[pick] = 1.0
            return ((x.softmax(axis=-1) - onehot) / n,)
        _, e, total = _stable_exp(x, -1)
        grad = e / total  # softmax(x), a fresh array: safe to change in place
        grad[pick] -= 1.0
        if batched:
            grad /= n
        return (grad,)

    return Op(
        "cross_entropy",
        "cross-entropy",
        1,
        forward=None,
        array_forward=forward,
        local=local,
        formula="dL/dx_n = (softmax(x_n) - onehot(t_n)) / N",
        always_finite=False,  # as log_softmax: logits spanning more than float64 give inf
    )


# -- min, clip, var and std, where, stack ------------------------------------------------------
#
# More ops on arrays only. `min` over axes is max's router pointed at the smallest element;
# `clip` and `where` are routers too (1 or 0 per element); var and std are one gate each, whose
# local gradient spreads each group's upstream back over its elements. Their rules are written,
# like those above, so that they also run on Tensors.


def _reduced(axis: tuple[int, ...] | None) -> str:
    """The axes a reduction runs over, as its gate shows them: "all axes", "axis 1"."""
    return "all axes" if axis is None else f"axis {axis[0] if len(axis) == 1 else axis}"


@lru_cache(maxsize=256)
def _min_reduction(axis: tuple[int, ...] | None, keepdims: bool) -> Op:
    """``min`` over ``axis``: max's reduction with the router sending upstream to the minimum.
    (``_max_weights`` marks the elements equal to their group's result: here the minima.)"""

    def local(a: Any, out: Any) -> tuple[VJP]:
        weights = _max_weights(a, out, axis, keepdims)
        return (
            VJP(
                lambda u: _restored(u, axis, keepdims) * weights,
                "upstream routed to the minimum (ties split it evenly)",
            ),
        )

    return Op(
        "min",
        f"min {_reduced(axis)}",
        1,
        forward=None,
        array_forward=lambda a: a.min(axis=axis, keepdims=keepdims),
        local=local,
        formula="router: 1 to the minimum of each group, ties split evenly",
        always_finite=True,
    )


def _clip_bounds(low: Any, high: Any) -> tuple[float | None, float | None]:
    """``clip``'s bounds checked: numbers or None, not both None, and low <= high."""
    bounds: list[float | None] = []
    for name, bound in (("low", low), ("high", high)):
        if bound is None:
            bounds.append(None)
            continue
        if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, (int, float, np.number)):
            raise TypeError(
                f"clip: {name} must be a number or None, got {type(bound).__name__}; for a "
                "bound per element use maximum() and minimum()"
            )
        if math.isnan(float(bound)):
            raise ValueError(f"clip: {name} is nan")
        bounds.append(float(bound))
    lo, hi = bounds
    if lo is None and hi is None:
        raise TypeError("clip needs a low bound, a high bound or both: clip(low, high)")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip(low, high) needs low <= high, got low={lo:g} > high={hi:g}")
    return lo, hi


@lru_cache(maxsize=64)
def _clip(low: float | None, high: float | None) -> Op:
    """Clipping into ``[low, high]``: one cached op per pair of bounds, as ``power(n)``."""
    shown = f"[{'-∞' if low is None else f'{low:g}'}, {'∞' if high is None else f'{high:g}'}]"

    def local(a: Any, out: Any) -> tuple[Array]:
        x = _ops.values_of(a)
        keep = np.ones(x.shape, dtype=bool)
        if low is not None:
            keep &= x >= low
        if high is not None:
            keep &= x <= high
        return (keep.astype(x.dtype),)

    return Op(
        "clip",
        f"clip {shown}",
        1,
        forward=None,
        array_forward=lambda a: np.clip(a, low, high),
        local=local,
        formula="d clip(a)/da = 1 where low <= a <= high, else 0  (as torch.clamp)",
        always_finite=True,
    )


def _new_axis(axis: object, ndim: int, who: str) -> int:
    """Where a new axis goes in a tensor of ``ndim`` axes: from -(ndim + 1) to ndim, checked,
    made non-negative (-1 is after the last axis)."""
    if (
        isinstance(axis, (bool, np.bool_))
        or not isinstance(axis, (int, np.integer))
        or not -ndim - 1 <= axis <= ndim
    ):
        raise ValueError(
            f"{who}: axis must be an int from {-ndim - 1} to {ndim} for a tensor with {ndim} "
            f"axes, got {axis!r}"
        )
    return int(axis) % (ndim + 1)


def _spread(t: Tensor, kind: str, axis: Any, keepdims: bool, ddof: Any) -> Op:
    """The ``var`` or ``std`` op for ``t`` over ``axis``, with ``ddof`` checked."""
    axes = _axes(axis, t.ndim)
    n = t.size if axes is None else math.prod(t.shape[a] for a in axes)
    if isinstance(ddof, (bool, np.bool_)) or not isinstance(ddof, (int, np.integer)):
        raise TypeError(f"{kind}: ddof must be an int (0 divides by n, 1 by n - 1), got {ddof!r}")
    if ddof < 0:
        raise ValueError(f"{kind}: ddof must be 0 or more, got {ddof}")
    if n - ddof <= 0:
        raise ValueError(
            f"{kind} with ddof={ddof} of {n} element(s) per group is undefined: it divides by "
            f"n - ddof = {n - ddof}"
        )
    return _spread_op(kind, axes, keepdims, int(ddof))


@lru_cache(maxsize=256)
def _spread_op(kind: str, axis: tuple[int, ...] | None, keepdims: bool, ddof: int) -> Op:
    """var = Σ (x_i - mean)² / (n - ddof) over ``axis``, or std = √var, as one gate.

    Locals: d var/d x_i = 2 (x_i - mean) / (n - ddof) and d std/d x_i = (x_i - mean) /
    ((n - ddof) std), 0 where std = 0 (the kink of std(c + t v) = |t| std(v), as abs at 0).
    """
    std = kind == "std"

    def forward(a: Array) -> Array:
        spread = np.std if std else np.var
        return np.asarray(spread(a, axis=axis, ddof=ddof, keepdims=keepdims))

    def local(a: Any, out: Any) -> tuple[VJP]:
        shape = _ops.values_of(a).shape
        n = math.prod(shape) if axis is None else math.prod(shape[i] for i in axis)
        centred = a - a.mean(axis=axis, keepdims=True)
        if not std:
            slope = centred * (2.0 / (n - ddof))
            text = f"upstream * 2 (x - mean) / {n - ddof}"
        else:
            s = _restored(out, axis, keepdims)
            # zero variance: the slope is 0/0, the gradient 0
            flat = np.asarray(_ops.values_of(s) == 0)
            slope = centred / ((s + flat.astype(float)) * (n - ddof)) * (~flat).astype(float)
            text = f"upstream * (x - mean) / ({n - ddof} std), 0 where std = 0"
        return (VJP(lambda u: _restored(u, axis, keepdims) * slope, text),)

    return Op(
        kind,
        f"{kind} {_reduced(axis)}{f', ddof {ddof}' if ddof else ''}",
        1,
        forward=None,
        array_forward=forward,
        local=local,
        formula=(
            "d std/d x_i = (x_i - mean) / ((n - ddof) std)  (0 where std = 0)"
            if std
            else "d var/d x_i = 2 (x_i - mean) / (n - ddof)"
        ),
        # (x - mean)² overflows for numbers beyond about 1e154: the gate's check says so
        always_finite=False,
    )


def _where_op(condition: Array) -> Op:
    """``where`` for one (copied) boolean ``condition``: a router per element."""

    def local(a: Any, b: Any, out: Any) -> tuple[Array, Array]:
        result = _ops.values_of(out)
        to_a = np.broadcast_to(condition, result.shape)
        return to_a.astype(result.dtype), (~to_a).astype(result.dtype)

    return Op(
        "where",
        "where",
        2,
        forward=None,
        array_forward=lambda a, b: np.where(condition, a, b),
        local=local,
        formula="d where(c, a, b)/da = 1 where c, else 0; d/db = 1 where not c  (router)",
        written="where(c, {0}, {1})",
        always_finite=True,
    )


def where(condition: ArrayLike, a: TensorOperand, b: TensorOperand) -> Tensor:
    """``a`` where ``condition`` holds and ``b`` elsewhere, elementwise with numpy broadcasting
    (as ``torch.where`` and ``np.where``).

    The gradient is routed as max's is: upstream goes to ``a`` where the condition holds and to
    ``b`` where it does not (summed back where broadcasting stretched them). ``condition`` is
    an array of booleans, such as ``x.data > 0``: a constant of the gate with no gradient, so
    never a Tensor. One of ``a`` and ``b`` may be a number or an array (a constant).

    Raises:
        TypeError: ``condition`` is a Tensor or not booleans, or neither ``a`` nor ``b`` is a
            Tensor.
        ValueError: ``condition``, ``a`` and ``b`` do not broadcast to one shape.
    """
    if isinstance(condition, Tensor):
        raise TypeError(
            "where: the condition is an array of booleans, not a Tensor (it gets no gradient); "
            "compare the numbers, as where(x.data > 0, x, y)"
        )
    mask = np.array(condition, copy=True)  # a copy: later changes to it change nothing here
    if mask.dtype != np.bool_:
        raise TypeError(
            f"where: the condition must be booleans (such as x.data > 0), got dtype {mask.dtype}"
        )
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if like is None:
        raise TypeError("where needs a Tensor as a or b; for arrays only, use np.where")
    first, second = _as_tensor(a, like), _as_tensor(b, like)
    try:
        np.broadcast_shapes(mask.shape, first.shape, second.shape)
    except ValueError:
        raise ValueError(
            f"where: the condition's shape {mask.shape}, a's {first.shape} and b's "
            f"{second.shape} do not broadcast to one shape"
        ) from None
    return apply(_where_op(mask), first, second)


def stack(tensors: Sequence[TensorOperand], axis: int = 0) -> Tensor:
    """Tensors of one shape joined along a new axis (as ``torch.stack``): each gets an axis of
    length 1 at ``axis`` (:meth:`Tensor.unsqueeze`), then they are concatenated along it, so
    each input gets its own slice of the gradient back. Arrays and lists among them are
    constants."""
    items = list(tensors)
    if not items:
        raise ValueError("stack needs at least one tensor")
    first = _as_tensor(items[0], None)
    rest = [_as_tensor(t, first) for t in items[1:]]
    for t in rest:
        if t.shape != first.shape:
            raise ValueError(
                f"stack: all tensors need the same shape, got {first.shape} and {t.shape}"
            )
    position = _new_axis(axis, first.ndim, "stack")
    return concatenate([t.unsqueeze(position) for t in (first, *rest)], axis=position)


_ops.register(MATMUL)
_ops.register(MATMUL_T)


# -- applying an op ------------------------------------------------------------------------------


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along ``axis``; each gets its own slice of the gradient back.

    Made of two-input gates like every op here: ``concatenate([a, b, c])`` is
    ``concat(concat(a, b), c)``.
    """
    if not tensors:
        raise ValueError("concatenate needs at least one tensor")
    first = _as_tensor(tensors[0], None)
    result = first
    for t in tensors[1:]:
        other = _as_tensor(t, first)
        if other.ndim != first.ndim:
            raise ValueError(
                f"concatenate: all tensors need the same number of axes, got {first.shape} "
                f"and {other.shape}"
            )
        result = apply(_concatenate(_axis(axis, first.ndim, "concatenate")), result, other)
    return result


NO_GRAD = J.NO_GRADIENT


def _fit_local(local: Any, x: Array, out: Array, op: Op, xs: list[Array]) -> Any:
    """The local gradient of input ``x``, ready for ``upstream * local``.

    Elementwise locals (numbers, arrays) are checked for overflow unless they are an input or
    the output (already known finite), and wrapped in a :class:`~autograd.jacobians.SumTo`
    when broadcasting made the output larger than ``x``.
    """
    if isinstance(local, J.LinearMap):
        return local
    if isinstance(local, np.ndarray):
        if op.always_finite or local is out or any(local is v for v in xs):
            pass  # known to be finite
        elif not all_finite(local):
            raise _non_finite(op, xs, local, "its local derivative")
    elif not math.isfinite(local):
        raise _non_finite(op, xs, np.asarray(local), "its local derivative")
    if x.dtype != out.dtype:  # float32 met float64: the gradient keeps the input's dtype
        return J.SumTo(x.shape, local, x.dtype)
    if x.shape == out.shape:
        return J.IDENTITY if local.__class__ is float and local == 1.0 else local
    return J.SumTo(x.shape, None if local.__class__ is float and local == 1.0 else local)


def _non_finite(op: Op, xs: list[Array], bad: Array | None, what: str) -> NonFiniteError:
    shapes = ", ".join(str(x.shape) for x in xs)
    problem = what if bad is None else f"{what} holds {_describe_bad(bad)}"
    return NonFiniteError(
        f"{op.name} of tensors with shapes ({shapes}): {problem}. "
        f"{op.name} is defined for {op.domain}; inputs outside it, or float overflow (scale "
        "the inputs down), give no finite answer."
    )


def _describe_bad(a: Array) -> str:
    bad = ~np.isfinite(a)
    where = np.argwhere(bad)
    first = tuple(int(i) for i in where[0]) if where.size else ()
    return (
        f"{int(bad.sum())} non-finite value(s) ({a[first] if a.ndim else a}) first at index {first}"
    )


def seed_of(tensor: Tensor, grad: ArrayLike | None) -> Array:
    """``backward(grad)``'s seed for ``tensor``, checked: 1 for a one-element tensor (a loss),
    else ``grad``, which must have exactly the tensor's shape and be finite."""
    if grad is None:
        if tensor.data.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a one-element tensor (a loss), this "
                f"one has shape {tensor.shape}. Reduce it first (.sum(), .mean()) or pass "
                "backward(grad) with grad shaped like it"
            )
        return np.ones_like(tensor.data)
    seed = _float_array(grad, tensor.dtype, "backward(grad)")
    if seed.shape != tensor.shape:
        raise ValueError(
            f"backward(grad): grad has shape {seed.shape} but the tensor has shape "
            f"{tensor.shape}; the gradient of a value always has the value's shape"
        )
    if not all_finite(seed):
        raise NonFiniteError(f"backward(grad): grad holds {_describe_bad(seed)}")
    return seed


def _float_array(data: Any, dtype: Any, who: str) -> Array:
    """``data`` as a fresh float array: float64 unless float32 is given or asked for."""
    if dtype is not None:
        wanted = np.dtype(dtype)
        if wanted not in _FLOAT_DTYPES:
            raise TypeError(f"{who}: dtype must be float64 or float32, got {wanted}")
    try:
        array = np.array(data, copy=True)
    except (ValueError, TypeError) as error:
        raise TypeError(
            f"{who} takes numbers, nested lists of numbers or a numpy array; got "
            f"{type(data).__name__}: {error}"
        ) from None
    if array.dtype.kind not in "biuf":  # strings, complex numbers, objects (None, ragged)
        raise TypeError(f"{who} takes real numbers, got an array of dtype {array.dtype}")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    return array if array.dtype in _FLOAT_DTYPES else array.astype(np.float64)


def _as_tensor(x: Any, like: Tensor | None) -> Tensor:
    """A number or array operand as a constant leaf, labelled so diagrams show it."""
    if isinstance(x, Tensor):
        return x
    if type(x).__name__ == "Value":
        raise TypeError(
            "cannot combine a Tensor with a Value; use Tensor(value.data) (Values and Tensors "
            "are separate graphs)"
        )
    # A constant's gradient is of no use to anyone (nothing outside holds it): not computed.
    if isinstance(x, (bool, int, float, np.number)):
        dtype = like.dtype if like is not None else None
        t = Tensor(np.asarray(x, dtype=dtype), label=f"{float(x):g}", requires_grad=False)
    elif isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        dtype = like.dtype if like is not None and arr.dtype.kind in "biu" else None
        t = Tensor(arr, dtype=dtype, requires_grad=False)
    else:
        raise TypeError(
            f"cannot combine a Tensor with {type(x).__name__} ({x!r}); use a Tensor, a number "
            "or a numpy array"
        )
    return t

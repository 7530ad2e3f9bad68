"""Loss functions and weight penalties, built from engine ops.

Every loss here is a small graph of ordinary gates (``+ - * / ** exp log max relu``), so
``viz.draw(loss)`` shows each step and ``backward`` needs no special rule. Each function takes
one example (a prediction and its target) and returns a scalar ``Value``; the loss of a batch
is the **mean** over its examples (:func:`mean`), so its size does not change with the batch
size and neither does a good learning rate.

For Tensor models a batch is one array, and its loss one gate graph for the whole batch: the
batch functions :func:`mean_squared_error`, :func:`mean_binary_cross_entropy`,
:func:`mean_binary_cross_entropy_with_logits`, :func:`max_margin` and
:func:`softmax_cross_entropy` also take a Tensor of predictions and an array of targets, and
give the same mean as the per-example functions do.

Label conventions (checked; a wrong label is a ValueError that says which is expected):

* binary cross-entropy: targets ``y`` in {0, 1};
* hinge / max-margin: targets ``t`` in {-1, +1} (``nn.datasets.to_signed`` maps {0, 1} to it);
* softmax cross-entropy: an ``int`` class index ``0 <= y < number of logits``.

Regularisation (:func:`l2_penalty`, :func:`l1_penalty`) is applied to **weights only, never to
biases**, as the lectures teach: a bias only shifts a unit's input, so shrinking it toward 0
does not make the function any smoother; it only biases the fit. A parameter is a bias when its
name is ``b`` or ends in ``.b`` (how :mod:`nn.layers` names them: ``layer1.neuron0.b``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from autograd import NonFiniteError, Tensor, Value, where
from nn.activations import chain_sum
from nn.module import Module, Parameter

Number = int | float
Operand = Value | float
NamedParameters = Module | Iterable[tuple[str, Parameter]]
P = TypeVar("P")
T = TypeVar("T")

_REAL = (int, float, np.integer, np.floating)


# -- helpers -----------------------------------------------------------------------------------


def _value(x: Operand, what: str) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, _REAL):
        raise TypeError(f"{what} must be a Value or a real number, got {type(x).__name__}: {x!r}")
    return Value(float(x))


def _label(target: object, allowed: tuple[int, ...], loss: str, hint: str = "") -> int:
    """The target as an int, if it is a real number equal to one of ``allowed``."""
    if isinstance(target, Value):
        raise TypeError(f"{loss}: the target is a label, a plain number, not a Value")
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, _REAL):
        raise TypeError(
            f"{loss}: the target must be a number in {set(allowed)}, "
            f"got {type(target).__name__}: {target!r}"
        )
    for label in allowed:
        if target == label:
            return label
    raise ValueError(f"{loss}: the target must be one of {set(allowed)}, got {target!r}{hint}")


def mean(losses: Iterable[Value]) -> Value:
    """(1/n) sum_i loss_i: the loss of a batch, the mean over its examples.

    A chain of add gates and one multiply by the constant 1/n; d mean / d loss_i = 1/n.
    """
    items = list(losses)
    if not items:
        raise ValueError("the mean loss of an empty batch is undefined: give at least 1 example")
    return chain_sum(items) * (1.0 / len(items))


def _pairs(predictions: Sequence[P], targets: Sequence[T], loss: str) -> list[tuple[P, T]]:
    if len(predictions) != len(targets):
        raise ValueError(
            f"{loss}: {len(predictions)} predictions but {len(targets)} targets; "
            "they must pair up one to one"
        )
    if not predictions:
        raise ValueError(f"{loss} of an empty batch is undefined: give at least 1 example")
    return list(zip(predictions, targets, strict=True))


def _tensor_labels(
    predictions: Tensor, targets: Any, allowed: tuple[int, ...], loss: str, hint: str = ""
) -> np.ndarray:
    """``targets`` as an array of ``predictions``' shape and dtype, each one of ``allowed``."""
    if isinstance(targets, Tensor):
        raise TypeError(f"{loss}: the targets are labels, a numpy array, not a Tensor")
    y = np.asarray(targets)
    if y.shape != predictions.shape:
        raise ValueError(
            f"{loss}: predictions have shape {predictions.shape}, targets {y.shape}; they "
            "must pair up one to one"
        )
    if y.dtype.kind not in "iuf":
        raise TypeError(f"{loss}: the targets must be numbers in {set(allowed)}, got {y.dtype}")
    wrong = ~np.isin(y, allowed)
    if wrong.any():
        first = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise ValueError(
            f"{loss}: the targets must be in {set(allowed)}, got {y[first]!r} at index "
            f"{first}{hint}"
        )
    return y.astype(predictions.dtype)


# -- squared error -----------------------------------------------------------------------------


def squared_error(prediction: Operand, target: Operand) -> Value:
    """1/2 (y - y*)^2, for regression; d/dy = y - y*.

    The 1/2 cancels the 2 of the derivative, so the gradient is simply the error.
    """
    error = _value(prediction, "the prediction") - _value(target, "the target")
    return 0.5 * error**2


def mean_squared_error(predictions: Any, targets: Any) -> Any:
    """(1/n) sum_i 1/2 (y_i - y*_i)^2: :func:`squared_error` averaged over a batch.

    ``predictions`` is a list of Values, or one Tensor (``targets`` then an array of its
    shape; the mean is over all its elements).
    """
    if isinstance(predictions, Tensor):
        y = np.asarray(targets, dtype=predictions.dtype)
        if y.shape != predictions.shape:
            raise ValueError(
                f"mean_squared_error: predictions have shape {predictions.shape}, targets "
                f"{y.shape}; they must pair up one to one"
            )
        error = predictions - y
        return 0.5 * (error * error).mean()
    pairs = _pairs(predictions, targets, "mean_squared_error")
    return mean(squared_error(p, t) for p, t in pairs)


# -- binary cross-entropy ----------------------------------------------------------------------


def binary_cross_entropy(p: Operand, target: Number) -> Value:
    """-[y log p + (1 - y) log(1 - p)] for a probability 0 < p < 1 and y in {0, 1}.

    Only the term of the true class is built (the other has weight 0): ``-log p`` for y = 1,
    ``-log(1 - p)`` for y = 0; d/dp = -1/p or 1/(1 - p).

    A sigmoid saturates to exactly 1.0 in float64 for inputs above about 37, and then
    ``log(1 - p)`` is -inf: prefer :func:`binary_cross_entropy_with_logits`, which takes the
    sigmoid's input and never overflows.

    Raises:
        ValueError: the target is not 0 or 1; p is not in [0, 1].
        NonFiniteError: p is exactly 0 or 1 (the loss would be infinite).
    """
    y = _label(target, (0, 1), "binary_cross_entropy")
    p = _value(p, "the probability p")
    if not 0.0 <= p.data <= 1.0:
        raise ValueError(f"binary_cross_entropy: p must be a probability in (0, 1), got {p.data}")
    if p.data in (0.0, 1.0):
        raise NonFiniteError(
            f"binary_cross_entropy: p = {p.data} makes the loss infinite (log 0); the sigmoid "
            "saturated. Use binary_cross_entropy_with_logits on the sigmoid's input instead."
        )
    return -p.log() if y == 1 else -(1.0 - p).log()


def mean_binary_cross_entropy(probabilities: Any, targets: Any) -> Any:
    """(1/n) sum_i :func:`binary_cross_entropy` (p_i, y_i): the mean over a batch.

    ``probabilities`` is a list of Values, or one Tensor (``targets`` then an array of 0/1 of
    its shape). For a Tensor only the true class's term is built, as for one example:
    ``-mean(log(where(y = 1, p, 1 - p)))``; a p of exactly 0 or 1 makes the log gate raise a
    NonFiniteError.
    """
    if isinstance(probabilities, Tensor):
        y = _tensor_labels(probabilities, targets, (0, 1), "mean_binary_cross_entropy")
        return -where(y == 1, probabilities, 1.0 - probabilities).log().mean()
    pairs = _pairs(probabilities, targets, "mean_binary_cross_entropy")
    return mean(binary_cross_entropy(p, t) for p, t in pairs)


def binary_cross_entropy_with_logits(z: Operand, target: Number) -> Value:
    """Binary cross-entropy of p = sigmoid(z), computed from the logit z without overflow.

    -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = log(1 + e^z) - y z, and

        log(1 + e^z) = max(z, 0) + log(1 + e^-|z|)

    where e^-|z| <= 1, so no exponent is ever large: |z| = 1e4 is fine. (With no log1p gate,
    1 + e^-|z| rounds: for large |z| the loss is exact to about 1e-16 absolute, not relative.)
    The derivative is
    d/dz = sigmoid(z) - y. ``|z|`` is the max gate ``max(z, -z)``.

    Why ``max(z, 0)`` and not ``relu(z)``: both kinks at z = 0 cancel in the sum, but the
    gradient the engine returns there is the sum of the gates' chosen slopes. The max gate
    splits a tie 1/2 to each input, which gives exactly sigmoid(0) = 1/2; relu'(0) = 0 would
    give 0, a wrong gradient at the very point a zero-initialised model starts from.

    Raises:
        ValueError: the target is not 0 or 1.
    """
    y = _label(target, (0, 1), "binary_cross_entropy_with_logits")
    z = _value(z, "the logit z")
    softplus = z.max(0.0) + (1.0 + (-z.max(-z)).exp()).log()
    return softplus - z * y if y else softplus


def mean_binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Any:
    """(1/n) sum_i :func:`binary_cross_entropy_with_logits` (z_i, y_i): the mean over a batch.

    ``logits`` is a list of Values, or one Tensor (``targets`` then an array of 0/1 of its
    shape): ``mean(softplus(z) - y z)``, with the softplus gate's own stable rule,
    max(z, 0) + log(1 + e^-|z|). d/dz_i = (sigmoid(z_i) - y_i) / n.
    """
    if isinstance(logits, Tensor):
        y = _tensor_labels(logits, targets, (0, 1), "mean_binary_cross_entropy_with_logits")
        return (logits.softplus() - logits * y).mean()
    pairs = _pairs(logits, targets, "mean_binary_cross_entropy_with_logits")
    return mean(binary_cross_entropy_with_logits(z, t) for z, t in pairs)


# -- softmax cross-entropy ---------------------------------------------------------------------


def softmax_cross_entropy(logits: Any, target: Any) -> Any:
    """-log softmax(z)_y = log sum_j e^(z_j) - z_y for an int class index y.

    For a Tensor of logits (N, C) and N integer targets this is
    :meth:`autograd.Tensor.cross_entropy`, the mean over the batch, one fused gate.

    The negative log-likelihood of the true class. Computed as a log-sum-exp with the largest
    logit m subtracted first, log sum_j e^(z_j - m) - (z_y - m): mathematically the same, but
    every exponent is <= 0, so nothing overflows. m is a plain number (a constant in the graph);
    it cancels, so the gradient is unchanged: d/dz_j = softmax(z)_j - [j = y].

    Raises:
        TypeError: the target is not an int (a float such as 1.0 or a bool is refused).
        ValueError: the target is out of range, or there are no logits.
    """
    if isinstance(logits, Tensor):
        return logits.cross_entropy(target)
    if isinstance(logits, Value) or not isinstance(logits, Sequence):
        raise TypeError(
            "softmax_cross_entropy takes a list of logits (one per class), got "
            f"{type(logits).__name__}; a model for it needs one output per class"
        )
    zs = [_value(z, "each logit") for z in logits]
    if not zs:
        raise ValueError("softmax_cross_entropy needs at least one logit")
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
        raise TypeError(
            f"softmax_cross_entropy: the target must be an int class index, got "
            f"{type(target).__name__}: {target!r}"
        )
    y = int(target)
    if not 0 <= y < len(zs):
        raise ValueError(
            f"softmax_cross_entropy: class index {y} is out of range for {len(zs)} logits "
            f"(0 to {len(zs) - 1})"
        )
    m = max(z.data for z in zs)
    shifted = [z - m for z in zs]
    return chain_sum([e.exp() for e in shifted]).log() - shifted[y]


# -- hinge -------------------------------------------------------------------------------------


def hinge(score: Operand, target: Number) -> Value:
    """max(0, 1 - t y) for a score y and a target t in {-1, +1}; the SVM's loss.

    Zero once the example is on the right side with a margin of at least 1; otherwise it grows
    linearly: d/dy = -t while t y < 1, else 0. Built as ``relu(1 - t y)``.

    Raises:
        ValueError: the target is not -1 or +1.
    """
    t = _label(
        target,
        (-1, 1),
        "hinge",
        " (map {0, 1} labels to {-1, +1} with nn.datasets.to_signed)",
    )
    y = _value(score, "the score")
    return (1.0 - t * y).relu()


def max_margin(scores: Any, targets: Any) -> Any:
    """(1/n) sum_i max(0, 1 - t_i y_i): the mean hinge loss, micrograd's "max-margin" loss.

    ``scores`` is a list of Values, or one Tensor (``targets`` then an array of -1/+1 of its
    shape): ``mean(relu(1 - t y))``.
    """
    if isinstance(scores, Tensor):
        hint = " (map {0, 1} labels to {-1, +1} with nn.datasets.to_signed)"
        t = _tensor_labels(scores, targets, (-1, 1), "max_margin", hint)
        return (1.0 - scores * t).relu().mean()
    pairs = _pairs(scores, targets, "max_margin")
    return mean(hinge(s, t) for s, t in pairs)


# -- regularisation ----------------------------------------------------------------------------


def is_bias(name: str) -> bool:
    """True for a bias by its name: ``b`` or anything ending in ``.b``."""
    return name == "b" or name.endswith(".b")


def weights(parameters: NamedParameters) -> list[tuple[str, Parameter]]:
    """The ``(name, parameter)`` pairs that are weights, the ones regularisation acts on.

    Of a scalar model, every parameter but the biases (``b`` or ``*.b``). Of a Tensor model,
    the weight matrices and filters, named ``W`` or ``*.W`` (``Linear``'s, ``Conv2d``'s,
    ``Maxout``'s): biases, batch norm's ``γ`` and ``β`` and PReLU's ``α`` only shift or scale
    one feature each, and pulling them toward 0 would make nothing smoother (γ = 0 would
    switch a feature off).

    ``parameters`` is a :class:`~nn.module.Module` or its ``named_parameters()``. Plain Values
    without names are refused: the name is what tells a weight from a bias.
    """
    pairs = parameters.named_parameters() if isinstance(parameters, Module) else parameters
    chosen: list[tuple[str, Parameter]] = []
    for pair in pairs:
        if not (
            isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], (Value, Tensor))
        ):
            raise TypeError(
                "regularisation needs named parameters, a Module or (name, Value) pairs, so "
                f"that biases can be skipped; got {pair!r}"
            )
        name, parameter = pair
        if isinstance(parameter, Tensor):
            if name == "W" or name.endswith(".W"):
                chosen.append((name, parameter))
        elif not is_bias(name):
            chosen.append((name, parameter))
    return chosen


def l2_penalty(parameters: NamedParameters) -> Any:
    """sum_w w^2 over the weights (biases excluded); d/dw = 2 w.

    Training adds ``strength * l2_penalty``: "weight decay", pulling every weight toward 0 by
    2 strength w per unit of learning rate. No 1/2 in front, as in micrograd's demo
    (``alpha * sum(p * p)``). A model without weights gives the constant 0.
    """
    squares = [_total(w * w) for _, w in weights(parameters)]  # type: ignore[operator, arg-type]
    return chain_sum(squares) if squares else Value(0.0)


def l1_penalty(parameters: NamedParameters) -> Any:
    """sum_w |w| over the weights (biases excluded); d/dw = sign(w), 0 at w = 0.

    ``|w|`` is the max gate ``max(w, -w)``; its tie at w = 0 splits the gradient 1/2 and -1/2,
    so the slope there is 0 (the subgradient that leaves a zero weight at zero). L1 pushes
    weights to exactly 0 at a constant rate: sparse models.
    """
    magnitudes = [
        _total(w.maximum(-w)) if isinstance(w, Tensor) else w.max(-w)
        for _, w in weights(parameters)
    ]
    return chain_sum(magnitudes) if magnitudes else Value(0.0)


def _total(x: Any) -> Any:
    """A Tensor penalty summed to one number (a Value's is one already)."""
    return x.sum() if isinstance(x, Tensor) else x

"""The training loop: forward, loss, backward, step, repeated over mini-batches and epochs.

One step, as the lectures write it::

    outputs = [model(x) for x in batch]                          # forward
    J = mean(loss(o, t) for o, t in ...) + l2 * sum w^2 + ...    # the batch's loss
    optimizer.zero_grad(); J.backward()                          # every p.grad = dJ/dp
    optimizer.step()                                             # theta <- theta - lr * grad

The loss of a batch is the **mean** over its examples, so the gradient's scale, and a good
learning rate, do not depend on the batch size. Batch, stochastic and mini-batch gradient
descent are this same loop with a different ``batch_size``: ``None`` (the whole training set,
one step per epoch), ``1`` (one example per step) or ``k``. An epoch is one pass over the
training set; with ``shuffle`` the examples are visited in a new (seeded) order every epoch.

Regularisation (``l2``, ``l1``) adds ``l2 * sum_w w^2 + l1 * sum_w |w|`` over the **weights
only** (see :func:`weights_of`) to every step's loss.

The same loop trains **Tensor models** (:class:`~nn.tensor_layers.Sequential` of ``Linear``,
``BatchNorm1d``, ...; any model whose parameters are Tensors). Then X is one array whose first
axis is the examples, (N, features) or (N, C, H, W), and a batch is ``X[rows]``, forwarded at
once: one graph per batch, not one per example, and the loss a Tensor gate on the whole batch::

    outputs = model(Tensor(X[rows], requires_grad=False))        # (B, outputs), one graph
    J = loss(outputs, y[rows]) + l2 * sum W^2 + ...              # the batch's mean, a Tensor
    optimizer.zero_grad(); J.backward(); optimizer.step()        # as above

Everything else (epochs, shuffling, validation, early stopping, the History) is shared: the two
kinds of model differ only in how a batch's loss and metrics are computed (:class:`Scalars` and
:class:`Arrays`). Training batches run in training mode (``model.train()``: dropout drops, batch
norm uses and updates the batch's statistics), evaluation in ``model.eval()``; ``fit`` leaves
the model in the mode it found it in.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from autograd import NonFiniteError, Tensor, Value, no_grad
from autograd.tensor import all_finite
from nn import losses
from nn.module import Module, Parameter

Output = Value | list[Value]
Example = Sequence[float]
Inputs = Sequence[Example] | np.ndarray
"""X: a list of examples (lists of floats) for a scalar model, an array for a Tensor model."""
Targets = Sequence[Any] | np.ndarray
LossFunction = Callable[[Any, Any], Any]
"""``loss(output, target) -> Value`` for one example of a scalar model; for a Tensor model
``loss(outputs, targets) -> Tensor``, the mean over the batch as one number."""
Metric = Callable[[Any, Any], float]
"""``metric(output, target) -> float`` for one example of a scalar model; for a Tensor model
``metric(outputs, targets) -> float``, the batch's mean. Averaged over the examples."""


class Model(Protocol):
    """What ``fit`` trains: a :class:`~nn.module.Module`, called on one example (scalar) or on
    a batch (Tensor)."""

    training: bool

    def __call__(self, x: Any, /) -> Any: ...

    def parameters(self) -> list[Parameter]: ...

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]: ...

    def zero_grad(self) -> None: ...

    def train(self, mode: bool = True) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Optimizer(Protocol):
    """Anything with ``step()`` and ``zero_grad()``, such as the classes of :mod:`nn.optim`."""

    def step(self) -> None: ...

    def zero_grad(self) -> None: ...


class TrainingDiverged(NonFiniteError):
    """The loss, a gradient or a parameter stopped being a finite number during ``fit``.

    Attributes:
        history: the :class:`History` of the epochs completed before it happened.
    """

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch.

    Attributes:
        loss: the mean training loss over the epoch's examples, each example's loss taken
            at the step that used it (as Keras reports it). Data loss only: the penalty is in
            ``penalty``.
        val_loss: the mean loss on the validation data after the epoch (empty without it).
        metrics: ``"accuracy"`` and the like on the training examples (measured as ``loss``
            is), and ``"val_accuracy"`` etc. on the validation data.
        penalty: ``l2 * sum w^2 + l1 * sum |w|`` after the epoch (0 without regularisation).
        lr: the optimiser's learning rate during the epoch (when it has an ``lr``).
        steps: the number of optimiser steps taken.
        stopped_early: True when early stopping ended training.
        best_epoch: with early stopping, the index (from 0) of the epoch with the lowest
            ``val_loss``; the parameters are from its end when ``restore_best`` was set.
        seconds: wall-clock time of training.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    penalty: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    steps: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.loss)

    @property
    def accuracy(self) -> list[float]:
        """Training accuracy per epoch (empty when not measured)."""
        return self.metrics.get("accuracy", [])

    @property
    def val_accuracy(self) -> list[float]:
        """Validation accuracy per epoch (empty when not measured)."""
        return self.metrics.get("val_accuracy", [])

    def __getitem__(self, name: str) -> list[float]:
        """``history["loss"]``, ``history["val_accuracy"]``, ...: any series by name."""
        if name in ("loss", "val_loss", "penalty", "lr"):
            series: list[float] = getattr(self, name)
            return series
        try:
            return self.metrics[name]
        except KeyError:
            known = ["loss", "val_loss", "penalty", "lr", *self.metrics]
            raise KeyError(f"no series {name!r} in this history; it has {known}") from None


# -- losses and metrics by name ----------------------------------------------------------------


def _correct_logit(output: Value, target: int) -> float:
    return float((output.data > 0.0) == (target == 1))


def _correct_probability(output: Value, target: int) -> float:
    return float((output.data > 0.5) == (target == 1))


def _correct_sign(output: Value, target: int) -> float:
    return float((output.data > 0.0) == (target > 0))


def _correct_class(output: Sequence[Value], target: int) -> float:
    best = max(range(len(output)), key=lambda j: output[j].data)
    return float(best == target)


LOSSES: dict[str, tuple[LossFunction, Metric | None]] = {
    "squared_error": (losses.squared_error, None),
    "binary_cross_entropy": (losses.binary_cross_entropy, _correct_probability),
    "binary_cross_entropy_with_logits": (
        losses.binary_cross_entropy_with_logits,
        _correct_logit,
    ),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, _correct_class),
    "hinge": (losses.hinge, _correct_sign),
}
"""The losses ``fit`` knows by name, each with its accuracy (``None``: not a classifier).

Accuracy: a logit > 0, a probability > 0.5 or a score > 0 predicts the positive class; for
softmax the largest logit is the predicted class.
"""


def _share_correct_logit(outputs: Tensor, targets: np.ndarray) -> float:
    return float(np.mean((outputs.data > 0.0) == (targets == 1)))


def _share_correct_probability(outputs: Tensor, targets: np.ndarray) -> float:
    return float(np.mean((outputs.data > 0.5) == (targets == 1)))


def _share_correct_sign(outputs: Tensor, targets: np.ndarray) -> float:
    return float(np.mean((outputs.data > 0.0) == (targets > 0)))


def _share_correct_class(outputs: Tensor, targets: np.ndarray) -> float:
    return float(np.mean(outputs.data.argmax(axis=1) == targets))


TENSOR_LOSSES: dict[str, tuple[LossFunction, Metric | None]] = {
    "squared_error": (losses.mean_squared_error, None),
    "binary_cross_entropy": (losses.mean_binary_cross_entropy, _share_correct_probability),
    "binary_cross_entropy_with_logits": (
        losses.mean_binary_cross_entropy_with_logits,
        _share_correct_logit,
    ),
    "softmax_cross_entropy": (losses.softmax_cross_entropy, _share_correct_class),
    "hinge": (losses.max_margin, _share_correct_sign),
}
"""The same losses for Tensor models: each the mean over a batch, one graph for the batch, and
its accuracy as the share of the batch predicted right (the same rules as :data:`LOSSES`)."""

_LABELS: dict[str, tuple[int, ...]] = {
    "binary_cross_entropy": (0, 1),
    "binary_cross_entropy_with_logits": (0, 1),
    "hinge": (-1, 1),
}


def _resolve(
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None,
    table: Mapping[str, tuple[LossFunction, Metric | None]] = LOSSES,
) -> tuple[LossFunction, dict[str, Metric]]:
    if isinstance(loss, str):
        if loss not in table:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(table)}")
        function, accuracy = table[loss]
        default = {"accuracy": accuracy} if accuracy is not None else {}
    elif callable(loss):
        function, default = loss, {}
    else:
        raise TypeError(f"loss must be a name or a function (output, target) -> Value: {loss!r}")
    return function, dict(default if metrics is None else metrics)


def _check_targets(loss: str | LossFunction, y: Targets, what: str) -> None:
    """Catch a wrong label before training starts, naming the example."""
    if not isinstance(loss, str):
        return
    allowed = _LABELS.get(loss)
    for i, target in enumerate(y):
        if isinstance(target, (bool, np.bool_)):
            ok = False
        elif allowed is not None:
            ok = isinstance(target, (int, float, np.integer, np.floating)) and target in allowed
        elif loss == "softmax_cross_entropy":
            ok = isinstance(target, (int, np.integer))
        else:
            ok = True
        if not ok:
            needs = f"labels in {set(allowed)}" if allowed is not None else "int class indices"
            hint = " (map 0/1 labels with nn.datasets.to_signed)" if loss == "hinge" else ""
            raise ValueError(f"{what} {i} is {target!r}, but {loss} needs {needs}{hint}")


# -- batches -----------------------------------------------------------------------------------


def minibatches(
    n: int, batch_size: int | None, rng: random.Random | None = None
) -> list[list[int]]:
    """The example indices 0 .. n-1 cut into batches of ``batch_size`` (the last may be short).

    ``batch_size=None`` is one batch of everything. With ``rng`` the indices are shuffled
    first (a new order every call), without it they stay in order.
    """
    if batch_size is not None:
        _positive_int(batch_size, "batch_size")
    order = list(range(n))
    if rng is not None:
        rng.shuffle(order)
    size = n if batch_size is None else batch_size
    return [order[start : start + size] for start in range(0, n, size)]


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _strength(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} is a regularisation strength: a finite number >= 0, got {value}")
    return float(value)


def _check_data(X: Sized, y: Sized, what: str) -> None:
    if len(X) != len(y):
        raise ValueError(f"{what}: {len(X)} examples in X but {len(y)} targets in y")
    if len(X) == 0:
        raise ValueError(f"{what} is empty: give at least one example")


# -- the two kinds of model: how a batch's loss and metrics are computed --------------------------


class Examples(Protocol):
    """A data set as one kind of model reads it: the only part of ``fit`` not shared."""

    metrics: Mapping[str, Metric]

    def __len__(self) -> int: ...

    def take(self, rows: list[int]) -> Examples:
        """The examples at ``rows`` (a validation split)."""
        ...

    def batch(self, model: Model, rows: list[int]) -> tuple[Any, dict[str, float]]:
        """The mean loss over ``rows`` (a graph, ready for ``backward``) and each metric summed
        over them."""
        ...


@dataclass
class Scalars:
    """Examples for a scalar model: one forward pass, one graph, per example; the batch's loss
    is :func:`nn.losses.mean` of theirs."""

    X: Inputs
    y: Targets
    loss: LossFunction
    metrics: Mapping[str, Metric]

    def __len__(self) -> int:
        return len(self.X)

    def take(self, rows: list[int]) -> Scalars:
        return Scalars(
            [self.X[i] for i in rows], [self.y[i] for i in rows], self.loss, self.metrics
        )

    def batch(self, model: Model, rows: list[int]) -> tuple[Any, dict[str, float]]:
        example_losses = []
        sums = dict.fromkeys(self.metrics, 0.0)
        for i in rows:
            output = model(self.X[i])
            example_losses.append(self.loss(output, self.y[i]))
            for name, metric in self.metrics.items():
                sums[name] += metric(output, self.y[i])
        return losses.mean(example_losses), sums


@dataclass
class Arrays:
    """Examples for a Tensor model: X an array whose first axis is the examples, y an array of
    targets; a batch is forwarded at once and its loss is one Tensor, the batch's mean."""

    X: np.ndarray
    y: np.ndarray
    loss: LossFunction
    metrics: Mapping[str, Metric]

    def __len__(self) -> int:
        return len(self.X)

    def take(self, rows: list[int]) -> Arrays:
        return Arrays(self.X[rows], self.y[rows], self.loss, self.metrics)

    def batch(self, model: Model, rows: list[int]) -> tuple[Any, dict[str, float]]:
        targets = self.y[rows]
        outputs = model(Tensor(self.X[rows], requires_grad=False))
        J = self.loss(outputs, targets)
        if not isinstance(J, Tensor) or J.size != 1:
            shape = J.shape if isinstance(J, Tensor) else type(J).__name__
            raise ValueError(
                f"the loss of a Tensor model must be one Tensor number, the batch's mean; the "
                f"loss function gave {shape}"
            )
        n = len(rows)
        return J, {name: metric(outputs, targets) * n for name, metric in self.metrics.items()}


def holds_tensors(model: Model) -> bool:
    """True for a Tensor model: its parameters are :class:`autograd.Tensor` (not Values)."""
    kinds = {type(p) for p in model.parameters()}
    if Tensor in kinds and Value in kinds:
        raise TypeError("the model mixes Value and Tensor parameters; fit trains one kind")
    return Tensor in kinds


def _examples(
    model: Model,
    X: Inputs,
    y: Targets,
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None,
    what: str,
    target: str,
) -> Examples:
    """``(X, y)`` checked and ready for ``model``: :class:`Arrays` for a Tensor model, else
    :class:`Scalars`. ``what`` and ``target`` name the data and its targets in messages."""
    if holds_tensors(model):
        return _arrays(model, X, y, loss, metrics, what, target)
    _check_data(X, y, what)
    function, chosen = _resolve(loss, metrics)
    _check_targets(loss, y, target)
    return Scalars(X, y, function, chosen)


def _arrays(
    model: Model,
    X: Inputs,
    y: Targets,
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None,
    what: str,
    target: str,
) -> Arrays:
    """X and y as arrays, checked against the loss and against the model's output shape."""
    function, chosen = _resolve(loss, metrics, TENSOR_LOSSES)
    parameter = model.parameters()[0]
    assert isinstance(parameter, Tensor)  # (holds_tensors said so)
    dtype = parameter.dtype
    inputs = _input_array(X, dtype, what)
    targets = _target_array(y, what)
    _check_data(inputs, targets, what)
    bad = ~np.isfinite(inputs)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{what}: row {first[0]} of X holds {inputs[first]} (at position {first[1:]} of the "
            "row); every input must be a finite number"
        )
    if isinstance(loss, str):
        _check_target_array(loss, targets, target)
        targets = _fitted_to_outputs(loss, targets, _probe(model, inputs, what), target)
    return Arrays(inputs, targets, function, chosen)


def _input_array(X: Any, dtype: Any, what: str) -> np.ndarray:
    if isinstance(X, Tensor):
        X = X.data
    try:
        inputs = np.array(X, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{what}: X must be numbers of one shape, an array with one row per example: {error}"
        ) from None
    if inputs.ndim < 2:
        raise ValueError(
            f"{what}: X has shape {inputs.shape}, but a Tensor model takes an array with one row "
            "per example, (N, features) or (N, C, H, W); for one feature use X.reshape(-1, 1)"
        )
    return inputs


def _target_array(y: Any, what: str) -> np.ndarray:
    try:
        targets = np.array(y)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{what}: y must be an array of targets, one per example: {error}"
        ) from None
    if targets.ndim == 0:
        raise ValueError(f"{what}: y must hold one target per example, got the single {y!r}")
    return targets


def _check_target_array(loss: str, y: np.ndarray, what: str) -> None:
    """The vectorised :func:`_check_targets`: the first wrong target is named by its row."""
    allowed = _LABELS.get(loss)
    numeric = y.dtype.kind in "iuf"
    if loss == "softmax_cross_entropy":
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"{what}s are of dtype {y.dtype}, but softmax_cross_entropy needs int class "
                "indices (an integer array; for one-hot targets use y.argmax(axis=1))"
            )
        bad = y < 0
        needs = "int class indices from 0"
    elif allowed is not None:
        bad = ~np.isin(y, allowed) if numeric else np.ones(y.shape, dtype=bool)
        needs = f"labels in {set(allowed)}"
    else:
        bad = ~np.isfinite(y) if numeric else np.ones(y.shape, dtype=bool)
        needs = "finite numbers"
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        hint = " (map 0/1 labels with nn.datasets.to_signed)" if loss == "hinge" else ""
        value = y[first].item() if isinstance(y[first], np.generic) else y[first]
        raise ValueError(f"{what} {first[0]} is {value!r}, but {loss} needs {needs}{hint}")


def _probe(model: Model, inputs: np.ndarray, what: str) -> Tensor:
    """The model's output for the first example, in eval mode and without a graph: it changes
    nothing (no running statistics, no dropout draws) and shows the output's shape."""
    try:
        with no_grad(), _mode(model, training=False):
            outputs = model(Tensor(inputs[:1], requires_grad=False))
    except ValueError as error:
        raise ValueError(
            f"{what}: the model cannot take X of shape {inputs.shape}: {error}"
        ) from None
    if not isinstance(outputs, Tensor) or outputs.ndim == 0 or outputs.shape[0] != 1:
        shape = outputs.shape if isinstance(outputs, Tensor) else type(outputs).__name__
        raise ValueError(
            f"{what}: for one example the model returned {shape}; a Tensor model must return "
            "a Tensor whose first axis is the examples"
        )
    return outputs


def _fitted_to_outputs(loss: str, y: np.ndarray, outputs: Tensor, what: str) -> np.ndarray:
    """Targets shaped as the model's outputs: a column (N, 1) for one output per example."""
    if loss == "softmax_cross_entropy":
        classes = outputs.shape[-1]
        if outputs.ndim != 2 or y.ndim != 1:
            raise ValueError(
                f"softmax_cross_entropy needs logits of shape (N, classes) and targets of shape "
                f"(N,); the model gives {outputs.shape[1:]} per example, y has shape {y.shape}"
            )
        if y.max() >= classes:
            row = int(np.argmax(y >= classes))
            raise ValueError(
                f"{what} {row} is {y[row].item()!r}, but the model has {classes} outputs "
                f"(classes 0 to {classes - 1})"
            )
        return y
    if outputs.shape[1:] == (1,) and y.ndim == 1:
        return y.reshape(-1, 1)
    if outputs.shape[1:] != y.shape[1:]:
        raise ValueError(
            f"the model gives each example an output of shape {outputs.shape[1:]}, but y gives "
            f"targets of shape {y.shape[1:]} ({loss} pairs them up one to one)"
        )
    return y


@contextmanager
def _mode(model: Model, training: bool) -> Iterator[None]:
    """Run in training (or eval) mode, then put back each module's own mode."""
    restore = _modes_of(model)
    model.train(training)
    try:
        yield
    finally:
        restore()


def _modes_of(model: Model) -> Callable[[], None]:
    """A function that puts back the mode of the model and of every module in it, as they are
    now: a model whose layers were in different modes comes back as it was."""
    if not isinstance(model, Module):  # a model of its own kind: its train() restores
        was = model.training
        return lambda: model.train(was)
    modes = [(module, module.training) for module in model.modules()]

    def restore() -> None:
        for module, mode in modes:
            module.training = mode

    return restore


# -- evaluation --------------------------------------------------------------------------------


def evaluate(
    model: Model,
    X: Inputs,
    y: Targets,
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None = None,
) -> dict[str, float]:
    """The mean loss and metrics of ``model`` on ``(X, y)``, without building a graph, in eval
    mode (the model's mode is put back after).

    Returns ``{"loss": ..., "accuracy": ...}`` (accuracy for the classification losses, or
    the ``metrics`` given). A Tensor model takes all of X in one batch.
    """
    return _evaluate(model, _examples(model, X, y, loss, metrics, "the data", "target"))


def _evaluate(model: Model, data: Examples) -> dict[str, float]:
    with no_grad(), _mode(model, training=False):  # numbers only: no graph, nothing to free
        J, sums = data.batch(model, list(range(len(data))))
    n = len(data)
    return {"loss": float(J.data), **{name: s / n for name, s in sums.items()}}


# -- fit ---------------------------------------------------------------------------------------


def fit(
    model: Model,
    X: Inputs,
    y: Targets,
    *,
    loss: str | LossFunction,
    optimizer: Optimizer,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation_split: float = 0.0,
    validation_data: tuple[Inputs, Targets] | None = None,
    patience: int | None = None,
    restore_best: bool = True,
    l2: float = 0.0,
    l1: float = 0.0,
    metrics: Mapping[str, Metric] | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    on_epoch_end: Callable[[int, History], bool | None] | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` on ``(X, y)`` by gradient descent; return the :class:`History`.

    Args:
        model: an :class:`~nn.layers.MLP` or other Module called on one example, or a Tensor
            model (its parameters are Tensors: ``Sequential(Linear(...), ...)``) called on a
            batch.
        X, y: the examples and their targets (see :mod:`nn.losses` for each loss's labels:
            {0, 1}, {-1, +1} or class indices). For a scalar model lists of floats; for a
            Tensor model arrays whose first axis is the examples: X of shape (N, features)
            (or (N, C, H, W)), y of shape (N,) (or (N, outputs) for regression).
        loss: a name from :data:`LOSSES` or a function ``(output, target) -> Value`` for one
            example; for a Tensor model a name (from :data:`TENSOR_LOSSES`) or a function
            ``(outputs, targets) -> Tensor`` giving the batch's mean. A batch's loss is the
            mean over its examples.
        optimizer: e.g. ``nn.optim.SGD(model.parameters(), lr=0.1)``.
        epochs: passes over the training set (at most: early stopping may end sooner).
        batch_size: ``None`` full batch, ``1`` stochastic, ``k`` mini-batches of k.
        shuffle: visit the examples in a new order every epoch.
        seed: seeds the shuffling and the validation split, so a run can be repeated. A scalar
            and a Tensor model get the same batches from the same seed.
        validation_split: the fraction of ``(X, y)`` held out (chosen at random, seeded)
            for validation. Not together with ``validation_data``.
        validation_data: ``(X_val, y_val)`` to evaluate after every epoch.
        patience: early stopping: stop after this many epochs without a lower ``val_loss``.
            Needs validation data.
        restore_best: with ``patience``, put back the parameters (and buffers, such as batch
            norm's running statistics) of the best epoch at the end.
        l2, l1: regularisation strengths on the weights: see :func:`weights_of`.
        metrics: ``{name: metric(output, target) -> float}``, averaged over examples (for a
            Tensor model ``metric(outputs, targets)``, the batch's mean); by default accuracy
            for the classification losses. ``{}`` measures nothing extra.
        lr_schedule: ``epoch -> learning rate``, set on ``optimizer.lr`` before each epoch
            (epochs count from 0). micrograd's demo: ``lambda k: 1.0 - 0.9 * k / 100``.
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after every epoch; return
            True to stop training.
        progress: show a progress bar (tqdm: terminal or Jupyter) with the latest loss.

    Every epoch trains in training mode (``model.train()``) and validates in eval mode
    (``model.eval()``); at the end the model is back in the mode it was given in.

    Raises:
        ValueError: X and y differ in length or are empty, X holds a NaN (the row is named),
            epochs or batch_size < 1, a target does not fit the loss (or the model's number of
            classes), bad validation settings.
        TrainingDiverged: the loss or a gradient became inf or nan (a NonFiniteError: the
            learning rate is probably too large); its ``history`` holds the epochs before.
    """
    data = _examples(model, X, y, loss, metrics, "the training data", "target")
    epochs = _positive_int(epochs, "epochs")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    l2 = _strength(l2, "l2")
    l1 = _strength(l1, "l1")
    if patience is not None:
        patience = _positive_int(patience, "patience")
    if lr_schedule is not None and not hasattr(optimizer, "lr"):
        raise TypeError("lr_schedule sets optimizer.lr, but this optimizer has no lr attribute")

    rng = random.Random(seed)
    train, val = _split(model, data, validation_split, validation_data, rng, loss, metrics)
    if val is None and patience is not None:
        raise ValueError(
            "early stopping watches the validation loss: give validation_split or "
            "validation_data together with patience"
        )

    names = list(data.metrics)
    history = History(metrics={name: [] for name in names})
    if val is not None:
        history.metrics.update({f"val_{name}": [] for name in names})
    weights = weights_of(model) if l2 or l1 else []
    best_loss = math.inf
    best_state: dict[str, Any] | None = None
    waited = 0
    started = time.perf_counter()
    bar = _progress_bar(epochs, progress)
    restore_modes = _modes_of(model)
    try:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch)  # type: ignore[attr-defined]
            lr = getattr(optimizer, "lr", None)
            model.train()
            # numpy need not warn of an overflow: every result that is not finite is caught
            # (by the engine's checks, or the parameter check after each step) and reported
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    train_loss, train_metrics = _run_epoch(
                        model,
                        train,
                        optimizer,
                        minibatches(len(train), batch_size, rng if shuffle else None),
                        weights,
                        l2,
                        l1,
                        history,
                    )
                    measured = _evaluate(model, val) if val is not None else None
            except NonFiniteError as error:
                history.seconds = time.perf_counter() - started
                raise TrainingDiverged(_diverged(epoch, lr, error), history) from error

            history.loss.append(train_loss)
            for name, value in train_metrics.items():
                history.metrics[name].append(value)
            if lr is not None:
                history.lr.append(float(lr))
            history.penalty.append(_penalty(weights, l2, l1))
            if measured is not None:
                history.val_loss.append(measured.pop("loss"))
                for name, value in measured.items():
                    history.metrics[f"val_{name}"].append(value)
            bar.set_postfix(_summary(history), refresh=False)
            bar.update(1)

            stop = False
            if patience is not None:
                if history.val_loss[-1] < best_loss:
                    best_loss = history.val_loss[-1]
                    history.best_epoch = epoch
                    best_state = model.state_dict()
                    waited = 0
                else:
                    waited += 1
                    if waited >= patience:
                        history.stopped_early = stop = True
            if on_epoch_end is not None and on_epoch_end(epoch, history):
                stop = True
            if stop:
                break
    finally:
        bar.close()
        restore_modes()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - started
    return history


def _run_epoch(
    model: Model,
    data: Examples,
    optimizer: Optimizer,
    batches: list[list[int]],
    weights: list[tuple[str, Parameter]],
    l2: float,
    l1: float,
    history: History,
) -> tuple[float, dict[str, float]]:
    """One pass over the batches: a step per batch. Returns the epoch's mean loss and metrics."""
    total = 0.0
    sums: dict[str, float] = {}
    for rows in batches:
        J, batch_sums = data.batch(model, rows)
        total += float(J.data) * len(rows)
        for name, s in batch_sums.items():
            sums[name] = sums.get(name, 0.0) + s
        if l2:
            J = J + l2 * losses.l2_penalty(weights)
        if l1:
            J = J + l1 * losses.l1_penalty(weights)
        # backward adds into .grad: clear the model's gradients (all of them, also any the
        # optimiser does not update) and the optimiser's, then fill them with dJ/dp
        model.zero_grad()
        optimizer.zero_grad()
        J.backward()
        optimizer.step()
        history.steps += 1
        for name, p in model.named_parameters():
            if not all_finite(p.data):
                shown = p.data if isinstance(p, Value) else "values that are not finite"
                raise NonFiniteError(f"the step set parameter {name} to {shown}")
    n = len(data)
    return total / n, {name: s / n for name, s in sums.items()}


def weights_of(model: Model) -> list[tuple[str, Parameter]]:
    """The ``(name, parameter)`` pairs that ``l2`` and ``l1`` act on: the weights (see
    :func:`nn.losses.weights`, the one rule for scalar and Tensor models)."""
    return losses.weights(model.named_parameters())


def _penalty(weights: list[tuple[str, Parameter]], l2: float, l1: float) -> float:
    if not (l2 or l1):
        return 0.0
    with no_grad():
        l2_sum = float(losses.l2_penalty(weights).data)
        l1_sum = float(losses.l1_penalty(weights).data)
    return l2 * l2_sum + l1 * l1_sum


def _split(
    model: Model,
    data: Examples,
    validation_split: float,
    validation_data: tuple[Inputs, Targets] | None,
    rng: random.Random,
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None,
) -> tuple[Examples, Examples | None]:
    """The training and validation sets (``None`` for no validation)."""
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)):
        raise TypeError(f"validation_split must be a number, got {validation_split!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split is a fraction in [0, 1), got {validation_split}")
    if validation_data is not None:
        if validation_split:
            raise ValueError("give validation_split or validation_data, not both")
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        X_val, y_val = validation_data
        what, target = "the validation data", "validation target"
        return data, _examples(model, X_val, y_val, loss, metrics, what, target)
    if not validation_split:
        return data, None
    n_val = int(len(data) * validation_split)
    if n_val < 1 or n_val >= len(data):
        raise ValueError(
            f"validation_split={validation_split} of {len(data)} examples leaves {n_val} for "
            f"validation and {len(data) - n_val} for training; both need at least one"
        )
    order = list(range(len(data)))
    rng.shuffle(order)
    return data.take(order[n_val:]), data.take(order[:n_val])


def _diverged(epoch: int, lr: object, error: NonFiniteError) -> str:
    rate = f"lr={lr}" if lr is not None else "the learning rate"
    return (
        f"training diverged in epoch {epoch + 1}: {error}\n"
        f"The loss, a gradient or a parameter is no longer a finite number. {rate} is probably "
        "too large: try a smaller one (say 10 times smaller), or scale the inputs down."
    )


def _summary(history: History) -> dict[str, str]:
    shown = {"loss": history.loss[-1]}
    if history.val_loss:
        shown["val_loss"] = history.val_loss[-1]
    for name, series in history.metrics.items():
        if series:
            shown[name] = series[-1]
    return {name: f"{value:.4g}" for name, value in shown.items()}


def _progress_bar(epochs: int, enabled: bool) -> Any:
    if not enabled:
        # the plain class: tqdm.auto would warn in Jupyter without ipywidgets, for nothing
        from tqdm import tqdm as silent

        return silent(total=epochs, disable=True)
    from tqdm.auto import tqdm  # terminal or Jupyter widget, whichever fits

    return tqdm(total=epochs, desc="training", unit="epoch")

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
only** (see :mod:`nn.losses`) to every step's loss.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from autograd import NonFiniteError, Value, no_grad
from nn import losses

Output = Value | list[Value]
Example = Sequence[float]
LossFunction = Callable[[Any, Any], Value]
"""``loss(output, target) -> Value`` for one example."""
Metric = Callable[[Any, Any], float]
"""``metric(output, target) -> float`` for one example; averaged over the examples."""


class Model(Protocol):
    """What ``fit`` trains: a :class:`~nn.module.Module` that can be called on one example."""

    def __call__(self, x: Sequence[float], /) -> Output: ...

    def parameters(self) -> list[Value]: ...

    def named_parameters(self) -> Iterator[tuple[str, Value]]: ...

    def zero_grad(self) -> None: ...

    def state_dict(self) -> dict[str, float]: ...

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

_LABELS: dict[str, tuple[int, ...]] = {
    "binary_cross_entropy": (0, 1),
    "binary_cross_entropy_with_logits": (0, 1),
    "hinge": (-1, 1),
}


def _resolve(
    loss: str | LossFunction, metrics: Mapping[str, Metric] | None
) -> tuple[LossFunction, dict[str, Metric]]:
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        function, accuracy = LOSSES[loss]
        default = {"accuracy": accuracy} if accuracy is not None else {}
    elif callable(loss):
        function, default = loss, {}
    else:
        raise TypeError(f"loss must be a name or a function (output, target) -> Value: {loss!r}")
    return function, dict(default if metrics is None else metrics)


def _check_targets(loss: str | LossFunction, y: Sequence[Any], what: str) -> None:
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


def _check_data(X: Sequence[Example], y: Sequence[Any], what: str) -> None:
    if len(X) != len(y):
        raise ValueError(f"{what}: {len(X)} examples in X but {len(y)} targets in y")
    if len(X) == 0:
        raise ValueError(f"{what} is empty: give at least one example")


# -- evaluation --------------------------------------------------------------------------------


def evaluate(
    model: Model,
    X: Sequence[Example],
    y: Sequence[Any],
    loss: str | LossFunction,
    metrics: Mapping[str, Metric] | None = None,
) -> dict[str, float]:
    """The mean loss and metrics of ``model`` on ``(X, y)``, without building a graph.

    Returns ``{"loss": ..., "accuracy": ...}`` (accuracy for the classification losses, or
    the ``metrics`` given).
    """
    _check_data(X, y, "the data")
    _check_targets(loss, y, "target")
    function, chosen = _resolve(loss, metrics)
    return _evaluate(model, X, y, function, chosen)


def _evaluate(
    model: Model,
    X: Sequence[Example],
    y: Sequence[Any],
    loss: LossFunction,
    metrics: Mapping[str, Metric],
) -> dict[str, float]:
    total = 0.0
    sums = dict.fromkeys(metrics, 0.0)
    with no_grad():  # numbers only: no graph is recorded, nothing to free
        for x, target in zip(X, y, strict=True):
            output = model(x)
            total += loss(output, target).data
            for name, metric in metrics.items():
                sums[name] += metric(output, target)
    n = len(X)
    return {"loss": total / n, **{name: s / n for name, s in sums.items()}}


# -- fit ---------------------------------------------------------------------------------------


def fit(
    model: Model,
    X: Sequence[Example],
    y: Sequence[Any],
    *,
    loss: str | LossFunction,
    optimizer: Optimizer,
    epochs: int = 1,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    validation_split: float = 0.0,
    validation_data: tuple[Sequence[Example], Sequence[Any]] | None = None,
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
        model: an :class:`~nn.layers.MLP` or other Module called on one example.
        X, y: the examples (lists of floats) and their targets (see :mod:`nn.losses` for each
            loss's labels: {0, 1}, {-1, +1} or class indices).
        loss: a name from :data:`LOSSES` or a function ``(output, target) -> Value`` for one
            example. A batch's loss is the mean over its examples.
        optimizer: e.g. ``nn.optim.SGD(model.parameters(), lr=0.1)``.
        epochs: passes over the training set (at most: early stopping may end sooner).
        batch_size: ``None`` full batch, ``1`` stochastic, ``k`` mini-batches of k.
        shuffle: visit the examples in a new order every epoch.
        seed: seeds the shuffling and the validation split, so a run can be repeated.
        validation_split: the fraction of ``(X, y)`` held out (chosen at random, seeded)
            for validation. Not together with ``validation_data``.
        validation_data: ``(X_val, y_val)`` to evaluate after every epoch.
        patience: early stopping: stop after this many epochs without a lower ``val_loss``.
            Needs validation data.
        restore_best: with ``patience``, put back the parameters of the best epoch at the end.
        l2, l1: regularisation strengths on the weights (not the biases).
        metrics: ``{name: metric(output, target) -> float}``, averaged over examples; by
            default accuracy for the classification losses. ``{}`` measures nothing extra.
        lr_schedule: ``epoch -> learning rate``, set on ``optimizer.lr`` before each epoch
            (epochs count from 0). micrograd's demo: ``lambda k: 1.0 - 0.9 * k / 100``.
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after every epoch; return
            True to stop training.
        progress: show a progress bar (tqdm: terminal or Jupyter) with the latest loss.

    Raises:
        ValueError: X and y differ in length or are empty, epochs or batch_size < 1, a target
            does not fit the loss, bad validation settings.
        TrainingDiverged: the loss or a gradient became inf or nan (a NonFiniteError: the
            learning rate is probably too large); its ``history`` holds the epochs before.
    """
    _check_data(X, y, "the training data")
    epochs = _positive_int(epochs, "epochs")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    l2 = _strength(l2, "l2")
    l1 = _strength(l1, "l1")
    if patience is not None:
        patience = _positive_int(patience, "patience")
    loss_function, chosen = _resolve(loss, metrics)
    _check_targets(loss, y, "target")
    if lr_schedule is not None and not hasattr(optimizer, "lr"):
        raise TypeError("lr_schedule sets optimizer.lr, but this optimizer has no lr attribute")

    rng = random.Random(seed)
    X_train, y_train, X_val, y_val = _split(X, y, validation_split, validation_data, rng)
    if X_val is not None and y_val is not None:
        _check_data(X_val, y_val, "the validation data")
        _check_targets(loss, y_val, "validation target")
    elif patience is not None:
        raise ValueError(
            "early stopping watches the validation loss: give validation_split or "
            "validation_data together with patience"
        )

    history = History(metrics={name: [] for name in chosen})
    if X_val is not None:
        history.metrics.update({f"val_{name}": [] for name in chosen})
    best_loss = math.inf
    best_state: dict[str, float] | None = None
    waited = 0
    started = time.perf_counter()
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in range(epochs):
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(epoch)  # type: ignore[attr-defined]
            lr = getattr(optimizer, "lr", None)
            try:
                train_loss, train_metrics = _run_epoch(
                    model,
                    X_train,
                    y_train,
                    loss_function,
                    chosen,
                    optimizer,
                    minibatches(len(X_train), batch_size, rng if shuffle else None),
                    l2,
                    l1,
                    history,
                )
            except NonFiniteError as error:
                history.seconds = time.perf_counter() - started
                raise TrainingDiverged(_diverged(epoch, lr, error), history) from error

            history.loss.append(train_loss)
            for name, value in train_metrics.items():
                history.metrics[name].append(value)
            if lr is not None:
                history.lr.append(float(lr))
            history.penalty.append(_penalty(model, l2, l1))
            if X_val is not None and y_val is not None:
                measured = _evaluate(model, X_val, y_val, loss_function, chosen)
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
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - started
    return history


def _run_epoch(
    model: Model,
    X: Sequence[Example],
    y: Sequence[Any],
    loss: LossFunction,
    metrics: Mapping[str, Metric],
    optimizer: Optimizer,
    batches: list[list[int]],
    l2: float,
    l1: float,
    history: History,
) -> tuple[float, dict[str, float]]:
    """One pass over the batches: a step per batch. Returns the epoch's mean loss and metrics."""
    total = 0.0
    sums = dict.fromkeys(metrics, 0.0)
    for batch in batches:
        example_losses = []
        for i in batch:
            output = model(X[i])
            example_losses.append(loss(output, y[i]))
            for name, metric in metrics.items():
                sums[name] += metric(output, y[i])
        J = losses.mean(example_losses)
        total += J.data * len(batch)
        if l2:
            J = J + l2 * losses.l2_penalty(model.named_parameters())
        if l1:
            J = J + l1 * losses.l1_penalty(model.named_parameters())
        # backward adds into .grad: clear the model's gradients (all of them, also any the
        # optimiser does not update) and the optimiser's, then fill them with dJ/dp
        model.zero_grad()
        optimizer.zero_grad()
        J.backward()
        optimizer.step()
        history.steps += 1
        for name, p in model.named_parameters():
            if not math.isfinite(p.data):
                raise NonFiniteError(f"the step set parameter {name} to {p.data}")
    n = len(X)
    return total / n, {name: s / n for name, s in sums.items()}


def _penalty(model: Model, l2: float, l1: float) -> float:
    if not (l2 or l1):
        return 0.0
    with no_grad():
        named = list(model.named_parameters())
        return l2 * losses.l2_penalty(named).data + l1 * losses.l1_penalty(named).data


def _split(
    X: Sequence[Example],
    y: Sequence[Any],
    validation_split: float,
    validation_data: tuple[Sequence[Example], Sequence[Any]] | None,
    rng: random.Random,
) -> tuple[Sequence[Example], Sequence[Any], Sequence[Example] | None, Sequence[Any] | None]:
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
        return X, y, validation_data[0], validation_data[1]
    if not validation_split:
        return X, y, None, None
    n_val = int(len(X) * validation_split)
    if n_val < 1 or n_val >= len(X):
        raise ValueError(
            f"validation_split={validation_split} of {len(X)} examples leaves {n_val} for "
            f"validation and {len(X) - n_val} for training; both need at least one"
        )
    order = list(range(len(X)))
    rng.shuffle(order)
    val, train = order[:n_val], order[n_val:]
    return [X[i] for i in train], [y[i] for i in train], [X[i] for i in val], [y[i] for i in val]


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

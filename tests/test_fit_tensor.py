"""nn.fit on Tensor models: the same loop as for scalar models, one batch per forward pass.

The scalar path is the reference: a Tensor MLP with the same weights, trained on the same
batches, must give the same History to 1e-9. Then what only Tensor models have: train / eval
modes (Dropout, BatchNorm1d), weights that are matrices, and arrays as data.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from typing import Any

import numpy as np
import pytest

import nn
from autograd import NonFiniteError, Tensor, Value, is_grad_enabled
from nn import (
    MLP,
    SGD,
    Adam,
    BatchNorm1d,
    Dropout,
    Linear,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Standardizer,
    Tanh,
    datasets,
    losses,
)
from nn.train import History, TrainingDiverged, evaluate, fit

BCE = "binary_cross_entropy_with_logits"
TIGHT: dict[str, Any] = {"rtol": 1e-9, "atol": 1e-12}


def digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1797 digits, 80% for training and 20% held out (a seeded shuffle), standardised
    with the training split's statistics."""
    X, y = datasets.digits()
    order = np.random.default_rng(seed).permutation(len(X))
    images, labels = np.array(X)[order], np.array(y)[order]
    n_train = int(0.8 * len(images))
    scaler = Standardizer().fit(images[:n_train])
    X_train, X_test = scaler.transform(images[:n_train]), scaler.transform(images[n_train:])
    return X_train, labels[:n_train], X_test, labels[n_train:]


def twins(
    sizes: list[int], activation: str = "tanh", output: str = "linear", seed: int = 0
) -> tuple[MLP, Sequential]:
    """A scalar MLP and a Tensor Sequential with the same weights: nn.Linear draws from the
    same initialiser in the same order as nn.Layer, so one generator, passed along the layers,
    gives both the same numbers."""
    scalar = MLP(sizes[0], sizes[1:], activation=activation, output_activation=output,
                 init="xavier", seed=random.Random(seed))  # fmt: skip
    rng = random.Random(seed)
    act = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU}
    layers: list[Module] = []
    for k, (nin, nout) in enumerate(itertools.pairwise(sizes)):
        layers.append(Linear(nin, nout, init="xavier", seed=rng))
        last = k == len(sizes) - 2
        if not last or output != "linear":
            layers.append(act[output if last else activation]())
    tensor = Sequential(*layers)
    return scalar, tensor


def weight_matrix(model: MLP, layer: int) -> np.ndarray:
    return np.array([[w.data for w in n.w] for n in model.layers[layer].neurons])


# -- learning ------------------------------------------------------------------------------------


def test_a_tensor_mlp_learns_the_digits() -> None:
    """64-64-10 with ReLU, Adam, mini-batches of 32: at least 95% of the held-out digits."""
    X_train, y_train, X_test, y_test = digits_split()
    model = Sequential(Linear(64, 64, seed=0), ReLU(), Linear(64, 10, seed=1))
    started = time.perf_counter()
    history = fit(
        model,
        X_train,
        y_train,
        loss="softmax_cross_entropy",
        optimizer=Adam(model.parameters(), lr=1e-3),
        epochs=8,
        batch_size=32,
        validation_data=(X_test, y_test),
        progress=False,
    )
    seconds = time.perf_counter() - started
    measured = evaluate(model, X_test, y_test, "softmax_cross_entropy")
    print(f"digits: held-out accuracy {measured['accuracy']:.3f} after 8 epochs, {seconds:.2f} s")
    assert measured["accuracy"] >= 0.95
    assert history.val_accuracy[-1] == measured["accuracy"]
    assert history.val_loss[-1] == pytest.approx(measured["loss"], rel=1e-12)
    assert history.loss[-1] < history.loss[0] < math.log(10) + 0.5
    assert history.steps == 8 * math.ceil(len(X_train) / 32)
    assert history.accuracy[-1] > 0.95 and history.seconds > 0
    assert model.training  # back in the mode it was given in


# -- the same History as the scalar path ---------------------------------------------------------


def moons_for(loss: str) -> tuple[list[list[float]], list[Any], list[int], str]:
    """Two moons with the labels each loss wants, and the model's output activation."""
    X, y = datasets.moons(40, noise=0.1, seed=0)
    if loss == "hinge":
        return X, datasets.to_signed(y), [2, 6, 6, 1], "linear"
    if loss == "binary_cross_entropy":
        return X, y, [2, 6, 6, 1], "sigmoid"
    if loss == "squared_error":
        return X, [2.0 * t - 1.0 for t in y], [2, 6, 6, 1], "linear"
    if loss == "softmax_cross_entropy":
        Xs, ys = datasets.spirals(14, classes=3, noise=0.1, seed=0)
        return Xs, ys, [2, 6, 6, 3], "linear"
    return X, y, [2, 6, 6, 1], "linear"


@pytest.mark.parametrize(
    "loss", [BCE, "binary_cross_entropy", "hinge", "squared_error", "softmax_cross_entropy"]
)
def test_the_tensor_path_gives_the_scalar_paths_history(loss: str) -> None:
    X, y, sizes, output = moons_for(loss)
    scalar, tensor = twins(sizes, output=output)
    for k in range(len(sizes) - 1):
        np.testing.assert_array_equal(tensor[2 * k].W.data, weight_matrix(scalar, k))  # type: ignore[attr-defined]
    settings: dict[str, Any] = {
        "loss": loss,
        "epochs": 3,
        "batch_size": 7,
        "seed": 3,
        "validation_split": 0.25,
        "l2": 1e-3,
        "l1": 5e-4,
        "progress": False,
    }
    ours = fit(scalar, X, y, optimizer=SGD(scalar.parameters(), lr=0.3), **settings)
    theirs = fit(
        tensor, np.array(X), np.array(y), optimizer=SGD(tensor.parameters(), lr=0.3), **settings
    )
    for series in ("loss", "val_loss", "penalty", "lr"):
        np.testing.assert_allclose(theirs[series], ours[series], **TIGHT, err_msg=series)
        assert len(ours[series]) == 3
    assert set(theirs.metrics) == set(ours.metrics)
    for name in ours.metrics:
        np.testing.assert_allclose(theirs[name], ours[name], **TIGHT, err_msg=name)
    assert theirs.steps == ours.steps
    for k in range(len(sizes) - 1):  # and the same weights at the end
        W = tensor[2 * k].W.data  # type: ignore[attr-defined]
        np.testing.assert_allclose(W, weight_matrix(scalar, k), **TIGHT)


class ScalarRecorder:
    """Squared error that notes, per training step, the targets it is given."""

    def __init__(self) -> None:
        self.batches: list[list[float]] = [[]]

    def __call__(self, output: Value, target: float) -> Value:
        if is_grad_enabled():
            self.batches[-1].append(target)
        return losses.squared_error(output, target)


class TensorRecorder:
    """The same for a Tensor model: one call per batch."""

    def __init__(self) -> None:
        self.batches: list[list[float]] = []

    def __call__(self, outputs: Tensor, targets: np.ndarray) -> Tensor:
        if is_grad_enabled():
            self.batches.append(targets.ravel().tolist())
        loss: Tensor = losses.mean_squared_error(outputs, targets.reshape(outputs.shape))
        return loss


def test_both_paths_visit_the_same_batches_in_the_same_order() -> None:
    n, batch = 20, 3
    X = [[i / n] for i in range(n)]
    y = [float(i) for i in range(n)]  # a target names its example
    scalar, tensor = twins([1, 1])
    settings: dict[str, Any] = {
        "epochs": 2,
        "batch_size": batch,
        "seed": 5,
        "validation_split": 0.25,
        "progress": False,
    }
    flat = ScalarRecorder()
    fit(scalar, X, y, loss=flat, optimizer=SGD(scalar.parameters(), lr=1e-3), **settings)
    batched = TensorRecorder()
    fit(
        tensor,
        np.array(X),
        np.array(y),
        loss=batched,
        optimizer=SGD(tensor.parameters(), lr=1e-3),
        **settings,
    )
    seen = flat.batches[0]
    sizes = [len(b) for b in batched.batches]
    assert sizes == [3, 3, 3, 3, 3] * 2  # 15 training examples, in batches of 3
    cut = np.cumsum([0, *sizes])
    assert [seen[a:b] for a, b in itertools.pairwise(cut)] == batched.batches
    first, second = batched.batches[:5], batched.batches[5:]
    assert first != second  # shuffled anew each epoch
    assert sorted(itertools.chain(*first)) == sorted(
        itertools.chain(*second)
    )  # the same 15, every epoch


# -- validation and early stopping ---------------------------------------------------------------


def flipped_run(restore_best: bool) -> tuple[Sequential, History, list[dict[str, Any]]]:
    """Validation labels are the training labels flipped: the best epoch is the first."""
    X, y = datasets.moons(20, noise=0.05, seed=0)
    X_array, y_array = np.array(X), np.array(y)
    model = Sequential(Linear(2, 4, seed=0), Tanh(), Linear(4, 1, seed=1))
    states: list[dict[str, Any]] = []
    history = fit(
        model,
        X_array,
        y_array,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.5),
        epochs=50,
        validation_data=(X_array, 1 - y_array),
        patience=3,
        restore_best=restore_best,
        on_epoch_end=lambda epoch, h: states.append(model.state_dict()),
        progress=False,
    )
    return model, history, states


def test_early_stopping_restores_the_best_epoch() -> None:
    model, history, states = flipped_run(restore_best=True)
    assert history.stopped_early and history.best_epoch == 0
    assert history.epochs == 4  # the best epoch, then 3 without improvement
    assert history.val_loss[1] > history.val_loss[0]
    assert model.state_dict() == states[0] != states[-1]


def test_early_stopping_without_restoring_keeps_the_last() -> None:
    model, history, states = flipped_run(restore_best=False)
    assert history.stopped_early and history.epochs == 4
    assert model.state_dict() == states[-1] != states[0]


def test_validation_split_holds_out_a_seeded_random_part() -> None:
    n = 20
    X, y = np.arange(n, dtype=float).reshape(-1, 1) / n, np.arange(n, dtype=float)
    _, model = twins([1, 1])
    recorder = TensorRecorder()
    history = fit(
        model,
        X,
        y,
        loss=recorder,
        optimizer=SGD(model.parameters(), lr=1e-3),
        epochs=2,
        validation_split=0.25,
        progress=False,
    )
    trained = set(recorder.batches[0])
    assert len(recorder.batches) == 2 and len(trained) == 15
    assert set(recorder.batches[1]) == trained
    held_out = [i for i in range(n) if float(i) not in trained]
    assert len(held_out) == 5 and held_out != list(range(15, 20))
    measured = evaluate(model, X[held_out], y[held_out], recorder)
    assert history.val_loss[-1] == pytest.approx(measured["loss"], rel=1e-12)


# -- regularisation: the weight matrices only ----------------------------------------------------


def zero_loss(outputs: Tensor, targets: np.ndarray) -> Tensor:
    return (outputs * 0.0).sum()


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_regularisation_moves_the_weight_matrices_only(kind: str) -> None:
    model = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Tanh(), Linear(3, 1, seed=1))
    for name, p in model.named_parameters():
        p.data = np.full(p.shape, 0.5 if not name.endswith(".W") else 1.0)
    model[3].W.data = -model[3].W.data  # type: ignore[attr-defined]
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    strength = 0.5 if kind == "l2" else 0.25
    penalty: dict[str, Any] = {kind: strength}
    history = fit(
        model,
        np.array([[1.0, 2.0], [3.0, -1.0]]),
        np.array([0.0, 1.0]),
        loss=zero_loss,
        optimizer=SGD(model.parameters(), lr=0.1),
        progress=False,
        **penalty,
    )
    for name, p in model.named_parameters():
        if not name.endswith(".W"):  # biases, γ and β stay
            np.testing.assert_array_equal(p.data, before[name], err_msg=name)
        elif kind == "l2":  # w - lr * 2 l2 w = 0.9 w
            np.testing.assert_allclose(p.data, 0.9 * before[name], rtol=1e-15)
        else:  # w - lr * l1 sign(w)
            np.testing.assert_allclose(p.data, before[name] - 0.025 * np.sign(before[name]))
    matrices = [p.data for name, p in model.named_parameters() if name.endswith(".W")]
    if kind == "l2":
        expected = strength * sum(float((W**2).sum()) for W in matrices)
    else:
        expected = strength * sum(float(np.abs(W).sum()) for W in matrices)
    assert history.penalty == [pytest.approx(expected, rel=1e-12)]


# -- train and eval modes ------------------------------------------------------------------------


class ModeRecorder(Module):
    """The identity, noting for every call whether it ran in training mode, and how many
    examples it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[bool, int]] = []

    def __call__(self, x: Tensor) -> Tensor:
        self.calls.append((self.training, x.shape[0]))
        return x


@pytest.mark.parametrize("start_in_eval", [False, True])
def test_training_steps_run_in_training_mode_and_validation_in_eval(start_in_eval: bool) -> None:
    recorder = ModeRecorder()
    model = Sequential(Linear(2, 3, seed=0), recorder, Tanh(), Linear(3, 1, seed=1))
    if start_in_eval:
        model.eval()
    X, y = datasets.moons(12, seed=0)
    X_val, y_val = datasets.moons(5, seed=1)
    fit(
        model,
        np.array(X),
        np.array(y),
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=4,
        validation_data=(np.array(X_val), np.array(y_val)),
        progress=False,
    )
    training = [n for mode, n in recorder.calls if mode]
    evaluating = [n for mode, n in recorder.calls if not mode]
    assert training == [4, 4, 4, 4, 4, 4]  # every training step, and nothing else
    assert evaluating == [1, 1, 5, 5]  # the two shape probes, one validation per epoch
    assert model.training is not start_in_eval and recorder.training is not start_in_eval


def test_dropout_draws_masks_for_training_steps_only() -> None:
    """The Dropout layer's generator advanced by exactly one mask per training batch: neither
    the validation nor the shape probe drew one."""
    drop = Dropout(0.5, seed=7)
    model = Sequential(Linear(2, 8, seed=0), ReLU(), drop, Linear(8, 1, seed=1))
    X, y = datasets.moons(10, seed=0)
    moons_val = datasets.moons(6, seed=1)
    X_val, y_val = np.array(moons_val[0]), np.array(moons_val[1])
    history = fit(
        model,
        np.array(X),
        np.array(y),
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.1),
        epochs=3,
        batch_size=4,
        shuffle=False,
        validation_data=(X_val, y_val),
        progress=False,
    )
    reference = np.random.default_rng(7)
    for _ in range(3):
        for size in (4, 4, 2):
            reference.random((size, 8))
    assert drop.rng.bit_generator.state == reference.bit_generator.state
    # validation is deterministic: it is the evaluation of the final model, dropout off
    assert history.val_loss[-1] == evaluate(model, X_val, y_val, BCE)["loss"]
    assert drop.rng.bit_generator.state == reference.bit_generator.state


def test_batchnorm_running_statistics_come_from_training_batches_only() -> None:
    """Batch norm on the inputs: its running mean follows PyTorch's rule over the training
    batches (whatever the weights do), and the validation inputs, 100 away, leave no trace."""
    bn = BatchNorm1d(2)
    model = Sequential(bn, Linear(2, 1, seed=0))
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = (X[:, 0] > 0).astype(int)
    fit(
        model,
        X,
        y,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.1),
        epochs=2,
        batch_size=5,
        shuffle=False,
        validation_data=(X + 100.0, y),
        progress=False,
    )
    mean, var = np.zeros(2), np.ones(2)
    for _ in range(2):
        for rows in (slice(0, 5), slice(5, 10)):
            mean = 0.9 * mean + 0.1 * X[rows].mean(axis=0)
            var = 0.9 * var + 0.1 * X[rows].var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean.data, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, var, rtol=1e-12)


def test_restore_best_puts_back_the_running_statistics_too() -> None:
    bn = BatchNorm1d(4)
    model = Sequential(Linear(2, 4, seed=0), bn, Tanh(), Linear(4, 1, seed=1))
    X, y = datasets.moons(20, noise=0.05, seed=0)
    X_array, y_array = np.array(X), np.array(y)
    means: list[np.ndarray] = []
    history = fit(
        model,
        X_array,
        y_array,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.5),
        epochs=30,
        batch_size=5,
        validation_data=(X_array, 1 - y_array),
        patience=2,
        on_epoch_end=lambda epoch, h: means.append(bn.running_mean.data.copy()),
        progress=False,
    )
    assert history.stopped_early and history.best_epoch is not None
    assert history.epochs > history.best_epoch + 1
    np.testing.assert_array_equal(bn.running_mean.data, means[history.best_epoch])
    assert not np.array_equal(means[-1], means[history.best_epoch])


# -- divergence and bad input --------------------------------------------------------------------


def test_divergence_is_reported_with_advice() -> None:
    model = Sequential(Linear(1, 1, seed=0))
    with pytest.raises(TrainingDiverged, match="smaller") as caught:
        fit(
            model,
            np.array([[100.0], [-50.0]]),
            np.array([1e6, -1e6]),
            loss="squared_error",
            optimizer=SGD(model.parameters(), lr=10.0),
            epochs=1000,
            progress=False,
        )
    assert isinstance(caught.value, NonFiniteError)
    assert "lr=10.0" in str(caught.value)
    assert 0 < caught.value.history.epochs < 1000
    assert model.training


def bad_input_model() -> Sequential:
    return Sequential(Linear(2, 4, seed=0), ReLU(), Linear(4, 3, seed=1))


def three_classes(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    X, y = datasets.spirals(n, classes=3, seed=0)
    return np.array(X), np.array(y)


def with_nan(X: np.ndarray, row: int) -> np.ndarray:
    X = X.copy()
    X[row, 1] = np.nan
    return X


X3, Y3 = three_classes()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"X": X3[:-1]}, "29 examples in X but 30 targets"),
        ({"X": X3[:0], "y": Y3[:0]}, "empty"),
        ({"X": with_nan(X3, 7)}, r"row 7 of X holds nan"),
        ({"X": X3[:, :1]}, r"cannot take X of shape \(30, 1\).*expects inputs of shape \(N, 2\)"),
        ({"X": X3[:, 0]}, r"X has shape \(30,\).*X.reshape\(-1, 1\)"),
        ({"X": [[0.0, 1.0], [2.0]] * 15}, "numbers of one shape"),
        (
            {"y": np.where(np.arange(30) == 3, 12, Y3)},
            r"target 3 is 12, but the model has 3 outputs",
        ),
        ({"y": np.where(np.arange(30) == 4, -1, Y3)}, "target 4 is -1"),
        ({"y": Y3.astype(float)}, "int class indices"),
        ({"validation_data": (with_nan(X3, 2), Y3)}, "the validation data: row 2 of X holds nan"),
        ({"validation_data": (X3, Y3[:5])}, "30 examples in X but 5 targets"),
        ({"loss": "mse"}, "unknown loss 'mse'"),
        ({"loss": "hinge"}, r"target 0 is 2, but hinge needs labels in .*to_signed"),
        ({"loss": BCE}, r"target \d+ is 2, but binary_cross_entropy_with_logits needs labels"),
        ({"loss": "squared_error"}, r"output of shape \(3,\), but y gives targets of shape \(\)"),
    ],
)
def test_bad_input_is_refused_before_training(change: dict[str, Any], match: str) -> None:
    model = bad_input_model()
    before = model.state_dict()
    arguments: dict[str, Any] = {
        "X": X3,
        "y": Y3,
        "loss": "softmax_cross_entropy",
        "optimizer": SGD(model.parameters(), lr=0.1),
        "epochs": 1,
        "progress": False,
        **change,
    }
    with pytest.raises(ValueError, match=match):
        fit(model, **arguments)
    assert model.state_dict() == before


def test_nan_targets_are_named_by_row() -> None:
    model = Sequential(Linear(2, 1, seed=0))
    y = np.arange(6, dtype=float)
    y[4] = np.nan
    with pytest.raises(ValueError, match="target 4 is nan, but squared_error needs finite"):
        fit(model, np.ones((6, 2)), y, loss="squared_error", optimizer=SGD(model.parameters()))
    with pytest.raises(ValueError, match="target 4 is nan"):
        evaluate(model, np.ones((6, 2)), y, "squared_error")


# -- batch norm makes a deep sigmoid network trainable -------------------------------------------


def deep_sigmoid(batch_norm: bool, depth: int = 10, width: int = 32) -> Sequential:
    """depth x (Linear, [BatchNorm1d,] Sigmoid), then Linear to 10 logits; Xavier weights from
    one seeded generator, so both variants start from the same weights."""
    rng = random.Random(0)
    layers: list[Module] = []
    nin = 64
    for _ in range(depth):
        layers.append(Linear(nin, width, init="xavier", seed=rng))
        if batch_norm:
            layers.append(BatchNorm1d(width))
        layers.append(Sigmoid())
        nin = width
    layers.append(Linear(nin, 10, init="xavier", seed=rng))
    return Sequential(*layers)


def test_batch_norm_makes_a_deep_sigmoid_mlp_trainable() -> None:
    """Ten sigmoid layers: the plain network's gradients vanish on the way down and its loss
    stays near log 10 = 2.30, chance level; with batch norm after every Linear the same network,
    optimiser, batches and steps get the loss far lower."""
    X_train, y_train, _, _ = digits_split()
    final = {}
    for batch_norm in (False, True):
        model = deep_sigmoid(batch_norm)
        history = fit(
            model,
            X_train,
            y_train,
            loss="softmax_cross_entropy",
            optimizer=SGD(model.parameters(), lr=0.5),
            epochs=4,
            batch_size=64,
            seed=0,
            progress=False,
        )
        final[batch_norm] = history.loss[-1]
    print(f"after 4 epochs: plain {final[False]:.3f}, batch norm {final[True]:.3f}")
    assert final[False] > math.log(10) - 0.1  # stalled at chance
    assert final[True] < 1.0
    assert final[True] < final[False] - 1.0


def test_fit_puts_back_each_layers_own_mode() -> None:
    """A model whose layers are in different modes (dropout switched off by hand, the rest
    training) comes back from fit exactly so: every module's mode is restored, not the
    top-level one copied down."""
    X, y = nn.datasets.moons(40, seed=0)
    drop = nn.Dropout(0.5, seed=0)
    model = nn.Sequential(nn.Linear(2, 8, seed=0), nn.ReLU(), drop, nn.Linear(8, 2, seed=1))
    drop.eval()
    before = [m.training for m in model.modules()]
    assert before.count(False) == 1
    nn.fit(
        model,
        np.array(X),
        np.array(y),
        loss="softmax_cross_entropy",
        optimizer=nn.SGD(model.parameters(), lr=0.1),
        epochs=1,
        validation_split=0.25,
        progress=False,
    )
    assert [m.training for m in model.modules()] == before


def test_modules_lists_each_module_once_parents_first() -> None:
    inner = nn.Linear(2, 2, seed=0)
    model = nn.Sequential(inner, nn.ReLU(), nn.Sequential(nn.Linear(2, 2, seed=1)))
    found = list(model.modules())
    assert found[0] is model and found[1] is inner
    assert len(found) == 5 and len({id(m) for m in found}) == 5

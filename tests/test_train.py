"""nn.train.fit: the one loop for batch, stochastic and mini-batch gradient descent."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import pytest

from autograd import NonFiniteError, Value, is_grad_enabled
from nn import MLP, datasets
from nn.losses import squared_error
from nn.optim import SGD
from nn.train import History, TrainingDiverged, evaluate, fit, minibatches

BCE = "binary_cross_entropy_with_logits"


class Recorder:
    """A squared-error loss that notes which targets training steps use (not evaluation)."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def __call__(self, output: Value, target: float) -> Value:
        if is_grad_enabled():
            self.seen.append(target)
        return squared_error(output, target)


def line_data(n: int) -> tuple[list[list[float]], list[float]]:
    """n examples whose target is their own index, so a target names its example."""
    return [[i / n] for i in range(n)], [float(i) for i in range(n)]


def linear_model() -> MLP:
    return MLP(1, [1], output_activation="linear", seed=0)


# -- learning ------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 1, 2])
def test_xor_is_learned_from_a_random_start(batch_size: int | None) -> None:
    X, y = datasets.xor()
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    history = fit(
        model,
        X,
        y,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.2),
        epochs=600,
        batch_size=batch_size,
        progress=False,
        on_epoch_end=lambda epoch, h: h.loss[-1] < 0.05,
    )
    assert evaluate(model, X, y, BCE)["accuracy"] == 1.0
    assert history.loss[-1] < history.loss[0]


def test_softmax_cross_entropy_trains_a_multiclass_model() -> None:
    X, y = datasets.spirals(30, classes=3, noise=0.1, seed=0)
    model = MLP(2, [8, 3], activation="tanh", seed=0)
    history = fit(
        model,
        X,
        y,
        loss="softmax_cross_entropy",
        optimizer=SGD(model.parameters(), lr=0.5),
        epochs=20,
        batch_size=10,
        progress=False,
    )
    assert history.loss[-1] < history.loss[0] < math.log(3) + 0.5
    assert len(history.accuracy) == 20 and 0.0 <= history.accuracy[-1] <= 1.0


@pytest.mark.slow
def test_micrograd_demo_two_moons_max_margin() -> None:
    """micrograd's demo: MLP(2, [16, 16, 1]), 100 moons (noise 0.1), hinge + L2 1e-4, SGD with
    lr = 1 - 0.9 k / 100, full batch. Stops as soon as training accuracy is 100%."""
    X, y = datasets.moons(100, noise=0.1, seed=1337)  # = make_moons(100, 0.1, random_state=1337)
    t = datasets.to_signed(y)
    # micrograd draws its weights from uniform(-1, 1), as init="uniform" does
    model = MLP(2, [16, 16, 1], activation="relu", init="uniform", seed=0)

    def perfect(epoch: int, history: History) -> bool:
        return evaluate(model, X, t, "hinge")["accuracy"] == 1.0

    started = time.perf_counter()
    history = fit(
        model,
        X,
        t,
        loss="hinge",
        optimizer=SGD(model.parameters(), lr=1.0),
        epochs=100,
        l2=1e-4,
        lr_schedule=lambda k: 1.0 - 0.9 * k / 100,
        on_epoch_end=perfect,
        progress=False,
    )
    seconds = time.perf_counter() - started
    assert evaluate(model, X, t, "hinge")["accuracy"] == 1.0
    print(f"micrograd demo: 100% after {history.steps} steps, {seconds:.1f} s")
    assert history.steps == history.epochs <= 100
    assert history.lr[:3] == pytest.approx([1.0, 0.991, 0.982])


# -- batches and shuffling -----------------------------------------------------------------------


@pytest.mark.parametrize(("batch_size", "steps"), [(None, 1), (1, 10), (3, 4), (10, 1), (50, 1)])
def test_steps_per_epoch(batch_size: int | None, steps: int) -> None:
    X, y = line_data(10)
    model = linear_model()
    history = fit(
        model,
        X,
        y,
        loss="squared_error",
        optimizer=SGD(model.parameters(), lr=0.01),
        epochs=3,
        batch_size=batch_size,
        progress=False,
    )
    assert history.steps == 3 * steps
    assert history.epochs == len(history.loss) == len(history.lr) == len(history.penalty) == 3
    assert history.val_loss == [] and history.metrics == {}


def test_minibatches_cover_every_example_once() -> None:
    import random

    batches = minibatches(10, 3, random.Random(0))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(i for b in batches for i in b) == list(range(10))
    assert minibatches(5, None) == [[0, 1, 2, 3, 4]]
    assert minibatches(5, 2) == [[0, 1], [2, 3], [4]]


def orders(seed: int, shuffle: bool = True, epochs: int = 3) -> list[list[float]]:
    X, y = line_data(12)
    model = linear_model()
    recorder = Recorder()
    fit(
        model,
        X,
        y,
        loss=recorder,
        optimizer=SGD(model.parameters(), lr=1e-3),
        epochs=epochs,
        batch_size=1,
        shuffle=shuffle,
        seed=seed,
        progress=False,
    )
    return [recorder.seen[k * 12 : (k + 1) * 12] for k in range(epochs)]


def test_shuffling_is_seeded_and_really_shuffles() -> None:
    first = orders(seed=0)
    for epoch in first:
        assert sorted(epoch) == [float(i) for i in range(12)]  # every example once per epoch
    assert any(epoch != sorted(epoch) for epoch in first)
    assert first[0] != first[1] != first[2]  # a new order every epoch
    assert orders(seed=0) == first
    assert orders(seed=1) != first
    assert orders(seed=0, shuffle=False) == [[float(i) for i in range(12)]] * 3


# -- validation and early stopping ---------------------------------------------------------------


def test_validation_split_sizes() -> None:
    X, y = line_data(20)
    model = linear_model()
    recorder = Recorder()
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
    first, second = set(recorder.seen[:15]), set(recorder.seen[15:])
    assert len(recorder.seen) == 30 and len(first) == 15
    assert first == second  # the same 15 trained on every epoch
    held_out = [i for i in range(20) if float(i) not in first]
    assert len(held_out) == 5 and held_out != list(range(15, 20))  # a random split
    assert len(history.val_loss) == 2
    measured = evaluate(model, [X[i] for i in held_out], [y[i] for i in held_out], recorder)
    assert history.val_loss[-1] == pytest.approx(measured["loss"])


def test_validation_data_and_metrics() -> None:
    X, y = datasets.moons(20, noise=0.1, seed=0)
    X_val, y_val = datasets.moons(10, noise=0.1, seed=1)
    model = MLP(2, [4, 1], seed=0)
    history = fit(
        model,
        X,
        y,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.1),
        epochs=3,
        validation_data=(X_val, y_val),
        progress=False,
    )
    assert set(history.metrics) == {"accuracy", "val_accuracy"}
    assert len(history["val_accuracy"]) == len(history.val_loss) == 3
    assert history["val_loss"][-1] == pytest.approx(evaluate(model, X_val, y_val, BCE)["loss"])
    with pytest.raises(KeyError, match="no series 'f1'"):
        history["f1"]


def early_stopping_run(restore_best: bool) -> tuple[MLP, History, list[dict[str, float]]]:
    """Validation labels are the training labels flipped: the better the fit, the worse the
    validation loss, so the best epoch is the first."""
    X, y = datasets.moons(20, noise=0.05, seed=0)
    flipped = [1 - label for label in y]
    model = MLP(2, [4, 1], seed=0)
    states: list[dict[str, float]] = []
    history = fit(
        model,
        X,
        y,
        loss=BCE,
        optimizer=SGD(model.parameters(), lr=0.5),
        epochs=50,
        validation_data=(X, flipped),
        patience=3,
        restore_best=restore_best,
        on_epoch_end=lambda epoch, h: states.append(model.state_dict()),
        progress=False,
    )
    return model, history, states


def test_early_stopping_stops_and_restores_the_best() -> None:
    model, history, states = early_stopping_run(restore_best=True)
    assert history.stopped_early
    assert history.best_epoch == 0
    assert history.epochs == 4  # the best epoch, then 3 without improvement
    assert history.val_loss[1] > history.val_loss[0]
    assert model.state_dict() == states[0]


def test_early_stopping_without_restoring_keeps_the_last() -> None:
    model, history, states = early_stopping_run(restore_best=False)
    assert history.stopped_early and history.epochs == 4
    assert model.state_dict() == states[-1] != states[0]


# -- regularisation ------------------------------------------------------------------------------


def zero_loss(output: Value, target: float) -> Value:
    return output * 0.0


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_regularisation_moves_weights_not_biases(kind: str) -> None:
    model = MLP(2, [3, 1], seed=0)
    for name, p in model.named_parameters():
        p.data = 0.5 if name.endswith(".b") else (1.0 if "w0" in name else -1.0)
    before = model.state_dict()
    history = fit(
        model,
        [[1.0, 2.0]],
        [0.0],
        loss=zero_loss,
        optimizer=SGD(model.parameters(), lr=0.1),
        epochs=1,
        progress=False,
        l2=0.5 if kind == "l2" else 0.0,
        l1=0.25 if kind == "l1" else 0.0,
    )
    for name, value in model.state_dict().items():
        if name.endswith(".b"):
            assert value == before[name]
        elif kind == "l2":  # w - lr * 2 l2 w = 0.9 w
            assert value == pytest.approx(0.9 * before[name])
        else:  # w - lr * l1 sign(w)
            assert value == pytest.approx(before[name] - 0.025 * math.copysign(1, before[name]))
    n_weights = 2 * 3 + 3
    expected = 0.5 * n_weights * 0.81 if kind == "l2" else 0.25 * n_weights * 0.975
    assert history.penalty == [pytest.approx(expected)]


# -- schedules and callbacks ---------------------------------------------------------------------


def test_lr_schedule_and_stopping_callback() -> None:
    X, y = line_data(4)
    model = linear_model()
    optimizer = SGD(model.parameters(), lr=1.0)
    history = fit(
        model,
        X,
        y,
        loss="squared_error",
        optimizer=optimizer,
        epochs=10,
        lr_schedule=lambda k: 0.1 / (k + 1),
        on_epoch_end=lambda epoch, h: epoch == 3,
        progress=False,
    )
    assert history.epochs == 4
    assert history.lr == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])
    assert optimizer.lr == pytest.approx(0.025)


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = line_data(4)
    model = linear_model()
    fit(model, X, y, loss="squared_error", optimizer=SGD(model.parameters(), lr=0.1), epochs=2)
    err = capsys.readouterr().err
    assert "training" in err and "loss=" in err


# -- errors --------------------------------------------------------------------------------------


def test_divergence_is_reported_with_advice() -> None:
    model = linear_model()
    X, y = [[100.0], [-50.0]], [1e6, -1e6]
    with pytest.raises(TrainingDiverged, match="smaller") as caught:
        fit(
            model,
            X,
            y,
            loss="squared_error",
            optimizer=SGD(model.parameters(), lr=10.0),
            epochs=1000,
            progress=False,
        )
    assert isinstance(caught.value, NonFiniteError)
    assert "lr=10.0" in str(caught.value)
    assert 0 < caught.value.history.epochs < 1000
    assert all(math.isfinite(p.data) for p in model.parameters())


class NoLearningRate:
    def step(self) -> None: ...

    def zero_grad(self) -> None: ...


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"X": [[0.0]] * 3}, ValueError, "3 examples in X but 4 targets"),
        ({"X": [], "y": []}, ValueError, "empty"),
        ({"epochs": 0}, ValueError, "epochs must be at least 1"),
        ({"epochs": 2.5}, TypeError, "epochs must be an int"),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"batch_size": True}, TypeError, "batch_size must be an int"),
        ({"loss": "mse"}, ValueError, "unknown loss 'mse'"),
        ({"loss": "hinge"}, ValueError, r"target 0 is 0\.0, but hinge needs labels"),
        ({"loss": "softmax_cross_entropy"}, ValueError, "int class indices"),
        ({"l2": -1.0}, ValueError, "l2 is a regularisation strength"),
        ({"validation_split": 1.0}, ValueError, r"fraction in \[0, 1\)"),
        ({"validation_split": 0.1}, ValueError, "leaves 0 for validation"),
        ({"validation_split": 0.5, "validation_data": ([[0.0]], [0.0])}, ValueError, "not both"),
        ({"patience": 2}, ValueError, "early stopping watches the validation loss"),
        ({"validation_data": ([[0.0]], [])}, ValueError, "validation data"),
        ({"optimizer": NoLearningRate(), "lr_schedule": lambda k: 0.1}, TypeError, "no lr"),
    ],
)
def test_bad_input(change: dict[str, Any], error: type[Exception], match: str) -> None:
    X, y = line_data(4)
    model = linear_model()
    arguments: dict[str, Any] = {
        "X": X,
        "y": y,
        "loss": "squared_error",
        "optimizer": SGD(model.parameters(), lr=0.1),
        "epochs": 1,
        "progress": False,
        **change,
    }
    with pytest.raises(error, match=match):
        fit(model, **arguments)


def test_bad_label_later_in_the_data_is_named() -> None:
    X, y = datasets.moons(10, seed=0)
    bad: Sequence[float] = [*y[:-1], 2]
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match=r"target 9 is 2, but binary_cross_entropy_with_logits"):
        fit(model, X, bad, loss=BCE, optimizer=SGD(model.parameters()), progress=False)

"""nn: Module (names, zero_grad, saving), Neuron/Layer/MLP, activations, initialisers, softmax,
the gradient check of a small MLP, and the grouped diagram of a 2-2-1 network."""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

import viz
from autograd import Value, gradcheck, numerical_grad, topological_order
from nn import MLP, Layer, Module, Neuron, activations, softmax
from nn import init as initialisers
from nn.module import FILE_FORMAT, FILE_VERSION

# A tiny regression set (targets deliberately not summing to 0, see the symmetry test).
XS = [[2.0, 3.0], [3.0, -1.0], [0.5, 1.0], [1.0, -1.0]]
YS = [1.0, -1.0, 0.5, 1.0]


def values_of(model: Module) -> list[float]:
    return [float(p.data) for p in model.parameters()]


def squared_error(model: MLP, xs: Sequence[Sequence[float]], ys: Sequence[float]) -> Value:
    """sum_n (model(x_n) - y_n)^2, written with engine ops only."""
    total = Value(0.0)
    for x, y in zip(xs, ys, strict=True):
        out = model(x)
        assert isinstance(out, Value)
        total = total + (out - y) ** 2
    return total


def sgd_steps(model: MLP, steps: int, lr: float) -> None:
    """Plain gradient descent by hand: p.data -= lr * p.grad."""
    for _ in range(steps):
        model.zero_grad()
        squared_error(model, XS, YS).backward()
        for p in model.parameters():
            p.data -= lr * p.grad


# -- Module: names, zero_grad, state dict ------------------------------------------------------


def test_named_parameters_are_dotted_names_in_a_stable_order() -> None:
    model = MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    expected = [f"layer1.neuron{j}.{p}" for j in range(3) for p in ("w0", "w1", "b")] + [
        "layer2.neuron0.w0",
        "layer2.neuron0.w1",
        "layer2.neuron0.w2",
        "layer2.neuron0.b",
    ]
    assert names == expected
    assert [p.label for _, p in model.named_parameters()] == names
    # parameters() is the same objects, in the same order, every time
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert [id(p) for p in model.parameters()] == [id(p) for p in model.parameters()]
    assert len({id(p) for p in model.parameters()}) == len(names) == 13
    # and a model built the same way names its parameters the same way
    assert [n for n, _ in MLP(2, [3, 1], seed=5).named_parameters()] == names


def test_standalone_neuron_and_layer_names() -> None:
    assert [n for n, _ in Neuron(2).named_parameters()] == ["neuron.w0", "neuron.w1", "neuron.b"]
    layer = Layer(1, 2, name="hidden")
    assert [n for n, _ in layer.named_parameters()] == [
        "hidden.neuron0.w0",
        "hidden.neuron0.b",
        "hidden.neuron1.w0",
        "hidden.neuron1.b",
    ]
    assert list(Module().named_parameters()) == []
    assert Module().parameters() == []


def test_zero_grad_resets_every_parameter() -> None:
    model = MLP(2, [3, 1], seed=0)
    squared_error(model, XS, YS).backward()
    assert all(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_backward_accumulates_until_zero_grad() -> None:
    model = MLP(2, [2, 1], seed=1)
    squared_error(model, XS, YS).backward()
    once = [p.grad for p in model.parameters()]
    squared_error(model, XS, YS).backward()
    assert [p.grad for p in model.parameters()] == pytest.approx([2 * g for g in once])
    model.zero_grad()
    squared_error(model, XS, YS).backward()
    assert [p.grad for p in model.parameters()] == pytest.approx(once)


def test_state_dict_round_trip() -> None:
    source, target = MLP(2, [3, 1], seed=1), MLP(2, [3, 1], seed=2)
    assert values_of(source) != values_of(target)
    state = source.state_dict()
    assert list(state) == [n for n, _ in source.named_parameters()]
    target.load_state_dict(state)
    assert values_of(target) == values_of(source)
    assert target([0.3, -0.7]).data == source([0.3, -0.7]).data  # type: ignore[union-attr]
    # the state is a copy of numbers, not a view of the parameters
    state["layer1.neuron0.w0"] = 123.0
    assert source.parameters()[0].data != 123.0


def test_load_state_dict_accepts_ints() -> None:
    model = MLP(1, [1], seed=0)
    model.load_state_dict({"layer1.neuron0.w0": 2, "layer1.neuron0.b": -1})
    assert values_of(model) == [2.0, -1.0]
    assert all(type(v) is float for v in values_of(model))


# -- saving and loading ------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    source = MLP(2, [3, 1], activation="relu", seed=1)
    path = source.save(tmp_path / "sub" / "model.json")  # missing folders are created
    assert path == tmp_path / "sub" / "model.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == FILE_FORMAT and document["version"] == FILE_VERSION
    assert document["parameters"] == source.state_dict()
    target = MLP(2, [3, 1], activation="relu", seed=2)
    target.load(str(path))  # a str path works too
    assert values_of(target) == values_of(source)  # exact: JSON round-trips floats
    assert os.listdir(path.parent) == ["model.json"]  # no temporary files left behind


def test_save_replaces_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=1).save(path)
    newer = MLP(2, [3, 1], seed=2)
    newer.save(path)
    check = MLP(2, [3, 1], seed=3)
    check.load(path)
    assert values_of(check) == values_of(newer)
    assert os.listdir(tmp_path) == ["model.json"]


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json"
    old = MLP(2, [3, 1], seed=1)
    old.save(path)
    before = path.read_bytes()

    def failing_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        MLP(2, [3, 1], seed=2).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]
    check = MLP(2, [3, 1], seed=3)
    check.load(path)
    assert values_of(check) == values_of(old)


def test_loading_another_architecture_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    path = MLP(2, [4, 1], seed=1).save(tmp_path / "wide.json")
    for model in (MLP(2, [3, 1], seed=0), MLP(3, [4, 1], seed=0), MLP(2, [4, 4, 1], seed=0)):
        before = values_of(model)
        with pytest.raises(ValueError, match="different architecture"):
            model.load(path)
        assert values_of(model) == before


def test_architecture_error_names_missing_and_unexpected_parameters() -> None:
    model = MLP(2, [1], seed=0)
    with pytest.raises(ValueError) as error:
        model.load_state_dict({"layer1.neuron0.w0": 1.0, "layer1.neuron0.w7": 1.0})
    assert "layer1.neuron0.w1" in str(error.value)  # missing
    assert "layer1.neuron0.w7" in str(error.value)  # unexpected


def _document(model: Module) -> dict[str, Any]:
    return {"format": FILE_FORMAT, "version": FILE_VERSION, "parameters": model.state_dict()}


def _bad_last_parameter(value: Any) -> Callable[[dict[str, Any]], Any]:
    """A file that is valid except for its *last* parameter: if loading applied the values
    one by one, every other parameter would already have changed."""

    def corrupt(document: dict[str, Any]) -> Any:
        last = list(document["parameters"])[-1]
        document["parameters"][last] = value
        return json.dumps(document)

    return corrupt


def _with(**changes: Any) -> Callable[[dict[str, Any]], str]:
    def corrupt(document: dict[str, Any]) -> str:
        document.update(changes)
        return json.dumps(document)

    return corrupt


def _without(key: str) -> Callable[[dict[str, Any]], str]:
    def corrupt(document: dict[str, Any]) -> str:
        del document[key]
        return json.dumps(document)

    return corrupt


def _truncated(document: dict[str, Any]) -> str:
    text = json.dumps(document, indent=1)
    return text[: len(text) // 2]


def _raw(text: str) -> Callable[[dict[str, Any]], str]:
    def corrupt(document: dict[str, Any]) -> str:
        return text

    return corrupt


CORRUPT_FILES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "truncated JSON": (_truncated, "not a saved parameter file"),
    "not JSON": (_raw("layer1.neuron0.w0 = 0.5\n"), "not a saved parameter file"),
    "empty file": (_raw(""), "not a saved parameter file"),
    "deeply nested JSON": (_raw("[" * 100_000 + "]" * 100_000), "not a saved parameter file"),
    "JSON list": (_raw("[1.0, 2.0]"), "not a backprop-lab parameter file"),
    "wrong format field": (_with(format="pytorch state dict"), "not a backprop-lab parameter"),
    "no format field": (_without("format"), "not a backprop-lab parameter file"),
    "wrong version": (_with(version=2), "version 2"),
    "version true": (_with(version=True), "version True"),
    "no version": (_without("version"), "version None"),
    "no parameters": (_without("parameters"), "must be a dict"),
    "parameters a list": (_with(parameters=[0.5, 0.5]), "must be a dict"),
    "nan value": (_bad_last_parameter(math.nan), "not a finite number"),
    "infinite value": (_bad_last_parameter(math.inf), "not a finite number"),
    "null value": (_bad_last_parameter(None), "must be a number"),
    "huge integer": (_bad_last_parameter(10**400), "too large"),
    "string value": (_bad_last_parameter("0.5"), "must be a number"),
    "boolean value": (_bad_last_parameter(True), "must be a number"),
    "list value": (_bad_last_parameter([0.5]), "must be a number"),
}


@pytest.mark.parametrize("case", list(CORRUPT_FILES))
def test_a_corrupt_file_gives_a_clear_error_and_leaves_the_model_untouched(
    case: str, tmp_path: Path
) -> None:
    corrupt, message = CORRUPT_FILES[case]
    # the file holds *other* values than the model, so a partial load would show
    text = corrupt(_document(MLP(2, [3, 1], seed=7)))
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    model = MLP(2, [3, 1], seed=0)
    before = values_of(model)
    with pytest.raises(ValueError, match=message):
        model.load(path)
    assert values_of(model) == before


def test_a_file_that_is_not_text_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    model = MLP(2, [3, 1], seed=0)
    before = values_of(model)
    with pytest.raises(ValueError, match="not a saved parameter file"):
        model.load(path)
    assert values_of(model) == before


def test_overflowing_literal_in_the_file_is_refused(tmp_path: Path) -> None:
    """1e400 is valid JSON that Python reads as inf."""
    model = MLP(1, [1], seed=0)
    path = tmp_path / "model.json"
    text = json.dumps(_document(model)).replace(str(model.parameters()[-1].data), "1e400")
    path.write_text(text, encoding="utf-8")
    before = values_of(model)
    with pytest.raises(ValueError, match="not a finite number"):
        model.load(path)
    assert values_of(model) == before


# -- Neuron, Layer, MLP: outputs and inputs ----------------------------------------------------


def test_output_types() -> None:
    assert isinstance(Neuron(2)([1.0, 2.0]), Value)
    out = Layer(2, 3)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(v, Value) for v in out)
    single = Layer(2, 1)([1.0, 2.0])  # a layer always returns a list
    assert isinstance(single, list) and len(single) == 1
    assert isinstance(MLP(2, [3, 1])([1.0, 2.0]), Value)
    many = MLP(2, [3, 2])([1.0, 2.0])
    assert isinstance(many, list) and len(many) == 2


def test_inputs_may_be_values_numbers_or_numpy() -> None:
    model = MLP(2, [3, 1], seed=0)
    a = model([0.5, -1])
    b = model([Value(0.5), Value(-1.0)])
    c = model(np.array([0.5, -1.0]))
    assert isinstance(a, Value) and isinstance(b, Value) and isinstance(c, Value)
    assert a.data == b.data == c.data


def test_input_values_get_gradients() -> None:
    x = [Value(0.5, "x0"), Value(-1.0, "x1")]
    out = MLP(2, [3, 1], seed=0)(x)
    assert isinstance(out, Value)
    out.backward()
    assert all(v.grad != 0.0 for v in x)


@pytest.mark.parametrize(
    ("module", "nin"), [(Neuron(2), 2), (Layer(2, 3), 2), (MLP(2, [3, 1]), 2)], ids=str
)
@pytest.mark.parametrize("length", [0, 1, 3])
def test_input_length_mismatch(module: Callable[[Any], Any], nin: int, length: int) -> None:
    with pytest.raises(ValueError, match=f"expects {nin} inputs, got {length}"):
        module([1.0] * length)


@pytest.mark.parametrize("module", [Neuron(1), Layer(1, 2), MLP(1, [2, 1])], ids=str)
@pytest.mark.parametrize("x", [1.0, 2, Value(1.0), True])
def test_a_single_number_is_not_a_list_of_inputs(module: Callable[[Any], Any], x: Any) -> None:
    with pytest.raises(TypeError, match="single number"):
        module(x)


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        Neuron(0)
    with pytest.raises(ValueError, match="at least one neuron"):
        Layer(2, 0)
    with pytest.raises(ValueError, match="at least one layer size"):
        MLP(2, [])


def test_mlp_layers_and_activations() -> None:
    model = MLP(3, [4, 5, 2], activation="relu", output_activation="sigmoid")
    assert [(len(layer.neurons[0].w), len(layer.neurons)) for layer in model.layers] == [
        (3, 4),
        (4, 5),
        (5, 2),
    ]
    names = [layer.neurons[0].activation_name for layer in model.layers]
    assert names == ["relu", "relu", "sigmoid"]
    assert len(model.parameters()) == 4 * 4 + 5 * 5 + 2 * 6
    assert repr(model).startswith("MLP[Layer(3, 4, activation='relu')")
    # the default output is linear: a score, no gate after the last sum
    out = MLP(2, [2, 1])([1.0, 1.0])
    assert isinstance(out, Value) and out.op == "add"


# -- activations -------------------------------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


#: name -> (value, derivative), written out independently of the engine.
ACTIVATION_MATH: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "tanh": (math.tanh, lambda x: 1.0 - math.tanh(x) ** 2),
    "relu": (lambda x: max(0.0, x), lambda x: 1.0 if x > 0 else 0.0),
    "leaky_relu": (lambda x: max(0.1 * x, x), lambda x: 1.0 if x > 0 else 0.1),
    "elu": (lambda x: x if x > 0 else math.exp(x) - 1.0, lambda x: 1.0 if x > 0 else math.exp(x)),
    "linear": (lambda x: x, lambda x: 1.0),
}
POINTS = [-2.5, -0.7, -0.01, 0.02, 0.4, 1.9]  # away from the kinks at 0


def test_every_activation_is_tested() -> None:
    assert set(ACTIVATION_MATH) == set(activations.ACTIVATIONS)


@pytest.mark.parametrize("name", list(ACTIVATION_MATH))
@pytest.mark.parametrize("x", POINTS)
def test_activation_value_and_gradient(name: str, x: float) -> None:
    value, derivative = ACTIVATION_MATH[name]
    act = activations.get(name)
    v = Value(x)
    out = act(v)
    assert out.data == pytest.approx(value(x), rel=1e-12, abs=1e-15)
    out.backward()
    assert v.grad == pytest.approx(derivative(x), rel=1e-12, abs=1e-15)
    assert gradcheck(act, [x])


@pytest.mark.parametrize("name", list(ACTIVATION_MATH))
def test_neuron_applies_its_activation_by_name(name: str) -> None:
    value, derivative = ACTIVATION_MATH[name]
    neuron = Neuron(2, activation=name, seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 0.5, -1.5, 0.25
    x = [Value(1.2), Value(0.9)]
    z = 0.25 + 0.5 * 1.2 - 1.5 * 0.9  # -0.5
    out = neuron(x)
    assert out.data == pytest.approx(value(z), rel=1e-12)
    out.backward()
    assert neuron.b.grad == pytest.approx(derivative(z), rel=1e-12)
    assert neuron.w[1].grad == pytest.approx(derivative(z) * 0.9, rel=1e-12)
    assert x[1].grad == pytest.approx(derivative(z) * -1.5, rel=1e-12)
    assert neuron.activation_name == name
    assert repr(neuron) == f"Neuron(2, activation={name!r})"


def test_leaky_relu_is_a_max_gate_of_slope_one_tenth() -> None:
    x = Value(-3.0)
    out = activations.leaky_relu(x)
    assert out.op == "max"
    assert out.data == pytest.approx(-0.3)
    out.backward()
    assert x.grad == pytest.approx(0.1)


def test_unknown_activation_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown activation 'softplus'") as error:
        Neuron(2, activation="softplus")
    for name in ACTIVATION_MATH:
        assert name in str(error.value)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(2, [2, 1], output_activation="Sigmoid")


def test_unknown_initialiser_lists_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'") as error:
        MLP(2, [2, 1], init="glorot")
    for name in ("zeros", "small", "xavier", "he", "uniform"):
        assert name in str(error.value)


def test_custom_activation_function() -> None:
    neuron = Neuron(2, activation=lambda z: z * z, seed=0)
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 1.0, 2.0, 0.5
    out = neuron([3.0, -1.0])  # z = 0.5 + 3 - 2 = 1.5
    assert out.data == pytest.approx(2.25)
    out.backward()
    assert neuron.b.grad == pytest.approx(3.0)  # d z^2 / dz = 2 z
    assert neuron.activation_name == "custom"
    model = MLP(2, [3, 1], activation=Value.exp, seed=0)
    assert model.layers[0].neurons[0].activation_name == "custom"
    assert isinstance(model([0.1, 0.2]), Value)


# -- initialisers ------------------------------------------------------------------------------


def test_same_seed_same_weights_different_seeds_differ() -> None:
    for init in ("xavier", "he", "small", "uniform"):
        a = values_of(MLP(2, [8, 8, 1], init=init, seed=3))
        assert values_of(MLP(2, [8, 8, 1], init=init, seed=3)) == a
        assert values_of(MLP(2, [8, 8, 1], init=init, seed=random.Random(3))) == a
        b = values_of(MLP(2, [8, 8, 1], init=init, seed=4))
        assert a != b
        names = [n for n, _ in MLP(2, [8, 8, 1]).named_parameters()]
        weights = [w for w, n in zip(a, names, strict=True) if not n.endswith(".b")]
        assert len(set(weights)) == len(weights)  # and no two weights alike within one model


def test_units_of_one_layer_are_initialised_differently() -> None:
    layer = Layer(3, 4, seed=0)
    rows = [tuple(w.data for w in neuron.w) for neuron in layer.neurons]
    assert len(set(rows)) == 4


def test_biases_start_at_zero() -> None:
    for init in initialisers.INITIALISERS:
        model = MLP(3, [5, 4, 2], init=init, seed=1)
        biases = [p.data for name, p in model.named_parameters() if name.endswith(".b")]
        assert len(biases) == 11 and all(b == 0.0 for b in biases)


def _weights(layer: Layer) -> list[float]:
    return [w.data for neuron in layer.neurons for w in neuron.w]


@pytest.mark.parametrize(
    ("init", "expected_std"),
    [
        # fan_in 300, fan_out 100, so Xavier and He are told apart (0.0707 vs 0.0816)
        ("xavier", math.sqrt(2.0 / (300 + 100))),
        ("he", math.sqrt(2.0 / 300)),
        ("small", 0.01),
        ("uniform", 1.0 / math.sqrt(3.0)),
    ],
)
def test_initialiser_statistics_on_a_big_layer(init: str, expected_std: float) -> None:
    """30,000 weights: the sample std has relative standard error 1/sqrt(2n) = 0.4%, so a 3%
    tolerance is over 7 standard errors (and the seed makes it deterministic anyway)."""
    weights = _weights(Layer(300, 100, init=init, seed=11))
    assert len(weights) == 30_000
    std = statistics.pstdev(weights)
    assert std == pytest.approx(expected_std, rel=0.03)
    assert abs(statistics.fmean(weights)) < 4 * expected_std / math.sqrt(len(weights))


def test_uniform_stays_in_its_interval_and_zeros_is_zero() -> None:
    assert all(-1.0 <= w <= 1.0 for w in _weights(Layer(50, 20, init="uniform")))
    assert all(w == 0.0 for w in _weights(Layer(50, 20, init="zeros")))


def test_default_initialiser_is_he_for_relu_family_and_xavier_otherwise() -> None:
    for activation in ("relu", "leaky_relu", "elu"):
        default = values_of(Layer(4, 3, activation=activation, seed=2))
        assert default == values_of(Layer(4, 3, activation=activation, init="he", seed=2))
    for activation in ("tanh", "sigmoid", "linear"):
        default = values_of(Layer(4, 3, activation=activation, seed=2))
        assert default == values_of(Layer(4, 3, activation=activation, init="xavier", seed=2))
    assert values_of(Layer(4, 3, init="he", seed=2)) != values_of(Layer(4, 3, seed=2))


def test_custom_initialiser_sees_fan_in_and_fan_out() -> None:
    seen: list[tuple[int, int]] = []

    def constant(fan_in: int, fan_out: int, rng: random.Random) -> float:
        seen.append((fan_in, fan_out))
        return 0.25

    model = MLP(3, [5, 2], init=constant)
    assert set(seen) == {(3, 5), (5, 2)}
    assert all(p.data == 0.25 for n, p in model.named_parameters() if not n.endswith(".b"))


# -- zero initialisation fails: symmetry is never broken ---------------------------------------


def _hidden_rows(model: MLP) -> list[tuple[float, ...]]:
    """Each hidden neuron's incoming weights and bias."""
    return [(*(w.data for w in n.w), n.b.data) for n in model.layers[0].neurons]


def _zero_sigmoid() -> MLP:
    return MLP(2, [4, 1], activation="sigmoid", init="zeros")


def _zero_tanh_hidden() -> MLP:
    model = MLP(2, [4, 1], activation="tanh", init="zeros")
    for w in model.layers[1].neurons[0].w:
        w.data = 0.5  # symmetric, but not zero: otherwise no gradient reaches layer 1 at all
    return model


@pytest.mark.parametrize("make", [_zero_sigmoid, _zero_tanh_hidden], ids=["sigmoid", "tanh"])
def test_zero_initialisation_keeps_hidden_units_identical(make: Callable[[], MLP]) -> None:
    """The lectures' "zero initialisation fails".

    When every hidden unit starts with the same incoming weights (all 0) and the same outgoing
    weight, the units compute the same function of the input, so backprop hands each of them
    the same gradient, and the same update keeps them equal: after any number of steps the
    layer of 4 units is really one unit copied four times.

    The setups are chosen so that the updates are *nonzero* (the units do learn, identically):
    with sigmoid hidden units an all-zero start gives hidden outputs 0.5, so the output weights
    get a gradient and then pass it on to layer 1. With tanh and *all* weights 0, tanh(0) = 0
    kills the gradient of the output weights and the output weights 0 kill it for layer 1, so
    nothing but the output bias would ever move; there the output weights start at 0.5 (equal,
    so still symmetric). A Xavier start, trained in the same way, has four different units.
    """
    model = make()
    start = _hidden_rows(model)
    sgd_steps(model, steps=25, lr=0.02)
    rows = _hidden_rows(model)
    assert rows != start  # the hidden layer did learn something...
    assert all(any(x != 0.0 for x in row) for row in rows)
    assert all(row == rows[0] for row in rows)  # ...but every unit the very same thing
    outgoing = [w.data for w in model.layers[1].neurons[0].w]
    assert all(w == outgoing[0] for w in outgoing)
    # so every hidden unit outputs the same value on every input
    for x in XS:
        hidden = [h.data for h in model.layers[0](x)]
        assert all(h == hidden[0] for h in hidden)

    xavier = MLP(2, [4, 1], activation=model.layers[0].neurons[0].activation_name, seed=0)
    sgd_steps(xavier, steps=25, lr=0.02)
    assert len(set(_hidden_rows(xavier))) == 4


# -- softmax -----------------------------------------------------------------------------------


def test_softmax_reference_values_sum_to_one() -> None:
    probs = [p.data for p in softmax([1, 2, 3, 4, 1, 2, 3])]
    assert [round(p, 3) for p in probs] == [0.024, 0.064, 0.175, 0.475, 0.024, 0.064, 0.175]
    assert math.fsum(probs) == pytest.approx(1.0, abs=1e-15)
    exps = [math.exp(z) for z in (1, 2, 3, 4, 1, 2, 3)]
    assert probs == pytest.approx([e / sum(exps) for e in exps], rel=1e-12)


def test_softmax_is_stable_for_large_logits() -> None:
    logits = [Value(1000.0), Value(1001.0)]
    probs = softmax(logits)
    e = math.e
    assert [p.data for p in probs] == pytest.approx([1 / (1 + e), e / (1 + e)], rel=1e-12)
    probs[1].backward()
    p0, p1 = 1 / (1 + e), e / (1 + e)
    assert logits[1].grad == pytest.approx(p1 * (1 - p1), rel=1e-9)  # dp_i/dz_i = p_i (1-p_i)
    assert logits[0].grad == pytest.approx(-p0 * p1, rel=1e-9)  # dp_i/dz_j = -p_i p_j
    tiny = softmax([-1000.0, 0.0])
    assert tiny[1].data == 1.0 and tiny[0].data == 0.0


def _weighted_softmax(*z: Value) -> Value:
    probs = softmax(z)
    total = probs[0] * 0.0
    for c, p in zip([0.3, -1.2, 2.0, 0.7], probs, strict=True):
        total = total + c * p
    return total


@pytest.mark.parametrize("logits", [[0.5, -1.0, 2.0, 0.1], [1000.0, 1001.0, 998.5, 1000.2]])
def test_softmax_gradient_by_gradcheck(logits: list[float]) -> None:
    assert gradcheck(_weighted_softmax, logits)
    # and a log-probability (the cross-entropy path)
    assert gradcheck(lambda *z: softmax(z)[2].log(), logits)


def test_softmax_of_nothing() -> None:
    with pytest.raises(ValueError, match="empty"):
        softmax([])


# -- the lectures' checklist: gradient check a small MLP's loss before training ----------------


def _bind(model: MLP, params: Sequence[Value]) -> None:
    """Make ``params`` (in the order of ``model.parameters()``) the model's parameters."""
    it = iter(params)
    for layer in model.layers:
        for neuron in layer.neurons:
            neuron.w = [next(it) for _ in neuron.w]
            neuron.b = next(it)
    assert next(it, None) is None, "more values than parameters"


def loss_of_parameters(model: MLP) -> Callable[..., Value]:
    """The model's loss as a function of its parameters, ``f(*params) -> Value``.

    ``gradcheck`` calls ``f`` with fresh leaf Values, so ``f`` swaps them into the model,
    runs the model's own forward pass (``Neuron.__call__``) and puts the originals back.
    """
    original = cast(list[Value], model.parameters())  # an MLP's parameters are Values

    def f(*params: Value) -> Value:
        _bind(model, params)
        try:
            return squared_error(model, XS, YS)
        finally:
            _bind(model, original)

    return f


@pytest.mark.parametrize("activation", list(ACTIVATION_MATH))
def test_gradcheck_of_a_small_mlp_loss_over_all_parameters(activation: str) -> None:
    model = MLP(2, [3, 1], activation=activation, output_activation="tanh", seed=5)
    params = model.parameters()
    assert len(params) == 13
    f = loss_of_parameters(model)
    assert gradcheck(f, params)
    # the model itself is untouched by the check...
    assert model.parameters() == params and all(p.grad == 0.0 for p in params)
    # ...and its own backward pass gives exactly the gradients that were checked
    loss = squared_error(model, XS, YS)
    loss.backward()
    numeric = numerical_grad(f, params)
    for p, n in zip(params, numeric, strict=True):
        assert p.grad == pytest.approx(n, rel=1e-5, abs=1e-7), p.label


def test_gradcheck_catches_a_wrong_gradient_in_a_model() -> None:
    """The check above can fail: an activation whose backward pass is wrong (its value is
    computed outside the engine and glued on with a constant slope) is caught."""

    def detached_tanh(z: Value) -> Value:
        return z * 0.0 + math.tanh(z.data)  # value right, gradient 0: wrong

    model = MLP(2, [3, 1], activation=detached_tanh, seed=5)
    with pytest.raises(AssertionError, match="mismatch"):
        gradcheck(loss_of_parameters(model), model.parameters())


# -- viz: a 2-2-1 network drawn gate by gate, boxed by neuron and layer ------------------------

SUBGRAPH = re.compile(r"^\s*subgraph (cluster_\w+) \{$")
CLUSTER_LABEL = re.compile(r"^\s*[^\[\]]*\blabel=<([^>]*)>")
# (edge labels, tables drawn as nodes on the edges, are left out by the shape)
NODE = re.compile(r"^\s*(\w+) \[label=<((?!<table).*?)>(?: [^\[\]]*?)? shape=(circle|plaintext)")


def parse_clusters(source: str) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """node name -> (label, shape, path of the boxes it is drawn in)."""
    stack: list[str] = []
    nodes: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    opened = False
    for line in source.splitlines():
        if SUBGRAPH.match(line):
            stack.append("?")
            opened = True
        elif opened and (label := CLUSTER_LABEL.match(line)):
            stack[-1] = label.group(1)
            opened = False
        elif line.strip() == "}" and stack:
            stack.pop()
        elif node := NODE.match(line):
            nodes[node.group(1)] = (node.group(2), node.group(3), tuple(stack))
    return nodes


def test_draw_a_2_2_1_network_grouped_by_layer_and_neuron() -> None:
    model = MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    out = model([Value(1.0, "x0"), Value(-2.0, "x1")])
    assert isinstance(out, Value)
    out.backward()
    diagram = viz.draw(out, group="label")
    nodes = parse_clusters(diagram.source)

    gates = [n for n in topological_order(out) if not n.is_leaf]
    circles = [(label, path) for label, shape, path in nodes.values() if shape == "circle"]
    assert len(circles) == len(gates) == 15  # 3 neurons x (2 mul + 2 add + 1 activation)
    boxes = {path for _, _, path in nodes.values()}
    assert boxes == {
        (),
        ("layer1", "neuron0"),
        ("layer1", "neuron1"),
        ("layer2", "neuron0"),
    }
    assert diagram.source.count("subgraph cluster_") == 5  # the layer boxes hold only boxes
    for box, activation in [
        (("layer1", "neuron0"), "tanh"),
        (("layer1", "neuron1"), "tanh"),
        (("layer2", "neuron0"), "σ"),
    ]:
        in_box = sorted(label for label, path in circles if path == box)
        assert in_box == sorted(["*", "*", "+", "+", activation])
        leaves = sorted(label for label, shape, path in nodes.values() if path == box)
        assert [x for x in leaves if x in ("b", "w0", "w1")] == ["b", "w0", "w1"]
    # the inputs belong to no neuron: they are drawn outside every box
    outside = [label for label, _, path in nodes.values() if path == ()]
    assert any(label.startswith("x0") for label in outside)
    assert any(label.startswith("x1") for label in outside)

    svg = ET.fromstring(diagram.svg())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"layer1", "layer2", "neuron0", "neuron1"} <= texts

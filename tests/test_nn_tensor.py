"""nn on Tensors: Linear and Sequential, the same network as the scalar MLP (same weights, same
loss, same gradients), optimisers over array parameters (the flat layout gives exactly the
per-parameter rule), saving and loading, and the errors a student meets first."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograd import NonFiniteError, Tensor, Value, no_grad
from nn import MLP, Linear, ReLU, Sequential, Sigmoid, Tanh, losses
from nn.optim import SGD, AdaGrad, Adam, Momentum, Nesterov, Optimizer, RMSProp

ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSProp, Adam]


def small_pair(activation: str) -> tuple[MLP, Sequential]:
    """The same 3-4-3 network twice: scalar Values and Tensors, drawn from one seed."""
    scalar = MLP(3, [4, 3], activation=activation, init="he", seed=7)
    act = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}[activation]
    rng = random.Random(7)
    vector = Sequential(Linear(3, 4, seed=rng), act(), Linear(4, 3, seed=rng))
    return scalar, vector


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_value_mlp_and_tensor_mlp_agree_on_weights_loss_and_gradients(activation: str) -> None:
    scalar, vector = small_pair(activation)
    # same weights: neuron j of layer k is row j of layer k's W
    for k, layer in enumerate(scalar.layers):
        linear = vector.layers[2 * k]
        assert isinstance(linear, Linear)
        w = np.array([[w.data for w in neuron.w] for neuron in layer.neurons])
        np.testing.assert_array_equal(w, linear.W.data)
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 1.0, 0.1]])
    y = [2, 0, 1]

    scalar_loss = losses.mean(
        losses.softmax_cross_entropy(scalar(list(row)), int(t)) for row, t in zip(x, y, strict=True)
    )
    scalar_loss.backward()
    vector_loss = vector(Tensor(x, requires_grad=False)).cross_entropy(y)
    vector_loss.backward()

    assert vector_loss.item() == pytest.approx(scalar_loss.data, abs=1e-12)
    for k, layer in enumerate(scalar.layers):
        linear = vector.layers[2 * k]
        assert isinstance(linear, Linear)
        w_grad = np.array([[w.grad for w in neuron.w] for neuron in layer.neurons])
        b_grad = np.array([neuron.b.grad for neuron in layer.neurons])
        np.testing.assert_allclose(linear.W.grad, w_grad, rtol=0, atol=1e-12)
        np.testing.assert_allclose(linear.b.grad, b_grad, rtol=0, atol=1e-12)


def test_reference_layer_in_matrix_form() -> None:
    """The slides' small layer: sigma(W x + b), W = [[1, -2], [-1, 1]], x = [1, -1], b = [1, 0]."""
    layer = Linear(2, 2)
    layer.W.data = np.array([[1.0, -2.0], [-1.0, 1.0]])
    layer.b.data = np.array([1.0, 0.0])
    z = layer(Tensor([1.0, -1.0]))
    np.testing.assert_array_equal(z.data, [4.0, -2.0])
    np.testing.assert_allclose(z.sigmoid().data, [0.98, 0.12], atol=0.005)


def test_sequential_names_its_layers_like_the_scalar_mlp() -> None:
    model = Sequential(Linear(64, 128), ReLU(), Linear(128, 64), ReLU(), Linear(64, 10))
    names = [(name, p.shape) for name, p in model.named_parameters()]
    assert names == [
        ("layer1.W", (128, 64)),
        ("layer1.b", (128,)),
        ("layer2.W", (64, 128)),
        ("layer2.b", (64,)),
        ("layer3.W", (10, 64)),
        ("layer3.b", (10,)),
    ]
    assert [p.label for p in model.parameters()] == [name for name, _ in names]
    assert model(Tensor(np.zeros((5, 64)))).shape == (5, 10)
    assert model(Tensor(np.zeros(64))).shape == (10,)


def test_linear_refuses_wrong_inputs_with_the_expected_shape() -> None:
    layer = Linear(3, 2, name="layer1")
    with pytest.raises(ValueError, match=r"layer1 expects inputs of shape \(N, 3\)"):
        layer(Tensor(np.zeros((4, 5))))
    with pytest.raises(ValueError, match="nin >= 1"):
        Linear(0, 3)


def test_a_numpy_batch_is_a_constant_input_with_no_gradient_computed() -> None:
    layer = Linear(3, 2)
    out = layer(np.ones((4, 3)))
    x = out.parents[0].parents[0]  # (x @ W.T) + b
    assert not x.requires_grad
    out.sum().backward()
    assert layer.W.grad.shape == (2, 3)
    assert repr(x.grad).startswith("not needed")


def test_sequential_keeps_given_names_and_refuses_repeats() -> None:
    model = Sequential(Linear(3, 4, name="fc1"), ReLU(), Linear(4, 2))
    assert [name for name, _ in model.named_parameters()] == [
        "fc1.W",
        "fc1.b",
        "layer2.W",
        "layer2.b",
    ]
    assert len(model) == 3
    assert isinstance(model[-1], Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    with pytest.raises(ValueError, match="two layers are named 'fc'"):
        Sequential(Linear(3, 4, name="fc"), Linear(4, 2, name="fc"))


def test_layers_without_a_seed_differ_and_reseed_repeats_them() -> None:
    from nn import init

    init.reseed(3)
    a, b = Linear(4, 4), Linear(4, 4)
    assert not np.array_equal(a.W.data, b.W.data)  # one shared generator, not one seed each
    init.reseed(3)
    c = Linear(4, 4)
    np.testing.assert_array_equal(a.W.data, c.W.data)


def test_class_targets_that_are_tensors_get_a_clear_error() -> None:
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="class labels, not a Tensor"):
        logits.cross_entropy(Tensor([0.0, 1.0]))  # type: ignore[arg-type]
    np.testing.assert_array_equal(Tensor([[0.0, 2.0, 1.0]]).argmax(axis=1), [1])


def test_weight_penalties_skip_biases_and_match_the_scalar_ones() -> None:
    scalar, vector = small_pair("tanh")
    for penalty in (losses.l2_penalty, losses.l1_penalty):
        got = penalty(vector)
        assert isinstance(got, Tensor)
        assert got.item() == pytest.approx(penalty(scalar).data, abs=1e-12)
        got.backward()
        linear = vector.layers[0]
        assert isinstance(linear, Linear)
        assert not linear.b.grad.any()  # no pull on biases
        assert linear.W.grad.any()


def test_mean_squared_error_on_tensors() -> None:
    p = Tensor([[1.0, 2.0], [3.0, 5.0]])
    loss = losses.mean_squared_error(p, [[1.0, 1.0], [3.0, 3.0]])
    assert loss.item() == pytest.approx(0.5 * (0 + 1 + 0 + 4) / 4)
    loss.backward()
    np.testing.assert_allclose(p.grad, [[0.0, 0.25], [0.0, 0.5]])
    with pytest.raises(ValueError, match="pair up"):
        losses.mean_squared_error(p, [1.0, 2.0])


# -- optimisers on arrays ----------------------------------------------------------------------


def _arrays(seed: int) -> list[Tensor]:
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(shape)) for shape in [(3, 4), (4,), (2, 3, 2), ()]]


def _set_grads(params: list[Tensor], step: int) -> None:
    rng = np.random.default_rng(100 + step)
    for p in params:
        p.grad = rng.standard_normal(p.shape)


@pytest.mark.parametrize("optimizer", ALL)
def test_the_flat_layout_takes_exactly_the_per_parameter_steps(
    optimizer: type[Optimizer],
) -> None:
    """One optimiser over all arrays (laid end to end) against one optimiser per array."""
    together = _arrays(0)
    apart = _arrays(0)
    kwargs: dict[str, Any] = {"lr": 0.05}
    opt = optimizer(together, **kwargs)
    singles = [optimizer([p], **kwargs) for p in apart]
    for step in range(5):
        _set_grads(together, step)
        _set_grads(apart, step)
        opt.step()
        for single in singles:
            single.step()
    for a, b in zip(together, apart, strict=True):
        assert a.data.shape == b.data.shape
        np.testing.assert_array_equal(a.data, b.data)


def test_training_a_tensor_model_changes_only_data_and_keeps_shapes() -> None:
    model = Sequential(Linear(4, 8, seed=1), ReLU(), Linear(8, 3, seed=2))
    opt = Adam(model.parameters(), lr=0.01)
    x = Tensor(np.random.default_rng(0).standard_normal((16, 4)), requires_grad=False)
    y = np.arange(16) % 3
    first: float | None = None
    for _ in range(50):
        loss = model(x).cross_entropy(y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first is not None and loss.item() < 0.5 * first
    for p in model.parameters():
        assert isinstance(p, Tensor)
        assert p.grad.shape == p.data.shape
        assert p.is_leaf


def test_a_non_finite_array_gradient_changes_nothing_and_names_the_parameter() -> None:
    model = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    params = model.parameters()
    opt = Adam(params, lr=0.1)
    before = [np.copy(p.data) for p in params]
    for p in params:
        assert isinstance(p, Tensor)
        p.grad = np.zeros(p.shape)
    params[2].grad = np.array([[0.0, np.nan, 0.0]])
    with pytest.raises(NonFiniteError, match=r"params\[2\] \('layer2.W'\) has gradient"):
        opt.step()
    for p, old in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, old)
    assert opt.t == 0


def test_a_wrong_shaped_gradient_is_refused() -> None:
    p = Tensor(np.zeros((2, 3)), "W")
    opt = SGD([p], lr=0.1)
    p.grad = np.zeros(3)
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\)"):
        opt.step()


def test_zero_grad_gives_zeros_of_each_parameters_shape() -> None:
    model = Sequential(Linear(2, 3), Tanh(), Linear(3, 1))
    model(Tensor(np.ones((4, 2)))).sum().backward()
    model.zero_grad()
    for p in model.parameters():
        assert isinstance(p.grad, np.ndarray)
        assert p.grad.shape == p.data.shape
        assert not p.grad.any()


# -- saving --------------------------------------------------------------------------------------


def test_save_and_load_a_tensor_model(tmp_path: Path) -> None:
    model = Sequential(Linear(3, 4, seed=1), ReLU(), Linear(4, 2, seed=2))
    other = Sequential(Linear(3, 4, seed=5), ReLU(), Linear(4, 2, seed=6))
    path = model.save(tmp_path / "model.json")
    other.load(path)
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    x = Tensor(np.ones((2, 3)))
    with no_grad():
        np.testing.assert_array_equal(model(x).data, other(x).data)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([[1.0, 2.0]], r"shape \(1, 2\) in the file"),
        ([["a", "b", "c"]] * 4, "nested lists of numbers"),
        ([[1.0, 2.0, 3.0]] * 3 + [[1.0]], "nested lists of numbers"),
        ([[True, False, True]] * 4, "nested lists of numbers"),
        ([[1e400, 0.0, 0.0]] * 4, "not finite"),
    ],
)
def test_a_bad_saved_array_is_refused_and_changes_nothing(value: Any, message: str) -> None:
    model = Sequential(Linear(3, 4, seed=1))
    before = model.state_dict()
    state = dict(before)
    state["layer1.W"] = value
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_a_value_model_still_saves_floats() -> None:
    model = MLP(2, [1], seed=0)
    assert all(isinstance(v, float) for v in model.state_dict().values())
    assert isinstance(model.parameters()[0], Value)

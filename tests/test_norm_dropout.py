"""BatchNorm1d and Dropout (issue 12): checked against PyTorch's layers, by central differences,
through save and load, and through ``train()`` / ``eval()`` on a Sequential."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograd import Tensor, gradcheck
from nn import BatchNorm1d, Dropout, Linear, ReLU, Sequential

torch = pytest.importorskip(
    "torch", reason="the cross-checks compare with PyTorch (pip install torch==2.13.0, a CPU build)"
)

TIGHT: dict[str, Any] = {"rtol": 1e-10, "atol": 1e-12}


def batch(seed: int, n: int = 6, features: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).normal(2.0, 3.0, size=(n, features))


def pair(features: int = 4, momentum: float = 0.1) -> tuple[BatchNorm1d, Any]:
    """Our layer and PyTorch's, in float64, with the same (non-trivial) γ and β."""
    ours = BatchNorm1d(features, momentum=momentum)
    theirs = torch.nn.BatchNorm1d(features, momentum=momentum).double()
    rng = np.random.default_rng(1)
    gamma, beta = rng.normal(1.0, 0.5, features), rng.normal(0.0, 0.5, features)
    ours.gamma.data = gamma.copy()
    ours.beta.data = beta.copy()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    return ours, theirs


# -- BatchNorm1d ------------------------------------------------------------------------------


def test_batchnorm_train_forward_and_gradients_match_torch() -> None:
    ours, theirs = pair()
    x = batch(0)
    upstream = np.random.default_rng(2).normal(size=x.shape)
    xt = Tensor(x)
    z = ours(xt)
    z.backward(upstream)
    x_torch = torch.tensor(x, requires_grad=True)
    z_torch = theirs(x_torch)
    z_torch.backward(torch.tensor(upstream))
    np.testing.assert_allclose(z.data, z_torch.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(xt.grad, x_torch.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.gamma.grad, theirs.weight.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.beta.grad, theirs.bias.grad.numpy(), **TIGHT)


def test_batchnorm_follows_the_seed_formula() -> None:
    layer = BatchNorm1d(4)
    x = batch(3)
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    expected = (x - mu) / np.sqrt(var + 1e-5)  # γ = 1, β = 0 at the start
    np.testing.assert_allclose(layer(x).data, expected, **TIGHT)


def test_running_stats_after_several_steps_and_eval_match_torch() -> None:
    ours, theirs = pair(momentum=0.1)
    for step in range(5):
        x = batch(10 + step, n=3 + step)
        ours(Tensor(x))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), **TIGHT)
    ours.eval()
    theirs.eval()
    x = batch(99, n=1)  # one example is fine in eval
    xt = Tensor(x)
    z = ours(xt)
    upstream = np.array([[0.3, -1.0, 2.0, 0.5]])
    z.backward(upstream)
    x_torch = torch.tensor(x, requires_grad=True)
    z_torch = theirs(x_torch)
    z_torch.backward(torch.tensor(upstream))
    np.testing.assert_allclose(z.data, z_torch.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(xt.grad, x_torch.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.gamma.grad, theirs.weight.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(ours.beta.grad, theirs.bias.grad.numpy(), **TIGHT)
    before = ours.running_mean.data.copy()
    ours(batch(5))
    np.testing.assert_array_equal(ours.running_mean.data, before)  # eval does not update


def test_batchnorm_gradcheck_in_train_and_eval() -> None:
    layer = BatchNorm1d(3)

    def f(x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        layer.gamma, layer.beta = gamma, beta
        return layer(x)

    rng = np.random.default_rng(4)
    inputs = [rng.normal(size=(5, 3)), rng.normal(1.0, 0.3, 3), rng.normal(size=3)]
    assert gradcheck(f, inputs)
    layer.eval()
    assert gradcheck(f, inputs)


def test_batchnorm_refuses_wrong_shapes_and_single_examples_in_training() -> None:
    layer = BatchNorm1d(4, name="bn")
    with pytest.raises(ValueError, match=r"bn expects inputs of shape \(N, 4\), got \(6, 3\)"):
        layer(np.ones((6, 3)))
    with pytest.raises(ValueError, match=r"shape \(N, 4\), got \(4,\)"):
        layer(np.ones(4))
    with pytest.raises(ValueError, match="more than one example"):
        layer(np.ones((1, 4)))
    with pytest.raises(ValueError, match="features >= 1"):
        BatchNorm1d(0)


def test_running_stats_are_buffers_not_parameters() -> None:
    model = Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), ReLU(), Linear(4, 2, seed=1))
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "layer1.W",
        "layer1.b",
        "batchnorm1.gamma",
        "batchnorm1.beta",
        "layer2.W",
        "layer2.b",
    ]
    assert [name for name, _ in model.named_buffers()] == [
        "batchnorm1.running_mean",
        "batchnorm1.running_var",
    ]
    assert set(model.state_dict()) == set(names) | {
        "batchnorm1.running_mean",
        "batchnorm1.running_var",
    }


def test_save_and_load_round_trip_with_running_stats(tmp_path: Path) -> None:
    def build() -> Sequential:
        return Sequential(Linear(3, 4, seed=0), BatchNorm1d(4), ReLU(), Linear(4, 2, seed=1))

    model = build()
    for step in range(3):
        model(batch(step, features=3))
    model[1].gamma.data = np.array([0.5, 1.5, 2.0, -1.0])  # type: ignore[attr-defined]
    path = model.save(tmp_path / "model.json")
    fresh = build()
    fresh.load(path)
    saved, loaded = model.state_dict(), fresh.state_dict()
    assert list(saved) == list(loaded)
    for name in saved:
        np.testing.assert_array_equal(np.array(saved[name]), np.array(loaded[name]), err_msg=name)
    model.eval()
    fresh.eval()
    x = batch(7, n=2, features=3)
    np.testing.assert_array_equal(model(x).data, fresh(x).data)
    # a file without the running statistics does not fit a model that has them
    document = json.loads(path.read_text())
    del document["parameters"]["batchnorm1.running_var"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"missing batchnorm1\.running_var"):
        build().load(old)


def test_models_without_buffers_still_load_old_files(tmp_path: Path) -> None:
    model = Sequential(Linear(2, 3, seed=0), ReLU(), Linear(3, 1, seed=1))
    path = model.save(tmp_path / "plain.json")
    keys = set(json.loads(path.read_text())["parameters"])
    assert keys == {"layer1.W", "layer1.b", "layer2.W", "layer2.b"}
    fresh = Sequential(Linear(2, 3, seed=5), ReLU(), Linear(3, 1, seed=6))
    fresh.load(path)
    np.testing.assert_array_equal(fresh[0].W.data, model[0].W.data)  # type: ignore[attr-defined]


def test_train_and_eval_switch_every_layer_of_a_sequential() -> None:
    bn, drop = BatchNorm1d(4), Dropout(0.5, seed=0)
    model = Sequential(Linear(3, 4, seed=0), bn, ReLU(), drop, Linear(4, 2, seed=1))
    assert model.training and bn.training and drop.training
    assert model.eval() is model
    assert not model.training and not bn.training and not drop.training
    assert all(not m.training for m in model)
    x = batch(1, features=3)
    np.testing.assert_array_equal(model(x).data, model(x).data)  # deterministic in eval
    assert model.train() is model
    assert all(m.training for m in model)
    model.train(False)
    assert not bn.training


def test_two_batchnorms_get_distinct_names() -> None:
    model = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Linear(3, 3, seed=1), BatchNorm1d(3))
    assert model[1].name == "batchnorm1" and model[3].name == "batchnorm2"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="two layers are named 'bn'"):
        Sequential(BatchNorm1d(3, name="bn"), BatchNorm1d(3, name="bn"))


# -- Dropout ----------------------------------------------------------------------------------


def test_dropout_zero_is_the_identity_like_torch() -> None:
    x = Tensor(batch(0))
    z = Dropout(0.0, seed=0)(x)
    np.testing.assert_array_equal(z.data, x.data)
    np.testing.assert_array_equal(z.data, torch.nn.Dropout(p=0.0)(torch.tensor(x.data)).numpy())


def test_dropout_mask_fraction_and_scaling() -> None:
    p = 0.3
    x = np.ones((200, 500))
    z = Dropout(p, seed=1)(x).data
    kept = z != 0
    assert abs(1 - kept.mean() - p) < 0.01  # 100 000 draws: the fraction is within 1%
    np.testing.assert_allclose(z[kept], 1 / (1 - p), rtol=1e-15)
    assert abs(z.mean() - 1) < 0.02  # inverted dropout keeps the expectation


def test_dropout_is_the_identity_in_eval() -> None:
    layer = Dropout(0.9, seed=0)
    layer.eval()
    x = Tensor(batch(2))
    assert layer(x) is x


def test_dropout_is_reproducible_with_a_seed() -> None:
    x = batch(3)
    a, b = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    for _ in range(3):
        np.testing.assert_array_equal(a(x).data, b(x).data)
    c = Dropout(0.5, seed=np.random.default_rng(42))
    np.testing.assert_array_equal(Dropout(0.5, seed=42)(x).data, c(x).data)
    assert not np.array_equal(a(x).data, a(x).data)  # a new mask each call


def test_dropout_gradient_is_the_mask_over_one_minus_p() -> None:
    p = 0.4
    x = Tensor(batch(4))
    z = Dropout(p, seed=7)(x)
    upstream = np.random.default_rng(5).normal(size=x.shape)
    z.backward(upstream)
    mask = z.data != 0
    np.testing.assert_allclose(x.grad, upstream * mask / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), True, "0.5"])
def test_dropout_refuses_bad_p(p: object) -> None:
    with pytest.raises(ValueError, match=r"Dropout needs p.*in \[0, 1\)"):
        Dropout(p)  # type: ignore[arg-type]

"""Convolution, max pooling and flattening (autograd.convolution, nn.conv_layers): values and
gradients against central differences and against PyTorch, second derivatives through the
windows/fold pair, and the layers' shapes, names, files and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nn
from autograd import NonFiniteError, Tensor, grad, gradcheck
from autograd.convolution import _fold, _windows, conv2d, max_pool2d, pad2d, windows
from nn.conv_layers import Conv2d, Flatten, MaxPool2d

# (N, C, H, W, filters, kernel, stride, padding)
CONV_CASES = [
    (2, 3, 7, 6, 4, 3, 1, 1),
    (3, 2, 8, 8, 5, 3, 2, 0),
    (1, 1, 5, 5, 2, 2, 1, 2),
    (2, 4, 6, 9, 3, 1, 1, 0),
    (1, 2, 9, 7, 2, 4, 3, 1),
]
# (N, C, H, W, kernel, stride)
POOL_CASES = [(2, 3, 8, 8, 2, None), (2, 3, 7, 7, 3, 2), (1, 2, 6, 5, 2, 1), (3, 1, 9, 9, 3, None)]


def _torch() -> Any:
    return pytest.importorskip(
        "torch",
        reason="compared with PyTorch's conv2d (pip install torch==2.13.0, a CPU build)",
    )


def _images(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(size=shape)


def _distinct(rng: np.random.Generator, *shape: int) -> np.ndarray:
    """Values at least 0.01 apart: no ties in a pooling window, no kink within reach of the
    central differences' step."""
    size = int(np.prod(shape))
    return rng.permutation(np.arange(size) * 0.01 - size * 0.005).reshape(shape)


@pytest.mark.parametrize(("n", "c", "h", "w", "o", "k", "s", "p"), CONV_CASES)
def test_conv2d_agrees_with_torch(
    n: int, c: int, h: int, w: int, o: int, k: int, s: int, p: int
) -> None:
    torch = _torch()
    rng = np.random.default_rng(n * 100 + c * 10 + k)
    x, weight, bias = _images(rng, n, c, h, w), rng.normal(size=(o, c, k, k)), rng.normal(size=o)
    X, W, B = Tensor(x), Tensor(weight), Tensor(bias)
    out = conv2d(X, W, B, stride=s, padding=p)
    upstream = rng.normal(size=out.shape)
    out.backward(upstream)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, weight, bias))
    expected = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(W.grad, tw.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(B.grad, tb.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("n", "c", "h", "w", "k", "s"), POOL_CASES)
def test_max_pool2d_agrees_with_torch(
    n: int, c: int, h: int, w: int, k: int, s: int | None
) -> None:
    torch = _torch()
    rng = np.random.default_rng(h * 10 + k)
    x = _distinct(rng, n, c, h, w)
    X = Tensor(x)
    out = max_pool2d(X, k, s)
    upstream = rng.normal(size=out.shape)
    out.backward(upstream)

    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(tx, k, s)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("n", "c", "h", "w", "o", "k", "s", "p"), CONV_CASES[:3])
def test_conv2d_gradcheck(n: int, c: int, h: int, w: int, o: int, k: int, s: int, p: int) -> None:
    rng = np.random.default_rng(7)
    inputs = [_images(rng, n, c, h, w), rng.normal(size=(o, c, k, k)), rng.normal(size=o)]
    assert gradcheck(lambda x, W, b: conv2d(x, W, b, stride=s, padding=p).tanh(), inputs)


@pytest.mark.parametrize(("n", "c", "h", "w", "k", "s"), POOL_CASES)
def test_max_pool2d_gradcheck(n: int, c: int, h: int, w: int, k: int, s: int | None) -> None:
    x = _distinct(np.random.default_rng(3), n, c, h, w)
    assert gradcheck(lambda t: max_pool2d(t, k, s), [x])


def test_a_tie_splits_the_gradient_evenly() -> None:
    """The max gate's rule: a window whose maximum appears twice sends half to each."""
    x = Tensor(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]))
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[0.0, 0.5], [0.5, 0.0]]]])


def test_windows_are_a_view_and_fold_is_their_adjoint() -> None:
    """No pixel is copied into the windows; and <windows(x), u> = <x, fold(u)> for every x and
    u, which is what makes fold the windows' gradient."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 8))
    for kernel, stride in (((3, 3), 1), ((2, 3), 2), ((3, 2), 3)):
        seen = _windows(x, kernel, stride)
        assert np.shares_memory(seen, x)
        u = rng.normal(size=seen.shape)
        folded = _fold(u, x.shape, kernel, stride)
        np.testing.assert_allclose(np.sum(seen * u), np.sum(x * folded), rtol=1e-12)


def test_a_pixel_in_several_windows_adds_their_gradients() -> None:
    """A value used twice adds: in a 3x3 convolution of ones with an all-ones 3x3 filter on a
    5x5 image, each pixel's gradient counts the windows it falls in."""
    x = Tensor(np.ones((1, 1, 5, 5)))
    conv2d(x, Tensor(np.ones((1, 1, 3, 3)))).sum().backward()
    per_axis = np.array([1, 2, 3, 2, 1])
    np.testing.assert_array_equal(x.grad[0, 0], np.outer(per_axis, per_axis))


def test_second_derivatives_through_a_convolution_agree_with_torch() -> None:
    """d/dW of (d/dx Σ tanh(conv(x, W))²)·v: the gradient graph goes through the fold gate
    and back through windows; both must be right for torch's double backward to agree."""
    torch = _torch()
    rng = np.random.default_rng(5)
    x, weight = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3))
    v = rng.normal(size=x.shape)

    def ours(X: Tensor, W: Tensor) -> Tensor:
        return (max_pool2d(conv2d(X, W, padding=1).tanh(), 2, 1) ** 2).sum()

    X, W = Tensor(x), Tensor(weight)
    (dx,) = grad(ours(X, W), [X], create_graph=True)
    (dx * Tensor(v, requires_grad=False)).sum().backward()

    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    pooled = torch.nn.functional.max_pool2d(
        torch.tanh(torch.nn.functional.conv2d(tx, tw, padding=1)), 2, 1
    )
    (tdx,) = torch.autograd.grad((pooled**2).sum(), [tx], create_graph=True)
    (tdx * torch.tensor(v)).sum().backward()
    np.testing.assert_allclose(dx.data, tdx.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(W.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_layers_agree_with_torch_layers() -> None:
    """nn.Conv2d, nn.MaxPool2d and nn.Flatten against torch's, with the same weights."""
    torch = _torch()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 2, 9, 9))
    first = Conv2d(2, 3, 3, stride=2, padding=1, seed=0)
    ours = nn.Sequential(first, MaxPool2d(2), Flatten())
    conv = torch.nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(first.W.data))
        conv.bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
    first.b.data = np.array([0.1, -0.2, 0.3])
    theirs = torch.nn.Sequential(conv, torch.nn.MaxPool2d(2), torch.nn.Flatten())
    out, expected = ours(x), theirs(torch.from_numpy(x))
    assert out.shape == tuple(expected.shape) == (4, 3 * 2 * 2)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(first.W.grad, conv.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(first.b.grad, conv.bias.grad.numpy(), rtol=1e-12)


def test_conv2d_draws_he_weights_with_pytorchs_fans() -> None:
    """fan-in = in_channels k²: He's N(0, 2 / fan_in), seeded, biases 0."""
    layer = Conv2d(16, 32, 3, seed=0)
    assert layer.W.shape == (32, 16, 3, 3) and layer.b.shape == (32,)
    assert abs(layer.W.data.std() - np.sqrt(2 / (16 * 9))) < 0.05 * np.sqrt(2 / (16 * 9))
    np.testing.assert_array_equal(layer.b.data, 0.0)
    np.testing.assert_array_equal(Conv2d(16, 32, 3, seed=0).W.data, layer.W.data)
    assert not np.array_equal(Conv2d(16, 32, 3, seed=1).W.data, layer.W.data)


def test_output_shapes() -> None:
    layer = Conv2d(1, 8, 3, stride=2, padding=1, seed=0)
    out = layer(np.zeros((5, 1, 8, 7)))
    assert out.shape == (5, *layer.output_shape(8, 7)) == (5, 8, 4, 4)
    assert MaxPool2d(3, stride=2)(np.zeros((2, 4, 7, 7))).shape == (2, 4, 3, 3)
    assert Flatten()(np.zeros((2, 4, 3, 3))).shape == (2, 36)
    assert pad2d(Tensor(np.ones((1, 1, 2, 2))), 1).shape == (1, 1, 4, 4)
    assert windows(Tensor(np.ones((1, 2, 5, 6))), (2, 3), 1).shape == (1, 2, 4, 4, 2, 3)


def _cnn(seed: int = 0) -> nn.Sequential:
    return nn.Sequential(
        Conv2d(1, 4, 3, padding=1, seed=seed),
        nn.ReLU(),
        MaxPool2d(2),
        Conv2d(4, 6, 3, padding=1, seed=seed + 1),
        nn.ReLU(),
        MaxPool2d(2),
        Flatten(),
        nn.Linear(6 * 2 * 2, 10, seed=seed + 2),
    )


def test_names_and_files(tmp_path: Any) -> None:
    model = _cnn()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["conv1.W", "conv1.b", "conv2.W", "conv2.b", "layer1.W", "layer1.b"]
    x = np.random.default_rng(0).normal(size=(3, 1, 8, 8))
    path = model.save(tmp_path / "cnn.json")
    other = _cnn(seed=10)
    assert not np.allclose(other(x).data, model(x).data)
    other.load(path)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    wrong = nn.Sequential(Conv2d(1, 5, 3, padding=1), Flatten())
    with pytest.raises(ValueError, match=r"unexpected conv2\.W"):
        wrong.load(path)


@pytest.mark.parametrize(
    ("make", "data", "message"),
    [
        (lambda: Conv2d(1, 4, 3), np.zeros((2, 8, 8)), r"expects images of shape \(N, 1, H, W\)"),
        (lambda: Conv2d(3, 4, 3), np.zeros((2, 1, 8, 8)), r"\(N, 3, H, W\) \(3 channel"),
        (lambda: Conv2d(1, 4, 5), np.zeros((2, 1, 3, 3)), "kernel is larger than its input"),
        (lambda: Conv2d(1, 4, 5, padding=1), np.zeros((2, 1, 2, 2)), "padding 1 is 4x4"),
        (lambda: MaxPool2d(3), np.zeros((2, 1, 2, 2)), "window is larger than its input"),
        (lambda: MaxPool2d(2), np.zeros((2, 8)), r"images of shape \(N, C, H, W\)"),
        (lambda: Flatten(), np.zeros(3), r"batch of shape \(N, \.\.\.\)"),
    ],
)
def test_bad_input_is_refused_clearly(make: Any, data: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()(data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2d(0, 4, 3), "in_channels to be an int >= 1, got 0"),
        (lambda: Conv2d(1, -2, 3), "out_channels to be an int >= 1, got -2"),
        (lambda: Conv2d(1, 4, 0), "kernel_size to be an int >= 1, got 0"),
        (lambda: Conv2d(1, 4, 3, stride=0), "stride to be an int >= 1, got 0"),
        (lambda: Conv2d(1, 4, 3, padding=-1), "padding to be an int >= 0, got -1"),
        (lambda: Conv2d(1, 4, 2.5), "kernel_size to be an int >= 1, got 2.5"),  # type: ignore[arg-type]
        (lambda: MaxPool2d(0), "kernel_size to be an int >= 1, got 0"),
        (lambda: MaxPool2d(2, stride=0), "stride to be an int >= 1, got 0"),
    ],
)
def test_bad_sizes_are_refused_clearly(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_nan_in_the_images_is_refused() -> None:
    images = np.zeros((2, 1, 8, 8))
    images[1, 0, 3, 4] = np.nan
    with pytest.raises(NonFiniteError, match=r"index \(1, 0, 3, 4\)"):
        Conv2d(1, 2, 3)(images)


def test_the_functions_check_their_arguments() -> None:
    x = Tensor(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match="filters take 3 channel"):
        conv2d(x, Tensor(np.zeros((4, 3, 3, 3))))
    with pytest.raises(ValueError, match=r"weight has shape \(O, C, kh, kw\)"):
        conv2d(x, Tensor(np.zeros((4, 2, 3))))
    with pytest.raises(ValueError, match="does not fit an image of 5x5"):
        windows(x, 6)
    with pytest.raises(ValueError, match="one grey image of shape"):
        max_pool2d(Tensor(np.zeros((5, 5))), 2)

"""Layers for images: convolution, max pooling and flattening, on batches of shape (N, C, H, W).

The lectures' two reasons a convolutional layer beats a fully connected one on images:
*parameter sharing* (one small filter is used at every position, so a 3x3 filter on one
channel has 9 weights whatever the image size) and *sparsity of connections* (each output
depends only on the pixels under its window). The arithmetic is in
:mod:`autograd.convolution`: windows of the image, laid out as a patches matrix, times the
filters.

A digits CNN, Conv-ReLU-Pool-Conv-ReLU-Pool-Linear, on 8x8 grey images:

>>> import numpy as np
>>> from nn import Sequential, Linear, ReLU
>>> model = Sequential(
...     Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2),   # (N, 8, 4, 4)
...     Conv2d(8, 16, 3, padding=1), ReLU(), MaxPool2d(2),  # (N, 16, 2, 2)
...     Flatten(), Linear(16 * 2 * 2, 10),
... )
>>> model(np.zeros((5, 1, 8, 8))).shape
(5, 10)
>>> [name for name, _ in model.named_parameters()]
['conv1.W', 'conv1.b', 'conv2.W', 'conv2.b', 'layer1.W', 'layer1.b']
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from autograd import Tensor
from autograd.convolution import conv2d, max_pool2d, output_size, size_argument
from nn import init as initialisers
from nn.module import Module
from nn.tensor_layers import WeightsAndBias


def _images(x: Tensor | ArrayLike, like: Tensor | None, who: str, expected: str) -> Tensor:
    """``x`` as a Tensor of images, checked to be 4-D; a numpy batch is a constant."""
    if not isinstance(x, Tensor):
        x = Tensor(x, requires_grad=False, dtype=None if like is None else like.dtype)
    if x.ndim != 4:
        raise ValueError(f"{who} expects images of shape {expected}, got shape {x.shape}")
    return x


class Conv2d(WeightsAndBias):
    """``out_channels`` learned filters of shape (in_channels, k, k) slid over the images.

    ``out[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]`` (⋆ the sliding dot product, stride ``stride``,
    after a border of ``padding`` zeros): input (N, in_channels, H, W), output
    (N, out_channels, oh, ow) with ``oh = (H + 2 padding - k) // stride + 1``.

    Args:
        in_channels, out_channels: C of the input, and the number of filters.
        kernel_size: k, the side of each square filter.
        stride, padding: the window's step, and the zeros added around each image.
        init: weight initialiser (see :mod:`nn.init`) with PyTorch's fans: fan-in
            ``in_channels k²``, fan-out ``out_channels k²``; He by default. Biases start at 0.
        seed: an int or a ``random.Random``, as for :class:`~nn.Linear`; by default the shared
            generator. Weights are drawn in the order of ``W``'s elements.
        name: the label prefix (``conv1.W``, ``conv1.b``); left at the default,
            :class:`~nn.Sequential` numbers the convolutions ``conv1``, ``conv2``, ...
        dtype: float64 (default) or float32.
    """

    default_name = "conv"
    numbered_as = "conv"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        init: str | initialisers.Initialiser = "he",
        seed: int | random.Random | None = None,
        name: str = "conv",
        dtype: Any = np.float64,
    ) -> None:
        who = "Conv2d"
        c = size_argument(in_channels, "in_channels", who)
        o = size_argument(out_channels, "out_channels", who)
        k = size_argument(kernel_size, "kernel_size", who)
        self.stride = size_argument(stride, "stride", who)
        self.padding = size_argument(padding, "padding", who, least=0)
        draw = initialisers.get(init)
        rng = initialisers.rng_for(seed)
        fan_in, fan_out = c * k * k, o * k * k
        weights = [draw(fan_in, fan_out, rng) for _ in range(o * c * k * k)]
        self.W = Tensor(np.reshape(weights, (o, c, k, k)), dtype=dtype)
        self.b = Tensor(np.zeros(o), dtype=dtype)
        self.rename(name)

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        """The convolution of the batch ``x`` (N, in_channels, H, W) with the filters, + b."""
        _, c, k, _ = self.W.shape
        x = _images(x, self.W, self.name, f"(N, {c}, H, W)")
        if x.shape[1] != c:
            raise ValueError(
                f"{self.name} expects images of shape (N, {c}, H, W) ({c} channel(s)), got "
                f"shape {x.shape}"
            )
        height, width = (side + 2 * self.padding for side in x.shape[2:])
        if k > height or k > width:
            raise ValueError(
                f"{self.name}'s {k}x{k} kernel is larger than its input: {x.shape[2]}x"
                f"{x.shape[3]} pixels with padding {self.padding} is {height}x{width}; use a "
                "smaller kernel, more padding, or fewer pooling layers before this one"
            )
        return conv2d(x, self.W, self.b, stride=self.stride, padding=self.padding)

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(channels, rows, columns) of the output for images of ``height x width``."""
        o, _, k, _ = self.W.shape
        p, s = self.padding, self.stride
        return o, output_size(height + 2 * p, k, s), output_size(width + 2 * p, k, s)

    def __repr__(self) -> str:
        o, c, k, _ = self.W.shape
        extra = "".join(
            f", {key}={value}"
            for key, value in (("stride", self.stride), ("padding", self.padding))
            if value != (1 if key == "stride" else 0)
        )
        return f"Conv2d({c}, {o}, {k}{extra})"


class MaxPool2d(Module):
    """The maximum of each ``kernel_size x kernel_size`` window, per channel: (N, C, H, W) to
    (N, C, oh, ow). No parameters; backward, the max gate routes each window's upstream
    gradient to its maximum.

    Args:
        kernel_size: the window's side.
        stride: its step; by default ``kernel_size``, windows side by side (2x2 windows halve
            the height and the width).
    """

    def __init__(self, kernel_size: int, stride: int | None = None) -> None:
        self.kernel_size = size_argument(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = (
            self.kernel_size if stride is None else size_argument(stride, "stride", "MaxPool2d")
        )

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        x = _images(x, None, "MaxPool2d", "(N, C, H, W)")
        k = self.kernel_size
        if k > x.shape[2] or k > x.shape[3]:
            raise ValueError(
                f"MaxPool2d's {k}x{k} window is larger than its input of {x.shape[2]}x"
                f"{x.shape[3]} pixels (shape {x.shape}); use a smaller window or fewer "
                "pooling layers"
            )
        return max_pool2d(x, k, self.stride)

    def __repr__(self) -> str:
        extra = "" if self.stride == self.kernel_size else f", stride={self.stride}"
        return f"MaxPool2d({self.kernel_size}{extra})"


class Flatten(Module):
    """(N, C, H, W), or any (N, ...), to (N, C·H·W): each example as one row, for a
    :class:`~nn.Linear` layer. The gradient is reshaped back."""

    def __call__(self, x: Tensor | ArrayLike) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(x, requires_grad=False)
        if x.ndim < 2:
            raise ValueError(f"Flatten expects a batch of shape (N, ...), got shape {x.shape}")
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))

    def __repr__(self) -> str:
        return "Flatten()"

"""Convolution and max pooling on a batch of images: two ideas, windows and a matrix product.

A batch of images is a Tensor of shape (N, C, H, W): N images, C channels (1 for grey, 3 for
colour, or the outputs of the previous layer's filters), H rows, W columns.

**Windows.** A ``kh x kw`` window slid over the image ``stride`` pixels at a time sees
``oh x ow`` positions, ``oh = (H - kh) // stride + 1`` (likewise ``ow``). :func:`windows` lays
them out as a (N, C, oh, ow, kh, kw) array *without copying a pixel*: numpy's
``sliding_window_view`` makes a view whose strides step through the image, so a pixel that
falls in several windows is one number seen several times. That reuse is the gate pattern "a
value used twice adds" again: backward, each window's gradient is added back onto the pixels it
saw (:func:`_fold`: one array addition per kernel offset, kh x kw of them, whatever the image
size).

**Convolution is a matrix product.** Put each receptive field (a window across all C channels,
``C kh kw`` numbers) in a row: the ``N oh ow`` rows are the *patches* matrix ("im2col", one
gate: :func:`patches`). Each filter is a row of ``C kh kw`` weights too, so the convolution is
``patches @ filtersᵀ``: every patch dotted with every filter, the same weights at every position
("parameter sharing") and each output seeing only its window ("sparsity of connections"). The
gradients come from gates the engine already has: the matrix product's (``upstream @ filters``
for the patches, ``upstreamᵀ @ patches`` for the filters, so each filter's gradient sums over
every position it was used at), the reshapes', and the patches gate's own, which is the fold.

**Max pooling** is the max gate over each window: the window's maximum goes on, and backward
the router sends the upstream gradient to it (ties split it evenly) and 0 to the rest. Windows
side by side (stride = kernel, the usual choice) tile the image, and then the k² strided views
"pixel (i, j) of every window" hold each window's pixels one per view: the max pool gate is
their elementwise maximum, and its router is one comparison per view. Overlapping windows go
through :func:`windows` and the max reduction.

Like machine-learning libraries, "convolution" here is cross-correlation: the kernel is not
flipped (a learned kernel does not care which way round it is stored).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from autograd import ops as _ops
from autograd.engine import apply
from autograd.jacobians import VJP
from autograd.ops import Op
from autograd.tensor import Tensor, stack

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int) -> int:
    """How many positions a window of ``kernel`` pixels, moved ``stride`` at a time, takes
    along an axis of ``size`` pixels (the last window ends at or before the edge)."""
    return (size - kernel) // stride + 1


def _windows(a: Any, kernel: Pair, stride: int) -> Any:
    """The (N, C, oh, ow, kh, kw) view of every window of ``a`` (N, C, H, W): no copy.
    Applied to a Tensor (a gradient that is a graph), the :func:`windows` gate."""
    if isinstance(a, Tensor):
        return apply(_windows_op(kernel, stride), a)
    return sliding_window_view(a, kernel, axis=(2, 3))[:, :, ::stride, ::stride]


def _fold(u: Any, shape: tuple[int, ...], kernel: Pair, stride: int) -> Any:
    """The windows' gradient ``u`` (N, C, oh, ow, kh, kw) added back onto the pixels each
    window saw, as an array of the image's ``shape``: the adjoint of :func:`_windows`."""
    if isinstance(u, Tensor):
        return apply(_fold_op(shape, kernel, stride), u)
    oh, ow = u.shape[2], u.shape[3]
    # zeros laid out in memory like the upstream (channels last after a convolution), so the
    # additions below walk both arrays in the same order
    grad = np.zeros_like(u[:, :, :1, :1, 0, 0], shape=shape)
    for i in range(kernel[0]):  # one addition per kernel offset: each adds a whole grid
        for j in range(kernel[1]):
            rows = slice(i, i + stride * (oh - 1) + 1, stride)
            cols = slice(j, j + stride * (ow - 1) + 1, stride)
            grad[:, :, rows, cols] += u[:, :, :, :, i, j]
    return grad


@lru_cache(maxsize=64)
def _windows_op(kernel: Pair, stride: int) -> Op:
    kh, kw = kernel
    return Op(
        "windows",
        f"windows {kh}x{kw}" + (f" /{stride}" if stride != 1 else ""),
        1,
        forward=None,
        array_forward=lambda a: _windows(a, kernel, stride),
        local=lambda a, out: (
            VJP(
                lambda u: _fold(u, a.shape, kernel, stride),
                "each window's upstream added back onto its pixels",
            ),
        ),
        formula="the same pixels seen window by window: a pixel in k windows adds k upstreams",
        always_finite=True,
    )


@lru_cache(maxsize=64)
def _fold_op(shape: tuple[int, ...], kernel: Pair, stride: int) -> Op:
    """The windows' gradient as a gate of its own, for gradients that are graphs: its local
    gradient is taking the windows again."""
    return Op(
        "fold",
        "fold",
        1,
        forward=None,
        array_forward=lambda u: _fold(u, shape, kernel, stride),
        local=lambda u, out: (
            VJP(lambda v: _windows(v, kernel, stride), "upstream seen window by window"),
        ),
        formula="window gradients added back onto the pixels they saw",
        always_finite=True,
    )


def _pad(a: Any, p: int) -> Any:
    """``a`` (N, C, H, W) with a border of ``p`` zeros; applied to a Tensor, the pad gate."""
    if p == 0:
        return a
    if isinstance(a, Tensor):
        return apply(_pad_op(p), a)
    n, c, height, width = a.shape
    out = np.zeros((n, c, height + 2 * p, width + 2 * p), dtype=a.dtype)
    out[:, :, p:-p, p:-p] = a  # (np.pad does the same, ~10x slower on small images)
    return out


def _unpad(u: Any, p: int) -> Any:
    """``u`` without its border of ``p``: the padding's gradient (the border is a constant)."""
    return u if p == 0 else u[:, :, p:-p, p:-p]


def _patches(a: Any, kernel: Pair, stride: int, padding: int) -> Any:
    """The patches matrix of the images ``a`` (N, C, H, W), padded: one row per receptive field
    (image, row, column), its ``C kh kw`` numbers in the filters' own order (channel, row,
    column). Applied to a Tensor (a gradient that is a graph), the :func:`patches` gate."""
    if isinstance(a, Tensor):
        return apply(_patches_op(kernel, stride, padding), a)
    seen = _windows(_pad(a, padding), kernel, stride)  # (N, C, oh, ow, kh, kw), a view
    n, c, oh, ow = seen.shape[:4]
    return seen.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kernel[0] * kernel[1])


def _unpatch(u: Any, shape: tuple[int, ...], kernel: Pair, stride: int, padding: int) -> Any:
    """The patches' gradient ``u`` back onto the images of ``shape``: each row's numbers added
    onto the pixels that patch saw (:func:`_fold`), the padding's border dropped."""
    n, c, height, width = shape
    padded = (n, c, height + 2 * padding, width + 2 * padding)
    oh, ow = output_size(padded[2], kernel[0], stride), output_size(padded[3], kernel[1], stride)
    seen = u.reshape(n, oh, ow, c, *kernel).transpose(0, 3, 1, 2, 4, 5)
    return _unpad(_fold(seen, padded, kernel, stride), padding)


@lru_cache(maxsize=64)
def _patches_op(kernel: Pair, stride: int, padding: int) -> Op:
    kh, kw = kernel
    stepped = f" /{stride}" if stride != 1 else ""
    padded = f" pad {padding}" if padding else ""
    return Op(
        "patches",
        f"patches {kh}x{kw}{stepped}{padded}",
        1,
        forward=None,
        array_forward=lambda a: _patches(a, kernel, stride, padding),
        local=lambda a, out: (
            VJP(
                lambda u: _unpatch(u, a.shape, kernel, stride, padding),
                "each row of upstream added back onto the pixels its patch saw",
            ),
        ),
        formula="one row per window (im2col); a pixel in k windows adds k upstreams",
        always_finite=True,
    )


def _tiles(a: Any, k: int) -> list[Any]:
    """The k² strided views of images tiled by k x k windows: view (i, j) holds pixel (i, j)
    of every window, shape (N, C, H/k, W/k). No copy; for a Tensor, k² slicing gates."""
    return [a[:, :, i::k, j::k] for i in range(k) for j in range(k)]


def _untile(pieces: list[Any], k: int, like: Any) -> Any:
    """The inverse of :func:`_tiles`: k² arrays (or Tensors) of shape (N, C, oh, ow) put back
    where their views came from, into an array shaped (and laid out in memory) like ``like``."""
    if isinstance(pieces[0], Tensor):
        n, c, oh, ow = pieces[0].shape
        blocks = stack(pieces, axis=-1).reshape(n, c, oh, ow, k, k).transpose(0, 1, 2, 4, 3, 5)
        return blocks.reshape(n, c, oh * k, ow * k)
    out = np.empty_like(like)
    for (i, j), piece in zip(np.ndindex(k, k), pieces, strict=True):
        out[:, :, i::k, j::k] = piece
    return out


def _tiled_max(a: Any, k: int) -> Any:
    out = None
    for view in _tiles(a, k):  # the maximum of each window, k² views at a time
        out = view.copy() if out is None else np.maximum(out, view, out=out)
    return out


def _tiled_max_router(a: Any, out: Any, k: int) -> VJP:
    """The max gate's router, once per window: each of the window's k² pixels gets
    ``upstream × [pixel = max] / (number of pixels at the max)``: all of it to the maximum,
    a tie split evenly."""
    a, out = _ops.values_of(a), _ops.values_of(out)
    at_max = [(view == out).astype(a.dtype) for view in _tiles(a, k)]
    ties = sum(at_max[1:], at_max[0])  # how many pixels share each window's maximum
    return VJP(
        lambda u: _untile([(u / ties) * mask for mask in at_max], k, a),
        "upstream routed to each window's maximum (ties split it evenly)",
    )


@lru_cache(maxsize=64)
def _tiled_max_op(k: int) -> Op:
    return Op(
        "max_pool",
        f"max pool {k}x{k}",
        1,
        forward=None,
        array_forward=lambda a: _tiled_max(a, k),
        local=lambda a, out: (_tiled_max_router(a, out, k),),
        formula="router: 1 to the maximum of each window, ties split evenly",
        always_finite=True,
    )


@lru_cache(maxsize=64)
def _pad_op(padding: int) -> Op:
    p = padding
    return Op(
        "pad",
        f"pad {p}",
        1,
        forward=None,
        array_forward=lambda a: np.pad(a, ((0, 0), (0, 0), (p, p), (p, p))),
        local=lambda a, out: (VJP(lambda u: u[:, :, p:-p, p:-p], "upstream without the border"),),
        formula="the border of zeros is a constant: its gradient is dropped",
        always_finite=True,
    )


def _check_images(x: Tensor, who: str) -> None:
    if x.ndim != 4:
        raise ValueError(
            f"{who} takes a batch of images of shape (N, C, H, W), got shape {x.shape}; for "
            "one grey image of shape (H, W) use x.reshape(1, 1, H, W)"
        )


def size_argument(value: object, name: str, who: str, least: int = 1) -> int:
    """``value`` as an int, checked to be a whole number >= ``least`` (a size, a stride, a
    padding), or a ValueError that says which argument of ``who`` is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{who} needs {name} to be an int >= {least}, got {value!r}")
    return int(value)


def _kernel(x: Tensor, kernel: object, stride: object, padding: object, who: str) -> Pair:
    """The kernel's (kh, kw), with the images, the stride and the padding checked: clear
    errors here, before numpy's."""
    _check_images(x, who)
    sides = (kernel, kernel) if isinstance(kernel, (int, np.integer)) else kernel
    if not isinstance(sides, tuple) or len(sides) != 2:
        raise ValueError(f"{who} takes a kernel size k or (kh, kw), got {kernel!r}")
    kh, kw = (size_argument(side, "the kernel size", who) for side in sides)
    size_argument(stride, "stride", who)
    p = size_argument(padding, "padding", who, least=0)
    height, width = x.shape[2] + 2 * p, x.shape[3] + 2 * p
    if kh > height or kw > width:
        raise ValueError(
            f"a {kh}x{kw} kernel does not fit an image of {x.shape[2]}x{x.shape[3]} pixels "
            f"with padding {p} ({height}x{width}); use a smaller kernel, more padding, or a "
            "larger input"
        )
    return kh, kw


def pad2d(x: Tensor, padding: int) -> Tensor:
    """``x`` (N, C, H, W) with a border of ``padding`` zeros around every image."""
    _check_images(x, "pad2d")
    padding = size_argument(padding, "padding", "pad2d", least=0)
    return x if padding == 0 else apply(_pad_op(padding), x)


def windows(x: Tensor, kernel: int | Pair, stride: int = 1) -> Tensor:
    """Every ``kernel`` window of ``x`` (N, C, H, W), ``stride`` apart: shape
    (N, C, oh, ow, kh, kw), a view (no pixel copied). See the module docstring."""
    kh, kw = _kernel(x, kernel, stride, 0, "windows")
    stride = int(stride)
    seen: Tensor = apply(_windows_op((kh, kw), stride), x)
    return seen


def patches(x: Tensor, kernel: int | Pair, stride: int = 1, padding: int = 0) -> Tensor:
    """The patches matrix ("im2col") of ``x`` (N, C, H, W) after ``padding``: shape
    (N·oh·ow, C·kh·kw), one row per receptive field. See the module docstring."""
    kh, kw = _kernel(x, kernel, stride, padding, "patches")
    out: Tensor = apply(_patches_op((kh, kw), int(stride), int(padding)), x)
    if not out.requires_grad:  # images of data: a constant, which a diagram names by label
        out.label = f"patches of {x.label}" if x.label else "patches"
    return out


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    """The convolution of a batch ``x`` (N, C, H, W) with ``O`` filters ``weight`` (O, C, kh, kw),
    plus ``bias`` (O,) per filter: shape (N, O, oh, ow).

    ``out[n, o, i, j] = bias[o] + Σ_c Σ_a Σ_b weight[o, c, a, b] x[n, c, i s + a, j s + b]``
    (s the stride, x padded first), computed as ``patches @ filtersᵀ`` (module docstring).
    """
    _check_images(x, "conv2d")
    if weight.ndim != 4:
        raise ValueError(f"conv2d's weight has shape (O, C, kh, kw), got shape {weight.shape}")
    filters, channels, kh, kw = weight.shape
    if x.shape[1] != channels:
        raise ValueError(
            f"conv2d's filters take {channels} channel(s), but the images have {x.shape[1]} "
            f"(shape {x.shape}; expected (N, {channels}, H, W))"
        )
    _kernel(x, (kh, kw), stride, padding, "conv2d")
    height, width = x.shape[2] + 2 * padding, x.shape[3] + 2 * padding
    rows = patches(x, (kh, kw), stride, padding).matmul_t(
        weight.reshape(filters, channels * kh * kw)  # one row per filter
    )
    if bias is not None:
        rows = rows + bias  # (N·oh·ow, O): one bias per column, that is per filter
    n, oh, ow = x.shape[0], output_size(height, kh, stride), output_size(width, kw, stride)
    return rows.reshape(n, oh, ow, filters).transpose(0, 3, 1, 2)


def max_pool2d(x: Tensor, kernel: int, stride: int | None = None) -> Tensor:
    """The maximum of every ``kernel x kernel`` window of ``x`` (N, C, H, W), ``stride`` apart
    (by default ``kernel``: windows side by side): shape (N, C, oh, ow).

    Windows side by side tile the image, so they need no sliding: the image (cropped to whole
    windows) reshaped to (N, C, oh, k, ow, k) holds window (i, j) at ``[:, :, i, :, j, :]``,
    and the max gate over axes 3 and 5 pools it. Its gradient is the router's, reshaped back,
    with no fold: each pixel is in one window only. Overlapping windows (``stride < kernel``)
    or gaps (``stride > kernel``) take :func:`windows`.
    """
    stride = kernel if stride is None else stride
    k, _ = _kernel(x, kernel, stride, 0, "max_pool2d")
    if stride != k:
        return windows(x, k, stride).max(axis=(4, 5))
    height, width = x.shape[2], x.shape[3]
    oh, ow = height // k, width // k
    if height != oh * k or width != ow * k:
        x = x[:, :, : oh * k, : ow * k]  # the rows and columns no window reaches
    pooled: Tensor = apply(_tiled_max_op(k), x)
    return pooled

"""CNN benchmark: time per training epoch of a small convolutional net on the 8x8 digits, ours
against a hand-written numpy floor and PyTorch, all in the same run.

The workload: scikit-learn's ``load_digits`` (1797 grey 8x8 images), a stratified 80/20 split
(seed 0), standardised per channel as seed 000 does it: one mean and one standard deviation of
all the training pixels. The net, Conv-ReLU-Pool-Conv-ReLU-Pool-Linear::

    Conv2d(1, 16, 3, padding=1) ReLU MaxPool2d(2)     (N, 16, 4, 4)
    Conv2d(16, 32, 3, padding=1) ReLU MaxPool2d(2)    (N, 32, 2, 2)
    Flatten Linear(128, 10)                           (N, 10), 6,090 parameters

softmax cross-entropy averaged over the batch; Adam (PyTorch's formula, lr 3e-3) with the
learning rate cut to 0.3x every 10 epochs (``nn.StepDecay``); batches of 32 in an order
reshuffled every epoch by a seeded generator; float64. An epoch is 45 steps over the 1437
training images.

Engines, from the same initial weights (He-normal, made once with numpy) and batches:

* ``floor``: forward, backward and Adam written by hand in numpy for this one net, no graph, in
  the layout a numpy programmer would pick (channels last, so no transposes between layers),
  with the same im2col through ``sliding_window_view``. The baseline (1.00x).
* ``ours``: ``nn.Sequential`` of ``nn.Conv2d``, ``nn.ReLU``, ``nn.MaxPool2d``, ``nn.Flatten``,
  ``nn.Linear``; ``Tensor.cross_entropy``; ``nn.Adam``.
* ``pytorch``: the same layers of ``torch.nn`` (CPU, ``torch.set_num_threads(2)``),
  ``F.cross_entropy``, ``torch.optim.Adam``. Skipped if torch is not installed.

What is measured, and how the engines take turns (each timed epoch after an untimed
``gc.collect()`` and a pause, so that one engine's spinning thread pool does not slow the next):
see ``bench/bench_digits.py``, whose machinery this reuses. The table shows the median epoch, its
range, the ratio to the floor, the largest loss difference to the floor over the first 5 steps
(the engines compute the same numbers up to rounding), and, after training for ``--epochs`` (25)
from the start, the training loss and the test accuracy (one shared numpy forward).

Usage: ``python bench/bench_cnn.py [--repeats 7] [--warmup 1] [--pause 0.25] [--epochs 25]
[--engines floor ours pytorch] [--quick]``  (about a minute)
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_digits as shared  # the machinery: timing, load, torch, Adam

FloatArray = shared.FloatArray
IntArray = shared.IntArray
ENGINES = ("floor", "ours", "pytorch")
BATCH = 32
LR, EVERY, FACTOR = 3e-3, 10, 0.3  # Adam's lr, cut by FACTOR every EVERY epochs
EPOCHS = 25
C1, C2, CLASSES = 16, 32, 10
TIME_TARGET = 1.5  # the issue: ours at most 1.5x the floor per epoch, and ahead of PyTorch


Images = shared.Digits  # the same four arrays; x_* hold (N, 1, 8, 8) images here


def load_images(seed: int = 0) -> Images:
    """``load_digits``, a stratified 80/20 split, standardised with the training pixels'
    mean and standard deviation (one of each: the images have one channel)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        np.asarray(x, dtype=np.float64),
        np.asarray(y, dtype=np.int64),
        test_size=0.2,
        random_state=seed,
        stratify=y,
    )
    mean, std = x_train.mean(), x_train.std()
    return Images(
        ((x_train - mean) / std).reshape(-1, 1, 8, 8),
        y_train,
        ((x_test - mean) / std).reshape(-1, 1, 8, 8),
        y_test,
    )


def initial_weights(seed: int = 0) -> list[FloatArray]:
    """``[W1, b1, W2, b2, W3, b3]``: He-normal filters (O, C, 3, 3) with fan-in C·9, zero
    biases, and the linear layer (10, 128)."""
    rng = np.random.default_rng(seed)
    shapes = [(C1, 1, 3, 3), (C2, C1, 3, 3), (CLASSES, C2 * 2 * 2)]
    weights: list[FloatArray] = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:]))
        weights += [rng.standard_normal(shape) * np.sqrt(2.0 / fan_in), np.zeros(shape[0])]
    return weights


def lr_at(epoch: int) -> float:
    """Step decay, as ``nn.StepDecay(every=EVERY, factor=FACTOR)`` stepped once per epoch."""
    return LR * FACTOR ** (epoch // EVERY)


# -- the floor: the net by hand, channels last -----------------------------------------------


def _patches(a: FloatArray) -> FloatArray:
    """(n, H, W, C) to the im2col matrix (n·H·W, C·9) of its 3x3 windows, padding 1."""
    n, h, w, c = a.shape
    padded = np.zeros((n, h + 2, w + 2, c))
    padded[:, 1:-1, 1:-1, :] = a
    return sliding_window_view(padded, (3, 3), axis=(1, 2)).reshape(n * h * w, c * 9)


def _fold(d: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    """The adjoint of :func:`_patches`: (n·H·W, C·9) back onto (n, H, W, C)."""
    n, h, w, c = shape
    d6 = d.reshape(n, h, w, c, 3, 3)
    grad = np.zeros((n, h + 2, w + 2, c))
    for i in range(3):
        for j in range(3):
            grad[:, i : i + h, j : j + w, :] += d6[..., i, j]
    return grad[:, 1:-1, 1:-1, :]


def _pool(a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """2x2 max pooling of (n, H, W, C), and the router: 1/k on each of a window's k maxima."""
    n, h, w, c = a.shape
    blocks = a.reshape(n, h // 2, 2, w // 2, 2, c)
    out = blocks.max(axis=(2, 4))
    is_max = blocks == out[:, :, None, :, None, :]
    return out, is_max / is_max.sum(axis=(2, 4), keepdims=True)


def logits_and_cache(
    params: Sequence[FloatArray], x: FloatArray
) -> tuple[FloatArray, dict[str, Any]]:
    """The logits of images ``x`` (n, 1, 8, 8), and what the backward pass needs of the way."""
    W1, b1, W2, b2, W3, b3 = params
    n = len(x)
    p1 = _patches(x.transpose(0, 2, 3, 1))  # (n·64, 9)
    z1 = p1 @ W1.reshape(C1, -1).T + b1
    a1 = np.maximum(z1, 0.0).reshape(n, 8, 8, C1)
    h1, route1 = _pool(a1)  # (n, 4, 4, C1)
    p2 = _patches(h1)  # (n·16, C1·9)
    z2 = p2 @ W2.reshape(C2, -1).T + b2
    a2 = np.maximum(z2, 0.0).reshape(n, 4, 4, C2)
    h2, route2 = _pool(a2)  # (n, 2, 2, C2)
    flat = h2.transpose(0, 3, 1, 2).reshape(n, -1)  # Flatten's (C, H, W) order
    cache = {"p1": p1, "z1": z1, "route1": route1, "h1": h1, "p2": p2, "z2": z2}
    cache.update(route2=route2, flat=flat)
    return flat @ W3.T + b3, cache


def forward(params: Sequence[FloatArray], x: FloatArray) -> FloatArray:
    """The logits of images ``x`` (n, 1, 8, 8): the shared evaluation."""
    return logits_and_cache(params, x)[0]


class Floor(shared.Floor):
    """The CNN by hand (the MLP floor's loop and Adam, this net's forward and backward). Layer
    by layer, with ``d`` the upstream gradient: cross-entropy ``d = (softmax - onehot) / n``;
    linear ``dW = dᵀ f``, ``df = d W``; pool: ``d`` routed to each window's maximum; relu:
    ``d (z > 0)``; conv (im2col) ``dW = dᵀ patches``, ``dpatches = d W`` folded back onto the
    pixels."""

    def __init__(self, weights: Sequence[FloatArray], data: Images, batch: int = BATCH) -> None:
        self.params = [w.copy() for w in weights]
        self.adam = shared.NumpyAdam(self.params, lr=LR)
        self.data = data
        self.batch = batch

    def set_lr(self, lr: float) -> None:
        self.adam.lr = lr

    def loss_and_grads(self, x: FloatArray, y: IntArray) -> tuple[float, list[FloatArray]]:
        W1, _, W2, _, W3, _ = self.params
        n = len(y)
        logits, c = logits_and_cache(self.params, x)
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
        d = exp / total
        d[rows, y] -= 1.0
        d /= n
        dW3, db3 = d.T @ c["flat"], d.sum(axis=0)
        d_h2 = (d @ W3).reshape(n, C2, 2, 2).transpose(0, 2, 3, 1)
        d_a2 = (c["route2"] * d_h2[:, :, None, :, None, :]).reshape(n * 16, C2)
        d_z2 = d_a2 * (c["z2"] > 0)
        dW2, db2 = (d_z2.T @ c["p2"]).reshape(W2.shape), d_z2.sum(axis=0)
        d_h1 = _fold(d_z2 @ W2.reshape(C2, -1), c["h1"].shape)
        d_a1 = (c["route1"] * d_h1[:, :, None, :, None, :]).reshape(n * 64, C1)
        d_z1 = d_a1 * (c["z1"] > 0)
        dW1, db1 = (d_z1.T @ c["p1"]).reshape(W1.shape), d_z1.sum(axis=0)
        return loss, [dW1, db1, dW2, db2, dW3, db3]


class Ours:
    def __init__(self, weights: Sequence[FloatArray], data: Images, batch: int = BATCH) -> None:
        import nn
        from autograd import Tensor

        self.tensor = Tensor
        self.model = nn.Sequential(
            nn.Conv2d(1, C1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(C1, C2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(C2 * 2 * 2, CLASSES),
        )
        for param, value in zip(self.model.parameters(), weights, strict=True):
            param.data = value.copy()
        self.opt = nn.Adam(self.model.parameters(), lr=LR)
        self.data = data
        self.batch = batch

    def set_lr(self, lr: float) -> None:
        self.opt.lr = lr

    def train_epoch(self, order: IntArray) -> list[float]:
        losses = []
        for idx in shared.batches(order, self.batch):
            logits = self.model(self.data.x_train[idx])  # an array: data, no gradient
            loss = logits.cross_entropy(self.data.y_train[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            losses.append(float(loss.data.item()))
        return losses

    def weights(self) -> list[FloatArray]:
        return [np.array(p.data) for p in self.model.parameters()]


class Torch(shared.Torch):
    """PyTorch's identical CNN (the MLP benchmark's loop)."""

    def __init__(
        self, weights: Sequence[FloatArray], data: Images, torch: Any, batch: int = BATCH
    ) -> None:
        self.torch = torch
        t = torch.nn
        self.model = t.Sequential(
            t.Conv2d(1, C1, 3, padding=1, dtype=torch.float64),
            t.ReLU(),
            t.MaxPool2d(2),
            t.Conv2d(C1, C2, 3, padding=1, dtype=torch.float64),
            t.ReLU(),
            t.MaxPool2d(2),
            t.Flatten(),
            t.Linear(C2 * 2 * 2, CLASSES, dtype=torch.float64),
        )
        with torch.no_grad():
            for param, value in zip(self.model.parameters(), weights, strict=True):
                param.copy_(torch.from_numpy(value))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.x = torch.from_numpy(data.x_train)
        self.y = torch.from_numpy(data.y_train)
        self.batch = batch

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (1)")
    parser.add_argument("--pause", type=float, default=shared.PAUSE, help="seconds (0.25)")
    parser.add_argument("--epochs", type=int, default=None, help=f"to train ({EPOCHS})")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--quick", action="store_true", help="2 repeats, 2 training epochs")
    parser.add_argument("--batch", type=int, default=None, help="images per step (32)")
    args = parser.parse_args()
    batch = args.batch or BATCH
    repeats = args.repeats or (2 if args.quick else 7)
    epochs = args.epochs or (2 if args.quick else EPOCHS)
    if min(repeats, epochs, args.warmup) < 1 or args.pause < 0:
        parser.error("--repeats, --epochs and --warmup must be >= 1, --pause >= 0")

    skipped: dict[str, str] = {}
    torch: Any | None = None
    if "pytorch" in args.engines:
        loaded = shared.load_torch()
        if isinstance(loaded, str):
            skipped["pytorch"] = loaded
        else:
            torch = loaded
    data = load_images()
    weights = initial_weights()
    makers: dict[str, Callable[[], shared.Trainer]] = {
        "floor": partial(Floor, weights, data, batch),
        "ours": partial(Ours, weights, data, batch),
        "pytorch": partial(Torch, weights, data, torch, batch),
    }
    names = [name for name in args.engines if name not in skipped]
    n_train = len(data.y_train)
    engines = {name: shared.Local(name, makers[name], n_train) for name in names}
    gc.collect()
    gc.freeze()
    print(shared.environment(torch))
    for name, reason in skipped.items():
        print(f"{name} skipped: {reason}")
    steps = len(shared.batches(np.arange(n_train), batch))
    print(
        f"digits {n_train} train / {len(data.y_test)} test as (N, 1, 8, 8), batch {batch} "
        f"({steps} steps per epoch), float64, Adam lr {LR:g} x "
        f"{FACTOR:g} every {EVERY} epochs; {repeats} timed epochs per engine after "
        f"{args.warmup} warm-up, engines taking turns, {args.pause:g} s pause before each"
    )
    load = shared.MachineLoad()
    rows = {name: shared.Row([], engine.epoch(0)[1]) for name, engine in engines.items()}
    for k in range(1, args.warmup):
        for engine in engines.values():
            engine.epoch(k)
    for r in range(repeats):
        for name, engine in engines.items():
            time.sleep(args.pause)
            rows[name].times.append(engine.epoch(args.warmup + r)[0])
    for name, engine in engines.items():
        engine.reset()
        for k in range(epochs):
            engine.trainer.set_lr(lr_at(k))  # type: ignore[attr-defined]
            engine.epoch(k)
        rows[name].train_loss, rows[name].accuracy = shared.evaluate(
            engine.weights(), data, forward
        )
    others = load.others()
    print_table(rows, skipped, epochs)
    if others is not None:
        print(
            f"during the run, other processes used {others[0]:.0%} of the {os.cpu_count()} CPUs"
            f" and the hypervisor stole {others[1]:.0%}"
            + (" (busy: the ratios are unreliable)" if max(others) > shared.BUSY else "")
        )
    floor, ours, pytorch = (rows.get(name) for name in ENGINES)
    if floor and ours:
        value = shared.ratio(ours.median, floor.median)
        print(f"target: ours <= {TIME_TARGET:g}x floor per epoch: {shared._x(value)}", end=" ")
        print("met" if value is not None and value <= TIME_TARGET else "NOT met")
    if pytorch and ours:
        value = shared.ratio(ours.median, pytorch.median)
        print(f"target: ours ahead of pytorch: ours/pytorch {shared._x(value)}", end=" ")
        print("met" if ours.median < pytorch.median else "NOT met")


def print_table(rows: dict[str, shared.Row], skipped: dict[str, str], epochs: int) -> None:
    header = (
        f"{'engine':<8} {'ms/epoch':>9} {'(min-max)':>15} {'vs floor':>8} | {'max |dloss|':>11}"
        f" | {'train loss':>10} {'test acc':>8}"
    )
    print(f"\nCNN 1-16-32 on 8x8 digits, 6,090 parameters; loss and accuracy after {epochs} epochs")
    print(header)
    print("-" * len(header))
    floor = rows.get("floor")
    for name in ENGINES:
        if name in skipped or name not in rows:
            continue
        row = rows[name]
        spread = f"({min(row.times) * 1e3:.1f}-{max(row.times) * 1e3:.1f})"
        vs = shared.ratio(row.median, floor.median if floor else None)
        if floor is None:
            parity = "-"
        elif name == "floor":
            parity = "(ref)"
        else:
            steps = range(min(shared.PARITY_STEPS, len(row.first_losses)))
            parity = f"{max(abs(row.first_losses[s] - floor.first_losses[s]) for s in steps):.1e}"
        print(
            f"{name:<8} {row.median * 1e3:>9.2f} {spread:>15} {shared._x(vs):>8} | {parity:>11}"
            f" | {row.train_loss:>10.6f} {row.accuracy:>8.2%}"
        )


if __name__ == "__main__":
    main()

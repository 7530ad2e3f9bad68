"""Digits benchmark: time per training epoch of an MLP, ours against a numpy floor, PyTorch and
HIPS autograd, all in the same run.

The workload (the issue's): scikit-learn's ``load_digits`` (1797 images of 8x8 pixels), an 80/20
split (stratified, fixed seed), each feature standardised with the training set's mean and
standard deviation (columns with standard deviation 0 get 1). An MLP ``64-128-64-10``
(``--net small``) or ``64-512-512-10`` (``--net wide``) with ReLU hidden layers and a linear
output; softmax cross-entropy from the logits with integer class targets, averaged over the
batch; Adam with PyTorch's formula (lr 1e-3, betas 0.9 and 0.999, eps 1e-8, bias-corrected);
batches of 64 (the last one smaller) in an order reshuffled every epoch by a seeded generator;
float64 everywhere. An *epoch* is one pass over the 1437 training images: 23 steps of forward,
backward and update.

Engines, each from the same initial weights (He-normal ``W`` of shape (out, in), biases 0, made
once with numpy; a layer computes ``x @ W.T + b``) and fed the same batches in the same order:

* ``floor``: forward, backward and Adam written by hand in numpy, one array op per layer and
  no graph: what a competent person writes for this one network. It is the baseline (1.00x).
* ``ours``: backprop-lab's ``Tensor`` engine (``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``,
  ``Tensor.cross_entropy``, ``nn.Adam``). Skipped, with the reason, while that API is missing.
* ``pytorch``: torch on the CPU, ``torch.set_num_threads(2)``, ``torch.nn.Linear``/``ReLU``,
  ``F.cross_entropy``, ``torch.optim.Adam``. Skipped if torch is not installed.
* ``hips``: HIPS autograd 1.7.0 (``autograd.value_and_grad`` of a loss function of the list of
  parameters) with the floor's numpy Adam. Its import name is ``autograd``, like ours, so it
  runs in a long-lived child process of the same interpreter whose path has the HIPS install
  (``--hips-path``) first and not our code; it reads the data and weights from an ``.npz`` in
  a temporary directory and then runs one epoch per request, timing it itself. Install it with
  ``pip install --target bench/.hips autograd==1.7.0 --no-deps`` (numpy is its only dependency).

Measurements, for each net:

* time per epoch: ``--warmup`` epochs per engine (1; the first is epoch 0, from the initial
  weights), then ``--repeats`` epochs each, the engines taking turns (floor, ours, pytorch,
  hips, floor, ...) so that a noisy shared machine slows them alike. Each epoch is timed with
  ``time.perf_counter`` after an untimed ``gc.collect()`` and an untimed pause (``--pause``,
  0.25 s); the garbage collector stays enabled. The table shows the median, the range, and the
  ratio of medians to the floor's.

  The pause matters. After its last matrix product, a thread pool keeps its threads spinning
  for a while (OpenBLAS's, ~0.1 s; torch's OpenMP pool), in this process or in the HIPS
  worker, and on 2 cores the spinning threads take the cores the next engine's 2-thread
  products need. Without the pause, on the 2-core machine this was written on, the floor (which
  always follows HIPS) ran the small net 1.5-2x slower and ours/floor read ~1.0x instead of
  ~2.1x; PyTorch (which follows ours) ran 2x slower too. ``OPENBLAS_THREAD_TIMEOUT=4`` had the
  same effect as the pause for the numpy engines.
* peak memory of one epoch, floor and ours: a separate ``tracemalloc`` run (it slows what it
  watches), which sees numpy's array buffers. PyTorch allocates tensors with its own allocator,
  which ``tracemalloc`` does not see, and HIPS runs in another process, so both show ``-``.
* parity: the largest ``|loss - floor's loss|`` over the first 5 steps of the warm-up epoch.
  Same weights, same batches, float64: the engines compute the same numbers up to rounding
  (~1e-16); anything bigger means they do not compute the same thing.
* accuracy (``--accuracy``, the small net by default): every engine trains again from the
  initial weights for 20 epochs; the final weights are evaluated by one shared numpy forward:
  the mean cross-entropy on the whole training set and the accuracy on the test set. Then
  (``--seeds``, 10) ours alone is trained on the small net for seeds 0, 1, ..., each seed
  choosing the split, the initial weights and the shuffling, and the test accuracy is reported
  as mean, min and max: one split's 360 test images move it in steps of 0.28%.

The imports (sklearn, torch: ~200,000 objects) are frozen out of the garbage collector
(``gc.freeze``) before anything is timed: otherwise every full collection during ours' epochs
would scan torch's heap, which a user training with ours alone does not have.
(``--no-gc-freeze`` keeps them.)

On a busy machine the numbers mean little, whatever the interleaving: numpy's OpenBLAS uses every
core by default and torch 2 threads, and on a 2-core machine a 2-thread matrix product slows
down many times over (not 2x) when another process holds one of the cores, because each
product waits for its descheduled second thread. The BLAS-heavy floor suffers most, which
flatters ours' ratio. The benchmark measures (from ``/proc/stat``, on Linux) how much CPU time
other processes and the hypervisor (steal) took during the run, and warns when it was more than
a little. ``OPENBLAS_NUM_THREADS=1`` (inherited by the HIPS worker) makes the numpy engines far
less sensitive; torch keeps its 2 threads.

Usage: ``python bench/bench_digits.py [--net small|wide|both] [--repeats 7] [--warmup 1]
[--pause 0.25] [--quick] [--engines floor ours pytorch hips] [--accuracy small|wide|both|none]
[--epochs 20] [--no-memory] [--hips-path bench/.hips] [--no-gc-freeze]``  (about 2 minutes)
"""

from __future__ import annotations

import argparse
import gc
import importlib
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Weights = list[tuple[FloatArray, FloatArray]]  # (W of shape (out, in), b of shape (out,))

REPO = Path(__file__).resolve().parents[1]
NETS: dict[str, tuple[int, ...]] = {"small": (64, 128, 64, 10), "wide": (64, 512, 512, 10)}
ENGINES = ("floor", "ours", "pytorch", "hips")
BATCH = 64
EPOCHS = 20  # of the accuracy phase
SEEDS = 10  # ours' accuracy is reported over this many seeds
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8
SPLIT_SEED = WEIGHT_SEED = SHUFFLE_SEED = 0
PARITY_STEPS = 5
PAUSE = 0.25  # seconds before every timed epoch: thread pools stop spinning well within this
TORCH_THREADS = 2
HIPS_VERSION = "1.7.0"
HIPS_INSTALL = f"pip install --target bench/.hips autograd=={HIPS_VERSION} --no-deps"
TIME_TARGETS = {"small": 1.3, "wide": 1.1}  # the issue: ours/floor per epoch at most this
MEMORY_TARGET = 2.0  # the issue: ours' peak memory at most 2x the floor's


# -- data, weights, batches -------------------------------------------------------------------


@dataclass(frozen=True)
class Digits:
    """Standardised features (float64) and integer class labels, split into train and test."""

    x_train: FloatArray
    y_train: IntArray
    x_test: FloatArray
    y_test: IntArray


def load_data(seed: int = SPLIT_SEED) -> Digits:
    """``load_digits``, a stratified 80/20 split, standardised with the training statistics."""
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
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0.0] = 1.0  # pixels that are blank in every training image
    return Digits((x_train - mean) / std, y_train, (x_test - mean) / std, y_test)


def subset(data: Digits, n_train: int) -> Digits:
    """The first ``n_train`` training samples (for quick tests); the test set unchanged."""
    return Digits(data.x_train[:n_train], data.y_train[:n_train], data.x_test, data.y_test)


def initial_weights(sizes: Sequence[int], seed: int = WEIGHT_SEED) -> Weights:
    """He-normal ``W ~ N(0, 2 / fan_in)`` of shape (out, in) and zero biases, layer by layer."""
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal((n_out, n_in)) * math.sqrt(2.0 / n_in), np.zeros(n_out))
        for n_in, n_out in itertools.pairwise(sizes)
    ]


def epoch_order(n: int, epoch: int, seed: int = SHUFFLE_SEED) -> IntArray:
    """The order of the training samples in epoch ``epoch``: the same in every process."""
    return np.random.default_rng((seed, epoch)).permutation(n).astype(np.int64)


def batches(order: IntArray, size: int = BATCH) -> list[IntArray]:
    """``order`` cut into batches of ``size`` (the last one may be smaller)."""
    return [order[start : start + size] for start in range(0, len(order), size)]


def flat(weights: Weights) -> list[FloatArray]:
    """``[W1, b1, W2, b2, ...]``, copies."""
    return [array.copy() for pair in weights for array in pair]


def pairs(params: Sequence[FloatArray]) -> Weights:
    """The inverse of :func:`flat`."""
    return [(params[i], params[i + 1]) for i in range(0, len(params), 2)]


def forward(params: Sequence[FloatArray], x: FloatArray) -> FloatArray:
    """The logits: ``h <- relu(h @ W.T + b)`` for each hidden layer, no ReLU on the last."""
    h = x
    n_layers = len(params) // 2
    for i in range(n_layers):
        h = h @ params[2 * i].T + params[2 * i + 1]
        if i < n_layers - 1:
            h = np.maximum(h, 0.0)
    return h


def evaluate(
    params: Sequence[FloatArray],
    data: Digits,
    logits_of: Callable[[Sequence[FloatArray], FloatArray], FloatArray] | None = None,
) -> tuple[float, float]:
    """(mean cross-entropy on the whole training set, accuracy on the test set), with the
    logits from ``logits_of(params, x)`` (by default this MLP's :func:`forward`)."""
    forward_ = logits_of or forward
    logits = forward_(params, data.x_train)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=1))
    loss = float(np.mean(log_sum_exp - shifted[np.arange(len(data.y_train)), data.y_train]))
    accuracy = float(np.mean(forward_(params, data.x_test).argmax(axis=1) == data.y_test))
    return loss, accuracy


# -- Adam in numpy (the floor's and HIPS') ----------------------------------------------------


class NumpyAdam:
    """Adam as PyTorch computes it, in place::

    m <- beta1 m + (1 - beta1) g
    v <- beta2 v + (1 - beta2) g^2
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    def __init__(self, params: Sequence[FloatArray], lr: float = LR) -> None:
        self.params = list(params)
        self.lr = lr
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads: Sequence[FloatArray]) -> None:
        self.t += 1
        step_size = self.lr / (1.0 - BETA1**self.t)
        root_correction2 = math.sqrt(1.0 - BETA2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= BETA1
            m += (1.0 - BETA1) * g
            v *= BETA2
            v += (1.0 - BETA2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_correction2
            denom += EPS
            p -= step_size * (m / denom)


# -- the engines, each a trainer of one epoch -------------------------------------------------


class Trainer(Protocol):
    def train_epoch(self, order: IntArray) -> list[float]:
        """One pass over the training set in ``order``; the loss of every step."""
        ...

    def weights(self) -> list[FloatArray]:
        """The current parameters, ``[W1, b1, W2, b2, ...]`` as numpy arrays."""
        ...


class Floor:
    """The hand-written network: forward, backward and Adam in numpy, no graph.

    Backward of softmax cross-entropy averaged over a batch of ``n``: ``d loss / d logits =
    (softmax(logits) - onehot(y)) / n``; of a layer ``z = a @ W.T + b`` with upstream ``delta``:
    ``dW = delta.T @ a``, ``db = sum(delta)``, ``da = delta @ W``; of ReLU: ``da * (a > 0)``.
    """

    batch = BATCH  # examples per step (a subclass for another net may take others)

    def __init__(self, weights: Weights, data: Digits) -> None:
        self.params = flat(weights)
        self.adam = NumpyAdam(self.params)
        self.data = data

    def loss_and_grads(self, x: FloatArray, y: IntArray) -> tuple[float, list[FloatArray]]:
        params = self.params
        n_layers = len(params) // 2
        inputs = []  # what each layer sees: x, then the ReLU outputs
        h = x
        for i in range(n_layers):
            inputs.append(h)
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < n_layers - 1:
                h = np.maximum(h, 0.0)
        rows = np.arange(len(y))
        shifted = h - h.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(sum_exp[:, 0]) - shifted[rows, y]))
        delta = exp / sum_exp
        delta[rows, y] -= 1.0
        delta /= len(y)
        grads: list[FloatArray] = [params[0]] * len(params)  # every slot is overwritten below
        for i in range(n_layers - 1, -1, -1):
            a = inputs[i]
            grads[2 * i] = delta.T @ a
            grads[2 * i + 1] = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ params[2 * i]) * (a > 0)
        return loss, grads

    def train_epoch(self, order: IntArray) -> list[float]:
        losses = []
        for idx in batches(order, self.batch):
            loss, grads = self.loss_and_grads(self.data.x_train[idx], self.data.y_train[idx])
            self.adam.step(grads)
            losses.append(loss)
        return losses

    def weights(self) -> list[FloatArray]:
        return [p.copy() for p in self.params]


def load_ours() -> tuple[Any, Any] | str:
    """``(Tensor, nn)`` of backprop-lab, or why ours cannot run yet.

    Imported by name (typed ``Any``): the Tensor API is being written alongside this benchmark.
    """
    try:
        autograd = importlib.import_module("autograd")
        nn = importlib.import_module("nn")
    except ImportError as error:
        return f"`from autograd import Tensor` failed: {error}"
    tensor = getattr(autograd, "Tensor", None)
    if tensor is None:
        return "`from autograd import Tensor` failed: autograd has no Tensor yet"
    missing = [name for name in ("Linear", "Sequential", "ReLU", "Adam") if not hasattr(nn, name)]
    if missing:
        return "nn." + ", nn.".join(missing) + " missing"
    return tensor, nn


class Ours:
    """backprop-lab: ``nn.Sequential`` of ``nn.Linear`` and ``nn.ReLU``, ``nn.Adam``."""

    def __init__(self, weights: Weights, data: Digits, api: tuple[Any, Any]) -> None:
        self.tensor, nn = api
        self.linears: list[Any] = []
        modules: list[Any] = []
        for i, (w, b) in enumerate(weights):
            linear = nn.Linear(w.shape[1], w.shape[0])
            _weight(linear).data = w.copy()
            _bias(linear).data = b.copy()
            self.linears.append(linear)
            modules.append(linear)
            if i < len(weights) - 1:
                modules.append(nn.ReLU())
        self.model = nn.Sequential(*modules)
        self.opt = nn.Adam(self.model.parameters(), lr=LR)
        self.data = data

    def train_epoch(self, order: IntArray) -> list[float]:
        losses = []
        for idx in batches(order):
            logits = self.model(self.tensor(self.data.x_train[idx]))
            loss = logits.cross_entropy(self.data.y_train[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            losses.append(float(loss.data.item()))  # float() of a shape-(1,) array is an error
        return losses

    def weights(self) -> list[FloatArray]:
        return [np.array(p.data) for lin in self.linears for p in (_weight(lin), _bias(lin))]


# The agreed names are ``weight`` and ``bias`` (PyTorch's); a draft of nn.Linear calls them
# ``W`` and ``b``. Either works here.
def _weight(linear: Any) -> Any:
    return linear.weight if hasattr(linear, "weight") else linear.W


def _bias(linear: Any) -> Any:
    return linear.bias if hasattr(linear, "bias") else linear.b


def load_torch() -> Any | str:
    """The torch module (set to ``TORCH_THREADS`` threads), or why it cannot run.

    Imported by name (typed ``Any``): otherwise mypy analyses all of torch, ~30 s uncached.
    """
    try:
        torch = importlib.import_module("torch")
    except ImportError as error:
        return f"torch not importable ({error}): pip install torch"
    torch.set_num_threads(TORCH_THREADS)
    return torch


class Torch:
    """PyTorch: ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, Adam."""

    batch = BATCH  # examples per step (a subclass for another net may take others)

    def __init__(self, weights: Weights, data: Digits, torch: Any) -> None:
        self.torch = torch
        layers: list[Any] = []
        for i, (w, b) in enumerate(weights):
            linear = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if i < len(weights) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
        self.x = torch.from_numpy(data.x_train)
        self.y = torch.from_numpy(data.y_train)

    def train_epoch(self, order: IntArray) -> list[float]:
        cross_entropy = self.torch.nn.functional.cross_entropy
        losses = []
        for idx in self.torch.from_numpy(order).split(self.batch):
            loss = cross_entropy(self.model(self.x[idx]), self.y[idx])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            losses.append(float(loss.item()))
        return losses

    def weights(self) -> list[FloatArray]:
        return [p.detach().numpy().copy() for p in self.model.parameters()]


class Hips:
    """HIPS autograd: ``value_and_grad`` of a loss function of the parameter list; the floor's
    numpy Adam. Runs only in the worker process (see :func:`hips_worker`)."""

    def __init__(self, weights: Weights, data: Digits, hips: Any, hnp: Any) -> None:
        self.params = flat(weights)
        self.adam = NumpyAdam(self.params)
        self.data = data
        self.hnp = hnp
        self.value_and_grad = hips.value_and_grad(self.loss)

    def loss(self, params: list[Any], x: FloatArray, y: IntArray) -> Any:
        hnp = self.hnp
        n_layers = len(params) // 2
        h: Any = x
        for i in range(n_layers):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < n_layers - 1:
                h = hnp.maximum(h, 0.0)
        shifted = h - hnp.max(h, axis=1, keepdims=True)
        log_sum_exp = hnp.log(hnp.sum(hnp.exp(shifted), axis=1))
        return hnp.mean(log_sum_exp - shifted[np.arange(len(y)), y])

    def train_epoch(self, order: IntArray) -> list[float]:
        losses = []
        for idx in batches(order):
            loss, grads = self.value_and_grad(
                self.params, self.data.x_train[idx], self.data.y_train[idx]
            )
            self.adam.step(grads)
            losses.append(float(loss))
        return losses

    def weights(self) -> list[FloatArray]:
        return [p.copy() for p in self.params]


# -- running engines: in this process, or HIPS in a worker ------------------------------------


def timed_epoch(trainer: Trainer, order: IntArray) -> tuple[float, list[float]]:
    """(seconds, step losses) of one epoch, after an untimed ``gc.collect()``."""
    gc.collect()
    start = time.perf_counter()
    losses = trainer.train_epoch(order)
    return time.perf_counter() - start, losses


class Engine(Protocol):
    name: str

    def epoch(self, k: int) -> tuple[float, list[float]]:
        """Train epoch ``k`` (its order is ``epoch_order(n, k)``): (seconds, step losses)."""
        ...

    def reset(self) -> None:
        """Back to the initial weights and a fresh optimiser."""
        ...

    def weights(self) -> list[FloatArray]: ...

    def close(self) -> None: ...


class Local:
    """An engine in this process."""

    def __init__(self, name: str, make: Callable[[], Trainer], n_train: int) -> None:
        self.name = name
        self.make = make
        self.n_train = n_train
        self.trainer = make()

    def epoch(self, k: int) -> tuple[float, list[float]]:
        return timed_epoch(self.trainer, epoch_order(self.n_train, k))

    def peak_memory(self, k: int) -> int:
        """Peak bytes allocated during epoch ``k`` (tracemalloc: sees numpy's buffers)."""
        order = epoch_order(self.n_train, k)
        gc.collect()
        tracemalloc.start()
        try:
            self.trainer.train_epoch(order)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def reset(self) -> None:
        self.trainer = self.make()

    def weights(self) -> list[FloatArray]:
        return self.trainer.weights()

    def close(self) -> None:
        pass


def hips_dir(path: str) -> Path:
    """``--hips-path``, relative to the repository unless absolute."""
    return Path(path) if Path(path).is_absolute() else REPO / path


def save_problem(path: Path, weights: Weights, data: Digits) -> None:
    arrays: dict[str, Any] = {f"p{i}": p for i, p in enumerate(flat(weights))}
    np.savez(
        path,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        **arrays,
    )


def load_problem(path: Path) -> tuple[Weights, Digits]:
    with np.load(path) as f:
        data = Digits(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
        params = [f[f"p{i}"] for i in range(sum(k.startswith("p") for k in f.files))]
    return pairs(params), data


class HipsWorker:
    """HIPS autograd in a child process: same interpreter, ``PYTHONPATH`` = the HIPS install
    only, no user site (``-s``), no script directory (``PYTHONSAFEPATH``, Python 3.11+), a
    temporary working directory. Its ``import autograd`` finds HIPS on the path before the
    editable install's finder for ours is consulted; the worker checks that it did."""

    name = "hips"

    def __init__(self, hips_path: Path, weights: Weights, data: Digits, workdir: Path) -> None:
        self.workdir = workdir
        problem = workdir / "problem.npz"
        save_problem(problem, weights, data)
        env = dict(os.environ, PYTHONPATH=str(hips_path), PYTHONSAFEPATH="1")
        command = [
            sys.executable,
            "-s",
            str(Path(__file__).resolve()),
            "--hips-worker",
            str(problem),
        ]
        self.process = subprocess.Popen(
            command, cwd=workdir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        hello = self._read()
        self.version = str(hello["version"])
        self.location = str(hello["autograd"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            raise RuntimeError(f"the HIPS worker exited with code {code} (its stderr is above)")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def epoch(self, k: int) -> tuple[float, list[float]]:
        reply = self._ask(cmd="epoch", k=k)
        return float(reply["seconds"]), [float(v) for v in reply["losses"]]

    def reset(self) -> None:
        self._ask(cmd="reset")

    def weights(self) -> list[FloatArray]:
        path = self.workdir / "hips_weights.npz"
        self._ask(cmd="weights", path=str(path))
        with np.load(path) as f:
            return [f[f"p{i}"] for i in range(len(f.files))]

    def close(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            self._ask(cmd="quit")
            self.process.wait(timeout=10)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def hips_worker(problem: Path) -> None:
    """The child process's loop: one JSON request per stdin line, one JSON reply per line."""
    install = Path(os.environ.get("PYTHONPATH", "")).resolve()
    if any(Path(entry or ".").resolve() == REPO for entry in sys.path):
        sys.exit(f"hips worker: the repository {REPO} is on sys.path {sys.path}")
    hips = importlib.import_module("autograd")
    if not Path(hips.__file__ or "").resolve().is_relative_to(install):
        sys.exit(f"hips worker: `import autograd` found {hips.__file__}, not HIPS in {install}")
    hnp = importlib.import_module("autograd.numpy")
    weights, data = load_problem(problem)
    n_train = len(data.y_train)

    def make() -> Hips:
        return Hips(weights, data, hips, hnp)

    trainer = make()
    out = sys.stdout
    hello = {"version": version("autograd"), "autograd": hips.__file__}
    out.write(json.dumps(hello) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, Any] = {}
        if request["cmd"] == "epoch":
            seconds, losses = timed_epoch(trainer, epoch_order(n_train, int(request["k"])))
            reply = {"seconds": seconds, "losses": losses}
        elif request["cmd"] == "reset":
            trainer = make()
        elif request["cmd"] == "weights":
            params: dict[str, Any] = {f"p{i}": p for i, p in enumerate(trainer.weights())}
            np.savez(request["path"], **params)
        elif request["cmd"] == "quit":
            out.write("{}\n")
            out.flush()
            return
        out.write(json.dumps(reply) + "\n")
        out.flush()


# -- measurement ------------------------------------------------------------------------------


@dataclass
class Row:
    """One engine's results on one net; ``None`` where not measured."""

    times: list[float]
    first_losses: list[float]
    peak: int | None = None
    train_loss: float | None = None
    accuracy: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def measure_net(
    engines: Sequence[Engine],
    warmup: int,
    repeats: int,
    pause: float,
    memory: bool,
    accuracy_epochs: int,
    data: Digits,
) -> dict[str, Row]:
    """Warm-up epochs (the first one's losses are kept for the parity check), timed epochs with
    the engines taking turns and an untimed ``pause`` before each, memory of floor and ours,
    then (if ``accuracy_epochs``) training again from the initial weights for the accuracy."""
    rows = {engine.name: Row([], engine.epoch(0)[1]) for engine in engines}
    for k in range(1, warmup):
        for engine in engines:
            engine.epoch(k)
    for r in range(repeats):
        for engine in engines:
            time.sleep(pause)  # the previous engine's thread pools stop spinning
            rows[engine.name].times.append(engine.epoch(warmup + r)[0])
    if memory:
        for engine in engines:
            if isinstance(engine, Local) and engine.name in ("floor", "ours"):
                rows[engine.name].peak = engine.peak_memory(warmup + repeats)
    if accuracy_epochs:
        for engine in engines:
            engine.reset()
            for k in range(accuracy_epochs):
                engine.epoch(k)
            row = rows[engine.name]
            row.train_loss, row.accuracy = evaluate(engine.weights(), data)
    return rows


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base`` rounded as printed (2 decimals): a target is judged on what is shown."""
    if value is None or base is None or base <= 0:
        return None
    return round(value / base, 2)


def print_table(net: str, rows: dict[str, Row], skipped: dict[str, str]) -> None:
    sizes = NETS[net]
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(sizes))
    print(f"\n{net}: MLP {'-'.join(map(str, sizes))} ({n_params:,} parameters)")
    header = (
        f"{'engine':<8} {'ms/epoch':>9} {'(min-max)':>15} {'vs floor':>8} | {'peak MB':>7} "
        f"{'vs floor':>8} | {'max |dloss|':>11} | {'train loss':>10} {'test acc':>8}"
    )
    print(header)
    print("-" * len(header))
    floor = rows.get("floor")
    for name in ENGINES:
        if name in skipped:
            print(f"{name:<8} skipped: {skipped[name]}")
            continue
        if name not in rows:
            continue
        row = rows[name]
        spread = f"({min(row.times) * 1e3:.1f}-{max(row.times) * 1e3:.1f})"
        time_ratio = ratio(row.median, floor.median if floor else None)
        peak = f"{row.peak / 1e6:.2f}" if row.peak is not None else "-"
        peak_ratio = ratio(row.peak, floor.peak if floor else None)
        if floor is None:
            parity = "-"
        elif name == "floor":
            parity = "(ref)"
        else:
            steps = range(min(PARITY_STEPS, len(row.first_losses)))
            gap = max(abs(row.first_losses[s] - floor.first_losses[s]) for s in steps)
            parity = f"{gap:.1e}"
        train_loss = f"{row.train_loss:.6f}" if row.train_loss is not None else "-"
        accuracy = f"{row.accuracy:.2%}" if row.accuracy is not None else "-"
        print(
            f"{name:<8} {row.median * 1e3:>9.2f} {spread:>15} {_x(time_ratio):>8} | {peak:>7} "
            f"{_x(peak_ratio):>8} | {parity:>11} | {train_loss:>10} {accuracy:>8}"
        )


def _x(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def verdicts(results: dict[str, dict[str, Row]], skipped: dict[str, str]) -> list[str]:
    """The issue's targets, each "met" or "NOT met" (or why it was not measured)."""
    lines = []
    for net, rows in results.items():
        ours, floor = rows.get("ours"), rows.get("floor")
        if ours is None or floor is None:
            why = skipped.get("ours") or ("ours not run" if ours is None else "floor not run")
            time_ratio = peak_ratio = None
        else:
            why = "--no-memory"
            time_ratio = ratio(ours.median, floor.median)
            peak_ratio = ratio(ours.peak, floor.peak)
        limit = TIME_TARGETS[net]
        lines.append(_verdict(f"{net}: ours <= {limit:g}x floor per epoch", time_ratio, limit, why))
        label = f"{net}: ours' peak memory <= {MEMORY_TARGET:g}x floor's"
        lines.append(_verdict(label, peak_ratio, MEMORY_TARGET, why))
    return lines


def _verdict(label: str, value: float | None, limit: float, why: str) -> str:
    if value is None:
        return f"  {label:<40} not measured ({why})"
    return f"  {label:<40} {value:.2f}x: {'met' if value <= limit else 'NOT met'}"


def environment(torch: Any | None) -> str:
    """Versions and thread settings, cheaply."""
    blas = "?"
    try:
        config: Any = np.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        blas = f"{info['name']} {info['version']}"
    except (TypeError, KeyError):
        pass
    threads = {
        var: os.environ[var]
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if var in os.environ
    }
    line = (
        f"Python {sys.version.split()[0]}, numpy {np.__version__} (BLAS {blas}), "
        f"os.cpu_count() = {os.cpu_count()}, thread variables {threads or 'unset'}"
    )
    if torch is not None:
        line += f"; torch {torch.__version__} ({torch.get_num_threads()} threads)"
    return line


class MachineLoad:
    """CPU time taken by everything but this process and its children, from ``/proc/stat``."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.jiffies = _cpu_jiffies()
        self.own = _own_cpu_seconds()

    def others(self) -> tuple[float, float] | None:
        """(share of all CPUs used by other processes, share stolen by the hypervisor) since
        construction, or None where ``/proc/stat`` is missing. Call after the children exit."""
        now = _cpu_jiffies()
        if now is None or self.jiffies is None:
            return None
        tick = os.sysconf("SC_CLK_TCK")
        capacity = (time.perf_counter() - self.wall) * (os.cpu_count() or 1)
        busy = (now[0] - self.jiffies[0]) / tick - (_own_cpu_seconds() - self.own)
        steal = (now[1] - self.jiffies[1]) / tick
        return max(0.0, busy) / capacity, steal / capacity


def _cpu_jiffies() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of all CPUs since boot."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq, steal


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


BUSY = 0.1  # other processes or steal above 10% of the machine: the timings are suspect


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--net", choices=["small", "wide", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first (1)")
    parser.add_argument(
        "--pause",
        type=float,
        default=PAUSE,
        help=f"untimed seconds before every timed epoch ({PAUSE}; see the docstring)",
    )
    parser.add_argument("--quick", action="store_true", help="2 repeats, 2 accuracy epochs")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument(
        "--accuracy",
        choices=["small", "wide", "both", "none"],
        default="small",
        help="nets that are trained again from the start for the accuracy (default small)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"of the accuracy phase ({EPOCHS})"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help=f"ours' accuracy on the small net over this many seeds ({SEEDS}; 0 to skip)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--hips-path", default="bench/.hips", help="HIPS autograd's --target")
    parser.add_argument(
        "--no-gc-freeze", action="store_true", help="leave the imports in the collected heap"
    )
    parser.add_argument("--hips-worker", metavar="NPZ", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hips_worker:
        hips_worker(Path(args.hips_worker))
        return
    repeats = args.repeats or (2 if args.quick else 7)
    epochs = args.epochs or (2 if args.quick else EPOCHS)
    if min(repeats, epochs, args.warmup) < 1 or args.pause < 0:
        parser.error("--repeats, --epochs and --warmup must be >= 1, --pause >= 0")
    nets = ["small", "wide"] if args.net == "both" else [args.net]
    accuracy_nets = {"both": ["small", "wide"], "none": []}.get(args.accuracy, [args.accuracy])

    skipped: dict[str, str] = {}
    ours_api: tuple[Any, Any] | None = None
    torch: Any | None = None
    if "ours" in args.engines:
        loaded = load_ours()
        if isinstance(loaded, str):
            skipped["ours"] = loaded
        else:
            ours_api = loaded
    if "pytorch" in args.engines:
        loaded_torch = load_torch()
        if isinstance(loaded_torch, str):
            skipped["pytorch"] = loaded_torch
        else:
            torch = loaded_torch
    hips_path = hips_dir(args.hips_path)
    if "hips" in args.engines and not (hips_path / "autograd" / "__init__.py").is_file():
        install = HIPS_INSTALL.replace("bench/.hips", str(hips_path))
        skipped["hips"] = f"not found in {hips_path}; install it with: {install}"
    for name, reason in skipped.items():
        print(f"{name} skipped: {reason}")

    data = load_data()
    gc.collect()
    if not args.no_gc_freeze:
        gc.freeze()
    print(environment(torch))
    load = MachineLoad()
    n_train = len(data.y_train)
    print(
        f"gc enabled (thresholds {gc.get_threshold()}), {gc.get_freeze_count():,} objects "
        f"frozen; digits {n_train} train / {len(data.y_test)} test, batch {BATCH} "
        f"({len(batches(np.arange(n_train)))} steps per epoch), float64, Adam lr {LR:g}"
    )
    print(
        f"ms/epoch: median of {repeats} epochs per engine after {args.warmup} warm-up, engines "
        f"taking turns, {args.pause:g} s pause before each; max |dloss|: first {PARITY_STEPS} "
        f"steps vs floor; train loss and test acc after {epochs} epochs"
    )

    results: dict[str, dict[str, Row]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_digits_") as tmp:
        for net in nets:
            weights = initial_weights(NETS[net])
            engines: list[Engine] = []
            try:
                for name in args.engines:
                    if name in skipped:
                        continue
                    if name == "floor":
                        engines.append(Local(name, partial(Floor, weights, data), n_train))
                    elif name == "ours":
                        assert ours_api is not None
                        engines.append(Local(name, partial(Ours, weights, data, ours_api), n_train))
                    elif name == "pytorch":
                        engines.append(Local(name, partial(Torch, weights, data, torch), n_train))
                    else:
                        worker = HipsWorker(hips_path, weights, data, Path(tmp))
                        engines.append(worker)
                        if net == nets[0]:
                            print(f"hips: autograd {worker.version} from {worker.location}")
                accuracy_epochs = epochs if net in accuracy_nets else 0
                rows = measure_net(
                    engines,
                    args.warmup,
                    repeats,
                    args.pause,
                    not args.no_memory,
                    accuracy_epochs,
                    data,
                )
            finally:
                for engine in engines:
                    engine.close()
            results[net] = rows
            print_table(net, rows, skipped)
    others = load.others()
    if others is None:
        print("\nother processes' CPU use during the run: unknown (no /proc/stat)")
    else:
        print(
            f"\nduring the run, other processes used {others[0]:.0%} of the {os.cpu_count()} "
            f"CPUs and the hypervisor stole {others[1]:.0%}"
        )
        if max(others) > BUSY:
            print(
                "WARNING: the machine was busy. Multi-threaded BLAS and torch slow down out of\n"
                "proportion when a core is taken, so these ratios are unreliable: rerun on an\n"
                "idle machine, or with OPENBLAS_NUM_THREADS=1."
            )
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else SEEDS)
    if ours_api is not None and seeds > 0:
        print(accuracy_over_seeds(ours_api, seeds, epochs))
    print("targets (from the issue; ratios judged as printed):")
    print("\n".join(verdicts(results, skipped)))


def accuracy_over_seeds(api: tuple[Any, Any], seeds: int, epochs: int) -> str:
    """Ours' test accuracy on the small net for seeds 0, 1, ...: each seed sets the split, the
    initial weights and the shuffling. One seed's accuracy says little: 360 test images, and
    every one of them is 0.28%."""
    accuracies = []
    for seed in range(seeds):
        data = load_data(seed)
        ours = Ours(initial_weights(NETS["small"], seed), data, api)
        for epoch in range(epochs):
            ours.train_epoch(epoch_order(len(data.y_train), epoch, seed))
        accuracies.append(evaluate(ours.weights(), data)[1])
    listed = ", ".join(f"{a:.1%}" for a in accuracies)
    return (
        f"ours, small net, {epochs} epochs, test accuracy over seeds 0-{seeds - 1} (split, "
        f"weights, shuffling): mean {statistics.mean(accuracies):.2%}, min {min(accuracies):.1%},"
        f" max {max(accuracies):.1%}  [{listed}]"
    )


if __name__ == "__main__":
    main()

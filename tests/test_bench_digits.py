"""bench/bench_digits.py compares like with like: from the same weights and batches, the floor,
PyTorch, HIPS autograd and ours compute the same losses (float64, so up to rounding).

A correctness test of the benchmark, not a timing test: 5 steps on 320 training images. (Run
alone, the PyTorch test takes ~4 s, all of it torch's cold start: ``import torch`` and the
first ``torch.optim.Adam``, which imports ``torch._dynamo``.)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the benchmark's data is sklearn's load_digits")

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_digits.py"
STEPS = 5
TOLERANCE = 1e-10


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_digits", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_digits"] = module  # so its dataclasses can be resolved by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_digits"]
    return module


BENCH_MODULE = _load_bench()


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return BENCH_MODULE


@pytest.fixture(scope="module")
def problem(bench: ModuleType) -> tuple[Any, Any]:
    """The small net's initial weights and 5 batches of 64 digits."""
    return bench.initial_weights(bench.NETS["small"]), bench.subset(bench.load_data(), 64 * STEPS)


def first_losses(bench: ModuleType, trainer: Any, n_train: int) -> list[float]:
    losses: list[float] = trainer.train_epoch(bench.epoch_order(n_train, 0))
    assert len(losses) == STEPS
    return losses


def largest_gap(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def test_the_data_is_standardised_digits(bench: ModuleType) -> None:
    data = bench.load_data()
    assert data.x_train.shape == (1437, 64) and data.x_test.shape == (360, 64)
    assert data.x_train.dtype == np.float64 and data.y_train.dtype == np.int64
    assert np.allclose(data.x_train.mean(axis=0), 0.0)
    std = data.x_train.std(axis=0)
    assert np.allclose(std[std > 0], 1.0) and (std == 0).sum() > 0  # blank pixels stay 0
    assert sorted(np.unique(data.y_test)) == list(range(10))


def test_every_epoch_has_its_own_reproducible_order(bench: ModuleType) -> None:
    first, again, second = (bench.epoch_order(100, k) for k in (0, 0, 1))
    assert np.array_equal(first, again) and not np.array_equal(first, second)
    assert sorted(first) == list(range(100))
    assert [len(b) for b in bench.batches(np.arange(150))] == [64, 64, 22]


def test_floor_and_pytorch_compute_the_same_losses(
    bench: ModuleType, problem: tuple[Any, Any]
) -> None:
    torch = pytest.importorskip(
        "torch",
        reason="PyTorch is one of the benchmark's engines (pip install torch==2.13.0, a CPU build)",
    )
    weights, data = problem
    n = len(data.y_train)
    floor = first_losses(bench, bench.Floor(weights, data), n)
    theirs = first_losses(bench, bench.Torch(weights, data, torch), n)
    assert floor[-1] < floor[0]  # it learns
    assert largest_gap(floor, theirs) < TOLERANCE, (floor, theirs)


# Until the Tensor engine lands (``from autograd import Tensor``, ``nn.Linear``, ...).
@pytest.mark.skipif(
    isinstance(BENCH_MODULE.load_ours(), str), reason="autograd.Tensor not available yet"
)
def test_floor_and_ours_compute_the_same_losses(
    bench: ModuleType, problem: tuple[Any, Any]
) -> None:
    api = bench.load_ours()
    assert not isinstance(api, str), api
    weights, data = problem
    n = len(data.y_train)
    floor = first_losses(bench, bench.Floor(weights, data), n)
    ours = first_losses(bench, bench.Ours(weights, data, api), n)
    assert largest_gap(floor, ours) < TOLERANCE, (floor, ours)


def test_the_hips_worker_runs_hips_not_ours_and_computes_the_same_losses(
    bench: ModuleType, problem: tuple[Any, Any], tmp_path: Path
) -> None:
    hips_path = bench.hips_dir("bench/.hips")
    if not (hips_path / "autograd" / "__init__.py").is_file():
        pytest.skip(f"HIPS autograd not installed: {bench.HIPS_INSTALL}")
    weights, data = problem
    worker = bench.HipsWorker(hips_path, weights, data, tmp_path)
    try:
        assert worker.version == bench.HIPS_VERSION
        assert Path(worker.location).resolve().is_relative_to(hips_path.resolve())
        seconds, hips = worker.epoch(0)
        trained = worker.weights()
        worker.reset()
        _, again = worker.epoch(0)
    finally:
        worker.close()
    assert worker.process.returncode == 0
    floor_trainer = bench.Floor(weights, data)
    floor = first_losses(bench, floor_trainer, len(data.y_train))
    assert seconds > 0 and again == hips  # reset: back to the initial weights
    assert largest_gap(floor, hips) < TOLERANCE, (floor, hips)
    assert (
        max(np.abs(a - b).max() for a, b in zip(trained, floor_trainer.weights(), strict=True))
        < 1e-12
    )

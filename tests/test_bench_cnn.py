"""bench/bench_cnn.py compares like with like: from the same weights and batches, the numpy
floor, PyTorch and ours compute the same losses for the digits CNN (float64, up to rounding).

A correctness test of the benchmark, not a timing test: 5 steps of 32 images.
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

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_cnn.py"
STEPS = 5
TOLERANCE = 1e-10


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cnn", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_cnn"] = module  # so its dataclasses can be resolved by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_cnn"]
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load_bench()


@pytest.fixture(scope="module")
def problem(bench: ModuleType) -> tuple[Any, Any]:
    data = bench.load_images()
    n = bench.BATCH * STEPS
    small = bench.Images(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test)
    return bench.initial_weights(), small


def _losses(bench: ModuleType, trainer: Any, n: int) -> list[float]:
    losses: list[float] = trainer.train_epoch(np.arange(n))
    assert len(losses) == STEPS
    return losses


def test_the_images_are_standardised_per_channel(bench: ModuleType) -> None:
    data = bench.load_images()
    assert data.x_train.shape == (1437, 1, 8, 8) and data.x_test.shape == (360, 1, 8, 8)
    assert abs(data.x_train.mean()) < 1e-12 and abs(data.x_train.std() - 1) < 1e-12


def test_floor_ours_and_pytorch_compute_the_same_losses(
    bench: ModuleType, problem: tuple[Any, Any]
) -> None:
    weights, data = problem
    n = len(data.y_train)
    floor = _losses(bench, bench.Floor(weights, data), n)
    ours = _losses(bench, bench.Ours(weights, data), n)
    assert floor[-1] < floor[0]  # it learns
    assert max(abs(a - b) for a, b in zip(floor, ours, strict=True)) < TOLERANCE
    torch = pytest.importorskip(
        "torch",
        reason="PyTorch is one of the benchmark's engines (pip install torch==2.13.0, a CPU build)",
    )
    theirs = _losses(bench, bench.Torch(weights, data, torch), n)
    assert max(abs(a - b) for a, b in zip(floor, theirs, strict=True)) < TOLERANCE


def test_the_trained_weights_agree(bench: ModuleType, problem: tuple[Any, Any]) -> None:
    """After the 5 steps every parameter of ours equals the floor's: the same gradients and
    the same Adam."""
    weights, data = problem
    floor, ours = bench.Floor(weights, data), bench.Ours(weights, data)
    for trainer in (floor, ours):
        trainer.train_epoch(np.arange(len(data.y_train)))
    for a, b in zip(floor.weights(), ours.weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)

"""bench/bench_nn.py compares like with like: same data, same weights, bitwise-equal losses.

A correctness test of the benchmark, not a timing test: 2 training steps on 20 samples.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip(
    "micrograd", reason="micrograd is the benchmark's baseline (pip install .[bench])"
)
pytest.importorskip("sklearn", reason="the benchmark's data is sklearn's make_moons")

from micrograd.engine import Value as MicrogradValue

from autograd import Value

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_nn.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_nn", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_nn"] = module  # so its classes can be resolved by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["bench_nn"]
    return module


def test_models_have_the_same_parameters_in_the_same_order(bench: ModuleType) -> None:
    mg, ours = bench.micrograd_mlp(), bench.our_mlp()
    assert len(mg.parameters()) == len(ours.parameters()) == 337
    bench.copy_weights(mg, ours)
    # Flat orders agree too (micrograd: neuron by neuron, w + [b]; ours: w0.., b).
    assert [p.data for p in mg.parameters()] == [p.data for p in ours.parameters()]
    names = [name for name, _ in ours.named_parameters()]
    assert names[:3] == ["layer1.neuron0.w0", "layer1.neuron0.w1", "layer1.neuron0.b"]
    assert names[-1] == "layer3.neuron0.b"
    # The weights are micrograd's uniform(-1, 1) draws, not ours, and biases start at 0.
    assert all(-1.0 <= w <= 1.0 for w in bench.get_weights(ours))
    assert ours.layers[0].neurons[0].b.data == 0.0


def test_building_micrograds_model_leaves_the_global_random_state_alone(
    bench: ModuleType,
) -> None:
    state = random.getstate()
    first, second = bench.micrograd_mlp(), bench.micrograd_mlp()
    assert random.getstate() == state
    assert bench.get_weights(first) == bench.get_weights(second)  # seeded: reproducible


def test_data_is_the_demos_two_moons_as_plain_floats(bench: ModuleType) -> None:
    xs, ys = bench.moons(20, isolate=False)  # (the benchmark makes them in a child process)
    assert len(xs) == 20 and all(len(row) == 2 for row in xs)
    assert set(ys) == {-1.0, 1.0}
    assert all(type(v) is float for row in xs for v in row)


def test_two_steps_from_equal_weights_give_bitwise_equal_losses(bench: ModuleType) -> None:
    xs, ys = bench.moons(20, isolate=False)
    mg, ours = bench.micrograd_mlp(), bench.our_mlp()
    for k in range(2):
        bench.copy_weights(mg, ours)
        mg_loss = bench.training_step(mg, MicrogradValue, xs, ys, k)
        our_loss = bench.training_step(ours, Value, xs, ys, k)
        assert our_loss.hex() == mg_loss.hex(), (k, mg_loss, our_loss)
        # The gradients agree up to summation order, so the updated weights nearly do.
        assert bench.max_weight_gap(mg, ours) < 1e-12
        assert bench.get_weights(mg) != bench.get_weights(bench.micrograd_mlp())  # it learned


def test_the_interleaved_runner_checks_every_step(bench: ModuleType) -> None:
    xs, ys = bench.moons(20, isolate=False)
    engines = (
        bench.Engine("micrograd", bench.micrograd_mlp(), MicrogradValue),
        bench.Engine("ours", bench.our_mlp(), Value),
    )
    checks = bench.Checks()
    results = bench.run_interleaved(engines, xs[:3], ys[:3], range(1), checks, watch_gc=True)
    assert checks.equal == 1
    for name in ("micrograd", "ours"):
        records = results.records[name]
        assert len(records) == 1
        assert set(records[0].phase_seconds()) == set(bench.PHASES)
        assert records[0].total > 0


def test_a_different_loss_is_reported(bench: ModuleType) -> None:
    checks = bench.Checks()
    models = (bench.Engine("micrograd", bench.micrograd_mlp(), MicrogradValue),) * 2
    with pytest.raises(AssertionError, match="step 3"):
        checks.compare(3, {"micrograd": 1.0, "ours": 1.0 + 2**-52}, models)

"""MLP training-step benchmark: ours vs micrograd, same model, same weights, same run.

micrograd's demo (``demo.ipynb``): a scalar ``MLP(2, [16, 16, 1])`` (ReLU hidden layers, linear
output) on 100 two-moons points (noise 0.1, labels y = +-1), max-margin loss plus L2
regularisation 1e-4, full-batch SGD with learning rate ``1.0 - 0.9 k / 100``. One *step* is
what one iteration of the demo's loop does:

* forward: every sample through the model, ``loss = mean(relu(1 - y score)) + 1e-4 sum p^2``;
* ``zero_grad`` and ``backward``;
* the SGD update ``p.data -= lr * p.grad``;
* dropping the step's graph (ours frees it by reference counting, inside the step; micrograd's
  nodes hold closures that point back at them, so its graphs are cycles that only the garbage
  collector frees).

The data are made by scikit-learn's ``make_moons`` in a child process: imported here, it would
add ~70,000 objects to the heap that every full collection scans, slowing micrograd and
flattering the ratio (``--sklearn-in-process`` does it anyway, as the demo does).

Both engines run the same step function (:func:`training_step`, the demo's code) with the same
op order, from the same weights: micrograd's initial weights are copied into ours parameter by
parameter, and before every step ours is synchronised with micrograd again, because the two
engines add up a parameter's 100+ gradient contributions in different orders (micrograd's order
even depends on object ids, through its ``set`` of children), so the weights after an update
may differ in the last bit. From identical weights the losses are bitwise identical: the
benchmark asserts it for every step and reports how far apart the updated weights are.

Python's garbage collector is left enabled, as users have it. Passes, each a median over
``--steps`` steps per engine:

* headline: the engines take turns step by step (who goes first alternates), each step after an
  untimed ``gc.collect()``, so neither pays for the other's garbage. Nothing else is watched.
  This protocol is the conservative one for the ratio: micrograd's graph is freed by the
  untimed collection after its step (shown apart as ``gc.collect() after the step``).
* with ``gc.callbacks``: the same, timing every collection, per phase of the step
  (forward, backward, update, free) and counting collections per generation.
* back to back: blocks of 3 steps with no ``gc.collect()`` in between, as a training loop runs,
  so a micrograd step also collects the garbage of the steps before it (with ``gc.callbacks``
  unless ``--no-gc-info``). The engines take turns by block; the second replays the first's
  steps from the same saved weights.
* ``tracemalloc``: one step each, for the peak memory (it slows the code it watches).

Usage: ``python bench/bench_nn.py [--steps 7] [--samples 100] [--no-gc-info] [--no-loop]
[--no-memory] [--sklearn-in-process]``  (the full run takes 1-3 minutes; micrograd is slow)
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import nn
from autograd import Value

ALPHA = 1e-4  # L2 regularisation strength of micrograd's demo
SIZES = [16, 16, 1]
DATA_SEED = 1337  # the demo's np.random.seed(1337) before make_moons: the same points
WEIGHT_SEED = 1337  # the demo's random.seed(1337) before MLP(2, [16, 16, 1])
TARGET = 5.0  # the issue: ours at least 5x faster per step than micrograd

Clock = Callable[[str], None]  # called with the name of the phase that starts now


# -- data and models --------------------------------------------------------------------------


def moons(n_samples: int = 100, isolate: bool = True) -> tuple[list[list[float]], list[float]]:
    """micrograd's demo data: ``make_moons(n_samples, noise=0.1)``, labels ``y * 2 - 1``.

    As plain Python floats, so both engines get exactly the same numbers. (The demo feeds
    numpy scalars; numpy arithmetic gives the same values, only slower.) With ``isolate``,
    scikit-learn runs in a child process: imported here it would add ~70,000 objects to the
    heap that every full collection scans, which slows micrograd (4 full collections per step)
    and would flatter the ratio.
    """
    code = (
        "import json, sys\n"
        "from sklearn.datasets import make_moons\n"
        f"x, y = make_moons(n_samples={int(n_samples)}, noise=0.1, random_state={DATA_SEED})\n"
        "json.dump([x.tolist(), (y * 2 - 1).tolist()], sys.stdout)\n"
    )
    if isolate:
        child = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        x, y = json.loads(child.stdout)
    else:
        from sklearn.datasets import make_moons

        x_array, y_array = make_moons(n_samples=n_samples, noise=0.1, random_state=DATA_SEED)
        x, y = x_array.tolist(), (y_array * 2 - 1).tolist()
    return [[float(v) for v in row] for row in x], [float(v) for v in y]


def micrograd_mlp(seed: int = WEIGHT_SEED) -> Any:
    """micrograd's ``MLP(2, [16, 16, 1])``. Its weights come from the global ``random``
    module; its state is restored afterwards, so building one disturbs nothing else."""
    from micrograd.nn import MLP

    saved = random.getstate()
    try:
        random.seed(seed)
        return MLP(2, list(SIZES))
    finally:
        random.setstate(saved)


def our_mlp() -> nn.MLP:
    """Ours, same architecture: ReLU hidden layers, linear output."""
    return nn.MLP(2, SIZES, activation="relu", output_activation="linear")


def get_weights(model: Any) -> list[float]:
    """Every weight and bias, layer by layer, neuron by neuron: ``w0, w1, ..., b``.

    Works on both engines' models: micrograd's neurons hold ``w`` (a list) and ``b`` as ours
    do, so the two are matched by structure rather than by trusting two flat orders to agree.
    """
    return [float(p.data) for p in _parameters(model)]


def set_weights(model: Any, weights: Sequence[float]) -> None:
    """The inverse of :func:`get_weights`."""
    params = _parameters(model)
    if len(params) != len(weights):
        raise ValueError(f"the model has {len(params)} parameters, got {len(weights)} weights")
    for p, w in zip(params, weights, strict=True):
        p.data = w


def _parameters(model: Any) -> list[Any]:
    return [p for layer in model.layers for neuron in layer.neurons for p in [*neuron.w, neuron.b]]


def copy_weights(source: Any, target: Any) -> None:
    """Give ``target`` the weights of ``source`` (either engine's MLP, same shape)."""
    set_weights(target, get_weights(source))


def max_weight_gap(a: Any, b: Any) -> float:
    """Largest ``|wa - wb| / max(1, |wa|)`` over paired parameters of two models."""
    return max(
        abs(wa - wb) / max(1.0, abs(wa))
        for wa, wb in zip(get_weights(a), get_weights(b), strict=True)
    )


# -- one training step: the demo's code, shared by both engines -------------------------------


def _no_clock(_phase: str) -> None:
    pass


def training_step(
    model: Any,
    value_cls: Any,
    xs: Sequence[Sequence[float]],
    ys: Sequence[float],
    k: int,
    clock: Clock = _no_clock,
) -> float:
    """One full-batch SGD step of micrograd's demo; returns the loss (a float).

    Written exactly as the demo's ``loss()`` and loop body, so both engines do the same float
    operations in the same order: ``b + w0 x0 + w1 x1 ...`` per neuron, ``1 + -y * score``,
    ``sum`` from 0, ``* (1 / n)``, ``alpha * sum(p * p)``, ``data_loss + reg_loss``. ``clock``
    is told when each phase starts; the graph is dropped before returning.
    """
    clock("forward")
    inputs = [[value_cls(v) for v in row] for row in xs]
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(ys, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    total_loss = data_loss + reg_loss
    clock("backward")
    model.zero_grad()
    total_loss.backward()
    clock("update")
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    loss = float(total_loss.data)
    clock("free")
    del inputs, scores, losses, data_loss, reg_loss, total_loss
    clock("")
    return loss


# -- measurement ------------------------------------------------------------------------------

PHASES = ("forward", "backward", "update", "free")


class StepRecord:
    """Times of one step: seconds per phase, and GC seconds per phase if watched."""

    def __init__(self) -> None:
        self.phase = ""
        self.marks: list[tuple[str, float]] = []
        self.gc_seconds: dict[str, float] = {}
        self.collections = [0, 0, 0]
        self._gc_start = 0.0

    def clock(self, phase: str) -> None:
        self.marks.append((phase, time.perf_counter()))
        self.phase = phase

    def on_gc(self, event: str, info: dict[str, int]) -> None:
        if not self.phase:  # not inside the timed step
            return
        if event == "start":
            self._gc_start = time.perf_counter()
        else:
            spent = time.perf_counter() - self._gc_start
            self.gc_seconds[self.phase] = self.gc_seconds.get(self.phase, 0.0) + spent
            self.collections[info["generation"]] += 1

    @property
    def total(self) -> float:
        return self.marks[-1][1] - self.marks[0][1]

    def phase_seconds(self) -> dict[str, float]:
        return {
            name: end - start
            for (name, start), (_, end) in zip(self.marks, self.marks[1:], strict=False)
        }

    @property
    def gc_total(self) -> float:
        return sum(self.gc_seconds.values())


class Engine:
    """A model of one engine and the Value class its inputs are made of."""

    def __init__(self, name: str, model: Any, value_cls: Any) -> None:
        self.name = name
        self.model = model
        self.value_cls = value_cls

    def step(
        self,
        xs: list[list[float]],
        ys: list[float],
        k: int,
        watch_gc: bool = False,
        trace: bool = False,
    ) -> tuple[float, StepRecord, int]:
        """One step, timed: (loss, record, tracemalloc peak or 0)."""
        record = StepRecord()
        if watch_gc:
            gc.callbacks.append(record.on_gc)
        if trace:
            tracemalloc.start()
        peak = 0
        try:
            loss = training_step(self.model, self.value_cls, xs, ys, k, record.clock)
            if trace:
                peak = tracemalloc.get_traced_memory()[1]
        finally:
            if trace:
                tracemalloc.stop()
            if watch_gc:
                gc.callbacks.remove(record.on_gc)
        return loss, record, peak


class Results:
    """Per engine: step records, untimed clean-up collections, peaks; and the loss checks."""

    def __init__(self, names: Sequence[str]) -> None:
        self.records: dict[str, list[StepRecord]] = {n: [] for n in names}
        self.cleanups: dict[str, list[float]] = {n: [] for n in names}
        self.peaks: dict[str, list[int]] = {n: [] for n in names}
        self.pairs: list[tuple[float, float]] = []  # (micrograd, ours) step times, same k

    def median(self, name: str, of: Callable[[StepRecord], float]) -> float:
        return _median([of(r) for r in self.records[name]])


class Checks:
    """Loss equality across every pass, and the largest weight gap after an update."""

    def __init__(self) -> None:
        self.equal = 0
        self.gap = 0.0

    def compare(self, k: int, losses: dict[str, float], engines: tuple[Engine, Engine]) -> None:
        mg, ours = losses["micrograd"], losses["ours"]
        if mg.hex() != ours.hex():
            raise AssertionError(
                f"step {k}: from the same weights micrograd's loss is {mg!r} and ours {ours!r}"
            )
        self.equal += 1
        self.gap = max(self.gap, max_weight_gap(engines[0].model, engines[1].model))


def run_interleaved(
    engines: tuple[Engine, Engine],
    xs: list[list[float]],
    ys: list[float],
    ks: range,
    checks: Checks,
    watch_gc: bool = False,
    trace: bool = False,
) -> Results:
    """Step by step, the engines take turns (who goes first alternates), each step from the
    same weights (ours is given micrograd's before each) and after an untimed ``gc.collect()``;
    the ``gc.collect()`` after each step, which frees micrograd's graph, is timed apart."""
    mg, ours = engines
    results = Results([e.name for e in engines])
    for k in ks:
        copy_weights(mg.model, ours.model)
        times, losses = {}, {}
        for engine in (mg, ours) if k % 2 == 0 else (ours, mg):
            gc.collect()
            losses[engine.name], record, peak = engine.step(xs, ys, k, watch_gc, trace)
            start = time.perf_counter()
            gc.collect()
            results.cleanups[engine.name].append(time.perf_counter() - start)
            results.records[engine.name].append(record)
            results.peaks[engine.name].append(peak)
            times[engine.name] = record.total
        results.pairs.append((times["micrograd"], times["ours"]))
        checks.compare(k, losses, engines)
    return results


def run_loop(
    engines: tuple[Engine, Engine],
    xs: list[list[float]],
    ys: list[float],
    ks: range,
    checks: Checks,
    watch_gc: bool = True,
    block: int = 3,
) -> Results:
    """As a training loop runs: blocks of ``block`` steps back to back with no ``gc.collect()``
    in between, so a step also pays for collecting the garbage of the steps before it. The
    engines take turns by block; the second one replays the first one's steps from the same
    weights (saved before each step), so the losses are still compared step by step."""
    results = Results([e.name for e in engines])
    for first in range(ks.start, ks.stop, block):
        block_ks = range(first, min(first + block, ks.stop))
        leader, follower = engines if (first // block) % 2 == 0 else engines[::-1]
        saved: list[list[float]] = []
        losses: dict[str, list[float]] = {leader.name: [], follower.name: []}
        for engine in (leader, follower):
            gc.collect()
            for i, k in enumerate(block_ks):
                if engine is leader:
                    saved.append(get_weights(engine.model))
                else:
                    set_weights(engine.model, saved[i])
                loss, record, _ = engine.step(xs, ys, k, watch_gc)
                losses[engine.name].append(loss)
                results.records[engine.name].append(record)
        for i, k in enumerate(block_ks):
            # the follower's last update is compared with the leader's before they resync
            checks.compare(k, {name: values[i] for name, values in losses.items()}, engines)
        copy_weights(leader.model, follower.model)
    return results


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=7, help="timed steps per engine per pass")
    parser.add_argument("--samples", type=int, default=100, help="batch size (100, the demo)")
    parser.add_argument(
        "--no-gc-info", action="store_true", help="skip the pass that times GC with callbacks"
    )
    parser.add_argument("--no-loop", action="store_true", help="skip the back-to-back pass")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument(
        "--sklearn-in-process",
        action="store_true",
        help="make the data in this process, as the demo does (a bigger heap for full GCs)",
    )
    args = parser.parse_args()
    if args.steps < 1 or args.samples < 2:
        parser.error("--steps must be >= 1 and --samples >= 2")
    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        sys.exit("micrograd is the baseline: pip install micrograd==0.1.0 (or .[bench])")

    xs, ys = moons(args.samples, isolate=not args.sklearn_in_process)
    engines = (
        Engine("micrograd", micrograd_mlp(), MicrogradValue),
        Engine("ours", our_mlp(), Value),
    )
    n_params = len(get_weights(engines[1].model))
    checks = Checks()
    # Warm up (imports, caches, specialised bytecode) on 10 samples; the timed steps then start
    # again from the initial weights: they are steps 0, 1, ... of the demo.
    run_interleaved(engines, xs[:10], ys[:10], range(1), checks)
    engines[0].model = micrograd_mlp()

    print(
        f"Python {sys.version.split()[0]}, gc enabled (thresholds {gc.get_threshold()}); "
        f"MLP(2, {SIZES}), {n_params} parameters, {args.samples} samples, "
        f"median of {args.steps} steps per engine and pass"
    )
    steps = args.steps
    passes: dict[str, Results] = {}
    passes["headline"] = run_interleaved(engines, xs, ys, range(steps), checks)
    k = steps
    if not args.no_gc_info:
        passes["gc"] = run_interleaved(engines, xs, ys, range(k, k + steps), checks, True)
        k += steps
    if not args.no_loop:
        passes["loop"] = run_loop(engines, xs, ys, range(k, k + steps), checks, not args.no_gc_info)
        k += steps
    if not args.no_memory:
        passes["memory"] = run_interleaved(engines, xs, ys, range(k, k + 1), checks, trace=True)
        k += 1

    _print_table(passes)
    head = passes["headline"]
    ratio = head.median("micrograd", _total) / head.median("ours", _total)
    paired = _median([mg / ours for mg, ours in head.pairs])
    print()
    print(
        f"losses: {checks.equal}/{checks.equal} steps bitwise equal from equal weights "
        f"(largest weight gap after an update: {checks.gap:.1e}: gradients summed in another "
        "order)"
    )
    verdict = "meets" if min(ratio, paired) >= TARGET else f"MISSES (by {TARGET / ratio:.2f}x)"
    print(
        f"ours is {ratio:.2f}x faster per step than micrograd (median of paired ratios "
        f"{paired:.2f}x): {verdict} the {TARGET:g}x target"
    )


def _total(record: StepRecord) -> float:
    return record.total


def _gc_total(record: StepRecord) -> float:
    return record.gc_total


def _collections(generation: int) -> Callable[[StepRecord], float]:
    return lambda record: float(record.collections[generation])


def _phase(phase: str) -> Callable[[StepRecord], float]:
    return lambda record: record.phase_seconds()[phase]


def _phase_gc(phase: str) -> Callable[[StepRecord], float]:
    return lambda record: record.gc_seconds.get(phase, 0.0)


def _print_table(passes: dict[str, Results]) -> None:
    names = ("micrograd", "ours")

    def row(label: str, cells: Sequence[str], ratio: str = "") -> None:
        print(f"{label:<36} {cells[0]:>15} {cells[1]:>13} {ratio:>9}")

    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:.1f}" if not math.isnan(seconds) else "-"

    def ratio_of(values: Sequence[float]) -> str:
        return f"{values[0] / values[1]:.2f}x" if values[1] > 0 else ""

    def times_row(label: str, results: Results, of: Callable[[StepRecord], float]) -> None:
        values = [results.median(n, of) for n in names]
        row(label, [ms(v) for v in values], ratio_of(values))

    row("per step (ms, medians)", names, "mg/ours")
    print("-" * 76)
    head = passes["headline"]
    times_row("step, interleaved (headline)", head, _total)
    pairs = _median([mg / ours for mg, ours in head.pairs])
    row("  median of paired ratios", ["", ""], f"{pairs:.2f}x")
    cleanup = [_median(head.cleanups[n]) for n in names]
    row("  gc.collect() after the step", [ms(v) for v in cleanup], "untimed")
    row(
        "  step + that collection",
        [ms(head.median(n, _total) + c) for n, c in zip(names, cleanup, strict=True)],
        ratio_of([head.median(n, _total) + c for n, c in zip(names, cleanup, strict=True)]),
    )
    if "loop" in passes:
        loop = passes["loop"]
        times_row("step, back to back (a training loop)", loop, _total)
        gc_ms = [loop.median(n, _gc_total) for n in names]
        if any(gc_ms):
            steps = [loop.median(n, _total) for n in names]
            row(
                "  of which in GC (share)",
                [f"{ms(g)} ({g / t:.0%})" for g, t in zip(gc_ms, steps, strict=True)],
            )
    if "gc" in passes:
        watched = passes["gc"]
        times_row("step, with gc.callbacks", watched, _total)
        gc_ms = [watched.median(n, _gc_total) for n in names]
        steps = [watched.median(n, _total) for n in names]
        row(
            "  of which in GC (share)",
            [f"{ms(g)} ({g / t:.0%})" for g, t in zip(gc_ms, steps, strict=True)],
        )
        row(
            "  collections gen0/gen1/gen2",
            [
                "/".join(f"{watched.median(n, _collections(g)):.0f}" for g in range(3))
                for n in names
            ],
        )
        for phase in PHASES:
            values = [watched.median(n, _phase(phase)) for n in names]
            gcs = [watched.median(n, _phase_gc(phase)) for n in names]
            row(
                f"  {phase} (of which GC)",
                [f"{ms(v)} ({ms(g)})" for v, g in zip(values, gcs, strict=True)],
                ratio_of(values),
            )
    if "memory" in passes:
        peaks = [float(passes["memory"].peaks[n][-1]) for n in names]
        row("peak memory of a step, MB", [f"{p / 1e6:.1f}" for p in peaks], ratio_of(peaks))


if __name__ == "__main__":
    main()

"""Step-through benchmark: the HTML player against one drawing of the same graph, in one run.

For each graph the baseline is ``viz.draw(root).save("x.svg")`` (one layout, one SVG), timed
in the same process and the same repeat as the step-through, so a busy machine slows both
alike. Measured for the step-through: ``viz.step(root)`` (every frame's state, the layout and
the one picture) plus ``save_html`` (the player), its size, and writing every frame's SVG
with ``save_frames``. The ratio is (step + player) / draw; the issue's targets are a ratio of
at most 3 and a player of at most 3 MB for MLP(2, [8, 8, 1]), and "works at all, in seconds"
for MLP(4, [16, 16, 1]). Cells are medians over ``--repeats`` runs.

The renderer is the one ``BACKPROP_LAB_RENDERER`` picks (``system`` or ``bundled``); run the
script once with each.

Usage: ``python bench/bench_stepper.py [--quick] [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import viz
from autograd import Value, topological_order
from nn import MLP
from viz import lectures
from viz.render import choose_renderer


def mlp_loss(nin: int, sizes: list[int]) -> Value:
    """The squared error of an MLP on one example, the graph a training step backpropagates."""
    model = MLP(nin, sizes, seed=0)
    x = [Value(0.5 - 0.25 * i, f"x{i}") for i in range(nin)]
    out = model(x)
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    return loss


GRAPHS: dict[str, Callable[[], Value]] = {
    "sigmoid neuron": lectures.sigmoid_neuron_staged,
    "MLP(2, [4, 1])": lambda: mlp_loss(2, [4, 1]),
    "MLP(2, [8, 8, 1])": lambda: mlp_loss(2, [8, 8, 1]),
    "MLP(4, [16, 16, 1])": lambda: mlp_loss(4, [16, 16, 1]),
}


def seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def measure(make: Callable[[], Value], folder: Path) -> dict[str, float]:
    root = make()
    nodes = len(topological_order(root))
    draw = seconds(lambda: viz.draw(root, max_nodes=10_000).save(folder / "x.svg"))
    steps: list[viz.Stepper] = []
    build = seconds(lambda: steps.append(viz.step(root, max_nodes=10_000)))
    html = seconds(lambda: steps[0].save_html(folder / "steps.html"))
    frames = seconds(lambda: steps[0].save_frames(folder / "frames"))
    return {
        "nodes": nodes,
        "frames": len(steps[0]),
        "draw": draw,
        "step": build,
        "html": html,
        "save_frames": frames,
        "MB": (folder / "steps.html").stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the two smaller graphs, once")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = list(GRAPHS)[:2] if args.quick else list(GRAPHS)
    repeats = 1 if args.quick else args.repeats
    renderer = choose_renderer("svg")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"renderer: {renderer}; load average before: {load:.2f}; {repeats} repeat(s)")
    print(
        f"{'graph':<22}{'nodes':>6}{'frames':>7}{'draw s':>8}{'step s':>8}{'html s':>8}"
        f"{'ratio':>7}{'player MB':>10}{'frames s':>9}"
    )
    for name in names:
        runs = []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(measure(GRAPHS[name], Path(tmp)))
        cell = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        ratio = (cell["step"] + cell["html"]) / cell["draw"]
        print(
            f"{name:<22}{cell['nodes']:>6.0f}{cell['frames']:>7.0f}{cell['draw']:>8.2f}"
            f"{cell['step']:>8.2f}{cell['html']:>8.2f}{ratio:>6.1f}x{cell['MB']:>10.2f}"
            f"{cell['save_frames']:>9.2f}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()

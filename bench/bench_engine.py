"""Engine benchmark: build + backward per op, bytes per node, peak memory; ratios in one run.

Three engines on the same two workloads, measured in the same process:

* ``floor``: the cheapest reverse mode plain Python allows: floats in a list, a tape of
  ``(kind, i, j)`` records and a hand-written reverse sweep. Nothing can do much better in pure
  Python, so it is the yardstick.
* ``ours``: :class:`autograd.Value`.
* ``micrograd``: karpathy's micrograd 0.1.0 (``pip install micrograd``), if installed.

Workloads (n = number of ops):

* ``chain``: y <- y * w, y <- y + w alternately, n times (one shared leaf w, depth n).
* ``tree``: n/2 products a_i * b_i summed pairwise into one root (depth log2 n).

Python's garbage collector is left enabled, as users have it; each repeat starts after a
``gc.collect()``. Timing and memory are separate runs (tracemalloc slows the code it watches).

Usage: ``python bench/bench_engine.py [--sizes 1000 10000 ...] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from autograd import Value

Workload = Callable[[int], Any]


# -- floor: floats in a list and a hand-written reverse sweep ---------------------------------

ADD, MUL = 0, 1


def _floor_backward(
    vals: list[float], tape: list[tuple[int, int, int]], first_op: int
) -> list[float]:
    grads = [0.0] * len(vals)
    grads[-1] = 1.0
    for k in range(len(tape) - 1, -1, -1):
        kind, i, j = tape[k]
        g = grads[first_op + k]
        if kind == ADD:
            grads[i] += g
            grads[j] += g
        else:
            grads[i] += g * vals[j]
            grads[j] += g * vals[i]
    return grads


def floor_chain(n: int) -> Any:
    vals = [1.0, 1.0000001]  # y0, w
    tape: list[tuple[int, int, int]] = []
    y = 0
    for step in range(n):
        if step % 2:
            vals.append(vals[y] * vals[1])
            tape.append((MUL, y, 1))
        else:
            vals.append(vals[y] + vals[1])
            tape.append((ADD, y, 1))
        y = len(vals) - 1
    # Return the tape with the gradients: its memory is what a graph engine's nodes replace.
    return vals, tape, _floor_backward(vals, tape, 2)


def floor_tree(n: int) -> Any:
    half = n // 2
    vals = [1.0 + i * 1e-6 for i in range(2 * half)]
    tape: list[tuple[int, int, int]] = []
    first_op = len(vals)
    level = []
    for i in range(half):
        vals.append(vals[2 * i] * vals[2 * i + 1])
        tape.append((MUL, 2 * i, 2 * i + 1))
        level.append(len(vals) - 1)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            vals.append(vals[level[i]] + vals[level[i + 1]])
            tape.append((ADD, level[i], level[i + 1]))
            nxt.append(len(vals) - 1)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return vals, tape, _floor_backward(vals, tape, first_op)


# -- graph engines (ours and micrograd share the workload code) -------------------------------


def chain_of(value_cls: Any) -> Workload:
    def run(n: int) -> Any:
        x, w = value_cls(1.0), value_cls(1.0000001)
        y = x
        for step in range(n):
            y = y * w if step % 2 else y + w
        y.backward()
        return y

    return run


def tree_of(value_cls: Any) -> Workload:
    def run(n: int) -> Any:
        half = n // 2
        leaves = [value_cls(1.0 + i * 1e-6) for i in range(2 * half)]
        level = [leaves[2 * i] * leaves[2 * i + 1] for i in range(half)]
        while len(level) > 1:
            nxt = [level[i] + level[i + 1] for i in range(0, len(level) - 1, 2)]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        level[0].backward()
        return level[0]

    return run


def nodes_in(workload: str, n: int) -> int:
    """Nodes a graph engine creates: every op's result plus the leaves."""
    return n + 2 if workload == "chain" else 2 * (n // 2) + (n // 2) + (n // 2 - 1)


# -- measurement ------------------------------------------------------------------------------


def time_once(fn: Workload, n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    result = fn(n)
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def memory_once(fn: Workload, n: int) -> tuple[int, int]:
    """(bytes still held by the result, peak bytes during build + backward)."""
    gc.collect()
    tracemalloc.start()
    try:
        result = fn(n)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return held, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5, help="timing runs per cell (median)")
    args = parser.parse_args()

    engines: dict[str, dict[str, Workload]] = {
        "floor": {"chain": floor_chain, "tree": floor_tree},
        "ours": {"chain": chain_of(Value), "tree": tree_of(Value)},
    }
    try:
        from micrograd.engine import Value as MicrogradValue

        engines["micrograd"] = {"chain": chain_of(MicrogradValue), "tree": tree_of(MicrogradValue)}
    except ImportError:
        print("micrograd not installed (pip install micrograd==0.1.0): its columns are skipped")

    print(f"Python {sys.version.split()[0]}, gc enabled, median of {args.repeats} runs")
    header = (
        f"{'workload':<8} {'ops':>9} | {'floor ns/op':>11} {'ours ns/op':>10} {'ours/floor':>10} "
        f"{'mg ns/op':>10} {'mg/floor':>8} | {'floor B/node':>12} {'ours B/node':>11} "
        f"{'mg B/node':>9} | {'floor peak MB':>13} {'ours peak MB':>12} {'mg peak MB':>10}"
    )
    print(header)
    print("-" * len(header))
    for workload in ("chain", "tree"):
        for n in args.sizes:
            row: dict[str, dict[str, float | str]] = {}
            for name, table in engines.items():
                fn = table[workload]
                try:
                    times = [time_once(fn, n) for _ in range(args.repeats)]
                    held, peak = memory_once(fn, n)
                except RecursionError:
                    row[name] = {"ns": "Recursion", "bpn": "-", "peak": "-"}
                    continue
                nodes = nodes_in(workload, n)
                row[name] = {
                    "ns": statistics.median(times) / n * 1e9,
                    "bpn": held / nodes,
                    "peak": peak / 1e6,
                }
            print(_format_row(workload, n, row))
            sys.stdout.flush()


def _fmt(value: float | str, spec: str) -> str:
    return format(value, spec) if isinstance(value, float) else str(value)


def _ratio(row: dict[str, dict[str, float | str]], name: str) -> str:
    cell = row.get(name, {}).get("ns")
    base = row["floor"]["ns"]
    if isinstance(cell, float) and isinstance(base, float):
        return f"{cell / base:.2f}x"
    return "-" if cell is None else str(cell)


def _format_row(workload: str, n: int, row: dict[str, dict[str, float | str]]) -> str:
    empty: dict[str, float | str] = {"ns": "-", "bpn": "-", "peak": "-"}
    fl, ours, mg = row["floor"], row["ours"], row.get("micrograd", empty)
    return (
        f"{workload:<8} {n:>9} | {_fmt(fl['ns'], '.0f'):>11} {_fmt(ours['ns'], '.0f'):>10} "
        f"{_ratio(row, 'ours'):>10} {_fmt(mg['ns'], '.0f'):>10} {_ratio(row, 'micrograd'):>8} | "
        f"{_fmt(fl['bpn'], '.0f'):>12} {_fmt(ours['bpn'], '.0f'):>11} {_fmt(mg['bpn'], '.0f'):>9} | "
        f"{_fmt(fl['peak'], '.1f'):>13} {_fmt(ours['peak'], '.1f'):>12} {_fmt(mg['peak'], '.1f'):>10}"
    )


if __name__ == "__main__":
    main()

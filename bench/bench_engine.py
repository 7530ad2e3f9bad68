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

Python's garbage collector is left enabled, as users have it; each run starts after a
``gc.collect()`` and frees its graph outside the timed region. The engines take turns within
each repeat and every cell is a median, so a noisy machine affects them alike. Timing and
memory are separate runs (tracemalloc slows the code it watches). micrograd's ``backward`` is
recursive, so on the chain it stops with ``RecursionError``; the table shows that.

Usage: ``python bench/bench_engine.py [--quick | --sizes 1000 10000 ...] [--repeats N]``
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

DEFAULT_SIZES = [1_000, 10_000, 100_000, 1_000_000]
QUICK_SIZES = [1_000, 10_000]
TARGET, AIM = 3.0, 2.0  # the issue's limits for ours/floor (time per op)
MAX_BYTES_PER_NODE = 400

Cell = dict[str, "float | str"]


def default_repeats(n: int) -> int:
    """Timing runs per cell: many for small graphs (cheap, noisier), 3 for a million ops."""
    return 3 if n >= 1_000_000 else 5 if n >= 100_000 else 11 if n >= 10_000 else 31


def time_once(fn: Workload, n: int) -> float:
    """Seconds for one build + backward; the result is freed outside the timed region."""
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


def measure(
    engines: dict[str, dict[str, Workload]], workload: str, n: int, repeats: int
) -> dict[str, Cell]:
    """One table row. Engines take turns within each repeat, so that a noisy neighbour on a
    shared machine slows all of them alike; each cell is the median of its runs."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    failed: dict[str, str] = {}
    for _ in range(repeats):
        for name, table in engines.items():
            if name in failed:
                continue
            try:
                times[name].append(time_once(table[workload], n))
            except RecursionError:
                failed[name] = "RecursionError"
    row: dict[str, Cell] = {}
    nodes = nodes_in(workload, n)
    for name, table in engines.items():
        if name in failed:
            row[name] = {"ns": failed[name], "bpn": "-", "peak": "-"}
            continue
        held, peak = memory_once(table[workload], n)
        row[name] = {
            "ns": statistics.median(times[name]) / n * 1e9,
            "bpn": held / nodes,
            "peak": peak / 1e6,
        }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="ops per graph")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}, fewer runs")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timing runs per cell (default: by size)"
    )
    parser.add_argument("--no-micrograd", action="store_true", help="skip micrograd")
    args = parser.parse_args()
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)

    engines: dict[str, dict[str, Workload]] = {
        "floor": {"chain": floor_chain, "tree": floor_tree},
        "ours": {"chain": chain_of(Value), "tree": tree_of(Value)},
    }
    if not args.no_micrograd:
        try:
            from micrograd.engine import Value as MicrogradValue
        except ImportError:
            print("micrograd not installed (pip install micrograd==0.1.0): its columns show -")
        else:
            engines["micrograd"] = {
                "chain": chain_of(MicrogradValue),
                "tree": tree_of(MicrogradValue),
            }
    for table in engines.values():  # warm up: imports, caches, specialised bytecode
        for fn in table.values():
            fn(200)  # shallow enough for micrograd's recursion

    runs = "median of --repeats" if args.repeats else "median of 31/11/5/3 runs by size"
    print(f"Python {sys.version.split()[0]}, gc enabled (thresholds {gc.get_threshold()}), {runs}")
    print(f"target: ours/floor <= {TARGET:g}x (aim {AIM:g}x), <= {MAX_BYTES_PER_NODE} B/node")
    print(HEADER)
    print("-" * len(HEADER.splitlines()[0]))
    verdicts = []
    for workload in ("chain", "tree"):
        for n in sizes:
            repeats = args.repeats or (
                max(1, default_repeats(n) // 2) if args.quick else default_repeats(n)
            )
            row = measure(engines, workload, n, repeats)
            print(_format_row(workload, n, row), flush=True)
            verdicts.append(_verdict(workload, n, row))
    print()
    print("\n".join(verdicts))


HEADER = (
    f"{'workload':<8} {'ops':>9} | {'floor':>7} {'ours':>7} {'ours/fl':>7} {'mg':>7} "
    f"{'mg/fl':>14} | {'floor':>5} {'ours':>5} {'mg':>5} | {'floor':>6} {'ours':>6} {'mg':>6}\n"
    f"{'':<8} {'':>9} | {'ns per op':^47} | {'bytes/node':^17} | {'peak MB':^20}"
)


def _fmt(value: float | str, spec: str) -> str:
    return format(value, spec) if isinstance(value, float) else str(value)


def _ratio(row: dict[str, Cell], name: str) -> str:
    cell = row.get(name, {}).get("ns", "-")
    base = row["floor"]["ns"]
    if isinstance(cell, float) and isinstance(base, float):
        return f"{cell / base:.2f}x"
    return str(cell)


def _format_row(workload: str, n: int, row: dict[str, Cell]) -> str:
    empty: Cell = {"ns": "-", "bpn": "-", "peak": "-"}
    fl, ours, mg = row["floor"], row["ours"], row.get("micrograd", empty)
    mg_ns = _fmt(mg["ns"], ".0f") if isinstance(mg["ns"], float) else "-"
    return (
        f"{workload:<8} {n:>9} | {_fmt(fl['ns'], '.0f'):>7} {_fmt(ours['ns'], '.0f'):>7} "
        f"{_ratio(row, 'ours'):>7} {mg_ns:>7} {_ratio(row, 'micrograd'):>14} | "
        f"{_fmt(fl['bpn'], '.0f'):>5} {_fmt(ours['bpn'], '.0f'):>5} {_fmt(mg['bpn'], '.0f'):>5} | "
        f"{_fmt(fl['peak'], '.1f'):>6} {_fmt(ours['peak'], '.1f'):>6} {_fmt(mg['peak'], '.1f'):>6}"
    )


def _verdict(workload: str, n: int, row: dict[str, Cell]) -> str:
    ours, floor = row["ours"], row["floor"]
    if not isinstance(ours["ns"], float) or not isinstance(floor["ns"], float):
        return f"{workload} {n}: ours failed ({ours['ns']})"
    ratio = round(ours["ns"] / floor["ns"], 2)  # judged as printed: 3.00x meets 3x
    bpn = ours["bpn"]
    time_ok = "meets aim" if ratio <= AIM else "meets target" if ratio <= TARGET else "MISSES"
    mem_ok = isinstance(bpn, float) and bpn <= MAX_BYTES_PER_NODE
    return (
        f"{workload} {n:>9}: {ratio:.2f}x floor ({time_ok} {TARGET:g}x), "
        f"{_fmt(bpn, '.0f')} B/node ({'ok' if mem_ok else 'OVER'} <= {MAX_BYTES_PER_NODE})"
    )


if __name__ == "__main__":
    main()

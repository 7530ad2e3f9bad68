"""Issue 10: a drawing that Graphviz would take minutes over is refused before Graphviz runs.

The expensive shape is a value used by gates far from it (``x*x*...*x``: 100 uses lay out in
3 s, 200 in 30 s, 1,000 in minutes; a sum of 333 products takes minutes too), measured by
:func:`viz.diagram.layout_cost`. The refusal names the value and says what to do; ordinary
graphs (the lecture figures, an MLP of 300 nodes) still draw.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import viz
from autograd import Value
from nn import MLP
from viz import lectures
from viz.__main__ import main
from viz.diagram import MAX_LAYOUT_COST, QUICK_LAYOUT_COST, layout_cost
from viz.expression import build
from viz.focus import around as focus_around
from viz.trace import fold_constants, trace

render_module = importlib.import_module("viz.render")
diagram_module = importlib.import_module("viz.diagram")
layout_module = importlib.import_module("viz.layout")

needs_renderer = pytest.mark.skipif(
    not viz.available_renderers(),
    reason="no Graphviz renderer (system dot or graphviz-pure) installed",
)


class GraphvizCalled(Exception):
    """Raised by the stand-in for Graphviz: the check let the drawing through."""


@pytest.fixture
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphviz, whichever way it is reached, raises :class:`GraphvizCalled`."""

    def fail(*args: Any, **kwargs: Any) -> bytes:
        raise GraphvizCalled

    monkeypatch.setattr(render_module, "_run_graphviz", fail)
    monkeypatch.setattr(render_module, "render", fail)
    monkeypatch.setattr(layout_module, "render", fail)
    monkeypatch.setattr(diagram_module, "render", fail)
    monkeypatch.setattr(subprocess, "run", fail)


def chain(uses: int) -> Value:
    """``x*x*...*x`` with ``uses`` uses of x (``uses - 1`` gates), after backward()."""
    root = build("*".join(["x"] * uses), {"x": 1.001})
    root.backward()
    return root


def long_sum(terms: int) -> Value:
    """``a0*b0 + a1*b1 + ...``: no value used twice, but every input in the first column."""
    names = [f"{ab}{i}" for i in range(terms) for ab in "ab"]
    root = build(" + ".join(f"a{i}*b{i}" for i in range(terms)), dict.fromkeys(names, 0.5))
    root.backward()
    return root


def balanced_product(uses: int) -> Value:
    """``x`` used ``uses`` times in a balanced tree of products: a wide fan-out, no long edge."""
    parts = ["x"] * uses
    while len(parts) > 1:
        pairs = [parts[i : i + 2] for i in range(0, len(parts), 2)]
        parts = [f"({p[0]}*{p[1]})" if len(p) == 2 else p[0] for p in pairs]
    root = build(parts[0], {"x": 1.001})
    root.backward()
    return root


def mlp_loss() -> Value:
    out = MLP(2, [8, 8, 1], seed=0)([0.5, -1.0])
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss


def cost(root: Value) -> int:
    return layout_cost([fold_constants(trace(root))]).steps


# -- the predictor -----------------------------------------------------------------------------


def test_a_chain_of_uses_costs_the_ranks_its_edges_skip() -> None:
    # x reaches its k-th gate (rank k) from rank 0, skipping k - 1 ranks: (n-1)(n-2)/2 in all.
    for uses in (3, 25, 100, 101, 102, 200):
        assert cost(chain(uses)) == (uses - 1) * (uses - 2) // 2
    found = layout_cost([fold_constants(trace(chain(200)))])
    assert found.worst is not None and found.worst.label == "x"
    assert (found.worst_uses, found.worst_spread, found.values) == (200, 199, 1)


def test_the_limit_passes_100_uses_and_refuses_more() -> None:
    # x*x*...*x with 100 operators (101 uses) lays out in about 3 s; 150 uses take 10 s.
    assert cost(chain(101)) <= MAX_LAYOUT_COST < cost(chain(102))


def test_ordinary_graphs_cost_little() -> None:
    assert cost(mlp_loss()) < QUICK_LAYOUT_COST  # 301 nodes, about a second
    assert cost(balanced_product(256)) == 0  # fan-out 256, every edge one rank long
    for figure in (lectures.xyz, lectures.copy_gate, lectures.small_mlp, lectures.add_max_mul):
        assert cost(figure()) < 100
    assert cost(long_sum(50)) < MAX_LAYOUT_COST < cost(long_sum(150))


def test_a_cut_trace_has_no_first_column() -> None:
    # around= cuts the graph: its inputs are not pinned to the first column.
    root = long_sum(150)
    assert cost(root) > MAX_LAYOUT_COST
    near_root = fold_constants(focus_around(trace(root), root, 3))
    assert layout_cost([near_root]).steps < 10


# -- the refusal -------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_graphviz")
def test_draw_refuses_before_graphviz_runs() -> None:
    with pytest.raises(ValueError, match="x is used 400 times") as refused:
        viz.draw(chain(400))
    message = str(refused.value)
    for fragment in ("minutes", "smaller expression", "around=", "max_layout_cost="):
        assert fragment in message
    assert "\n" not in message


@pytest.mark.usefixtures("no_graphviz")
def test_step_refuses_before_graphviz_runs() -> None:
    with pytest.raises(ValueError, match="x is used 400 times"):
        viz.step(chain(400))


@pytest.mark.usefixtures("no_graphviz")
def test_a_long_sum_is_refused_naming_how_many_values() -> None:
    with pytest.raises(ValueError, match=r"values are used by gates far from them") as refused:
        viz.draw(long_sum(333))
    assert "54,946" in str(refused.value)


@pytest.mark.usefixtures("no_graphviz")
def test_the_refusal_can_be_overridden() -> None:
    root = chain(400)
    with pytest.raises(GraphvizCalled):  # past the check: Graphviz is asked
        viz.draw(root, max_layout_cost=10**6)


@pytest.mark.usefixtures("no_graphviz")
def test_the_step_through_limit_can_be_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram_module, "MAX_LAYOUT_COST", 10**6)
    with pytest.raises(GraphvizCalled):
        viz.step(chain(400))


@pytest.mark.usefixtures("no_graphviz")
def test_the_cli_prints_the_refusal_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fig.svg"
    expression = "*".join(["x"] * 1000)  # the CLI's largest: 999 operators
    assert main([expression, "--set", "x=1", "-o", str(out), "--html", str(tmp_path / "s.html")])
    captured = capsys.readouterr()
    assert captured.out == ""
    line = captured.err.removesuffix("\n")
    assert line.startswith("error: x is used 1000 times") and "\n" not in line
    assert "Traceback" not in line
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_quickly_in_a_process_of_its_own(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "*".join(["x"] * 500), "--set", "x=1", "-o", "f.svg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # it used to run into Graphviz's 120 s time-out
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("error: x is used 500 times")
    assert done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# -- what is accepted still draws ----------------------------------------------------------


@needs_renderer
@pytest.mark.parametrize(
    "make",
    [mlp_loss, lectures.xyz, lectures.small_mlp, lambda: balanced_product(128)],
    ids=["mlp-301-nodes", "xyz", "small-mlp", "x-used-128-times-in-a-tree"],
)
def test_ordinary_graphs_still_draw(make: Any) -> None:
    root = make()
    assert "<svg" in viz.draw(root).svg()


@needs_renderer
def test_the_largest_accepted_chain_steps_through(
    renderer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    stepper = viz.step(build("*".join(["x"] * 60), {"x": 1.001}))
    assert len(stepper) == 60 + 59
    assert "<svg" in stepper[-1].svg()


@needs_renderer
def test_a_sum_past_the_quick_layout_cost_is_laid_out_quickly(
    renderer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 60 products cost 1,711: dot's balancing is cut short (nslimit), which keeps it to about a
    # second (without it, 70 products took 9 s with the system dot).
    monkeypatch.setenv(render_module.ENV_VAR, renderer)
    root = long_sum(60)
    assert QUICK_LAYOUT_COST < cost(root) <= MAX_LAYOUT_COST
    assert "<svg" in viz.draw(root).svg()


def test_step_takes_max_layout_cost_too() -> None:
    x = Value(1.001, "x")
    f = x
    for _ in range(120):  # 120 uses of x, one after another: over the limit
        f = f * x
    with pytest.raises(ValueError, match="max_layout_cost="):
        viz.step(f)
    with pytest.raises(ValueError, match="max_layout_cost="):
        viz.step(f, max_layout_cost=100)

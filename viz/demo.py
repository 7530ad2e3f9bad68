"""``python -m viz demo --out DIR``: render every lecture diagram into a folder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypedDict

from viz import lectures
from viz.diagram import draw
from viz.render import choose_renderer
from viz.trace import Node

Build = Callable[[], tuple[Sequence[Node], Sequence[str] | None]]


class FigureOptions(TypedDict, total=False):
    """The ``draw`` options a demo figure sets beyond the command line's."""

    group: str
    collapse: str


#: (file name, the graphs and their titles, draw options): the lecture figures, then an MLP
#: three ways (every gate boxed by neuron; one box per neuron; one box per layer).
FIGURES: list[tuple[str, Build, FigureOptions]] = [
    ("xyz", lambda: ([lectures.xyz()], None), {}),
    ("sigmoid_staged", lambda: ([lectures.sigmoid_neuron_staged()], None), {}),
    ("sigmoid_fused", lambda: ([lectures.sigmoid_neuron_fused()], None), {}),
    (
        "gate_patterns",
        lambda: (
            [lectures.add_max_mul(), lectures.copy_gate()],
            [
                "add distributes, max routes, mul swaps",
                "copy: a value used twice adds its gradients",
            ],
        ),
        {},
    ),
    ("vectorised_wx", lambda: ([lectures.vectorised_wx()], None), {}),
    ("mlp_gates", lambda: ([lectures.small_mlp()], None), {"group": "label"}),
    ("mlp_neurons", lambda: ([lectures.small_mlp()], None), {"collapse": "neuron"}),
    ("mlp_layers", lambda: ([lectures.small_mlp()], None), {"collapse": "layer"}),
]

#: Figures whose numbers need more decimals than the default to read as on the slide
#: (the lectures' vectorised example: f = 0.116, grad_W = [[0.088, 0.176], ...]).
MIN_PRECISION = {"vectorised_wx": 3}


def render_demo(
    out: Path, formats: Sequence[str] = ("svg",), chain: bool = False, precision: int = 2
) -> list[Path]:
    """Render each lecture figure forward-only and with gradients; return the paths written."""
    for fmt in formats:  # fail before writing anything, not after half the figures
        if fmt != "dot":
            choose_renderer(fmt)
    written = []
    for name, build, options in FIGURES:
        roots, titles = build()
        for suffix, grads in (("_forward", False), ("", True)):
            digits = max(precision, MIN_PRECISION.get(name, 0))
            diagram = draw(
                roots, grads=grads, titles=titles, chain=chain, precision=digits, **options
            )
            for fmt in formats:
                written.append(diagram.save(out / f"{name}{suffix}.{fmt}"))
    return written

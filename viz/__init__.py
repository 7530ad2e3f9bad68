"""Lecture-style diagrams of backpropagation.

>>> from autograd import Value
>>> import viz
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> diagram = viz.draw(f)          # displays inline in Jupyter
>>> "-12.00" in diagram.source
True

``diagram.save("fig.svg")`` writes a file for slides (``.svg``, ``.png``, ``.pdf`` or ``.dot``;
``save("fig.png", scale=3)`` for a sharper PNG). ``draw`` options: ``chain=True``,
``rankdir="TB"``, ``palette="colorblind"``, ``magnitude=True``, ``collapse="neuron"``.
"""

from autograd import __version__  # one version for the whole distribution, backprop-lab
from viz.diagram import MAX_NODES, Diagram, draw
from viz.render import RenderError, available_renderers, render
from viz.stepper import Frame, Stepper, step
from viz.style import DrawOptions, escape, format_number
from viz.trace import Trace, TraceEdge, TraceNode, trace
from viz.training import train_steps

__all__ = [
    "MAX_NODES",
    "Diagram",
    "DrawOptions",
    "Frame",
    "RenderError",
    "Stepper",
    "Trace",
    "TraceEdge",
    "TraceNode",
    "__version__",
    "available_renderers",
    "draw",
    "escape",
    "format_number",
    "render",
    "step",
    "trace",
    "train_steps",
]

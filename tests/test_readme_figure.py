"""README's first picture is drawn by the code: the committed file must match what it draws.

Regenerate it after a change to the lecture style with::

    BACKPROP_LAB_RENDERER=bundled .venv/bin/python -c "import viz; from viz import lectures; \
viz.draw(lectures.sigmoid_neuron_staged()).save('docs/sigmoid_neuron.svg')"
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import viz
from viz import lectures

render_module = importlib.import_module("viz.render")
FIGURE = Path(__file__).resolve().parent.parent / "docs" / "sigmoid_neuron.svg"


def test_readme_shows_the_figure_the_code_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    # the bundled renderer writes the same bytes on every platform; the system dot may not
    monkeypatch.setenv(render_module.ENV_VAR, "bundled")
    readme = (FIGURE.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "](docs/sigmoid_neuron.svg)" in readme
    drawn = viz.draw(lectures.sigmoid_neuron_staged()).svg()
    assert FIGURE.read_text(encoding="utf-8") == drawn, (
        "docs/sigmoid_neuron.svg is out of date: regenerate it (see this test's docstring)"
    )

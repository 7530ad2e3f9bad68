"""Fixtures shared by several test files."""

from __future__ import annotations

import importlib
import os
import shutil

import pytest

# ``viz.render`` is the function (re-exported by viz/__init__); this is the module.
render_module = importlib.import_module("viz.render")


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without the Graphviz program: ``shutil.which("dot")`` finds nothing
    (the bundled renderer is still there), and no renderer is forced by the environment."""
    real_which = shutil.which

    def which(name: str, mode: int = os.F_OK | os.X_OK, path: str | None = None) -> str | None:
        return None if name == "dot" else real_which(name, mode, path)

    monkeypatch.setattr(shutil, "which", which)
    monkeypatch.delenv(render_module.ENV_VAR, raising=False)
    assert render_module.system_dot() is None


@pytest.fixture(params=["system", "bundled"])
def renderer(request: pytest.FixtureRequest) -> str:
    """Each renderer in turn: the system ``dot`` and the bundled graphviz-pure (each skipped,
    with the reason, where it is missing)."""
    if request.param == "system" and shutil.which("dot") is None:
        pytest.skip("system Graphviz 'dot' not installed; CI installs it with apt-get")
    if request.param == "bundled" and render_module.bundled_program() is None:
        pytest.skip("the bundled renderer graphviz-pure is not installed")
    return str(request.param)

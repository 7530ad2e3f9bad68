"""The distribution: one version, and a wheel that carries every file the packages need.

The wheel itself is built and installed outside the clone by ``.ci/wheel``; these tests are the
cheap half: what pyproject.toml says must agree with the source tree.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import autograd
import viz

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    with (ROOT / "pyproject.toml").open("rb") as file:
        document: dict[str, Any] = tomllib.load(file)
    return document


def test_the_version_is_written_once_in_pyproject() -> None:
    """pyproject.toml is the one source; the installed metadata and both packages repeat it (a
    mismatch here means the editable install is stale: ``pip install -e .`` again)."""
    written = _pyproject()["project"]["version"]
    assert importlib.metadata.version("backprop-lab") == written
    assert autograd.__version__ == viz.__version__ == written


def test_python_m_viz_version(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "viz", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"backprop-lab {viz.__version__}\n",
        "",
    )


def test_every_subpackage_is_listed() -> None:
    """``packages`` is an explicit list, so a new subpackage left out of it would be missing
    from the wheel although every test in the clone passes."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in listed
        if "." not in top
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed


def test_every_data_file_is_in_package_data() -> None:
    """Any file in a package that is not Python (templates, scripts, py.typed, in the package
    folder or a plain folder inside it) reaches the wheel only through ``package-data``."""
    settings = _pyproject()["tool"]["setuptools"]
    packages: list[str] = settings["packages"]
    patterns: dict[str, list[str]] = settings.get("package-data", {})
    missing = []
    for package in packages:
        folder = ROOT.joinpath(*package.split("."))
        for path in sorted(folder.rglob("*")):
            inner = path.relative_to(folder)
            if (
                path.is_dir()
                or path.suffix in {".py", ".pyc"}
                or "__pycache__" in inner.parts
                or any((folder / part / "__init__.py").exists() for part in inner.parts[:1])
            ):
                continue  # a subpackage's files are checked under its own name
            if not any(fnmatch.fnmatch(inner.as_posix(), p) for p in patterns.get(package, [])):
                missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"add to [tool.setuptools.package-data] in pyproject.toml: {missing}"

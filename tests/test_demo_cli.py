"""``python -m viz demo``: every lecture figure, as files, from the command line."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import viz
from viz.__main__ import main

render_module = importlib.import_module("viz.render")

NAMES = ["xyz", "sigmoid_staged", "sigmoid_fused", "gate_patterns", "vectorised_wx"]
NAMES += ["mlp_gates", "mlp_neurons", "mlp_layers"]  # an MLP: every gate, by neuron, by layer
SVGS = sorted(f"{name}{suffix}.svg" for name in NAMES for suffix in ("", "_forward"))
SVG = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(
    not viz.available_renderers(),
    reason="no Graphviz renderer (system dot or graphviz-pure) installed",
)


def svg_texts(path: Path) -> list[str]:
    root = ET.fromstring(path.read_bytes())
    assert root.tag == f"{SVG}svg"
    return ["".join(text.itertext()).strip() for text in root.iter(f"{SVG}text")]


def check_figures(out: Path, stdout: str) -> None:
    assert sorted(p.name for p in out.iterdir()) == SVGS
    lines = stdout.splitlines()
    printed = sorted(Path(line).name for line in lines[:-1])
    assert printed == SVGS
    assert all(Path(line).exists() for line in lines[:-1])
    assert lines[-1] == f"{len(SVGS)} diagrams written to {out.resolve()}"
    texts = {name: svg_texts(out / name) for name in SVGS}
    assert "-12.00" in texts["xyz.svg"]
    assert "1.00" in texts["xyz.svg"]  # the seed gradient on the output edge
    assert "-12.00" in texts["xyz_forward.svg"]
    assert "1.00" not in texts["xyz_forward.svg"]  # forward only: no gradients
    assert "0.73" in texts["sigmoid_staged.svg"]
    assert "σ" in texts["sigmoid_fused.svg"]
    assert "-3.00 + 4.00 = 1.00" in texts["gate_patterns.svg"]
    assert "add distributes, max routes, mul swaps" in texts["gate_patterns.svg"]
    # the Tensor figure (the lectures' vectorised example): shapes, arrays, and q used twice adds
    assert "W (2, 2)" in texts["vectorised_wx.svg"]
    assert "[-0.112, 0.636]" in texts["vectorised_wx.svg"]  # grad_x
    assert "= [0.440, 0.520]" in texts["vectorised_wx.svg"]  # 2q, the copy gate's sum
    assert "0.116" in texts["vectorised_wx_forward.svg"]  # f, 3 decimals as the lecture prints it
    assert "[-0.112, 0.636]" not in texts["vectorised_wx_forward.svg"]


def test_module_command_line(tmp_path: Path) -> None:
    out = tmp_path / "figures"
    done = subprocess.run(
        [sys.executable, "-m", "viz", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    check_figures(out, done.stdout)


def test_main_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "new" / "figures"
    assert main(["demo", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    check_figures(out, captured.out)


def test_chain_and_precision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--format", "dot", "--chain"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [n.replace(".svg", ".dot") for n in SVGS]
    xyz = (tmp_path / "xyz.dot").read_text(encoding="utf-8")
    assert "1.00 × -4.00 = -4.00" in xyz
    assert main(["demo", "--out", str(tmp_path / "p3"), "--format", "dot", "--precision", "3"]) == 0
    assert "-12.000" in (tmp_path / "p3" / "xyz.dot").read_text(encoding="utf-8")
    capsys.readouterr()


@pytest.mark.parametrize("formats", [["pdf"], ["svg", "pdf"], ["dot", "png", "pdf"]])
def test_pdf_without_system_dot_or_converter_fails_cleanly(
    no_dot: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    formats: list[str],
) -> None:
    # PDF without the system dot is converted from SVG by Python packages: say they are missing
    monkeypatch.setattr(render_module, "missing_pdf_libraries", lambda: ["svglib"])
    out = tmp_path / "figures"
    assert main(["demo", "--out", str(out), "--format", *formats]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.rstrip("\n")
    assert "\n" not in err
    assert err.startswith("error: ")
    assert "Graphviz" in err
    assert "apt-get" in err
    assert "pip install svglib" in err
    assert list(tmp_path.rglob("*")) == []  # no partial figures, no temporary files


def test_invalid_precision_is_an_error_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--format", "dot", "--precision", "99"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: precision")
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["demo", "--format", "jpg"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_demo_mlp_figures_read_left_to_right(tmp_path: Path) -> None:
    """The inputs by their names, one box per neuron (or per layer) with the layer's formula."""
    assert main(["demo", "--out", str(tmp_path)]) == 0
    neurons = (tmp_path / "mlp_neurons.svg").read_text(encoding="utf-8")
    for name in ("x0", "x1", "layer1.neuron0", "layer1.neuron3", "layer2.neuron0"):
        assert f">{name}<" in neurons, name
    layers = (tmp_path / "mlp_layers.svg").read_text(encoding="utf-8")
    assert "W (4, 2), b (4,)" in layers

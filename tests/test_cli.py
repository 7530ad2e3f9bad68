"""``python -m viz EXPRESSION ...``: the expression command line, end to end and in-process.

Every failure must be one ``error: ...`` line on stderr with exit code 2 (followed, when the
mistake is at one place in the expression, by exactly two lines: the expression and a caret under
that place), print nothing on stdout, and leave no file behind (no partial output, no temporary
file).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from dot_reading import label_texts

import viz
from viz.__main__ import main
from viz.expression import build

render_module = importlib.import_module("viz.render")
cli_module = importlib.import_module("viz.__main__")

XYZ = ["(x + y) * z", "--set", "x=-2", "--set", "y=5", "--set", "z=-4"]
NEURON = [
    "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))",
    *("--set", "w0=2", "--set", "x0=-1", "--set", "w1=-3", "--set", "x1=-2", "--set", "w2=-3"),
]
XYZ_VALUES = {"x": -2.0, "y": 5.0, "z": -4.0}
SVG = "{http://www.w3.org/2000/svg}"

needs_renderer = pytest.mark.skipif(
    not viz.available_renderers(),
    reason="no Graphviz renderer (system dot or graphviz-pure) installed",
)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "viz", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def svg_texts(path: Path) -> list[str]:
    root = ET.fromstring(path.read_bytes())
    assert root.tag == f"{SVG}svg"
    return ["".join(text.itertext()).strip() for text in root.iter(f"{SVG}text")]


def everything_in(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


def assert_one_line_error(err: str, fragment: str) -> None:
    """One ``error:`` line holding ``fragment``; an error at one place in the expression adds
    exactly two lines, the expression and a lone caret under a character of it."""
    assert err.endswith("\n")
    lines = err[:-1].split("\n")
    assert len(lines) in (1, 3), err
    line = lines[0]
    assert line.startswith("error: "), err
    assert "Traceback" not in err
    assert fragment in line, err
    if len(lines) == 3:
        shown, caret = lines[1:]
        assert shown.startswith("  ") and caret.startswith("  "), err
        assert caret.strip() == "^" and len(caret) <= len(shown) + 1, err


# -- end to end, as a user runs it -----------------------------------------------------------


@needs_renderer
def test_module_command_line_draws_the_lecture_example(tmp_path: Path) -> None:
    done = run(*XYZ, "-o", "fig.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["fig.svg", "1 file written: (x + y) * z = -12.00"]
    texts = svg_texts(tmp_path / "fig.svg")
    assert "-12.00" in texts
    assert "1.00" in texts  # the seed gradient: gradients are drawn by default
    assert everything_in(tmp_path) == [tmp_path / "fig.svg"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["__import__('os').system('touch pwned')", "-o", "fig.svg"], "is not allowed"),
        (["x+" * 50_000 + "x", "-o", "fig.svg"], "characters long"),
        (["log(x)", "--set", "x=-1", "-o", "fig.svg"], "log"),
        (["x"], "nothing to write"),
        (["x", "--bogus"], "unrecognized arguments: --bogus"),
    ],
    ids=["injection", "absurd", "domain", "no-output", "usage"],
)
def test_module_command_line_errors(tmp_path: Path, args: list[str], fragment: str) -> None:
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert_one_line_error(done.stderr, fragment)
    assert everything_in(tmp_path) == []


# -- outputs ---------------------------------------------------------------------------------


def test_dot_output_is_the_diagram_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "fig.dot"
    assert main([*XYZ, "-o", str(out)]) == 0
    root = build("(x + y) * z", XYZ_VALUES)
    root.backward()
    assert out.read_text(encoding="utf-8") == viz.draw(root).source
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [str(out), "1 file written: (x + y) * z = -12.00"]


@pytest.mark.parametrize(
    ("options", "draw_options"),
    [
        (["--no-grad"], {"grads": False}),
        (["--chain"], {"chain": True}),
        (["--rankdir", "TB"], {"rankdir": "TB"}),
        (["--rankdir", "tb"], {"rankdir": "TB"}),
        (["--precision", "4"], {"precision": 4}),
        (
            ["--chain", "--no-grad", "--precision", "0"],
            {"chain": True, "grads": False, "precision": 0},
        ),
    ],
)
def test_draw_options(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    draw_options: dict[str, object],
) -> None:
    out = tmp_path / "fig.dot"
    assert main([*NEURON, "-o", str(out), *options]) == 0
    root = build(NEURON[0], {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0})
    if draw_options.get("grads", True):
        root.backward()
    expected = viz.draw(root, **draw_options).source  # type: ignore[arg-type]
    assert out.read_text(encoding="utf-8") == expected
    capsys.readouterr()


def test_no_grad_draws_no_gradients(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*XYZ, "-o", str(tmp_path / "f.dot"), "--no-grad"]) == 0
    assert main([*XYZ, "-o", str(tmp_path / "g.dot")]) == 0
    forward, full = ((tmp_path / n).read_text(encoding="utf-8") for n in ("f.dot", "g.dot"))
    assert "-12.00" in forward
    # the seed gradient (in the labels: the positions of the pinned layout hold numbers too)
    assert "1.00" not in label_texts(forward) and "1.00" in label_texts(full)
    assert "rankdir=LR" in full
    capsys.readouterr()


def test_chain_and_rankdir_show_in_the_dot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*XYZ, "-o", str(tmp_path / "f.dot"), "--chain", "--rankdir", "TB"]) == 0
    text = (tmp_path / "f.dot").read_text(encoding="utf-8")
    assert "1.00 × -4.00 = -4.00" in text
    assert "rankdir=TB" in text
    capsys.readouterr()


@needs_renderer
def test_several_outputs_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [tmp_path / "sub" / name for name in ("f.svg", "f.png", "f.dot")]
    assert main([*XYZ, *(arg for p in paths for arg in ("-o", str(p)))]) == 0
    assert paths[1].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "-12.00" in svg_texts(paths[0])
    assert "-12.00" in paths[2].read_text(encoding="utf-8")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [*map(str, paths), "3 files written: (x + y) * z = -12.00"]
    assert everything_in(tmp_path) == sorted([tmp_path / "sub", *paths])


def test_the_same_output_twice_is_written_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "f.dot")
    assert main([*XYZ, "-o", out, "-o", out]) == 0
    assert capsys.readouterr().out.splitlines()[0] == out
    assert everything_in(tmp_path) == [tmp_path / "f.dot"]


def test_expression_starting_with_minus_after_double_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--set", "x=2", "-o", str(tmp_path / "f.dot"), "--", "-x"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 file written: -x = -2.00"


@pytest.mark.parametrize("text", ["-x*y", "-2*x*y", "-x"])
def test_expression_starting_with_minus_without_double_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    values = ["--set", "x=2", "--set", "y=3"] if "y" in text else ["--set", "x=2"]
    assert main([text, *values, "-o", str(tmp_path / "f.dot")]) == 0
    value = build(text, {"x": 2.0, "y": 3.0} if "y" in text else {"x": 2.0}).data
    assert capsys.readouterr().out.splitlines()[-1] == f"1 file written: {text} = {value:.2f}"


# -- errors: one line, exit 2, nothing written -----------------------------------------------

ERRORS = [
    (["x", "--set", "x", "-o", "f.svg"], "--set wants NAME=NUMBER, got 'x'"),
    (["x", "--set", "x=abc", "-o", "f.svg"], "'abc' is not a number"),
    (["x", "--set", "x=inf", "-o", "f.svg"], "must be finite"),
    (["x", "--set", "1x=2", "-o", "f.svg"], "'1x' is not a name"),
    (["x", "--set", "x=1", "--set", "x=2", "-o", "f.svg"], "--set x is given twice"),
    (["x", "--set", "x=1", "--set", "w=1", "-o", "f.svg"], "w is given a value but not used"),
    (["x * y", "--set", "x=1", "-o", "f.svg"], "no value for y: add --set y=NUMBER"),
    (["log(x)", "--set", "x=-1", "-o", "f.svg"], "log(x) is undefined at x = -1"),
    (
        ["1 / x", "--set", "x=0", "-o", "f.svg"],
        "1 / x is undefined at x = 0: division by zero",
    ),  # the expression as written, not "truediv" nor "1.0 / 0.0"
    (["exp(x)", "--set", "x=1000", "-o", "f.svg"], "exp(x) overflows at x = 1000"),
    (["x.real", "--set", "x=1", "-o", "f.svg"], "attribute access not allowed: 'x.real'"),
    (["__import__('os').system('touch pwned')", "-o", "f.svg"], "'__import__('os').system'"),
    (["open('pwned', 'w')", "-o", "f.svg"], "there is no function 'open'"),
    (["x +* y", "-o", "f.svg"], "column 4"),
    (["", "-o", "f.svg"], "the expression is empty"),
    (["x\ny", "-o", "f.svg"], "single line"),
    (["-" * 10_000 + "x", "-o", "f.svg"], "characters long"),
    (["(" * 10_000 + "x" + ")" * 10_000, "-o", "f.svg"], "characters long"),
    (["x+" * 4_999 + "x", "-o", "f.svg"], "operators and brackets"),
    (["x", "--set", "x=1"], "nothing to write: add -o FILE"),
    (["x", "--set", "x=1", "-o", "f.jpg"], "cannot tell the format of 'f.jpg'"),
    (["x", "--set", "x=1", "-o", "f.dot", "--precision", "13"], "precision"),
    (["-o", "f.svg", "demo"], "demo is a sub-command and must come first"),
]


@pytest.mark.parametrize(("args", "fragment"), ERRORS, ids=lambda v: str(v)[:24])
def test_errors_are_one_line_and_leave_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, fragment)
    assert everything_in(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ([], "the following arguments are required: EXPRESSION"),
        (["x", "--bogus"], "unrecognized arguments: --bogus"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["x", "--rankdir", "XY"], "invalid choice: 'XY'"),
        (["x", "--precision", "two"], "--precision: wants a whole number of digits from 0 to 12"),
        (["x", "-o"], "expected one argument"),
    ],
)
def test_usage_errors_are_one_line_too(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, fragment)
    assert "--help" in captured.err


def test_help_explains_both_forms(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "python -m viz EXPRESSION --set NAME=NUMBER" in text
    assert "python -m viz demo" in text
    for option in ("--set", "-o", "--frames", "--html", "--no-grad", "--rankdir", "--chain"):
        assert option in text
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--out" in capsys.readouterr().out


@pytest.mark.parametrize(
    "outputs",
    [["a.pdf"], ["a.svg", "b.pdf"], ["a.dot", "b.png", "c.pdf"]],
)
def test_an_impossible_output_stops_all_of_them(
    no_dot: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outputs: list[str],
) -> None:
    # PDF without the system dot is converted from SVG by Python packages: say they are missing
    monkeypatch.setattr(render_module, "missing_pdf_libraries", lambda: ["svglib"])
    monkeypatch.chdir(tmp_path)
    assert main([*XYZ, *(arg for name in outputs for arg in ("-o", name))]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, "PDF without the system Graphviz")
    assert everything_in(tmp_path) == []


def test_a_render_failure_comes_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(source: str, fmt: str = "svg", renderer: str = "auto") -> bytes:
        raise viz.RenderError("Graphviz (dot -Tpng) failed: out of crayons\nsecond line")

    # the -o bytes are rendered by Diagram.file_bytes, before anything is written
    monkeypatch.setattr(importlib.import_module("viz.diagram"), "render", broken)
    monkeypatch.setattr(cli_module, "choose_renderer", lambda fmt: "system")
    monkeypatch.chdir(tmp_path)
    assert main([*XYZ, "-o", "a.dot", "-o", "b.png"]) == 2
    assert_one_line_error(capsys.readouterr().err, "out of crayons second line")
    assert everything_in(tmp_path) == []


def test_a_write_failing_half_way_removes_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_write = cli_module.write_atomically
    calls: list[Path] = []

    def second_fails(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        real_write(path, data)

    monkeypatch.setattr(cli_module, "write_atomically", second_fails)
    (tmp_path / "keep.txt").write_text("not ours", encoding="utf-8")
    out = tmp_path / "new" / "folder"
    assert main([*XYZ, "-o", str(out / "a.dot"), "-o", str(out / "b.dot")]) == 2
    assert_one_line_error(capsys.readouterr().err, "No space left on device")
    assert len(calls) == 2
    assert everything_in(tmp_path) == [tmp_path / "keep.txt"]  # new folders removed too


def test_existing_folder_or_file_in_the_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "taken.svg").mkdir()
    (tmp_path / "file").write_text("", encoding="utf-8")
    assert main([*XYZ, "-o", "a.dot", "-o", "taken.svg"]) == 2
    assert_one_line_error(capsys.readouterr().err, "taken.svg is a folder")
    assert main([*XYZ, "-o", "a.dot", "-o", "file/b.dot"]) == 2
    assert_one_line_error(capsys.readouterr().err, "is a file, not a folder")
    assert main([*XYZ, "-o", "a.dot", "--frames", "file"]) == 2
    assert_one_line_error(capsys.readouterr().err, "exists and is not a folder")
    assert everything_in(tmp_path) == [tmp_path / "file", tmp_path / "taken.svg"]


def test_injection_attempts_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for text in [
        "__import__('os').system('touch pwned')",
        "open('pwned', 'w').write('x')",
        "(lambda: __import__('os').system('touch pwned'))()",
        "[__import__('pathlib').Path('pwned').touch() for _ in [1]]",
    ]:
        assert main([text, "-o", "fig.dot"]) == 2
    assert capsys.readouterr().out == ""
    assert everything_in(tmp_path) == []


# -- the stepper: --frames and --html --------------------------------------------------------


@needs_renderer
def test_frames_and_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames, page = tmp_path / "frames", tmp_path / "steps.html"
    assert main(["x * x", "--set", "x=3", "--frames", str(frames), "--html", str(page)]) == 0
    expected = len(viz.step(build("x * x", {"x": 3.0})))
    written = sorted(frames.iterdir())
    assert [p.name for p in written] == [f"frame_{i:03d}.svg" for i in range(1, expected + 1)]
    assert all("<svg" in p.read_text(encoding="utf-8") for p in written)
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html
    assert 'src="http' not in html and 'href="http' not in html.replace("xmlns", "")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [str(page), *map(str, written), f"{expected + 1} files written: x * x = 9.00"]


@needs_renderer
def test_frames_forward_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*XYZ, "--no-grad", "--frames", str(tmp_path)]) == 0
    forward = len(viz.step(build("(x + y) * z", XYZ_VALUES), grads=False))
    assert len(list(tmp_path.iterdir())) == forward
    capsys.readouterr()


@needs_renderer
def test_frames_failing_removes_every_output_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fails_half_way(self: viz.Stepper, directory: Path, formats: object = None) -> list[Path]:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / "frame_001.svg").write_text("<svg/>", encoding="utf-8")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(viz.Stepper, "save_frames", fails_half_way)
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "notes.txt").write_text("not ours", encoding="utf-8")
    args = ["-o", str(tmp_path / "a.svg"), "--html", str(tmp_path / "s.html")]
    assert main([*XYZ, *args, "--frames", str(frames)]) == 2
    assert_one_line_error(capsys.readouterr().err, "No space left on device")
    assert everything_in(tmp_path) == [frames, frames / "notes.txt"]


# -- the demo sub-command is unchanged -------------------------------------------------------


def test_demo_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--format", "dot"]) == 0
    assert len(list(tmp_path.iterdir())) == 16  # 8 figures, forward only and with gradients
    assert capsys.readouterr().out.splitlines()[-1] == f"16 diagrams written to {tmp_path}"

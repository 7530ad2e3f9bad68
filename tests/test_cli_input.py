"""``python -m viz`` given text that is not UTF-8: a one-line error (exit code 2), never a codec
message or a traceback; and file names that are not UTF-8 are written and reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import viz
from viz.__main__ import main

needs_renderer = pytest.mark.skipif(
    not viz.available_renderers(),
    reason="no Graphviz renderer (system dot or graphviz-pure) installed",
)


def run(*args: str | bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with ``args`` as given (bytes pass through to the process untouched)."""
    return subprocess.run(
        [sys.executable, "-m", "viz", *args],
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )


def one_line(err: bytes) -> str:
    text = err.decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert text.startswith("error: ") and "Traceback" not in text
    assert "codec" not in text and "surrogates" not in text, text
    return text[:-1]


@pytest.mark.parametrize(
    ("expression", "where"),
    [(b"\xff", "byte 0xFF at character 1"), (b"x * \xc3", "byte 0xC3 at character 5")],
    ids=["lone-byte", "cut-short-character"],
)
def test_an_expression_that_is_not_utf8_is_one_clear_line(
    tmp_path: Path, expression: bytes, where: str
) -> None:
    done = run(expression, "--set", "x=1", "-o", "fig.svg", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == b""
    line = one_line(done.stderr)
    assert f"the expression is not valid UTF-8 text ({where})" in line
    assert list(tmp_path.iterdir()) == []


def test_a_set_option_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    done = run("x", "--set", b"x\xff=1", "-o", "fig.svg", cwd=tmp_path)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "--set x\\xff=1 is not valid UTF-8 text (byte 0xFF at character 2)" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["a\ud800b"], ["x", "--set", "x=\udfff"]], ids=["expr", "set"])
def test_lone_surrogates_in_process_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    out = tmp_path / "fig.svg"
    assert main([*args, "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "is not valid UTF-8 text (U+D" in captured.err
    assert captured.err.count("\n") == 1
    assert not out.exists()


@needs_renderer
def test_a_file_name_that_is_not_utf8_is_written_and_reported(tmp_path: Path) -> None:
    done = run("x * 2", "--set", "x=3", "-o", b"fig\xff.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert done.stdout.splitlines() == [b"fig\xff.svg", b"1 file written: x * 2 = 6.00"]
    assert os.listdir(os.fsencode(tmp_path)) == [b"fig\xff.svg"]


def test_a_lone_surrogate_is_an_expression_error_in_the_api_too() -> None:
    from viz.expression import ExpressionError, parse

    with pytest.raises(ExpressionError, match=r"U\+D800 at character 2"):
        parse("a\ud800b")

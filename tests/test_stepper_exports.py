"""A step-through saved for slides and video: Beamer overlays, an animated GIF, an MP4."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf import PdfReader
from test_tikz import needs_pdflatex, pdflatex

import viz
from autograd import Value


@pytest.fixture(scope="module")
def steps() -> viz.Stepper:
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    z = x * y + x
    z.label = "z"
    return viz.step(z)


@needs_pdflatex
def test_save_beamer_compiles_to_one_page_per_step(steps: viz.Stepper, tmp_path: Path) -> None:
    path = steps.save_beamer(tmp_path / "steps.tex")
    document = path.read_text(encoding="utf-8")
    assert document.count("\\begin{frame}") == 1  # one frame, one overlay per step
    pdf = pdflatex(tmp_path, "compiled", document)
    pages = PdfReader(pdf).pages
    assert len(pages) == len(steps)
    # each page's caption is the step's, under a picture without the caption in it
    for k in (0, len(steps) - 1):
        text = pages[k].extract_text()
        assert steps[k].caption.split(":")[0] in text
        assert text.count(steps[k].caption.split(":")[0]) == 1


def test_save_gif_has_one_frame_per_step(steps: viz.Stepper, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    path = steps.save_gif(tmp_path / "steps.gif", seconds_per_frame=0.5, width=800)
    with Image.open(path) as gif:
        assert gif.n_frames == len(steps)
        assert gif.size[0] == pytest.approx(800, abs=2)
        assert gif.info["duration"] == 500


def test_save_video_lasts_one_second_per_step(steps: viz.Stepper, tmp_path: Path) -> None:
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    path = steps.save_video(tmp_path / "steps.mp4", seconds_per_frame=1.0, fps=4, width=640)
    frames = iio.imread(path, index=None)  # every video frame
    assert len(frames) == 4 * len(steps)
    assert frames.shape[2] % 2 == 0 and abs(frames.shape[2] - 640) <= 2

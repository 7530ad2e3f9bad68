"""viz.movie: a step-through as a GIF and an MP4, at a projector's resolution.

The files are read back (Pillow for the GIF, imageio's ffmpeg plugin for the MP4) and checked
for what a lecturer relies on: one picture per frame, each shown for as long as asked, about
1920 pixels wide, the lecture colours intact, and H.264 in yuv420p with an even size.
"""

from __future__ import annotations

import io
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import viz
from autograd import Value
from viz import movie

Image = pytest.importorskip("PIL.Image")
iio = pytest.importorskip("imageio.v3")
pytest.importorskip("imageio_ffmpeg")

GREEN = (0x2E, 0x7D, 0x32)  # forward values
RED = (0xC6, 0x28, 0x28)  # gradients
YELLOW = (0xFF, 0xF5, 0x9D)  # the highlighted gate
LECTURE_COLOURS = {"green": GREEN, "red": RED, "yellow": YELLOW, "white": (255,) * 3}


@pytest.fixture(scope="module")
def steps() -> viz.Stepper:
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    return viz.step(x * y + x)


@pytest.fixture(scope="module")
def pngs(steps: viz.Stepper) -> list[bytes]:
    return movie.frames_to_pngs(steps)


def rgb(png: bytes) -> Any:
    """A PNG's pixels as an RGB array (transparency on white, as the movies have it)."""
    picture = Image.open(io.BytesIO(png)).convert("RGBA")
    background = Image.new("RGBA", picture.size, "white")
    return np.asarray(Image.alpha_composite(background, picture).convert("RGB"))


def gif_frames(path: Path) -> list[tuple[Any, int]]:
    """Each frame of a GIF as shown (RGB array) with its duration in milliseconds."""
    frames = []
    with Image.open(path) as gif:
        for index in range(gif.n_frames):
            gif.seek(index)
            frames.append((np.asarray(gif.convert("RGB")), gif.info["duration"]))
    return frames


def solid_png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- frames to pixels --------------------------------------------------------------------------


def test_frames_render_about_1920_pixels_wide_all_the_same_size(
    steps: viz.Stepper, pngs: list[bytes]
) -> None:
    assert len(pngs) == len(steps)
    sizes = {movie.png_size(png) for png in pngs}
    assert len(sizes) == 1  # one pinned layout, one dpi: nothing jumps between frames
    ((width, height),) = sizes
    assert abs(width - 1920) <= 2
    assert 0 < height < width  # x*y+x is drawn left to right


def test_width_sets_the_resolution(steps: viz.Stepper) -> None:
    (png,) = movie.frames_to_pngs(steps[-1:], width=960)
    assert abs(movie.png_size(png)[0] - 960) <= 2


def test_projector_dpi_stays_in_the_allowed_range() -> None:
    from viz.render import MAX_DPI, MAX_MEGAPIXELS, MIN_DPI

    assert movie.projector_dpi([(720.0, 144.0)]) == pytest.approx(192.0)  # 10 in -> 1920 px
    assert movie.projector_dpi([(1.0, 1.0)]) == MAX_DPI  # a dot is not blown up past 1200 dpi
    assert movie.projector_dpi([(1e6, 1e6)]) == MIN_DPI
    # a tall graph: 1920 px wide would be past 100 megapixels, so it comes out narrower
    tall = (720.0, 720.0 * 100)
    dpi = movie.projector_dpi([tall])
    assert dpi < 192.0
    assert (tall[0] / 72 * dpi) * (tall[1] / 72 * dpi) <= MAX_MEGAPIXELS * 1e6
    # one dpi for all: the widest frame sets it
    assert movie.projector_dpi([(360.0, 100.0), (720.0, 100.0)]) == pytest.approx(192.0)


def test_frames_must_be_diagrams() -> None:
    with pytest.raises(TypeError, match=r"viz\.step"):
        movie.frames_to_pngs(["not a frame"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="no frames"):
        movie.frames_to_pngs([])
    with pytest.raises(ValueError, match="width"):
        movie.frames_to_pngs([viz.Diagram("digraph { a }")], width=0)


# -- GIF -------------------------------------------------------------------------------------------


def test_gif_has_a_frame_per_step_each_shown_for_its_time(
    steps: viz.Stepper, pngs: list[bytes], tmp_path: Path
) -> None:
    path = movie.save_gif(pngs, tmp_path / "steps.gif", seconds_per_frame=0.8, last_frame_seconds=3)
    assert path == tmp_path / "steps.gif"
    frames = gif_frames(path)
    assert len(frames) == len(steps)
    assert [duration for _, duration in frames] == [800] * (len(steps) - 1) + [3000]
    with Image.open(path) as gif:
        assert gif.info["loop"] == 0  # forever
        assert gif.size == movie.png_size(pngs[0])
        assert abs(gif.size[0] - 1920) <= 2
    assert files_in(tmp_path) == ["steps.gif"]  # no temporary file left behind


def test_gif_keeps_the_lecture_colours_exact(pngs: list[bytes], tmp_path: Path) -> None:
    path = movie.save_gif(pngs, tmp_path / "steps.gif")
    last_png, (last_gif, _) = pngs[-1], gif_frames(path)[-1]
    original = rgb(last_png)
    for name, colour in LECTURE_COLOURS.items():
        exact = (original == colour).all(axis=2)
        assert exact.any(), f"the frame has no {name} pixel to check"
        # every pixel of that colour is still exactly that colour
        assert (last_gif[exact] == colour).all(), name
    # and the anti-aliased edges stay close to what Graphviz drew
    error = np.abs(last_gif.astype(int) - original.astype(int))
    assert error.mean() < 1.0
    assert np.percentile(error, 99.9) <= 24


def test_gif_pads_smaller_pictures_with_white(tmp_path: Path) -> None:
    pictures = [solid_png(40, 20, RED), solid_png(60, 30, GREEN)]
    frames = gif_frames(movie.save_gif(pictures, tmp_path / "two.gif"))
    assert len(frames) == 2
    first, _ = frames[0]
    assert first.shape == (30, 60, 3)
    assert (first[15, 30] == RED).all()  # centred
    assert (first[0, 0] == 255).all() and (first[-1, -1] == 255).all()  # padding is white


# -- MP4 -------------------------------------------------------------------------------------------


def test_mp4_holds_each_picture_for_its_time_in_h264(
    steps: viz.Stepper, pngs: list[bytes], tmp_path: Path
) -> None:
    fps, seconds = 4, 0.5
    path = movie.save_video(pngs, tmp_path / "steps.mp4", seconds_per_frame=seconds, fps=fps)
    assert path == tmp_path / "steps.mp4"
    meta = iio.immeta(path, plugin="FFMPEG")
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    assert meta["fps"] == fps
    assert abs(meta["duration"] - len(steps) * seconds) <= 1 / fps
    frames = list(iio.imiter(path, plugin="FFMPEG"))
    assert len(frames) == len(steps) * round(seconds * fps)
    height, width, _ = frames[0].shape
    assert width % 2 == 0 and height % 2 == 0
    assert abs(width - 1920) <= 2
    # each picture appears in its own stretch of video frames, in order
    per_picture = round(seconds * fps)
    for index, png in enumerate(pngs):
        original = rgb(png).astype(int)
        shown = frames[index * per_picture + per_picture // 2].astype(int)
        h, w, _ = original.shape
        assert np.abs(shown[:h, :w] - original).mean() < 3.0, f"picture {index}"
    assert files_in(tmp_path) == ["steps.mp4"]


def test_mp4_pads_an_odd_size_to_even(tmp_path: Path) -> None:
    path = movie.save_video([solid_png(101, 51, YELLOW)], tmp_path / "odd.mp4", fps=2)
    (frame, *rest) = list(iio.imiter(path, plugin="FFMPEG"))
    assert frame.shape == (52, 102, 3)
    assert len(rest) == 1  # one second at 2 frames a second
    assert np.abs(frame[25, 50].astype(int) - YELLOW).max() <= 6


def test_failed_encoding_leaves_no_file(
    pngs: list[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import imageio.v2

    real = imageio.v2.get_writer

    class Failing:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.writer = real(*args, **kwargs)
            self.count = 0

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self.writer.close()

        def append_data(self, pixels: Any) -> None:
            self.count += 1
            if self.count > 3:
                raise OSError("disk full (simulated)")
            self.writer.append_data(pixels)

    monkeypatch.setattr(imageio.v2, "get_writer", Failing)
    (tmp_path / "steps.mp4").write_bytes(b"old video")
    with pytest.raises(RuntimeError, match="simulated"):
        movie.save_video(pngs[:2], tmp_path / "steps.mp4", fps=4)
    assert files_in(tmp_path) == ["steps.mp4"]
    assert (tmp_path / "steps.mp4").read_bytes() == b"old video"


# -- errors ----------------------------------------------------------------------------------------

SAVERS = {"gif": movie.save_gif, "mp4": movie.save_video}


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
@pytest.mark.parametrize("seconds", [0, -1.0, math.nan, math.inf])
def test_seconds_per_frame_must_be_positive_and_finite(
    suffix: str, seconds: float, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        SAVERS[suffix]([solid_png(8, 8, RED)], tmp_path / f"x.{suffix}", seconds)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_seconds_per_frame_must_be_a_number(suffix: str, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="number of seconds"):
        SAVERS[suffix]([solid_png(8, 8, RED)], tmp_path / f"x.{suffix}", "1")  # type: ignore[arg-type]


def test_too_short_for_a_gif_or_a_video_frame(tmp_path: Path) -> None:
    png = solid_png(8, 8, RED)
    with pytest.raises(ValueError, match=r"0\.02 s"):
        movie.save_gif([png], tmp_path / "x.gif", 0.01)
    with pytest.raises(ValueError, match="last_frame_seconds"):
        movie.save_gif([png], tmp_path / "x.gif", 1.0, last_frame_seconds=-2)
    with pytest.raises(ValueError, match="raise fps"):
        movie.save_video([png], tmp_path / "x.mp4", 0.1, fps=4)
    for fps in (0, 1000, 2.5, True):
        with pytest.raises(ValueError, match="fps"):
            movie.save_video([png], tmp_path / "x.mp4", fps=fps)  # type: ignore[arg-type]
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_no_frames_is_refused(suffix: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no frames"):
        SAVERS[suffix]([], tmp_path / f"x.{suffix}")


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_frames_must_be_pngs(suffix: str, steps: viz.Stepper, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="frames_to_pngs"):
        SAVERS[suffix](list(steps), tmp_path / f"x.{suffix}")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="frame 1 is not a PNG"):
        SAVERS[suffix]([solid_png(8, 8, RED), b"GIF89a..."], tmp_path / f"x.{suffix}")
    assert files_in(tmp_path) == []


def test_the_name_says_the_format(tmp_path: Path) -> None:
    png = solid_png(8, 8, RED)
    with pytest.raises(ValueError, match=r"\.gif"):
        movie.save_gif([png], tmp_path / "steps.png")
    with pytest.raises(ValueError, match=r"\.mp4"):
        movie.save_video([png], tmp_path / "steps.gif")


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_a_missing_folder_is_made_as_for_any_saved_figure(suffix: str, tmp_path: Path) -> None:
    path = SAVERS[suffix]([solid_png(8, 8, RED)], tmp_path / "a" / "b" / f"x.{suffix}", 0.5)
    assert path.is_file()


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_unwritable_places_are_refused_before_any_work(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = SAVERS[suffix]
    png = solid_png(8, 8, RED)
    (tmp_path / "folder.gif").mkdir()
    (tmp_path / "folder.mp4").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        save([png], tmp_path / f"folder.{suffix}")
    (tmp_path / "notes.txt").write_text("a file")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        save([png], tmp_path / "notes.txt" / f"x.{suffix}")
    # read-only (faked: the tests may run as root, who can write anywhere)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)  # the os viz.movie uses
    with pytest.raises(PermissionError, match=r"read-only.*Choose a folder"):
        save([png], tmp_path / f"x.{suffix}")
    assert files_in(tmp_path) == ["folder.gif", "folder.mp4", "notes.txt"]


@pytest.mark.parametrize("suffix", ["gif", "mp4"])
def test_a_failed_write_says_what_to_do_and_leaves_the_old_file(
    suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / f"x.{suffix}"
    target.write_bytes(b"old")

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)  # the tempfile nn.files uses
    with pytest.raises(PermissionError, match=r"cannot save.*Permission denied.*[Cc]hoose"):
        SAVERS[suffix]([solid_png(8, 8, RED)], target)
    assert target.read_bytes() == b"old"
    assert files_in(tmp_path) == [target.name]


@pytest.mark.parametrize(
    ("suffix", "hidden"), [("gif", ["PIL", "PIL.Image"]), ("mp4", ["imageio_ffmpeg"])]
)
def test_missing_libraries_say_what_to_install(
    suffix: str, hidden: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = solid_png(8, 8, RED)
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(ImportError, match=r'pip install "backprop-lab\[video\]"'):
        SAVERS[suffix]([png], tmp_path / f"x.{suffix}")
    assert files_in(tmp_path) == []

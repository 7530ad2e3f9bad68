"""A step-through as an animated GIF or an MP4 video, for slides that cannot run a notebook.

Three steps, each usable alone:

* :func:`frames_to_pngs` renders the frames (any :class:`~viz.diagram.Diagram`, such as a
  :class:`~viz.stepper.Frame`) as PNGs about 1920 pixels wide, the width of a projector, all at
  one resolution so that nothing changes size from frame to frame;
* :func:`save_gif` makes a looping GIF of them with Pillow (plays anywhere, even in an e-mail);
* :func:`save_video` makes an H.264 MP4 with imageio and imageio-ffmpeg, whose wheel ships an
  ffmpeg program (plays in PowerPoint, Keynote and browsers; nothing to install system-wide).

Pillow, imageio and imageio-ffmpeg are optional: ``pip install "backprop-lab[video]"``.

A GIF holds at most 256 colours. Graphviz draws its text anti-aliased, so a frame has hundreds
of shades; the palette here is shared by all frames and starts with the colours the frames use
most, exactly (white, black, the lecture green ``#2e7d32``, red ``#c62828`` and the yellow
``#fff59d`` highlight, or whatever palette was drawn with), then adds shades picked by median
cut for the anti-aliased edges. Pixels are mapped to their nearest palette colour without
dithering, so flat colours stay flat and text keeps clean edges.

Both files are written atomically (see :func:`nn.files.write_atomically`): after any
error there is no partial file, and an older file of that name is left as it was.
"""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from viz.render import (
    DEFAULT_DPI,
    MAX_DPI,
    MAX_MEGAPIXELS,
    MIN_DPI,
    svg_size_points,
    write_atomically,
)

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "PROJECTOR_WIDTH",
    "VIDEO_INSTALL",
    "frames_to_pngs",
    "projector_dpi",
    "save_gif",
    "save_video",
]

#: Pixels across a 1080p projector: the width :func:`frames_to_pngs` aims for.
PROJECTOR_WIDTH = 1920
#: What to run when Pillow, imageio or imageio-ffmpeg is missing.
VIDEO_INSTALL = 'pip install "backprop-lab[video]"'
#: A GIF's palette size, and how many of the most used colours it keeps exactly.
GIF_COLOURS = 256
GIF_EXACT_COLOURS = 64
#: GIF delays are whole hundredths of a second, at most 65535 of them; browsers play delays
#: under 0.02 s as 0.1 s, so shorter frames are refused rather than shown slowly.
GIF_MIN_SECONDS = 0.02
GIF_MAX_SECONDS = 655.35
#: At most this many frames are looked at to choose a GIF's anti-aliasing shades.
GIF_PALETTE_SAMPLE = 16
#: x264's constant quality: 18 is visually lossless, so thin text stays sharp.
VIDEO_CRF = 18
MAX_FPS = 120
#: Graphviz runs for the frames at once, each in its own process.
RENDER_WORKERS = min(8, os.cpu_count() or 1)


class Renderable(Protocol):
    """What :func:`frames_to_pngs` needs of a frame: the public :class:`~viz.diagram.Diagram`
    API (SVG to measure it, a PNG at a chosen dpi)."""

    def svg(self) -> str: ...

    def file_bytes(
        self, fmt: str, *, scale: float | None = None, dpi: float | None = None
    ) -> bytes: ...


# -- frames to pixels ------------------------------------------------------------------------------


def projector_dpi(sizes: Iterable[tuple[float, float]], width: int = PROJECTOR_WIDTH) -> float:
    """The one dpi at which the widest of drawings ``sizes`` (width and height in points) is
    ``width`` pixels wide.

    Clamped to the dpi range PNGs are made in (``MIN_DPI`` to ``MAX_DPI`` of
    :mod:`viz.render`), and lowered so that the largest drawing stays under the
    ``MAX_MEGAPIXELS`` limit: a huge graph comes out smaller than ``width`` rather than not at
    all. One dpi for all frames keeps text the same size from frame to frame.
    """
    _check_width(width)
    sizes = list(sizes)
    if not sizes:
        raise ValueError("no frames to measure: pass at least one")
    widest = max(w for w, _ in sizes)
    largest = max(w * h for w, h in sizes)  # square points
    if widest <= 0 or largest <= 0:
        raise ValueError(f"a drawing of zero size cannot be shown: sizes {sizes}")
    dpi = width * 72.0 / widest
    # pixels = points / 72 * dpi on each side; keep a pixel's margin for Graphviz's rounding
    fits = math.sqrt(MAX_MEGAPIXELS * 1e6 / (largest / 72.0**2)) * 0.999
    return max(MIN_DPI, min(dpi, MAX_DPI, fits))


def frames_to_pngs(frames: Iterable[Renderable], width: int = PROJECTOR_WIDTH) -> list[bytes]:
    """Each frame as a PNG, about ``width`` pixels wide (1920: a 1080p projector).

    All frames are rendered at the one dpi that makes the widest ``width`` pixels wide (see
    :func:`projector_dpi`); a step-through's frames share one pinned layout, so they come out
    the same size. Uses only ``frame.svg()`` and ``frame.file_bytes("png", dpi=...)``, so any
    :class:`~viz.diagram.Diagram` works. Graphviz runs for several frames at once.
    """
    _check_width(width)
    frames = list(frames)
    if not frames:
        raise ValueError("no frames to render: pass at least one (a Stepper, or a list of frames)")
    for index, frame in enumerate(frames):
        if not (
            callable(getattr(frame, "svg", None)) and callable(getattr(frame, "file_bytes", None))
        ):
            raise TypeError(
                f"frame {index} is a {type(frame).__name__}, not a diagram: pass the frames of "
                "viz.step(...) (or viz.draw diagrams)"
            )
    with ThreadPoolExecutor(max_workers=RENDER_WORKERS) as pool:
        sizes = list(pool.map(_size_points, frames))
        dpi = projector_dpi(sizes, width)
        return list(pool.map(lambda frame: _png(frame, dpi), frames))


def _size_points(frame: Renderable) -> tuple[float, float]:
    """A frame's size in points: from its SVG, else measured from a PNG at the default dpi."""
    size = svg_size_points(frame.svg())
    if size is not None:
        return size
    width, height = png_size(frame.file_bytes("png"))
    return width * 72.0 / DEFAULT_DPI, height * 72.0 / DEFAULT_DPI


def _png(frame: Renderable, dpi: float) -> bytes:
    try:
        return frame.file_bytes("png", dpi=dpi)
    except ValueError as error:  # only when even MIN_DPI is past the megapixel limit
        raise ValueError(
            f"this drawing is too large for a movie even at {MIN_DPI:g} dpi ({error}). Step "
            "through a smaller graph, or save the frames as .svg or .pdf (save_frames)."
        ) from error


def png_size(png: bytes) -> tuple[int, int]:
    """The width and height a PNG declares (its IHDR chunk); ``ValueError`` if not a PNG."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


# -- GIF -------------------------------------------------------------------------------------------


def save_gif(
    pngs: Sequence[bytes],
    path: str | Path,
    seconds_per_frame: float = 1.0,
    last_frame_seconds: float | None = None,
) -> Path:
    """Write ``pngs`` as an animated GIF that loops forever; returns the path.

    Each picture shows for ``seconds_per_frame`` (to the hundredth of a second, 0.02 to 655 s),
    the last for ``last_frame_seconds`` if given (a pause before the loop starts again).
    Pictures of different sizes are centred on white, at the size of the largest. All frames
    share one palette that keeps the most used colours exact (see the module's docstring).
    A frame identical to the one before is merged into it by Pillow (one frame, shown for
    both durations), which looks the same.

    Raises ``ValueError`` for a bad duration, no pictures or a name not ending in ``.gif``,
    ``OSError`` saying what to do when the folder cannot be written, and ``ImportError`` with
    the ``pip install`` command when Pillow is missing. The file is written atomically.
    """
    seconds = _gif_seconds(seconds_per_frame, "seconds_per_frame")
    last = seconds if last_frame_seconds is None else last_frame_seconds
    last = _gif_seconds(last, "last_frame_seconds")
    target = _check_target(path, (".gif",), "save_gif writes a GIF")
    size = _canvas_size(pngs, even=False)
    _require_pillow("an animated GIF")  # before any work

    palette = _shared_palette(pngs, size)
    first, *rest = (_indexed(picture, palette) for picture in _pictures(pngs, size))
    durations = [round(seconds * 100) * 10] * len(pngs)  # whole centiseconds, in milliseconds
    durations[-1] = round(last * 100) * 10
    buffer = io.BytesIO()
    first.save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=rest,
        duration=durations,
        loop=0,  # forever
        optimize=False,  # keep the shared palette as built
    )
    write_atomically(target, buffer.getvalue())
    return target


def _shared_palette(pngs: Sequence[bytes], size: tuple[int, int]) -> list[tuple[int, int, int]]:
    """One palette for all of ``pngs`` (on a canvas of ``size``): every colour if there are at
    most 256, else the ``GIF_EXACT_COLOURS`` most used ones exactly plus median-cut shades,
    chosen from up to ``GIF_PALETTE_SAMPLE`` of the pictures, for the rest."""
    from PIL import Image

    step = max(1, math.ceil(len(pngs) / GIF_PALETTE_SAMPLE))
    sample: list[Image.Image] = []
    counts: Counter[tuple[int, int, int]] = Counter()
    for index, picture in enumerate(_pictures(pngs, size)):
        for count, colour in picture.getcolors(picture.width * picture.height) or []:
            assert isinstance(colour, tuple)  # an RGB picture's colours are (r, g, b)
            counts[(colour[0], colour[1], colour[2])] += count
        if index % step == 0:
            sample.append(picture)
    if len(counts) <= GIF_COLOURS:
        return [colour for colour, _ in counts.most_common()]
    colours = [colour for colour, _ in counts.most_common(GIF_EXACT_COLOURS)]
    montage = Image.new("RGB", (size[0], size[1] * len(sample)), "white")
    for index, picture in enumerate(sample):
        montage.paste(picture, (0, index * size[1]))
    shades = montage.quantize(
        colors=GIF_COLOURS - len(colours), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    ).getpalette()
    assert shades is not None  # a "P" image always has one
    exact = set(colours)
    for i in range(0, len(shades), 3):
        shade = (shades[i], shades[i + 1], shades[i + 2])
        if shade not in exact and len(colours) < GIF_COLOURS:
            exact.add(shade)
            colours.append(shade)
    return colours


def _indexed(picture: Image.Image, palette: list[tuple[int, int, int]]) -> Image.Image:
    """``picture`` in ``palette``'s colours: each pixel the nearest one, no dithering.

    Done here rather than by ``Image.quantize(palette=...)``, which looks colours up at 6 bits
    per channel and so turns white into a near-white grey when the palette has one.
    """
    import numpy as np
    from PIL import Image

    rgb = np.asarray(picture, dtype=np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    unique, inverse = np.unique(packed, return_inverse=True)
    colours = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    entries = np.array(palette, dtype=np.int32)
    distances = ((colours[:, None, :] - entries[None, :, :]) ** 2).sum(axis=2)
    nearest = distances.argmin(axis=1).astype(np.uint8)  # an exact colour is at distance 0
    indexed = Image.frombytes("P", picture.size, nearest[inverse].tobytes())
    flat = [channel for colour in palette for channel in colour]
    indexed.putpalette(flat + flat[:3] * (GIF_COLOURS - len(palette)))  # pad with a repeat
    return indexed


def _gif_seconds(value: float, name: str) -> float:
    seconds = _check_seconds(value, name)
    if not GIF_MIN_SECONDS <= seconds <= GIF_MAX_SECONDS:
        raise ValueError(
            f"{name}={value!r} does not fit a GIF: its frames last {GIF_MIN_SECONDS:g} s (shorter "
            f"ones play at 0.1 s in most browsers) to {GIF_MAX_SECONDS:g} s"
        )
    return seconds


# -- MP4 -------------------------------------------------------------------------------------------


def save_video(
    pngs: Sequence[bytes],
    path: str | Path,
    seconds_per_frame: float = 1.0,
    fps: int = 30,
) -> Path:
    """Write ``pngs`` as an H.264 MP4 video, each picture held for ``seconds_per_frame``;
    returns the path.

    Made to play everywhere slides are shown (PowerPoint, Keynote, browsers): H.264 at
    constant quality (x264 ``crf`` 18, tuned for still images), ``yuv420p`` colour, an even
    width and height (pictures are centred on white at the size of the largest, then padded by
    a pixel if need be), and the index at the start of the file (``+faststart``). Each picture
    is repeated for ``round(seconds_per_frame * fps)`` video frames, so the length is that many
    frames per picture at ``fps``; the last picture is held as long as the others.

    Raises ``ValueError`` for a bad duration or ``fps``, no pictures or a name not ending in
    ``.mp4``, ``OSError`` saying what to do when the folder cannot be written, and
    ``ImportError`` with the ``pip install`` command when imageio or imageio-ffmpeg is missing.
    The file is written atomically.
    """
    seconds = _check_seconds(seconds_per_frame, "seconds_per_frame")
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= MAX_FPS:
        raise ValueError(
            f"fps must be a whole number from 1 to {MAX_FPS} (30 plays everywhere), got {fps!r}"
        )
    repeats = round(seconds * fps)
    if repeats < 1:
        raise ValueError(
            f"seconds_per_frame={seconds!r} is shorter than one video frame at fps={fps} "
            f"({1 / fps:.3g} s): hold each picture longer, or raise fps"
        )
    target = _check_target(path, (".mp4",), "save_video writes an MP4")
    size = _canvas_size(pngs, even=True)
    imageio, ffmpeg_exe = _import_imageio()
    _require_pillow("an MP4 video")
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="backprop-lab-video-") as folder:
        encoded = Path(folder) / "video.mp4"
        try:
            writer = imageio.get_writer(
                encoded,
                format="FFMPEG",
                mode="I",
                fps=fps,
                codec="libx264",
                pixelformat="yuv420p",
                quality=None,  # the crf below instead
                macro_block_size=1,  # already even: no resizing
                output_params=[
                    "-crf",
                    str(VIDEO_CRF),
                    "-tune",
                    "stillimage",
                    "-movflags",
                    "+faststart",
                ],
                ffmpeg_log_level="error",
            )
            with writer:
                for picture in _pictures(pngs, size):  # one at a time: frames can be large
                    pixels = np.asarray(picture)
                    for _ in range(repeats):
                        writer.append_data(pixels)
        except (OSError, RuntimeError) as error:
            raise RuntimeError(
                f"ffmpeg ({ffmpeg_exe}) could not encode the video: {error}. Save a GIF "
                "instead (save_gif), or reinstall imageio-ffmpeg."
            ) from error
        data = encoded.read_bytes()
    write_atomically(target, data)
    return target


# -- shared checks and helpers ---------------------------------------------------------------------


def _check_width(width: int) -> None:
    if isinstance(width, bool) or not isinstance(width, int) or width < 16:
        raise ValueError(f"width is in pixels, a whole number such as 1920; got {width!r}")


def _check_seconds(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} is a number of seconds, such as 1.0; got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, such as 1.0; got {value!r}")
    return float(value)


def _canvas_size(pngs: Sequence[bytes], *, even: bool) -> tuple[int, int]:
    """The size every picture is shown at: the largest width and height among ``pngs``
    (rounded up to even numbers if ``even``: yuv420p video stores colour per 2 x 2 pixels).
    Checks that ``pngs`` is a non-empty list of PNGs, reading only their headers."""
    if isinstance(pngs, (bytes, bytearray)):
        raise TypeError("pass a list of PNGs (one bytes object per frame), not one PNG")
    if len(pngs) == 0:
        raise ValueError("no frames to save: pass at least one PNG (see frames_to_pngs)")
    for index, png in enumerate(pngs):
        if not isinstance(png, (bytes, bytearray)):
            raise TypeError(
                f"frame {index} is a {type(png).__name__}, not PNG bytes: turn a step-through "
                "into PNGs with viz.movie.frames_to_pngs(stepper) first"
            )
    try:
        sizes = [png_size(bytes(png)) for png in pngs]
    except ValueError:
        index = next(i for i, png in enumerate(pngs) if not bytes(png).startswith(b"\x89PNG"))
        raise ValueError(f"frame {index} is not a PNG image") from None
    width = max(w for w, _ in sizes)
    height = max(h for _, h in sizes)
    if even:
        width += width % 2
        height += height % 2
    return width, height


def _check_target(path: str | Path, suffixes: tuple[str, ...], what: str) -> Path:
    """``path`` as a Path, refused before any work when it cannot be written.

    A missing folder is fine (it is created, as :meth:`~viz.diagram.Diagram.save` does); a
    folder that is a file, or one this process may not write to, is an ``OSError`` now rather
    than after rendering and encoding every frame.
    """
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise ValueError(f"{what}: name the file with {' or '.join(suffixes)}, not {str(target)!r}")
    if target.is_dir():
        raise IsADirectoryError(
            f"{str(target)!r} is a folder: give a file name, such as "
            f"{str(target / ('steps' + suffixes[0]))!r}"
        )
    existing = target.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise NotADirectoryError(
            f"cannot save {str(target)!r}: {str(existing)!r} is a file, not a folder. Choose "
            "another folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot save {str(target)!r}: the folder {str(existing)!r} is read-only for you. "
            "Choose a folder you can write to (your home folder, or the notebook's)"
        )
    return target


def _require_pillow(what: str) -> None:
    """Raise an ``ImportError`` with the ``pip install`` command if Pillow is missing."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"{what} is made with Pillow, which is not installed: {VIDEO_INSTALL}"
        ) from error


def _import_imageio() -> tuple[Any, str]:
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg
    except ImportError as error:
        raise ImportError(
            f"an MP4 video is made with imageio and imageio-ffmpeg (which brings ffmpeg), "
            f"not installed here: {VIDEO_INSTALL}"
        ) from error
    try:
        exe = str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as error:
        raise ImportError(
            f"imageio-ffmpeg found no ffmpeg program ({error}): reinstall it, {VIDEO_INSTALL}"
        ) from error
    return imageio, exe


def _pictures(pngs: Sequence[bytes], size: tuple[int, int]) -> Iterator[Image.Image]:
    """The PNGs, one at a time, as RGB pictures of ``size``: transparency flattened onto white,
    smaller ones centred on white."""
    from PIL import Image

    width, height = size
    for index, png in enumerate(pngs):
        try:
            with warnings.catch_warnings():  # our own PNGs: up to 100 megapixels is intended
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                picture: Image.Image = Image.open(io.BytesIO(bytes(png)))
                picture.load()
        except (OSError, Image.DecompressionBombError) as error:
            raise ValueError(f"frame {index} could not be read as a PNG: {error}") from error
        if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
            rgba = picture.convert("RGBA")
            picture = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
        picture = picture.convert("RGB")
        if picture.size != size:
            canvas = Image.new("RGB", size, "white")
            canvas.paste(picture, ((width - picture.width) // 2, (height - picture.height) // 2))
            picture = canvas
        yield picture

"""Command line: draw an expression's graph, or render the lecture diagrams.

    python -m viz "(x + y) * z" --set x=-2 --set y=5 --set z=-4 -o fig.svg
    python -m viz demo --out figures

The first argument picks the form: ``demo`` is the sub-command, anything else is an expression.
(argparse sub-commands cannot sit beside a free positional expression, so :func:`main` looks at
the first argument itself and hands the rest to the parser of that form.)

Every error is one line on stderr, ``error: ...``, with exit code 2; an error at one place in
the expression adds two lines, the expression and a caret ``^`` under the offending token.
Files are written only after everything they need has been checked and rendered in memory, each
one atomically, and a failure part-way removes the files this run had already written: a failed
run leaves nothing behind.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from autograd import NonFiniteError
from viz import __version__
from viz.demo import render_demo
from viz.diagram import draw
from viz.expression import FUNCTION_LIST, ExpressionError, build, parse_assignment
from viz.render import RenderError, choose_renderer, format_for, write_atomically
from viz.stepper import step
from viz.style import format_number

PROG = "python -m viz"

USAGE = f"""
  {PROG} EXPRESSION --set NAME=NUMBER ... (-o FILE | --frames DIR | --html FILE) [options]
  {PROG} demo [--out DIR] [--format FORMAT ...] [--chain] [--precision N]"""

DESCRIPTION = """\
Draw the computational graph of EXPRESSION in the lecture style: forward values in green above
each edge, gradients in red below. Or, with `demo` as the first argument, render every lecture
figure into a folder (see `python -m viz demo --help`)."""

_EXPRESSIONS = textwrap.fill(
    "names are inputs (the same name twice is one input used twice: x * x shows the copy "
    "gate); numbers are constants; operators + - * / ** and unary -; functions "
    f"{FUNCTION_LIST}. Nothing else: the text is never run as Python.",
    width=96,
    initial_indent="  ",
    subsequent_indent="  ",
    break_on_hyphens=False,
)

EPILOG = f"""\
expressions:
{_EXPRESSIONS}
  Quote the expression. If it starts with - and argparse mistakes it for an option, put `--`
  before it, after the options: python -m viz --set x=2 -o fig.svg -- -x

output (at least one; formats by suffix):
  -o fig.svg / fig.png / fig.pdf / fig.tex / fig.dot (no system Graphviz needed); -o repeats.
  --frames DIR writes frame_001.svg, frame_002.svg, ...: forward node by node, then backward
  gate by gate. --html FILE writes the same steps as one self-contained page with a player.
  Every output is checked and rendered before the first file is written, so a failed run
  leaves no file behind. The paths written are printed, one per line, then a summary line.

examples:
  python -m viz "(x + y) * z" --set x=-2 --set y=5 --set z=-4 -o fig.svg
  python -m viz "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))" --set w0=2 --set x0=-1 \\
      --set w1=-3 --set x1=-2 --set w2=-3 -o neuron.png --chain --html neuron.html
  python -m viz "x * x" --set x=3 --frames steps/

errors are one line on stderr (error: ...), exit code 2; when the error is at one place in the
expression, two more lines show the expression with a caret ^ under that place."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, like every other error here."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


#: What an unknown option looks like (``--bogus``, ``--bogus=1``), as against ``-x*y``.
_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?")


class _UsageError(Exception):
    """A problem with the arguments found after parsing them (reported like any error)."""


def _expression_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", metavar="EXPRESSION", nargs="?", help='e.g. "(x + y) * z"')
    parser.add_argument("--version", action="version", version=f"backprop-lab {__version__}")
    parser.add_argument(
        "--set",
        dest="assignments",
        metavar="NAME=NUMBER",
        action="append",
        default=[],
        help="the value of an input, once per name (e.g. --set x=-2)",
    )
    outputs = parser.add_argument_group("output")
    outputs.add_argument(
        "-o",
        "--output",
        dest="outputs",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="write the diagram: .svg, .png, .pdf, .tex (TikZ) or .dot; repeatable",
    )
    outputs.add_argument(
        "--frames", metavar="DIR", type=Path, help="write the steps as numbered SVG frames"
    )
    outputs.add_argument(
        "--html", metavar="FILE", type=Path, help="write the steps as one self-contained page"
    )
    look = parser.add_argument_group("drawing")
    look.add_argument(
        "--no-grad", action="store_true", help="forward pass only: values, no gradients"
    )
    look.add_argument(
        "--rankdir",
        type=str.upper,
        choices=["LR", "TB"],
        default="LR",
        help="LR: left to right, as in the lectures (default); TB: top to bottom",
    )
    look.add_argument(
        "--precision", metavar="N", type=_precision, default=2, help="digits after the point (0-12)"
    )
    look.add_argument(
        "--chain", action="store_true", help="write gradients as upstream x local = downstream"
    )
    return parser


def _parse_expression_args(args: list[str]) -> argparse.Namespace:
    """Parse the expression form. An expression that starts with ``-`` and has no blank
    (``-x*y``) looks like an option to argparse; taken as the expression when none was given."""
    parser = _expression_parser()
    options, unknown = parser.parse_known_args(args)
    if options.expression is None and len(unknown) == 1 and not _LONG_OPTION.match(unknown[0]):
        options.expression = unknown.pop()
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}{_meant(parser, unknown)}")
    if options.expression is None:
        parser.error("the following arguments are required: EXPRESSION")
    return options


#: Options a user may type for --set, from other tools or from the issue tracker's examples.
_SET_ALIASES = {"--at", "--let", "--var", "--value", "--values", "--with", "--where", "-s"}


def _meant(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """``; did you mean --set x=1?`` for the first unrecognised argument, if a guess is good:
    an option that is close to one we have, or a bare ``x=1`` missing its ``--set``."""
    first = unknown[0]
    option, _, rest = first.partition("=")
    known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    if first.startswith("="):  # --set x = 2: the shell splits at the blanks
        value = first[1:] or (unknown[1] if len(unknown) > 1 else "2")
        return f"; write --set with no blanks around the =, as in --set x={value}"
    if option in _SET_ALIASES:
        value = rest or (unknown[1] if len(unknown) > 1 else "NAME=NUMBER")
        return f"; did you mean {' '.join(f'--set {part}' for part in value.split(','))}?"
    if first.startswith("-"):
        close = difflib.get_close_matches(option, known, n=1)
        return f"; did you mean {close[0]}?" if close else ""
    if "=" in first:
        return f"; did you mean --set {first}? (each value needs its own --set)"
    return ""


def _precision(text: str) -> int:
    """--precision N: a whole number of digits after the point, 0 to 12."""
    try:
        digits = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"wants a whole number of digits from 0 to 12, got {text!r}"
        ) from None
    return digits


def _check_precision(digits: int) -> None:
    if not 0 <= digits <= 12:
        raise _UsageError(f"precision must be 0 to 12 digits (--precision N), got {digits}")


def _demo_parser() -> _Parser:
    parser = _Parser(prog=f"{PROG} demo", description="Render every lecture diagram into a folder.")
    parser.add_argument(
        "--out", metavar="DIR", type=Path, default=Path("figures"), help="folder (default: figures)"
    )
    parser.add_argument(
        "--format",
        nargs="+",
        choices=["svg", "png", "pdf", "dot"],
        default=["svg"],
        help="file formats (default svg)",
    )
    parser.add_argument("--chain", action="store_true", help="write upstream x local = downstream")
    parser.add_argument(
        "--precision", metavar="N", type=_precision, default=2, help="digits after the point (0-12)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (argparse exits itself on usage errors)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args[:1] == ["demo"]:
            return _demo(_demo_parser().parse_args(args[1:]))
        return _draw(_parse_expression_args(args))
    except ExpressionError as error:  # with a column: the text, and a caret under the place
        return _fail(str(error), pointer=error.pointer())
    except (RenderError, _UsageError, ValueError, OSError) as error:
        # autograd.NonFiniteError is a ValueError; OSError: the disk.
        return _fail(_in_our_words(error))
    except ArithmeticError:  # not reached: the engine checks its ops; never Python's words
        return _fail("this expression could not be computed at these values")
    except (RecursionError, MemoryError):
        return _fail("this expression is too large to draw")  # a last line of defence
    except KeyboardInterrupt:
        return _fail("interrupted", code=130)


def _fail(message: str, code: int = 2, pointer: Sequence[str] = ()) -> int:
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"error: {one_line}", file=sys.stderr)
    for line in pointer:
        print(line, file=sys.stderr)
    return code


#: Python's own words for a failed math function, which a user should never see.
_PYTHON_WORDING = re.compile(r"math (domain|range) error|invalid syntax|unsupported operand")


def _in_our_words(error: Exception) -> str:
    """The message of an error from below, unless it is Python's own wording."""
    message = str(error)
    if _PYTHON_WORDING.search(message):
        return "this expression could not be computed at these values"
    return message


def _demo(args: argparse.Namespace) -> int:
    _check_precision(args.precision)
    paths = render_demo(args.out, args.format, chain=args.chain, precision=args.precision)
    for path in paths:
        _say(str(path))
    _say(f"{len(paths)} diagrams written to {args.out.resolve()}")
    return 0


# -- drawing an expression ------------------------------------------------------------------


def _check_text(text: str, what: str) -> None:
    """Refuse ``text`` unless it is valid UTF-8 text, saying where it is not.

    Python decodes command-line bytes that are not UTF-8 into lone surrogates (byte 0xFF becomes
    U+DCFF); those cannot be parsed, drawn or written, and would surface as a codec error.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = ord(text[error.start])
        bad = f"byte 0x{char - 0xDC00:02X}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise _UsageError(
            f"{what} is not valid UTF-8 text ({bad} at character {error.start + 1}); type it "
            "again in a UTF-8 terminal, or use plain ASCII (names like x, w0, x_1)"
        ) from None


def _shown(text: str) -> str:
    """``text`` printable: bytes that are not UTF-8 written as ``\\xff``."""
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "backslashreplace")
    return data.decode("utf-8", "backslashreplace")


def _say(line: str) -> None:
    """Print ``line`` on stdout even where it cannot be encoded (a file name that is not UTF-8
    is written back as the bytes it was given): a run that has written its files must not
    fail on reporting them."""
    try:
        print(line)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "utf-8"
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # a text-only stream
            print(line.encode(encoding, "backslashreplace").decode(encoding))
            return
        try:
            data = line.encode(encoding, "surrogateescape")
        except UnicodeEncodeError:
            data = line.encode(encoding, "backslashreplace")
        sys.stdout.flush()
        buffer.write(data + b"\n")
        buffer.flush()


def _values(assignments: Sequence[str]) -> dict[str, float]:
    """The ``--set NAME=NUMBER`` options as a dict; a name set twice is an error."""
    values: dict[str, float] = {}
    for text in assignments:
        _check_text(text, f"--set {_shown(text)}")
        name, value = parse_assignment(text)
        if name in values:
            raise _UsageError(f"--set {name} is given twice")
        values[name] = value
    return values


def _check_target(path: Path, *, folder: bool = False) -> None:
    """Fail now, before anything is written, if ``path`` obviously cannot be written."""
    if folder:
        if path.exists() and not path.is_dir():
            raise _UsageError(f"--frames {path}: exists and is not a folder")
    elif path.is_dir():
        raise _UsageError(f"{path} is a folder; give a file name")
    ancestor = (path if folder else path.parent).absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _UsageError(f"cannot write {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _UsageError(f"cannot write {path}: no permission to write in {ancestor}")


def _plan(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """Check every requested output (its format, a renderer for it, its path) before any file
    is written; return the ``-o`` files with their formats, duplicates dropped."""
    if not (args.outputs or args.frames or args.html):
        raise _UsageError(
            "nothing to write: add -o FILE (.svg, .png, .pdf, .tex or .dot), --frames DIR or "
            f"--html FILE (see {PROG} --help)"
        )
    if args.expression == "demo":
        raise _UsageError(f"demo is a sub-command and must come first: {PROG} demo --out DIR")
    _check_precision(args.precision)
    planned: dict[Path, str] = {}
    for path in args.outputs:
        fmt = format_for(path)
        if fmt != "dot":
            choose_renderer(fmt)  # raises RenderError saying what to install
        _check_target(path)
        planned[path] = fmt
    if args.frames or args.html:
        choose_renderer("svg")
    if args.frames:
        _check_target(args.frames, folder=True)
    if args.html:
        if args.html in planned:
            raise _UsageError(f"{args.html} is given both as -o and as --html")
        _check_target(args.html)
    return list(planned.items())


@dataclass
class _Written:
    """The files (and folders) this run has made, to remove again if a later step fails."""

    paths: list[Path] = field(default_factory=list)
    new_files: list[Path] = field(default_factory=list)
    new_folders: list[Path] = field(default_factory=list)
    frames: Path | None = None
    frames_before: set[Path] = field(default_factory=set)

    def expect(self, path: Path, *, folder: bool = False) -> None:
        """Note what is new before writing ``path``: it, and any folders above it.

        For the frames folder, note what it holds now: new ``frame_*`` files are ours.
        """
        if folder:
            self.frames = path
            self.frames_before = set(path.iterdir()) if path.is_dir() else set()
        elif not path.exists():
            self.new_files.append(path)
        missing = []
        above = path if folder else path.parent
        while not above.exists():
            missing.append(above)
            above = above.parent
        self.new_folders.extend(reversed(missing))

    def undo(self) -> None:
        """Remove the new files, then the new folders if empty. Files that existed before were
        replaced atomically and cannot be restored, so they are left as they are."""
        for path in self.new_files:
            path.unlink(missing_ok=True)
        if self.frames is not None and self.frames.is_dir():
            for path in self.frames.iterdir():
                if path not in self.frames_before and path.name.startswith("frame_"):
                    path.unlink(missing_ok=True)
        for folder in reversed(self.new_folders):
            with contextlib.suppress(OSError):  # not empty (someone else's file), or gone
                folder.rmdir()


@contextmanager
def _all_or_nothing() -> Iterator[_Written]:
    """Yield a :class:`_Written` to record into; undo it if the block fails in any way."""
    written = _Written()
    try:
        yield written
    except BaseException:
        written.undo()
        raise


def _draw(args: argparse.Namespace) -> int:
    _check_text(args.expression, "the expression")
    values = _values(args.assignments)
    planned = _plan(args)
    grads = not args.no_grad
    look = {"rankdir": args.rankdir, "precision": args.precision, "chain": args.chain}

    root = build(args.expression, values)  # ExpressionError, DomainError at these values
    if grads:
        try:
            root.backward()
        except NonFiniteError:
            raise _UsageError(
                f"the gradients of {args.expression.strip()} overflow at these values: a "
                "gradient is too large for a float (the largest is about 1.8e308); use smaller "
                "values, or draw with --no-grad"
            ) from None
    diagram = draw(root, grads=grads, **look)
    stepper = None
    if args.frames or args.html:
        # A graph of its own: the stepper runs backward itself, from a clean state.
        stepper = step(build(args.expression, values), grads=grads, **look)

    # Render everything in memory first, so that a Graphviz failure comes before any write:
    # the -o files as bytes, and every frame's SVG (frames cache it; the saves below reuse it).
    rendered = [(path, diagram.file_bytes(fmt)) for path, fmt in planned]
    for frame in stepper or ():
        frame.svg()

    with _all_or_nothing() as written:
        for path, data in rendered:
            written.expect(path)
            write_atomically(path, data)
            written.paths.append(path)
        if stepper is not None and args.html:
            written.expect(args.html)
            written.paths.append(stepper.save_html(args.html))
        if stepper is not None and args.frames:
            written.expect(args.frames, folder=True)
            written.paths.extend(stepper.save_frames(args.frames, ["svg"]))

    for path in written.paths:
        _say(str(path))
    count = len(written.paths)
    _say(
        f"{count} file{'s' if count != 1 else ''} written: {args.expression.strip()} = "
        f"{format_number(root.data, args.precision)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

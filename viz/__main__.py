"""Command line: ``python -m viz demo --out DIR`` renders the lecture diagrams."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from viz.demo import render_demo
from viz.render import RenderError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m viz", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="render the lecture diagrams into a folder")
    demo.add_argument("--out", type=Path, default=Path("figures"), help="folder (default: figures)")
    demo.add_argument(
        "--format",
        nargs="+",
        choices=["svg", "png", "pdf", "dot"],
        default=["svg"],
        help="file formats (png and pdf need the system Graphviz)",
    )
    demo.add_argument("--chain", action="store_true", help="write upstream x local = downstream")
    demo.add_argument("--precision", type=int, default=2, help="digits after the point")
    args = parser.parse_args(argv)

    try:
        paths = render_demo(args.out, args.format, chain=args.chain, precision=args.precision)
    except (RenderError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    print(f"{len(paths)} diagrams written to {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""mkdocs hooks: the notebooks in ``notebooks/`` become the Tutorials pages.

The notebooks stay where the test suite runs them; at build time each one is added to the
site as ``tutorials/<name>.ipynb`` (read from its place, never copied into ``docs/``) and
listed in the navigation under Tutorials, titled by its first heading. mkdocs-jupyter then
executes and renders it, so a new notebook appears on the site without editing mkdocs.yml.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SECTION = "Tutorials"


def notebooks() -> list[Path]:
    """The tutorial notebooks, in teaching order (their names start with a number)."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def title(notebook: Path) -> str:
    """The notebook's first Markdown heading, with its number: "01 Computational graphs"."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    number = notebook.name.split("_", 1)[0]
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        for line in "".join(cell["source"]).splitlines():
            if line.startswith("#"):
                return f"{number}. {line.lstrip('#').strip()}"
    return notebook.stem


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Append one navigation entry per notebook to the Tutorials section."""
    for entry in config.nav or []:
        if isinstance(entry, dict) and SECTION in entry:
            entry[SECTION].extend({title(nb): f"tutorials/{nb.name}"} for nb in notebooks())
            return config
    raise ValueError(f"mkdocs.yml's nav has no {SECTION!r} section for the notebooks")


# Before mkdocs-jupyter's own on_files (default priority 0), so it sees these files as
# notebooks to execute and render.
@event_priority(50)
def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    """Add each notebook as the page tutorials/<name>.ipynb, read from notebooks/."""
    for nb in notebooks():
        files.append(File.generated(config, f"tutorials/{nb.name}", abs_src_path=str(nb)))
    return files


def on_nav(nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
    """Give mkdocs-jupyter's page wrappers the notebooks' paths.

    Its wrapper asks the path of its own (docs_dir-based) source, which a generated file has
    not got; set it, so the page reads and executes notebooks/<name>.
    """
    for nb in notebooks():
        page = files.get_file_from_path(f"tutorials/{nb.name}")
        if page is not None:
            page.abs_src_path = str(nb)
    return nav


INCLUDE = re.compile(r'^<!-- include (?P<file>\S+) "(?P<heading>#+ [^"]+)" -->$', re.MULTILINE)


def section(path: Path, heading: str) -> str:
    """The part of a Markdown file from ``heading`` up to the next heading of its level."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if heading not in lines:
        raise ValueError(f"{path.name} has no heading {heading!r} for the docs to include")
    start = lines.index(heading) + 1
    level = heading.split(" ", 1)[0] + " "
    end = next(
        (i for i in range(start, len(lines)) if lines[i].startswith(level)),
        len(lines),
    )
    return "\n".join(lines[start:end]).strip() + "\n"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace ``<!-- include FILE "## Heading" -->`` by that section of FILE (top of the repo).

    One copy: "Adding an op" is written once, in CONTRIBUTING.md, and shown on the site too.
    """
    return INCLUDE.sub(lambda m: section(NOTEBOOKS.parent / m["file"], m["heading"]), markdown)

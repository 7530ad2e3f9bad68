"""Writing files so that they appear whole or not at all (figures, saved parameters)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it either appears whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces ``path`` in one
    step; on any error the temporary file is removed and ``path`` is untouched. Missing parent
    folders are created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; these files are for sharing
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise

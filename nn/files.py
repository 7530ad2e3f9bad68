"""Writing files so that they appear whole or not at all (figures, saved parameters, frames).

A save that fails, or is killed, must leave either the old file or the new one, never half of
one: the bytes go to a temporary file beside the target, which then replaces it in one step
(:func:`write_atomically`). A set of files (a step-through's frames) is written the same way
as a folder (:func:`write_set`). Temporary files carry the process id of the save that made
them, so a later save into the same folder removes those a killed save left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (its temporary files may still be in use)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _remove_leftovers(folder: Path, prefix: str) -> list[Path]:
    """Remove what killed saves left in ``folder``: entries named ``{prefix}{pid}-...`` whose
    process has ended. Returns them (folders a killed frame save was moving aside, newest
    first, so the caller can put the last whole one back)."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        match = pattern.match(entry.name)
        if match and not _alive(int(match.group(1))):
            removed.append(entry)
    removed.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
    return removed


def _delete(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _writable_folder(path: Path, what: str = "save") -> None:
    """Create ``path``'s folder if missing; a clear error, naming ``path``, if it cannot be.

    ``what`` says what was being done with ``path`` (``"save"``, ``"save frames into"``).
    """
    above = path.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise NotADirectoryError(
            f"cannot {what} {str(path)!r}: {str(above)!r} is a file, not a folder. "
            "Choose another folder"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(
            error.errno,
            f"cannot {what} {str(path)!r}: its folder cannot be made ({error.strerror}). "
            "Choose another folder",
        ) from error
    if not path.parent.is_dir():
        raise NotADirectoryError(f"cannot {what} {str(path)!r}: {str(path.parent)!r} is a file")


def _cannot_write(path: Path, error: OSError) -> OSError:
    return OSError(
        error.errno,
        f"cannot save {str(path)!r}: {error.strerror or error}. "
        "Check that the folder is writable and has room, or choose another",
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it either appears whole or not at all.

    The bytes go to a temporary file in the same folder, which then replaces ``path`` in one
    step; on any error the temporary file is removed and ``path`` is untouched. Missing parent
    folders are created. Temporary files of earlier saves of ``path`` that were killed are
    removed first.
    """
    _writable_folder(path)
    prefix = f".{path.name}.tmp-"
    for leftover in _remove_leftovers(path.parent, prefix):
        _delete(leftover)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f"{prefix}{os.getpid()}-")
    except OSError as error:
        raise _cannot_write(path, error) from error
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; these files are for sharing
        os.replace(tmp_name, path)
    except OSError as error:
        Path(tmp_name).unlink(missing_ok=True)
        raise _cannot_write(path, error) from error
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def write_set(
    folder: Path, files: Iterable[tuple[str, bytes]], owned: re.Pattern[str]
) -> list[Path]:
    """Write ``files`` (name, bytes) as the whole content of ``folder``, all or nothing.

    The files go into a new folder beside ``folder``; then the old folder is moved aside, the
    new one takes its name, and the old one is deleted. So ``folder`` holds one whole set, the
    previous one or the new one, and never a file of an earlier, longer set. (Between the two
    renames ``folder`` is briefly absent; a save killed right there leaves the previous set
    beside it, and the next save puts it back before it starts.)

    ``folder`` must be new, empty, or hold only files named as ``owned`` matches (an earlier
    set): anything else is refused, never deleted.
    """
    _writable_folder(folder, "save frames into")
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cannot save frames into {str(folder)!r}: it is a file")
    saving, moved = f".{folder.name}.saving-", f".{folder.name}.old-"
    for leftover in _remove_leftovers(folder.parent, saving):
        _delete(leftover)
    old_sets = _remove_leftovers(folder.parent, moved)
    if old_sets and not folder.exists():  # killed between the renames: put the last set back
        os.rename(old_sets.pop(0), folder)
    for leftover in old_sets:
        _delete(leftover)
    if folder.exists():
        foreign = sorted(p.name for p in folder.iterdir() if not owned.fullmatch(p.name))
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise FileExistsError(
                f"{str(folder)!r} holds files that are not frames ({shown}); a save replaces "
                "the whole folder, so save frames into a new or empty folder"
            )
    try:
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{saving}{os.getpid()}-"))
    except OSError as error:
        raise _cannot_write(folder, error) from error
    names = []
    try:
        for name, data in files:
            (staging / name).write_bytes(data)
            names.append(name)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; frames are for sharing
        if folder.exists():
            aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{moved}{os.getpid()}-"))
            aside.rmdir()
            os.rename(folder, aside)
            os.rename(staging, folder)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(staging, folder)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise _cannot_write(folder, error) from error
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [folder / name for name in names]

"""Writes a plan all at once: every new content goes to a temporary file beside its target first, and only when all
of them are written are they renamed into place, so a failure (disk full, permissions) leaves the repository as it
was."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ocw.errors import OcwError
from ocw.install.plan import FileChange

TEMP_SUFFIX = ".ocw-install"


def write(repo: Path, changes: Sequence[FileChange]) -> None:
    umask = _umask()
    made: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        for change in changes:
            target = repo / change.path
            _make_parents(target.parent, made)
            descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
            staged.append((Path(name), target))
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(change.after)
            Path(name).chmod(_mode(target, change.executable, umask))
    except BaseException as exc:
        for staged_file, _ in staged:
            staged_file.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise OcwError(
                f"cannot write {exc.filename or repo}: {exc.strerror}. Nothing was written",
                hint="check the repository's permissions and free space, then run ocw install again",
            ) from exc
        raise
    for staged_file, target in staged:
        staged_file.replace(target)


def _make_parents(folder: Path, made: list[Path]) -> None:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _mode(target: Path, executable: bool, umask: int) -> int:
    if target.exists():
        return target.stat().st_mode & 0o7777  # an updated file keeps the mode the user gave it
    return (0o777 if executable else 0o666) & ~umask


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current

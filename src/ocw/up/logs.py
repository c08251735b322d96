"""The logs of a local run: one file per container, the previous run's kept beside it."""

from __future__ import annotations

from pathlib import Path
from typing import IO

LOG_TAIL_LINES = 15


def rotate(log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".previous"))


def tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def open_log(path: Path) -> IO[bytes]:
    """A fresh log for this run; the last run's becomes `<name>.previous`."""
    rotate(path)
    return path.open("wb")

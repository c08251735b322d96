"""Watch every process's command line and environment, continuously, for secrets while something runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")


@dataclass(frozen=True)
class Sighting:
    """A process seen holding a secret: where (cmdline or environ) and what program it was, never the secret."""

    pid: int
    where: str
    program: str


@dataclass
class ProcessWatch:
    """A background thread that reads /proc/<pid>/cmdline and /proc/<pid>/environ of every process, over and over,
    until stopped. `commands` keeps the first two words of every command line seen, so a test can show that the
    processes it cares about were in fact sampled (a watch that saw nothing proves nothing)."""

    needles: Sequence[bytes]
    interval: float = 0.001
    sightings: list[Sighting] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    passes: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessWatch:
        self._thread = threading.Thread(target=self._watch, name="process-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def saw_command(self, fragment: str) -> bool:
        return any(fragment in command for command in self.commands)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self.passes += 1
            time.sleep(self.interval)

    def _sample(self) -> None:
        for entry in PROC.iterdir():
            if not entry.name.isdigit():
                continue
            cmdline = _read(entry / "cmdline")
            if cmdline:
                words = [word.decode(errors="replace") for word in cmdline.split(b"\0") if word]
                if words:
                    self.commands.add(" ".join([Path(words[0]).name, *words[1:2]]))
            for where, content in (("cmdline", cmdline), ("environ", _read(entry / "environ"))):
                if content and any(needle in content for needle in self.needles):
                    program = cmdline.split(b"\0")[0].decode(errors="replace") if cmdline else "?"
                    self.sightings.append(Sighting(int(entry.name), where, program))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended, or its environment is not ours to read
        return b""

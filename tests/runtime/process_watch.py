"""Watch the command line and environment of every program started while something runs, for secrets.

tests/runtime/exec_tracer.py follows this test process and the processes given (a container's, say), with every
process they start from then on, and reads each program at its exec, before it runs: even a program that runs for a
microsecond is seen, which reading /proc now and then cannot promise. The processes already running are read from
/proc once when the watch starts and once when it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
TRACER = Path(__file__).with_name("exec_tracer.py")


@dataclass(frozen=True)
class Sighting:
    """A process seen holding a secret: where (cmdline or environ) and what program it was, never the secret."""

    pid: int
    where: str
    program: str


@dataclass
class ProcessWatch:
    """Records every program started by this process, or by the processes in `also`, from entering to leaving, and
    reads every process running at either end. `commands` keeps the first two words of every command line seen and
    `started` counts the program starts recorded, so a test can show that the processes it cares about were in fact
    seen (a watch that saw nothing proves nothing)."""

    needles: Sequence[bytes]
    also: Sequence[int] = ()
    sightings: list[Sighting] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    started: int = 0
    _tracer: subprocess.Popen[str] | None = None
    _folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> ProcessWatch:
        self._read_running()
        self._folder = tempfile.TemporaryDirectory(prefix="process-watch-")
        targets = [str(pid) for pid in (os.getpid(), *self.also)]
        self._tracer = subprocess.Popen(
            [sys.executable, str(TRACER), self._log(), *targets],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._tracer.stdout is not None
        if self._tracer.stdout.readline() != "ready\n":  # every target traced: what starts from now on is seen
            self._tracer.kill()
            _, stderr = self._tracer.communicate()
            raise AssertionError(f"the exec tracer did not attach to {targets}: {stderr}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._tracer is not None and self._folder is not None
        self._tracer.terminate()  # the kernel detaches it from everything it traces
        _, stderr = self._tracer.communicate(timeout=30)
        with self._folder:
            for line in Path(self._log()).read_text().splitlines():
                pid, cmdline, environ = line.split(" ")
                self.started += 1
                self._note(int(pid), bytes.fromhex(cmdline), bytes.fromhex(environ))
        if kind is None:  # else the test's own failure is the one to report
            assert self._tracer.returncode == -15, f"the exec tracer failed ({self._tracer.returncode}): {stderr}"
        self._read_running()

    def saw_command(self, fragment: str) -> bool:
        return any(fragment in command for command in self.commands)

    def _log(self) -> str:
        assert self._folder is not None
        return str(Path(self._folder.name) / "exec.log")

    def _read_running(self) -> None:
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                self._note(int(entry.name), _read(entry / "cmdline"), _read(entry / "environ"))

    def _note(self, pid: int, cmdline: bytes, environ: bytes) -> None:
        words = [word.decode(errors="replace") for word in cmdline.split(b"\0") if word]
        if words:
            self.commands.add(" ".join([Path(words[0]).name, *words[1:2]]))
        for where, content in (("cmdline", cmdline), ("environ", environ)):
            if any(needle in content for needle in self.needles):
                self.sightings.append(Sighting(pid, where, words[0] if words else "?"))


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it, as /proc has them now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = _read(entry / "stat")
            if stat:
                parent = int(stat[stat.rindex(b")") + 2 :].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended, or its environment is not ours to read
        return b""

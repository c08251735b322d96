"""Watch the command line and environment of every program started while something runs, for secrets.

strace follows this test process and the processes given (a container's, say) with every descendant they start from
then on, and records each execve with its arguments and its environment whole: even a program that runs for a
microsecond is seen, which reading /proc now and then cannot promise. The processes already running are read from
/proc once when the watch starts and once when it ends.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from support.prerequisites import require_command

PROC = Path("/proc")
ATTACH_TIMEOUT = 30.0
# -f follows every descendant, -v prints the environment whole, -xx every byte of it in hex, -s keeps it unshortened.
STRACE_OPTIONS = ("-f", "-qq", "-v", "-xx", "-s", "1000000", "-e", "trace=execve", "-e", "signal=none")

# One execve as strace -xx -v prints it: the path, then the arguments, then the environment, all hex strings.
_STRINGS = r'((?:"(?:\\x[0-9a-f]{2})*"(?:, )?)*)'
_EXEC = re.compile(r'^(\d+) +execve\("((?:\\x[0-9a-f]{2})*)", \[' + _STRINGS + r"\], \[" + _STRINGS + r"\]", re.M)
_HEX_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


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
    _tracer: subprocess.Popen[bytes] | None = None
    _folder: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> ProcessWatch:
        strace = require_command("strace", package="strace", purpose="it records every program a test starts")
        self._read_running()
        self._folder = tempfile.TemporaryDirectory(prefix="process-watch-")
        targets = [os.getpid(), *self.also]
        self._tracer = subprocess.Popen(
            [str(strace), *STRACE_OPTIONS, "-o", self._trace(), *(a for p in targets for a in ("-p", str(p)))],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_attached(targets)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        assert self._tracer is not None and self._folder is not None
        self._tracer.send_signal(signal.SIGINT)  # strace detaches from everything it traces and ends
        self._tracer.communicate(timeout=30)
        with self._folder:
            self._read_trace(Path(self._trace()).read_bytes().decode("ascii", errors="replace"))
        self._read_running()

    def saw_command(self, fragment: str) -> bool:
        return any(fragment in command for command in self.commands)

    def _trace(self) -> str:
        assert self._folder is not None
        return str(Path(self._folder.name) / "execve.log")

    def _wait_attached(self, targets: Iterable[int]) -> None:
        """Until strace traces every target (else what starts right away could be missed)."""
        assert self._tracer is not None
        deadline = time.monotonic() + ATTACH_TIMEOUT
        while not all(_traced_by(pid) <= {self._tracer.pid} for pid in targets):
            if self._tracer.poll() is not None or time.monotonic() > deadline:
                self._tracer.kill()
                _, stderr = self._tracer.communicate()
                raise AssertionError(f"strace did not attach to {list(targets)}: {stderr.decode(errors='replace')}")
            time.sleep(0.01)

    def _read_trace(self, trace: str) -> None:
        for pid, path, arguments, environment in _EXEC.findall(trace):
            self.started += 1
            words = [_unhex(word) for word in _HEX_STRING.findall(arguments)]
            program = (words[0] if words else _unhex(path)).decode(errors="replace")
            self._note(int(pid), program, words, [_unhex(item) for item in _HEX_STRING.findall(environment)])

    def _read_running(self) -> None:
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                cmdline = _read(entry / "cmdline")
                words = [word for word in cmdline.split(b"\0") if word]
                program = words[0].decode(errors="replace") if words else "?"
                self._note(int(entry.name), program, words, [_read(entry / "environ")])

    def _note(self, pid: int, program: str, words: list[bytes], environment: list[bytes]) -> None:
        if words:
            first = [word.decode(errors="replace") for word in words[:2]]
            self.commands.add(" ".join([Path(first[0]).name, *first[1:]]))
        for where, content in (("cmdline", b"\0".join(words)), ("environ", b"\0".join(environment))):
            if any(needle in content for needle in self.needles):
                self.sightings.append(Sighting(pid, where, program))


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


def _traced_by(pid: int) -> set[int]:
    """The processes tracing the threads of `pid` (0 for a thread that nothing traces); none once `pid` has ended."""
    tracers = set()
    for task in _tasks(pid):
        for line in _read(task / "status").splitlines():
            if line.startswith(b"TracerPid:"):
                tracers.add(int(line.split()[1]))
    return tracers


def _tasks(pid: int) -> list[Path]:
    try:
        return list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return []


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace("\\x", ""))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended, or its environment is not ours to read
        return b""

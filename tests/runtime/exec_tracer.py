"""Record the command line and environment of every program that the given processes, or any process they start from
now on, execute: `python exec_tracer.py OUT PID...`, until terminated.

It traces with ptrace, stopping a process only when it forks, clones or executes (never at each system call, as
strace does without seccomp, which it cannot use on processes it attaches to): at each exec the process is stopped
with its new program in place, so even the shortest program is read whole from /proc before it runs. It prints
`ready` once every thread of every given process is traced. Each exec is one line of OUT: the pid, the command line
and the environment, in hex. When it ends, the kernel detaches it from everything it traced, which runs on as before.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

PTRACE_CONT = 7
PTRACE_SEIZE = 0x4206
OPTIONS = 0x02 | 0x04 | 0x08 | 0x10  # PTRACE_O_TRACEFORK, TRACEVFORK, TRACECLONE, TRACEEXEC
EVENT_EXEC = 4
EVENT_STOP = 128
WALL = 0x40000000  # __WALL: wait for every traced thread, child or not

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long


def _ptrace(request: int, pid: int, data: int = 0) -> bool:
    return bool(_libc.ptrace(request, pid, None, ctypes.c_void_p(data)) == 0)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def seize(pid: int) -> None:
    """Trace every thread of `pid`, including threads started while this runs."""
    seized: set[int] = set()
    while True:
        try:
            tasks = {int(task.name) for task in (Path("/proc") / str(pid) / "task").iterdir()}
        except OSError:
            return  # it ended
        if tasks <= seized:
            return
        for task in tasks - seized:
            if not _ptrace(PTRACE_SEIZE, task, OPTIONS) and Path(f"/proc/{task}").exists():
                raise SystemExit(f"cannot trace {task}: {os.strerror(ctypes.get_errno())}")
            seized.add(task)


def trace(out: Path, pids: list[int]) -> None:
    for pid in pids:
        seize(pid)
    with out.open("w") as log:
        print("ready", flush=True)
        while True:
            try:
                pid, status = os.waitpid(-1, WALL)
            except ChildProcessError:
                return  # nothing left to trace
            if not os.WIFSTOPPED(status):
                continue  # exited
            stop = os.WSTOPSIG(status)
            event = status >> 16
            if event == EVENT_EXEC:
                process = Path("/proc") / str(pid)
                cmdline, environ = _read(process / "cmdline"), _read(process / "environ")
                log.write(f"{pid} {cmdline.hex()} {environ.hex()}\n")
                log.flush()
            # An event (fork, clone, exec) or a new process's first stop: go on. Any other stop delivers its signal.
            _ptrace(PTRACE_CONT, pid, 0 if event else stop)


if __name__ == "__main__":
    trace(Path(sys.argv[1]), [int(pid) for pid in sys.argv[2:]])

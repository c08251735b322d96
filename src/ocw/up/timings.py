"""Where a start goes: the wall time of each step of `ocw up`, from the interpreter's own start to OpenCode's first
authenticated answer, and the CPU time ocw and the programs it waited for (init step, git, podman) spent in it. Kept
in the workspace's logs (timings.json) for the benchmark; `ocw up --timings` prints them."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

STARTUP = "python start-up and imports"


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for, user and system."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _seconds_since_process_start() -> float | None:
    """How long this process has existed (Linux /proc), so the interpreter's start-up and imports count too."""
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError):
        return None
    start_ticks = int(stat[stat.rindex(")") + 2 :].split()[19])
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


class Timings:
    """Steps in the order they ran, each with its wall time in seconds. `on_step` hears of each step as it begins
    (the progress lines of a slow start)."""

    def __init__(self, on_step: Callable[[str], None] | None = None) -> None:
        self.steps: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._on_step = on_step
        before = _seconds_since_process_start()
        if before is not None:
            self.steps[STARTUP] = round(before, 3)
            self.cpu[STARTUP] = round(_cpu_seconds(), 3)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self._on_step is not None and name not in self.steps:
            self._on_step(name)
        started, cpu = time.monotonic(), _cpu_seconds()
        try:
            yield
        finally:
            self.steps[name] = round(self.steps.get(name, 0.0) + time.monotonic() - started, 3)
            self.cpu[name] = round(self.cpu.get(name, 0.0) + _cpu_seconds() - cpu, 3)

    @property
    def total(self) -> float:
        return round(sum(self.steps.values()), 3)

    @property
    def cpu_total(self) -> float:
        return round(sum(self.cpu.values()), 3)

    def table(self) -> str:
        width = max((len(name) for name in self.steps), default=0)
        lines = [f"  {'':<{width}}  {'wall':>8}  {'cpu':>8}"]
        for name, seconds in self.steps.items():
            lines.append(f"  {name:<{width}}  {seconds:6.2f} s  {self.cpu.get(name, 0.0):6.2f} s")
        return "\n".join([*lines, f"  {'total':<{width}}  {self.total:6.2f} s  {self.cpu_total:6.2f} s"])

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {"steps": self.steps, "total": self.total, "cpu": self.cpu, "cpu_total": self.cpu_total}
        path.write_text(json.dumps(document, indent=2) + "\n")

"""`ocw` as its user runs it: `python -m ocw` in a process of its own, with this process's environment and folder
unless a test gives others. Every test of the command line goes through `run_ocw` (to the end) or `start_ocw` (to
interrupt it or read it while it runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# What a user's shell would not hand to ocw: this machine's settings of an OpenCode or the XDG folders of the run.
NOT_A_USERS = ("OPENCODE_", "XDG_")


@dataclass(frozen=True)
class CliResult:
    """How `ocw` ended: its exit code and everything it printed."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Both streams, for an assertion message or a search in everything shown."""
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def user_env(
    overrides: Mapping[str, str] | None = None,
    *,
    without: Iterable[str] = NOT_A_USERS,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """This process's environment (or `base`) without the variables starting with a prefix of `without`, then
    `overrides`."""
    prefixes = tuple(without)
    source = os.environ if base is None else base
    kept = {name: value for name, value in source.items() if not (prefixes and name.startswith(prefixes))}
    return kept | dict(overrides or {})


def run_ocw(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    python: str | Path | None = None,
) -> CliResult:
    """`ocw ARGS` to its end (killed after `timeout` seconds, failing the test). `env` replaces the environment
    (default: this process's); `python` runs another installation's ocw."""
    with start_ocw(*args, cwd=cwd, env=env, stderr=subprocess.PIPE, python=python) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    return CliResult(process.returncode, stdout, stderr)


def start_ocw(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.STDOUT,
    python: str | Path | None = None,
) -> subprocess.Popen[str]:
    """`ocw ARGS` started, not waited for: stdout piped (text), stderr into it unless said otherwise."""
    return subprocess.Popen(
        [str(python or sys.executable), "-m", "ocw", *args],
        cwd=cwd,
        env=None if env is None else dict(env),
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )

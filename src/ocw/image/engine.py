"""The container engine ocw drives: podman, with the project's own containers.conf (never /etc's).

The project's containers.conf (containers/podman/containers.conf) is passed through CONTAINERS_CONF to every podman
call, so `make image`, `ocw up --engine container` and the tests behave the same on any machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ocw.errors import EXIT_CANNOT_RUN, OcwError
from ocw.image.definition import containers_dir
from ocw.paths import checkout

INFO_TIMEOUT = 30.0


def containers_conf() -> Path | None:
    """The checkout's containers.conf; None for an ocw installed without one (it builds and starts no image, and
    stops containers with podman's own settings)."""
    return containers_dir() / "podman" / "containers.conf" if checkout() is not None else None


@dataclass(frozen=True)
class Engine:
    program: Path
    env: dict[str, str] = field(repr=False)

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def rootless(self) -> bool:
        return os.geteuid() != 0

    def command(self, *args: str) -> list[str]:
        return [str(self.program), *args]

    def run(
        self, *args: str, check: bool = True, timeout: float | None = None, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one engine command; on failure (check) an OcwError with the engine's own message."""
        result = subprocess.run(
            self.command(*args),
            env=self.env,
            check=False,
            capture_output=capture,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            message = (result.stderr or result.stdout or "").strip().splitlines()
            raise OcwError(
                f"`{self.name} {' '.join(args[:2])}` failed with exit code {result.returncode}: "
                + (message[-1] if message else "no output"),
                hint=f"run `{_conf_prefix()}{self.name} {' '.join(args)}` to see it in full",
            )
        return result


def _conf_prefix() -> str:
    conf = containers_conf()
    return f"CONTAINERS_CONF={conf} " if conf is not None else ""


def engine_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    conf = containers_conf()
    if conf is not None:
        env["CONTAINERS_CONF"] = str(conf)
    return env


def installed_engine() -> Engine | None:
    """podman if installed, without asking it anything (for stopping what it runs)."""
    found = shutil.which("podman")
    return Engine(Path(found), engine_env()) if found else None


def find_engine() -> tuple[Engine | None, str]:
    """(podman, "") if installed, else (None, why not), without asking it anything."""
    engine = installed_engine()
    if engine is None:
        other = " (docker is installed, but ocw drives podman only)" if shutil.which("docker") else ""
        return None, f"podman is not installed{other}"
    return engine, ""


def _does_not_work(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"podman does not work here: {lines[-1] if lines else 'no output'}"


def probe_engine() -> tuple[Engine | None, str]:
    """(the engine, "") when podman is installed and answers, else (None, why not)."""
    engine, why = find_engine()
    if engine is None:
        return None, why
    try:
        result = engine.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=INFO_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, f"`podman info` did not answer within {INFO_TIMEOUT:.0f} s"
    if result.returncode != 0:
        return None, _does_not_work(result)
    return engine, ""


def image_missing(engine: Engine, image: str) -> str:
    """ "" when podman answers and holds `image`, else why not: not built, or podman itself fails. One engine call,
    `podman image exists` (0: held; 1 and silent: not; else an error), probes podman as well as `podman info` would,
    without the survey of the host (package queries and all) that `podman info` makes."""
    try:
        result = engine.run("image", "exists", image, check=False, timeout=INFO_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"`podman image exists` did not answer within {INFO_TIMEOUT:.0f} s"
    if result.returncode == 0:
        return ""
    if result.returncode == 1 and not result.stderr.strip():  # podman says why when it fails
        return f"the workspace image {image} is not built (run `make image`)"
    return _does_not_work(result)


def require_engine() -> Engine:
    engine, why = probe_engine()
    if engine is None:
        raise OcwError(
            f"a working container engine was expected, but {why}",
            hint="install podman (apt-get install podman runc), or use --engine process",
            exit_code=EXIT_CANNOT_RUN,
        )
    return engine


def image_exists(engine: Engine, image: str) -> bool:
    return engine.run("image", "exists", image, check=False).returncode == 0


def remove_quietly(engine: Engine, names: Sequence[str]) -> None:
    """Kill and remove these containers if they exist. `--time 0`: a forced removal must not wait out a stop timeout
    (podman's default sends SIGTERM and waits 10 s first)."""
    if names:
        engine.run("rm", "--force", "--ignore", "--time", "0", *names, check=False)

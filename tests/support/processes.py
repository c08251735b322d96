"""Starting and stopping the servers a test runs (OpenCode, Prometheus, the blackbox exporter): wait until one answers,
stop it for good."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from ocw.up.readiness import ReadinessProbe

REPO = Path(__file__).resolve().parents[2]
OPENCODE = REPO / "tools" / "node_modules" / ".bin" / "opencode"


def answers(
    url: str, process: subprocess.Popen[bytes], *, auth: tuple[str, str] | None = None, timeout: float = 60
) -> bool:
    """Whether `url` answered 200 before `timeout` seconds passed or the process ended."""
    deadline = time.monotonic() + timeout
    # One client for every try: each new one reads the whole CA bundle, tens of milliseconds of CPU.
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if client.get(url, auth=auth).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return False


def opencode_answers(port: int, password: str, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    """Whether OpenCode on 127.0.0.1:`port` answered an authenticated GET /session before `timeout` seconds passed or
    the process ended, asked as `ocw up` asks: OpenCode never answers a request of its first moment, so no request
    is waited on alone."""
    with ReadinessProbe("127.0.0.1", port, "opencode", password) as probe:
        return probe.wait(timeout, lambda: process.poll() is None) is not None


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def opencode_server(cwd: Path, home: Path, port: int, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`opencode serve` on 127.0.0.1:`port` in `cwd` with `home` as HOME and `env` added; its URL once `/session`
    answers (with the password when `env` sets OPENCODE_SERVER_PASSWORD)."""
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), "OPENCODE_DISABLE_AUTOUPDATE": "1", **(env or {})}
    from support.opencode_home import seed  # opencode_home uses this module's stop()

    seed(home)
    process = subprocess.Popen(
        [str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Without a server password OpenCode ignores the credentials.
        password = environment.get("OPENCODE_SERVER_PASSWORD", "")
        assert opencode_answers(port, password, process), "opencode did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)

"""The OpenCode container's start script (the scripts ConfigMap's opencode-serve, run by /bin/sh as in the pod and in
`ocw up --engine process`) turns one stop into OpenCode's end: OpenCode drops a SIGTERM that lands while it catches
the signal itself, and the kubelet sends only one. Here a stand-in `opencode` drops the first SIGTERM it gets."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocw.up.state import process_start_ticks
from ocw.workspace import find_workspace, load_workspaces
from support.local_workspace import WORKSPACE
from up.helpers import REPO

pytestmark = pytest.mark.timeout(120)

# An `opencode` that drops the first SIGTERM, as OpenCode does in the moments it catches one, and exits 143 on the next
# (or 3 after $LIFETIME seconds). It writes its pid once its trap is set.
STAND_IN = """#!/bin/sh
trap 'trap "kill -KILL \\$nap; exit 143" TERM' TERM
(trap '' TERM; exec sleep "$LIFETIME") & nap=$!
echo $$ > "$READY"
while kill -0 "$nap" 2>/dev/null; do wait "$nap"; done
exit 3
"""
PASSWORD = "p" * 16


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """opencode-serve as the built tree's scripts ConfigMap holds it."""
    built = find_workspace(load_workspaces(REPO), WORKSPACE).built
    config_map = next(m for m in built.manifests if m.kind == "ConfigMap" and m.name.endswith("-scripts"))
    path = tmp_path_factory.mktemp("scripts") / "opencode-serve"
    path.write_text(str(config_map.obj["data"]["opencode-serve"]))
    return path


@contextlib.contextmanager
def started(script: Path, tmp_path: Path, lifetime: int = 60) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The script started in its own process group, as tini starts its child; yields it and the stand-in's pid."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "opencode").write_text(STAND_IN)
    (bin_dir / "opencode").chmod(0o755)
    ready = tmp_path / "ready"
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "OPENCODE_SERVER_PASSWORD": PASSWORD,
        "READY": str(ready),
        "LIFETIME": str(lifetime),
    }
    process = subprocess.Popen(["/bin/sh", str(script), "--port", "4096"], env=env, process_group=0)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text().strip():
            assert process.poll() is None and time.monotonic() < deadline, "the stand-in did not start"
            time.sleep(0.02)
        yield process, int(ready.read_text())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _group(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("target", ["group", "script"], ids=["to-the-group-as-tini-g", "to-the-script-alone"])
def test_one_sigterm_ends_an_opencode_that_drops_it(script: Path, tmp_path: Path, target: str) -> None:
    with started(script, tmp_path) as (process, server):
        _stop_once(process, server, target)


def _stop_once(process: subprocess.Popen[bytes], server: int, target: str) -> None:
    began = time.monotonic()
    if target == "group":
        os.killpg(process.pid, signal.SIGTERM)
    else:
        os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=15)
    seconds = time.monotonic() - began
    assert seconds < 10.0  # passed on again within a second, within the manifests' grace; unpassed, a minute
    assert process.returncode == 128 + signal.SIGTERM  # OpenCode's own end, as tini reports it
    assert process_start_ticks(server) is None
    deadline = time.monotonic() + 3  # the script's re-sender ends with it
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group(process.pid) == []


def test_opencode_exiting_on_its_own_gives_the_script_its_exit_code(script: Path, tmp_path: Path) -> None:
    with started(script, tmp_path, lifetime=1) as (process, _server):
        assert process.wait(timeout=30) == 3

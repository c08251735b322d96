"""`make up` in a container: `ocw up flux --source <this checkout>` in the foreground, stopped with Ctrl-C as the
kubelet stops a pod; nothing of the container is left behind."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ocw.up.container import container_name
from ocw.up.state import workspace_dirs
from support.cli import run_ocw, user_env
from support.image import WorkspaceImage
from support.local_workspace import WORKSPACE
from support.ports import free_port
from up.helpers import REPO, up_in_foreground

pytestmark = pytest.mark.timeout(300)


def test_ctrl_c_stops_the_container_at_once_and_removes_it(tmp_path: Path, workspace_image: WorkspaceImage) -> None:
    state, port = tmp_path / "state", free_port()
    args = ["flux", "--source", str(REPO), "--port", str(port), "--state-dir", str(state)]  # --engine auto
    with up_in_foreground(*args) as up:
        entry = json.loads(run_ocw("ps", "--json", "--state-dir", str(state), env=user_env()).stdout)["workspaces"][0]
        assert entry["running"] and entry["engine"] == "container", "".join(up.printed)
        password = (state / WORKSPACE / "password").read_text()
        assert httpx.get(entry["url"] + "/session", auth=("opencode", password)).status_code == 200
        output = up.interrupt(timeout=60)
    assert up.process.returncode == 0, output
    assert f"image {workspace_image.name}" in output
    stopped = [line for line in output.splitlines() if "stopped in" in line]
    assert stopped and float(stopped[0].rsplit(" ", 2)[1]) < 2.0, output  # SIGTERM, not the 10 s grace
    left = workspace_image.run("ps", "--all", "--format", "{{.Names}}", "--filter", f"name={entry['container']}")
    assert left.stdout.strip() == ""
    assert not (state / WORKSPACE / "run").exists()


def test_a_failing_init_container_fails_up_and_leaves_nothing_behind(
    tmp_path: Path, workspace_image: WorkspaceImage
) -> None:
    not_a_repository = tmp_path / "empty"
    not_a_repository.mkdir()
    state = tmp_path / "state"
    args = ["up", "flux", "-d", "--engine", "container", "--source", str(not_a_repository)]
    result = run_ocw(*args, "--port", str(free_port()), "--state-dir", str(state), env=user_env())
    assert result.code == 1, result.stdout + result.stderr
    assert "init step" in result.stderr and "clone" in result.stderr.lower()
    assert not (state / WORKSPACE / "state.json").exists()
    assert not (state / WORKSPACE / "run").exists()
    dirs = workspace_dirs(state, WORKSPACE)
    names = workspace_image.run("ps", "--all", "--format", "{{.Names}}").stdout.split()
    assert container_name(dirs, "init") not in names and container_name(dirs, "app") not in names

"""Rootful podman runs the pod's containers in a user namespace of their own: the pod's uid 1000 is no user of this
machine, so a local user whose uid is 1000 cannot read the containers' environment (the server password) from
/proc, as they could if the container's uid were theirs."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocw.up.container import host_id
from support.cli import run_ocw, user_env
from support.image import WorkspaceImage
from up.helpers import Local, fake_tokens, running_workspace

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.skipif(os.geteuid() != 0, reason="a rootful engine and another local user need root"),
]

POD_UID = 1000


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, workspace_image: WorkspaceImage) -> Iterator[Local]:
    with running_workspace(tmp_path_factory.mktemp("users"), fake_tokens(), engine="container") as local:
        yield local


def _pod_processes(local: Local) -> list[int]:
    """The container's PID 1 (tini) and every process below it, as this machine numbers them."""
    entries = json.loads(run_ocw("ps", "--json", "--state-dir", str(local.state_dir), env=user_env()).stdout)[
        "workspaces"
    ]
    found, queue = [], [int(entries[0]["pid"])]
    while queue:
        pid = queue.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            queue += [int(child) for child in (task / "children").read_text().split()]
    return found


def _uid(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Uid:"))
    return int(line.split()[1])


def test_the_pods_processes_are_no_user_of_this_machine(workspace: Local) -> None:
    processes = _pod_processes(workspace)
    assert len(processes) >= 2  # tini and OpenCode
    assert {_uid(pid) for pid in processes} == {host_id(POD_UID)}


def _read_as_local_user(path: str) -> subprocess.CompletedProcess[bytes]:
    """`cat path` as the local user whose uid is the pod's."""
    return subprocess.run(["cat", path], capture_output=True, check=False, user=POD_UID, group=POD_UID, extra_groups=[])


def test_a_local_user_with_the_pods_uid_cannot_read_the_server_password(workspace: Local) -> None:
    password = workspace.password()
    for pid in _pod_processes(workspace):
        read = _read_as_local_user(f"/proc/{pid}/environ")
        assert read.returncode != 0 and b"Permission denied" in read.stderr, pid
        assert password.encode() not in read.stdout
    # The control: the same read of a process that user does own shows its environment.
    env = {"MARKER": "visible-to-its-user"}
    own = subprocess.Popen(["sleep", "30"], env=env, user=POD_UID, group=POD_UID, extra_groups=[])
    try:
        assert b"MARKER=visible-to-its-user" in _read_as_local_user(f"/proc/{own.pid}/environ").stdout
    finally:
        own.kill()
        own.wait()


def test_the_volume_is_the_pods_users_and_the_workspace_still_works(workspace: Local) -> None:
    home = workspace.home
    assert home.stat().st_uid == host_id(POD_UID)
    assert workspace.get("/session").status_code == 200
    assert workspace.json("/path")["directory"] == "/Users/jbaker/git/k8s-cluster"

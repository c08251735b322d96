"""`ocw up --engine container`: the workspace as the pod runs it, in the workspace image with the manifests'
securityContext, volumes and environment. What a user notices: git works in OpenCode, the server stops at once,
the root filesystem is read-only, sessions and the Copilot login survive a restart and a kill, `ocw verify --local`
passes against it as against processes, and the pod's uid 1000 is no user of this machine (rootful podman gives the
containers a user namespace of their own), so a local user whose uid is 1000 cannot read the server password from
/proc. One started container serves every test of this module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocw.up.container import host_id
from ocw.up.state import process_start_ticks
from support.cli import run_ocw, user_env
from support.image import WorkspaceImage
from up.helpers import OFFLINE_VERIFY, Local, fake_tokens, running_workspace

pytestmark = pytest.mark.timeout(900)

WORKDIR = "/Users/jbaker/git/k8s-cluster"
POD_UID = 1000
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a rootful engine and another local user need root")


def _running(local: Local) -> dict[str, object]:
    entries = json.loads(run_ocw("ps", "--json", "--state-dir", str(local.state_dir), env=user_env()).stdout)[
        "workspaces"
    ]
    assert len(entries) == 1
    return dict(entries[0])


def _process_tree(pid: int) -> str:
    """What is still running below `pid`, with the signals each one blocks and catches: why a SIGTERM did not end it."""
    listing = subprocess.run(["ps", "-o", "pid,ppid,stat,etime,args", "--ppid", str(pid), "-p", str(pid)],
                             capture_output=True, text=True, check=False).stdout  # fmt: skip
    signals = []
    for line in listing.splitlines()[1:]:
        child = line.split()[0]
        try:
            status = Path(f"/proc/{child}/status").read_text().splitlines()
        except OSError:
            continue
        fields = ("State", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")
        signals.append(f"{child}: " + " ".join(s for s in status if s.startswith(fields)))
    return listing + "\n".join(signals)


def _container(local: Local) -> str:
    name = _running(local).get("container")
    assert isinstance(name, str) and name, "ocw ps names no container"
    return name


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return fake_tokens()


@pytest.fixture(scope="module")
def started(
    tmp_path_factory: pytest.TempPathFactory, workspace_image: WorkspaceImage, tokens: dict[str, str]
) -> Iterator[Local]:
    with running_workspace(tmp_path_factory.mktemp("container"), tokens, engine="container") as local:
        yield local


@pytest.fixture
def workspace(started: Local) -> Local:
    """The module's workspace, running (the tests that stop it start it again, unless they failed midway)."""
    return started.up_unless_running()


def test_ps_shows_the_container_engine(workspace: Local) -> None:
    entry = _running(workspace)
    assert entry["running"] is True and entry["engine"] == "container"


def test_opencode_sees_the_clone_as_a_git_project(workspace: Local) -> None:
    root_commit = subprocess.run(
        ["git", "-C", workspace.source, "rev-list", "--max-parents=0", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    current = workspace.json(f"/project/current?directory={WORKDIR}")
    assert current["vcs"] == "git"
    assert current["id"] == root_commit
    assert current["worktree"] == WORKDIR


def test_tini_is_pid_1_and_opencode_runs_as_uid_1000(workspace: Local, workspace_image: WorkspaceImage) -> None:
    name = _container(workspace)
    script = (
        "tr '\\0' ' ' </proc/1/cmdline; echo; child=$(cut -d ' ' -f 1 /proc/1/task/1/children); "
        "server=$(cut -d ' ' -f 1 /proc/$child/task/$child/children); "
        "tr '\\0' ' ' </proc/$server/cmdline; echo; id -u; id -g"
    )
    result = workspace_image.run("exec", name, "sh", "-c", script)
    assert result.returncode == 0, result.stderr
    cmdline, child, uid, gid = result.stdout.splitlines()
    assert cmdline.startswith("/usr/bin/tini -g -- /bin/sh /opt/opencode-workspace/opencode-serve --hostname")
    # The start script stays as OpenCode's parent, to pass a stop on until OpenCode has gone.
    assert child.startswith("opencode serve --hostname")
    assert (uid, gid) == ("1000", "1000")


def test_only_tmp_and_the_volume_are_writable(workspace: Local, workspace_image: WorkspaceImage) -> None:
    name = _container(workspace)
    script = (
        "for p in /etc/probe /usr/local/bin/probe /opt/opencode/probe /probe /opt/opencode-workspace/probe "
        "/var/run/secrets/opencode/probe; do touch $p 2>/dev/null && echo writable $p; done; "
        f"touch /tmp/probe {WORKDIR}/../probe && echo volume-ok"
    )
    result = workspace_image.run("exec", name, "sh", "-c", script)
    assert result.stdout.split("\n")[0] == "volume-ok", result.stdout + result.stderr
    assert (workspace.home / "git" / "probe").exists()


def test_the_server_password_is_in_no_argument_list_and_no_log(workspace: Local) -> None:
    password = workspace.password()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert password.encode() not in cmdline.read_bytes()
        except OSError:
            continue  # the process ended meanwhile
    for log in (workspace.root / "logs").iterdir():
        assert password not in log.read_text(errors="replace")
    assert not (workspace.root / "run" / "env").exists() or not any((workspace.root / "run" / "env").iterdir())


def _server_pid(pid_1: int) -> int:
    """OpenCode's pid on this machine: the `opencode serve` below the container's PID 1."""
    queue = [pid_1]
    while queue:
        pid = queue.pop()
        if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"opencode\0serve\0"):
            return pid
        queue += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    raise AssertionError("no `opencode serve` runs in the container\n" + _process_tree(pid_1))


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    caught = next(line for line in status if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) & (1 << (signal.SIGTERM - 1)))


def test_sigterm_to_pid_1_ends_the_container_well_before_the_grace_period(workspace: Local) -> None:
    """Even a SIGTERM that lands while OpenCode catches SIGTERM itself (it does, for moments, a few seconds after a
    session is created, and then drops it): the kubelet sends one, and only one."""
    session = workspace.create_session("survives a SIGTERM")
    pid = int(str(_running(workspace)["pid"]))  # tini, the container's PID 1, as seen from this machine
    server = _server_pid(pid)
    deadline = time.monotonic() + 30
    while not _catches_sigterm(server) and time.monotonic() < deadline:
        time.sleep(0.001)
    in_the_window = _catches_sigterm(server)  # no such moment: an ordinary SIGTERM, which must end it as well
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)  # what the kubelet's runtime sends first
    while process_start_ticks(pid) is not None and time.monotonic() - started < 15:
        time.sleep(0.01)
    # Half the manifests' 10 s grace: a SIGTERM OpenCode dropped would take all of it, a loaded machine far less.
    seconds = time.monotonic() - started
    assert seconds < 5.0, f"sent while OpenCode caught SIGTERM: {in_the_window}\n{_process_tree(pid)}"
    workspace.up_ok()  # the next start tidies up after the exited container
    assert session in workspace.session_ids()


def test_ocw_down_stops_like_the_kubelet_without_reaching_the_grace_period(workspace: Local) -> None:
    session = workspace.create_session("survives ocw down")
    started = time.monotonic()
    result = run_ocw(
        "down", "flux", "--state-dir", str(workspace.state_dir), env=user_env()
    )  # the manifests' 10 s grace
    elapsed = time.monotonic() - started
    assert result.code == 0, result.stdout + result.stderr
    assert re.search(r"stopped \(pid \d+, [0-9.]+ s\)", result.stdout), result.stdout  # not "killed"
    assert elapsed < 5.0
    assert _running(workspace)["running"] is False
    workspace.up_ok()
    assert session in workspace.session_ids()


def test_sessions_and_the_copilot_login_survive_a_kill(
    workspace: Local, workspace_image: WorkspaceImage, tokens: dict[str, str]
) -> None:
    session = workspace.create_session("survives a kill")
    auth = workspace.home / ".local" / "share" / "opencode" / "auth.json"
    assert tokens["copilot"] in auth.read_text()
    pid_1 = int(str(_running(workspace)["pid"]))
    killed = workspace_image.run("kill", "--signal", "KILL", _container(workspace))
    assert killed.returncode == 0, killed.stderr
    deadline = time.monotonic() + 30
    while process_start_ticks(pid_1) is not None and time.monotonic() < deadline:  # /proc, not an ocw per look
        time.sleep(0.02)
    assert _running(workspace)["running"] is False
    workspace.up_ok()
    assert session in workspace.session_ids()
    assert json.loads(auth.read_text())["github-copilot"]["refresh"] == tokens["copilot"]


def test_verify_local_passes_against_the_container(workspace: Local, tokens: dict[str, str]) -> None:
    done = run_ocw(
        "verify", "--local", "flux", "--state-dir", str(workspace.state_dir), "--json", *OFFLINE_VERIFY, env=user_env()
    )
    assert done.code == 0, done.stdout + done.stderr
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    assert set(results) == {"P2.1", "P2.2", "P2.3", "SEC.1", "MON.2"}
    assert all(r["status"] == "pass" for i, r in results.items() if i != "MON.2"), results
    assert results["MON.2"]["status"] == "skip"  # Copilot not used yet: its login cannot be judged
    # The workspace config from the tree is in force inside the image too.
    assert results["SEC.1"]["evidence"] == ['GET /config: share="disabled", autoupdate=false']
    for value in tokens.values():
        assert value not in done.stdout + done.stderr


def _pod_processes(local: Local) -> list[int]:
    """The container's PID 1 (tini) and every process below it, as this machine numbers them."""
    found, queue = [], [int(str(_running(local)["pid"]))]
    while queue:
        pid = queue.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").iterdir():
            queue += [int(child) for child in (task / "children").read_text().split()]
    return found


def _uid(pid: int) -> int:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("Uid:"))
    return int(line.split()[1])


@needs_root
def test_the_pods_processes_are_no_user_of_this_machine(workspace: Local) -> None:
    processes = _pod_processes(workspace)
    assert len(processes) >= 2  # tini and OpenCode
    assert {_uid(pid) for pid in processes} == {host_id(POD_UID)}


def _read_as_local_user(path: str) -> subprocess.CompletedProcess[bytes]:
    """`cat path` as the local user whose uid is the pod's."""
    return subprocess.run(["cat", path], capture_output=True, check=False, user=POD_UID, group=POD_UID, extra_groups=[])


@needs_root
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


@needs_root
def test_the_volume_is_the_pods_users_and_the_workspace_still_works(workspace: Local) -> None:
    home = workspace.home
    assert home.stat().st_uid == host_id(POD_UID)
    assert workspace.get("/session").status_code == 200
    assert workspace.json("/path")["directory"] == WORKDIR

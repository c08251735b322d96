"""`ocw up` as `make up` runs it: no --secrets, this repository as the source, in the foreground until Ctrl-C;
and the clear refusals a user gets instead of a half-started workspace."""

from __future__ import annotations

import base64
import json
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest

from support.cli import run_ocw, start_ocw, user_env
from support.local_workspace import WORKSPACE
from support.ports import free_port
from up.helpers import REPO, make_source_repo, up_in_foreground

pytestmark = pytest.mark.timeout(300)


def test_foreground_without_secrets_serves_a_clone_of_this_repository_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """Also, on the same start: `--port 0` takes a free port and prints the URL it answers on, and the state dir (made
    0755 by the user beforehand), the workspace folder and the password file are the user's alone
    (test_state_privacy.py has the refusals)."""
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as a user might have made it
    args = ["flux", "--engine", "process", "--source", str(REPO), "--port", "0", "--state-dir", str(state)]
    with up_in_foreground(*args) as up:
        root = state / WORKSPACE
        printed = up.printed
        entries = json.loads(run_ocw("ps", "--json", "--state-dir", str(state), env=user_env()).stdout)["workspaces"]
        endpoint = entries[0] if entries and entries[0]["running"] else None
        password = (root / "password").read_text()
        assert endpoint is not None, "the workspace never answered"
        [server] = [line.split()[-1] for line in printed if line.startswith("  server:")]
        port = int(server.rstrip("/").rsplit(":", 1)[1])
        assert port != 0 and server == f"http://127.0.0.1:{port}/", printed
        assert endpoint["url"] == server.rstrip("/")
        assert state.stat().st_mode & 0o777 == 0o700
        assert root.stat().st_mode & 0o777 == 0o700
        assert (root / "password").stat().st_mode & 0o777 == 0o600
        assert httpx.get(endpoint["url"] + "/session").status_code == 401
        assert httpx.get(endpoint["url"] + "/session", auth=("opencode", password)).status_code == 200
        init_log = (root / "logs" / "init.log").read_text()
        assert "Copilot not seeded" in init_log
        clone = root / "volumes" / "home" / "git" / "k8s-cluster"
        assert (clone / "kubernetes" / "components" / "opencode-workspace" / "helmrelease.yaml").is_file()
        # The link printed (and listed by ps) opens the clone's project: /<base64url(directory), unpadded>/session.
        segment = base64.urlsafe_b64encode(str(clone).encode()).decode().rstrip("=")
        assert endpoint["project_url"] == f"{endpoint['url']}/{segment}/session"
        assert f"  open:      {endpoint['project_url']}\n" in printed
        page = httpx.get(endpoint["project_url"], auth=("opencode", password))
        assert page.status_code == 200
        assert "<title>OpenCode</title>" in page.text
        pid = endpoint["pid"]
        output = up.interrupt(timeout=30)
    assert up.process.returncode == 0, output
    assert password not in output  # printed: where the password is, never the password
    assert str(root / "password") in output
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not (root / "run").exists()
    assert (
        json.loads(run_ocw("ps", "--json", "--state-dir", str(state), env=user_env()).stdout)["workspaces"][0][
            "running"
        ]
        is False
    )


def test_a_busy_port_is_named_with_the_way_out(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        source = make_source_repo(tmp_path / "source")
        result = run_ocw(
            "up", "flux", "--engine", "process", "-d", "--source", str(source), "--port", str(port),
            "--state-dir", str(tmp_path / "state"), env=user_env(),
        )  # fmt: skip
    assert result.code == 2
    assert f"port {port}" in result.stderr and "--port" in result.stderr


def test_a_secrets_file_missing_a_key_is_refused_before_anything_runs(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("OPENCODE_FLUX_PASSWORD=x\n")
    state = tmp_path / "state"
    result = run_ocw(
        "up", "flux", "--engine", "process", "-d", "--secrets", str(secrets), "--source", str(REPO),
        "--port", str(free_port()), "--state-dir", str(state), env=user_env(),
    )  # fmt: skip
    assert result.code == 2
    assert "OPENCODE_FLUX_GITHUB_PAT" in result.stderr and "OPENCODE_FLUX_COPILOT_AUTH_JSON" in result.stderr
    assert not (state / WORKSPACE / "run").exists()


def test_a_failing_init_step_fails_up_with_its_message_and_leaves_nothing_running(tmp_path: Path) -> None:
    not_a_repository = tmp_path / "empty"
    not_a_repository.mkdir()
    state = tmp_path / "state"
    result = run_ocw(
        "up", "flux", "--engine", "process", "-d", "--source", str(not_a_repository), "--port", str(free_port()),
        "--state-dir", str(state), env=user_env(),
    )  # fmt: skip
    assert result.code == 1
    assert "init step" in result.stderr and "clone" in result.stderr.lower()
    assert not (state / WORKSPACE / "state.json").exists()
    assert not (state / WORKSPACE / "run").exists()  # the secret folders went with the failed start
    assert "not running" in run_ocw("down", "flux", "--state-dir", str(state), env=user_env()).stdout


def test_down_of_a_workspace_never_started_says_so(tmp_path: Path) -> None:
    result = run_ocw("down", "flux", "--state-dir", str(tmp_path), env=user_env())
    assert result.code == 0 and "not running" in result.stdout


def test_a_tree_that_fails_ocw_check_is_not_started(tmp_path: Path) -> None:
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(REPO / "kubernetes", repo / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", repo)
    script = repo / "kubernetes" / "components" / "opencode-workspace" / "scripts" / "git-credential-secret"
    script.write_text(script.read_text() + 'echo "${HOME}"\n')  # Flux would substitute this away
    state = tmp_path / "state"
    result = run_ocw(
        "up",
        "flux",
        "--engine",
        "process",
        "-d",
        "--repo",
        str(repo),
        "--port",
        str(free_port()),
        "--state-dir",
        str(state),
        env=user_env(),
    )
    assert result.code == 1
    assert "ocw check" in result.stderr and "git-credential-secret" in result.stderr
    assert not (state / WORKSPACE).exists()


def _servers_using(state: Path) -> list[int]:
    """OpenCode processes whose HOME is in this state dir (found whatever their parent)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            content = environ.read_bytes()
        except OSError:
            continue
        if f"HOME={state}".encode() in content:
            found.append(int(environ.parent.name))
    return found


def test_ctrl_c_while_starting_leaves_no_server_behind(tmp_path: Path) -> None:
    state = tmp_path / "state"
    args = [
        "up",
        "flux",
        "--engine",
        "process",
        "--source",
        str(REPO),
        "--port",
        str(free_port()),
        "--state-dir",
        str(state),
    ]
    process = start_ocw(*args)
    record = state / WORKSPACE / "state.json"
    while not record.exists() and process.poll() is None:  # OpenCode has been spawned, not yet ready
        threading.Event().wait(0.02)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert not record.exists()
    assert _servers_using(state) == []


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_a_port_out_of_range_is_refused_before_anything_runs(tmp_path: Path, port: str) -> None:
    state = tmp_path / "state"
    result = run_ocw(
        "up", "flux", "--engine", "process", "-d", "--port", port, "--state-dir", str(state), timeout=30, env=user_env()
    )
    assert result.code == 2
    assert f"--port: expected a port number 1-65535, or 0 for any free port, found '{port}'" in result.stderr
    assert not state.exists()

"""`ocw up` with real OpenCode, real git and the real init step, seeded through --secrets: what a user of the
workspace sees (FLUX-01..08), and that the token stays out of every place it must not reach."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.tokens import copilot_document, random_text
from up.helpers import Local, fake_tokens, running_workspace, write_secrets

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def tokens() -> dict[str, str]:
    return fake_tokens()


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory, tokens: dict[str, str]) -> Iterator[Local]:
    with running_workspace(tmp_path_factory.mktemp("up"), tokens) as local:
        yield local


@pytest.fixture
def workspace(started: Local) -> Local:
    """The module's workspace, running (the tests that restart it leave it so, unless they failed midway)."""
    return started.up_unless_running()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "dummy", path)


def test_every_path_asks_for_the_password_and_the_right_one_opens_it(workspace: Local) -> None:
    paths = {_concrete(p) for p in workspace.json("/doc")["paths"]}
    assert len(paths) > 20  # the server's own API description, not a hand-picked list
    with httpx.Client(base_url=workspace.url, timeout=30) as anonymous:  # one client for the 160-odd requests
        for path in sorted({"/", "/session", "/global/health", *paths}):
            response = anonymous.get(path)
            assert response.status_code == 401, path
            assert response.headers["www-authenticate"].startswith("Basic"), path
    for path in ("/", "/session", "/global/health"):
        assert workspace.get(path).status_code == 200, path
    wrong = httpx.get(workspace.url + "/session", auth=("opencode", "not-the-password"))
    assert wrong.status_code == 401


def _connected(workspace: Local) -> dict[str, Any]:
    """The connected providers by id, each with its models: GET /config/providers, which lists OpenCode's provider
    state itself. Every provider it lists is also in `connected` of GET /provider (that one adds those with a stored
    login), with the same models; /provider adds the whole models catalogue as well (6 MB, a second or two of the
    server's CPU per call, against a few milliseconds here)."""
    return {p["id"]: p for p in workspace.json("/config/providers")["providers"]}


def test_copilot_is_connected_with_models(workspace: Local) -> None:
    providers = _connected(workspace)
    assert "github-copilot" in providers, sorted(providers)
    assert providers["github-copilot"]["models"]


def test_working_directory_is_the_manifests_translated_and_a_clone_of_the_source(workspace: Local) -> None:
    paths = workspace.json("/path")
    assert Path(paths["directory"]) == workspace.clone
    assert Path(paths["home"]) == workspace.home
    origin = _git(workspace.clone, "remote", "get-url", "origin")
    assert origin == workspace.source
    assert _git(workspace.clone, "rev-parse", "HEAD") == _git(Path(workspace.source), "rev-parse", "HEAD")
    assert (workspace.home / ".local" / "share" / "opencode" / "opencode.db").is_file()


def test_the_token_reaches_no_log_no_git_config_no_volume_file_no_command_line(
    workspace: Local, tokens: dict[str, str]
) -> None:
    pat, password = tokens["pat"], tokens["password"]
    # The token did reach the pod's Secret volume (so the scan below is meaningful)...
    assert (workspace.root / "run" / "secret" / "GITHUB_TOKEN").read_text() == pat
    # ...and nowhere else: not the logs, not the workspace volume (git config included).
    for folder in (workspace.root / "logs", workspace.home):
        for file in folder.rglob("*"):
            if file.is_file() and not file.is_symlink():
                content = file.read_bytes()
                assert pat.encode() not in content, file
                if folder.name == "logs":
                    assert password.encode() not in content, file
    assert pat not in (workspace.clone / ".git" / "config").read_text()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            content = cmdline.read_bytes()
        except OSError:
            continue
        assert pat.encode() not in content and password.encode() not in content, cmdline


def test_restarts_keep_sessions_work_and_the_pods_copilot_login_until_the_secret_changes(
    workspace: Local, tokens: dict[str, str]
) -> None:
    """Two restarts, each what a user does: `ocw down` and `ocw up` with the Secret unchanged (sessions, uncommitted
    work and a login made inside the pod survive, nothing is cloned again, and `ocw up` says the config is in force),
    then a kill -9 while sessions are being written and `ocw up` with a changed Copilot secret (no confirmed session is
    lost, the stale record does not block the start, and the new secret replaces the Copilot entry)."""
    assert workspace.secrets_file is not None
    auth_file = workspace.home / ".local" / "share" / "opencode" / "auth.json"
    assert json.loads(auth_file.read_text())["github-copilot"]["refresh"] == tokens["copilot"]
    created = {workspace.create_session(f"before restart {i}") for i in range(3)}
    dirty = workspace.clone / "README.md"
    dirty.write_text("uncommitted work\n")
    pod_login = copilot_document(random_text("gho_"))  # a login made inside the pod since the last seed
    auth_file.write_text(pod_login)
    workspace.down()
    assert not (workspace.root / "run").exists()  # the Secret's files go with the pod
    started = workspace.up()
    assert started.code == 0, started.stdout + started.stderr
    assert "config:    sharing disabled, autoupdate off (GET /config)" in started.stdout, started.stdout
    assert created <= workspace.session_ids()
    assert dirty.read_text() == "uncommitted work\n"
    init_log = (workspace.root / "logs" / "init.log").read_text()
    assert "not cloning" in init_log and "cloning into" not in init_log
    assert auth_file.read_text() == pod_login  # the Secret is unchanged: the pod's own login stays
    assert "github-copilot" in _connected(workspace)
    rotated = copilot_document(random_text("gho_"))
    write_secrets(workspace.secrets_file, tokens["pat"], tokens["password"], rotated)
    confirmed = _kill_9_while_writing_sessions(workspace)
    workspace.up_ok()  # a stale record from a killed server does not block a start
    assert set(confirmed) <= workspace.session_ids()
    database = workspace.home / ".local" / "share" / "opencode" / "opencode.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # A changed Secret replaces the Copilot entry (the file is rewritten by jq, so compare documents).
    assert json.loads(auth_file.read_text()) == json.loads(rotated)
    assert "github-copilot" in _connected(workspace)


def _kill_9_while_writing_sessions(workspace: Local) -> list[str]:
    """SIGKILL to OpenCode once 15 sessions are confirmed, while more are being created; returns those confirmed."""
    confirmed: list[str] = []
    stop = threading.Event()

    def write() -> None:
        with httpx.Client(auth=("opencode", workspace.password()), timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.post(workspace.url + "/session", json={"title": "under fire"})
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    confirmed.append(response.json()["id"])

    writer = threading.Thread(target=write)
    writer.start()
    while len(confirmed) < 15:
        threading.Event().wait(0.01)
    os.kill(workspace.pid(), signal.SIGKILL)
    stop.set()
    writer.join()
    return confirmed


def _git(repo: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_the_workspace_config_is_in_force(workspace: Local) -> None:
    """What the server answers, not what the manifest asks: sharing off, autoupdate off. (That `ocw up` says so is
    asserted on the restart above.)"""
    config = workspace.json("/config")
    assert config["share"] == "disabled"
    assert config["autoupdate"] is False

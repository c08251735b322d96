"""`ocw secrets init` creates only what is missing; `ocw secrets status` reports without showing a value, and
asks a (local) Copilot API whether the stored login still works."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ALL_VARIABLES,
    CONFIG,
    FLUX_COPILOT,
    PROJECT,
    SHARED_VARIABLES,
    CopilotLogin,
    Doppler,
    assert_nowhere,
    ocw,
    run_watched,
)

from support.tokens import random_text


def test_init_creates_the_missing_and_keeps_the_rest(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    existing_pat = random_text("github_pat_", 60)
    doppler.api.add_config(PROJECT, CONFIG, {"OPENCODE_HA_GITHUB_PAT": existing_pat})
    new_pat = random_text("ghp_")

    result = run_watched(ocw("init"), cli_env, cwd=tmp_path, stdin=new_pat + "\n")
    assert result.returncode == 0, result.stderr
    stored = doppler.stored()
    assert set(stored) == ALL_VARIABLES
    assert stored["OPENCODE_HA_GITHUB_PAT"] == existing_pat
    assert stored["OPENCODE_FLUX_GITHUB_PAT"] == new_pat
    assert stored[FLUX_COPILOT] == login.canonical()
    passwords = [stored["OPENCODE_FLUX_PASSWORD"], stored["OPENCODE_HA_PASSWORD"]]
    assert all(len(p) == 32 and p.isalnum() for p in passwords)
    assert passwords[0] != passwords[1]
    assert "OPENCODE_HA_GITHUB_PAT (opencode-ha): kept" in result.stdout
    assert "OPENCODE_FLUX_PASSWORD (opencode-flux): created" in result.stdout
    for secret in (*passwords, new_pat, existing_pat, login.token):
        assert_nowhere(secret, result)

    again = run_watched(ocw("init"), cli_env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert doppler.stored() == stored
    assert again.stdout.count(": kept") == 6


def test_init_force_replaces_and_shows_the_password_only_when_asked(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    pat = random_text("ghp_")
    assert run_watched(ocw("init", "--workspace", "flux"), cli_env, cwd=tmp_path, stdin=pat).returncode == 0
    old_password = doppler.stored()["OPENCODE_FLUX_PASSWORD"]

    result = run_watched(
        ocw("init", "--workspace", "flux", "--force", "--show-password", "--json"), cli_env, cwd=tmp_path, stdin=pat
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    new_password = doppler.stored()["OPENCODE_FLUX_PASSWORD"]
    assert new_password != old_password
    assert report["passwords"] == {"opencode-flux": new_password}
    outcomes = {v["name"]: v["outcome"] for v in report["variables"]}
    assert outcomes == {
        "OPENCODE_FLUX_GITHUB_PAT": "unchanged",
        "OPENCODE_FLUX_PASSWORD": "replaced",
        "OPENCODE_FLUX_COPILOT_AUTH_JSON": "unchanged",
    }
    assert not any(line for line in result.command_lines if new_password in line)


@pytest.mark.parametrize(
    "case",
    [
        ("\n", "no GitHub token on stdin: one is needed for opencode-flux, opencode-ha"),
        ("ghp_one two\n", "the GitHub token for opencode-flux contains spaces or unprintable characters"),
        ("a\nb\nc\n", "expected 2 GitHub token line(s) on stdin (for opencode-flux, opencode-ha) or one for all"),
    ],
)
def test_init_rejects_bad_token_input_before_writing(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path, case: tuple[str, str]
) -> None:
    stdin, expected = case
    result = run_watched(ocw("init"), cli_env, cwd=tmp_path, stdin=stdin)
    assert result.returncode == 2
    assert expected in result.stderr
    assert doppler.stored() == {}


def test_init_dry_run_asks_nothing_and_writes_nothing(
    doppler: Doppler, cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_watched(ocw("init", "--dry-run"), cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("would create") == 6
    assert doppler.api.writes() == []


class _CopilotApi(BaseHTTPRequestHandler):
    accepted: str = ""
    seen: list[str] = []  # noqa: RUF012 - one list per test, set by the fixture

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        ok = self.path == "/models" and self.headers.get("Authorization") == f"Bearer {self.accepted}"
        body = json.dumps({"data": [{"id": "gpt-4.1"}, {"id": "claude-sonnet-4"}]} if ok else {"error": "bad"})
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def copilot_api() -> Iterator[tuple[type[_CopilotApi], str]]:
    handler = type("Handler", (_CopilotApi,), {"seen": [], "accepted": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_status_reports_presence_without_values(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    password = random_text("", 32)
    doppler.api.add_config(PROJECT, CONFIG, {"OPENCODE_FLUX_PASSWORD": password, FLUX_COPILOT: "{not json"})
    result = run_watched(ocw("status", "--json"), cli_env, cwd=tmp_path)
    assert result.returncode == 1
    report = {v["name"]: v for v in json.loads(result.stdout)["variables"]}
    assert set(report) == ALL_VARIABLES | SHARED_VARIABLES
    assert report["OPENCODE_FLUX_PASSWORD"]["present"] is True
    assert report["OPENCODE_FLUX_PASSWORD"]["length"] == 32
    assert report["OPENCODE_HA_PASSWORD"]["problems"] == ["missing"]
    assert report[FLUX_COPILOT]["copilot_entry_valid"] is False
    assert "is not JSON" in report[FLUX_COPILOT]["problems"][0]
    assert_nowhere(password, result)


def test_status_online_asks_github_with_the_stored_token(
    doppler: Doppler,
    cli_env: dict[str, str],
    login: CopilotLogin,
    tmp_path: Path,
    copilot_api: tuple[type[_CopilotApi], str],
) -> None:
    handler, url = copilot_api
    handler.accepted = login.token
    assert run_watched(ocw("init"), cli_env, cwd=tmp_path, stdin=random_text("ghp_")).returncode == 0
    doppler.api.add_config(PROJECT, CONFIG, {name: random_text("", 24) for name in SHARED_VARIABLES})
    env = {**cli_env, "OCW_COPILOT_API_URL": url}

    result = run_watched(ocw("status", "--online"), env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("accepted: GitHub accepts the token (2 models listed)") == 2
    assert handler.seen == [f"Bearer {login.token}"] * 2
    assert_nowhere(login.token, result)

    handler.accepted = random_text("gho_")  # GitHub revoked the stored login
    result = run_watched(ocw("status", "--online", "--json", "--workspace", "ha"), env, cwd=tmp_path)
    assert result.returncode == 1
    copilot = next(v for v in json.loads(result.stdout)["variables"] if v["role"] == "COPILOT_AUTH_JSON")
    assert copilot["github"]["verdict"] == "rejected"
    assert "revoked or expired" in copilot["problems"][0]


def test_status_lists_the_shared_variables_the_workspaces_read(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    """The VolSync credentials are the cluster's: listed once, for both workspaces; missing ones fail the status."""
    assert run_watched(ocw("init"), cli_env, cwd=tmp_path, stdin=random_text("ghp_")).returncode == 0
    assert set(doppler.stored()) == ALL_VARIABLES  # init creates only the workspaces' own variables
    restic_password = random_text("", 40)
    doppler.api.add_config(PROJECT, CONFIG, {"VOLSYNC_RESTIC_PASSWORD": restic_password})

    result = run_watched(ocw("status", "--json"), cli_env, cwd=tmp_path)
    assert result.returncode == 1
    shared = {v["name"]: v for v in json.loads(result.stdout)["variables"] if v["role"] == "SHARED"}
    assert set(shared) == SHARED_VARIABLES
    assert shared["VOLSYNC_RESTIC_PASSWORD"]["present"] is True
    assert shared["VOLSYNC_RESTIC_PASSWORD"]["workspace"] == "opencode-flux, opencode-ha"
    assert shared["MINIO_ROOT_USER"]["problems"] == ["missing"]
    text = run_watched(ocw("status"), cli_env, cwd=tmp_path).stdout
    assert "MINIO_ROOT_USER (shared with the cluster, read by opencode-flux, opencode-ha): missing" in text
    assert "3 of 10 variable(s) need attention" in text
    assert_nowhere(restic_password, result)


def test_init_replaces_a_stored_password_the_workspace_would_refuse_and_status_flags_it(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    """An empty Doppler value renders an empty key, with which OpenCode serves everyone: the container refuses to
    start with fewer than 16 characters, so init never keeps such a value (and says so)."""
    short, empty = random_text("", 15), ""
    doppler.api.add_config(PROJECT, CONFIG, {"OPENCODE_FLUX_PASSWORD": short, "OPENCODE_HA_PASSWORD": empty})
    status = run_watched(ocw("status", "--json"), cli_env, cwd=tmp_path)
    problems = {v["name"]: v["problems"] for v in json.loads(status.stdout)["variables"]}
    assert "the password is shorter than 16 characters" in problems["OPENCODE_FLUX_PASSWORD"][0]
    assert "the password is empty" in problems["OPENCODE_HA_PASSWORD"][0]
    assert status.returncode == 1

    dry = run_watched(ocw("init", "--dry-run", "--json"), cli_env, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    planned = {v["name"]: v["outcome"] for v in json.loads(dry.stdout)["variables"]}
    assert planned["OPENCODE_FLUX_PASSWORD"] == planned["OPENCODE_HA_PASSWORD"] == "would-replace"
    assert doppler.stored()["OPENCODE_FLUX_PASSWORD"] == short

    result = run_watched(ocw("init", "--json"), cli_env, cwd=tmp_path, stdin=random_text("ghp_") + "\n")
    assert result.returncode == 0, result.stderr
    stored = doppler.stored()
    assert len(stored["OPENCODE_FLUX_PASSWORD"]) == len(stored["OPENCODE_HA_PASSWORD"]) == 32
    outcomes = {v["name"]: v["outcome"] for v in json.loads(result.stdout)["variables"]}
    assert outcomes["OPENCODE_FLUX_PASSWORD"] == outcomes["OPENCODE_HA_PASSWORD"] == "replaced"
    assert "OPENCODE_FLUX_PASSWORD (opencode-flux) is shorter than 16 characters" in result.stderr
    assert_nowhere(short, result)
    after = json.loads(run_watched(ocw("status", "--json"), cli_env, cwd=tmp_path).stdout)["variables"]
    assert [v["problems"] for v in after if v["role"] == "PASSWORD"] == [[], []]

"""`scripts/seed-copilot-auth.sh` / `ocw secrets seed-copilot`: the Copilot login reaches every workspace variable
once, re-runs change nothing, no token is ever printed or passed as an argument, and failures say what happened."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import (
    FLUX_COPILOT,
    HA_COPILOT,
    SEED_SCRIPT,
    CopilotLogin,
    Doppler,
    assert_nowhere,
    ocw,
    run_watched,
    write_auth_file,
)

from ocw.secrets.opencode_version import workspace_version
from ocw.workspace import find_workspace, load_workspaces
from support.tokens import random_text


def test_script_seeds_then_reports_unchanged(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    first = run_watched([SEED_SCRIPT], cli_env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"{FLUX_COPILOT} (opencode-flux): updated (was missing)" in first.stdout
    assert f"{HA_COPILOT} (opencode-ha): updated (was missing)" in first.stdout
    assert doppler.stored() == {FLUX_COPILOT: login.canonical(), HA_COPILOT: login.canonical()}
    # The real CLI ran (the sampler saw it) and the token never was an argument, nor in any output.
    assert any("doppler" in line and "secrets set" in line for line in first.command_lines)
    assert_nowhere(login.token, first)

    writes_before = len(doppler.api.writes())
    second = run_watched([SEED_SCRIPT], cli_env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"{FLUX_COPILOT} (opencode-flux): unchanged" in second.stdout
    assert f"{HA_COPILOT} (opencode-ha): unchanged" in second.stdout
    assert len(doppler.api.writes()) == writes_before
    assert_nowhere(login.token, second)


def test_dry_run_writes_nothing_and_shows_no_value(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    result = run_watched([SEED_SCRIPT, "--dry-run", "--workspace", "ha"], cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{HA_COPILOT} (opencode-ha): would update (missing)"
    assert doppler.api.writes() == []
    assert_nowhere(login.token, result)


def test_json_report_and_a_changed_login(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    assert run_watched(ocw("seed-copilot", "--workspace", "flux"), cli_env, cwd=tmp_path).returncode == 0
    assert set(doppler.stored()) == {FLUX_COPILOT}
    renewed = write_auth_file(login.path, random_text("gho_"), enterpriseUrl="github.example.org")

    result = run_watched(ocw("seed-copilot", "--json"), cli_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    outcomes = {v["name"]: (v["before"], v["outcome"]) for v in report["variables"]}
    assert outcomes == {FLUX_COPILOT: ("different", "updated"), HA_COPILOT: ("missing", "updated")}
    assert (report["project"], report["config"]) == ("k3s-cluster", "prd")
    assert json.loads(doppler.stored()[FLUX_COPILOT])["github-copilot"]["enterpriseUrl"] == "github.example.org"
    assert_nowhere(renewed.token, result)


def test_rest_api_path_without_the_cli(
    doppler: Doppler, api_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    first = run_watched(ocw("seed-copilot"), api_env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "via Doppler's REST API" in first.stderr
    posted = [w.json() for w in doppler.api.writes()]
    assert {"project": "k3s-cluster", "config": "prd", "secrets": {FLUX_COPILOT: login.canonical()}} in posted
    second = run_watched(ocw("seed-copilot"), api_env, cwd=tmp_path)
    assert second.stdout.count("unchanged") == 2
    assert len(doppler.api.writes()) == 2
    assert_nowhere(login.token, second)
    assert_nowhere(doppler.token, second)


def test_a_failed_second_write_names_what_was_written(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    doppler.api.fail("POST", "/v3/configs/config/secrets", status=500, messages=["Internal error"], after=1)
    result = run_watched(ocw("seed-copilot"), cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"failed to write {HA_COPILOT} (opencode-ha)" in result.stderr
    assert f"already written: {FLUX_COPILOT} (opencode-flux)" in result.stderr
    assert "run the same command again" in result.stderr
    assert doppler.stored() == {FLUX_COPILOT: login.canonical()}
    assert_nowhere(login.token, result)


def test_bad_auth_file_stops_before_doppler_is_touched(
    doppler: Doppler, cli_env: dict[str, str], tmp_path: Path
) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"anthropic": {"type": "oauth", "refresh": random_text("sk-ant-")}}))
    result = run_watched([SEED_SCRIPT, "--auth-file", str(auth)], cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert f"{auth} has no 'github-copilot' entry (providers present: anthropic)" in result.stderr
    assert "opencode auth login" in result.stderr
    assert doppler.api.requests == []

    missing = run_watched([SEED_SCRIPT, "--auth-file", str(tmp_path / "none.json")], cli_env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


def test_unknown_workspace_and_unknown_project(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    result = run_watched([SEED_SCRIPT, "--workspace", "nope"], cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "no workspace named 'nope'" in result.stderr
    assert "opencode-flux (flux)" in result.stderr

    result = run_watched([SEED_SCRIPT, "--project", "k8s-cluster"], cli_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Doppler has no project 'k8s-cluster'" in result.stderr
    assert doppler.stored() == {}


REPO = Path(__file__).resolve().parents[2]
OPENCODE_BIN = REPO / "tools" / "node_modules" / ".bin"


def _with_opencode(env: dict[str, str]) -> dict[str, str]:
    """The user's PATH with the real, pinned `opencode` on it (tools/ holds the version the workspaces run)."""
    return {**env, "PATH": f"{OPENCODE_BIN}:{env['PATH']}"}


def _tree_running(version: str, tmp_path: Path) -> Path:
    """A copy of the tree whose workspaces run OpenCode `version`."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "kubernetes", copy / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", copy / "cluster-vars.example.yaml")
    pinned = workspace_version(find_workspace(load_workspaces(REPO), "flux"))
    for ks in (copy / "kubernetes/apps/opencode").glob("*/ks.yaml"):
        text = ks.read_text()
        assert pinned and f"WORKSPACE_IMAGE_TAG: {pinned}\n" in text
        ks.write_text(text.replace(f"WORKSPACE_IMAGE_TAG: {pinned}\n", f"WORKSPACE_IMAGE_TAG: {version}\n"))
    return copy


def test_same_opencode_version_here_and_in_the_workspaces_warns_nothing(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    result = run_watched(ocw("seed-copilot", "--json"), _with_opencode(cli_env), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    local = document["opencode_version"]["local"]
    assert local and set(document["opencode_version"]["workspaces"].values()) == {local}
    assert document["warnings"] == []
    assert "warning" not in result.stderr


def test_a_different_opencode_version_in_the_workspaces_is_warned_about(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    repo = _tree_running("1.17.0", tmp_path)

    result = run_watched(ocw("seed-copilot", "--repo", str(repo)), _with_opencode(cli_env), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "opencode-flux runs 1.17.0" in result.stderr
    assert "opencode-ha runs 1.17.0" in result.stderr
    assert "opencode-ai@1.17.0 auth login" in result.stderr
    assert doppler.stored() == {FLUX_COPILOT: login.canonical(), HA_COPILOT: login.canonical()}  # still seeded
    assert_nowhere(login.token, result)


def test_no_local_opencode_is_said_rather_than_assumed(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, tmp_path: Path
) -> None:
    result = run_watched(ocw("seed-copilot", "--workspace", "flux"), cli_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "cannot compare OpenCode versions: no `opencode` on PATH" in result.stderr

"""`ocw secrets` and scripts/seed-copilot-auth.sh on a cluster repository that `ocw install` wrote into, with a third
workspace added: every command covers every workspace of that repository (not this project's two), and
`ocw secrets set WORKSPACE KEY` rotates exactly one secret of one workspace, through the real Doppler CLI."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import (
    CONFIG,
    OCW,
    PROJECT,
    REPO,
    CopilotLogin,
    Doppler,
    assert_nowhere,
    run_watched,
)

from ocw.schemas.catalog import VENDORED_SCHEMAS
from support.tokens import random_text

FIXTURE = REPO / "tests" / "fixtures" / "k8s-cluster-min"
CLUSTER_VARS = "SECRET_DOMAIN: example.com\nSVC_INTERNAL_GW_ADDR: 10.20.0.21\nSVC_EXTERNAL_GW_ADDR: 10.20.0.22\n"
DOCS = ("OPENCODE_DOCS_GITHUB_PAT", "OPENCODE_DOCS_PASSWORD", "OPENCODE_DOCS_COPILOT_AUTH_JSON")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the cluster repository fixture with the tree and a third workspace, `docs`, installed."""
    folder = tmp_path_factory.mktemp("installed")
    root = folder / "k8s-cluster"
    shutil.copytree(FIXTURE, root)
    vars_file = folder / "vars.yaml"
    vars_file.write_text(CLUSTER_VARS)
    command: list[str | Path] = [OCW, "install", "--repo", root, "--vars", vars_file, "--schemas", VENDORED_SCHEMAS]
    command += ["--workspace", "docs", "--repository", "https://github.com/jbaker48/docs.git"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=folder)
    assert done.returncode == 0, done.stderr
    return root, vars_file


def test_init_dry_run_from_inside_the_repository_covers_its_third_workspace(
    doppler: Doppler, cli_env: dict[str, str], installed: tuple[Path, Path]
) -> None:
    root, vars_file = installed
    # No --repo: the repository around the current folder, as git finds its work tree.
    result = run_watched([OCW, "secrets", "init", "--dry-run", "--vars", vars_file], cli_env, cwd=root / "kubernetes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("would create") == 9
    for name in DOCS:
        assert f"{name} (opencode-docs): would create" in result.stdout
    assert doppler.api.writes() == []


def test_the_installed_seed_script_covers_every_workspace_of_its_repository(
    doppler: Doppler, cli_env: dict[str, str], login: CopilotLogin, installed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, vars_file = installed
    script = root / "scripts" / "seed-copilot-auth.sh"

    result = run_watched([script, "--vars", vars_file], cli_env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert set(doppler.stored()) == {f"OPENCODE_{ws}_COPILOT_AUTH_JSON" for ws in ("DOCS", "FLUX", "HA")}
    assert "OPENCODE_DOCS_COPILOT_AUTH_JSON (opencode-docs): updated (was missing)" in result.stdout
    assert_nowhere(login.token, result)


def test_set_rotates_one_secret_of_one_workspace(
    doppler: Doppler, cli_env: dict[str, str], installed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, vars_file = installed
    before = {name: random_text("old-", 24) for name in (*DOCS, "OPENCODE_FLUX_PASSWORD", "OPENCODE_HA_PASSWORD")}
    doppler.api.add_config(PROJECT, CONFIG, before)
    new_password = random_text("", 24)
    command: list[str | Path] = [OCW, "secrets", "set", "docs", "password", "--repo", root, "--vars", vars_file]

    result = run_watched(command, cli_env, cwd=tmp_path, stdin=new_password + "\n")

    assert result.returncode == 0, result.stderr
    assert doppler.stored() == {**before, "OPENCODE_DOCS_PASSWORD": new_password}
    assert "OPENCODE_DOCS_PASSWORD (opencode-docs): replaced" in result.stdout
    assert "annotate externalsecret" in result.stdout, "it says how to make the cluster follow now"
    assert any("doppler" in line and "secrets set" in line for line in result.command_lines), "the real CLI wrote it"
    assert_nowhere(new_password, result)

    again = run_watched(command, cli_env, cwd=tmp_path, stdin=new_password + "\n")
    assert again.returncode == 0, again.stderr
    assert "OPENCODE_DOCS_PASSWORD (opencode-docs): unchanged" in again.stdout

    short = run_watched(command, cli_env, cwd=tmp_path, stdin="short\n")
    assert short.returncode == 2
    assert "16" in short.stderr and "Nothing was written" in short.stderr
    assert doppler.stored()["OPENCODE_DOCS_PASSWORD"] == new_password

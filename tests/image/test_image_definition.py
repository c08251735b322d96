"""The workspace image as built: its OpenCode pin, its commands, its user, its entrypoint, nothing secret inside."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from ocw import toolchain
from ocw.image import definition
from ocw.image.build import INPUTS_LABEL
from ocw.workspace import load_workspaces
from support.image import WorkspaceImage

REPO = Path(__file__).resolve().parents[2]


def test_the_image_installs_the_opencode_version_the_project_tests_with() -> None:
    assert definition.opencode_version() == toolchain.pinned_opencode_version()
    lock = json.loads((REPO / "tools" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/opencode-linux-x64"]["version"] == definition.opencode_version()
    assert definition.local_image().split(":")[1].startswith(definition.opencode_version() + "-")


def test_the_image_provides_every_listed_command_and_the_pinned_opencode(workspace_image: WorkspaceImage) -> None:
    commands = " ".join(definition.image_commands())
    script = f'for c in {commands}; do command -v "$c" >/dev/null || echo "missing $c"; done; opencode --version'
    result = workspace_image.run(
        "run",
        "--rm",
        "--read-only",
        "-e",
        "HOME=/tmp",
        "--entrypoint",
        '["/bin/sh","-c"]',
        workspace_image.name,
        script,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [definition.opencode_version()], result.stdout


def test_the_image_runs_as_uid_1000_under_tini_with_opencode_as_its_command(workspace_image: WorkspaceImage) -> None:
    result = workspace_image.run("image", "inspect", workspace_image.name)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)[0]["Config"]
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"] == list(definition.ENTRYPOINT)
    assert config["Cmd"][0] == "opencode"
    assert config["Labels"][INPUTS_LABEL] == definition.inputs_digest()
    names = sorted(entry.split("=", 1)[0] for entry in config["Env"])
    assert names == ["LANG", "PATH"]  # no token, proxy or CA setting baked in


def test_the_build_secret_and_the_package_caches_are_not_in_the_image(workspace_image: WorkspaceImage) -> None:
    script = "ls /run/secrets /var/lib/apt/lists/*_Packages /root/.cache 2>/dev/null; ls /tmp"
    result = workspace_image.run(
        "run", "--rm", "--user", "0", "--entrypoint", '["/bin/sh","-c"]', workspace_image.name, script
    )
    assert result.stdout.strip() == "", result.stdout


def test_the_publishing_workflow_builds_this_folder_under_the_name_the_manifests_pin() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "opencode-workspace-image.yaml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    build = next(step for step in steps if str(step.get("uses", "")).startswith("docker/build-push-action"))
    assert REPO / build["with"]["context"] == definition.definition_dir()
    meta = next(step for step in steps if step.get("id") == "meta")["run"]
    assert "/opencode-workspace" in meta and "ARG OPENCODE_VERSION=" in meta
    helmrelease = (REPO / "kubernetes" / "components" / "opencode-workspace" / "helmrelease.yaml").read_text()
    assert "${WORKSPACE_IMAGE_REPOSITORY:=ghcr.io/jbaker48/opencode-workspace}" in helmrelease
    assert "tag: ${WORKSPACE_IMAGE_TAG}" in helmrelease
    for ks in sorted((REPO / "kubernetes" / "apps" / "opencode").glob("*/ks.yaml")):
        text = ks.read_text()
        assert "# renovate: datasource=docker depName=ghcr.io/jbaker48/opencode-workspace\n" in text, ks
        assert f"      WORKSPACE_IMAGE_TAG: {definition.opencode_version()}\n" in text, ks


def test_the_workflow_tag_step_reads_the_pin_as_the_tests_do(tmp_path: Path) -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "opencode-workspace-image.yaml").read_text())
    script = next(step for step in workflow["jobs"]["build"]["steps"] if step.get("id") == "meta")["run"]
    script = script.replace("${{ github.repository_owner }}", "JBaker48")
    output = tmp_path / "output"
    subprocess.run(
        ["bash", "-e", "-c", script], cwd=REPO, env={"GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"}, check=True
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert values["version"] == definition.opencode_version()
    first_tag = values["tags"].split(",")[0]
    assert first_tag.startswith(f"ghcr.io/jbaker48/opencode-workspace:{definition.opencode_version()}-")


def test_both_containers_of_every_workspace_run_the_one_workspace_image() -> None:
    workspaces = load_workspaces(REPO)
    assert workspaces
    for workspace in workspaces:
        assert workspace.init_container is not None
        images = {workspace.init_container.image, workspace.app_container.image}
        assert images == {f"ghcr.io/jbaker48/opencode-workspace:{definition.opencode_version()}"}, workspace.name

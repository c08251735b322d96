"""No start without a password: the OpenCode container, run in the workspace image with the command and scripts
the manifests give it, refuses to start (one log line, exit 1) when OPENCODE_SERVER_PASSWORD is unset, empty or
shorter than 16 characters; `ocw up` refuses such a password before anything runs. That it starts with 16 (and then
refuses a request without the password) is shown in both engines on a start that
up/test_stop_at_any_moment.py makes anyway: `ocw down` just after it answers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocw.up.pod import serve_address
from ocw.workspace import Workspace, find_workspace, load_workspaces
from support.cli import run_ocw, user_env
from support.image import WorkspaceImage
from support.local_workspace import WORKSPACE
from support.ports import free_port
from support.tokens import copilot_document, random_text
from up.helpers import REPO, make_source_repo, write_secrets

pytestmark = pytest.mark.timeout(600)

SCRIPTS = "/opt/opencode-workspace"


@pytest.fixture(scope="module")
def flux() -> Workspace:
    return find_workspace(load_workspaces(REPO), WORKSPACE)


@pytest.fixture
def scripts(flux: Workspace, tmp_path: Path) -> Path:
    """The scripts ConfigMap as the pod mounts it (mode 0555), from the built tree."""
    config_map = next(m for m in flux.built.manifests if m.kind == "ConfigMap" and m.name.endswith("-scripts"))
    folder = tmp_path / "scripts"
    folder.mkdir()
    for name, text in (config_map.obj.get("data") or {}).items():
        (folder / name).write_text(str(text))
        (folder / name).chmod(0o555)
    folder.chmod(0o555)
    return folder


def _run(image: WorkspaceImage, flux: Workspace, scripts: Path, env: dict[str, str], *extra: str) -> list[str]:
    """`podman run` of the OpenCode container: the manifest's args (its port made free here), user, read-only root,
    no capabilities, the scripts mount; the environment from a file, not the argument list."""
    args, _, _ = serve_address(list(flux.app_container.args), "127.0.0.1", free_port())
    home = scripts.parent / "home"  # OpenCode's data; the pod's volume, owned by its user
    home.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(home, 1000, 1000)
    env_file = scripts.parent / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {"HOME": "/home/workspace", **env}.items()))
    return [
        "run", "--rm", "--network", "host", "--user", "1000:1000", "--read-only", "--cap-drop", "all",
        "--security-opt", "no-new-privileges", "--env-file", str(env_file),
        "--mount", f"type=bind,source={home},destination=/home/workspace",
        "--mount", f"type=bind,source={scripts},destination={SCRIPTS},ro=true", *extra, image.name, *args,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("password", "problem"),
    [(None, "is empty or not set"), ("", "is empty or not set"), ("a" * 15, "is shorter than 16 characters")],
    ids=["unset", "empty", "15-characters"],
)
def test_the_opencode_container_refuses_to_start_without_a_usable_password(
    workspace_image: WorkspaceImage, flux: Workspace, scripts: Path, password: str | None, problem: str
) -> None:
    assert flux.app_container.args[:2] == ["/bin/sh", f"{SCRIPTS}/opencode-serve"]  # the manifest's own command
    env = {} if password is None else {"OPENCODE_SERVER_PASSWORD": password}
    result = workspace_image.run(*_run(workspace_image, flux, scripts, env), timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"opencode-serve: error: refusing to start: OPENCODE_SERVER_PASSWORD {problem}")
    assert "ocw secrets init" in lines[0]
    if password:
        assert password not in lines[0]


@pytest.fixture
def short_password_secrets(tmp_path: Path) -> Iterator[Path]:
    yield write_secrets(tmp_path / "secrets.env", random_text("ghp_"), "a" * 15, copilot_document(random_text("gho_")))


def test_ocw_up_refuses_a_short_password_before_anything_runs(short_password_secrets: Path, tmp_path: Path) -> None:
    """The refusal comes from the plan of the pod (ocw/up/plan.py), made alike for both engines before either runs
    anything: one engine shows it."""
    state = tmp_path / "state"
    result = run_ocw(
        "up", "flux", "-d", "--engine", "process", "--secrets", str(short_password_secrets), "--source",
        str(make_source_repo(tmp_path / "source")), "--port", str(free_port()), "--state-dir", str(state),
        env=user_env(),
    )  # fmt: skip
    assert result.code == 2, result.stdout + result.stderr
    assert "OPENCODE_SERVER_PASSWORD that is shorter than 16 characters" in result.stderr
    assert "a" * 15 not in result.stdout + result.stderr
    assert not (state / WORKSPACE / "run").exists()

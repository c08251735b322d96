"""This machine's proxy and CA settings reach the workspace in both modes: `ocw up --source` of an HTTPS git
server with its own throwaway CA, reached through an HTTPS proxy, clones in a container and as processes. And
process mode offers OpenCode only the commands the image has."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocw.image.definition import image_commands
from ocw.up.toolbox import build_toolbox
from support.cli import run_ocw
from support.connect_proxy import ConnectProxy
from support.git_http_server import GitHttpServer, make_self_signed_certificate
from support.local_workspace import WORKSPACE
from support.tokens import copilot_document, random_text
from up.helpers import free_port, make_source_repo, write_secrets

pytestmark = pytest.mark.timeout(600)

PASSED_THROUGH = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[GitHttpServer, Path, str]]:
    tls = make_self_signed_certificate(tmp_path / "tls")
    root = tmp_path / "served"
    root.mkdir()
    source = make_source_repo(tmp_path / "source")
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(root / "repo.git")], check=True)
    token = random_text("ghp_")
    with GitHttpServer(root, token=token, tls=tls) as git_server:
        yield git_server, tls.certificate, token


@pytest.mark.parametrize("engine", ["process", "container"])
def test_a_private_https_server_with_its_own_ca_clones_through_the_proxy(
    engine: str, server: tuple[GitHttpServer, Path, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine == "container":
        request.getfixturevalue("workspace_image")
    git_server, ca_file, token = server
    url = git_server.url("repo.git")
    secrets = write_secrets(tmp_path / "secrets.env", token, random_text("pw_"), copilot_document(random_text("gho_")))
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCODE_", "XDG_")) and k not in PASSED_THROUGH}
    with ConnectProxy() as proxy:
        env |= {"GIT_SSL_CAINFO": str(ca_file), "HTTPS_PROXY": proxy.url, "https_proxy": proxy.url}
        args = ["up", "flux", "-d", "--engine", engine, "--source", url, "--secrets", str(secrets)]
        started = run_ocw(*args, "--port", str(free_port()), "--state-dir", str(state), env=env)
        try:
            assert started.code == 0, started.stdout + started.stderr
            clone = state / WORKSPACE / "volumes" / "home" / "git" / "k8s-cluster"
            assert (clone / "README.md").read_text() == "workspace source\n"
            assert f"CONNECT {git_server.authority}" in proxy.requests()
            assert git_server.requests(), "git never reached the server"
        finally:
            run_ocw("down", "flux", "--state-dir", str(state), "--timeout", "2", env=env)


def test_process_mode_path_holds_only_the_image_commands(tmp_path: Path) -> None:
    toolbox = build_toolbox(tmp_path / "bin")
    assert sorted(p.name for p in toolbox.folder.iterdir()) == sorted(toolbox.linked)
    assert set(toolbox.linked) | set(toolbox.missing) == set(image_commands())
    assert shutil.which("python3") is not None  # on this machine, but not in the image
    probe = subprocess.run(
        ["sh", "-c", "command -v git >/dev/null && echo git; command -v python3 || echo no-python3"],
        env={"PATH": str(toolbox.folder)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.stdout.split() == ["git", "no-python3"]

"""Committing and pushing from inside the workspace, through the credential helper, to a token-guarded git server.

The workspace clones `https://127.0.0.1:<port>/k8s-cluster.git` from tests/support/git_http_server.py (HTTPS with a
throwaway CA handed to `ocw up` as GIT_SSL_CAINFO, which it passes to the pod), with the token in the workspace
Secret as the manifests mount it. The agent's bash tool, a shell in the OpenCode container, commits and pushes a
branch. The push goes through only with the token, yet the token reaches no file on the volume, no log, no
command line (sampled from /proc throughout the push), not .git/config, and not the model provider.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.gitops import gitops_copy
from agent.workspace import AgentWorkspace, git, make_source_repository
from runtime.process_watch import ProcessWatch
from support.git_http_server import GitHttpServer, make_self_signed_certificate
from support.model_server import ModelServer, Turn
from up.helpers import copilot_document, fake_token, free_port, write_secrets

pytestmark = pytest.mark.timeout(600)

REPOSITORY = "k8s-cluster.git"
BRANCH = "agent/readme-fix"


@dataclass
class PushWorld:
    workspace: AgentWorkspace
    server: GitHttpServer
    token: str
    password: str

    @property
    def bare(self) -> Path:
        return self.server.project_root / REPOSITORY


def _start_world(base: Path, model: ModelServer, *, push: bool) -> Iterator[PushWorld]:
    token, password = fake_token("ghp_"), fake_token("pw_")
    tls = make_self_signed_certificate(base / "tls")
    source = make_source_repository(base / "source", {"README.md": b"# Cluster\n"})
    server_root = base / "server"
    server_root.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(server_root / REPOSITORY)], check=True)
    with GitHttpServer(server_root, token=token, tls=tls) as server:
        secrets = write_secrets(base / "secrets.env", token, password, copilot_document(fake_token("gho_")))
        workspace = AgentWorkspace(
            state_dir=base / "state",
            port=free_port(),
            source=server.url(REPOSITORY),
            model=model,
            secrets_file=secrets,
            repo=gitops_copy(base / "gitops", push=push),
            extra_env={"GIT_SSL_CAINFO": str(tls.certificate)},
        )
        workspace.up()
        try:
            yield PushWorld(workspace, server, token, password)
        finally:
            workspace.down()


@pytest.fixture(scope="module")
def push_enabled(tmp_path_factory: pytest.TempPathFactory, model: ModelServer) -> Iterator[PushWorld]:
    yield from _start_world(tmp_path_factory.mktemp("push-on"), model, push=True)


def _push_script(directory: str) -> list[Turn]:
    command = (
        "git switch -q -c agent/readme-fix && git add README.md && "
        "git -c user.name='Workspace Agent' -c user.email=agent@example.invalid commit -q -m 'Fix the README' && "
        "git push origin HEAD 2>&1; echo push-exit=$?"
    )
    return [
        Turn.call("read", filePath=f"{directory}/README.md"),
        Turn.call("write", filePath=f"{directory}/README.md", content="# Cluster\n\nEdited in the workspace.\n"),
        Turn.call("bash", command=command, description="Commit and push the change"),
        Turn.say("Pushed."),
    ]


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [
        path for path in folder.rglob("*") if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def test_agent_commits_and_pushes_through_the_credential_helper_without_leaking_the_token(
    push_enabled: PushWorld,
) -> None:
    world = push_enabled
    workspace = world.workspace
    directory = workspace.directory()
    session = workspace.new_session("push")
    world.server.clear_requests()

    with ProcessWatch([world.token.encode()]) as watch:
        workspace.prompt(session, "Edit the README, commit it on a branch and push it.", _push_script(directory))

    (bash,) = workspace.tool_parts(session, "bash")
    output = bash["state"]["output"]
    assert "push-exit=0" in output, output
    # The server holds the agent's commit, on the branch it pushed, with its content.
    pushed = git(world.bare, "rev-parse", f"refs/heads/{BRANCH}")
    assert pushed == git(workspace.clone, "rev-parse", "HEAD")
    assert git(world.bare, "show", f"{pushed}:README.md") == "# Cluster\n\nEdited in the workspace."
    # It got there with the token, which only the credential helper can have supplied.
    authorized = [r for r in world.server.requests() if r.authorized]
    assert any(r.path.endswith("/git-receive-pack") and r.method == "POST" for r in authorized), authorized
    assert {r.username for r in authorized} == {"x-access-token"}

    # The watch really sampled the push (a watch that saw nothing proves nothing)...
    assert watch.passes > 10 and watch.saw_command("git push"), sorted(watch.commands)[:50]
    # ...and no process held the token in its command line or environment.
    assert watch.sightings == []
    needle = world.token.encode()
    assert _files_holding(workspace.home, needle) == []  # the clone, .git/config, sessions, snapshots, logs
    assert _files_holding(workspace.logs, needle) == []
    assert world.token not in (workspace.clone / ".git" / "config").read_text()
    assert world.token not in output
    assert all(world.token not in str(c.body) for c in workspace.model.completions)  # nothing went to the model

"""A workspace as the pod has it: cloned over HTTPS from a token-guarded git server with the token in the workspace
Secret, started with `ocw up` from the tree, its agent driven by the stand-in model.

The git server is tests/support/git_http_server.py (git's own http-backend behind HTTP Basic, TLS with a throwaway
certificate); its CA reaches the pod as GIT_SSL_CAINFO, which `ocw up` passes through to both containers.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agent.gitops import gitops_copy, set_push
from agent.workspace import AgentWorkspace, make_source_repository
from support.git_http_server import GitHttpServer, make_self_signed_certificate
from support.model_server import ModelServer
from support.ports import free_port
from support.tokens import copilot_document, random_text
from up.helpers import write_secrets

REPOSITORY = "k8s-cluster.git"


@dataclass
class World:
    workspace: AgentWorkspace
    server: GitHttpServer
    token: str
    push: bool  # the push switch the running workspace was started with

    @property
    def bare(self) -> Path:
        """The repository on the git server."""
        return self.server.project_root / REPOSITORY

    def restart(self, *, push: bool) -> None:
        """Stop the workspace and start it again on its volume with the push switch as given in its `ks.yaml`: how a
        changed setting reaches the pod (Flux applies it, the Deployment replaces the pod)."""
        self.workspace.down()
        assert self.workspace.repo is not None
        set_push(self.workspace.repo, push=push)
        self.workspace.up()
        self.push = push

    def with_push(self, push: bool) -> World:
        """This world, restarted first if its push switch is not `push`."""
        if self.push != push:
            self.restart(push=push)
        return self


@contextmanager
def running_world(
    base: Path, model: ModelServer, engine: str, files: dict[str, bytes], *, push: bool
) -> Iterator[World]:
    """Serve a repository holding `files`, start the workspace on it (push switch as given), stop it at the end."""
    token = random_text("ghp_")
    tls = make_self_signed_certificate(base / "tls")
    source = make_source_repository(base / "source", files)
    server_root = base / "server"
    server_root.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(server_root / REPOSITORY)], check=True)
    with GitHttpServer(server_root, token=token, tls=tls) as server:
        secrets = write_secrets(base / "secrets.env", token, random_text("pw_"), copilot_document(random_text("gho_")))
        workspace = AgentWorkspace(
            state_dir=base / "state",
            port=free_port(),
            source=server.url(REPOSITORY),
            model=model,
            engine=engine,
            secrets_file=secrets,
            repo=gitops_copy(base / "gitops", push=push),
            extra_env={"GIT_SSL_CAINFO": str(tls.certificate)},
        )
        workspace.up()
        try:
            yield World(workspace, server, token, push)
        finally:
            workspace.down()

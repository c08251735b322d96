"""Fixtures for `ocw verify`: a copy of the GitOps tree whose workspace paths point into a temp dir, two real OpenCode
servers (one per workspace) behind TLS relays with a throwaway CA, and the fake Kubernetes API server holding the
objects a healthy cluster would hold.

The shared ones are package-scoped: one worker runs the folder, and its servers stop after the folder's last test
rather than idling on until the worker has run everything else."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from ocw.cli import main  # noqa: E402
from ocw.opencode.project_url import project_path  # noqa: E402
from ocw.tree import load_tree  # noqa: E402
from ocw.verify.github import repository_slug  # noqa: E402
from ocw.workspace import Workspace, workspaces_in  # noqa: E402
from support.cli import CliResult  # noqa: E402
from support.connect_proxy import ConnectProxy  # noqa: E402
from support.fake_kube import FakeKube  # noqa: E402
from support.gateway import Deployed, deployed, serve_gateway  # noqa: E402
from support.github_api import GitHubApi, Repository  # noqa: E402
from support.opencode_home import seed  # noqa: E402
from support.pki import Pki, make_pki  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.processes import opencode_answers  # noqa: E402
from support.tokens import copilot_document, random_text  # noqa: E402

from .world import DOMAIN, WorkspaceSecrets, populate  # noqa: E402

OPENCODE = REPO / "tools" / "node_modules" / ".bin" / "opencode"
REPOS = {
    "opencode-flux": "https://github.com/jbaker48/k8s-cluster.git",
    "opencode-ha": "https://github.com/jbaker48/home-assistant-config.git",
}


@dataclass
class Tree:
    repo: Path
    vars_file: Path
    workspaces: list[Workspace]

    def workspace(self, name: str) -> Workspace:
        return next(ws for ws in self.workspaces if ws.name == name)


@pytest.fixture(scope="package")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """The project's tree, copied, with WORKSPACE_DIR moved under a temp dir (the servers run there)."""
    root = tmp_path_factory.mktemp("gitops")
    repo = root / "repo"
    shutil.copytree(REPO / "kubernetes", repo / "kubernetes")
    shutil.copytree(REPO / "scripts", repo / "scripts")
    shutil.copy(REPO / "cluster-vars.example.yaml", repo / "cluster-vars.example.yaml")
    (repo / ".venv").symlink_to(REPO / ".venv")
    for ks in (repo / "kubernetes" / "apps" / "opencode").glob("*/ks.yaml"):
        text = ks.read_text().replace("WORKSPACE_DIR: /", f"WORKSPACE_DIR: {root}/")
        moved = re.search(r"WORKSPACE_DIR: (\S+)", text)
        assert moved is not None
        # The landing redirect follows the directory, as a generated ks.yaml would.
        text = re.sub(r"WORKSPACE_PROJECT_PATH: \S+", f"WORKSPACE_PROJECT_PATH: {project_path(moved[1])}", text)
        ks.write_text(text)
    vars_file = root / "vars.yaml"
    vars_file.write_text(f"SECRET_DOMAIN: {DOMAIN}\n")
    workspaces = workspaces_in(load_tree(repo, [vars_file]))
    return Tree(repo, vars_file, workspaces)


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), f"*.opencode.{DOMAIN}")


@dataclass
class Server:
    workspace: str
    port: int
    tls_port: int
    secrets: WorkspaceSecrets = field(repr=False)
    home: Path
    # What the stand-in gateway serves: the rendered route (tests may swap it for another version of it).
    route: Deployed


def _git_clone_dir(path: Path, origin: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (path / "README.md").write_text("workspace\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
    subprocess.run([*git, "remote", "add", "origin", origin], check=True)


OPENCODE_CONFIG = "kubernetes/components/opencode-workspace/config/opencode.json"


@pytest.fixture(scope="package")
def offline() -> Iterator[str]:
    """An HTTPS proxy that refuses every host at once: this machine has no way out, and OpenCode's requests to
    models.dev and GitHub would otherwise each wait out OpenCode's own timeout (seconds per provider listing) before it
    answers from its bundled catalogue, as it does offline."""
    with ConnectProxy() as proxy:
        yield proxy.url


@pytest.fixture(scope="package")
def servers(
    tree: Tree, pki: Pki, offline: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    """One real `opencode serve` per workspace, in the manifest's workingDir, with a password and a seeded Copilot
    login, each behind a TLS relay presenting *.opencode.<domain>."""
    started: list[subprocess.Popen[bytes]] = []
    result: dict[str, Server] = {}
    try:
        for ws in tree.workspaces:
            home = tmp_path_factory.mktemp(f"home-{ws.short_name}")
            token = random_text("gho_")
            values = WorkspaceSecrets(random_text(length=24), random_text("ghp_"), copilot_document(token))
            seed(home)
            data = home / ".local" / "share" / "opencode"
            data.mkdir(parents=True)
            (data / "auth.json").write_text(values.copilot)
            assert ws.working_dir
            _git_clone_dir(Path(ws.working_dir), REPOS[ws.name])
            port = free_port()
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(home),
                "OPENCODE_DISABLE_AUTOUPDATE": "1",
                "OPENCODE_SERVER_PASSWORD": values.password,
                # As the pod runs it: the workspace's own config (share disabled, autoupdate off).
                "OPENCODE_CONFIG": str(tree.repo / OPENCODE_CONFIG),
                "OPENCODE_DISABLE_SHARE": "1",
                "HTTPS_PROXY": offline,
                "HTTP_PROXY": offline,
            }
            started.append(
                subprocess.Popen(
                    [str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                    cwd=ws.working_dir,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            result[ws.name] = Server(ws.name, port, 0, values, home, deployed(ws, port))
        for server, process in zip(result.values(), started, strict=True):
            assert opencode_answers(server.port, server.secrets.password, process), (
                f"opencode for {server.workspace} did not start"
            )
            # The first provider listing (GET /config/providers) reaches for models.dev and GitHub, which the proxy
            # refuses: done once now, so that no check pays it within its request timeout.
            credentials = ("opencode", server.secrets.password)
            httpx.get(f"http://127.0.0.1:{server.port}/config/providers", timeout=120, auth=credentials)
        with (
            serve_gateway(pki, result["opencode-flux"].route) as flux_gateway,
            serve_gateway(pki, result["opencode-ha"].route) as ha_gateway,
        ):
            result["opencode-flux"].tls_port = flux_gateway.port
            result["opencode-ha"].tls_port = ha_gateway.port
            yield result
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclass
class Cluster:
    fake: FakeKube
    kubeconfig: Path
    tree: Tree
    servers: dict[str, Server]
    pki: Pki
    github: GitHubApi

    def args(self, *extra: str) -> list[str]:
        routes = [
            f"--connect-to={self.tree.workspace(name).hostname}=127.0.0.1:{server.tls_port}"
            for name, server in self.servers.items()
        ]
        return [
            "verify",
            "--kubeconfig",
            str(self.kubeconfig),
            "--repo",
            str(self.tree.repo),
            "--ca-file",
            str(self.pki.ca),
            "--github-api",
            self.github.url,
            *routes,
            *extra,
        ]


@pytest.fixture
def no_doppler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Doppler CLI on PATH and no DOPPLER_TOKEN: the Doppler checks must skip."""
    bare = tmp_path / "bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", f"{bare}:/usr/bin:/bin")
    for name in ("DOPPLER_TOKEN", "DOPPLER_PROJECT", "DOPPLER_CONFIG", "DOPPLER_API_HOST", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cluster(tree: Tree, servers: dict[str, Server], pki: Pki, tmp_path: Path) -> Iterator[Cluster]:
    fake = FakeKube()
    populate(fake, tree.workspaces, {name: s.secrets for name, s in servers.items()})
    with fake.serve() as url, GitHubApi() as github:
        for ws in tree.workspaces:
            slug = repository_slug(_repository_url(ws))
            assert slug is not None, ws.name
            github.repositories["/".join(slug)] = Repository(token=servers[ws.name].secrets.token)
        kubeconfig = FakeKube.write_kubeconfig(tmp_path / "kubeconfig", url)
        fake.requests.clear()
        yield Cluster(fake, kubeconfig, tree, servers, pki, github)


def _repository_url(ws: Workspace) -> str:
    env = ws.init_container.env if ws.init_container else []
    return next((v.value or "" for v in env if v.name == "WORKSPACE_GIT_REPOSITORY"), "")


@dataclass(frozen=True)
class Run(CliResult):
    """How `ocw verify` ended, with its report's results by (criterion, workspace)."""

    def json(self) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.stdout)
        return document

    def results(self) -> dict[tuple[str, str | None], dict[str, object]]:
        items = self.json()["results"]
        assert isinstance(items, list)
        return {(str(r["id"]), r["workspace"]): r for r in items}


@pytest.fixture
def run_ocw(capsys: pytest.CaptureFixture[str]) -> Callable[[list[str]], Run]:
    """`ocw verify` in this process: its HTTP checks go through this process's gateways (serve_gateway), which time
    out under load when a separate ocw process calls them."""

    def run(args: list[str]) -> Run:
        capsys.readouterr()
        code = main(args)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run

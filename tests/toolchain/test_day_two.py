"""Day two as the user lives it, by the guide: ocw installed from its wheel, run from a folder outside the cluster
repository (a git copy of the jbaker48/k8s-cluster fixture at ~/git/k8s-cluster, with a remote to push to), the
commands of docs/deploy.md run as written with bash: install, secrets, commit and push; add a workspace; bump the
image tag; change a documented setting; rotate a secret; uninstall. After each step `git status` shows only the files
the guide names, and after the uninstall the repository is as it was before the install.

The guide's cluster-side lines (`flux`, `kubectl`, `ocw verify`, `doppler secrets delete`) need a cluster and are
left out here: tests/verify runs `ocw verify` against its stand-in API server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.doppler_api import DopplerApi, serve_doppler_api
from support.wheel import build_wheel, install_wheel

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "deploy.md"
FIXTURE = REPO / "tests" / "fixtures" / "jbaker48-k8s-cluster"
DOPPLER_TOKEN = "dp.ct." + "t0ken" * 8  # the local test server's, not a real one
CLUSTER_ONLY = re.compile(r"^(flux|kubectl|ocw verify|doppler) ")
PAT = "github_pat_" + "A1b2C3d4" * 8
PASSWORD = "a-new-password-of-32-characters!"


def guide_block(heading: str, index: int = 0) -> str:
    """The `index`th ```sh block under `heading` in docs/deploy.md, without the lines that need a cluster."""
    text = GUIDE.read_text()
    section = text[text.index(f"\n{heading}\n") :]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    kept, joined = [], ""
    for line in blocks[index].splitlines():
        joined += line
        if line.endswith("\\"):
            joined = joined[:-1] + " "
            continue
        if not CLUSTER_ONLY.match(joined):
            kept.append(joined)
        joined = ""
    return "\n".join(kept) + "\n"


@dataclass
class Machine:
    home: Path
    repo: Path
    elsewhere: Path
    env: dict[str, str]
    doppler: DopplerApi

    def run(self, script: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.elsewhere,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done

    def status(self) -> list[str]:
        return self.git("status", "--porcelain", "--untracked-files=all").splitlines()

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.repo), *args], capture_output=True, text=True, env=self.env, check=True
        ).stdout

    def last_commit(self) -> set[str]:
        return set(self.git("show", "--name-only", "--format=", "HEAD").split())

    def stored(self) -> dict[str, str]:
        return self.doppler.secrets("k3s-cluster", "prd")


@pytest.fixture
def machine(tmp_path: Path, real_kubectl: Path, real_helm: Path) -> Iterator[Machine]:
    tool = install_wheel(build_wheel(tmp_path), tmp_path / "tool")
    home, elsewhere, path = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "path"
    for folder in (elsewhere, path):
        folder.mkdir()
    (path / "kubectl").symlink_to(real_kubectl)
    (path / "helm").symlink_to(real_helm)
    (path / "doppler").symlink_to(REPO / ".venv" / "bin" / "doppler")
    repo = home / "git" / "k8s-cluster"
    shutil.copytree(FIXTURE, repo)
    remote = tmp_path / "remote.git"
    env = {
        "HOME": str(home),
        "PATH": f"{tool.bin}:{path}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "GIT_AUTHOR_NAME": "user",
        "GIT_AUTHOR_EMAIL": "user@example.com",
        "GIT_COMMITTER_NAME": "user",
        "GIT_COMMITTER_EMAIL": "user@example.com",
        "DOPPLER_TOKEN": DOPPLER_TOKEN,
    }
    for command in (
        ["git", "init", "-q", "--bare", str(remote)],
        ["git", "-C", str(repo), "init", "-q", "-b", "main"],
        ["git", "-C", str(repo), "add", "-A"],
        ["git", "-C", str(repo), "commit", "-q", "-m", "the cluster"],
        ["git", "-C", str(repo), "remote", "add", "origin", str(remote)],
        ["git", "-C", str(repo), "push", "-q", "-u", "origin", "main"],
    ):
        subprocess.run(command, env=env, check=True, capture_output=True)
    login = home / ".local" / "share" / "opencode" / "auth.json"
    login.parent.mkdir(parents=True)
    entry = {"type": "oauth", "refresh": "gho_" + "R3fr" * 9, "access": "gho_" + "Acc3" * 9, "expires": 0}
    login.write_text(json.dumps({"github-copilot": entry}))
    with serve_doppler_api({DOPPLER_TOKEN}) as (api, url):
        # The cluster's own variables, which its VolSync template reads (and the workspaces' backups share).
        shared = ("VOLSYNC_REPOSITORY_TEMPLATE", "VOLSYNC_RESTIC_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")
        api.add_config("k3s-cluster", "prd", {name: f"cluster-{name.lower()}" for name in shared})
        yield Machine(home, repo, elsewhere, {**env, "DOPPLER_API_HOST": url}, api)


def test_day_two_by_the_guide(machine: Machine) -> None:
    before = machine.git("rev-parse", "HEAD").strip()

    # 3. Install, secrets, commit and push.
    installed = machine.run(guide_block("## 3. Install, secrets, commit and push"))
    assert "the install added no error" in installed.stdout
    assert "next steps:\n  1. create the Doppler variables" in installed.stdout
    machine.run(guide_block("## 3. Install, secrets, commit and push", 1), stdin=PAT + "\n")
    assert machine.status() == []
    assert {"scripts/seed-copilot-auth.sh", "kubernetes/apps/opencode/opencode-flux/ks.yaml"} <= machine.last_commit()
    assert set(machine.stored()) >= {
        f"OPENCODE_{w}_{k}" for w in ("FLUX", "HA") for k in ("GITHUB_PAT", "PASSWORD", "COPILOT_AUTH_JSON")
    }

    # Add a workspace: every command of the guide covers it.
    machine.run(guide_block("### Add a workspace"), stdin=PAT + "\n")
    assert machine.status() == []
    assert machine.last_commit() == {
        "kubernetes/apps/opencode/kustomization.yaml",
        "kubernetes/apps/opencode/opencode-docs/app/kustomization.yaml",
        "kubernetes/apps/opencode/opencode-docs/ks.yaml",
    }
    assert {"OPENCODE_DOCS_PASSWORD", "OPENCODE_DOCS_GITHUB_PAT", "OPENCODE_DOCS_COPILOT_AUTH_JSON"} <= set(
        machine.stored()
    )

    # Upgrading OpenCode: the tag in every workspace's ks.yaml, which check warns about and install keeps.
    machine.run(guide_block("### Upgrading OpenCode"))
    bumped = sorted(
        f" M kubernetes/apps/opencode/{ws}/ks.yaml" for ws in ("opencode-docs", "opencode-flux", "opencode-ha")
    )
    assert sorted(machine.status()) == bumped
    checked = machine.run("ocw check --repo ~/git/k8s-cluster --only opencode")
    assert "tested with OpenCode 1.18.33, running 1.19.0" in checked.stdout
    machine.run("ocw install --repo ~/git/k8s-cluster && ocw install --repo ~/git/k8s-cluster --force")
    assert sorted(machine.status()) == bumped, "install never reverts the tag"
    machine.run("git -C ~/git/k8s-cluster commit -q -am 'opencode 1.19.0' && git -C ~/git/k8s-cluster push -q")

    # Change a documented setting.
    machine.run(guide_block("### Change a setting"))
    assert machine.status() == [" M kubernetes/apps/opencode/opencode-docs/ks.yaml"]
    assert (
        "      VOLSYNC_CAPACITY: 20Gi\n"
        in (machine.repo / "kubernetes/apps/opencode/opencode-docs/ks.yaml").read_text()
    )
    machine.run("git -C ~/git/k8s-cluster commit -q -am 'docs: 20Gi' && git -C ~/git/k8s-cluster push -q")

    # Rotate a secret: one variable of one workspace, nothing in the repository.
    others = {k: v for k, v in machine.stored().items() if k != "OPENCODE_DOCS_PASSWORD"}
    rotate = next(line for line in guide_block("### Rotate a secret").splitlines() if " password " in line)
    machine.run(rotate, stdin=PASSWORD + "\n")
    assert machine.stored() == {**others, "OPENCODE_DOCS_PASSWORD": PASSWORD}
    assert machine.status() == []

    # Uninstall everything: the repository is the one from before the install.
    machine.run(guide_block("### Uninstall", 1))
    assert machine.status() == []
    assert machine.git("diff", "--stat", before, "HEAD") == ""
    assert machine.git("rev-parse", "HEAD") == machine.git("rev-parse", "origin/main"), "pushed"

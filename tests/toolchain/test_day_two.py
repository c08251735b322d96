"""Day two as the user lives it, by the guide: ocw installed from its wheel, run from a folder outside the cluster
repository (a git copy of the jbaker48/k8s-cluster fixture at ~/git/k8s-cluster, with a remote to push to), the
commands of docs/deploy.md run as written with bash: install, secrets, commit and push; add a workspace; bump the
image tag; change a documented setting; rotate a secret; run a workspace locally and stop it from another terminal;
uninstall. After each step `git status` shows only the files the guide names, and after the uninstall the repository
is as it was before the install. The folder ocw runs from holds a tools/ and a containers/ of its own, which the
installed ocw must never use.

The guide's cluster-side lines (`flux`, `kubectl`, `ocw verify`, `doppler secrets delete`) need a cluster and are
left out here: tests/verify runs `ocw verify` against its stand-in API server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from support.doppler_api import DopplerApi, serve_doppler_api
from support.schema_cache import share_caches
from support.wheel import InstalledWheel, shared_install

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "deploy.md"
FIXTURE = REPO / "tests" / "fixtures" / "jbaker48-k8s-cluster"
DOPPLER_TOKEN = "dp.ct." + "t0ken" * 8  # the local test server's, not a real one
CLUSTER_ONLY = re.compile(r"^(flux|kubectl|ocw verify|doppler|uv tool) ")  # and the tool's own uninstall
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


def plant_foreign_tools(folder: Path) -> Path:
    """A tools/ and containers/ in `folder` as a checkout of ocw holds them, whose programs leave a mark when run.
    Returns the mark's path."""
    mark = folder / "ran-a-program-of-the-current-folder"
    for name in ("kubectl", "helm", "opencode", "podman"):
        program = folder / "tools" / "bin" / name
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text(f"#!/bin/sh\necho {name} >> {mark}\nexit 1\n")
        program.chmod(0o755)
    (folder / "tools" / "node_modules" / ".bin").mkdir(parents=True)
    (folder / "tools" / "node_modules" / ".bin" / "opencode").symlink_to(folder / "tools" / "bin" / "opencode")
    conf = folder / "containers" / "podman" / "containers.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("[engine]\nruntime = 'not-a-runtime'\n")
    return mark


def iter_until(stream: IO[str], prefix: str) -> Iterator[str]:
    """The lines of `stream` up to and including the first that starts with `prefix`."""
    for line in stream:
        yield line
        if line.startswith(prefix):
            return


@dataclass
class Machine:
    home: Path
    repo: Path
    elsewhere: Path
    env: dict[str, str]
    doppler: DopplerApi
    printed: list[str] = field(default_factory=list)  # everything ocw printed, for its hints

    def run(self, script: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=cwd or self.elsewhere,
            timeout=900,
            check=False,
        )
        self.printed.extend([done.stdout, done.stderr])
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


@pytest.fixture(scope="session")
def installed_tool(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """ocw installed from its wheel, once for the run: both walks only run it (tests/toolchain/test_install_as_tool.py
    tests the install itself)."""
    return shared_install(tmp_path_factory)


@pytest.fixture
def machine(
    tmp_path: Path,
    real_kubectl: Path,
    real_helm: Path,
    real_opencode: Path,
    *,
    installed_tool: InstalledWheel,
    shared_caches: Path,
) -> Iterator[Machine]:
    tool = installed_tool
    home, elsewhere, path = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "path"
    for folder in (elsewhere, path):
        folder.mkdir()
    # The user's helm renders, kustomize builds and verdicts are the run's (each keyed by all that decides it): as
    # on a machine where `ocw check` ran before. The schemas and charts in the cache stay this machine's own.
    share_caches(home / ".cache" / "ocw", shared_caches)
    mark = plant_foreign_tools(elsewhere)
    (path / "kubectl").symlink_to(real_kubectl)
    (path / "helm").symlink_to(real_helm)
    (path / "doppler").symlink_to(REPO / ".venv" / "bin" / "doppler")
    (path / "opencode").symlink_to(real_opencode)
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
    docs = home / "git" / "docs"  # the docs workspace's repository, cloned on this machine
    (docs / "README.md").parent.mkdir(parents=True)
    (docs / "README.md").write_text("docs\n")
    for command in (
        ["git", "-C", str(docs), "init", "-q", "-b", "main"],
        ["git", "-C", str(docs), "add", "-A"],
        ["git", "-C", str(docs), "commit", "-q", "-m", "docs"],
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
    assert not mark.exists(), f"ran programs of the current folder: {mark.read_text()}"


@pytest.mark.timeout(1200)  # about twenty ocw runs on a full cluster repository, on a loaded machine
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
    # --force, which overwrites what differs, still keeps the tag (tests/install/test_user_settings.py runs the
    # install without it as well); its own check warns about the new version.
    forced = machine.run("ocw install --repo ~/git/k8s-cluster --force")
    assert sorted(machine.status()) == bumped, "install never reverts the tag"
    assert "tested with OpenCode 1.18.33, running 1.19.0" in forced.stdout
    machine.run("git -C ~/git/k8s-cluster commit -q -am 'opencode 1.19.0' && git -C ~/git/k8s-cluster push -q")

    # Change a documented setting. The guide's `ocw check --only opencode` here is the one of the upgrade's step 3:
    # the tag is still the new one.
    changed = machine.run(guide_block("### Change a setting"))
    assert "tested with OpenCode 1.18.33, running 1.19.0" in changed.stdout
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

    # Run the docs workspace locally in the foreground; stop it from another terminal, in another folder.
    run_locally = guide_block("### Run a workspace on your machine")
    foreground = subprocess.Popen(
        ["bash", "-e", "-c", run_locally],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=machine.env,
        cwd=machine.elsewhere,
    )
    try:
        assert foreground.stdout is not None
        started = "".join(iter_until(foreground.stdout, "Press Ctrl-C"))
        assert "opencode-docs is ready after" in started, started
        assert "processes on this machine" in started, "an installed ocw has no image definition"
        url = re.search(r"^  server: +(\S+)/$", started, re.MULTILINE)
        assert url is not None, started
        elsewhere = guide_block("### Run a workspace on your machine", 1).splitlines()
        listed, stopped = (machine.run(line, cwd=machine.home) for line in elsewhere)
        assert re.search(r"^opencode-docs +running ", listed.stdout, re.MULTILINE), listed.stdout
        assert str(machine.repo) in listed.stdout
        assert stopped.stdout.startswith("opencode-docs stopped"), stopped.stdout
        rest, _ = foreground.communicate(timeout=120)
    finally:
        if foreground.poll() is None:
            foreground.kill()
            foreground.wait()
    machine.printed.extend([started, rest])
    assert foreground.returncode == 0, started + rest
    assert "opencode-docs was stopped by `ocw down`" in rest
    assert machine.status() == [], "the local run keeps nothing in the repository"
    volume = machine.home / ".local" / "state" / "ocw"
    assert any(volume.rglob("docs/README.md")), "the clone of --source is in the state directory's volume"

    # Uninstall one workspace, then everything: the repository is the one from before the install; then what this
    # machine kept.
    machine.run(guide_block("### Uninstall"))
    assert machine.status() == []
    assert machine.last_commit() == {
        "kubernetes/apps/opencode/kustomization.yaml",
        "kubernetes/apps/opencode/opencode-docs/app/kustomization.yaml",
        "kubernetes/apps/opencode/opencode-docs/ks.yaml",
    }
    machine.run(guide_block("### Uninstall", 1))
    assert machine.status() == []
    assert machine.git("diff", "--stat", before, "HEAD") == ""
    assert machine.git("rev-parse", "HEAD") == machine.git("rev-parse", "origin/main"), "pushed"
    machine.run(guide_block("### Uninstall", 3))
    assert not volume.exists()
    assert machine.run("ocw ps").stdout.startswith("no workspaces under ")


def printed_commands(text: str) -> list[str]:
    """The commands ocw's hints carry, as printed: each numbered next step's after its first colon, a `stop with:`
    line's, and the backquoted ones of a `next:` line."""
    commands = re.findall(r"^ +\d+\. [^:`]*: (.+)$|^ +stop with: (.+)$", text, re.MULTILINE)
    quoted = [c for line in re.findall(r"^ +next: (.+)$", text, re.MULTILINE) for c in re.findall(r"`([^`]+)`", line)]
    return [a or b for a, b in commands] + quoted


@pytest.mark.timeout(1200)
def test_the_hints_install_and_up_print_work_as_printed(machine: Machine) -> None:
    def follow(printed: str, expected: int) -> None:
        commands = printed_commands(printed)
        assert len(commands) == expected, printed
        for command in commands:
            if not CLUSTER_ONLY.match(command):
                machine.run(command, stdin=PAT + "\n", cwd=machine.home)

    # The guide's install line without its --dry-run, which prints no hint (the test above runs the whole block).
    installed = machine.run(guide_block("## 3. Install, secrets, commit and push").splitlines()[1])
    follow(installed.stdout, 4)
    assert machine.status() == [], "the commit step adds every file install wrote"
    assert "OPENCODE_HA_COPILOT_AUTH_JSON" in machine.stored()

    added = machine.run(guide_block("### Add a workspace").splitlines()[0])
    follow(added.stdout, 4)
    assert machine.status() == []
    assert {"OPENCODE_DOCS_GITHUB_PAT", "OPENCODE_DOCS_COPILOT_AUTH_JSON"} <= set(machine.stored())

    started = machine.run("ocw up docs --repo ~/git/k8s-cluster --source ~/git/docs --port 0 -d")
    follow(started.stdout, 1)
    listed = machine.run("ocw ps").stdout
    assert re.search(r"^opencode-docs +stopped ", listed, re.MULTILINE), listed

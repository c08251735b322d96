"""The workspace pod's init container, reproduced on this machine: its volume, mounted Secret, scripts and
environment; the upstream repository it clones; who it runs as."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocw.up.container import resource_flags
from ocw.workspace import Workspace, find_workspace, load_workspaces
from support.git_http_server import GitHttpServer
from support.image import WorkspaceImage
from support.tokens import random_text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = PROJECT_ROOT / "kubernetes" / "components" / "opencode-workspace" / "scripts"
INIT_SCRIPT = SCRIPTS_DIR / "init.sh"
CREDENTIAL_HELPER = SCRIPTS_DIR / "git-credential-secret"
BASE_PATH = "/usr/local/bin:/usr/bin:/bin"
UPSTREAM_IDENTITY = {
    "GIT_AUTHOR_NAME": "Upstream Author",
    "GIT_AUTHOR_EMAIL": "upstream@example.invalid",
    "GIT_COMMITTER_NAME": "Upstream Author",
    "GIT_COMMITTER_EMAIL": "upstream@example.invalid",
}
WORKSPACE_IDENTITY = {
    "GIT_AUTHOR_NAME": "Workspace User",
    "GIT_AUTHOR_EMAIL": "user@example.invalid",
    "GIT_COMMITTER_NAME": "Workspace User",
    "GIT_COMMITTER_EMAIL": "user@example.invalid",
}


def copilot_auth_document(refresh: str | None = None, access: str | None = None) -> str:
    """An auth.json document as OpenCode writes it after a Copilot login."""
    refresh = refresh or random_text("gho_")
    access = access or random_text("gho_")
    return (
        '{\n  "github-copilot": {\n    "type": "oauth",\n'
        f'    "refresh": "{refresh}",\n    "access": "{access}",\n    "expires": 0\n  }}\n}}\n'
    )


@functools.cache
def flux_workspace() -> Workspace:
    """The flux workspace as this project's tree builds it: the init container and scripts the pod gets."""
    return find_workspace(load_workspaces(PROJECT_ROOT), "flux")


def scripts_config_map() -> dict[str, str]:
    """The scripts ConfigMap as the tree builds it (file name -> content): what the pod mounts, nothing more."""
    found = next(m for m in flux_workspace().built.manifests if m.kind == "ConfigMap" and m.name.endswith("-scripts"))
    return {str(name): str(text) for name, text in (found.obj.get("data") or {}).items()}


# ------------------------------------------------------------------------------------------ who runs the step


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int

    @property
    def switches(self) -> bool:
        return self.uid != os.geteuid()

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


def pod_identity() -> Identity:
    if os.geteuid() == 0:
        return Identity(1000, 1000)
    return Identity(os.getuid(), os.getgid())


def git(
    *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, identity: Identity | None = None
) -> str:
    """Run git for the test's own bookkeeping, isolated from the machine's and user's git configuration."""
    full_env = {
        "PATH": BASE_PATH,
        "HOME": str(cwd or "/"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
        **UPSTREAM_IDENTITY,
        **(env or {}),
    }
    completed = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        **(identity.popen_kwargs() if identity else {}),
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({completed.returncode}): {completed.stderr.strip()}")
    stdout: str = completed.stdout
    return stdout.strip()


@dataclass(frozen=True)
class Shell:
    """The shell that runs the scripts, and the tools on its PATH."""

    name: str
    command: tuple[str, ...]
    path: str

    @classmethod
    def dash(cls) -> Shell | None:
        dash = shutil.which("dash")
        return cls("dash", (dash,), BASE_PATH) if dash else None


# ------------------------------------------------------------------------------------------ the git remote


class Upstream:
    """The workspace repository on the server: a bare repository, and an author who pushes to it by file path
    (so the author's pushes never show in the server's request log)."""

    name = "k8s-cluster.git"

    def __init__(self, server: GitHttpServer, author_dir: Path) -> None:
        self.server = server
        self.url = server.url(self.name)
        self.bare = server.project_root / self.name
        self.author_dir = author_dir
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare))
        git("clone", "--quiet", str(self.bare), str(author_dir))
        self.commit(
            {
                "README.md": "# k8s-cluster\n",
                "kubernetes/apps/opencode/kustomization.yaml": "resources: []\n",
                "scripts/check.sh": "#!/bin/sh\necho ok\n",
            },
            "Initial layout",
        )
        self.commit({"kubernetes/apps/opencode/namespace.yaml": "kind: Namespace\n"}, "Add the namespace")

    def commit(self, files: Mapping[str, str | None], message: str) -> str:
        """Write (or with None, delete) files, commit and push to main; returns the new commit."""
        for relative, content in files.items():
            target = self.author_dir / relative
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        git("add", "--all", cwd=self.author_dir)
        git("commit", "--quiet", "-m", message, cwd=self.author_dir)
        git("push", "--quiet", "origin", "HEAD:main", cwd=self.author_dir)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "main", cwd=self.bare)


# ------------------------------------------------------------------------------------------ the pod


@dataclass(frozen=True)
class InitRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("init: error:")]

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


class Pod:
    """One workspace pod's init container: its volume, its mounted Secret, its scripts, its environment."""

    def __init__(
        self,
        root: Path,
        *,
        shell: Shell,
        upstream: Upstream,
        ca_file: Path,
        token: str,
        image: WorkspaceImage | None = None,
    ) -> None:
        self.identity = pod_identity()
        self.image = image  # run the step in the workspace image, as the pod does, instead of with dash here
        self.root = root
        self.shell = shell
        self.upstream = upstream
        self.server = upstream.server
        self.ca_file = ca_file
        self.repository_url = upstream.url

        root.mkdir()
        root.chmod(0o755)
        self.home = root / "volume"
        self.home.mkdir()
        self.identity.own(self.home)
        self.home.chmod(0o755)
        self.workspace = self.home / "git" / "k8s-cluster"
        self.auth_file = self.home / ".local" / "share" / "opencode" / "auth.json"

        self.secret_dir = root / "secret"
        self.secret_dir.mkdir()
        self.secret_dir.chmod(0o755)
        self.token_file = self.secret_dir / "GITHUB_TOKEN"
        self.copilot_file = self.secret_dir / "COPILOT_AUTH_JSON"
        self.write_secret(self.token_file, token)
        self.write_secret(self.copilot_file, copilot_auth_document())

        self.scripts = root / "scripts"
        self.scripts.mkdir()
        for name, text in scripts_config_map().items():  # as the pod mounts it (defaultMode 0555)
            (self.scripts / name).write_text(text)
            (self.scripts / name).chmod(0o555)
        self.scripts.chmod(0o555)
        self.init_script = self.scripts / INIT_SCRIPT.name
        self.helper = self.scripts / CREDENTIAL_HELPER.name

    # -- the mounted Secret

    def write_secret(self, path: Path, content: str) -> None:
        """Replace a file of the mounted Secret, as the kubelet does when the Secret changes."""
        staged = path.with_name(f".{path.name}.new")
        staged.write_text(content)
        self.identity.own(staged)
        staged.chmod(0o400)
        staged.replace(path)

    def set_token(self, token: str) -> None:
        self.write_secret(self.token_file, token)

    def set_copilot_auth(self, document: str) -> None:
        self.write_secret(self.copilot_file, document)

    # -- running the step

    def environment(self, pull: str = "disabled", overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
        """The init container's environment (helmrelease.yaml), plus the test CA so git trusts the test server."""
        env: dict[str, str | None] = {
            "PATH": self.shell.path,
            "HOME": str(self.home),
            "WORKSPACE_DIR": str(self.workspace),
            "WORKSPACE_GIT_REPOSITORY": self.repository_url,
            "WORKSPACE_GIT_PULL": pull,
            "GIT_TOKEN_FILE": str(self.token_file),
            "COPILOT_AUTH_FILE": str(self.copilot_file),
            "GIT_SSL_CAINFO": str(self.ca_file),
        }
        env.update(overrides or {})
        return {key: value for key, value in env.items() if value is not None}

    def start(self, *, pull: str = "disabled", env: Mapping[str, str | None] | None = None) -> subprocess.Popen[str]:
        if self.image is not None:
            return subprocess.Popen(
                self.image_command(self.environment(pull, env)),
                env=self.image.engine.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        return subprocess.Popen(
            [*self.shell.command, str(self.init_script)],
            env=self.environment(pull, env),
            cwd="/",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            **self.identity.popen_kwargs(),
        )

    def image_command(self, env: Mapping[str, str]) -> list[str]:
        """`podman run` of the init container as the manifests define it: the image, `/bin/sh init.sh` as its
        command, the pod's user, read-only root, no capabilities, no new privileges, the init container's CPU and
        memory limits, and its mounts (the volume, the Secret and the scripts read-only, /tmp an empty dir) at the
        paths the environment names. The environment comes from a file; PATH is the image's."""
        assert self.image is not None
        tmp = self.root / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        self.identity.own(tmp)
        env_file = self.root / "init.env"
        env_file.write_text("".join(f"{name}={value}\n" for name, value in env.items() if name != "PATH"))
        mounts = [(self.home, self.home, False), (self.secret_dir, self.secret_dir, True)]
        mounts += [(self.scripts, self.scripts, True), (self.ca_file, self.ca_file, True), (tmp, Path("/tmp"), False)]
        options = [f"type=bind,source={s},destination={d}" + (",ro=true" if ro else "") for s, d, ro in mounts]
        init = flux_workspace().init_container
        assert init is not None and init.args == ["/bin/sh", "/opt/opencode-workspace/init.sh"], init
        assert not init.command, init  # the image's entrypoint, tini, runs it
        return self.image.engine.command(
            "run", "--rm", "--network", "host", "--user", f"{self.identity.uid}:{self.identity.gid}",
            "--read-only", "--read-only-tmpfs=false", "--cap-drop", "all", "--security-opt", "no-new-privileges",
            *resource_flags(init), "--env-file", str(env_file), *(x for o in options for x in ("--mount", o)),
            "--entrypoint", "/bin/sh", self.image.name, str(self.init_script),
        )  # fmt: skip

    def run(
        self, *, pull: str = "disabled", env: Mapping[str, str | None] | None = None, timeout: float = 120
    ) -> InitRun:
        started = time.perf_counter()
        process = self.start(pull=pull, env=env)
        stdout, stderr = process.communicate(timeout=timeout)
        return InitRun(process.returncode, stdout, stderr, time.perf_counter() - started)

    def boot(self, **kwargs: Any) -> InitRun:
        """A start that must succeed."""
        result = self.run(**kwargs)
        assert result.returncode == 0, result.describe()
        return result

    # -- looking at and working in the clone, as the workspace user

    def git(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return git(*args, cwd=self.workspace, env={**WORKSPACE_IDENTITY, **(env or {})}, identity=self.identity)

    def write_file(self, path: Path | str, content: str) -> Path:
        """Write a file on the volume as the workspace user would (it and new directories owned by the pod's uid).
        A relative path is taken inside the clone."""
        target = self.workspace / path if isinstance(path, str) else path
        self.make_dir(target.parent)
        target.write_text(content)
        self.identity.own(target)
        return target

    def make_dir(self, path: Path) -> Path:
        """Create a directory on the volume, with any missing parents, owned by the pod's uid."""
        missing = [candidate for candidate in (path, *path.parents) if not candidate.exists()]
        path.mkdir(parents=True, exist_ok=True)
        for created in missing:
            self.identity.own(created)
        return path

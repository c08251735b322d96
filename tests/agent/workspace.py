"""A workspace started with `ocw up` whose model is the local stand-in, and the OpenCode HTTP calls that drive its
agent: sessions, prompts, messages, revert and unrevert (OpenCode 1.18.33's API, as `GET /doc` describes it).

The stand-in is made the workspace's model the way a user configures OpenCode in the pod: a global config file,
`~/.config/opencode/opencode.json`, on the workspace volume (HOME is the volume). The manifests stay untouched.
It is written before the server starts because OpenCode reads its global config once per process.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ocw.image.engine import installed_engine
from ocw.up.passthrough import PROXY_VARIABLES, TLS_DIR_VARIABLES, TLS_FILE_VARIABLES
from runtime.process_watch import process_tree
from support.cli import CliResult, run_ocw, user_env
from support.local_workspace import WORKSPACE, WorkspacePlaces
from support.model_server import ModelServer, Turn
from support.opencode_home import seed

HOST_NETWORK_SETTINGS = frozenset({*PROXY_VARIABLES, *TLS_FILE_VARIABLES, *TLS_DIR_VARIABLES})
# One agent turn runs several model round trips and tools; on a loaded 2-core machine that can take a while.
PROMPT_TIMEOUT = 180.0
# The test reads the clone as its own user; in the container engine the volume belongs to the pod's uid, which git
# would otherwise refuse as "dubious ownership".
GIT_OPTIONS = (
    "-c",
    "safe.directory=*",
    "-c",
    "user.name=Source Author",
    "-c",
    "user.email=author@example.invalid",
)


def ocw(*args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> CliResult:
    """Run the CLI as a user would, without this test run's own OpenCode or XDG settings, and without this machine's
    proxy and CA settings (`ocw up` hands those to the workspace): the workspace talks only to the servers the test
    starts on 127.0.0.1, and a test that needs a CA passes it in `extra_env`."""
    env = {k: v for k, v in user_env().items() if k not in HOST_NETWORK_SETTINGS} | (extra_env or {})
    return run_ocw(*args, env=env, timeout=timeout)


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repo), *GIT_OPTIONS, *args], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {repo} failed ({completed.returncode}): {completed.stderr}")
    return completed.stdout.rstrip()


def make_source_repository(path: Path, files: dict[str, bytes]) -> Path:
    """A repository with one commit holding `files`, on branch main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        (path / name).write_bytes(content)
    git(path, "add", "--", *files)
    git(path, "commit", "-q", "-m", "Initial commit")
    return path


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; it did not happen")
        time.sleep(0.1)


@dataclass
class AgentWorkspace(WorkspacePlaces):
    """One workspace under its own state dir, started with `ocw up -d`."""

    source: str
    model: ModelServer
    engine: str  # `ocw up --engine`: container (the workspace image, as the pod runs) or process
    secrets_file: Path | None = None
    repo: Path | None = None  # the GitOps tree to read (default: this checkout)
    extra_env: dict[str, str] = field(default_factory=dict)
    up_output: str = ""

    def configure_model(self) -> Path:
        config_dir = self.home / ".config" / "opencode"
        config_dir.mkdir(parents=True, exist_ok=True)
        config = config_dir / "opencode.json"
        config.write_text(json.dumps(self.model.provider_config(), indent=2))
        return config

    def _ocw_args(self) -> list[str]:
        args: list[str] = []
        if self.repo is not None:
            args += ["--repo", str(self.repo)]
        return [*args, "--state-dir", str(self.state_dir)]

    def up(self) -> None:
        seed(self.home)
        self.configure_model()
        args = self.up_arguments(self.engine, self.source, self.secrets_file)
        if self.repo is not None:
            args += ["--repo", str(self.repo)]
        result = ocw(*args, extra_env=self.extra_env)
        self.up_output = result.stdout + result.stderr
        assert result.code == 0, f"ocw up failed ({result.code}):\n{self.up_output}"

    def container(self) -> str:
        """The running OpenCode container's name, as `ocw ps` reports it."""
        listing = ocw("ps", "--json", *self._ocw_args())
        assert listing.code == 0, listing.stderr
        (entry,) = [w for w in json.loads(listing.stdout)["workspaces"] if w["workspace"] == WORKSPACE]
        assert entry["running"] and entry.get("container"), entry
        return str(entry["container"])

    def shell(self, script: str) -> subprocess.CompletedProcess[str]:
        """Run `script` with bash in the running OpenCode container, in the workspace directory, as a user's
        terminal there would: the container's user, environment and mounts."""
        engine = installed_engine()
        assert engine is not None, "podman is not installed"
        return engine.run("exec", "--workdir", self.directory(), self.container(), "bash", "-c", script, check=False)

    def processes(self) -> list[int]:
        """The running OpenCode container's processes, by this machine's pids: its init and what that started."""
        engine = installed_engine()
        assert engine is not None, "podman is not installed"
        inspected = engine.run("inspect", "--format", "{{.State.Pid}}", self.container(), check=False)
        assert inspected.returncode == 0, inspected.stderr
        return process_tree(int(inspected.stdout.strip()))

    def container_log(self) -> str:
        """What the engine keeps of the OpenCode container's output."""
        engine = installed_engine()
        assert engine is not None, "podman is not installed"
        logs = engine.run("logs", self.container(), check=False)
        assert logs.returncode == 0, logs.stderr
        return logs.stdout + logs.stderr

    def down(self) -> None:
        ocw("down", "flux", "--timeout", "3", *self._ocw_args())

    # -- the OpenCode API

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=("opencode", self.password()), timeout=timeout)

    def call(self, method: str, path: str, *, timeout: float = 30, **kwargs: Any) -> Any:
        with self.client(timeout) as client:
            response = client.request(method, path, **kwargs)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def directory(self) -> str:
        """The clone's path as OpenCode (and so the agent's tools) sees it: in the container, the pod's path."""
        return str(self.call("GET", "/path")["directory"])

    def new_session(self, title: str | None = None) -> str:
        """A new session; without a title OpenCode asks the model for one."""
        return str(self.call("POST", "/session", json={"title": title} if title else {})["id"])

    def prompt(self, session: str, text: str, script: list[Turn]) -> dict[str, Any]:
        """Send a user message and wait for the whole agent loop; the model answers from `script`."""
        self.model.set_script(script)
        reply: dict[str, Any] = self.call(
            "POST",
            f"/session/{session}/message",
            timeout=PROMPT_TIMEOUT,
            json={"parts": [{"type": "text", "text": text}]},
        )
        assert not self.model.problems, f"the stand-in model refused requests: {self.model.problems}"
        error = reply["info"].get("error")
        assert error is None, f"the agent loop ended with an error: {error}"
        return reply

    def messages(self, session: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/session/{session}/message"))

    def tool_parts(self, session: str, tool: str) -> list[dict[str, Any]]:
        return [
            part
            for message in self.messages(session)
            for part in message["parts"]
            if part["type"] == "tool" and part.get("tool") == tool
        ]

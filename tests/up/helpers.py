"""Running `ocw up/down/ps` as a user would (a separate process) and talking to the workspace it starts."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ocw.up.state import process_start_ticks
from support.cli import CliResult, run_ocw, start_ocw, user_env
from support.local_workspace import WorkspacePlaces
from support.opencode_home import seed
from support.ports import free_port
from support.tokens import copilot_document, random_text

REPO = Path(__file__).resolve().parents[2]
# `ocw verify --local` on this offline machine: OpenCode lists its providers only once its models catalog fetch has
# given up, which takes longer than verify's 10 s request bound when the machine is loaded.
OFFLINE_VERIFY = ("--request-timeout", "60")


def write_secrets(path: Path, pat: str, password: str, copilot: str) -> Path:
    path.write_text(
        f"OPENCODE_FLUX_GITHUB_PAT={pat}\nOPENCODE_FLUX_PASSWORD={password}\nOPENCODE_FLUX_COPILOT_AUTH_JSON={copilot}\n"
    )
    path.chmod(0o600)
    return path


@dataclass
class Foreground:
    """`ocw up` in the foreground (as `make up` runs it), read up to its "Press Ctrl-C" line."""

    process: subprocess.Popen[str]
    printed: list[str]

    def interrupt(self, timeout: float) -> str:
        """Ctrl-C as the terminal sends it; returns everything ocw printed, once it has exited."""
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=timeout)
        return "".join(self.printed) + rest


@contextlib.contextmanager
def up_in_foreground(*args: str, env: dict[str, str] | None = None) -> Iterator[Foreground]:
    """Start `ocw up ARGS` and wait until it is ready (the test's timeout bounds the wait); killed if still running
    when the block ends."""
    process = start_ocw("up", *args, env=env)
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        yield Foreground(process, printed)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def make_source_repo(path: Path) -> Path:
    """A small git repository to clone, with one commit."""
    path.mkdir(parents=True)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (path / "README.md").write_text("workspace source\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    return path


@dataclass
class Local(WorkspacePlaces):
    """A workspace started with `ocw up -d` under its own state dir."""

    source: str
    secrets_file: Path | None
    engine: str = "process"  # or "container": the workspace image with podman

    def up(self, *extra: str) -> CliResult:
        seed(self.home)
        return run_ocw(*self.up_arguments(self.engine, self.source, self.secrets_file), *extra, env=user_env())

    def up_ok(self) -> None:
        result = self.up()
        assert result.code == 0, result.output

    def down(self) -> CliResult:
        result = run_ocw("down", "flux", "--state-dir", str(self.state_dir), "--timeout", "3", env=user_env())
        assert result.code == 0, result.output
        return result

    def pid(self) -> int:
        return int(json.loads((self.root / "state.json").read_text())["pid"])

    def answers(self) -> bool:
        """Its recorded OpenCode (or container) still runs: the process of the record, with its start time."""
        try:
            record = json.loads((self.root / "state.json").read_text())
        except (OSError, ValueError):
            return False
        return process_start_ticks(int(record["pid"])) == int(record["start_ticks"])

    def up_unless_running(self) -> Local:
        """Started again if an earlier test stopped it and failed before starting it again."""
        if not self.answers():
            self.up_ok()
        return self

    def get(self, path: str, auth: bool = True) -> httpx.Response:
        credentials = ("opencode", self.password()) if auth else None
        return httpx.get(self.url + path, auth=credentials, timeout=30)

    def json(self, path: str) -> Any:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.json()

    def create_session(self, title: str) -> str:
        response = httpx.post(self.url + "/session", json={"title": title}, auth=("opencode", self.password()))
        assert response.status_code == 200
        return str(response.json()["id"])

    def session_ids(self) -> set[str]:
        return {s["id"] for s in self.json("/session")}


def fake_tokens() -> dict[str, str]:
    """A workspace's three secrets (GitHub PAT, password, Copilot token), token-shaped and valid nowhere."""
    return {"pat": random_text("ghp_"), "password": random_text("pw_"), "copilot": random_text("gho_")}


@contextlib.contextmanager
def running_workspace(base: Path, tokens: dict[str, str], engine: str = "process") -> Iterator[Local]:
    """A workspace started with `ocw up -d` in `base`: a small source repository to clone and a secrets file holding
    `tokens`; stopped when the block ends."""
    secrets_file = write_secrets(
        base / "secrets.env", tokens["pat"], tokens["password"], copilot_document(tokens["copilot"])
    )
    local = Local(base / "state", free_port(), str(make_source_repo(base / "source")), secrets_file, engine=engine)
    local.up_ok()
    try:
        yield local
    finally:
        run_ocw("down", "flux", "--state-dir", str(local.state_dir), "--timeout", "1", env=user_env())

"""Fixtures for `ocw secrets`: a local Doppler API, a temp HOME for the real Doppler CLI, token-shaped fakes, and a
runner that watches every process's command line while a command runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support.tokens import random_text

REPO = Path(__file__).resolve().parents[2]
# tests/ holds the shared `support` package; pytest puts only this directory on sys.path.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from support.doppler_api import DopplerApi, serve_doppler_api  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
OCW = VENV_BIN / "ocw"
SEED_SCRIPT = REPO / "scripts" / "seed-copilot-auth.sh"
PROJECT, CONFIG = "k3s-cluster", "prd"
FLUX_COPILOT, HA_COPILOT = "OPENCODE_FLUX_COPILOT_AUTH_JSON", "OPENCODE_HA_COPILOT_AUTH_JSON"
ALL_VARIABLES = {
    f"OPENCODE_{ws}_{role}" for ws in ("FLUX", "HA") for role in ("GITHUB_PAT", "PASSWORD", "COPILOT_AUTH_JSON")
}
# The cluster's own variables the workspaces' VolSync ExternalSecrets read; `ocw secrets init` never creates them.
SHARED_VARIABLES = {"VOLSYNC_REPOSITORY_TEMPLATE", "VOLSYNC_RESTIC_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}


@dataclass
class Doppler:
    api: DopplerApi
    url: str
    token: str
    home: Path

    def stored(self) -> dict[str, str]:
        return self.api.secrets(PROJECT, CONFIG)


@pytest.fixture
def doppler(tmp_path: Path) -> Iterator[Doppler]:
    token = random_text("dp.ct.", 40)
    home = tmp_path / "home"
    home.mkdir()
    with serve_doppler_api({token}) as (api, url):
        api.add_config(PROJECT, CONFIG)
        yield Doppler(api, url, token, home)


def base_env(home: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TMPDIR")}
    return {**keep, "HOME": str(home), "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"}


@pytest.fixture
def cli_env(doppler: Doppler) -> dict[str, str]:
    """The user's normal setup: the Doppler CLI on PATH, logged in (token in the environment, never argv)."""
    return {**base_env(doppler.home), "DOPPLER_TOKEN": doppler.token, "DOPPLER_API_HOST": doppler.url}


@pytest.fixture
def api_env(doppler: Doppler, tmp_path: Path) -> dict[str, str]:
    """No Doppler CLI anywhere on PATH, only DOPPLER_TOKEN: the REST path."""
    bare_bin = tmp_path / "bin-without-doppler"
    bare_bin.mkdir()
    env = {**base_env(doppler.home), "DOPPLER_TOKEN": doppler.token, "DOPPLER_API_HOST": doppler.url}
    env["PATH"] = f"{bare_bin}:/usr/bin:/bin"
    return env


@pytest.fixture(params=["cli", "api"])
def transport_env(request: pytest.FixtureRequest, cli_env: dict[str, str], api_env: dict[str, str]) -> dict[str, str]:
    return cli_env if request.param == "cli" else api_env


@dataclass
class CopilotLogin:
    path: Path
    token: str
    entry: dict[str, object] = field(default_factory=dict)

    def canonical(self) -> str:
        return json.dumps({"github-copilot": self.entry}, sort_keys=True, separators=(",", ":"))


def write_auth_file(path: Path, token: str, **extra: object) -> CopilotLogin:
    entry: dict[str, object] = {"type": "oauth", "refresh": token, "access": token, "expires": 0, **extra}
    document = {"openai": {"type": "api", "key": random_text("sk-", 40)}, "github-copilot": entry}
    path.parent.mkdir(parents=True, exist_ok=True)
    # Pretty-printed, unsorted, as OpenCode writes it: the stored form must not depend on this layout.
    path.write_text(json.dumps(document, indent=4))
    path.chmod(0o600)
    return CopilotLogin(path, token, entry)


@pytest.fixture
def login(doppler: Doppler) -> CopilotLogin:
    return write_auth_file(doppler.home / ".local" / "share" / "opencode" / "auth.json", random_text("gho_"))


@dataclass
class Watched:
    returncode: int
    stdout: str
    stderr: str
    command_lines: set[str]


def run_watched(
    command: Sequence[str | Path],
    env: Mapping[str, str],
    *,
    cwd: Path,
    stdin: str = "",
) -> Watched:
    """Run a command while sampling every process's /proc/<pid>/cmdline, to prove no secret is ever an argument."""
    seen: set[str] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        seen.add((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
                    except OSError:
                        continue

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        completed = subprocess.run(
            [str(c) for c in command],
            input=stdin,
            capture_output=True,
            text=True,
            env=dict(env),
            cwd=cwd,
            timeout=120,
            check=False,
        )
    finally:
        done.set()
        sampler.join(timeout=10)
    return Watched(completed.returncode, completed.stdout, completed.stderr, seen)


def ocw(subcommand: str, *args: str) -> list[str | Path]:
    """`ocw secrets SUBCOMMAND` on this project's tree, from whatever folder the test runs it in."""
    return [OCW, "secrets", subcommand, "--repo", REPO, *args]


def assert_nowhere(secret: str, result: Watched) -> None:
    assert secret, "an empty secret is in every output: nothing to look for"
    assert result.stdout or result.stderr, "the command printed nothing: its silence proves no secret is kept out"
    assert secret not in result.stdout
    assert secret not in result.stderr
    leaking = [line for line in result.command_lines if secret in line]
    assert leaking == []

"""Fixtures for `ocw secrets`: a local Doppler API, a temp HOME for the real Doppler CLI, token-shaped fakes, and a
runner that records every program a command starts, with its arguments."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
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
from support.prerequisites import require_command  # noqa: E402
from support.schema_cache import share_caches, shared_caches  # noqa: E402

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


@pytest.fixture(scope="session")
def run_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_caches(tmp_path_factory)


@pytest.fixture
def doppler(tmp_path: Path, run_caches: Path) -> Iterator[Doppler]:
    """A local Doppler API, and a HOME whose ocw cache has the run's kustomize builds and helm renders (keyed by
    everything that decides them; these tests are about Doppler, not about building the tree)."""
    token = random_text("dp.ct.", 40)
    home = tmp_path / "home"
    home.mkdir()
    share_caches(home / ".cache" / "ocw", run_caches)
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


# Each program started with its arguments, every byte in hex: "\x61\x62" (strace -xx).
_EXEC = re.compile(r'execve\("(?:[^"]*)", \[((?:"(?:\\x[0-9a-f]{2})*"(?:, )?)*)')
_HEX_STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')


def executed_command_lines(trace: str) -> set[str]:
    """The command lines of every execve an `strace -f -xx -e trace=execve` log records, arguments joined by spaces
    as /proc/<pid>/cmdline shows them."""
    lines = set()
    for match in _EXEC.finditer(trace):
        words = [bytes.fromhex(word.replace("\\x", "")) for word in _HEX_STRING.findall(match.group(1))]
        lines.add(b" ".join(words).decode(errors="replace"))
    return lines


def run_watched(
    command: Sequence[str | Path],
    env: Mapping[str, str],
    *,
    cwd: Path,
    stdin: str = "",
) -> Watched:
    """Run a command under strace, which records the arguments of every program the command and its descendants
    start (each execve, however short-lived the process), to prove no secret is ever an argument."""
    strace = require_command("strace", package="strace", purpose="it records every program a command starts")
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "execve.log"
        # -f follows every descendant; -xx prints each argument in hex; -s keeps arguments whole.
        watch = [str(strace), "-f", "-qq", "--seccomp-bpf", "-xx", "-s", "1000000", "-e", "trace=execve"]
        completed = subprocess.run(
            [*watch, "-e", "signal=none", "-o", str(trace), "--", *(str(c) for c in command)],
            input=stdin,
            capture_output=True,
            text=True,
            env=dict(env),
            cwd=cwd,
            timeout=120,
            check=False,
        )
        seen = executed_command_lines(trace.read_text())
    assert seen, "strace recorded no program start: the watch proves nothing"
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

"""Where a workspace started with `ocw up --state-dir DIR --port PORT` lives on this machine, and how to reach it:
what the `ocw up` tests and the agent tests both read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

WORKSPACE = "opencode-flux"


@dataclass
class WorkspacePlaces:
    state_dir: Path
    port: int

    @property
    def root(self) -> Path:
        return self.state_dir / WORKSPACE

    @property
    def home(self) -> Path:
        """The workspace volume on this machine."""
        return self.root / "volumes" / "home"

    @property
    def clone(self) -> Path:
        """The clone on this machine (the pod's WORKSPACE_DIR, on the volume)."""
        return self.home / "git" / "k8s-cluster"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def password(self) -> str:
        return (self.root / "password").read_text()

    def up_arguments(self, engine: str, source: str, secrets_file: Path | None) -> list[str]:
        """`ocw up` in the background for this state dir and port (the caller adds what else it needs)."""
        args = ["up", "flux", "-d", "--engine", engine, "--source", source, "--port", str(self.port)]
        args += ["--state-dir", str(self.state_dir)]
        return args if secrets_file is None else [*args, "--secrets", str(secrets_file)]

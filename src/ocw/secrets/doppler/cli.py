"""The Doppler CLI as a transport: every value goes over stdin or comes back on stdout, never in an argument."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.secrets.base import SecretStore
from ocw.secrets.doppler import errors
from ocw.secrets.doppler.common import DEFAULT_API_HOST, changes_from_logs, require_value, values_from_secrets
from ocw.secrets.location import StoreLocation
from ocw.secrets.redact import redact

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class DopplerCli:
    """Runs `doppler` with JSON output, no update check and a single attempt (ocw reports; the user re-runs)."""

    def __init__(
        self, path: Path, environ: Mapping[str, str], *, api_host: str | None, timeout: float, cwd: Path
    ) -> None:
        self.path = path
        self.environ = dict(environ)
        self.api_host = api_host
        self.timeout = timeout
        self.cwd = cwd

    def base_command(self) -> list[str]:
        command = [str(self.path), "--json", "--no-check-version", "--attempts", "1", "--timeout", f"{self.timeout:g}s"]
        if self.api_host:
            command += ["--api-host", self.api_host]
        return command

    def run(
        self,
        arguments: Sequence[str],
        *,
        location: StoreLocation,
        action: str,
        stdin: str | None = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        """Run one CLI command and return its parsed JSON output; failures become an OcwError naming the cause."""
        secret_values = list(secrets)
        try:
            completed = subprocess.run(
                [*self.base_command(), *arguments],
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                env=self.environ,
                cwd=self.cwd,
                timeout=self.timeout + 30,
                check=False,
            )
        except FileNotFoundError as exc:
            raise OcwError(
                f"the Doppler CLI was expected at {self.path} but could not be started",
                hint="reinstall the Doppler CLI (https://docs.doppler.com/docs/install-cli)",
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise errors.timed_out(self.api_host or DEFAULT_API_HOST, self.timeout) from exc
        if completed.returncode != 0:
            message = redact(_error_text(completed.stderr) or f"exit code {completed.returncode}", secret_values)
            raise self._explain(message, location, action)
        try:
            return json.loads(completed.stdout) if completed.stdout.strip() else None
        except ValueError as exc:
            raise OcwError(
                f"the Doppler CLI's output for `{action}` was not the JSON it documents",
                hint="check `doppler --version` (ocw is tested with 3.77) and update the CLI",
            ) from exc

    def _explain(self, message: str, location: StoreLocation, action: str) -> OcwError:
        lowered = message.lower()
        if "deadline exceeded" in lowered or "timeout" in lowered:
            return errors.timed_out(self.api_host or DEFAULT_API_HOST, self.timeout)
        if "connection refused" in lowered or "no such host" in lowered or "network is unreachable" in lowered:
            return errors.unreachable(self.api_host or DEFAULT_API_HOST, message)
        return errors.from_messages(message, None, location, action)

    def directory_setup(self) -> tuple[str, str]:
        """The project and config `doppler setup` recorded for the working directory (empty when none)."""
        try:
            completed = subprocess.run(
                [*self.base_command(), "configure", "get", "project", "config", "--scope", str(self.cwd)],
                capture_output=True,
                text=True,
                env=self.environ,
                cwd=self.cwd,
                timeout=30,
                check=False,
            )
            options = json.loads(completed.stdout) if completed.returncode == 0 else {}
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return "", ""
        if not isinstance(options, dict):
            return "", ""
        return str(options.get("enclave.project") or ""), str(options.get("enclave.config") or "")


def _error_text(stderr: str) -> str:
    """The CLI's error: `{"error": ...}` on stderr with --json; otherwise its last non-empty line."""
    cleaned = _ANSI.sub("", stderr)
    for raw_line in reversed(cleaned.splitlines()):
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                document = json.loads(line)
            except ValueError:
                return line
            if isinstance(document, dict) and "error" in document:
                return str(document["error"])
        return line.removeprefix("Doppler Error:").strip()
    return ""


class DopplerCliStore(SecretStore):
    transport = "the Doppler CLI"

    def __init__(self, cli: DopplerCli, location: StoreLocation) -> None:
        super().__init__(location)
        self.cli = cli

    def _scope(self) -> list[str]:
        return ["--project", self.project, "--config", self.config]

    def names(self) -> set[str]:
        output = self.cli.run(
            ["secrets", "--only-names", *self._scope()], location=self.location, action="list secret names"
        )
        return set(output) if isinstance(output, dict) else set()

    def get_many(self, names: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        output = self.cli.run(
            ["secrets", "get", *wanted, "--raw", "--no-exit-on-missing-secret", *self._scope()],
            location=self.location,
            action="read secrets",
        )
        return values_from_secrets(output, wanted)

    def set(self, name: str, value: str) -> None:
        require_value(name, value)
        if value != value.rstrip("\r\n"):
            # The CLI trims a trailing line break read from stdin: the stored value would differ from the one given.
            raise OcwError(f"refusing to write {name}: its value ends with a line break, which the Doppler CLI drops")
        # `doppler secrets set NAME` reads the value from stdin; the CLI echoes the config back on stdout, which is
        # parsed and dropped here, never shown.
        self.cli.run(
            ["secrets", "set", name, "--no-interactive", *self._scope()],
            location=self.location,
            action=f"write {name}",
            stdin=value,
            secrets=[value],
        )

    def last_changed(self, names: Iterable[str]) -> dict[str, str]:
        logs = self.cli.run(["configs", "logs", *self._scope()], location=self.location, action="read the change log")
        return changes_from_logs(logs, names)

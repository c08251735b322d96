"""The secret store every workspace variable lives in, and how ocw reaches it.

`open_store()` picks the transport: the Doppler CLI when `doppler` is on PATH (the user's normal, logged-in setup),
else Doppler's REST API (v3) when `DOPPLER_TOKEN` is set. Both honour `DOPPLER_API_HOST`. Values travel over stdin
or HTTPS bodies, never in an argument list.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from ocw.errors import OcwError
from ocw.secrets.base import SecretStore
from ocw.secrets.doppler.cli import DopplerCli, DopplerCliStore
from ocw.secrets.location import resolve_location

__all__ = ["SecretStore", "find_doppler_cli", "open_store", "request_timeout"]

DEFAULT_TIMEOUT_SECONDS = 15.0
TIMEOUT_ENV = "OCW_DOPPLER_TIMEOUT"


def request_timeout(environ: Mapping[str, str]) -> float:
    raw = environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise OcwError(
            f"{TIMEOUT_ENV} must be a positive number of seconds, found {raw!r}",
            hint=f"unset {TIMEOUT_ENV} to use {DEFAULT_TIMEOUT_SECONDS:g} s, or set e.g. {TIMEOUT_ENV}=30",
        )
    return seconds


def find_doppler_cli(environ: Mapping[str, str]) -> Path | None:
    found = shutil.which("doppler", path=environ.get("PATH", os.defpath))
    return Path(found) if found else None


def open_store(
    project: str | None = None,
    config: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> SecretStore:
    """The Doppler config holding the workspace variables (see `ocw.secrets.location` for how it is chosen)."""
    env = dict(os.environ if environ is None else environ)
    timeout = request_timeout(env)
    api_host = env.get("DOPPLER_API_HOST", "").strip() or None
    cli_path = find_doppler_cli(env)
    if cli_path is not None:
        cli = DopplerCli(cli_path, env, api_host=api_host, timeout=timeout, cwd=cwd or Path.cwd())
        location = resolve_location(project, config, env, cli.directory_setup)
        return DopplerCliStore(cli, location)
    token = env.get("DOPPLER_TOKEN", "").strip()
    if token:
        # Its HTTP client loads only here: with the Doppler CLI on PATH ocw never speaks HTTP itself.
        from ocw.secrets.doppler.api import DopplerApiStore  # noqa: PLC0415

        return DopplerApiStore(resolve_location(project, config, env), token, api_host=api_host, timeout=timeout)
    raise OcwError(
        "no way to reach Doppler: the Doppler CLI (`doppler`) is not on PATH and DOPPLER_TOKEN is not set",
        hint="install the Doppler CLI and run `doppler login` (https://docs.doppler.com/docs/install-cli), "
        "or export DOPPLER_TOKEN with a token that can write the config",
    )

"""This machine's proxy and TLS trust settings, handed to the workspace in both modes.

A private git server with its own CA, or a network that reaches the internet only through a proxy, must work the
same locally as it does for the user at home: the variables below pass through to the init step and OpenCode unless
the manifests set them. In the container, files they name are mounted read-only under HOST_TLS_DIR and the variable
points at the mounted copy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROXY_VARIABLES = tuple(name for base in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY") for name in (base, base.lower()))
TLS_FILE_VARIABLES = ("SSL_CERT_FILE", "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS")
TLS_DIR_VARIABLES = ("SSL_CERT_DIR",)
HOST_TLS_DIR = "/run/ocw-host-tls"


@dataclass(frozen=True)
class HostMount:
    source: Path
    target: str


def host_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pass-through variables that are set (and, for TLS ones, name an existing file or folder)."""
    env = os.environ if environ is None else environ
    result = {name: env[name] for name in PROXY_VARIABLES if env.get(name)}
    for name in TLS_FILE_VARIABLES:
        if env.get(name) and Path(env[name]).is_file():
            result[name] = env[name]
    for name in TLS_DIR_VARIABLES:
        if env.get(name) and Path(env[name]).is_dir():
            result[name] = env[name]
    return result


def for_container(settings: Mapping[str, str]) -> tuple[dict[str, str], list[HostMount]]:
    """The variables as the container sees them, and the read-only mounts that make their paths exist there."""
    env: dict[str, str] = {}
    mounts: list[HostMount] = []
    for name, value in settings.items():
        if name in TLS_FILE_VARIABLES or name in TLS_DIR_VARIABLES:
            target = f"{HOST_TLS_DIR}/{name}"
            mounts.append(HostMount(Path(value).resolve(), target))
            env[name] = target
        else:
            env[name] = value
    return env, mounts

"""Which Doppler project and config hold the workspace variables, and why.

The cluster's ClusterSecretStore `doppler-secrets` reads project `k3s-cluster`, config `prd`: that is the default here
and nowhere else. Each of project and config is chosen on its own, first match wins: the command-line flag, then
`DOPPLER_PROJECT` / `DOPPLER_CONFIG`, then the Doppler CLI's directory setup (`doppler setup`) for the current
directory, then the default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_PROJECT = "k3s-cluster"
DEFAULT_CONFIG = "prd"


@dataclass(frozen=True)
class StoreLocation:
    project: str
    config: str
    project_source: str
    config_source: str

    def describe(self) -> str:
        if self.project_source == self.config_source:
            return f"Doppler {self.project}/{self.config} (from {self.project_source})"
        return (
            f"Doppler {self.project}/{self.config} "
            f"(project from {self.project_source}, config from {self.config_source})"
        )


# Returns the (project, config) the Doppler CLI is set up with for the current directory; empty strings when unset.
DirectorySetup = Callable[[], tuple[str, str]]


def resolve_location(
    project: str | None,
    config: str | None,
    environ: Mapping[str, str],
    directory_setup: DirectorySetup | None = None,
) -> StoreLocation:
    setup: tuple[str, str] | None = None

    def from_setup(index: int) -> str:
        nonlocal setup
        if directory_setup is None:
            return ""
        if setup is None:
            setup = directory_setup()
        return setup[index].strip()

    chosen_project, project_source = _pick(
        project,
        environ.get("DOPPLER_PROJECT"),
        lambda: from_setup(0),
        default=DEFAULT_PROJECT,
        flag_name="--project",
        env_name="DOPPLER_PROJECT",
    )
    chosen_config, config_source = _pick(
        config,
        environ.get("DOPPLER_CONFIG"),
        lambda: from_setup(1),
        default=DEFAULT_CONFIG,
        flag_name="--config",
        env_name="DOPPLER_CONFIG",
    )
    return StoreLocation(chosen_project, chosen_config, project_source, config_source)


def _pick(
    flag: str | None,
    env_value: str | None,
    setup_value: Callable[[], str],
    *,
    default: str,
    flag_name: str,
    env_name: str,
) -> tuple[str, str]:
    if flag and flag.strip():
        return flag.strip(), flag_name
    if env_value and env_value.strip():
        return env_value.strip(), env_name
    configured = setup_value()
    if configured:
        return configured, "the Doppler CLI's setup for this directory"
    return default, "the default the cluster's secret store reads"

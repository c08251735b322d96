"""What marks a workspace in the manifests, in one place: the label on its HelmRelease (set by the
opencode-workspace component), the variable that carries the server password, and the roles of its Doppler keys."""

from __future__ import annotations

from typing import Final, Literal, get_args

from ocw.kube.manifest import Manifest

COMPONENT_LABEL: Final = "app.kubernetes.io/component"
COMPONENT_VALUE: Final = "opencode-workspace"
NAME_PREFIX: Final = "opencode-"
# The workspace's server password variable: without it OpenCode serves anyone.
PASSWORD_ENV: Final = "OPENCODE_SERVER_PASSWORD"  # noqa: S105 - the variable's name, not a value

SecretRole = Literal["GITHUB_PAT", "PASSWORD", "COPILOT_AUTH_JSON"]
SECRET_ROLES: Final[tuple[SecretRole, ...]] = get_args(SecretRole)


def is_workspace_release(manifest: Manifest) -> bool:
    """A HelmRelease the opencode-workspace component made (the label is on the HelmRelease itself)."""
    return manifest.kind == "HelmRelease" and manifest.labels.get(COMPONENT_LABEL) == COMPONENT_VALUE

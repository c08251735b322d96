"""Which Doppler variables a command acts on: per workspace found in the tree (or those named), read from its
built ExternalSecret, never from a list kept here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ocw.errors import OcwError
from ocw.workspace import SECRET_ROLES, Workspace, find_workspace, load_workspaces

GITHUB_PAT = "GITHUB_PAT"
PASSWORD = "PASSWORD"  # noqa: S105 - a role name, not a value
COPILOT_AUTH_JSON = "COPILOT_AUTH_JSON"
SHARED = "SHARED"  # a cluster-wide variable a workspace reads (never created by ocw)


@dataclass(frozen=True)
class Variable:
    workspace: str
    role: str
    name: str


@dataclass(frozen=True)
class WorkspaceVariables:
    workspace: str
    short_name: str
    by_role: dict[str, str]
    shared: tuple[str, ...] = ()
    namespace: str = "default"
    external_secret: str | None = None  # the ExternalSecret that fetches its variables

    def variable(self, role: str) -> Variable:
        return Variable(self.workspace, role, self.by_role[role])

    def variables(self) -> list[Variable]:
        return [self.variable(role) for role in SECRET_ROLES if role in self.by_role]


def shared_variables(workspaces: Sequence[WorkspaceVariables]) -> list[Variable]:
    """Each shared variable once, with the workspaces that read it."""
    readers: dict[str, list[str]] = {}
    for ws in workspaces:
        for name in ws.shared:
            readers.setdefault(name, []).append(ws.workspace)
    return [Variable(", ".join(names), SHARED, name) for name, names in sorted(readers.items())]


def select_workspaces(
    repo: Path, names: Sequence[str] = (), var_files: Sequence[Path] = ()
) -> list[WorkspaceVariables]:
    return variables_of(load_workspaces(repo, var_files), names)


def variables_of(workspaces: Sequence[Workspace], names: Sequence[str] = ()) -> list[WorkspaceVariables]:
    """The variables of the workspaces `names` names (every workspace when none), from workspaces already loaded."""
    chosen: list[Workspace] = []
    for name in names:
        workspace = find_workspace(workspaces, name)
        if workspace not in chosen:
            chosen.append(workspace)
    return [_variables(ws) for ws in chosen or workspaces]


def _variables(workspace: Workspace) -> WorkspaceVariables:
    keys = workspace.doppler_keys
    missing = [role for role in SECRET_ROLES if role not in keys]
    if missing:
        where = f"ExternalSecret {workspace.external_secret.name}" if workspace.external_secret else "no ExternalSecret"
        raise OcwError(
            f"workspace {workspace.name}: the tree names no Doppler variable for {', '.join(missing)} ({where})",
            hint="each workspace's ExternalSecret should read <PREFIX>_GITHUB_PAT, <PREFIX>_PASSWORD and "
            "<PREFIX>_COPILOT_AUTH_JSON; run `ocw check`",
        )
    roles = {str(role): name for role, name in keys.items()}
    external = workspace.external_secret.name if workspace.external_secret is not None else None
    return WorkspaceVariables(
        workspace.name, workspace.short_name, roles, tuple(workspace.shared_keys), workspace.namespace, external
    )

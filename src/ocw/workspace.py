"""A workspace, as the built tree defines it. ocw never keeps its own copy: everything here is read from the
manifests (the HelmRelease marked `app.kubernetes.io/component: opencode-workspace`, its ExternalSecret and route)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.externalsecrets.keys import key_reads
from ocw.flux.build import BuiltKustomization, Manifest
from ocw.helm import app_template
from ocw.tree import Tree, load_tree

COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT_VALUE = "opencode-workspace"
NAME_PREFIX = "opencode-"
PASSWORD_ENV = "OPENCODE_SERVER_PASSWORD"  # noqa: S105 - the variable's name, not a value
SECRET_ROLES = ("GITHUB_PAT", "PASSWORD", "COPILOT_AUTH_JSON")


@dataclass
class Workspace:
    name: str
    namespace: str
    built: BuiltKustomization
    helmrelease: Manifest
    controller: app_template.Controller
    external_secret: Manifest | None
    hostname: str | None

    @property
    def short_name(self) -> str:
        return self.name.removeprefix(NAME_PREFIX)

    @property
    def values(self) -> dict[str, Any]:
        return dict((self.helmrelease.obj.get("spec") or {}).get("values") or {})

    @property
    def app_container(self) -> app_template.Container:
        for container in self.controller.containers:
            if container.name == "app":
                return container
        return self.controller.containers[0]

    @property
    def init_container(self) -> app_template.Container | None:
        return self.controller.init_containers[0] if self.controller.init_containers else None

    @property
    def url(self) -> str | None:
        return f"https://{self.hostname}" if self.hostname else None

    @property
    def working_dir(self) -> str | None:
        return self.app_container.working_dir

    @property
    def secret_name(self) -> str | None:
        target = ((self.external_secret.obj.get("spec") or {}).get("target") or {}) if self.external_secret else {}
        return str(target["name"]) if target.get("name") else None

    @property
    def secret_template(self) -> dict[str, str]:
        """Target Secret key -> external-secrets template text."""
        if not self.external_secret:
            return {}
        target = (self.external_secret.obj.get("spec") or {}).get("target") or {}
        data = (target.get("template") or {}).get("data") or {}
        return {str(k): str(v) for k, v in data.items()}

    @property
    def doppler_keys(self) -> dict[str, str]:
        """Role (GITHUB_PAT, PASSWORD, COPILOT_AUTH_JSON) -> Doppler variable name, from the ExternalSecret."""
        keys: dict[str, str] = {}
        for remote in self.remote_keys:
            for role in SECRET_ROLES:
                if remote.endswith(f"_{role}"):
                    keys[role] = remote
        return keys

    @property
    def shared_keys(self) -> list[str]:
        """Doppler variables the workspace's ExternalSecrets read that are not its own (e.g. the VolSync restic
        repository and credentials the whole cluster shares): `ocw secrets init` never creates them."""
        own = set(self.doppler_keys.values())
        found: set[str] = set()
        for manifest in self.built.manifests:
            if manifest.kind == "ExternalSecret":
                found.update(key_reads(manifest.obj).keys)
        return sorted(found - own)

    @property
    def remote_keys(self) -> list[str]:
        if not self.external_secret:
            return []
        spec = self.external_secret.obj.get("spec") or {}
        return [
            str((entry.get("remoteRef") or {}).get("key"))
            for entry in spec.get("data") or []
            if isinstance(entry, dict) and (entry.get("remoteRef") or {}).get("key")
        ]


def workspaces_in(tree: Tree) -> list[Workspace]:
    result: list[Workspace] = []
    for built in tree.built:
        for manifest in built.manifests:
            labels = (manifest.obj.get("metadata") or {}).get("labels") or {}
            if manifest.kind == "HelmRelease" and labels.get(COMPONENT_LABEL) == COMPONENT_VALUE:
                result.append(_workspace(built, manifest))
    return sorted(result, key=lambda ws: ws.name)


def _workspace(built: BuiltKustomization, helmrelease: Manifest) -> Workspace:
    values = (helmrelease.obj.get("spec") or {}).get("values") or {}
    controllers = app_template.controllers(helmrelease.name, values)
    if not controllers:
        raise OcwError(f"{helmrelease.file}: HelmRelease {helmrelease.name} defines no enabled controller")
    controller = controllers[0]
    password_secret = _password_secret(controller)
    external_secret = next(
        (
            m
            for m in built.manifests
            if m.kind == "ExternalSecret"
            and ((m.obj.get("spec") or {}).get("target") or {}).get("name") == password_secret
        ),
        None,
    )
    hostnames = [h for route in (values.get("route") or {}).values() for h in (route or {}).get("hostnames") or []]
    return Workspace(
        name=helmrelease.name,
        namespace=helmrelease.namespace or "default",
        built=built,
        helmrelease=helmrelease,
        controller=controller,
        external_secret=external_secret,
        hostname=str(hostnames[0]) if hostnames else None,
    )


def _password_secret(controller: app_template.Controller) -> str | None:
    for container in controller.containers:
        for var in container.env:
            if var.name == PASSWORD_ENV and var.secret_ref:
                return var.secret_ref[0]
    return None


def load_workspaces(repo: Path, var_files: Sequence[Path] = ()) -> list[Workspace]:
    tree = load_tree(repo, var_files)
    workspaces = workspaces_in(tree)
    if not workspaces:
        problems = "; ".join(f.message for f in tree.all_findings()[:3])
        raise OcwError(
            f"no workspace found in {repo / 'kubernetes'}: expected a HelmRelease labelled "
            f"{COMPONENT_LABEL}: {COMPONENT_VALUE}" + (f" ({problems})" if problems else ""),
            hint="run `ocw check` to see what is wrong with the tree",
        )
    return workspaces


def find_workspace(workspaces: Sequence[Workspace], name: str) -> Workspace:
    for workspace in workspaces:
        if name in (workspace.name, workspace.short_name):
            return workspace
    known = ", ".join(f"{ws.name} ({ws.short_name})" for ws in workspaces) or "none"
    raise OcwError(f"no workspace named {name!r}; the tree defines: {known}", hint="use one of the names listed")

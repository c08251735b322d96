"""A workspace, as the built tree defines it. ocw never keeps its own copy: everything here is read from the
manifests (the HelmRelease marked `app.kubernetes.io/component: opencode-workspace`) and from what Helm renders from
them: the pod of its Deployment, its route, and the ExternalSecret that feeds the server password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

from ocw.cli_options import check_command
from ocw.component import (
    COMPONENT_LABEL,
    COMPONENT_VALUE,
    NAME_PREFIX,
    PASSWORD_ENV,
    SECRET_ROLES,
    SecretRole,
    is_workspace_release,
)
from ocw.errors import OcwError
from ocw.externalsecrets.keys import key_reads, template_data
from ocw.externalsecrets.lookup import producer, target_name
from ocw.flux.build import BuiltKustomization
from ocw.helm.capabilities import render_tree
from ocw.helm.controller import Release, Releases
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.pod import Container, Workload, is_workload, workload
from ocw.tree import Tree, load_tree

__all__ = [
    "COMPONENT_LABEL",
    "COMPONENT_VALUE",
    "PASSWORD_ENV",
    "SECRET_ROLES",
    "Workspace",
    "find_workspace",
    "load_workspaces",
    "workspaces_in",
]


@dataclass
class Workspace:
    name: str
    namespace: str
    built: BuiltKustomization
    helmrelease: Manifest
    release: Release = field(repr=False)
    # Why the chart that rendered it is not exactly the one the tree pins (None when it is).
    chart_note: str | None = None

    @property
    def short_name(self) -> str:
        return self.name.removeprefix(NAME_PREFIX)

    @cached_property
    def workload(self) -> Workload:
        """The pod the cluster runs: the rendered workload whose app container reads the server password."""
        problems = "; ".join(p.message for p in self.release.problems if p.kind in ("chart", "render"))
        if problems or not self.release.objects:
            raise OcwError(
                f"{self.helmrelease.file}: HelmRelease {self.name} could not be rendered: {problems or 'no objects'}",
                hint="run `ocw charts pull` while online to fetch its chart, or `ocw check` to see what is wrong",
            )
        workloads = [workload(m) for m in self.release.objects if is_workload(m)]
        with_password = [w for w in workloads if w.main_container and w.main_container.variable(PASSWORD_ENV)]
        chosen = with_password or [w for w in workloads if w.containers]
        if not chosen:
            raise OcwError(f"{self.helmrelease.file}: HelmRelease {self.name} renders no workload with a container")
        return chosen[0]

    @property
    def app_container(self) -> Container:
        main = self.workload.main_container
        assert main is not None  # noqa: S101 - the workload was chosen for having one
        return main

    @property
    def init_container(self) -> Container | None:
        return self.workload.init_containers[0] if self.workload.init_containers else None

    @property
    def route(self) -> Manifest | None:
        """The workspace's HTTPRoute, as the chart renders it (its name is the one the cluster holds)."""
        return next((m for m in self.release.objects if m.kind == "HTTPRoute"), None)

    @property
    def hostname(self) -> str | None:
        hostnames = self.route.spec.get("hostnames") if self.route is not None else None
        return str(hostnames[0]) if isinstance(hostnames, list) and hostnames else None

    @property
    def url(self) -> str | None:
        return f"https://{self.hostname}" if self.hostname else None

    @property
    def working_dir(self) -> str | None:
        return self.app_container.working_dir

    @property
    def password_ref(self) -> tuple[str, str] | None:
        """(Secret, key) the server password comes from."""
        variable = self.app_container.variable(PASSWORD_ENV)
        ref = variable.secret_ref if variable is not None else None
        return (ref.name, ref.key) if ref is not None else None

    @cached_property
    def external_secret(self) -> Manifest | None:
        """The ExternalSecret whose target Secret feeds the server password. When the chart cannot be rendered here
        (`ocw charts pull` not run yet), the workspace's ExternalSecret that fetches a key for each secret role
        (`<PREFIX>_GITHUB_PAT`, `_PASSWORD`, `_COPILOT_AUTH_JSON`): the Doppler commands need no pod."""
        try:
            ref = self.password_ref
        except OcwError:
            roles = [f"_{role}" for role in SECRET_ROLES]
            return next(
                (
                    m
                    for m in self.built.manifests
                    if m.kind == "ExternalSecret"
                    and all(any(k.endswith(role) for k in key_reads(m.obj).keys) for role in roles)
                ),
                None,
            )
        return producer(self.built.manifests, self.namespace, ref[0]) if ref is not None else None

    @property
    def secret_name(self) -> str | None:
        return target_name(self.external_secret) if self.external_secret is not None else None

    @property
    def secret_template(self) -> dict[str, str]:
        """Target Secret key -> external-secrets template text."""
        return template_data(self.external_secret.obj) if self.external_secret is not None else {}

    @property
    def doppler_keys(self) -> dict[SecretRole, str]:
        """Role (GITHUB_PAT, PASSWORD, COPILOT_AUTH_JSON) -> Doppler variable name, from the ExternalSecret."""
        keys: dict[SecretRole, str] = {}
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
        if self.external_secret is None:
            return []
        return [
            str(mapping(entry.get("remoteRef")).get("key"))
            for entry in mappings(self.external_secret.spec.get("data"))
            if mapping(entry.get("remoteRef")).get("key")
        ]


def workspace_releases(tree: Tree) -> list[tuple[BuiltKustomization, Manifest]]:
    """The workspace HelmReleases of a built tree, with the Flux Kustomization that builds each: no rendering."""
    return [(built, m) for built in tree.built for m in built.manifests if is_workspace_release(m)]


def workspaces_in(tree: Tree, releases: Releases | None = None) -> list[Workspace]:
    """The tree's workspaces, rendered (or taken from `releases`, already rendered with the whole tree)."""
    found = workspace_releases(tree)
    if releases is None:
        releases = render_tree(list(tree.manifests()), [helmrelease for _, helmrelease in found], crds=tree.crds)
    notes = {id(hr): note.message for note in releases.notes for hr in note.releases if note.available}
    result: list[Workspace] = []
    for built, helmrelease in found:
        release = releases.for_helmrelease(helmrelease)
        if release is None:
            continue
        result.append(
            Workspace(
                name=helmrelease.name,
                namespace=helmrelease.namespace or "default",
                built=built,
                helmrelease=helmrelease,
                release=release,
                chart_note=notes.get(id(helmrelease)),
            )
        )
    return sorted(result, key=lambda ws: ws.name)


def load_workspaces(
    repo: Path, var_files: Sequence[Path] = (), files: Sequence[PurePosixPath] | None = None
) -> list[Workspace]:
    """The workspaces of the tree; `files` are the repository's (repository_files), listed here unless given."""
    tree = load_tree(repo, var_files, files=files)
    workspaces = workspaces_in(tree)
    if not workspaces:
        problems = "; ".join(f.message for f in tree.all_findings()[:3])
        raise OcwError(
            f"no workspace found in {repo / 'kubernetes'}: expected a HelmRelease labelled "
            f"{COMPONENT_LABEL}: {COMPONENT_VALUE}" + (f" ({problems})" if problems else ""),
            hint=f"run `{check_command(repo)}` to see what is wrong with the tree",
        )
    return workspaces


def find_workspace(workspaces: Sequence[Workspace], name: str) -> Workspace:
    for workspace in workspaces:
        if name in (workspace.name, workspace.short_name):
            return workspace
    known = ", ".join(f"{ws.name} ({ws.short_name})" for ws in workspaces) or "none"
    raise OcwError(f"no workspace named {name!r}; the tree defines: {known}", hint="use one of the names listed")

"""What `ocw install` would do to a cluster repository, worked out completely before anything is written: every file
of the project's tree, a new workspace's two files, the workspaces' aggregator and the insertions into the host apps'
kustomization.yaml files, each with its content before and after."""

from __future__ import annotations

import difflib
import stat
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ocw.errors import OcwError
from ocw.flux.kustomization import discover
from ocw.install import ks_template, kustomization_edit, settings
from ocw.install.host import HostCluster
from ocw.install.manifests import AGGREGATOR, APPS, TEMPLATE_APP, Manifests
from ocw.install.new_workspace import DefinedApp, NewWorkspace, WorkspaceRequest, resolve

MANUAL = "scripts/README.md (manual steps)"


@dataclass
class FileChange:
    path: PurePosixPath  # relative to the repository root
    before: bytes | None
    after: bytes
    executable: bool = False
    edit: bool = False  # an insertion into a file the user owns: never refused
    refused: bool = False  # exists with other content; left alone unless --force

    @property
    def action(self) -> str:
        if self.before == self.after:
            return "unchanged"
        if self.refused:
            return "refused"
        return "created" if self.before is None else "updated"

    def diff(self) -> str:
        before = _text(self.before).splitlines(keepends=True)
        after = _text(self.after).splitlines(keepends=True)
        old = "/dev/null" if self.before is None else f"a/{self.path}"
        lines = difflib.unified_diff(before, after, old, f"b/{self.path}")
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class Plan:
    repo: Path
    changes: list[FileChange] = field(default_factory=list)
    workspace: NewWorkspace | None = None

    def by_action(self, action: str) -> list[FileChange]:
        return [c for c in self.changes if c.action == action]

    @property
    def to_write(self) -> list[FileChange]:
        return [c for c in self.changes if c.action in ("created", "updated")]


def make_plan(
    repo: Path, manifests: Manifests, host: HostCluster, request: WorkspaceRequest | None, *, force: bool
) -> Plan:
    if not (repo / "kubernetes" / "apps").is_dir():
        raise OcwError(
            f"--repo expects the cluster repository (a kubernetes/apps folder), found none at {repo}",
            hint="pass the folder of your k8s-cluster checkout",
        )
    plan = Plan(repo)
    for relative in manifests.files():
        if relative != AGGREGATOR:
            _copy(plan, relative, manifests.read(relative), _is_executable(manifests.root / relative), force=force)
    apps = manifests.workspace_apps()
    if request is not None:
        plan.workspace = _add_workspace(plan, manifests, host, request)
        apps = sorted({*apps, plan.workspace.app})
    _aggregate(plan, manifests, apps)
    _host_edits(plan, host)
    plan.changes.sort(key=lambda change: str(change.path))
    return plan


def _copy(plan: Plan, relative: PurePosixPath, content: bytes, executable: bool, *, force: bool) -> None:
    before = _read(plan.repo, relative)
    if before is not None and _is_workspace_ks(relative):
        content = _with_user_settings(content, before)
    refused = before is not None and before != content and not force
    plan.changes.append(FileChange(relative, before, content, executable=executable, refused=refused))


def _add_workspace(plan: Plan, manifests: Manifests, host: HostCluster, request: WorkspaceRequest) -> NewWorkspace:
    project = _defined(manifests.root)
    project_apps = {d.app for d in project}
    installed = _defined(plan.repo)
    defined = [
        *project,
        *(d for d in installed if d.app not in project_apps),
        *(DefinedApp(name, {}, workspace=False) for name in host.kustomizations),
    ]
    workspace = resolve(request, defined)
    template = manifests.read(APPS / TEMPLATE_APP / "ks.yaml").decode()
    per_workspace = ks_template.per_workspace_keys([dict(d.variables) for d in project if d.workspace])
    # What the user's workspaces agree on (the image tag they bumped, say) is where a new one starts.
    template_keys = set(ks_template.substitute_of(template) or {}) - per_workspace - {"APP"}
    agreed = settings.shared_values({d.app: d.variables for d in installed if d.workspace}, template_keys)
    values = {**agreed, **workspace.variables()}
    ks_text = ks_template.render(template, TEMPLATE_APP, workspace.app, values, per_workspace)
    files = {
        APPS / workspace.app / "ks.yaml": ks_text.encode(),
        APPS / workspace.app / "app" / "kustomization.yaml": manifests.read(
            APPS / TEMPLATE_APP / "app" / "kustomization.yaml"
        ),
    }
    for relative, generated in files.items():
        planned = next((c for c in plan.changes if c.path == relative), None)
        existing = planned.after if planned else _read(plan.repo, relative)
        content = generated
        if existing is not None and _is_workspace_ks(relative):
            content = _with_user_settings(generated, existing, asked=set(workspace.variables()))
        if existing is not None and existing != content:
            change = FileChange(relative, existing, content)
            raise OcwError(
                f"--workspace {request.name}: the workspace {workspace.app} exists already with other settings "
                f"({relative}). Nothing was written. What install would change:\n{change.diff()}",
                hint="pick another name, or edit that workspace's ks.yaml by hand",
            )
        if planned is None:
            plan.changes.append(FileChange(relative, existing, content))
    return workspace


def _is_workspace_ks(relative: PurePosixPath) -> bool:
    return relative.parent.parent == APPS and relative.name == "ks.yaml"


def _with_user_settings(project: bytes, installed: bytes, asked: Collection[str] = ()) -> bytes:
    """The project's ks.yaml with the installed one's settings kept (the user owns every substitute value)."""
    try:
        return settings.keep_user_values(project.decode(), installed.decode(), asked).encode()
    except UnicodeDecodeError:
        return project


def _defined(root: Path) -> list[DefinedApp]:
    kustomizations, _ = discover(root)
    return [
        DefinedApp(ks.name, ks.substitute, workspace=ks.source_file.parent.parent.as_posix() == str(APPS))
        for ks in kustomizations
    ]


def _aggregate(plan: Plan, manifests: Manifests, apps: Iterable[str]) -> None:
    before = _read(plan.repo, AGGREGATOR)
    text = (before if before is not None else manifests.read(AGGREGATOR)).decode()
    try:
        text = kustomization_edit.add_resource(text, "./namespace.yaml", lambda _values, _new: 0).text
        for app in apps:
            entry = f"./{app}/ks.yaml"
            text = kustomization_edit.add_resource(text, entry, kustomization_edit.flux_aggregator_position).text
    except kustomization_edit.ShapeError as exc:
        raise _shape_error(AGGREGATOR, exc) from exc
    plan.changes.append(FileChange(AGGREGATOR, before, text.encode(), edit=True))


def _host_edits(plan: Plan, host: HostCluster) -> None:
    edited: dict[PurePosixPath, FileChange] = {}
    for step in host.install:
        installed = PurePosixPath(step.file)
        relative = installed.parent / "kustomization.yaml"
        change = edited.get(relative)
        if change is None:
            before = _read(plan.repo, relative)
            if before is None:
                raise OcwError(
                    f"expected the host app {step.app}'s {relative} in the repository, found no file. Nothing was "
                    f"written",
                    hint=f"install into the cluster repository that defines {step.app}, or follow {MANUAL}",
                )
            change = edited[relative] = FileChange(relative, before, before, edit=True)
        entry = f"./{installed.name}"
        try:
            if step.mode == "resource":
                result = kustomization_edit.add_resource(change.after.decode(), entry)
            else:
                result = kustomization_edit.add_patch(change.after.decode(), entry, step.target)
        except (kustomization_edit.ShapeError, UnicodeDecodeError) as exc:
            raise _shape_error(relative, exc) from exc
        change.after = result.text.encode()
    plan.changes.extend(edited.values())


def _shape_error(relative: PurePosixPath, exc: Exception) -> OcwError:
    return OcwError(
        f"{relative}: {exc}. Nothing was written",
        hint=f"make the edit by hand as {MANUAL} shows, then run ocw install again: it recognises the entry",
    )


def _read(repo: Path, relative: PurePosixPath) -> bytes | None:
    path = repo / relative
    if path.is_dir():
        raise OcwError(f"expected a file at {path}, found a folder. Nothing was written", hint="move the folder away")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OcwError(f"cannot read {path}: {exc.strerror}. Nothing was written") from exc


def _is_executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


def _text(content: bytes | None) -> str:
    return "" if content is None else content.decode(errors="replace")

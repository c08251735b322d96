"""Which part of the repository each rule looks at.

The project's own policy (pod security, resources, `$schema` comments, ...) is about the workspaces: it applies to the
workspace apps (the Flux Kustomizations that build a HelmRelease from the opencode-workspace component), the folders
they live in and the files installed into host apps with them. Everything else in a cluster repository gets only the
checks that predict a failed reconcile. `--only` narrows the report to some Kustomizations, by name, target namespace
or folder under kubernetes/apps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ocw.check.rules import RULES
from ocw.component import is_workspace_release
from ocw.findings import Finding
from ocw.flux.build import BuiltKustomization
from ocw.flux.kustomization import APPS_DIR


@dataclass(frozen=True)
class Area:
    """A set of Flux Kustomizations and the folders whose files belong to them."""

    kustomizations: frozenset[str]
    folders: tuple[Path, ...]
    files: frozenset[str] = frozenset()

    def holds(self, file: str) -> bool:
        path = Path(file)
        return file in self.files or any(path.is_relative_to(folder) for folder in self.folders)


def _folders(built: Iterable[BuiltKustomization], extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    folders: set[Path] = set(extra)
    for item in built:
        ks = item.kustomization
        folders.update({ks.source_file.parent, ks.build_dir})
        folders.update(Path(m.file).parent for m in item.manifests if not m.file.startswith("<"))
    return tuple(sorted(folders))


def is_workspace_app(built: BuiltKustomization) -> bool:
    return any(is_workspace_release(m) for m in built.manifests)


def workspace_area(built: Sequence[BuiltKustomization], installed_files: Iterable[str]) -> Area:
    """The workspace apps, the folder holding their ks.yaml files (with the namespace), and the install files."""
    apps = [b for b in built if is_workspace_app(b)]
    app_folders = {b.kustomization.source_file.parent.parent for b in apps}
    return Area(
        kustomizations=frozenset(b.kustomization.name for b in apps),
        folders=_folders(apps, (f for f in app_folders if f != APPS_DIR and f.is_relative_to(APPS_DIR))),
        files=frozenset(installed_files),
    )


def keep_in_scope(findings: Iterable[Finding], workspace: Area) -> list[Finding]:
    """Drop the project-policy findings about files outside the workspace area."""
    return [f for f in findings if not RULES[f.rule].workspace_only or workspace.holds(f.file)]


def selected_area(built: Sequence[BuiltKustomization], terms: Sequence[str]) -> Area:
    """The Kustomizations --only kept, their folders, and the kubernetes/apps folders a term named."""
    named = {APPS_DIR / term for term in terms if (APPS_DIR / term).parts[-1] == term}
    folders = {folder for folder in named if any(b.kustomization.source_file.is_relative_to(folder) for b in built)}
    return Area(frozenset(b.kustomization.name for b in built), _folders(built, folders))


def narrow(findings: Iterable[Finding], area: Area) -> list[Finding]:
    """Findings about the selected Kustomizations' objects, or about files in their folders."""
    return [f for f in findings if f.owner in area.kustomizations or (f.owner is None and area.holds(f.file))]

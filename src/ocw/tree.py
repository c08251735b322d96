"""The GitOps tree as Flux would see it: Flux's graph followed from its entry point, every Kustomization built, with
what went wrong."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ocw.apis import RepositoryCRDs
from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.flux.artifact import Workspace, repository_files
from ocw.flux.bootstrap import Bootstrap, Document, scan
from ocw.flux.build import BuiltKustomization, Manifest
from ocw.flux.graph import NothingToFollow, entry_for, follow
from ocw.flux.kustomization import FluxKustomization, select
from ocw.flux.repo_vars import RepoVars
from ocw.flux.sourceignore import ArtifactFilter
from ocw.flux.variables import load_cluster_vars


@dataclass
class Tree:
    repo: Path
    kustomizations: list[FluxKustomization]
    built: list[BuiltKustomization]
    cluster_vars: dict[str, str]
    var_files: list[Path]
    findings: list[Finding] = field(default_factory=list)
    # The ConfigMaps and Secrets of the graph that substituteFrom reads.
    repo_vars: RepoVars = field(default_factory=RepoVars)
    # The CRDs the repository provides (its own CustomResourceDefinition objects; charts' CRDs join here).
    crds: RepositoryCRDs = field(default_factory=RepositoryCRDs)
    bootstrap: Bootstrap | None = None
    # The URLs the repository is known by: its bootstrap source's, its checkout's origin.
    repository_urls: list[str] = field(default_factory=list)
    # The Kustomizations --only selected (all of them without --only).
    selected: list[FluxKustomization] = field(default_factory=list)

    def manifests(self) -> Iterator[Manifest]:
        for built in self.built:
            yield from built.manifests

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for built in self.built for f in built.findings)]


def visible_documents(
    repo: Path, files: Sequence[PurePosixPath] | None = None
) -> tuple[list[PurePosixPath], list[Document]]:
    """What Flux could see of the repository by default (its files, listed here unless given, minus the
    .sourceignore'd and default exclusions), and the YAML documents among them that matter to its graph. Raises
    OcwError naming a YAML file that is not UTF-8."""
    files = repository_files(repo) if files is None else files
    visible = ArtifactFilter.for_repository(repo, files).select(files)
    return visible, scan(repo, visible)


def load_tree(
    repo: Path,
    var_files: Sequence[Path] = (),
    only: Sequence[str] | None = None,
    *,
    cluster: str | None = None,
    path: Path | None = None,
    files: Sequence[PurePosixPath] | None = None,
) -> Tree:
    """Follow Flux's graph in repo, from --path, else its bootstrap (--cluster picks one of several), else the folders
    that hold its Flux Kustomizations. The whole graph is always built; `only` (names, target namespaces or folders
    under kubernetes/apps) marks the selection a report is narrowed to. `files` are the repository's
    (repository_files), listed here unless given."""
    repo = repo.resolve()
    if not repo.is_dir():
        raise OcwError(f"expected a repository folder at {repo}, found none", hint="pass --repo DIR")
    file_vars, used_files = load_cluster_vars(repo, var_files)
    files = repository_files(repo) if files is None else files  # listed once: the graph's sources hold the same files
    visible, documents = visible_documents(repo, files)
    entry_path = _relative_path(repo, path) if path is not None else None
    try:
        entry = entry_for(repo, documents, visible, cluster=cluster, path=entry_path)
    except NothingToFollow as exc:
        raise OcwError(
            f"nothing to check in {repo}: {exc.message}",
            hint="pass --path DIR (a folder Flux builds) or --cluster NAME to tell ocw where Flux starts",
        ) from exc
    with Workspace(repo) as workspace:
        graph = follow(repo, entry, documents, file_vars, workspace, files=files)
    selected = graph.kustomizations if only is None else select(graph.kustomizations, only)
    return Tree(
        repo,
        graph.kustomizations,
        graph.built,
        {**graph.repo_vars.used_variables(), **file_vars},
        used_files,
        graph.findings,
        graph.repo_vars,
        graph.crds,
        graph.bootstrap,
        graph.repository_urls,
        selected,
    )


def _relative_path(repo: Path, path: Path) -> PurePosixPath:
    absolute = (path if path.is_absolute() else repo / path).resolve()
    if not absolute.is_relative_to(repo):
        raise OcwError(f"--path {path} is outside the repository {repo}", hint="pass a folder inside --repo")
    return PurePosixPath(absolute.relative_to(repo).as_posix() or ".")

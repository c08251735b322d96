"""The GitOps tree as Flux would see it: every Flux Kustomization discovered and built, with what went wrong."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.flux.build import BuiltKustomization, Manifest, build_all
from ocw.flux.kustomization import FluxKustomization, discover, select
from ocw.flux.repo_vars import RepoVars, load_repo_vars
from ocw.flux.variables import load_cluster_vars


@dataclass
class Tree:
    repo: Path
    kustomizations: list[FluxKustomization]
    built: list[BuiltKustomization]
    cluster_vars: dict[str, str]
    var_files: list[Path]
    findings: list[Finding] = field(default_factory=list)
    # The repository's own substituteFrom sources (ConfigMaps, SOPS Secrets), under the --vars files.
    repo_vars: RepoVars = field(default_factory=RepoVars)

    def manifests(self) -> Iterator[Manifest]:
        for built in self.built:
            yield from built.manifests

    def all_findings(self) -> list[Finding]:
        return [*self.findings, *(f for built in self.built for f in built.findings)]


def load_tree(repo: Path, var_files: Sequence[Path] = (), only: Sequence[str] | None = None) -> Tree:
    """Discover and build the tree. `only` limits the build to the Flux Kustomizations it names (by name, target
    namespace or folder under kubernetes/apps)."""

    repo = repo.resolve()
    if not (repo / "kubernetes").is_dir():
        raise OcwError(
            f"expected a GitOps repository with a kubernetes/ folder at {repo}, found none",
            hint="run ocw from the repository, or pass --repo DIR",
        )
    file_vars, used_files = load_cluster_vars(repo, var_files)
    kustomizations, findings = discover(repo)
    repo_vars = load_repo_vars(repo, (ref for ks in kustomizations for ref in ks.substitute_from))
    cluster_vars = {**repo_vars.global_variables(), **file_vars}
    selected = kustomizations if only is None else select(kustomizations, only)
    built = build_all(repo, selected, cluster_vars, repo_vars)
    return Tree(repo, kustomizations, built, cluster_vars, used_files, findings, repo_vars)

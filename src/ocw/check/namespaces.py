"""`namespace-prune-guard`: Flux deletes what it pruned, a Namespace included, and a Namespace takes every claim in
it along: the workspace volumes. `kustomize.toolkit.fluxcd.io/prune: disabled` (label or annotation) on the
workspaces' namespace keeps it when its folder is removed from git. The namespace is built the way Flux builds it:
the folder holding the workspaces' ks.yaml files, with kubectl kustomize (components and patches included)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ocw import kustomize
from ocw.check.scope import Area
from ocw.findings import Finding
from ocw.flux.build import BuiltKustomization
from ocw.flux.build_cache import BuildCache
from ocw.flux.graph import PRUNE_DISABLED, PRUNE_KEY
from ocw.yamlio import load_all_fast


def check_prune_guard(repo: Path, built: Sequence[BuiltKustomization], workspace: Area) -> list[Finding]:
    findings: list[Finding] = []
    folders: dict[str, set[Path]] = {}
    for item in built:
        ks = item.kustomization
        if ks.name in workspace.kustomizations and ks.target_namespace:
            folders.setdefault(str(ks.target_namespace), set()).add(ks.source_file.parent.parent)
    for namespace, candidates in sorted(folders.items()):
        findings.extend(_guarded(repo, namespace, sorted(candidates)))
    return findings


def _guarded(repo: Path, namespace: str, folders: list[Path]) -> Iterator[Finding]:
    for folder in folders:
        if not (repo / folder / "kustomization.yaml").is_file():
            continue
        try:
            documents = load_all_fast(BuildCache().build_folder(repo, folder))
        except kustomize.KustomizeError as exc:
            yield Finding(str(folder / "kustomization.yaml"), "kustomize-build", f"Namespace/{namespace}", str(exc))
            return
        for doc in documents:
            if not isinstance(doc, dict) or doc.get("kind") != "Namespace":
                continue
            metadata = doc.get("metadata") or {}
            if metadata.get("name") != namespace:
                continue
            marks = {**(metadata.get("labels") or {}), **(metadata.get("annotations") or {})}
            if marks.get(PRUNE_KEY) != PRUNE_DISABLED:
                yield Finding(
                    str(folder / "kustomization.yaml"),
                    "namespace-prune-guard",
                    f"Namespace/{namespace}",
                    f"the workspaces' namespace lacks `{PRUNE_KEY}: {PRUNE_DISABLED}`: deleting or renaming "
                    f"{folder} would make Flux delete the namespace and the workspace volumes in it. Add it as a "
                    f"label or annotation of the Namespace",
                )
            return
    where = ", ".join(str(f) for f in folders)
    yield Finding(
        str(folders[0] / "kustomization.yaml") if folders else "kubernetes/apps",
        "namespace-prune-guard",
        f"Namespace/{namespace}",
        f"no Namespace {namespace} is built from {where}: the workspaces' namespace must be created there, with "
        f"`{PRUNE_KEY}: {PRUNE_DISABLED}` so that Flux never deletes it with the workspace volumes",
    )

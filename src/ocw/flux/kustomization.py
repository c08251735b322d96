"""Flux Kustomizations of the tree: every `ks.yaml` under `kubernetes/apps/`, read strictly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.flux.repo_vars import SourceRef, substitute_from
from ocw.inputs import read_text
from ocw.yamlio import YamlError, load_all_strict

KIND = "Kustomization"
API_GROUP = "kustomize.toolkit.fluxcd.io/"
APPS_DIR = Path("kubernetes/apps")


@dataclass(frozen=True)
class FluxKustomization:
    name: str
    namespace: str
    path: str  # as written in spec.path, relative to the repository root
    target_namespace: str | None
    substitute: dict[str, str]
    depends_on: tuple[str, ...]
    source_file: Path  # relative to the repository root
    spec: dict[str, Any] = field(repr=False, hash=False, compare=False)
    substitute_from: tuple[SourceRef, ...] = ()

    @property
    def build_dir(self) -> Path:
        return Path(self.path.removeprefix("./"))


def discover(repo: Path) -> tuple[list[FluxKustomization], list[Finding]]:
    """Every Flux Kustomization in the `ks.yaml` files under kubernetes/apps, and the problems reading them."""
    found: list[FluxKustomization] = []
    findings: list[Finding] = []
    apps = repo / APPS_DIR
    if not apps.is_dir():
        findings.append(Finding(str(APPS_DIR), "tree-layout", "-", f"expected the apps folder {APPS_DIR} under {repo}"))
        return found, findings
    for ks_file in sorted(apps.rglob("ks.yaml")):
        rel = ks_file.relative_to(repo)
        try:
            docs = load_all_strict(read_text(ks_file, "Flux Kustomization file"))
        except YamlError as exc:
            findings.append(Finding(str(rel), "yaml-strict", "-", exc.message, line=exc.line))
            continue
        for doc in docs:
            if (
                isinstance(doc, dict)
                and doc.get("kind") == KIND
                and str(doc.get("apiVersion", "")).startswith(API_GROUP)
            ):
                found.append(_from_document(doc, rel))
    return found, findings


def _from_document(doc: dict[str, Any], rel: Path) -> FluxKustomization:
    metadata = doc.get("metadata") or {}
    spec = doc.get("spec") or {}
    post_build = spec.get("postBuild") or {}
    substitute = {str(k): "" if v is None else str(v) for k, v in (post_build.get("substitute") or {}).items()}
    return FluxKustomization(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "flux-system")),
        path=str(spec.get("path", "")),
        target_namespace=spec.get("targetNamespace"),
        substitute=substitute,
        depends_on=tuple(str(d.get("name")) for d in spec.get("dependsOn") or [] if isinstance(d, dict)),
        source_file=rel,
        spec=spec,
        substitute_from=tuple(substitute_from(doc)),
    )


def select(kustomizations: Sequence[FluxKustomization], terms: Sequence[str]) -> list[FluxKustomization]:
    """The Kustomizations a term names: by name, target namespace or folder under kubernetes/apps. A term that names
    nothing is an error listing what exists."""
    selected: list[FluxKustomization] = []
    for term in terms:
        matched = [ks for ks in kustomizations if term in _names(ks)]
        if not matched:
            known = sorted({name for ks in kustomizations for name in _names(ks)})
            raise OcwError(
                f"--only {term!r} names no Flux Kustomization, namespace or folder under {APPS_DIR}",
                hint=f"use one of: {', '.join(known[:40])}{' ...' if len(known) > 40 else ''}",
            )
        selected.extend(ks for ks in matched if ks not in selected)
    return selected


def _names(ks: FluxKustomization) -> set[str]:
    names = {ks.name}
    if ks.target_namespace:
        names.add(str(ks.target_namespace))
    parts = ks.source_file.parts
    if len(parts) > len(APPS_DIR.parts) and ks.source_file.is_relative_to(APPS_DIR):
        names.add(parts[len(APPS_DIR.parts)])
    return names

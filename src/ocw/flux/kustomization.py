"""Flux Kustomization objects: the fields kustomize-controller acts on, read from the object as the cluster holds it
(after the build that created it: its namespace, the patches its parent applied, the parent's substitution)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.flux.fields import items, mapping
from ocw.flux.repo_vars import SourceRef, substitute_from
from ocw.yamlio import YamlError, load_all_strict

KIND = "Kustomization"
API_GROUP = "kustomize.toolkit.fluxcd.io/"
APPS_DIR = Path("kubernetes/apps")
DEFAULT_NAMESPACE = "default"


def is_flux_kustomization(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("kind") == KIND and str(obj.get("apiVersion", "")).startswith(API_GROUP)


@dataclass(frozen=True)
class SourceReference:
    """`spec.sourceRef`: kind, namespace (the Kustomization's own when left out) and name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class FluxKustomization:
    name: str
    namespace: str
    path: str  # as written in spec.path, relative to the root of its source's artifact
    target_namespace: str | None
    substitute: dict[str, str]
    depends_on: tuple[str, ...]
    source_file: Path  # the file holding the object, relative to the repository root
    spec: dict[str, Any] = field(repr=False, hash=False, compare=False)
    substitute_from: tuple[SourceRef, ...] = ()
    source: SourceReference | None = None
    # Who applies it: "namespace/name" of the Kustomization whose build yields it; None for an entry point.
    applied_by: str | None = None

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def build_dir(self) -> Path:
        return Path(self.path.removeprefix("./") or ".")

    @property
    def has_post_build(self) -> bool:
        """Flux substitutes only when spec.postBuild is set (even empty)."""
        return isinstance(self.spec.get("postBuild"), Mapping)

    @property
    def depends_on_refs(self) -> tuple[tuple[str, str], ...]:
        """(namespace, name) of each dependsOn entry; the namespace defaults to the Kustomization's own."""
        return tuple(
            (str(d.get("namespace") or self.namespace), str(d.get("name")))
            for d in items(self.spec, "dependsOn")
            if isinstance(d, Mapping) and d.get("name")
        )

    @classmethod
    def from_object(
        cls, doc: Mapping[str, Any], file: Path, *, applied_by: str | None = None, namespace: str | None = None
    ) -> FluxKustomization:
        metadata = mapping(doc, "metadata")
        spec = mapping(doc, "spec")
        post_build = mapping(spec, "postBuild")
        own_namespace = str(metadata.get("namespace") or namespace or DEFAULT_NAMESPACE)
        source = mapping(spec, "sourceRef") if isinstance(spec.get("sourceRef"), Mapping) else None
        target = spec.get("targetNamespace")
        return cls(
            name=str(metadata.get("name", "")),
            namespace=own_namespace,
            path=str(spec.get("path") or ""),
            target_namespace=str(target) if isinstance(target, str | int) and target != "" else None,
            substitute={str(k): "" if v is None else str(v) for k, v in mapping(post_build, "substitute").items()},
            depends_on=tuple(str(d.get("name")) for d in items(spec, "dependsOn") if isinstance(d, dict)),
            source_file=file,
            spec=spec,
            substitute_from=tuple(substitute_from(doc)),
            source=(
                SourceReference(
                    str(source.get("kind", "GitRepository")),
                    str(source.get("namespace") or own_namespace),
                    str(source.get("name", "")),
                )
                if source is not None
                else None
            ),
            applied_by=applied_by,
        )


def discover(repo: Path) -> tuple[list[FluxKustomization], list[Finding]]:
    """The Flux Kustomizations written in `ks.yaml` files under kubernetes/apps: the layout `ocw install` adds
    workspaces to. (`ocw check` follows Flux's own graph instead: ocw.flux.graph.)"""
    found: list[FluxKustomization] = []
    findings: list[Finding] = []
    apps = repo / APPS_DIR
    if not apps.is_dir():
        findings.append(Finding(str(APPS_DIR), "tree-layout", "-", f"expected the apps folder {APPS_DIR} under {repo}"))
        return found, findings
    for ks_file in sorted(apps.rglob("ks.yaml")):
        rel = ks_file.relative_to(repo)
        try:
            docs = load_all_strict(ks_file.read_text())
        except YamlError as exc:
            findings.append(Finding(str(rel), "yaml-strict", "-", exc.message, line=exc.line))
            continue
        found.extend(
            FluxKustomization.from_object(doc, rel, namespace="flux-system")
            for doc in docs
            if is_flux_kustomization(doc)
        )
    return found, findings


def select(kustomizations: Sequence[FluxKustomization], terms: Sequence[str]) -> list[FluxKustomization]:
    """The Kustomizations a term names: by name, target namespace or folder under kubernetes/apps. A term that names
    nothing is an error listing what exists."""
    selected: list[FluxKustomization] = []
    for term in terms:
        matched = [ks for ks in kustomizations if term in _names(ks)]
        if not matched:
            groups = sorted({name for ks in kustomizations for name in _names(ks) - {ks.name}})
            names = sorted({ks.name for ks in kustomizations} - set(groups))
            close = difflib.get_close_matches(term, [*groups, *names], n=5)
            raise OcwError(
                f"--only {term!r} names no Flux Kustomization, namespace or folder under {APPS_DIR}",
                hint=(f"did you mean {', '.join(close)}? " if close else "")
                + f"namespaces and folders: {', '.join(groups) or 'none'}; Kustomizations: "
                + ", ".join(names[:30])
                + (f" and {len(names) - 30} more" if len(names) > 30 else ""),
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

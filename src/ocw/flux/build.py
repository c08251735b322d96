"""Build Flux Kustomizations as kustomize-controller would: kustomize build, targetNamespace, commonMetadata, then
postBuild substitution object by object. Independent Kustomizations build in parallel."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ocw import kustomize
from ocw.findings import Finding, Severity
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.repo_vars import RepoVars, SourceRef
from ocw.flux.sops import is_sops_encrypted, without_sops
from ocw.flux.sources import SourceIndex
from ocw.flux.substitution import SubstitutionError, is_disabled, substitute
from ocw.kube.manifest import Manifest
from ocw.yamlio import YamlError, load_all_fast, load_all_strict

__all__ = ["CLUSTER_SCOPED_KINDS", "BuiltKustomization", "Manifest", "build_all", "build_one", "remote_resources"]

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterSecretStore",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "GatewayClass",
        "VolumeSnapshotClass",
    }
)


@dataclass
class BuiltKustomization:
    kustomization: FluxKustomization
    manifests: list[Manifest] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    # substituteFrom sources this Kustomization reads that the repository does not define (made in the cluster).
    unknown_sources: list[SourceRef] = field(default_factory=list)


def build_all(
    repo: Path,
    kustomizations: Sequence[FluxKustomization],
    cluster_vars: Mapping[str, str],
    repo_vars: RepoVars | None = None,
) -> list[BuiltKustomization]:
    sources = SourceIndex(repo)
    workers = max(2, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda ks: build_one(repo, ks, cluster_vars, sources, repo_vars), kustomizations))


def build_one(
    repo: Path,
    ks: FluxKustomization,
    cluster_vars: Mapping[str, str],
    sources: SourceIndex | None = None,
    repo_vars: RepoVars | None = None,
) -> BuiltKustomization:
    own, unknown = (repo_vars or RepoVars()).resolve(ks.substitute_from)
    # postBuild.substitute takes precedence over substituteFrom, as in kustomize-controller.
    variables = {**cluster_vars, **own, **ks.substitute}
    built = BuiltKustomization(kustomization=ks, variables=variables, unknown_sources=unknown)
    ks_file = str(ks.source_file)
    directory = repo / ks.build_dir
    if not ks.path or not (directory / "kustomization.yaml").is_file():
        built.findings.append(
            Finding(
                ks_file,
                "flux-path",
                f"Kustomization/{ks.name}",
                f"spec.path {ks.path!r} is not a folder with a kustomization.yaml in the repository",
            )
        )
        return built
    remote = remote_resources(directory / "kustomization.yaml")
    if remote:
        built.findings.append(
            Finding(
                ks_file,
                "kustomize-build",
                f"Kustomization/{ks.name}",
                f"{ks.build_dir}/kustomization.yaml builds {', '.join(remote)} from the network; ocw check works "
                f"offline and fetches nothing, so this Kustomization is not checked",
                severity=Severity.WARNING,
            )
        )
        return built
    try:
        components = [str(c) for c in ks.spec.get("components") or [] if isinstance(c, str)]
        stream = kustomize.build(directory, components)
    except kustomize.KustomizeError as exc:
        built.findings.append(Finding(ks_file, "kustomize-build", f"Kustomization/{ks.name}", str(exc)))
        return built
    index = sources or SourceIndex(repo)
    for document in kustomize.split_documents(stream):
        raw = load_all_fast(document)[0]
        if not isinstance(raw, dict):
            continue
        raw_ref = f"{raw.get('kind')}/{(raw.get('metadata') or {}).get('name')}"
        origin = index.locate(str(raw.get("kind", "")), str((raw.get("metadata") or {}).get("name", ""))) or ks_file
        # Substitution works on the text kustomize emitted, as kustomize-controller does: a `${VAR}` that becomes
        # `false` or `5` is then a boolean or a number, exactly as it will be in the cluster. A SOPS document is
        # decrypted first and loses its `sops` block; its ciphertext values are never substituted.
        if is_sops_encrypted(raw):
            obj = without_sops(raw)
        elif is_disabled(raw):
            obj = raw
        else:
            obj = _substituted(document, raw, variables=variables, built=built, origin=origin, raw_ref=raw_ref, ks=ks)
        built.manifests.append(Manifest(obj=_with_flux_metadata(obj, ks), kustomization=ks.name, file=origin, raw=raw))
    return built


def remote_resources(kustomization: Path) -> list[str]:
    """Resources and components given as URLs (`https://…`, `github.com/…`), which kustomize would download."""
    try:
        documents = load_all_strict(kustomization.read_text())
    except (OSError, YamlError):
        return []  # the build reports it
    spec = documents[0] if documents and isinstance(documents[0], dict) else {}
    entries = [str(e) for key in ("resources", "components") for e in spec.get(key) or [] if isinstance(e, str)]
    return [e for e in entries if "://" in e or e.startswith(("github.com/", "git@"))]


def _with_flux_metadata(raw: dict[str, Any], ks: FluxKustomization) -> dict[str, Any]:
    obj = dict(raw)
    metadata = dict(obj.get("metadata") or {})
    if ks.target_namespace and obj.get("kind") not in CLUSTER_SCOPED_KINDS:
        metadata["namespace"] = ks.target_namespace
    common = ks.spec.get("commonMetadata") or {}
    for section in ("labels", "annotations"):
        if common.get(section):
            metadata[section] = {**(metadata.get(section) or {}), **common[section]}
    obj["metadata"] = metadata
    return obj


def _substituted(
    document: str,
    raw: dict[str, Any],
    *,
    variables: Mapping[str, str],
    built: BuiltKustomization,
    origin: str,
    raw_ref: str,
    ks: FluxKustomization,
) -> dict[str, Any]:
    try:
        result = substitute(document, variables)
    except SubstitutionError as exc:
        built.findings.append(Finding(origin, "flux-substitution", raw_ref, str(exc)))
        return raw
    for name in sorted(set(result.undefined)):
        if built.unknown_sources:
            # The variable may well come from a source the cluster creates (e.g. through an ExternalSecret).
            sources = ", ".join(str(ref) for ref in built.unknown_sources)
            built.findings.append(
                Finding(
                    origin,
                    "flux-undefined-variable",
                    raw_ref,
                    f"${{{name}}} is not defined in the repository; {ks.source_file} also substitutes from "
                    f"{sources}, which the repository does not contain, so it may be defined there. Pass --vars "
                    f"with its variables to check it",
                    severity=Severity.WARNING,
                )
            )
            continue
        built.findings.append(
            Finding(
                origin,
                "flux-undefined-variable",
                raw_ref,
                f"${{{name}}} is defined neither in {ks.source_file} postBuild.substitute nor in the cluster "
                f"variables (the repository's substituteFrom sources and --vars): Flux would silently substitute an "
                f"empty string. Define it, give a default (${{{name}:=value}}), or escape it as $${{{name}}}",
            )
        )
    try:
        substituted = load_all_fast(result.text)
    except yaml.YAMLError as exc:
        built.findings.append(
            Finding(
                origin, "flux-substitution", raw_ref, f"the object is no longer valid YAML after substitution: {exc}"
            )
        )
        return raw
    return substituted[0] if substituted and isinstance(substituted[0], dict) else raw

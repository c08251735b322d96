"""The host cluster the tree drops into (src/ocw/data/host-cluster.yaml): its objects, its Flux Kustomization names,
and the install steps that add this tree's files to its apps. The result is the set of host objects as the cluster
will hold them once the user has followed the install steps."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ocw.apis import scope_of
from ocw.errors import OcwError
from ocw.findings import Finding
from ocw.flux.sources import normalise_url
from ocw.flux.substitution import SubstitutionError, substitute
from ocw.install import json_patch
from ocw.kube.manifest import HOST_KUSTOMIZATION_PREFIX, Manifest
from ocw.paths import DATA_DIR
from ocw.yamlio import YamlError, dump, load_all_strict

HOST_DESCRIPTION = DATA_DIR / "host-cluster.yaml"
HOST_FILE = "<host cluster: src/ocw/data/host-cluster.yaml>"


# How an install step brings a tree file into a host app: as one more resource, or as an RFC 6902 patch.
InstallMode = Literal["resource", "json6902"]


@dataclass(frozen=True)
class InstallStep:
    file: str  # relative to the repository root
    app: str
    namespace: str
    mode: InstallMode
    target: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostCluster:
    kustomizations: tuple[str, ...]
    objects: tuple[tuple[str, dict[str, Any]], ...]  # (host app, object)
    install: tuple[InstallStep, ...]
    repository: str | None = None  # the cluster repository's URL


# What a repository that is not the described cluster gets: nothing but what it builds itself.
NO_HOST = HostCluster((), (), ())


def applies(host: HostCluster, repository_urls: Iterable[str], is_own_tree: bool) -> bool:
    """The description is of this repository's cluster: the repository's Flux source is the described repository, or
    the repository is the tree ocw ships on its own (made for that cluster)."""
    wanted = normalise_url(host.repository) if host.repository else None
    return is_own_tree or (wanted is not None and wanted in set(repository_urls))


@dataclass
class HostObjects:
    manifests: list[Manifest]
    findings: list[Finding]
    installed_files: list[str]  # tree files applied through install steps


def load_host(path: Path = HOST_DESCRIPTION) -> HostCluster:
    try:
        docs = load_all_strict(path.read_text())
    except (OSError, YamlError) as exc:
        hint = "reinstall ocw" if path == HOST_DESCRIPTION else "pass --host a readable description"
        raise OcwError(f"cannot read the host cluster description {path}: {exc}", hint=hint) from exc
    data = docs[0] if docs and isinstance(docs[0], dict) else {}
    objects = tuple(
        (str(entry["app"]), dict(entry["object"])) for entry in data.get("objects") or [] if isinstance(entry, dict)
    )
    install = tuple(
        InstallStep(
            file=str(step["file"]),
            app=str(step["app"]),
            namespace=str(step["namespace"]),
            mode=_mode(step),
            target={str(k): str(v) for k, v in (step.get("target") or {}).items()},
        )
        for step in data.get("install") or []
        if isinstance(step, dict)
    )
    repository = data.get("repository")
    return HostCluster(
        tuple(str(name) for name in data.get("kustomizations") or []),
        objects,
        install,
        str(repository) if repository else None,
    )


def _mode(step: Mapping[str, Any]) -> InstallMode:
    mode = str(step.get("as"))
    if mode == "resource":
        return "resource"
    if mode == "json6902":
        return "json6902"
    raise OcwError(f"the host cluster description names install mode {mode!r}: expected resource or json6902")


def host_objects(
    host: HostCluster,
    repo: Path,
    cluster_vars: Mapping[str, str],
    tree_manifests: Iterable[Manifest],
    tree_kustomizations: Iterable[str],
) -> HostObjects:
    """The host's objects after the install steps, minus any the repository builds itself."""
    result = HostObjects(manifests=[], findings=[], installed_files=[])
    for app, obj in host.objects:
        substituted = _substitute_object(obj, cluster_vars, HOST_FILE, result.findings)
        result.manifests.append(
            Manifest(obj=substituted, kustomization=HOST_KUSTOMIZATION_PREFIX + app, file=HOST_FILE)
        )
    repo_apps = set(tree_kustomizations)
    for step in host.install:
        if step.app in repo_apps:
            continue  # the repository builds this host app itself, install file included or not
        _install(step, repo, cluster_vars, result)
    built_here = {_key(m) for m in tree_manifests}
    result.manifests = [m for m in result.manifests if _key(m) not in built_here]
    return result


def _key(manifest: Manifest) -> tuple[str, str, str]:
    return manifest.kind, manifest.namespace or "", manifest.name


def _install(step: InstallStep, repo: Path, cluster_vars: Mapping[str, str], result: HostObjects) -> None:
    path = repo / step.file
    if not path.is_file():
        what = "resource" if step.mode == "resource" else f"JSON patch for {step.target.get('kind')} "
        what += step.target.get("name", "") if step.mode != "resource" else f" of the host app {step.app}"
        result.findings.append(
            Finding(
                step.file,
                "host-install",
                f"host app {step.app}",
                f"expected the {what} at {step.file}, found no file: the host cluster will lack what it adds. "
                f"Restore the file (and install it as scripts/README.md describes)",
            )
        )
        return
    result.installed_files.append(step.file)
    try:
        text = substitute(path.read_text(), cluster_vars)
        documents = load_all_strict(text.text)
    except (SubstitutionError, YamlError) as exc:
        result.findings.append(Finding(step.file, "host-install", f"host app {step.app}", f"cannot read: {exc}"))
        return
    for name in sorted(set(text.undefined)):
        result.findings.append(
            Finding(
                step.file,
                "flux-undefined-variable",
                f"host app {step.app}",
                f"${{{name}}} is not a cluster variable: Flux would substitute an empty string. Use a variable "
                f"of the cluster (see cluster-vars.example.yaml) or pass the file defining it with --vars",
            )
        )
    if step.mode == "resource":
        for document in documents:
            if isinstance(document, dict):
                _add_resource(document, step, result)
    else:
        _patch(documents, step, result)


def _add_resource(document: dict[str, Any], step: InstallStep, result: HostObjects) -> None:
    obj = dict(document)
    if scope_of(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))) != "Cluster":
        obj["metadata"] = {**(obj.get("metadata") or {}), "namespace": step.namespace}
    result.manifests.append(Manifest(obj=obj, kustomization=HOST_KUSTOMIZATION_PREFIX + step.app, file=step.file))


def _patch(documents: list[Any], step: InstallStep, result: HostObjects) -> None:
    operations = documents[0] if len(documents) == 1 else documents
    targets = [m for m in result.manifests if _matches(m, step.target)]
    if not targets:
        result.findings.append(
            Finding(
                step.file,
                "host-install",
                f"host app {step.app}",
                f"the patch targets {_describe(step.target)}, which the host cluster does not have",
            )
        )
        return
    for manifest in targets:
        try:
            manifest.obj = json_patch.apply(manifest.obj, operations)
        except json_patch.PatchError as exc:
            result.findings.append(
                Finding(step.file, "host-install", manifest.ref, f"the JSON patch does not apply: {exc}")
            )
            continue
        manifest.file = step.file


def _matches(manifest: Manifest, target: Mapping[str, str]) -> bool:
    group = manifest.api_version.rpartition("/")[0]
    return (
        manifest.kind == target.get("kind")
        and manifest.name == target.get("name", manifest.name)
        and ("group" not in target or group == target["group"])
        and ("namespace" not in target or manifest.namespace == target["namespace"])
    )


def _describe(target: Mapping[str, str]) -> str:
    return f"{target.get('kind')}/{target.get('name')} ({target.get('group', 'core')})"


def _substitute_object(
    obj: dict[str, Any], cluster_vars: Mapping[str, str], file: str, findings: list[Finding]
) -> dict[str, Any]:
    if not _mentions_dollar(obj):
        # Substitution leaves text without a `$` as it is: a copy of the object is what its YAML would load back as.
        return copy.deepcopy(obj)
    result = substitute(dump(obj), cluster_vars)
    for name in sorted(set(result.undefined)):
        findings.append(
            Finding(
                file,
                "flux-undefined-variable",
                f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}",
                f"the host cluster object uses ${{{name}}}, which the cluster variables do not define: pass a "
                f"--vars file that defines it",
            )
        )
    loaded = load_all_strict(result.text)
    return dict(loaded[0]) if loaded else obj


def _mentions_dollar(node: Any) -> bool:
    if isinstance(node, str):
        return "$" in node
    if isinstance(node, dict):
        return any(_mentions_dollar(key) or _mentions_dollar(value) for key, value in node.items())
    if isinstance(node, list):
        return any(_mentions_dollar(item) for item in node)
    return False

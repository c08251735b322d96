"""`doppler-key-drift`: the workspaces read some Doppler variables they share with the rest of the cluster (the
VolSync restic repository and its credentials). `ocw secrets init` does not create those; they exist because the
host repository's own ExternalSecrets read them. A shared key that nothing else in the repository reads is almost
certainly a name that drifted from the cluster's: the ExternalSecret would fail to sync, and the backups with it.

Runs when the repository has ExternalSecrets of its own (with `--repo` pointing at the cluster repository);
the project's own tree has nothing to compare with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ocw.check.scope import Area
from ocw.check.sources import TextFile
from ocw.errors import OcwError
from ocw.externalsecrets.keys import KeyReads, key_reads, template_data
from ocw.findings import Finding
from ocw.flux.build import Manifest
from ocw.tree import Tree
from ocw.workspace import workspaces_in
from ocw.yamlio import YamlError, load_all_strict


@dataclass(frozen=True)
class HostExternalSecret:
    file: str
    name: str
    reads: KeyReads
    template: dict[str, str]


def host_external_secrets(files: Iterable[TextFile], workspace: Area) -> list[HostExternalSecret]:
    """The ExternalSecrets written in the repository's files outside the workspace area."""
    found: list[HostExternalSecret] = []
    for file in files:
        if not file.path.endswith((".yaml", ".yml")) or "ExternalSecret" not in file.text or workspace.holds(file.path):
            continue
        try:
            documents = load_all_strict(file.text)
        except YamlError:
            continue  # yaml-strict reports it
        for doc in documents:
            if isinstance(doc, dict) and doc.get("kind") == "ExternalSecret":
                name = str((doc.get("metadata") or {}).get("name", ""))
                found.append(HostExternalSecret(file.path, name, key_reads(doc), template_data(doc)))
    return found


def _init_keys(tree: Tree) -> set[str]:
    """The per-workspace variables `ocw secrets init` creates."""
    try:
        return {key for ws in workspaces_in(tree) for key in ws.doppler_keys.values()}
    except OcwError:
        return set()


def check_drift(tree: Tree, workspace: Area, files: Iterable[TextFile]) -> list[Finding]:
    host = host_external_secrets(files, workspace)
    if not host:
        return []
    created = _init_keys(tree)
    findings: list[Finding] = []
    for built in tree.built:
        if built.kustomization.name not in workspace.kustomizations:
            continue
        for manifest in built.manifests:
            if manifest.kind == "ExternalSecret":
                findings.extend(_drifted(manifest, host, created))
    return findings


def _drifted(manifest: Manifest, host: list[HostExternalSecret], created: set[str]) -> Iterator[Finding]:
    reads = key_reads(manifest.obj)
    template = template_data(manifest.obj)
    for key in sorted(reads.keys - created):
        if any(other.reads.names(key) for other in host):
            continue
        yield Finding(
            manifest.file,
            "doppler-key-drift",
            manifest.ref,
            f"reads the Doppler variable {key}, which no other ExternalSecret of the repository reads and "
            f"`ocw secrets init` does not create, so the ExternalSecret would fail to sync. "
            f"{_hint(key, template, host)}",
        )


_REFERENCE = r"\{\{[^}]*\.\s*%s\b[^}]*\}\}"


def _hint(key: str, template: dict[str, str], host: list[HostExternalSecret]) -> str:
    """What the repository's own ExternalSecrets use for the same target key, e.g. the volsync template's
    RESTIC_REPOSITORY; otherwise the keys they read that share the variable's first word."""
    uses = [name for name, text in template.items() if re.search(_REFERENCE % re.escape(key), text)]
    same_purpose: list[str] = []
    for other in host:
        for name in uses:
            if name in other.template:
                same_purpose.append(f"{other.file} fills {name} with {other.template[name]!r}")
    if same_purpose:
        return (
            "For the same Secret key the repository's own ExternalSecrets read: "
            + "; ".join(sorted(set(same_purpose))[:3])
            + ". Use the variable they read"
        )
    word = key.split("_", 1)[0] + "_"
    similar = sorted({k for other in host for k in other.reads.describe() if k.startswith(word)})
    if similar:
        return f"The repository reads these {word}* variables: {', '.join(similar[:8])}. Use the one meant"
    return "Create the variable in Doppler, or read one the cluster already has"

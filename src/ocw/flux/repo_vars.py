"""The variables a repository defines for itself through `postBuild.substituteFrom`: the ConfigMaps and Secrets its
Flux Kustomizations name, found among the repository's own files.

A root Kustomization outside `kubernetes/apps/` (such as `cluster-apps` in `kubernetes/flux/apps.yaml`) passes its
sources to every app, directly or by patching its children; those are the repository-wide sources. A `ks.yaml` that
names its own sources gets them on top. A SOPS-encrypted Secret gives its key names: the values cannot be read here
but Flux will have them, so each gets a placeholder that keeps the built object valid and is clearly not a real value;
where `sops` and an age key are available, the file is decrypted read-only and its values are used (sops_decrypt.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocw.flux import sops_decrypt
from ocw.flux.sops import is_sops_encrypted
from ocw.flux.substitution import VARIABLE_NAME
from ocw.yamlio import YamlError, iter_yaml_files, load_all_strict

APPS_DIR = Path("kubernetes/apps")
SOURCE_KINDS = ("ConfigMap", "Secret")
PLACEHOLDER_PREFIX = "sops-encrypted-"


@dataclass(frozen=True)
class SourceRef:
    kind: str
    name: str
    optional: bool = False

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class VarSource:
    ref: SourceRef
    file: str  # relative to the repository root
    variables: dict[str, str]
    encrypted: bool


@dataclass
class RepoVars:
    """Every substituteFrom source the repository's files define, and which of them apply to every app."""

    sources: dict[SourceRef, VarSource] = field(default_factory=dict)
    global_refs: list[SourceRef] = field(default_factory=list)

    def resolve(self, refs: Iterable[SourceRef]) -> tuple[dict[str, str], list[SourceRef]]:
        """The variables of refs (later refs win, as in Flux) and the refs the repository does not define."""
        variables: dict[str, str] = {}
        missing: list[SourceRef] = []
        for ref in refs:
            source = self.sources.get(ref)
            if source is None:
                missing.append(ref)
                continue
            variables.update(source.variables)
        return variables, missing

    def global_variables(self) -> dict[str, str]:
        return self.resolve(self.global_refs)[0]

    def global_files(self) -> list[str]:
        return [self.sources[ref].file for ref in self.global_refs if ref in self.sources]


def placeholder(name: str) -> str:
    """The stand-in for an encrypted variable: a lower-case DNS label, so hostnames and names built from it stay
    valid, and obviously not a real value."""
    return PLACEHOLDER_PREFIX + name.lower().replace("_", "-")


def substitute_from(doc: Mapping[str, Any]) -> list[SourceRef]:
    """The substituteFrom sources of a Flux Kustomization document, including those its inline patches give to the
    Kustomizations it creates."""
    refs = _refs(doc)
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    for patch in (spec or {}).get("patches") or []:
        text = patch.get("patch") if isinstance(patch, dict) else None
        if not isinstance(text, str) or "substituteFrom" not in text:
            continue
        try:
            for patched in load_all_strict(text):
                if isinstance(patched, dict):
                    refs.extend(_refs(patched))
        except YamlError:
            continue  # the patch text is reported by whatever builds it; it defines no variables here
    return refs


def _refs(doc: Mapping[str, Any]) -> list[SourceRef]:
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    post_build = (spec or {}).get("postBuild") or {}
    refs: list[SourceRef] = []
    for entry in post_build.get("substituteFrom") or [] if isinstance(post_build, dict) else []:
        if isinstance(entry, dict) and entry.get("kind") in SOURCE_KINDS and entry.get("name"):
            refs.append(SourceRef(str(entry["kind"]), str(entry["name"]), bool(entry.get("optional", False))))
    return refs


def _is_flux_kustomization(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "Kustomization"
        and str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")
    )


def load_repo_vars(repo: Path, wanted_by_apps: Iterable[SourceRef] = ()) -> RepoVars:
    """Find the repository-wide sources (root Kustomizations outside kubernetes/apps) and the definitions of those
    and of wanted_by_apps among the repository's ConfigMaps and Secrets."""
    result = RepoVars()
    root = repo / "kubernetes"
    if not root.is_dir():
        return result
    candidates: list[tuple[str, list[Any]]] = []
    for path in iter_yaml_files(root):
        rel = path.relative_to(repo)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        if "substituteFrom" not in text and "kind: ConfigMap" not in text and "kind: Secret" not in text:
            continue
        try:
            docs = load_all_strict(text)
        except YamlError:
            continue  # yaml-strict reports it
        candidates.append((str(rel), docs))
        if rel.is_relative_to(APPS_DIR):
            continue
        for doc in docs:
            if _is_flux_kustomization(doc):
                result.global_refs.extend(r for r in substitute_from(doc) if r not in result.global_refs)
    wanted = {*result.global_refs, *wanted_by_apps}
    for rel_name, docs in candidates:
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") not in SOURCE_KINDS:
                continue
            ref = SourceRef(str(doc["kind"]), str((doc.get("metadata") or {}).get("name", "")))
            match = next((w for w in wanted if (w.kind, w.name) == (ref.kind, ref.name)), None)
            if match is not None and match not in result.sources:
                result.sources[match] = _source(match, rel_name, _decrypted(repo / rel_name, doc))
    return result


def _decrypted(path: Path, doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document with its values decrypted when it is SOPS-encrypted and this machine can decrypt it, as
    kustomize-controller would; else as written."""
    if not is_sops_encrypted(doc):
        return doc
    decrypted = sops_decrypt.decrypt(path)
    if decrypted is None or (decrypted.get("kind"), decrypted.get("metadata")) != (
        doc.get("kind"),
        doc.get("metadata"),
    ):
        return doc  # not this one document (several in the file, or keys this machine lacks)
    return decrypted


def _source(ref: SourceRef, file: str, doc: Mapping[str, Any]) -> VarSource:
    encrypted = is_sops_encrypted(doc)
    variables: dict[str, str] = {}
    sections = ("stringData", "data") if ref.kind == "Secret" else ("data",)
    for section in sections:
        for key, value in (doc.get(section) or {}).items():
            name = str(key)
            if not VARIABLE_NAME.match(name) or name in variables:
                continue
            if encrypted:
                variables[name] = placeholder(name)
            elif section == "data" and ref.kind == "Secret":
                variables[name] = _decoded(value)
            else:
                variables[name] = "" if value is None else str(value)
    return VarSource(ref, file, variables, encrypted)


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)

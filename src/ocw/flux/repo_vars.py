"""`postBuild.substituteFrom`: the ConfigMaps and Secrets a Flux Kustomization takes variables from, looked up as
kustomize-controller looks them up — by name in the Kustomization's own namespace — among the objects the
repository's Flux graph creates.

A ConfigMap gives its `data`; a Secret its `data` (base64-decoded) and `stringData`; line breaks are dropped from the
values, as Flux does. A SOPS-encrypted Secret gives its key names: the values cannot be read here but Flux will have
them, so each gets a placeholder that keeps the built object valid and is clearly not a real value.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocw.flux.fields import items, mapping
from ocw.flux.sops import is_sops_encrypted
from ocw.flux.substitution import VARIABLE_NAME

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
    kind: str
    namespace: str
    name: str
    file: str  # relative to the repository root
    variables: dict[str, str]
    encrypted: bool


@dataclass
class RepoVars:
    """Every ConfigMap and Secret the repository's graph creates, by kind, namespace and name."""

    sources: dict[tuple[str, str, str], VarSource] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)  # files of the sources some Kustomization read

    def add(self, obj: Mapping[str, Any], namespace: str, file: str) -> None:
        kind = str(obj.get("kind", ""))
        if kind not in SOURCE_KINDS:
            return
        name = str(mapping(obj, "metadata").get("name", ""))
        self.sources.setdefault((kind, namespace, name), _source(kind, namespace, name, file, obj))

    def used_variables(self) -> dict[str, str]:
        """The variables of every source some Kustomization read: what the cluster's variables are."""
        merged: dict[str, str] = {}
        for source in self.sources.values():
            if source.file in self.used:
                merged.update(source.variables)
        return merged

    def resolve(self, namespace: str, refs: Iterable[SourceRef]) -> tuple[dict[str, str], list[SourceRef]]:
        """The variables of refs in namespace (later refs win, as in Flux) and the refs the repository does not
        create."""
        variables: dict[str, str] = {}
        missing: list[SourceRef] = []
        for ref in refs:
            source = self.sources.get((ref.kind, namespace, ref.name))
            if source is None:
                missing.append(ref)
                continue
            if source.file not in self.used:
                self.used.append(source.file)
            variables.update(source.variables)
        return variables, missing


def placeholder(name: str) -> str:
    """The stand-in for an encrypted variable: a lower-case DNS label, so hostnames and names built from it stay
    valid, and obviously not a real value."""
    return PLACEHOLDER_PREFIX + name.lower().replace("_", "-")


def substitute_from(doc: Mapping[str, Any]) -> list[SourceRef]:
    """The `postBuild.substituteFrom` entries of a Flux Kustomization object."""
    refs: list[SourceRef] = []
    for entry in items(doc, "spec", "postBuild", "substituteFrom"):
        if isinstance(entry, dict) and entry.get("kind") in SOURCE_KINDS and entry.get("name"):
            refs.append(SourceRef(str(entry["kind"]), str(entry["name"]), bool(entry.get("optional", False))))
    return refs


def _source(kind: str, namespace: str, name: str, file: str, doc: Mapping[str, Any]) -> VarSource:
    encrypted = is_sops_encrypted(doc)
    variables: dict[str, str] = {}
    sections = ("data", "stringData") if kind == "Secret" else ("data",)
    for section in sections:
        values = doc.get(section)
        for key, value in values.items() if isinstance(values, Mapping) else ():
            variable = str(key)
            if not VARIABLE_NAME.match(variable):
                continue
            if encrypted:
                variables[variable] = placeholder(variable)
            elif section == "data" and kind == "Secret":
                variables[variable] = _decoded(value)
            else:
                variables[variable] = "" if value is None else str(value)
            variables[variable] = variables[variable].replace("\n", "")
    return VarSource(kind, namespace, name, file, variables, encrypted)


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return str(value)

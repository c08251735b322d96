"""References to objects the repository does not write down but something in the cluster makes from it: an operator
from a custom resource (a Postgres operator's user Secret, a CNPG cluster's `<cluster>-app` Secret, a Flux Operator
ResourceSet's objects), a chart ocw could not obtain or render (a ClusterIssuer in its values). Outside the workspace
apps, a link finding whose missing object such a maker may produce is a warning naming the maker, not an error: the
check cannot expand those, and the object most likely exists. What the charts ocw renders make is in the inventory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ocw.apis import group_of, is_builtin_group
from ocw.check.inventory import Inventory
from ocw.findings import Finding, Severity
from ocw.flux.artifact import repository_files

# Kinds ocw models itself (what they make is known) or that make no Secrets and ConfigMaps.
_MODELLED_GROUPS = frozenset(
    {
        "helm.toolkit.fluxcd.io",
        "kustomize.toolkit.fluxcd.io",
        "source.toolkit.fluxcd.io",
        "notification.toolkit.fluxcd.io",
        "image.toolkit.fluxcd.io",
        "external-secrets.io",
        "cert-manager.io",
        "gateway.networking.k8s.io",
        "monitoring.coreos.com",
    }
)
# Links no maker explains: a Kustomization name, a route app-template renders, a release's own service.
_UNCHECKED = frozenset({"link-depends-on", "link-traffic-policy-target", "link-route-backend"})


@dataclass(frozen=True)
class Maker:
    namespace: str | None  # None: mentions count in any namespace
    description: str
    name: str | None = None  # an operator's object: names built from it
    text: str | None = None  # a template or values: names written in it

    def may_make(self, missing: str) -> bool:
        if self.name is not None:
            return missing == self.name or bool(re.search(rf"(^|-){re.escape(self.name)}(-|$)", missing))
        return self.text is not None and re.search(rf"(?<![\w.-]){re.escape(missing)}(?![\w.-])", self.text) is not None


def makers(inventory: Inventory) -> list[Maker]:
    found: list[Maker] = []
    for release in inventory.releases:
        if not release.outcome.rendered:  # the chart could not be had, or fails to render: what it makes is unknown
            values = release.helmrelease.spec.get("values")
            found.append(Maker(None, f"HelmRelease {release.helmrelease.ref}'s chart", text=json.dumps(values)))
    for manifest in inventory.tree:
        group = group_of(manifest.api_version)
        if manifest.kind == "ResourceSet":
            found.append(Maker(None, f"ResourceSet {manifest.ref}", text=json.dumps(manifest.obj.get("spec"))))
        if not is_builtin_group(group) and group not in _MODELLED_GROUPS:
            found.append(Maker(manifest.namespace, f"{manifest.kind} {manifest.ref}", name=manifest.name))
    return found


def _missing_names(message: str) -> list[str]:
    """The object names a link message says are missing (quoted after a kind)."""
    kinds = r"(?:Secret|ConfigMap|ClusterSecretStore|SecretStore|ClusterIssuer|Issuer|PVC|Gateway|OCIRepository)"
    names = re.findall(rf"\b{kinds} (?:[\w.-]+/)?([\w.-]+)", message)
    names += re.findall(r"existingClaim ([\w.-]+)", message)
    return names


class _OutsideFiles:
    """The repository's text files that Flux does not apply (bootstrap templates, scripts, ...), read on demand."""

    MAX_BYTES = 512 * 1024

    def __init__(self, repo: Path, applied: set[str]) -> None:
        self.repo = repo
        self.applied = applied
        self._texts: list[tuple[str, str]] | None = None

    def mentioning(self, name: str) -> str | None:
        if self._texts is None:
            self._texts = []
            for relative in repository_files(self.repo):
                path = self.repo / relative
                if str(relative) in self.applied or path.stat().st_size > self.MAX_BYTES:
                    continue
                try:
                    self._texts.append((str(relative), path.read_text()))
                except (OSError, UnicodeDecodeError):
                    continue
        token = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])")
        return next((file for file, text in self._texts if token.search(text)), None)


def soften(
    findings: Sequence[Finding],
    inventory: Inventory,
    workspace_kustomizations: Iterable[str],
    repo: Path,
) -> list[Finding]:
    """Link errors outside the workspace apps whose missing object a maker may produce become warnings."""
    workspace = set(workspace_kustomizations)
    found = makers(inventory)
    outside = _OutsideFiles(repo, {m.file for m in inventory.all})
    result: list[Finding] = []
    for finding in findings:
        if (
            finding.severity != Severity.ERROR
            or not finding.rule.startswith("link-")
            or finding.rule in _UNCHECKED
            or finding.owner in workspace
        ):
            result.append(finding)
            continue
        parts = finding.object.split(" ", 1)[0].split("/")
        namespace = parts[1] if len(parts) == 3 else None
        maker = next(
            (
                m
                for name in _missing_names(finding.message)
                for m in found
                if (m.namespace is None or m.namespace == namespace) and m.may_make(name)
            ),
            None,
        )
        if maker is None:
            written = next((f for name in _missing_names(finding.message) if (f := outside.mentioning(name))), None)
            if written is not None:
                maker = Maker(
                    None, f"whatever uses {written}, a file of the repository outside Flux's graph (a bootstrap step?)"
                )
        if maker is None:
            result.append(finding)
            continue
        softened = replace(
            finding,
            message=f"{finding.message}. It may be made by {maker.description}, which ocw does not expand",
            severity=Severity.WARNING,
        )
        result.append(softened)
    return result

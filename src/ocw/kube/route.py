"""A Gateway API route as the cluster will hold it: written in the tree or rendered by a chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocw.kube.manifest import Manifest, mappings

ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"})


@dataclass(frozen=True)
class Route:
    manifest: Manifest
    # The hostnames as the author wrote them, before Flux substitution (empty when unknown).
    source_hostnames: tuple[str, ...] = ()
    # For a route app-template rendered: the `route.<identifier>` of the release values that made it.
    identifier: str | None = None

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def namespace(self) -> str:
        return self.manifest.namespace or "default"

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def hostnames(self) -> list[str]:
        value = self.manifest.spec.get("hostnames")
        return [str(h) for h in value] if isinstance(value, list) else []

    @property
    def parent_refs(self) -> list[dict[str, Any]]:
        return mappings(self.manifest.spec.get("parentRefs"))

    @property
    def rules(self) -> list[dict[str, Any]]:
        return mappings(self.manifest.spec.get("rules"))

    @property
    def labels(self) -> dict[str, str]:
        return self.manifest.labels

    @property
    def file(self) -> str:
        return self.manifest.file

    @property
    def owner(self) -> str | None:
        return self.manifest.owner

    @property
    def label(self) -> str:
        base = f"{self.kind}/{self.namespace}/{self.name}"
        helmrelease = self.manifest.rendered_from
        if helmrelease is None:
            return base
        values = f" route.{self.identifier}" if self.identifier else ""
        return f"{base} (rendered from {helmrelease.ref}{values})"

    def backend_refs(self) -> list[dict[str, Any]]:
        return [ref for rule in self.rules for ref in mappings(rule.get("backendRefs"))]

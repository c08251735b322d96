"""Everything the cluster would hold once the tree is applied: the tree's built objects, the host's objects, and
what app-template renders from the tree's HelmReleases. The link and policy checks look things up here."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ocw.check.render import Pod, Route, pods_of_release, route_object, routes_of_release
from ocw.flux.build import Manifest
from ocw.helm import app_template

ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute"})


@dataclass
class Release:
    helmrelease: Manifest
    routes: list[Route]
    pods: list[Pod]


@dataclass
class Inventory:
    tree: list[Manifest]
    host: list[Manifest]
    releases: list[Release] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    # HelmReleases whose values app-template could not render here, with the reason.
    unrenderable: list[tuple[Manifest, str]] = field(default_factory=list)
    _by_key: dict[tuple[str, str, str], Manifest] = field(default_factory=dict, repr=False)
    _by_kind: dict[str, list[Manifest]] = field(default_factory=lambda: defaultdict(list), repr=False)

    @property
    def all(self) -> list[Manifest]:
        return [*self.tree, *self.host]

    def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        return self._by_key.get((kind, namespace or "", name))

    def of_kind(self, kind: str) -> list[Manifest]:
        return list(self._by_kind.get(kind, []))

    def oci_urls(self, namespace: str | None) -> dict[str, str]:
        return {
            m.name: str((m.obj.get("spec") or {}).get("url", ""))
            for m in self.of_kind("OCIRepository")
            if m.namespace == namespace
        }

    def is_app_template(self, helmrelease: Manifest) -> bool:
        return app_template.is_app_template(helmrelease.obj, self.oci_urls(helmrelease.namespace))


_RELEASE_FIELD = re.compile(r"\{\{-?\s*\.Release\.(Name|Namespace)\s*-?\}\}")


def with_release_fields(helmrelease: Manifest) -> Manifest:
    """The HelmRelease with `{{ .Release.Name }}` and `{{ .Release.Namespace }}` in its values filled in, as the
    chart's `tpl` does for names, hostnames and references (other template expressions are left as written)."""
    spec = helmrelease.obj.get("spec") or {}
    fields = {"Name": str(spec.get("releaseName") or helmrelease.name), "Namespace": helmrelease.namespace or ""}

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            return _RELEASE_FIELD.sub(lambda m: fields[m.group(1)], node) if "{{" in node else node
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(item) for item in node]
        return node

    if "values" not in spec:
        return helmrelease
    obj = {**helmrelease.obj, "spec": {**spec, "values": fill(spec["values"])}}
    return Manifest(obj=obj, kustomization=helmrelease.kustomization, file=helmrelease.file, raw=helmrelease.raw)


def build_inventory(tree: Iterable[Manifest], host: Iterable[Manifest]) -> Inventory:
    inventory = Inventory(tree=list(tree), host=list(host))
    for manifest in inventory.all:
        inventory._by_key.setdefault((manifest.kind, manifest.namespace or "", manifest.name), manifest)
        inventory._by_kind[manifest.kind].append(manifest)
    for manifest in inventory.all:
        if manifest.kind in ROUTE_KINDS:
            inventory.routes.append(route_object(manifest))
    for written in inventory.of_kind("HelmRelease"):
        if not inventory.is_app_template(written):
            continue
        helmrelease = with_release_fields(written)
        try:
            release = Release(helmrelease, routes_of_release(helmrelease), pods_of_release(helmrelease))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # Values of the wrong shape: the values schema says what is wrong; nothing below can be checked.
            inventory.unrenderable.append((helmrelease, f"{type(exc).__name__}: {exc}"))
            continue
        inventory.releases.append(release)
        inventory.routes.extend(release.routes)
    return inventory

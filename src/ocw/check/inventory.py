"""Everything the cluster would hold once the tree is applied: the tree's built objects, the host's objects, and
what Helm renders from the tree's HelmReleases. The schema, link and policy checks look things up here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ocw.apis import RepositoryCRDs
from ocw.externalsecrets.lookup import producer
from ocw.helm import controller
from ocw.helm.render import Capabilities
from ocw.kube.manifest import Manifest, mapping
from ocw.kube.pod import Container, Workload, is_workload, workload
from ocw.kube.route import ROUTE_KINDS, Route
from ocw.tree import Tree
from ocw.workspace import Workspace, workspaces_in

APP_TEMPLATE = "app-template"


@dataclass
class Release:
    """A HelmRelease of the tree and what its chart renders."""

    helmrelease: Manifest
    outcome: controller.Release
    routes: list[Route] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)

    @property
    def objects(self) -> list[Manifest]:
        return self.outcome.objects

    @property
    def is_app_template(self) -> bool:
        request = self.outcome.request
        return request is not None and request.chart == APP_TEMPLATE

    @property
    def values(self) -> dict[str, Any]:
        return self.outcome.values


def container_path(work: Workload, container: Container) -> str:
    """Where a container is written: its app-template values path, else its place in the rendered workload."""
    section = "initContainers" if container.init else "containers"
    if work.controller is not None:
        return f"controllers.{work.controller}.{section}.{container.name}"
    return f"{work.kind}/{work.name} {section}.{container.name}"


def containers(work: Workload) -> Iterator[tuple[str, Container]]:
    for container in work.all_containers:
        yield container_path(work, container), container


@dataclass
class Inventory:
    tree: list[Manifest]
    host: list[Manifest]
    rendered: list[Manifest] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    chart_notes: list[controller.ChartNote] = field(default_factory=list)
    _by_key: dict[tuple[str, str, str], Manifest] = field(default_factory=dict, repr=False)
    _by_kind: dict[str, list[Manifest]] = field(default_factory=lambda: defaultdict(list), repr=False)

    @property
    def all(self) -> list[Manifest]:
        return [*self.tree, *self.host, *self.rendered]

    def get(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        return self._by_key.get((kind, namespace or "", name))

    def of_kind(self, kind: str) -> list[Manifest]:
        return list(self._by_kind.get(kind, []))

    def external_secret(self, namespace: str | None, secret: str) -> Manifest | None:
        """The ExternalSecret that makes a Secret (see ocw.externalsecrets.lookup)."""
        return producer(self._by_kind.get("ExternalSecret", []), namespace, secret)

    def reindex(self) -> None:
        """Index again, after objects moved (a cluster-scoped kind lost the namespace kustomize gave it)."""
        self._by_key.clear()
        self._by_kind.clear()
        self._index(self.all)

    def _index(self, manifests: Iterable[Manifest]) -> None:
        for manifest in manifests:
            self._by_key.setdefault((manifest.kind, manifest.namespace or "", manifest.name), manifest)
            self._by_kind[manifest.kind].append(manifest)


def build_inventory(
    tree: Iterable[Manifest],
    host: Iterable[Manifest],
    capabilities: Capabilities,
    crds: RepositoryCRDs | None = None,
) -> Inventory:
    """The inventory, with every HelmRelease of the tree rendered (in parallel, through the render cache). The CRDs
    the charts render join `crds` (the repository's own), and the objects of the tree whose scope only they tell are
    placed by it."""
    inventory = Inventory(tree=list(tree), host=list(host))
    inventory._index([*inventory.tree, *inventory.host])
    helmreleases = [m for m in inventory.tree if m.kind == "HelmRelease"]
    crds = crds if crds is not None else RepositoryCRDs()
    outcome = controller.render_releases(helmreleases, inventory.get, capabilities, crds)
    inventory.chart_notes = outcome.notes
    for rendered in outcome.releases:
        release = Release(rendered.helmrelease, rendered)
        release.workloads = [workload(m) for m in rendered.objects if is_workload(m)]
        release.routes = [_rendered_route(m, release) for m in rendered.objects if m.kind in ROUTE_KINDS]
        inventory.releases.append(release)
        inventory.rendered.extend(rendered.objects)
    inventory._index(inventory.rendered)
    written = [Route(m, _hostnames(m.raw_spec)) for m in [*inventory.tree, *inventory.host] if m.kind in ROUTE_KINDS]
    inventory.routes = [*written, *(route for release in inventory.releases for route in release.routes)]
    return inventory


def _hostnames(spec: dict[str, Any]) -> tuple[str, ...]:
    value = spec.get("hostnames")
    return tuple(str(h) for h in value) if isinstance(value, list) else ()


def _rendered_route(manifest: Manifest, release: Release) -> Route:
    """A rendered route, with the values entry that made it when the chart is app-template (`route.<identifier>`,
    found by its hostnames): its hostnames as written, before Flux substitution, let the rules see a literal domain."""
    rendered = _hostnames(manifest.spec)
    if not release.is_app_template or not rendered:
        return Route(manifest)
    substituted = mapping(release.values.get("route"))
    written = mapping(mapping(release.helmrelease.raw_spec.get("values")).get("route"))
    for identifier, entry in substituted.items():
        if _hostnames(mapping(entry)) == rendered:
            return Route(manifest, _hostnames(mapping(written.get(identifier))), str(identifier))
    return Route(manifest)


def rendered_workspaces(tree: Tree, inventory: Inventory) -> list[Workspace]:
    """The tree's workspaces from the releases the check already rendered. One whose chart could not be rendered is
    left out: its helm-chart or helm-render finding says why, and there is no pod or route to check."""
    releases = controller.Releases([r.outcome for r in inventory.releases], inventory.chart_notes)
    return [ws for ws in workspaces_in(tree, releases) if ws.release.rendered and ws.release.objects]

"""What the workspace's network rules need of the objects its chart renders (the routes, the pod's labels, the ports
its Services send to), read from the rendered release in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocw.flux.kustomization import FluxKustomization
from ocw.gatewayapi.httproute import Route
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.pod import Container
from ocw.workspace import Workspace


@dataclass(frozen=True)
class RenderedRoute:
    route: Route  # its rules as the chart renders them
    values: str  # where its rules are written in the HelmRelease values, e.g. `route.app.rules`
    parent_refs: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class RenderedWorkspace:
    helmrelease: Manifest
    namespace: str
    routes: tuple[RenderedRoute, ...]  # every route of the release
    pod_labels: dict[str, str]
    ports: tuple[int, ...]  # the container ports the release's Services send to
    manifests: tuple[Manifest, ...]  # every object of the workspace's Flux Kustomization
    kustomization: FluxKustomization


def rendered(ws: Workspace) -> RenderedWorkspace:
    """The workspace as its chart renders it; raises OcwError when the chart could not be rendered."""
    work = ws.workload
    routes = tuple(
        RenderedRoute(
            Route(
                m.namespace or ws.namespace,
                m.name,
                tuple(str(h) for h in m.spec.get("hostnames") or []),
                tuple(mappings(m.spec.get("rules"))),
            ),
            _values_path(ws, m),
            tuple(mappings(m.spec.get("parentRefs"))),
        )
        for m in ws.release.objects
        if m.kind == "HTTPRoute"
    )
    services = [m for m in ws.release.objects if m.kind == "Service" and _selects(m, work.pod_labels)]
    ports = sorted(
        {
            port
            for service in services
            for entry in mappings(service.spec.get("ports"))
            if (port := _target_port(entry, work.containers)) is not None
        }
    )
    return RenderedWorkspace(
        helmrelease=ws.helmrelease,
        namespace=ws.namespace,
        routes=routes,
        pod_labels=work.pod_labels,
        ports=tuple(ports),
        manifests=tuple(ws.built.manifests),
        kustomization=ws.built.kustomization,
    )


def _values_path(ws: Workspace, route: Manifest) -> str:
    """The values entry that wrote a rendered route's rules: `route.<identifier>.rules`, found by its hostnames."""
    hostnames = route.spec.get("hostnames")
    for identifier, entry in mapping(ws.release.values.get("route")).items():
        if mapping(entry).get("hostnames") == hostnames:
            return f"route.{identifier}.rules"
    return f"HTTPRoute {route.name} (rendered)"


def _selects(service: Manifest, labels: dict[str, str]) -> bool:
    selector = mapping(service.spec.get("selector"))
    return bool(selector) and all(labels.get(str(k)) == str(v) for k, v in selector.items())


def _target_port(entry: dict[str, Any], containers: list[Container]) -> int | None:
    """The container port a Service port sends to: `targetPort` (a number, or a container port's name), else `port`."""
    target = entry.get("targetPort", entry.get("port"))
    if isinstance(target, int):
        return target
    for container in containers:
        for declared in mappings(container.spec.get("ports")):
            if declared.get("name") == target and isinstance(declared.get("containerPort"), int):
                return int(declared["containerPort"])
    return None

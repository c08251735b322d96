"""What the workspace's network rules need of the objects app-template renders (the route, the pod's labels, the
ports its Service sends to), read from a Workspace in one place so that a real Helm rendering can take its place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocw.flux.build import Manifest
from ocw.flux.kustomization import FluxKustomization
from ocw.gatewayapi.httproute import Route
from ocw.helm import app_template
from ocw.workspace import Workspace


@dataclass(frozen=True)
class RenderedRoute:
    route: Route  # its rules as app-template renders them
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
    values = ws.values
    release = str((ws.helmrelease.obj.get("spec") or {}).get("releaseName") or ws.name)
    routes = []
    for identifier, name in app_template.route_names(release, values).items():
        spec = (values.get("route") or {}).get(identifier) or {}
        rules = tuple(dict(r) for r in spec.get("rules") or [] if isinstance(r, dict))
        route = Route(ws.namespace, name, tuple(str(h) for h in spec.get("hostnames") or []), rules)
        parents = tuple(dict(p) for p in spec.get("parentRefs") or [] if isinstance(p, dict))
        routes.append(RenderedRoute(route, f"route.{identifier}.rules", parents))
    # app-template's pod labels: its controller label, the selector labels, defaultPodOptions.labels, then the
    # controller's own pod.labels, each winning over the one before.
    name = str((values.get("global") or {}).get("nameOverride") or release)
    labels = {"app.kubernetes.io/controller": ws.controller.identifier}
    labels |= {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": release}
    labels |= {str(k): str(v) for k, v in ((values.get("defaultPodOptions") or {}).get("labels") or {}).items()}
    labels |= {str(k): str(v) for k, v in ((ws.controller.values.get("pod") or {}).get("labels") or {}).items()}
    ports = sorted(
        {
            int(port.get("targetPort") or port["port"])
            for service in (values.get("service") or {}).values()
            if isinstance(service, dict) and service.get("enabled", True) is not False
            for port in (service.get("ports") or {}).values()
            if isinstance(port, dict) and isinstance(port.get("targetPort") or port.get("port"), int)
        }
    )
    return RenderedWorkspace(
        helmrelease=ws.helmrelease,
        namespace=ws.namespace,
        routes=tuple(routes),
        pod_labels=labels,
        ports=tuple(ports),
        manifests=tuple(ws.built.manifests),
        kustomization=ws.built.kustomization,
    )

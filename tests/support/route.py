"""What a workspace's rendered route tells a stand-in gateway to do before OpenCode sees a request."""

from __future__ import annotations

from ocw.kube.manifest import mapping, mappings
from ocw.workspace import Workspace


def route_landing(ws: Workspace) -> str | None:
    """The full path the workspace's route redirects `/` to (its RequestRedirect filter), or None without one."""
    route = ws.route
    for rule in mappings(route.spec.get("rules")) if route is not None else []:
        for item in mappings(rule.get("filters")):
            if item.get("type") == "RequestRedirect":
                return str(mapping(mapping(item.get("requestRedirect")).get("path")).get("replaceFullPath"))
    return None

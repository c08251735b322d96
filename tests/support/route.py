"""What a workspace's rendered route tells a stand-in gateway to do before OpenCode sees a request."""

from __future__ import annotations

from ocw.workspace import Workspace


def route_landing(ws: Workspace) -> str | None:
    """The full path the workspace's route redirects `/` to (its RequestRedirect filter), or None without one."""
    for route in (ws.values.get("route") or {}).values():
        for rule in route.get("rules") or []:
            for item in rule.get("filters") or []:
                if item.get("type") == "RequestRedirect":
                    return str(item["requestRedirect"]["path"]["replaceFullPath"])
    return None

"""The Origin gate: the workspace route lets a request reach OpenCode only when its Origin is absent or the
workspace's own, and refuses any other Origin with 403 before OpenCode sees it (docs/security.md).

A browser attaches the Basic credentials it has cached to requests a page of another host of the same site sends
(no-cors fetches, forms, WebSockets), and to top-level form posts from any site; OpenCode checks neither Origin nor
a CSRF token. So the rule asks the route, through the Gateway API's own precedence (ocw.gatewayapi), what it does
with the requests such pages send, and with the workspace's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ocw.check.workspace_view import RenderedRoute, RenderedWorkspace
from ocw.findings import Finding
from ocw.gatewayapi.httproute import Answer, Request, answer

RULE = "origin-gate"
FIX = (
    "put the Origin gate on the route (after the `/` redirect: a rule matching header Origin Exact "
    "https://<host> to the backend, then one matching Origin RegularExpression `.*` with an HTTPRouteFilter answering "
    "403, then the backend rule; the component's helmrelease.yaml and httproutefilter.yaml, docs/security.md)"
)
WEBSOCKET = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
# What a page sends to drive the workspace: a session, a command, the terminal, a read, the same under /api, a
# form to the root.
REQUESTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("POST", "/session", {"Content-Type": "text/plain"}),
    ("POST", "/pty", {}),
    ("GET", "/pty/pty_probe/connect", WEBSOCKET),
    ("GET", "/session", {}),
    ("POST", "/api/pty", {}),
    ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}),
)


def foreign_origins(host: str) -> list[tuple[str, str]]:
    """(Origin, who sends it) for pages that must not drive the workspace at `host`."""
    parent = host.split(".", 1)[1] if "." in host else host
    site = ".".join(host.split(".")[-2:])
    return [
        (f"https://other.{parent}", "a page of another host of the same site"),
        (f"https://{site}", "the site's own apex"),
        ("https://attacker.invalid", "a page of another site"),
        ("null", "a sandboxed frame or a redirected form (Origin: null)"),
        (f"http://{host}", "the workspace's host over plain HTTP"),
        (f"https://{host}:8443", "the workspace's host on another port"),
        (f"https://{host}.attacker.invalid", "a host that starts with the workspace's"),
        (f"https://evil{host}", "a host that ends with the workspace's"),
    ]


def _rule(rendered: RenderedRoute, result: Answer) -> str:
    return f"{rendered.values}[{result.selected.index}]" if result.selected else "no rule (404)"


def check_origin_gate(view: RenderedWorkspace) -> Iterator[Finding]:
    """Every route of the workspace, for each of its hostnames."""
    for rendered in view.routes:
        for host in rendered.route.hostnames:
            yield from _check_host(view, rendered, host)


def _check_host(view: RenderedWorkspace, rendered: RenderedRoute, host: str) -> Iterator[Finding]:
    route = rendered.route

    def lookup(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = next((m for m in view.manifests if (m.kind, m.namespace, m.name) == (kind, namespace, name)), None)
        return found.obj if found else None

    def finding(message: str) -> Finding:
        return Finding(view.helmrelease.file, RULE, view.helmrelease.ref, message)

    for origin, who in foreign_origins(host):
        for method, path, headers in REQUESTS:
            request = Request.of(method, path, {"Origin": origin, **headers}, host=host)
            result = answer([route], request, lookup)
            refused = result.status == 403 or (path == "/" and not result.forwarded)
            if not refused:
                what = "reaches OpenCode" if result.forwarded else f"gets HTTP {result.status}, not 403"
                where = _rule(rendered, result)
                yield finding(
                    f"{method} https://{host}{path} from {who} (Origin: {origin}) {what} through {where}: a browser "
                    f"sends such requests with the workspace password it has cached; {FIX}"
                )
                return  # one finding says the gate is missing; the others would repeat it
    own: list[str | None] = [f"https://{host}", None]
    for mine in own:
        for method, path, headers in REQUESTS[:4]:
            sent = {**headers, **({"Origin": mine} if mine else {})}
            result = answer([route], Request.of(method, path, sent, host=host), lookup)
            if not result.forwarded:
                source = f"the workspace's own pages (Origin: {mine})" if mine else "requests without an Origin"
                where = _rule(rendered, result)
                yield finding(
                    f"{method} https://{host}{path} from {source} gets HTTP {result.status} from {where} instead of "
                    f"reaching OpenCode: the web UI could not work; {FIX}"
                )
                return

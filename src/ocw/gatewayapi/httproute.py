"""Which HTTPRoute rule answers a request, as the Gateway API specification defines it, and what that rule does.

Matching (HTTPRouteRule.matches): a rule without matches matches every request (`PathPrefix /`), a match without a
path likewise; the match's path, method, headers and query parameters must all hold. PathPrefix matches element by
element (`/abc` matches `/abc`, `/abc/` and `/abc/def`, not `/abcd`; a trailing `/` of the prefix is ignored);
header names are case-insensitive, header values, query parameter names and values and paths case-sensitive.

Precedence, across every rule of the routes that accept the request's host: the route with the most specific
matching hostname (most characters of a non-wildcard hostname, then of any hostname); then the match with an Exact
path, the longest PathPrefix, a method, the most header matches, the most query parameter matches; then the oldest
route, the route first by `namespace/name`; then the first rule in list order. RegularExpression paths, whose rank
the specification leaves to the implementation, rank as Envoy Gateway ranks them: below Exact, above PathPrefix.

What the rule does: a RequestRedirect filter answers with a redirect; an ExtensionRef to an Envoy Gateway
HTTPRouteFilter with a directResponse answers with that response; otherwise the request goes to the rule's
backendRefs, and a rule with neither answers 500. No matching rule: 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_PATH: Mapping[str, str] = {"type": "PathPrefix", "value": "/"}
ENVOY_GATEWAY_GROUP = "gateway.envoyproxy.io"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    host: str = ""
    scheme: str = "https"

    @classmethod
    def of(
        cls, method: str, target: str, headers: Mapping[str, str] | Iterable[tuple[str, str]] = (), host: str = ""
    ) -> Request:
        """A request for `target` (a path with an optional query string), headers as a mapping or name/value pairs."""
        parts = urlsplit(target)
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers)
        if not host:
            host = next((value for name, value in pairs if name.lower() == "host"), "")
        query = tuple(parse_qsl(parts.query, keep_blank_values=True))
        return cls(method.upper(), parts.path or "/", pairs, query, host)

    def header(self, name: str) -> str | None:
        """The header's value; repeated headers joined with a comma, as a proxy joins them."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None

    def query_param(self, name: str) -> str | None:
        return next((value for key, value in self.query if key == name), None)

    @property
    def host_name(self) -> str:
        """The Host without a port, lower case."""
        host = self.host.lower()
        if host.startswith("["):
            return host.split("]", 1)[0] + "]"
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class Route:
    namespace: str
    name: str
    hostnames: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]
    created: str = ""  # metadata.creationTimestamp (RFC 3339 in UTC sorts as text); "" when unknown


@dataclass(frozen=True)
class Selected:
    """The rule that answers a request: its route, its index in the route's rules, and the match that won."""

    route: Route
    index: int
    rule: Mapping[str, Any]
    match: Mapping[str, Any]


def _path_matches(path: Mapping[str, Any], request_path: str) -> bool:
    kind = str(path.get("type") or "PathPrefix")
    value = str(path.get("value") if path.get("value") is not None else "/")
    if kind == "Exact":
        return request_path == value
    if kind == "RegularExpression":
        return re.fullmatch(value, request_path) is not None
    prefix = value.rstrip("/")
    return not prefix or request_path == prefix or request_path.startswith(prefix + "/")


def _value_matches(condition: Mapping[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    wanted = str(condition.get("value", ""))
    if str(condition.get("type") or "Exact") == "RegularExpression":
        return re.fullmatch(wanted, value) is not None
    return value == wanted


def _first_by_name(conditions: Iterable[Mapping[str, Any]], fold: bool) -> list[Mapping[str, Any]]:
    """The specification: of entries with equivalent names only the first is considered."""
    seen: set[str] = set()
    kept: list[Mapping[str, Any]] = []
    for condition in conditions:
        name = str(condition.get("name", ""))
        key = name.lower() if fold else name
        if key not in seen:
            seen.add(key)
            kept.append(condition)
    return kept


def matches(match: Mapping[str, Any], request: Request) -> bool:
    """Whether one HTTPRouteMatch holds for the request."""
    if not _path_matches(match.get("path") or DEFAULT_PATH, request.path):
        return False
    method = match.get("method")
    if method is not None and str(method).upper() != request.method:
        return False
    for header in _first_by_name(match.get("headers") or [], fold=True):
        if not _value_matches(header, request.header(str(header.get("name", "")))):
            return False
    for param in _first_by_name(match.get("queryParams") or [], fold=False):
        if not _value_matches(param, request.query_param(str(param.get("name", "")))):
            return False
    return True


def rule_matches(rule: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The rule's matches with the specification's default: a rule without matches matches every path."""
    return list(rule.get("matches") or [{"path": dict(DEFAULT_PATH)}])


def _rank(match: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """Higher wins: Exact path, then (implementation-specific) RegularExpression, then PathPrefix by length; a
    method; the number of header matches; the number of query parameter matches."""
    path = match.get("path") or DEFAULT_PATH
    kind = {"Exact": 2, "RegularExpression": 1}.get(str(path.get("type") or "PathPrefix"), 0)
    length = len(str(path.get("value") or "/"))
    headers = len(_first_by_name(match.get("headers") or [], fold=True))
    params = len(_first_by_name(match.get("queryParams") or [], fold=False))
    return kind, length, 1 if match.get("method") else 0, headers, params


def _hostname_matches(hostname: str, host: str) -> bool:
    hostname = hostname.lower()
    if hostname.startswith("*."):
        return host.endswith(hostname[1:]) and len(host) > len(hostname) - 1
    return host == hostname


def _host_rank(route: Route, host: str) -> tuple[int, int] | None:
    """(characters of the longest matching non-wildcard hostname, of the longest matching hostname); None when the
    route does not accept the host. A route without hostnames accepts every host."""
    if not route.hostnames:
        return 0, 0
    found = [h for h in route.hostnames if _hostname_matches(h, host)]
    if not found:
        return None
    exact = [len(h) for h in found if not h.startswith("*.")]
    return max(exact, default=0), max(len(h) for h in found)


def select(routes: Sequence[Route], request: Request) -> Selected | None:
    """The rule that answers the request, or None (the gateway answers 404)."""
    ranked = [(rank, route) for route in routes if (rank := _host_rank(route, request.host_name)) is not None]
    if not ranked:
        return None
    best_host = max(rank for rank, _ in ranked)
    candidates: list[tuple[tuple[int, int, int, int, int], tuple[str, str], int, int, Selected]] = []
    for _, route in (item for item in ranked if item[0] == best_host):
        for index, rule in enumerate(route.rules):
            for position, match in enumerate(rule_matches(rule)):
                if matches(match, request):
                    order = (route.created or "~", f"{route.namespace}/{route.name}")
                    candidates.append((_rank(match), order, index, position, Selected(route, index, rule, match)))
    if not candidates:
        return None
    best = max(candidate[0] for candidate in candidates)
    return min((c for c in candidates if c[0] == best), key=lambda c: (c[1], c[2], c[3]))[4]


# --------------------------------------------------------------------------------------------- what the rule does


@dataclass(frozen=True)
class Answer:
    """What the gateway does with a request: `forward` to backendRefs, or answer itself with `status`."""

    status: int | None = None  # the gateway's own answer; None when it forwards
    location: str | None = None  # a redirect's Location
    content_type: str | None = None
    body: str = ""
    backend_refs: tuple[Mapping[str, Any], ...] = field(default=())
    selected: Selected | None = None

    @property
    def forwarded(self) -> bool:
        return self.status is None


FilterLookup = Callable[[str, str, str], Mapping[str, Any] | None]  # (kind, namespace, name) -> the object


def answer(routes: Sequence[Route], request: Request, lookup: FilterLookup) -> Answer:
    """What the gateway does with the request under these routes; `lookup` finds an ExtensionRef's object."""
    selected = select(routes, request)
    if selected is None:
        return Answer(status=404, body="no route matches\n")
    for item in selected.rule.get("filters") or []:
        if item.get("type") == "RequestRedirect":
            return _redirect(item.get("requestRedirect") or {}, request, selected)
        if item.get("type") == "ExtensionRef":
            ref = item.get("extensionRef") or {}
            target = lookup(str(ref.get("kind")), selected.route.namespace, str(ref.get("name")))
            direct = ((target or {}).get("spec") or {}).get("directResponse")
            if ref.get("group") == ENVOY_GATEWAY_GROUP and ref.get("kind") == "HTTPRouteFilter" and direct:
                body = str((direct.get("body") or {}).get("inline") or "")
                status = int(direct.get("statusCode") or 200)
                return Answer(status=status, content_type=direct.get("contentType"), body=body, selected=selected)
            if target is None:  # an unresolved filter: the specification has the rule answer 500
                return Answer(status=500, body="unresolved ExtensionRef\n", selected=selected)
    refs = tuple(selected.rule.get("backendRefs") or ())
    if not refs:
        return Answer(status=500, body="no backend\n", selected=selected)
    return Answer(backend_refs=refs, selected=selected)


def _redirect(redirect: Mapping[str, Any], request: Request, selected: Selected) -> Answer:
    path_change = redirect.get("path") or {}
    path = request.path
    if path_change.get("type") == "ReplaceFullPath":
        path = str(path_change.get("replaceFullPath"))
    elif path_change.get("type") == "ReplacePrefixMatch":
        prefix = str((selected.match.get("path") or DEFAULT_PATH).get("value") or "/").rstrip("/")
        path = str(path_change.get("replacePrefixMatch")).rstrip("/") + path[len(prefix) :] or "/"
    scheme = str(redirect.get("scheme") or request.scheme)
    host = str(redirect.get("hostname") or request.host)
    if redirect.get("port") is not None:
        host = f"{host.rsplit(':', 1)[0]}:{redirect['port']}"
    status = int(redirect.get("statusCode") or 302)
    return Answer(status=status, location=f"{scheme}://{host}{path}", selected=selected)

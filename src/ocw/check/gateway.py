"""Gateway API and Envoy Gateway, checked the way the controllers resolve them: a route attaches to a listener that
admits it, its hostnames are covered by the certificate that listener presents, its backends exist, policies target
routes that exist, and a workspace route keeps long streams open."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ocw.check import expectations
from ocw.check.inventory import Inventory, Release
from ocw.findings import Finding, Severity, about
from ocw.flux.repo_vars import PLACEHOLDER_PREFIX
from ocw.install.host import HostCluster
from ocw.kube.manifest import Manifest, mapping, mappings
from ocw.kube.quantity import duration_seconds
from ocw.kube.route import ROUTE_KINDS, Route

GATEWAY_GROUP = "gateway.networking.k8s.io"
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
SECRET_DOMAIN_VARIABLE = "${SECRET_DOMAIN"  # noqa: S105 - a variable reference


def check_routes(inventory: Inventory, host: HostCluster) -> list[Finding]:
    """Attachment and TLS of every route the tree writes or renders; backends; policy targets."""
    findings: list[Finding] = []
    # A release that could not be rendered may make a route's Service: helm-chart or helm-render says why it is unknown.
    unrendered = {r.outcome.namespace for r in inventory.releases if not r.outcome.rendered}
    for route in inventory.routes:
        if route.owner is not None:
            findings.extend(_route(inventory, route, host))
            if route.manifest.rendered_from is not None and route.namespace not in unrendered:
                findings.extend(_backends(inventory, route))
    findings.extend(_traffic_policy_targets(inventory))
    return findings


# --- attachment and TLS --------------------------------------------------------------------------------------------


def _route(inventory: Inventory, route: Route, host: HostCluster) -> Iterator[Finding]:
    if not route.parent_refs:
        yield about(route, "link-gateway-listener", "the route has no parentRefs")
    for ref in route.parent_refs:
        kind = str(ref.get("kind", "Gateway"))
        if kind != "Gateway" or str(ref.get("group", GATEWAY_GROUP)) != GATEWAY_GROUP:
            continue
        namespace = str(ref.get("namespace") or route.namespace)
        name = str(ref.get("name"))
        gateway = inventory.get("Gateway", namespace, name)
        if gateway is None:
            known = ", ".join(sorted(m.ref for m in inventory.of_kind("Gateway"))) or "none"
            yield about(
                route,
                "link-gateway-listener",
                f"parentRef names Gateway {namespace}/{name}, which neither the tree nor the host cluster has "
                f"(known: {known}); point parentRefs at one of them",
            )
            continue
        yield from _attach(inventory, route, gateway, ref, host)


def _listeners(gateway: Manifest) -> list[dict[str, Any]]:
    return mappings(gateway.spec.get("listeners"))


def _attach(
    inventory: Inventory, route: Route, gateway: Manifest, ref: Mapping[str, Any], host: HostCluster
) -> Iterator[Finding]:
    listeners = _listeners(gateway)
    section = ref.get("sectionName")
    if section is not None:
        chosen = [item for item in listeners if item.get("name") == section]
        if not chosen:
            names = ", ".join(str(item.get("name")) for item in listeners) or "none"
            installs = [s.file for s in host.install if s.target.get("name") == gateway.name]
            origin = (
                f"; the tree adds listeners to it with {', '.join(installs)} (install it as scripts/README.md says)"
            )
            yield about(
                route,
                "link-gateway-listener",
                f"parentRef sectionName {section!r}: Gateway {gateway.namespace}/{gateway.name} has no such listener "
                f"(its listeners: {names}){origin if installs else ''}. Without it the route is never attached and "
                f"the hostname answers 404",
            )
            return
    else:
        chosen = listeners
    admitting = [item for item in chosen if not _refusal(inventory, gateway, item, route)]
    if not admitting:
        reasons = "; ".join(_refusal(inventory, gateway, item, route) for item in chosen) or "it has no listeners"
        yield about(
            route,
            "link-gateway-listener",
            f"Gateway {gateway.namespace}/{gateway.name} admits the route on no listener: {reasons}",
        )
        return
    yield from _tls(inventory, route, gateway, admitting)


def _refusal(inventory: Inventory, gateway: Manifest, listener: Mapping[str, Any], route: Route) -> str:
    """Why the listener refuses the route, or '' when it admits it."""
    name = listener.get("name")
    allowed = mapping(listener.get("allowedRoutes"))
    namespaces = mapping(allowed.get("namespaces"))
    source = namespaces.get("from", "Same")
    if source == "Same" and route.namespace != gateway.namespace:
        return f"listener {name} admits routes from its own namespace {gateway.namespace} only"
    if source == "Selector":
        selector = mapping(mapping(namespaces.get("selector")).get("matchLabels"))
        namespace = inventory.get("Namespace", None, route.namespace)
        labels = {"kubernetes.io/metadata.name": route.namespace, **(namespace.labels if namespace else {})}
        if any(labels.get(k) != v for k, v in selector.items()):
            return f"listener {name} admits namespaces labelled {selector}, and {route.namespace} is not"
    kinds = [str(k.get("kind")) for k in mappings(allowed.get("kinds"))]
    if kinds and route.kind not in kinds:
        return f"listener {name} admits kinds {kinds}, not {route.kind}"
    hostname = listener.get("hostname")
    if hostname and route.hostnames and not any(_hostnames_intersect(str(hostname), h) for h in route.hostnames):
        return f"listener {name} serves {hostname}, which matches none of the route's hostnames {route.hostnames}"
    return ""


def _hostnames_intersect(listener: str, route: str) -> bool:
    return covers(listener, route) or covers(route, listener) or listener == route


def covers(pattern: str, hostname: str) -> bool:
    """Whether a certificate or listener name covers a hostname: `*.d` covers `x.d`, never `x.y.d` or `d`."""
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern == hostname:
        return True
    if pattern.startswith("*."):
        first, _, rest = hostname.partition(".")
        return bool(first) and first != "*" and rest == pattern[2:]
    return False


def _tls(inventory: Inventory, route: Route, gateway: Manifest, listeners: list[dict[str, Any]]) -> Iterator[Finding]:
    secure = [item for item in listeners if item.get("protocol") in TLS_PROTOCOLS]
    if not secure:
        return
    for hostname in route.hostnames:
        serving = [item for item in secure if not item.get("hostname") or covers(str(item["hostname"]), hostname)]
        problems: list[str] = []
        for listener in serving:
            names, problem = _certificate_names(inventory, gateway, listener)
            if problem:
                problems.append(problem)
            elif any(covers(name, hostname) for name in names):
                break
            else:
                problems.append(
                    f"listener {listener.get('name')} presents a certificate for {', '.join(names) or 'no name'}"
                )
        else:
            detail = "; ".join(problems) or "no HTTPS listener it attaches to serves that name"
            if PLACEHOLDER_PREFIX in detail and PLACEHOLDER_PREFIX not in hostname:
                # The certificate's names come from a SOPS-encrypted variable whose value is unknown here.
                yield about(
                    route,
                    "link-tls-certificate",
                    f"cannot tell whether a certificate covers {hostname}: {detail}, names built from a "
                    f"SOPS-encrypted variable. Pass --vars with its real value to check it",
                    severity=Severity.WARNING,
                )
                continue
            yield about(
                route,
                "link-tls-certificate",
                f"hostname {hostname} is not covered by a certificate its listener presents: {detail}. A wildcard "
                f"covers one label only: *.opencode.<domain> covers flux.opencode.<domain>, *.<domain> does not",
            )


def _certificate_names(
    inventory: Inventory, gateway: Manifest, listener: Mapping[str, Any]
) -> tuple[list[str], str | None]:
    refs = mappings(mapping(listener.get("tls")).get("certificateRefs"))
    if not refs:
        return [], f"listener {listener.get('name')} has no tls.certificateRefs"
    names: list[str] = []
    for ref in refs:
        namespace = str(ref.get("namespace") or gateway.namespace)
        secret = str(ref.get("name"))
        certificates = [
            m
            for m in inventory.of_kind("Certificate")
            if m.namespace == namespace and m.spec.get("secretName") == secret
        ]
        if not certificates:
            return [], (
                f"listener {listener.get('name')} presents Secret {namespace}/{secret}, which no Certificate in "
                f"{namespace} writes (spec.secretName)"
            )
        for certificate in certificates:
            names.extend(str(n) for n in certificate.spec.get("dnsNames") or [])
            if certificate.spec.get("commonName"):
                names.append(str(certificate.spec["commonName"]))
    return names, None


def _backends(inventory: Inventory, route: Route) -> Iterator[Finding]:
    """A backendRef to a Service that does not exist leaves the route's ResolvedRefs false: no traffic. Checked for
    routes a chart renders, whose Services the same render makes; a route written in the tree may well name a Service
    an operator or Flux itself creates."""
    for ref in route.backend_refs():
        if str(ref.get("group") or "") != "" or str(ref.get("kind") or "Service") != "Service":
            continue
        namespace = str(ref.get("namespace") or route.namespace)
        name = str(ref.get("name"))
        if inventory.get("Service", namespace, name) is None:
            services = ", ".join(sorted(m.name for m in inventory.of_kind("Service") if m.namespace == namespace))
            yield about(
                route,
                "link-route-backend",
                f"backendRef names Service {namespace}/{name}, which nothing creates (Services there: "
                f"{services or 'none'}): the route resolves no backend and answers 500",
            )


# --- Envoy Gateway policy targets ------------------------------------------------------------------------------------


def _traffic_policy_targets(inventory: Inventory) -> Iterator[Finding]:
    unrendered = {r.outcome.namespace for r in inventory.releases if not r.outcome.rendered}
    for policy in (m for m in inventory.tree if m.kind == "BackendTrafficPolicy"):
        namespace = policy.namespace
        routes_here = [r for r in inventory.routes if r.namespace == namespace]
        known = ", ".join(sorted(r.name for r in routes_here)) or "none"
        for ref in policy.target_refs():
            kind, name = str(ref.get("kind")), str(ref.get("name"))
            if kind in ROUTE_KINDS:
                if namespace not in unrendered and not any(r.name == name and r.kind == kind for r in routes_here):
                    yield about(
                        policy,
                        "link-traffic-policy-target",
                        f"targetRefs names {kind} {name}, which nothing creates in {namespace} (routes there: "
                        f"{known}). app-template names a release's only route <release> and several "
                        f"<release>-<identifier>; or target by label with targetSelectors",
                    )
            elif kind == "Gateway" and inventory.get("Gateway", namespace, name) is None:
                yield about(
                    policy,
                    "link-traffic-policy-target",
                    f"targetRefs names Gateway {namespace}/{name}, which does not exist",
                )
        for selector in policy.target_selectors():
            labels = mapping(selector.get("matchLabels"))
            kind = str(selector.get("kind"))
            if kind == "Gateway":
                # A selector without labels selects every Gateway of the namespace (a gateway-wide policy).
                gateways = [g for g in inventory.of_kind("Gateway") if g.namespace == namespace]
                if not any(g.labels_match(labels) for g in gateways):
                    yield about(
                        policy,
                        "link-traffic-policy-target",
                        f"targetSelectors Gateway with labels {labels} matches no Gateway in {namespace}",
                    )
                continue
            if namespace not in unrendered and not any(
                r.kind == kind and r.manifest.labels_match(labels) for r in routes_here
            ):
                yield about(
                    policy,
                    "link-traffic-policy-target",
                    f"targetSelectors {kind} with labels {labels} matches no route in {namespace} (routes there: "
                    f"{known})",
                )


def policy_targets(inventory: Inventory, route: Route) -> list[Manifest]:
    """The BackendTrafficPolicies that target this route by name or by label."""
    found: list[Manifest] = []
    for policy in inventory.of_kind("BackendTrafficPolicy"):
        if policy.namespace != route.namespace:
            continue
        by_name = any(r.get("kind") == route.kind and r.get("name") == route.name for r in policy.target_refs())
        by_label = any(
            s.get("kind") == route.kind and route.manifest.labels_match(mapping(s.get("matchLabels")))
            for s in policy.target_selectors()
        )
        if by_name or by_label:
            found.append(policy)
    return found


# --- workspace routes ------------------------------------------------------------------------------------------------


def hostname_domain(route: Route) -> Iterator[Finding]:
    for written, rendered in zip(route.source_hostnames, route.hostnames, strict=False):
        if SECRET_DOMAIN_VARIABLE not in written:
            yield about(
                route,
                "hostname-literal-domain",
                f"hostname {rendered} is written with a literal domain ({written!r}): the cluster's domain is the "
                f"Flux variable SECRET_DOMAIN, write it as <name>.opencode.${{SECRET_DOMAIN}}",
                label=f"{route.kind}/{route.namespace}/{route.name}",
            )


def traffic_policy(inventory: Inventory, release: Release, route: Route) -> Iterator[Finding]:
    label = f"{route.kind}/{route.namespace}/{route.name}"
    policies = policy_targets(inventory, route)
    if not policies:
        yield about(
            release.helmrelease,
            "traffic-policy",
            f"no BackendTrafficPolicy targets the workspace route {label}: the gateway's defaults apply and Envoy "
            f"closes a stream idle for 5 minutes. Add one targeting HTTPRoute {route.name}",
        )
        return
    policy = policies[0]
    spec = policy.spec
    http = mapping(mapping(spec.get("timeout")).get("http"))
    merges = bool(spec.get("mergeType"))
    subject = f"{policy.ref} (for {label})"

    def finding(message: str) -> Finding:
        return about(policy, "traffic-policy", message, label=subject)

    if not merges and not ("requestTimeout" in http and "connectionIdleTimeout" in http):
        yield finding(
            "without mergeType this policy replaces the gateway-wide policy `envoy` for the route, dropping its "
            "timeouts: set mergeType: StrategicMerge, or restate timeout.http.requestTimeout and connectionIdleTimeout"
        )
    request = http.get("requestTimeout")
    if request is None and merges:
        request = _gateway_request_timeout(inventory, route)
    seconds = duration_seconds(request) if request is not None else None
    if seconds is None or (seconds != 0 and seconds <= expectations.MIN_REQUEST_TIMEOUT_SECONDS):
        yield finding(
            f"requestTimeout is {request or 'unset (Envoy default 15s)'}: streamed answers run longer; set "
            f"timeout.http.requestTimeout to 0s (no limit) or more than {expectations.MIN_REQUEST_TIMEOUT_SECONDS}s"
        )
    idle = http.get("streamIdleTimeout")
    idle_seconds = duration_seconds(idle) if idle is not None else None
    if idle_seconds is None or (idle_seconds != 0 and idle_seconds <= expectations.ENVOY_DEFAULT_STREAM_IDLE_SECONDS):
        yield finding(
            f"streamIdleTimeout is {idle or 'unset (Envoy default 5m)'}: a quiet terminal or event stream is cut "
            f"after it; set timeout.http.streamIdleTimeout above "
            f"{expectations.ENVOY_DEFAULT_STREAM_IDLE_SECONDS // 60}m (e.g. 3600s)"
        )


def _gateway_request_timeout(inventory: Inventory, route: Route) -> Any:
    """requestTimeout of the policy attached to the route's Gateway (the one a mergeType policy merges into)."""
    gateways = {(str(r.get("namespace") or route.namespace), str(r.get("name"))) for r in route.parent_refs}
    for policy in inventory.of_kind("BackendTrafficPolicy"):
        for ref in policy.target_refs():
            if ref.get("kind") == "Gateway" and (policy.namespace, ref.get("name")) in gateways:
                return mapping(mapping(policy.spec.get("timeout")).get("http")).get("requestTimeout")
    return None

"""Cross references, checked the way the controllers resolve them: Gateway API route attachment and TLS, Envoy
Gateway policy targets, Secrets and ConfigMaps a pod reads, claims, chart sources, dependsOn, stores and issuers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ocw.check.host import HOST_KUSTOMIZATION_PREFIX, HostCluster
from ocw.check.inventory import Inventory
from ocw.check.render import Route
from ocw.findings import Finding, Severity
from ocw.flux.build import Manifest
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.repo_vars import PLACEHOLDER_PREFIX
from ocw.helm import app_template

GATEWAY_GROUP = "gateway.networking.k8s.io"
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def check_links(inventory: Inventory, kustomizations: list[FluxKustomization], host: HostCluster) -> list[Finding]:
    findings: list[Finding] = []
    for route in inventory.routes:
        if not route.origin.kustomization.startswith(HOST_KUSTOMIZATION_PREFIX):
            findings.extend(_route(inventory, route, host))
    tree = list(inventory.tree)
    findings.extend(_traffic_policy_targets(inventory, tree))
    findings.extend(_pod_reads(inventory))
    findings.extend(_claims(inventory))
    findings.extend(_chart_refs(inventory, tree))
    findings.extend(_depends_on(inventory, kustomizations, host, tree))
    findings.extend(_stores_and_issuers(inventory, tree, host))
    findings.extend(_route_backends(inventory))
    return findings


# --- Gateway API: attachment and TLS ---------------------------------------------------------------------------


def _route_label(route: Route) -> str:
    rendered = f" (rendered from {route.origin.ref} route.{route.identifier})" if route.identifier else ""
    return f"{route.kind}/{route.namespace}/{route.name}{rendered}"


def _route(inventory: Inventory, route: Route, host: HostCluster) -> Iterator[Finding]:
    if not route.parent_refs:
        yield Finding(route.origin.file, "link-gateway-listener", _route_label(route), "the route has no parentRefs")
    for ref in route.parent_refs:
        kind = str(ref.get("kind", "Gateway"))
        if kind != "Gateway" or str(ref.get("group", GATEWAY_GROUP)) != GATEWAY_GROUP:
            continue
        namespace = str(ref.get("namespace") or route.namespace)
        name = str(ref.get("name"))
        gateway = inventory.get("Gateway", namespace, name)
        if gateway is None:
            known = ", ".join(sorted(m.ref for m in inventory.of_kind("Gateway"))) or "none"
            yield Finding(
                route.origin.file,
                "link-gateway-listener",
                _route_label(route),
                f"parentRef names Gateway {namespace}/{name}, which neither the tree nor the host cluster has "
                f"(known: {known}); point parentRefs at one of them",
            )
            continue
        yield from _attach(inventory, route, gateway, ref, host)


def _listeners(gateway: Manifest) -> list[dict[str, Any]]:
    return [item for item in (gateway.obj.get("spec") or {}).get("listeners") or [] if isinstance(item, dict)]


def _attach(
    inventory: Inventory, route: Route, gateway: Manifest, ref: Mapping[str, Any], host: HostCluster
) -> Iterator[Finding]:
    listeners = _listeners(gateway)
    section = ref.get("sectionName")
    label = _route_label(route)
    if section is not None:
        chosen = [item for item in listeners if item.get("name") == section]
        if not chosen:
            names = ", ".join(str(item.get("name")) for item in listeners) or "none"
            installs = [s.file for s in host.install if s.target.get("name") == gateway.name]
            origin = (
                f"; the tree adds listeners to it with {', '.join(installs)} (install it as scripts/README.md says)"
            )
            yield Finding(
                route.origin.file,
                "link-gateway-listener",
                label,
                f"parentRef sectionName {section!r}: Gateway {gateway.namespace}/{gateway.name} has no such listener "
                f"(its listeners: {names}){origin if installs else ''}. Without it the route is never attached and "
                f"the hostname answers 404",
            )
            return
    else:
        chosen = listeners
    admitting = [item for item in chosen if _admits(inventory, gateway, item, route)]
    if not admitting:
        reasons = "; ".join(_refusal(inventory, gateway, item, route) for item in chosen) or "it has no listeners"
        yield Finding(
            route.origin.file,
            "link-gateway-listener",
            label,
            f"Gateway {gateway.namespace}/{gateway.name} admits the route on no listener: {reasons}",
        )
        return
    yield from _tls(inventory, route, gateway, admitting)


def _admits(inventory: Inventory, gateway: Manifest, listener: Mapping[str, Any], route: Route) -> bool:
    return _refusal(inventory, gateway, listener, route) == ""


def _refusal(inventory: Inventory, gateway: Manifest, listener: Mapping[str, Any], route: Route) -> str:
    """Why the listener refuses the route, or '' when it admits it."""
    name = listener.get("name")
    allowed = listener.get("allowedRoutes") or {}
    namespaces = allowed.get("namespaces") or {}
    source = namespaces.get("from", "Same")
    if source == "Same" and route.namespace != gateway.namespace:
        return f"listener {name} admits routes from its own namespace {gateway.namespace} only"
    if source == "Selector":
        selector = (namespaces.get("selector") or {}).get("matchLabels") or {}
        namespace = inventory.get("Namespace", None, route.namespace)
        labels = {"kubernetes.io/metadata.name": route.namespace}
        labels.update(((namespace.obj.get("metadata") or {}).get("labels") or {}) if namespace else {})
        if any(labels.get(k) != v for k, v in selector.items()):
            return f"listener {name} admits namespaces labelled {selector}, and {route.namespace} is not"
    kinds = [str(k.get("kind")) for k in allowed.get("kinds") or [] if isinstance(k, dict)]
    if kinds and route.kind not in kinds:
        return f"listener {name} admits kinds {kinds}, not {route.kind}"
    hostname = listener.get("hostname")
    if hostname and route.hostnames and not any(_hostnames_intersect(str(hostname), h) for h in route.hostnames):
        return f"listener {name} serves {hostname}, which matches none of the route's hostnames {route.hostnames}"
    return ""


def _hostnames_intersect(listener: str, route: str) -> bool:
    return _covers(listener, route) or _covers(route, listener) or listener == route


def covers(pattern: str, hostname: str) -> bool:
    """Whether a certificate or listener name covers a hostname: `*.d` covers `x.d`, never `x.y.d` or `d`."""
    return _covers(pattern, hostname)


def _covers(pattern: str, hostname: str) -> bool:
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
        serving = [item for item in secure if not item.get("hostname") or _covers(str(item["hostname"]), hostname)]
        problems: list[str] = []
        for listener in serving:
            names, problem = _certificate_names(inventory, gateway, listener)
            if problem:
                problems.append(problem)
            elif any(_covers(name, hostname) for name in names):
                break
            else:
                problems.append(
                    f"listener {listener.get('name')} presents a certificate for {', '.join(names) or 'no name'}"
                )
        else:
            detail = "; ".join(problems) or "no HTTPS listener it attaches to serves that name"
            if PLACEHOLDER_PREFIX in detail and PLACEHOLDER_PREFIX not in hostname:
                # The certificate's names come from a SOPS-encrypted variable whose value is unknown here.
                yield Finding(
                    route.origin.file,
                    "link-tls-certificate",
                    _route_label(route),
                    f"cannot tell whether a certificate covers {hostname}: {detail}, names built from a "
                    f"SOPS-encrypted variable. Pass --vars with its real value to check it",
                    severity=Severity.WARNING,
                )
                continue
            yield Finding(
                route.origin.file,
                "link-tls-certificate",
                _route_label(route),
                f"hostname {hostname} is not covered by a certificate its listener presents: {detail}. A wildcard "
                f"covers one label only: *.opencode.<domain> covers flux.opencode.<domain>, *.<domain> does not",
            )


def _certificate_names(
    inventory: Inventory, gateway: Manifest, listener: Mapping[str, Any]
) -> tuple[list[str], str | None]:
    refs = [r for r in ((listener.get("tls") or {}).get("certificateRefs") or []) if isinstance(r, dict)]
    if not refs:
        return [], f"listener {listener.get('name')} has no tls.certificateRefs"
    names: list[str] = []
    for ref in refs:
        namespace = str(ref.get("namespace") or gateway.namespace)
        secret = str(ref.get("name"))
        certificates = [
            m
            for m in inventory.of_kind("Certificate")
            if m.namespace == namespace and (m.obj.get("spec") or {}).get("secretName") == secret
        ]
        if not certificates:
            return [], (
                f"listener {listener.get('name')} presents Secret {namespace}/{secret}, which no Certificate in "
                f"{namespace} writes (spec.secretName)"
            )
        for certificate in certificates:
            spec = certificate.obj.get("spec") or {}
            names.extend(str(n) for n in spec.get("dnsNames") or [])
            if spec.get("commonName"):
                names.append(str(spec["commonName"]))
    return names, None


# --- Envoy Gateway policy targets --------------------------------------------------------------------------------


def _traffic_policy_targets(inventory: Inventory, tree: list[Manifest]) -> Iterator[Finding]:
    for policy in (m for m in tree if m.kind == "BackendTrafficPolicy"):
        spec = policy.obj.get("spec") or {}
        namespace = policy.namespace
        routes_here = [r for r in inventory.routes if r.namespace == namespace]
        known = ", ".join(sorted(r.name for r in routes_here)) or "none"
        for ref in [*(spec.get("targetRefs") or []), *([spec["targetRef"]] if spec.get("targetRef") else [])]:
            kind, name = str(ref.get("kind")), str(ref.get("name"))
            if kind in ("HTTPRoute", "GRPCRoute"):
                if not any(r.name == name and r.kind == kind for r in routes_here):
                    yield Finding(
                        policy.file,
                        "link-traffic-policy-target",
                        policy.ref,
                        f"targetRefs names {kind} {name}, which nothing creates in {namespace} (routes there: "
                        f"{known}). app-template names a release's only route <release> and several "
                        f"<release>-<identifier>; or target by label with targetSelectors",
                    )
            elif kind == "Gateway" and inventory.get("Gateway", namespace, name) is None:
                yield Finding(
                    policy.file,
                    "link-traffic-policy-target",
                    policy.ref,
                    f"targetRefs names Gateway {namespace}/{name}, which does not exist",
                )
        for selector in spec.get("targetSelectors") or []:
            labels = selector.get("matchLabels") or {}
            kind = str(selector.get("kind"))
            if kind == "Gateway":
                # A selector without labels selects every Gateway of the namespace (a gateway-wide policy).
                gateways = [g for g in inventory.of_kind("Gateway") if g.namespace == namespace]
                if not any(_labels_match(g, labels) for g in gateways):
                    yield Finding(
                        policy.file,
                        "link-traffic-policy-target",
                        policy.ref,
                        f"targetSelectors Gateway with labels {labels} matches no Gateway in {namespace}",
                    )
                continue
            if not any(r.kind == kind and all(r.labels.get(k) == v for k, v in labels.items()) for r in routes_here):
                yield Finding(
                    policy.file,
                    "link-traffic-policy-target",
                    policy.ref,
                    f"targetSelectors {kind} with labels {labels} matches no route in {namespace} (routes there: "
                    f"{known})",
                )


def _labels_match(manifest: Manifest, labels: Mapping[str, Any]) -> bool:
    own = (manifest.obj.get("metadata") or {}).get("labels") or {}
    return all(own.get(k) == v for k, v in labels.items())


def policy_targets(inventory: Inventory, route: Route) -> list[Manifest]:
    """The BackendTrafficPolicies that target this route by name or by label."""
    found: list[Manifest] = []
    for policy in inventory.of_kind("BackendTrafficPolicy"):
        if policy.namespace != route.namespace:
            continue
        spec = policy.obj.get("spec") or {}
        refs = [*(spec.get("targetRefs") or []), *([spec["targetRef"]] if spec.get("targetRef") else [])]
        by_name = any(r.get("kind") == route.kind and r.get("name") == route.name for r in refs)
        by_label = any(
            s.get("kind") == route.kind
            and all(route.labels.get(k) == v for k, v in (s.get("matchLabels") or {}).items())
            for s in spec.get("targetSelectors") or []
        )
        if by_name or by_label:
            found.append(policy)
    return found


# --- What pods read ----------------------------------------------------------------------------------------------


def secret_keys(inventory: Inventory, namespace: str | None, name: str) -> tuple[Manifest | None, set[str] | None]:
    """The producer of a Secret and the keys it will hold (None when they cannot be known offline)."""
    for external in inventory.of_kind("ExternalSecret"):
        spec = external.obj.get("spec") or {}
        target = spec.get("target") or {}
        if external.namespace != namespace or str(target.get("name") or external.name) != name:
            continue
        template = target.get("template") or {}
        if template.get("templateFrom") or (spec.get("dataFrom") and not template.get("data")):
            return external, None
        if template.get("data"):
            return external, {str(k) for k in template["data"]}
        return external, {str(d.get("secretKey")) for d in spec.get("data") or [] if isinstance(d, dict)}
    secret = inventory.get("Secret", namespace, name)
    if secret is not None:
        return secret, {str(k) for k in [*(secret.obj.get("data") or {}), *(secret.obj.get("stringData") or {})]}
    for certificate in inventory.of_kind("Certificate"):  # cert-manager writes the key pair to spec.secretName
        if certificate.namespace == namespace and (certificate.obj.get("spec") or {}).get("secretName") == name:
            return certificate, {"tls.crt", "tls.key", "ca.crt"}
    return None, None


def _pod_reads(inventory: Inventory) -> Iterator[Finding]:
    for release in inventory.releases:
        helmrelease = release.helmrelease
        namespace = helmrelease.namespace
        for pod in release.pods:
            for kind, name, key, where in pod.reads:
                subject = f"{helmrelease.ref} controller {pod.controller.identifier}"
                if kind == "Secret":
                    producer, keys = secret_keys(inventory, namespace, name)
                    if producer is None:
                        yield Finding(
                            helmrelease.file,
                            "link-secret-ref",
                            subject,
                            f"{where} reads Secret {name}, which no ExternalSecret in {namespace} produces "
                            f"(spec.target.name) and the tree does not create: the pod would stay in "
                            f"CreateContainerConfigError. Fix the name or add the ExternalSecret",
                        )
                    elif key is not None and keys is not None and key not in keys:
                        yield Finding(
                            helmrelease.file,
                            "link-secret-ref",
                            subject,
                            f"{where} reads key {key} of Secret {name}, but {producer.ref} gives it only "
                            f"{', '.join(sorted(keys)) or 'no keys'}: add {key} to its target.template.data (or "
                            f"data[].secretKey), or read an existing key",
                        )
                else:
                    configmap = inventory.get("ConfigMap", namespace, name)
                    data_keys = set((configmap.obj.get("data") or {}) if configmap else {})
                    data_keys |= set((configmap.obj.get("binaryData") or {}) if configmap else {})
                    if configmap is None:
                        yield Finding(
                            helmrelease.file,
                            "link-configmap",
                            subject,
                            f"{where} reads ConfigMap {name}, which the tree does not create in {namespace}: fix the "
                            f"name or add the ConfigMap (e.g. a configMapGenerator)",
                        )
                    elif key is not None and key not in data_keys:
                        yield Finding(
                            helmrelease.file,
                            "link-configmap",
                            subject,
                            f"{where} reads key {key} of ConfigMap {name}, which has only "
                            f"{', '.join(sorted(data_keys))}",
                        )


def _claims(inventory: Inventory) -> Iterator[Finding]:
    for release in inventory.releases:
        helmrelease = release.helmrelease
        values = (helmrelease.obj.get("spec") or {}).get("values") or {}
        for volume in app_template.volumes(values).values():
            if volume.type != "persistentVolumeClaim" or not volume.source:
                continue
            if inventory.get("PersistentVolumeClaim", helmrelease.namespace, volume.source) is None:
                claims = ", ".join(m.name for m in inventory.of_kind("PersistentVolumeClaim")) or "none"
                yield Finding(
                    helmrelease.file,
                    "link-pvc",
                    helmrelease.ref,
                    f"persistence.{volume.identifier}.existingClaim {volume.source} is not a PVC the tree creates in "
                    f"{helmrelease.namespace} (PVCs: {claims}): the pod would stay Pending",
                )


# --- Flux, external-secrets, cert-manager references -------------------------------------------------------------


def _chart_refs(inventory: Inventory, tree: list[Manifest]) -> Iterator[Finding]:
    for helmrelease in (m for m in tree if m.kind == "HelmRelease"):
        ref = (helmrelease.obj.get("spec") or {}).get("chartRef")
        if not isinstance(ref, dict):
            continue
        kind = str(ref.get("kind"))
        namespace = str(ref.get("namespace") or helmrelease.namespace)
        if inventory.get(kind, namespace, str(ref.get("name"))) is None:
            known = ", ".join(m.name for m in inventory.of_kind(kind) if m.namespace == namespace) or "none"
            yield Finding(
                helmrelease.file,
                "link-chart-ref",
                helmrelease.ref,
                f"chartRef names {kind} {namespace}/{ref.get('name')}, which the tree does not create ({kind}s in "
                f"{namespace}: {known})",
            )


def _depends_on(
    inventory: Inventory, kustomizations: list[FluxKustomization], host: HostCluster, tree: list[Manifest]
) -> Iterator[Finding]:
    known = {(ks.namespace, ks.name) for ks in kustomizations} | {("flux-system", n) for n in host.kustomizations}
    for ks in kustomizations:
        for ks_namespace, name in ks.depends_on_refs:
            if (ks_namespace, name) not in known:
                hint = f" Host Kustomizations: {', '.join(sorted(host.kustomizations))}" if host.kustomizations else ""
                yield Finding(
                    str(ks.source_file),
                    "link-depends-on",
                    f"Kustomization/{ks.namespace}/{ks.name}",
                    f"dependsOn {ks_namespace}/{name}: no Flux Kustomization of that name and namespace in the graph"
                    f"{' or the host cluster' if host.kustomizations else ''}, so this one would wait forever.{hint}",
                )
    for helmrelease in (m for m in tree if m.kind == "HelmRelease"):
        for dependency in (helmrelease.obj.get("spec") or {}).get("dependsOn") or []:
            namespace = dependency.get("namespace") or helmrelease.namespace
            if inventory.get("HelmRelease", namespace, str(dependency.get("name"))) is None:
                yield Finding(
                    helmrelease.file,
                    "link-depends-on",
                    helmrelease.ref,
                    f"dependsOn HelmRelease {namespace}/{dependency.get('name')}, which the tree does not create",
                )


def _stores_and_issuers(inventory: Inventory, tree: list[Manifest], host: HostCluster) -> Iterator[Finding]:
    described = host.repository is not None  # only a described cluster has stores and issuers to suggest
    for manifest in tree:
        spec = manifest.obj.get("spec") or {}
        if manifest.kind == "ExternalSecret":
            ref = spec.get("secretStoreRef")
            if not isinstance(ref, dict):
                continue  # optional: data and dataFrom entries may name their own store or a generator
            kind = str(ref.get("kind", "SecretStore"))
            namespace = None if kind == "ClusterSecretStore" else manifest.namespace
            if inventory.get(kind, namespace, str(ref.get("name"))) is None:
                yield Finding(
                    manifest.file,
                    "link-secret-store",
                    manifest.ref,
                    f"secretStoreRef names {kind} {ref.get('name')}, which does not exist"
                    + (" (the host's store is ClusterSecretStore doppler-secrets)" if described else ""),
                )
    for manifest in inventory.of_kind("Certificate"):
        ref = (manifest.obj.get("spec") or {}).get("issuerRef") or {}
        kind = str(ref.get("kind", "Issuer"))
        namespace = None if kind == "ClusterIssuer" else manifest.namespace
        if inventory.get(kind, namespace, str(ref.get("name"))) is None:
            yield Finding(
                manifest.file,
                "link-issuer",
                manifest.ref,
                f"issuerRef names {kind} {ref.get('name')}, which does not exist"
                + (" (the host's issuer is ClusterIssuer letsencrypt-production)" if described else ""),
            )


def _route_backends(inventory: Inventory) -> Iterator[Finding]:
    for release in inventory.releases:
        values = (release.helmrelease.obj.get("spec") or {}).get("values") or {}
        services = set((values.get("service") or {}).keys())
        for route in release.routes:
            for rule in route.rules:
                for backend in rule.get("backendRefs") or []:
                    identifier = backend.get("identifier") if isinstance(backend, dict) else None
                    if identifier is not None and identifier not in services:
                        yield Finding(
                            release.helmrelease.file,
                            "link-route-backend",
                            _route_label(route),
                            f"backendRefs identifier {identifier!r} names no service of the release (services: "
                            f"{', '.join(sorted(services)) or 'none'})",
                        )

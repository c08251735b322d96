"""The workspace's CiliumNetworkPolicy: it selects the pod app-template renders, lets only the gateway's pods in (to
the ports the workspace's Service sends to), and lets the pod out only to DNS and to the internet on 443 and 22.

An in-cluster destination (a Service the agent should reach) is the user's decision: the workspace's ks.yaml adds
it with a `patches` entry for the policy (docs/security.md); only then does the rule accept egress beyond those two.
Cilium semantics: a policy with an ingress (egress) section denies every other ingress (egress) of the endpoints it
selects, and several policies selecting one endpoint allow the union of what they allow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ocw.check.workspace_view import RenderedWorkspace
from ocw.findings import Finding
from ocw.flux.build import Manifest

RULE = "network-policy"
KIND = "CiliumNetworkPolicy"
NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
DNS = {"k8s-app": "kube-dns", NAMESPACE_LABEL: "kube-system"}
INTERNET_ENTITIES = frozenset({"world", "world-ipv4", "world-ipv6"})
INTERNET_PORTS = frozenset({"443", "22"})
DNS_PORTS = frozenset({("53", "UDP"), ("53", "TCP")})
COMPONENT_FILE = "the component's networkpolicy.yaml"


def _labels(selector: Mapping[str, Any]) -> dict[str, str]:
    """matchLabels without Cilium's source prefixes (`k8s:`, `any:`)."""
    return {str(k).split(":", 1)[-1]: str(v) for k, v in (selector.get("matchLabels") or {}).items()}


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a Kubernetes label selector (matchLabels and matchExpressions) selects these labels."""
    if any(labels.get(key) != value for key, value in _labels(selector).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key = str(expression.get("key", "")).split(":", 1)[-1]
        operator, values = expression.get("operator"), [str(v) for v in expression.get("values") or []]
        present = key in labels
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if (operator == "Exists") != present and operator in ("Exists", "DoesNotExist"):
            return False
    return True


def _ports(rule: Mapping[str, Any]) -> set[tuple[str, str]] | None:
    """(port, protocol) pairs a rule's toPorts allow; None when it allows every port."""
    entries = rule.get("toPorts")
    if not entries:
        return None
    found: set[tuple[str, str]] = set()
    for entry in entries:
        for port in entry.get("ports") or []:
            found.add((str(port.get("port", "0")), str(port.get("protocol") or "ANY").upper()))
        if not entry.get("ports"):
            return None
    return found


def _specs(policy: Manifest) -> list[Mapping[str, Any]]:
    spec = policy.obj.get("spec")
    return [s for s in [spec, *(policy.obj.get("specs") or [])] if isinstance(s, Mapping)]


def _gateway_labels(view: RenderedWorkspace) -> list[dict[str, str]]:
    """The labels of the gateway pods the route attaches to (Envoy Gateway labels them with the Gateway's name)."""
    return [
        {
            "app.kubernetes.io/name": "envoy",
            "gateway.envoyproxy.io/owning-gateway-name": str(ref.get("name")),
            NAMESPACE_LABEL: str(ref.get("namespace") or view.namespace),
        }
        for rendered in view.routes
        for ref in rendered.parent_refs
    ]


def _ingress_problem(rule: Mapping[str, Any], view: RenderedWorkspace) -> str | None:
    if set(rule) - {"fromEndpoints", "toPorts"} or not rule.get("fromEndpoints"):
        others = sorted(set(rule) - {"toPorts"})
        return f"lets in {', '.join(others) or 'every source'}, not only the gateway's pods"
    gateways = _gateway_labels(view)
    for source in rule["fromEndpoints"]:
        if not any(all(_labels(source).get(k) == v for k, v in gateway.items()) for gateway in gateways):
            expected = gateways[0] if gateways else {}
            return f"lets in pods labelled {_labels(source)}, not only the gateway's ({expected})"
    ports = _ports(rule)
    allowed = {(str(p), "TCP") for p in view.ports}
    if ports is None or not ports <= allowed:
        shown = "every port" if ports is None else ", ".join(sorted(f"{p}/{proto}" for p, proto in ports))
        return f"opens {shown}; the workspace serves on {', '.join(f'{p}/TCP' for p in view.ports)} only"
    return None


def _egress_problem(rule: Mapping[str, Any]) -> tuple[str, bool] | None:
    """What is wrong with an egress rule, and whether it is an in-cluster destination (a ks.yaml may add those)."""
    ports = _ports(rule)
    shown = "every port" if ports is None else ", ".join(sorted(f"{p}/{proto}" for p, proto in ports))
    targets = rule.get("toEndpoints") or []
    if set(rule) == {"toEndpoints", "toPorts"} and all(_labels(t).items() >= DNS.items() for t in targets):
        return None if ports is not None and ports <= DNS_PORTS else (f"lets DNS traffic out on {shown}", False)
    internet = set(rule) == {"toEntities", "toPorts"} and set(rule["toEntities"]) <= INTERNET_ENTITIES
    if internet or set(rule) == {"toFQDNs", "toPorts"}:
        if ports is not None and {p for p, _ in ports} <= INTERNET_PORTS and {proto for _, proto in ports} == {"TCP"}:
            return None
        return f"lets the pod reach the internet on {shown}, not only 443/TCP and 22/TCP", False
    where = "; ".join(f"{key}: {rule[key]}" for key in sorted(rule) if key != "toPorts")
    return f"lets the pod reach {where} on {shown}", True


def _patched_by_ks(view: RenderedWorkspace) -> bool:
    """The workspace's ks.yaml patches the policy: the destinations it adds are the user's own."""
    return any(
        (patch.get("target") or {}).get("kind") == KIND
        for patch in view.kustomization.spec.get("patches") or []
        if isinstance(patch, Mapping)
    )


def check_network_policy(view: RenderedWorkspace) -> Iterator[Finding]:
    policies = [m for m in view.manifests if m.kind == KIND and (m.namespace or view.namespace) == view.namespace]

    def finding(policy: Manifest | None, message: str) -> Finding:
        file, ref = (policy.file, policy.ref) if policy else (view.helmrelease.file, view.helmrelease.ref)
        return Finding(file, RULE, ref, message)

    selecting = []
    for policy in policies:
        specs = _specs(policy)
        if all(selects(s.get("endpointSelector") or {}, view.pod_labels) for s in specs):
            selecting.append(policy)
        else:
            wanted = {k: v for k, v in view.pod_labels.items() if k != "app.kubernetes.io/controller"}
            yield finding(
                policy,
                f"its endpointSelector {[dict(s.get('endpointSelector') or {}) for s in specs]} does not select the "
                f"workspace pod, whose labels are {view.pod_labels}: select it with matchLabels {wanted}",
            )
    if not selecting:
        yield finding(
            None,
            f"no {KIND} selects the workspace pod ({view.pod_labels}): any pod of the cluster can reach OpenCode "
            f"without the gateway's Origin gate, and the agent can reach every in-cluster service; add "
            f"{COMPONENT_FILE}",
        )
        return
    rules = [(policy, spec) for policy in selecting for spec in _specs(policy)]
    if not any("ingress" in spec or "ingressDeny" in spec for _, spec in rules):
        yield finding(selecting[0], "no ingress section: every pod of the cluster can reach OpenCode directly")
    if not any("egress" in spec or "egressDeny" in spec for _, spec in rules):
        yield finding(selecting[0], "no egress section: the agent can reach every in-cluster service")
    patched = _patched_by_ks(view)
    for owner, spec in rules:
        for index, rule in enumerate(spec.get("ingress") or []):
            if (problem := _ingress_problem(rule, view)) is not None:
                yield finding(owner, f"ingress[{index}] {problem}: let in only the gateway's pods ({COMPONENT_FILE})")
        for index, rule in enumerate(spec.get("egress") or []):
            found = _egress_problem(rule)
            if found is None or (found[1] and patched):
                continue
            problem, in_cluster = found
            fix = (
                f"a destination the component does not allow: add one the workspace needs with a patch for the "
                f"policy in {view.kustomization.source_file} (docs/security.md)"
                if in_cluster
                else "allow DNS to kube-dns on 53 and the internet (toEntities: [world]) on 443/TCP and 22/TCP"
            )
            yield finding(owner, f"egress[{index}] {problem}: {fix}")

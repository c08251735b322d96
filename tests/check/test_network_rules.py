"""origin-gate and network-policy, shown failing on a copy of the real tree broken one way at a time, and passing
where the tree allows what the user decided (an in-cluster destination named in the workspace's ks.yaml)."""

from __future__ import annotations

import pytest

from check.tree_copy import COMPONENT, FLUX_KS, HELMRELEASE, TreeCopy, assert_broken, errors
from ocw.schemas.values_amendments import amend

FILTER = f"{COMPONENT}/httproutefilter.yaml"
POLICY = f"{COMPONENT}/networkpolicy.yaml"
KUSTOMIZATION = f"{COMPONENT}/kustomization.yaml"
REFUSE_RULE = """          - matches:
              - headers:
                  - name: Origin
                    type: RegularExpression
                    value: ".*"
            filters:
              - type: ExtensionRef
                extensionRef:
                  group: gateway.envoyproxy.io
                  kind: HTTPRouteFilter
                  name: ${APP}-foreign-origin
"""
OWN_ORIGIN = "value: https://${WORKSPACE_HOST}.opencode.${SECRET_DOMAIN}"

Edit = tuple[str, str, str]
CASES: list[tuple[str, list[Edit], str]] = [
    # No refusing rule: a sibling host's page reaches OpenCode through the catch-all backend rule.
    (
        "origin-gate",
        [(HELMRELEASE, REFUSE_RULE, "")],
        "from a page of another host of the same site (Origin: https://other.opencode.example.com) reaches OpenCode",
    ),
    # The refusing rule first: rule order breaks the tie with the own-Origin rule, so the UI itself is refused.
    (
        "origin-gate",
        [
            (HELMRELEASE, REFUSE_RULE, ""),
            (
                HELMRELEASE,
                "          - matches:\n              - headers:",
                REFUSE_RULE + "          - matches:\n              - headers:",
            ),
        ],
        "from the workspace's own pages (Origin: https://flux.opencode.example.com) gets HTTP 403",
    ),
    ("origin-gate", [(HELMRELEASE, OWN_ORIGIN, OWN_ORIGIN.replace("https:", "http:"))], "over plain HTTP"),
    ("origin-gate", [(HELMRELEASE, 'value: ".*"', 'value: "https://attacker.*"')], "reaches OpenCode"),
    ("origin-gate", [(FILTER, "statusCode: 403", "statusCode: 200")], "gets HTTP 200, not 403"),
    # The filter the route names is not in the tree: the rule answers 500 (and link checks fail to name it).
    ("origin-gate", [(KUSTOMIZATION, "  - ./httproutefilter.yaml\n", "")], "gets HTTP 500, not 403"),
    ("network-policy", [(KUSTOMIZATION, "  - ./networkpolicy.yaml\n", "")], "no CiliumNetworkPolicy selects"),
    (
        "network-policy",
        [(POLICY, "      app.kubernetes.io/name: ${APP}\n", "      app.kubernetes.io/name: opencode\n")],
        "does not select the workspace pod",
    ),
    (
        "network-policy",
        [(POLICY, "owning-gateway-name: envoy-internal", "owning-gateway-name: envoy-external")],
        "not only the gateway's",
    ),
    ("network-policy", [(POLICY, 'port: "4096"', 'port: "8080"')], "opens 8080/TCP"),
    (
        "network-policy",
        [
            (
                POLICY,
                '            - port: "22"\n',
                '            - port: "22"\n              protocol: TCP\n            - port: "80"\n',
            )
        ],
        "internet on 22/TCP, 443/TCP, 80/TCP",
    ),
    ("network-policy", [(POLICY, "        - world\n", "        - cluster\n")], "a destination the component does"),
    # The Cilium CRD schema (vendored) validates the policy.
    ("schema-crd", [(POLICY, "protocol: UDP", "protocol: QUIC")], "QUIC"),
]


@pytest.mark.parametrize(
    ("rule", "edits", "expected"), CASES, ids=[f"{rule}-{index}" for index, (rule, _, _) in enumerate(CASES)]
)
def test_a_broken_tree_fails_with_the_rule(tree: TreeCopy, rule: str, edits: list[Edit], expected: str) -> None:
    assert_broken(tree, rule, edits, expected)


def test_a_policy_without_egress_lets_the_agent_reach_the_cluster(tree: TreeCopy) -> None:
    text = tree.text(POLICY)
    tree.write(POLICY, text[: text.index("  egress:\n")])
    found = errors(tree.check(), "network-policy")
    assert any("no egress section" in f.message for f in found), [f.message for f in found]


def test_an_in_cluster_destination_named_in_ks_yaml_passes(tree: TreeCopy) -> None:
    """The user's decision, written where the user decides per workspace: a patch for the policy in ks.yaml."""
    patch = """  patches:
    - target:
        kind: CiliumNetworkPolicy
      patch: |-
        - op: add
          path: /spec/egress/-
          value:
            toEndpoints:
              - matchLabels:
                  app.kubernetes.io/name: litellm
                  io.kubernetes.pod.namespace: ai
            toPorts:
              - ports:
                  - port: "4000"
                    protocol: TCP
"""
    tree.replace(POLICY, "        - world\n", "        - cluster\n")
    assert errors(tree.check(), "network-policy")
    tree.replace(FLUX_KS, "  postBuild:\n", patch + "  postBuild:\n")
    report = tree.check()
    assert not [f for f in errors(report, "network-policy") if "opencode-flux" in f.object], report.to_text()
    assert [f for f in errors(report, "network-policy") if "opencode-ha" in f.object]  # not patched there


def test_the_tree_passes_both_rules(tree: TreeCopy) -> None:
    report = tree.check()
    assert not errors(report, "origin-gate") and not errors(report, "network-policy"), report.to_text()


def test_route_header_matches_are_amended_only_into_values_schemas_older_than_4_3() -> None:
    def route_schema() -> dict[str, object]:
        rule = {"type": "object", "properties": {"matches": {"items": {"properties": {"path": {}}}}}}
        return {"instance": {"allOf": [{}, {"properties": {"rules": {"items": rule}}}]}}

    old = amend("route.json", route_schema(), "app-template-common-4.1.1")
    matches = old["instance"]["allOf"][1]["properties"]["rules"]["items"]["properties"]["matches"]
    assert {"headers", "queryParams", "method", "path"} <= set(matches["items"]["properties"])
    assert amend("route.json", route_schema(), "app-template-common-4.3.0") == route_schema()
    assert amend("pod.json", route_schema(), "app-template-common-4.1.1") == route_schema()


def test_every_route_of_a_workspace_is_asked(tree: TreeCopy) -> None:
    """A second route (another hostname for the same workspace) without the gate is reported on its own."""
    alias = """    route:
      alias:
        hostnames:
          - ${WORKSPACE_HOST}-alias.opencode.${SECRET_DOMAIN}
        parentRefs:
          - name: envoy-internal
            namespace: network
            sectionName: https-opencode
        rules:
          - backendRefs:
              - identifier: app
                port: 4096
"""
    tree.replace(HELMRELEASE, "    route:\n", alias)  # the alias route comes first, the app route follows
    found = [f.message for f in errors(tree.check(), "origin-gate")]
    assert any("route.alias.rules" in m and "flux-alias.opencode.example.com" in m for m in found), found
    assert not any("route.app.rules" in m for m in found), found

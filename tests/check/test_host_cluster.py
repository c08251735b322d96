"""The host cluster description and its install steps; a repository that builds the host's apps itself wins."""

from __future__ import annotations

from check.tree_copy import TreeCopy, errors
from ocw.check import run_check
from ocw.install.host import load_host

GATEWAY_APP = "kubernetes/apps/network/envoy-gateway"
ENVOY_KS = """---
# yaml-language-server: $schema=https://raw.githubusercontent.com/fluxcd-community/flux2-schemas/main/kustomization-kustomize-v1.json
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: envoy-gateway
  namespace: flux-system
spec:
  targetNamespace: network
  path: ./kubernetes/apps/network/envoy-gateway/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: home-kubernetes
  interval: 30m
  # What the cluster's root Kustomization patches into every app: substitution from the cluster's variables.
  postBuild:
    substituteFrom:
      - {kind: ConfigMap, name: cluster-settings, optional: true}
"""
ENVOY_GATEWAY = """---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: envoy-internal
spec:
  gatewayClassName: envoy
  listeners:
    - name: https
      protocol: HTTPS
      port: 443
      allowedRoutes:
        namespaces:
          from: All
      tls:
        certificateRefs:
          - kind: Secret
            name: ${SECRET_DOMAIN/./-}-production-tls
"""
KUSTOMIZATION_HEAD = """---
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./envoy.yaml
"""
WITH_PATCH = """patches:
  - path: ./opencode-listener.yaml
    target: {group: gateway.networking.k8s.io, kind: Gateway, name: envoy-internal}
"""


def _cluster_repository_gateway_app(tree: TreeCopy, *, includes_patch: bool) -> None:
    tree.write(f"{GATEWAY_APP}/ks.yaml", ENVOY_KS)
    tree.write(f"{GATEWAY_APP}/app/envoy.yaml", ENVOY_GATEWAY)
    tree.write(f"{GATEWAY_APP}/app/kustomization.yaml", KUSTOMIZATION_HEAD + (WITH_PATCH if includes_patch else ""))


def test_the_repositorys_own_gateway_wins_over_the_description(tree: TreeCopy) -> None:
    _cluster_repository_gateway_app(tree, includes_patch=False)
    report = tree.check()
    found = errors(report, "link-gateway-listener")
    assert found
    assert "(its listeners: https)" in found[0].message  # the repository's Gateway, not the description's


def test_a_repository_gateway_that_includes_the_patch_passes(tree: TreeCopy) -> None:
    _cluster_repository_gateway_app(tree, includes_patch=True)
    report = tree.check()
    assert not errors(report, "link-gateway-listener")
    assert not errors(report, "host-install")


def test_the_description_names_the_contracts_objects() -> None:
    host = load_host()
    kinds = {(obj["kind"], obj["metadata"]["name"]) for _, obj in host.objects}
    assert {("Gateway", "envoy-internal"), ("Gateway", "envoy-external")} <= kinds
    assert {("ClusterSecretStore", "doppler-secrets"), ("ClusterIssuer", "letsencrypt-production")} <= kinds
    assert {"external-secrets-stores", "rook-ceph-cluster", "volsync", "certificates-import"} <= set(
        host.kustomizations
    )
    assert {step.mode for step in host.install} == {"resource", "json6902"}


def test_the_description_applies_to_its_cluster_and_to_the_tree_on_its_own_only(tree: TreeCopy) -> None:
    """Installed into another cluster's repository (its bootstrap names another URL), the workspaces' references to
    the described cluster's store, issuer and gateway have nothing to point at; --host applies the description."""
    on_its_own = run_check(tree.root)
    assert on_its_own.host == "https://github.com/jbaker48/k8s-cluster"
    tree.write("kubernetes/flux/config/cluster.yaml", OTHER_CLUSTER)
    tree.write("kubernetes/flux/apps.yaml", OTHER_APPS)
    elsewhere = run_check(tree.root)
    assert elsewhere.host is None
    assert "secretStoreRef names ClusterSecretStore doppler-secrets, which does not exist" in [
        f.message for f in errors(elsewhere, "link-secret-store")
    ]
    described = tree.check()  # --host src/ocw/data/host-cluster.yaml
    assert described.host == "https://github.com/jbaker48/k8s-cluster"
    assert not errors(described, "link-secret-store")


OTHER_CLUSTER = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: home, namespace: flux-system}
spec: {interval: 1h, url: "https://github.com/example/another-cluster", ref: {branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cluster, namespace: flux-system}
spec: {interval: 1h, path: ./kubernetes/flux, prune: true, sourceRef: {kind: GitRepository, name: home}}
"""
OTHER_APPS = """---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 1h, path: ./kubernetes/apps/opencode, prune: true, sourceRef: {kind: GitRepository, name: home}}
"""

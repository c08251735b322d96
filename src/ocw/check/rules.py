"""Every rule `ocw check` reports, by stable id, with a one-line summary (docs/check-rules.md has the details)."""

from __future__ import annotations

from dataclasses import dataclass, replace

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Rule:
    id: str
    family: str  # build, schema, link, policy
    summary: str
    # "workspace": the project's own policy, applied only to the workspace apps and the files installed with them;
    # "repository": predicts a failed reconcile (or a leaked secret), applied to the whole repository.
    scope: str = "repository"

    @property
    def workspace_only(self) -> bool:
        return self.scope == WORKSPACE


_RULES = (
    # What the core reports while building the tree.
    Rule("tree-layout", "build", "kubernetes/apps exists"),
    Rule("flux-bootstrap", "build", "Flux's entry point (bootstrap) is in the repository"),
    Rule("flux-source", "build", "a Kustomization's sourceRef is this repository, so it can be followed"),
    Rule("flux-path", "build", "a Flux Kustomization's spec.path is a folder of its source"),
    Rule("flux-unreached", "build", "every Flux Kustomization in the repository is deployed by the graph"),
    Rule("flux-duplicate", "build", "no object is applied by two Flux Kustomizations"),
    Rule("flux-decryption", "build", "a SOPS-encrypted object is built by a Kustomization with spec.decryption"),
    Rule("flux-namespace", "build", "a namespaced object gets a namespace"),
    Rule("kustomize-build", "build", "kubectl kustomize builds the Kustomization's path"),
    Rule("flux-substitution", "build", "every ${...} expression is one Flux can substitute"),
    Rule("flux-undefined-variable", "build", "every substituted variable is defined (Flux would use '')"),
    Rule("yaml-strict", "build", "every YAML file under kubernetes/ parses, without duplicate keys"),
    Rule("host-install", "build", "the files the user installs into host apps exist and apply"),
    # What Helm renders from the HelmReleases.
    Rule("helm-chart", "build", "each HelmRelease's chart is available offline in the version it asks for"),
    Rule("helm-values", "build", "each valuesFrom entry names a ConfigMap or Secret (and key) the tree creates"),
    Rule("helm-render", "build", "helm template renders the chart with the release's values"),
    # Schemas.
    Rule("schema-core", "schema", "core Kubernetes objects match the Kubernetes schema (unknown fields are errors)"),
    Rule("schema-crd", "schema", "custom resources match their CRD schema"),
    Rule("schema-values", "schema", "app-template HelmRelease values match the bjw-s common values schema"),
    Rule("schema-pod", "schema", "the workloads a chart renders (containers, volumes, pod) match the core schemas"),
    Rule("schema-missing", "schema", "a schema needed for validation is available"),
    # Cross references.
    Rule("link-gateway-listener", "link", "a route's parentRef names a Gateway listener that admits it"),
    Rule("link-tls-certificate", "link", "every route hostname is covered by the certificate its listener presents"),
    Rule("link-traffic-policy-target", "link", "a BackendTrafficPolicy targets routes that really exist"),
    Rule("link-secret-ref", "link", "every Secret name and key a pod reads is produced by an ExternalSecret"),
    Rule("link-pvc", "link", "every claim a rendered pod mounts is a PVC the tree (or the chart) creates"),
    Rule("link-configmap", "link", "every configMap volume names a ConfigMap the tree creates"),
    Rule("link-chart-ref", "link", "a HelmRelease chartRef names an OCIRepository in its namespace"),
    Rule("link-depends-on", "link", "dependsOn names a Flux Kustomization of the tree or the host"),
    Rule("link-secret-store", "link", "an ExternalSecret's store exists"),
    Rule("link-issuer", "link", "a Certificate's issuer exists"),
    Rule("link-route-backend", "link", "a route's backendRefs name a Service that exists in its namespace"),
    # Project policy.
    Rule("sec01-secret-in-manifest", "policy", "no token, PAT or auth.json content in the tree"),
    Rule("sec03-init-script", "policy", "no xtrace and no credential inside a URL in scripts and container args"),
    Rule("flux-script-substitution", "policy", "scripts in ConfigMaps survive Flux substitution unchanged"),
    Rule("sec04-volume", "policy", "the workspace volume is ReadWriteOnce, ceph-block, 5Gi"),
    Rule("sec05-resources", "policy", "the workspace container requests and limits match the agreed figures"),
    Rule("ops01-reloader", "policy", "reloader.stakater.com/auto: 'true' on the controller, not the pod"),
    Rule("password-from-secret", "policy", "OPENCODE_SERVER_PASSWORD comes from a Secret"),
    Rule("single-writer", "policy", "one replica and the Recreate strategy"),
    Rule("pod-security-restricted", "policy", "every container meets the restricted Pod Security Standard"),
    Rule("image-pinned", "policy", "every image has an explicit tag other than latest"),
    Rule("opencode-version", "policy", "the OpenCode image tag equals the version ocw pins"),
    Rule("hostname-literal-domain", "policy", "route hostnames use ${SECRET_DOMAIN}, never a literal domain"),
    Rule("traffic-policy", "policy", "a BackendTrafficPolicy keeps long streams open on each workspace route"),
    Rule("landing-redirect", "policy", "a workspace route redirects exactly `/` to the project of its workingDir"),
    Rule("origin-gate", "policy", "a workspace route refuses requests from other origins with 403 before OpenCode"),
    Rule("network-policy", "policy", "a CiliumNetworkPolicy lets only the gateway in and only DNS and 443/22 out"),
    Rule("env-value-type", "policy", "every env value is a string after Flux substitution"),
    Rule("sa-token-off", "policy", "the workspace pod mounts no service account token"),
    Rule("secret-keys-only", "policy", "each workspace container mounts only the Secret keys it reads"),
    Rule("git-token-scope", "policy", "the git token only in init containers, or OpenCode's via the push switch"),
    Rule("opencode-config", "policy", "OpenCode reads the workspace config (OPENCODE_CONFIG): share disabled"),
    Rule("schema-comment", "policy", "ks.yaml, kustomization.yaml and helmrelease.yaml carry the required $schema"),
    Rule(
        "namespace-prune-guard",
        "policy",
        "the workspaces' namespace carries kustomize.toolkit.fluxcd.io/prune: disabled",
    ),
    Rule("doppler-key-drift", "policy", "the workspaces read the shared Doppler keys the host repository itself reads"),
    # The workspaces in the cluster's monitoring (check/monitoring.py, check/dashboards.py).
    Rule("promtool-rules", "schema", "every PrometheusRule passes `promtool check rules` (a warning without promtool)"),
    Rule("monitoring-present", "policy", "every workspace builds its Probe and PrometheusRule"),
    Rule(
        "monitoring-targets",
        "policy",
        "the Probe and the alerts aim at what the tree builds, through the cluster's blackbox exporter and Prometheus",
    ),
    Rule(
        "grafana-dashboard",
        "policy",
        "each dashboard is JSON with its own uid and file, loaded by the cluster's Grafana",
    ),
)

# Policy rules that hold for any repository: a token in git, an env value the API server refuses in a raw pod spec.
_REPOSITORY_POLICY = frozenset({"sec01-secret-in-manifest", "env-value-type"})

RULES: dict[str, Rule] = {
    rule.id: replace(rule, scope=WORKSPACE) if rule.family == "policy" and rule.id not in _REPOSITORY_POLICY else rule
    for rule in _RULES
}


def rule(rule_id: str) -> Rule:
    """The rule with this id; an unknown id is a programming error, caught by the tests."""
    return RULES[rule_id]

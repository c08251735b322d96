"""Each false finding met on a real repository, reduced to the few files that caused it: the check is now right about
it (and still finds the real mistake next to it)."""

from __future__ import annotations

from pathlib import Path

from flux.repos import bootstrapped, configmap, kustomization
from ocw.check import CheckReport, run_check
from ocw.findings import Severity

APP = "kubernetes/apps/web/site/app"
OCI = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app-template}
spec:
  interval: 1h
  url: oci://ghcr.io/bjw-s-labs/helm/app-template
  ref: {tag: TAG}
"""
RELEASE = """---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: site}
spec:
  interval: 1h
  chartRef: {kind: OCIRepository, name: app-template}
  values:
VALUES"""


def site(tmp_path: Path, files: dict[str, str], spec: str = "", namespace: str = "flux-system") -> Path:
    """A repository with one app, `site`, in namespace web, whose folder holds files (a kustomization listing them);
    the Flux Kustomization itself lives in `namespace`."""
    return bootstrapped(
        tmp_path,
        {
            "kubernetes/apps/web/kustomization.yaml": "resources: [./namespace.yaml, ./site/ks.yaml]\n",
            "kubernetes/apps/web/namespace.yaml": "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n",
            "kubernetes/apps/web/site/ks.yaml": kustomization(
                "site", f"./{APP}", namespace=namespace, spec="    targetNamespace: web\n" + spec
            ),
            f"{APP}/kustomization.yaml": "resources: [" + ", ".join(f"./{name}" for name in files) + "]\n",
            **{f"{APP}/{name}": text for name, text in files.items()},
        },
    )


def release(values: str, tag: str = "4.4.0") -> dict[str, str]:
    indented = "".join(f"    {line}\n" for line in values.strip("\n").splitlines())
    return {"ocirepository.yaml": OCI.replace("TAG", tag), "helmrelease.yaml": RELEASE.replace("VALUES", indented)}


def errors(report: CheckReport, rule: str) -> list[str]:
    return [f.message for f in report.errors if f.rule == rule]


def warnings(report: CheckReport, rule: str) -> list[str]:
    return [f.message for f in report.warnings if f.rule == rule]


POD_READS_SECRET = """
controllers:
  site:
    containers:
      app:
        image: {repository: ghcr.io/example/site, tag: 1.0.0}
        envFrom:
          - secretRef: {name: SECRET}
"""


def test_an_external_secret_fed_by_a_generator_needs_no_store(tmp_path: Path) -> None:
    """ahinko/home-ops: dataFrom sourceRef.generatorRef, no secretStoreRef at all."""
    external = """---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: token}
spec:
  target: {name: token}
  dataFrom:
    - sourceRef:
        generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: GithubAccessToken, name: bot}
"""
    report = run_check(site(tmp_path, {"externalsecret.yaml": external}))
    assert not errors(report, "link-secret-store"), report.to_text()


def test_a_secret_an_operator_makes_from_a_custom_resource_is_a_warning(tmp_path: Path) -> None:
    """ahinko/home-ops: ext-postgres-operator's PostgresUser `aliasvault-user` makes Secret
    `database-aliasvault-user`; a name nothing could make stays an error."""
    user = """---
apiVersion: db.movetokube.com/v1alpha1
kind: PostgresUser
metadata: {name: site-user}
spec: {role: site, database: site, secretName: database}
"""
    files = {**release(POD_READS_SECRET.replace("SECRET", "database-site-user")), "user.yaml": user}
    report = run_check(site(tmp_path / "made", files))
    assert not errors(report, "link-secret-ref"), report.to_text()
    [softened] = warnings(report, "link-secret-ref")
    assert "PostgresUser" in softened and "which ocw does not expand" in softened
    files = {**release(POD_READS_SECRET.replace("SECRET", "databse-site-usr")), "user.yaml": user}
    assert errors(run_check(site(tmp_path / "typo", files)), "link-secret-ref")


def test_a_secret_a_bootstrap_step_creates_is_a_warning(tmp_path: Path) -> None:
    """kashalls/home-cluster: bootstrap/secrets.yaml.tpl creates the Secret the 1Password pods read."""
    repo = site(tmp_path, release(POD_READS_SECRET.replace("SECRET", "onepassword-secret")))
    (repo / "bootstrap").mkdir()
    (repo / "bootstrap/secrets.yaml.tpl").write_text("kind: Secret\nmetadata:\n  name: onepassword-secret\n")
    report = run_check(repo)
    assert not errors(report, "link-secret-ref")
    [softened] = warnings(report, "link-secret-ref")
    assert "bootstrap/secrets.yaml.tpl" in softened


def test_an_issuer_a_chart_makes_from_its_values_is_a_warning(tmp_path: Path) -> None:
    """bjw-s-labs/home-ops: cert-manager-webhook-ovh's chart makes ClusterIssuer letsencrypt-production from its
    values; ocw does not render that chart."""
    webhook = """---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: webhook}
spec:
  interval: 1h
  chart: {spec: {chart: cert-manager-webhook-ovh, sourceRef: {kind: HelmRepository, name: ovh}}}
  values:
    issuers:
      - name: letsencrypt-production
"""
    certificate = """---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: site}
spec:
  secretName: site-tls
  dnsNames: [site.example.org]
  issuerRef: {kind: ClusterIssuer, name: letsencrypt-production}
"""
    report = run_check(site(tmp_path, {"webhook.yaml": webhook, "certificate.yaml": certificate}))
    assert not errors(report, "link-issuer"), report.to_text()
    assert "HelmRelease/web/webhook's chart" in warnings(report, "link-issuer")[0]


def test_objects_a_resource_set_makes_are_a_warning(tmp_path: Path) -> None:
    """tholinka/home-ops: a Flux Operator ResourceSet makes the ExternalSecret behind Secret dragonfly-acls."""
    resource_set = """---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: dragonfly-acls}
spec:
  resourcesTemplate: |
    apiVersion: external-secrets.io/v1
    kind: ExternalSecret
    metadata: {name: dragonfly-acls}
"""
    files = {**release(POD_READS_SECRET.replace("SECRET", "dragonfly-acls")), "resourceset.yaml": resource_set}
    report = run_check(site(tmp_path, files))
    assert not errors(report, "link-secret-ref")
    assert "ResourceSet" in warnings(report, "link-secret-ref")[0]


def test_the_config_maps_app_template_renders_are_seen(tmp_path: Path) -> None:
    """tholinka/home-ops qbittorrent: a configMap volume names the ConfigMap the release's own `configMaps` makes
    (one of them: named after the release)."""
    values = """
controllers:
  site:
    containers:
      app:
        image: {repository: ghcr.io/example/site, tag: 1.0.0}
configMaps:
  config:
    data: {settings.toml: "x = 1"}
persistence:
  config-file:
    type: configMap
    name: site
    globalMounts: [{path: /config/settings.toml, subPath: settings.toml}]
"""
    report = run_check(site(tmp_path, release(values)))
    assert not errors(report, "link-configmap"), report.to_text()


def test_values_of_a_newer_app_template_major_are_not_judged_by_the_older_schema(tmp_path: Path) -> None:
    """tholinka/home-ops: app-template 5 moved rawResources under `manifest`, which the 4.1.1 schema requires
    otherwise."""
    values = """
controllers:
  site:
    containers:
      app:
        image: {repository: ghcr.io/example/site, tag: 1.0.0}
rawResources:
  netpol:
    manifest: {apiVersion: v1, kind: ConfigMap}
"""
    newer = run_check(site(tmp_path / "five", release(values, tag="5.1.0")))
    assert not errors(newer, "schema-values"), newer.to_text()
    assert warnings(newer, "schema-values")
    assert errors(run_check(site(tmp_path / "four", release(values, tag="4.4.0"))), "schema-values")


def test_a_kustomization_template_in_a_component_is_reached_by_its_written_name(tmp_path: Path) -> None:
    """tholinka/home-ops: components/cnpg/app/ks.yaml is a Kustomization `${APP}-db` that each app's build makes
    its own; it is not "unreached"."""
    template = kustomization("${APP}-db", "./kubernetes/apps/web/site/db").replace(
        "metadata:\n", "metadata:\n    labels: {}\n"
    )
    component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [./ks.yaml]\n"
    repo = site(
        tmp_path,
        {"configmap.yaml": configmap("site")},
        spec="    components: [../../../../components/db]\n    postBuild:\n        substitute: {APP: site}\n",
    )
    for name, text in {
        "kubernetes/components/db/kustomization.yaml": component,
        "kubernetes/components/db/ks.yaml": template,
        "kubernetes/apps/web/site/db/kustomization.yaml": "resources: [./configmap.yaml]\n",
        "kubernetes/apps/web/site/db/configmap.yaml": configmap("site-db"),
    }.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    report = run_check(repo)
    assert not [f for f in report.findings if f.rule == "flux-unreached"], report.to_text()
    assert "site-db" in report.kustomizations


def test_depends_on_is_resolved_in_the_namespace_given(tmp_path: Path) -> None:
    """ahinko/home-ops: Kustomizations live in their app's namespace and name their dependencies' namespaces."""
    given = "    dependsOn: [{name: apps, namespace: flux-system}]\n"
    report = run_check(site(tmp_path / "given", {"configmap.yaml": configmap("site")}, given, namespace="web"))
    assert not errors(report, "link-depends-on"), report.to_text()
    # Without a namespace, the dependency is looked for in the Kustomization's own.
    own = "    dependsOn: [{name: apps}]\n"
    [message] = errors(
        run_check(site(tmp_path / "own", {"configmap.yaml": configmap("site")}, own, "web")), "link-depends-on"
    )
    assert message.startswith("dependsOn web/apps: no Flux Kustomization")


def test_a_blank_from_an_undefined_variable_is_reported_once(tmp_path: Path) -> None:
    """A PVC whose size is `${SIZE}`, never defined: one undefined-variable error, not also a schema error for the
    empty size Flux would apply."""
    claim = """---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: site}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: "${SIZE}"}}
"""
    report = run_check(site(tmp_path, {"pvc.yaml": claim}, spec="    postBuild:\n        substitute: {APP: site}\n"))
    assert [f.rule for f in report.errors] == ["flux-undefined-variable"], report.to_text()


def test_a_crd_of_the_repository_replaces_the_vendored_schema_of_its_kind(tmp_path: Path) -> None:
    """A fork's CRD with a field upstream does not have: the cluster runs the fork's."""
    crd = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  scope: Namespaced
  names: {kind: Certificate, plural: certificates}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                secretName: {type: string}
                flavour: {type: string}
"""
    certificate = """---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: site}
spec: {secretName: site-tls, flavour: vanilla}
"""
    without = run_check(site(tmp_path / "upstream", {"certificate.yaml": certificate}))
    assert any("flavour" in message for message in errors(without, "schema-crd"))
    with_crd = run_check(site(tmp_path / "fork", {"crd.yaml": crd, "certificate.yaml": certificate}))
    assert not errors(with_crd, "schema-crd"), with_crd.to_text()


def test_a_cluster_scoped_object_is_found_without_the_namespace_kustomize_stamped_on_it(tmp_path: Path) -> None:
    issuer = """---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: selfsigned}
spec: {selfSigned: {}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: site}
spec:
  secretName: site-tls
  dnsNames: [site.example.org]
  issuerRef: {kind: ClusterIssuer, name: selfsigned}
"""
    report = run_check(site(tmp_path, {"issuer.yaml": issuer}))
    assert not errors(report, "link-issuer"), report.to_text()
    assert report.findings == [f for f in report.findings if f.severity == Severity.WARNING]

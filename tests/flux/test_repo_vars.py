"""`postBuild.substituteFrom`: ConfigMaps and Secrets of the graph, looked up in the Kustomization's namespace, SOPS
Secrets by their key names, and sources the cluster makes itself."""

from __future__ import annotations

from pathlib import Path

from flux.repos import bootstrapped, kustomization
from ocw.flux.repo_vars import RepoVars, SourceRef, placeholder
from ocw.flux.sops import is_sops_encrypted
from ocw.tree import load_tree

SETTINGS = """---
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-settings, namespace: flux-system}
data:
  TIMEZONE: Europe/Paris
"""
SECRETS = """apiVersion: v1
kind: Secret
metadata: {name: cluster-secrets, namespace: flux-system}
stringData:
    SECRET_DOMAIN: ENC[AES256_GCM,data:bvtc,iv:Jw==,tag:Oj==,type:str]
sops:
    mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]
    lastmodified: "2025-01-01T00:00:00Z"
"""
WEB_SPEC = """    targetNamespace: web
    decryption: {provider: sops}
    postBuild:
        substituteFrom:
          - {kind: ConfigMap, name: cluster-settings}
          - {kind: Secret, name: cluster-secrets}
          - {kind: Secret, name: web-tunnel-secret}
"""
APP_CONFIGMAP = """---
apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data:
  zone: ${TIMEZONE}
  host: web.${SECRET_DOMAIN}
  tunnel: ${TUNNEL_ID}
"""


def repository(tmp_path: Path, spec: str = WEB_SPEC) -> Path:
    return bootstrapped(
        tmp_path,
        {
            "kubernetes/flux/vars/kustomization.yaml": (
                "resources: [./cluster-settings.yaml, ./cluster-secrets.sops.yaml]\n"
            ),
            "kubernetes/flux/vars/cluster-settings.yaml": SETTINGS,
            "kubernetes/flux/vars/cluster-secrets.sops.yaml": SECRETS,
            "kubernetes/apps/web/kustomization.yaml": "resources: [./ks.yaml]\n",
            "kubernetes/apps/web/ks.yaml": kustomization("web", "./kubernetes/apps/web/app", spec=spec),
            "kubernetes/apps/web/app/kustomization.yaml": "resources: [./configmap.yaml]\n",
            "kubernetes/apps/web/app/configmap.yaml": APP_CONFIGMAP,
        },
    )


def test_built_objects_use_the_graphs_sources_and_a_source_made_in_the_cluster_is_a_warning(tmp_path: Path) -> None:
    tree = load_tree(repository(tmp_path))
    [built] = [b for b in tree.built if b.kustomization.name == "web"]
    [configmap] = built.manifests
    assert configmap.obj["data"] == {"zone": "Europe/Paris", "host": "web.sops-encrypted-secret-domain", "tunnel": None}
    [finding] = built.findings  # TUNNEL_ID may come from web-tunnel-secret, which only the cluster has
    assert finding.rule == "flux-undefined-variable" and finding.severity == "warning"
    assert "Secret/web-tunnel-secret" in finding.message
    assert tree.repo_vars.used == [
        "kubernetes/flux/vars/cluster-settings.yaml",
        "kubernetes/flux/vars/cluster-secrets.sops.yaml",
    ]
    assert tree.cluster_vars["TIMEZONE"] == "Europe/Paris"


def test_sources_are_looked_up_in_the_kustomizations_own_namespace(tmp_path: Path) -> None:
    """A ConfigMap of the same name in another namespace is not the one Flux reads."""
    repo = repository(tmp_path)
    settings = repo / "kubernetes/flux/vars/cluster-settings.yaml"
    settings.write_text(SETTINGS.replace("namespace: flux-system", "namespace: default"))
    tree = load_tree(repo)
    [configmap] = [m for m in tree.manifests() if m.ref == "ConfigMap/web/web"]
    assert configmap.obj["data"]["zone"] is None
    assert "ConfigMap/cluster-settings" in next(f.message for f in tree.all_findings() if "TIMEZONE" in f.message)


def test_an_undefined_variable_without_unknown_sources_is_an_error(tmp_path: Path) -> None:
    spec = WEB_SPEC.replace("          - {kind: Secret, name: web-tunnel-secret}\n", "")
    [finding] = load_tree(repository(tmp_path, spec)).all_findings()
    assert (finding.rule, finding.severity, finding.file) == (
        "flux-undefined-variable",
        "error",
        "kubernetes/apps/web/app/configmap.yaml",
    )
    assert "${TUNNEL_ID}" in finding.message


def test_values_lose_their_line_breaks_and_secret_data_is_decoded() -> None:
    repo_vars = RepoVars()
    repo_vars.add({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"MOTD": "two\nlines"}}, "ns", "a.yaml")
    repo_vars.add({"kind": "Secret", "metadata": {"name": "b"}, "data": {"TOKEN": "c2VjcmV0"}}, "ns", "b.yaml")
    variables, missing = repo_vars.resolve(
        "ns", [SourceRef("ConfigMap", "a"), SourceRef("Secret", "b"), SourceRef("Secret", "c", optional=True)]
    )
    assert variables == {"MOTD": "twolines", "TOKEN": "secret"}
    assert missing == [SourceRef("Secret", "c", optional=True)]


def test_a_sops_document_is_recognised_by_its_metadata() -> None:
    assert is_sops_encrypted({"kind": "Secret", "sops": {"mac": "x", "age": []}})
    assert not is_sops_encrypted({"kind": "ConfigMap", "data": {"sops": "a value"}})
    assert not is_sops_encrypted({"sops": "not a block"})
    assert placeholder("SECRET_DOMAIN") == "sops-encrypted-secret-domain"


def test_a_kustomization_that_downloads_is_not_built(tmp_path: Path) -> None:
    """kustomize would fetch a URL resource; the check works offline, so it says so instead of trying."""
    repo = repository(tmp_path)
    (repo / "kubernetes/apps/web/app/kustomization.yaml").write_text(
        "resources:\n  - https://example.invalid/crd.yaml\n"
    )
    [built] = [b for b in load_tree(repo).built if b.kustomization.name == "web"]
    [finding] = built.findings
    assert finding.rule == "kustomize-build" and finding.severity == "warning"
    assert "https://example.invalid/crd.yaml from the network" in finding.message
    assert not built.manifests

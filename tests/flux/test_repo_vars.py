"""The variables a repository defines for itself (`postBuild.substituteFrom`) and SOPS-encrypted documents."""

from __future__ import annotations

from pathlib import Path

from ocw.flux.repo_vars import SourceRef, load_repo_vars, placeholder
from ocw.flux.sops import is_sops_encrypted
from ocw.tree import load_tree

ROOT_KUSTOMIZATION = """---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: cluster-apps, namespace: flux-system}
spec:
  path: ./kubernetes/apps
  postBuild:
    substituteFrom:
      - {kind: ConfigMap, name: cluster-settings}
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata: {name: not-used}
        spec:
          postBuild:
            substituteFrom:
              - {kind: Secret, name: cluster-secrets, optional: true}
      target: {kind: Kustomization}
"""
SETTINGS = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster-settings}\ndata:\n  TIMEZONE: Europe/Paris\n"
SECRETS = """apiVersion: v1
kind: Secret
metadata: {name: cluster-secrets}
stringData:
    SECRET_DOMAIN: ENC[AES256_GCM,data:bvtc,iv:Jw==,tag:Oj==,type:str]
sops:
    mac: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]
    lastmodified: "2025-01-01T00:00:00Z"
"""
APP_KS = """---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  path: ./kubernetes/apps/web/app
  targetNamespace: web
  postBuild:
    substituteFrom:
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


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def repository(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "kubernetes/flux/apps.yaml": ROOT_KUSTOMIZATION,
            "kubernetes/flux/vars/cluster-settings.yaml": SETTINGS,
            "kubernetes/flux/vars/cluster-secrets.sops.yaml": SECRETS,
            "kubernetes/apps/web/ks.yaml": APP_KS,
            "kubernetes/apps/web/app/kustomization.yaml": "resources: [./configmap.yaml]\n",
            "kubernetes/apps/web/app/configmap.yaml": APP_CONFIGMAP,
        },
    )


def test_the_repositorys_own_sources_define_the_cluster_variables(tmp_path: Path) -> None:
    repo_vars = load_repo_vars(repository(tmp_path))
    assert repo_vars.global_refs == [
        SourceRef("ConfigMap", "cluster-settings"),
        SourceRef("Secret", "cluster-secrets", True),
    ]
    assert repo_vars.global_variables() == {"TIMEZONE": "Europe/Paris", "SECRET_DOMAIN": "sops-encrypted-secret-domain"}
    assert repo_vars.global_files() == [
        "kubernetes/flux/vars/cluster-settings.yaml",
        "kubernetes/flux/vars/cluster-secrets.sops.yaml",
    ]


def test_built_objects_use_them_and_a_source_made_in_the_cluster_is_a_warning(tmp_path: Path) -> None:
    tree = load_tree(repository(tmp_path))
    [built] = tree.built
    [configmap] = built.manifests
    assert configmap.obj["data"] == {"zone": "Europe/Paris", "host": "web.sops-encrypted-secret-domain", "tunnel": None}
    [finding] = built.findings  # TUNNEL_ID may come from web-tunnel-secret, which only the cluster has
    assert finding.rule == "flux-undefined-variable" and finding.severity == "warning"
    assert "Secret/web-tunnel-secret" in finding.message


def test_a_sops_document_is_recognised_by_its_metadata() -> None:
    assert is_sops_encrypted({"kind": "Secret", "sops": {"mac": "x", "age": []}})
    assert not is_sops_encrypted({"kind": "ConfigMap", "data": {"sops": "a value"}})
    assert not is_sops_encrypted({"sops": "not a block"})
    assert placeholder("SECRET_DOMAIN") == "sops-encrypted-secret-domain"


COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [./pvc.yaml]\n"
CLAIM = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def test_flux_spec_components_are_built_into_the_kustomization(tmp_path: Path) -> None:
    """`spec.components` of a Flux Kustomization (paths relative to spec.path) adds kustomize components, as the
    onedr0p and bjw-s repositories do for their backup claims."""
    repo = repository(tmp_path)
    ks = repo / "kubernetes/apps/web/ks.yaml"
    ks.write_text(
        ks.read_text().replace(
            "  path: ./kubernetes/apps/web/app\n",
            "  path: ./kubernetes/apps/web/app\n  components:\n    - ../../../components/claim\n",
        )
    )
    write(
        repo,
        {
            "kubernetes/components/claim/kustomization.yaml": COMPONENT,
            "kubernetes/components/claim/pvc.yaml": CLAIM,
        },
    )
    [built] = load_tree(repo).built
    assert sorted(m.ref for m in built.manifests) == ["ConfigMap/web/web", "PersistentVolumeClaim/web/web-data"]


def test_a_kustomization_that_downloads_is_not_built(tmp_path: Path) -> None:
    """kustomize would fetch a URL resource; the check works offline, so it says so instead of trying."""
    repo = repository(tmp_path)
    write(repo, {"kubernetes/apps/web/app/kustomization.yaml": "resources:\n  - https://example.invalid/crd.yaml\n"})
    [built] = load_tree(repo).built
    [finding] = built.findings
    assert finding.rule == "kustomize-build" and finding.severity == "warning"
    assert "https://example.invalid/crd.yaml from the network" in finding.message
    assert not built.manifests

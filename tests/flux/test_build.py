"""Building Flux Kustomizations with the real kubectl kustomize: targetNamespace, commonMetadata, substitution."""

from __future__ import annotations

import shutil
from pathlib import Path

from ocw.flux.build import build_one
from ocw.flux.kustomization import discover
from ocw.tree import load_tree

REPO = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "kubernetes", root / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", root / "cluster-vars.example.yaml")
    return root


def test_discovers_every_workspace_kustomization() -> None:
    kustomizations, findings = discover(REPO)
    assert not findings
    by_name = {ks.name: ks for ks in kustomizations}
    assert {"opencode-flux", "opencode-ha"} <= set(by_name)
    assert by_name["opencode-flux"].substitute["APP"] == "opencode-flux"
    assert by_name["opencode-flux"].target_namespace == "opencode"


def test_build_applies_target_namespace_common_metadata_and_substitution() -> None:
    kustomizations, _ = discover(REPO)
    flux = next(ks for ks in kustomizations if ks.name == "opencode-flux")
    built = build_one(REPO, flux, {"SECRET_DOMAIN": "example.org", "SVC_INTERNAL_GW_ADDR": "192.0.2.10"})
    assert not built.findings
    by_ref = {m.ref: m for m in built.manifests}
    helmrelease = by_ref["HelmRelease/opencode/opencode-flux"]
    assert helmrelease.obj["metadata"]["labels"]["app.kubernetes.io/name"] == "opencode-flux"
    route = helmrelease.obj["spec"]["values"]["route"]["app"]
    assert route["hostnames"] == ["flux.opencode.example.org"]
    # The object as written is kept beside the substituted one.
    assert helmrelease.raw is not None
    assert helmrelease.raw["spec"]["values"]["route"]["app"]["hostnames"] == [
        "${WORKSPACE_HOST}.opencode.${SECRET_DOMAIN}"
    ]
    assert all(m.namespace == "opencode" for m in built.manifests)
    assert helmrelease.file == "kubernetes/components/opencode-workspace/helmrelease.yaml"


def test_an_undefined_variable_is_a_finding_naming_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pvc = root / "kubernetes/components/opencode-workspace/pvc.yaml"
    pvc.write_text(pvc.read_text().replace("${VOLSYNC_CAPACITY}", "${VOLSYNC_SIZE}"))
    tree = load_tree(root, only=["opencode-flux"])
    found = [f for f in tree.all_findings() if f.rule == "flux-undefined-variable"]
    assert [f.file for f in found] == ["kubernetes/components/opencode-workspace/pvc.yaml"]
    assert "VOLSYNC_SIZE" in found[0].message


def test_a_broken_kustomization_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    app = root / "kubernetes/apps/opencode/opencode-ha/app/kustomization.yaml"
    app.write_text(app.read_text().replace("components/opencode-workspace", "components/missing-component"))
    tree = load_tree(root)
    assert [f.rule for f in tree.all_findings()] == ["kustomize-build"]
    assert {b.kustomization.name for b in tree.built if b.manifests} == {"opencode-flux"}


def test_vars_files_replace_the_example(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    env_file = tmp_path / "cluster.env"
    env_file.write_text("SECRET_DOMAIN=home.example.net\nTIMEZONE=Europe/Paris\n")
    tree = load_tree(root, [env_file], only=["opencode-ha"])
    assert tree.var_files == [env_file]
    helmrelease = next(m for m in tree.manifests() if m.kind == "HelmRelease")
    assert helmrelease.obj["spec"]["values"]["route"]["app"]["hostnames"] == ["ha.opencode.home.example.net"]

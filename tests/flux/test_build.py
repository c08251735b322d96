"""The project's own tree followed as Flux would: built with the real kubectl kustomize, targetNamespace,
commonMetadata, substitution, and what goes wrong reported at the file to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

from ocw.tree import load_tree

REPO = Path(__file__).resolve().parents[2]
FLUX_APP = "kubernetes/apps/opencode/opencode-flux/app/kustomization.yaml"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "kubernetes", root / "kubernetes")
    shutil.copy(REPO / "cluster-vars.example.yaml", root / "cluster-vars.example.yaml")
    return root


def test_the_projects_tree_is_followed_from_the_folder_that_lists_its_kustomizations() -> None:
    tree = load_tree(REPO)
    assert [ks.id for ks in tree.kustomizations] == [
        "flux-system/kubernetes/apps/opencode",
        "flux-system/opencode-flux",
        "flux-system/opencode-ha",
    ]
    # No bootstrap: one warning says so and how to point ocw at one; nothing else is wrong.
    assert [(f.rule, f.severity) for f in tree.all_findings()] == [("flux-bootstrap", "warning")]
    namespaces = [m for m in tree.manifests() if m.kind == "Namespace"]
    assert [(m.ref, m.file) for m in namespaces] == [("Namespace/opencode", "kubernetes/apps/opencode/namespace.yaml")]


def test_build_applies_target_namespace_common_metadata_and_substitution(tmp_path: Path) -> None:
    env_file = tmp_path / "cluster.env"
    env_file.write_text("SECRET_DOMAIN=example.org\nSVC_INTERNAL_GW_ADDR=192.0.2.10\n")
    tree = load_tree(REPO, [env_file])
    [built] = [b for b in tree.built if b.kustomization.name == "opencode-flux"]
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
    # Each object is attributed to the file that holds it, the component's included.
    assert helmrelease.file == "kubernetes/components/opencode-workspace/helmrelease.yaml"
    # What ocw adds to tell where objects come from is gone again, the pod template's annotations included.
    assert "config.kubernetes.io/origin" not in str(helmrelease.obj)
    assert "ocw" not in str(helmrelease.obj["metadata"].get("annotations", {}))
    assert all("build.ocw.invalid" not in str(m.obj) for m in tree.manifests())


def test_an_undefined_variable_is_a_finding_naming_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    pvc = root / "kubernetes/components/opencode-workspace/pvc.yaml"
    pvc.write_text(pvc.read_text().replace("${VOLSYNC_CAPACITY}", "${VOLSYNC_SIZE}"))
    found = [f for f in load_tree(root).all_findings() if f.rule == "flux-undefined-variable"]
    assert [(f.file, f.object) for f in found] == [
        ("kubernetes/components/opencode-workspace/pvc.yaml", "PersistentVolumeClaim/opencode/opencode-flux"),
        ("kubernetes/components/opencode-workspace/pvc.yaml", "PersistentVolumeClaim/opencode/opencode-ha"),
    ]
    assert "VOLSYNC_SIZE" in found[0].message


def test_a_broken_kustomization_is_a_finding_at_that_kustomization_not_a_crash(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    app = root / "kubernetes/apps/opencode/opencode-ha/app/kustomization.yaml"
    app.write_text(app.read_text().replace("components/opencode-workspace", "components/missing-component"))
    tree = load_tree(root)
    broken = [f for f in tree.all_findings() if f.rule == "kustomize-build"]
    assert [(f.file, f.object) for f in broken] == [
        ("kubernetes/apps/opencode/opencode-ha/app/kustomization.yaml", "Kustomization/flux-system/opencode-ha")
    ]
    assert "missing-component" in broken[0].message
    assert {b.kustomization.name for b in tree.built if b.manifests} == {"kubernetes/apps/opencode", "opencode-flux"}


def test_vars_files_replace_the_example(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    env_file = tmp_path / "cluster.env"
    env_file.write_text("SECRET_DOMAIN=home.example.net\nTIMEZONE=Europe/Paris\n")
    tree = load_tree(root, [env_file])
    assert tree.var_files == [env_file]
    helmrelease = next(m for m in tree.manifests() if m.ref == "HelmRelease/opencode/opencode-ha")
    assert helmrelease.obj["spec"]["values"]["route"]["app"]["hostnames"] == ["ha.opencode.home.example.net"]

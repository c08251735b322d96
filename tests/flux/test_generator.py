"""The kustomization kustomize-controller builds (generated where a folder has none, with the Flux Kustomization's
additions), and several Kustomizations built by one kustomize process exactly as each alone."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import yaml

from flux.repos import configmap, kustomization, write
from ocw.flux.artifact import Artifact, Workspace, repository_files
from ocw.flux.build import Prepared, RawBuild, build_many, prepare
from ocw.flux.generator import EMPTY_NAMESPACE, generate
from ocw.flux.kustomization import FluxKustomization
from ocw.flux.sourceignore import ArtifactFilter


def generated(folder: Path, spec: dict[str, object] | None = None) -> dict[str, object]:
    document = yaml.safe_load(generate(folder, spec or {}, PurePosixPath("app")).text)
    assert isinstance(document, dict)
    return document


def test_a_folder_without_kustomization_gets_its_manifests_and_kustomization_folders(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b.yaml": configmap("b"),
            "a.yml": configmap("a"),
            "notes.txt": "text",
            "nested/c.yaml": configmap("c"),
            "built/kustomization.yaml": "resources: [./d.yaml]\n",
            "built/d.yaml": configmap("d"),
        },
    )
    document = generated(tmp_path)
    # Go's walk order; a folder with a kustomization is taken whole and not descended into.
    assert document["resources"] == ["./a.yml", "./b.yaml", "./built", "./nested/c.yaml"]
    assert document["buildMetadata"] == ["originAnnotations"]


def test_an_empty_folder_builds_to_nothing(tmp_path: Path) -> None:
    assert generated(tmp_path)["namespace"] == EMPTY_NAMESPACE


def test_the_flux_spec_is_appended_to_the_folders_own_kustomization(tmp_path: Path) -> None:
    write(tmp_path, {"kustomization.yaml": "resources: [./a.yaml]\nimages: [{name: app, newTag: '1'}]\n"})
    spec = {
        "targetNamespace": "web",
        "namePrefix": "p-",
        "patches": [{"patch": "- op: remove\n  path: /data", "target": {"kind": "ConfigMap"}}],
        "components": ["../missing"],
        "ignoreMissingComponents": True,
        "images": [{"name": "app", "newName": "registry/app"}],
    }
    document = generated(tmp_path, spec)
    assert document["namespace"] == "web" and document["namePrefix"] == "p-"
    assert document["patches"] == [{"patch": "- op: remove\n  path: /data", "target": {"kind": "ConfigMap"}}]
    assert "components" not in document  # missing, and ignoreMissingComponents
    assert document["images"] == [{"name": "app", "newTag": "1", "newName": "registry/app"}]


def _prepared(root: Path, names: list[str], workspace: Workspace) -> list[Prepared | RawBuild]:
    files = repository_files(root)
    artifact = Artifact.of_repository(workspace, root, files, ArtifactFilter.for_repository(root, files))
    result: list[Prepared | RawBuild] = []
    for name in names:
        doc = yaml.safe_load(kustomization(name, f"./apps/{name}", spec="    targetNamespace: web\n"))
        result.append(prepare(FluxKustomization.from_object(doc, Path(f"apps/{name}.yaml")), artifact, workspace))
    return result


def test_one_kustomize_process_builds_several_as_each_alone(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "apps/one/a.yaml": configmap("a"),
            "apps/two/b.yaml": configmap("b"),
            "apps/broken/kustomization.yaml": "resources: [./missing.yaml]\n",
            "apps/same/a.yaml": configmap("a"),  # the same object as `one`: the batch as a whole cannot build
        },
    )
    names = ["one", "two", "broken", "same"]
    with Workspace(root) as workspace:
        prepared = [p for p in _prepared(root, names, workspace) if isinstance(p, Prepared)]
        together = build_many(prepared, workspace)
        alone = [build_many([p], workspace)[0] for p in prepared]
    for batch, single in zip(together, alone, strict=True):
        assert batch.kustomization.name == single.kustomization.name
        assert [(o.file, o.obj) for o in batch.objects] == [(o.file, o.obj) for o in single.objects]
        assert [(f.rule, f.file) for f in batch.findings] == [(f.rule, f.file) for f in single.findings]
    assert [(o.file, o.obj["metadata"]) for o in together[0].objects] == [
        ("apps/one/a.yaml", {"name": "a", "namespace": "web"})
    ]
    [failure] = together[2].findings
    assert (failure.rule, failure.file) == ("kustomize-build", "apps/broken/kustomization.yaml")

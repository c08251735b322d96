"""`ocw check` run again on an unchanged repository reuses what it built and validated (no kustomize runs), and any
change a build or a validation depends on (a file read through `../`, a CRD of the repository) gives the new result;
a cache entry that cannot be read is only a miss."""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from check.tree_copy import HELMRELEASE, TreeCopy, error_rules, errors
from flux.repos import bootstrapped, kustomization
from ocw import secret_values, toolchain
from ocw.check import CheckReport, run_check

APP = "kubernetes/apps/web/site/app"
NOTES = "kubernetes/apps/opencode/notes.yaml"
CRD = """---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.org}
spec:
  group: example.org
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets}
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
                size: {type: SIZE_TYPE}
"""
GADGET = """---
apiVersion: example.org/v1
kind: Gadget
metadata: {name: site}
spec: {size: 3}
"""


class KustomizeLog:
    """kubectl on PATH as a wrapper that logs each run and then runs the pinned kubectl."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "kubectl.log"

    def builds(self) -> int:
        if not self.path.exists():
            return 0
        return sum(1 for line in self.path.read_text().splitlines() if line.startswith("kustomize "))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def kustomize_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KustomizeLog:
    """Every kustomize build of this test goes through a logging kubectl on PATH (no pinned tools), and the caches
    are this test's own."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = KustomizeLog(tmp_path)
    wrapper = bin_dir / "kubectl"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log.path}\nexec {toolchain.pinned_kubectl()} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    (bin_dir / "helm").symlink_to(toolchain.pinned_helm())
    monkeypatch.setenv("OCW_TOOLS_DIR", str(tmp_path / "no-tools"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own-cache"))
    return log


def cache_files(kind: str) -> list[Path]:
    root = Path(os.environ["XDG_CACHE_HOME"]) / "ocw" / kind
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def same(first: CheckReport, second: CheckReport) -> bool:
    return first.to_text() == second.to_text() and first.findings == second.findings


def test_a_second_check_of_an_unchanged_repository_runs_no_kustomize(
    tree: TreeCopy, kustomize_log: KustomizeLog
) -> None:
    tree.write(NOTES, "# notes\nowner: me\nowner: you\n")  # a strict YAML error, on line 3
    first = tree.check()
    assert [(f.file, f.line) for f in errors(first, "yaml-strict")] == [(NOTES, 3)]
    assert kustomize_log.builds() > 0
    assert cache_files("builds") and cache_files("validations")
    kustomize_log.clear()

    second = tree.check()

    assert kustomize_log.builds() == 0
    assert same(first, second), second.to_text()


def test_a_file_read_through_a_parent_folder_builds_again_when_it_changes(
    tree: TreeCopy, kustomize_log: KustomizeLog
) -> None:
    # The workspace component sits outside every Kustomization's folder that takes it (`../../components/...`).
    assert "sec05-resources" not in error_rules(tree.check())
    kustomize_log.clear()
    tree.replace(HELMRELEASE, "memory: 1Gi", "memory: 512Mi")

    changed = tree.check()

    assert kustomize_log.builds() > 0
    assert [(f.file, f.object) for f in errors(changed, "sec05-resources")] == [
        (HELMRELEASE, "HelmRelease/opencode/opencode-flux"),
        (HELMRELEASE, "HelmRelease/opencode/opencode-ha"),
    ]


def test_an_edited_crd_of_the_repository_validates_again(tmp_path: Path, kustomize_log: KustomizeLog) -> None:
    repo = bootstrapped(
        tmp_path / "repo",
        {
            "kubernetes/apps/web/kustomization.yaml": "resources: [./site/ks.yaml]\n",
            "kubernetes/apps/web/site/ks.yaml": kustomization("site", f"./{APP}", spec="    targetNamespace: web\n"),
            f"{APP}/kustomization.yaml": "resources: [./crd.yaml, ./gadget.yaml]\n",
            f"{APP}/crd.yaml": CRD.replace("SIZE_TYPE", "integer"),
            f"{APP}/gadget.yaml": GADGET,
        },
    )
    assert not [f for f in run_check(repo).errors if f.rule == "schema-crd"]
    assert not [f for f in run_check(repo).errors if f.rule == "schema-crd"]  # from the caches

    (repo / APP / "crd.yaml").write_text(CRD.replace("SIZE_TYPE", "string"))
    edited = run_check(repo)

    assert [f.message for f in edited.errors if f.rule == "schema-crd"] == ["spec/size: 3 is not of type 'string'"]


# Inline content beside the fields that name files: a URL and an absolute path in a label, an annotation and an
# inline patch (after `=`, where a generator's file source would name its path) are no paths kustomize reads.
PATCHED = """commonAnnotations: {docs: "https://example.org/gadget"}
labels: [{pairs: {home: "/srv/gadget"}}]
resources: [./crd.yaml, ./gadget.yaml]
patches:
  - patch: |-
      - op: add
        path: /metadata/labels
        value: {source: "url=https://example.org/gadget.git"}
    target: {kind: Gadget}
  - path: ./size.yaml
    target: {kind: Gadget}
configMapGenerator:
  - name: gadget-notes
    files: [notes=./notes.txt]
"""


def test_inline_patches_are_cached_and_each_file_they_name_builds_again_when_it_changes(
    tmp_path: Path, kustomize_log: KustomizeLog
) -> None:
    size = "---\napiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: site}\nspec: {size: SIZE}\n"
    repo = bootstrapped(
        tmp_path / "repo",
        {
            "kubernetes/apps/web/kustomization.yaml": "resources: [./site/ks.yaml]\n",
            "kubernetes/apps/web/site/ks.yaml": kustomization("site", f"./{APP}", spec="    targetNamespace: web\n"),
            f"{APP}/kustomization.yaml": PATCHED,
            f"{APP}/crd.yaml": CRD.replace("SIZE_TYPE", "integer"),
            f"{APP}/gadget.yaml": GADGET,
            f"{APP}/size.yaml": size.replace("SIZE", "4"),
            f"{APP}/notes.txt": "first\n",
        },
    )
    first = run_check(repo)
    assert not [f for f in first.errors if f.rule == "schema-crd"]
    kustomize_log.clear()
    assert same(first, run_check(repo))
    assert kustomize_log.builds() == 0

    (repo / APP / "size.yaml").write_text(size.replace("SIZE", "big"))  # named by a patch's `path`
    patched = run_check(repo)
    assert kustomize_log.builds() > 0
    assert [f.message for f in patched.errors if f.rule == "schema-crd"] == [
        "spec/size: 'big' is not of type 'integer'"
    ]

    kustomize_log.clear()
    (repo / APP / "notes.txt").write_text("second\n")  # named by a generator's `key=path` file source
    run_check(repo)
    assert kustomize_log.builds() > 0


def test_cache_entries_that_cannot_be_read_are_built_and_validated_again(
    tree: TreeCopy, kustomize_log: KustomizeLog
) -> None:
    tree.replace(HELMRELEASE, "memory: 1Gi", "memory: 512Mi")  # a report with findings to compare
    first = tree.check()
    for entry in cache_files("builds"):
        entry.write_text('{"format": 1, "objects": [["kind: [", "x"]]}')
    with closing(sqlite3.connect(cache_files("validations")[0])) as connection, connection:
        connection.execute("UPDATE verdicts SET messages = 'not JSON'")
    kustomize_log.clear()

    rebuilt = tree.check()

    assert kustomize_log.builds() > 0
    assert same(first, rebuilt), rebuilt.to_text()
    for database in cache_files("validations"):
        database.write_bytes(b"not a database" * 100)

    assert same(first, tree.check())


def test_a_run_holding_a_secret_value_writes_no_verdict_that_quotes_it(
    tmp_path: Path, kustomize_log: KustomizeLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secret_values, "_HELD", set())  # what this test's check remembers goes with it
    service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: site}\nspec:\n  ports:\n    - port: ${PORT}\n"
    repo = bootstrapped(
        tmp_path / "repo",
        {
            "kubernetes/apps/web/kustomization.yaml": "resources: [./site/ks.yaml]\n",
            "kubernetes/apps/web/site/ks.yaml": kustomization(
                "site", f"./{APP}", spec="    targetNamespace: web\n    postBuild:\n        substitute: {APP: site}\n"
            ),
            f"{APP}/kustomization.yaml": "resources: [./service.yaml]\n",
            f"{APP}/service.yaml": service,
        },
    )
    secret = tmp_path / "cluster-secrets.yaml"
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: vars}\nstringData: {PORT: hunter2-port}\n")

    report = run_check(repo, [secret])

    assert "spec/ports/0/port: 'hunter2-port' is not of type 'integer'" in [f.message for f in report.errors]
    assert not [path for path in cache_files("validations") if b"hunter2-port" in path.read_bytes()]

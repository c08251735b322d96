"""`ocw charts pull` against stand-ins for an OCI registry and a Helm chart repository
(tests/support/chart_registry.py), with charts packaged by the pinned helm; then `ocw check` and the workspaces render
with the exact version pulled."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from check.tree_copy import COMPONENT, REPO, TreeCopy
from ocw.check import run_check
from ocw.helm.charts import VENDORED_CHARTS, cache_charts_dir
from ocw.tree import load_tree
from ocw.workspace import workspaces_in
from support.chart_registry import Registry, oci_registry, package_chart, write_helm_repository
from support.cli import run_ocw
from support.prerequisites import require_path

OCIREPOSITORY = f"{COMPONENT}/ocirepository.yaml"
HELMRELEASE = f"{COMPONENT}/helmrelease.yaml"
PUBLIC_URL = "oci://ghcr.io/bjw-s-labs/helm/app-template"
SOURCE = VENDORED_CHARTS / "app-template-4.1.1"


@pytest.fixture
def helm() -> Path:
    return require_path(REPO / "tools" / "bin" / "helm", what="the pinned helm (`make setup` extracts it)")


@pytest.fixture
def registry() -> Iterator[Registry]:
    with oci_registry() as running:
        yield running


def point_at(tree: TreeCopy, registry: Registry) -> None:
    tree.replace(OCIREPOSITORY, PUBLIC_URL, f"oci://{registry.host}/bjw-s-labs/helm/app-template")
    tree.replace(OCIREPOSITORY, "  interval: 15m\n", "  interval: 15m\n  insecure: true\n")


def test_pull_fetches_the_pinned_version_and_check_then_renders_exactly_it(
    tree: TreeCopy, registry: Registry, helm: Path, tmp_path: Path
) -> None:
    registry.push("bjw-s-labs/helm/app-template", "4.4.0", package_chart(helm, SOURCE, "4.4.0", tmp_path).read_bytes())
    point_at(tree, registry)
    before = run_check(tree.root)
    [stand_in] = [c for c in before.causes if c.rule == "helm-chart"]
    assert "app-template 4.4.0 is neither vendored nor cached: rendered with the vendored 4.1.1" in stand_in.message

    result = run_ocw("charts", "pull", "--repo", str(tree.root), "--json")

    assert result.code == 0, result.stderr
    [chart] = json.loads(result.stdout)["charts"]
    assert (chart["chart"], chart["status"], chart["version"]) == ("app-template", "pulled", "4.4.0")
    assert "/token" in registry.requests, "the anonymous bearer token was asked for, as ghcr.io wants"
    assert Path(chart["path"]).is_relative_to(cache_charts_dir())
    after = run_check(tree.root)
    assert not [f for f in after.findings if f.rule == "helm-chart"], after.to_text()
    assert after.ok, after.to_text()
    for workspace in workspaces_in(load_tree(tree.root)):
        assert workspace.chart_note is None
        assert workspace.workload.manifest.labels["helm.sh/chart"] == "app-template-4.4.0"
    again = run_ocw("charts", "pull", "--repo", str(tree.root))
    assert again.code == 0 and again.stdout.startswith("cached  app-template 4.4.0"), again.stdout


def test_an_archive_that_does_not_match_its_digest_is_refused_and_nothing_is_kept(
    tree: TreeCopy, registry: Registry, helm: Path, tmp_path: Path
) -> None:
    archive = package_chart(helm, SOURCE, "4.4.0", tmp_path).read_bytes()
    registry.push("bjw-s-labs/helm/app-template", "4.4.0", archive, corrupt=True)
    point_at(tree, registry)

    result = run_ocw("charts", "pull", "--repo", str(tree.root), "--json")

    assert result.code == 1
    [chart] = json.loads(result.stdout)["charts"]
    assert chart["status"] == "failed" and "does not match its digest" in chart["message"]
    assert not list(cache_charts_dir().rglob("*.tgz"))


HELM_REPOSITORY = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: bjw-s
spec:
  interval: 1h
  url: {url}
"""
CHART_REF = "  chartRef:\n    kind: OCIRepository\n    name: ${APP}\n"
CHART_TEMPLATE = (
    "  chart:\n    spec:\n      chart: app-template\n      version: 4.x\n"
    "      sourceRef:\n        kind: HelmRepository\n        name: bjw-s\n"
)


def test_a_helm_repository_gives_the_newest_version_the_range_allows(
    tree: TreeCopy, helm: Path, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    archives = [package_chart(helm, SOURCE, version, served) for version in ("4.2.0", "4.6.1", "5.0.1")]
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    write_helm_repository(served, url, {"app-template": archives})
    tree.write(f"{COMPONENT}/helmrepository.yaml", HELM_REPOSITORY.format(url=url))
    tree.replace(f"{COMPONENT}/kustomization.yaml", "  - ./ocirepository.yaml\n", "  - ./helmrepository.yaml\n")
    tree.remove(OCIREPOSITORY)
    tree.replace(HELMRELEASE, CHART_REF, CHART_TEMPLATE)
    try:
        result = run_ocw("charts", "pull", "--repo", str(tree.root), "--json")
    finally:
        server.shutdown()
        server.server_close()

    assert result.code == 0, result.stderr
    [chart] = json.loads(result.stdout)["charts"]
    assert (chart["status"], chart["version"], chart["asked"]) == ("pulled", "4.6.1", "4.x")
    report = run_check(tree.root)
    [note] = [c for c in report.causes if c.rule == "helm-chart"]
    assert "version range '4.x' resolved offline to 4.6.1 (cache)" in note.message

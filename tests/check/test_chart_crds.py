"""A chart that installs CRDs: its custom resources are validated against the schemas those CRDs carry, not against a
catalogue; while the chart cannot be had, its kinds are one warning each."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from check.tree_copy import REPO, TreeCopy
from ocw.helm.charts import cache_charts_dir, source_key
from support.prerequisites import require_path

APP = "kubernetes/apps/opencode/opencode-flux/app"
CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.test
spec:
  group: example.test
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
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
              required: [size]
              properties:
                size: {type: integer}
                colour: {type: string, nullable: true}
"""
RELEASE = """---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: widgets
spec:
  interval: 1h
  url: https://charts.example.test
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: widget-operator
spec:
  interval: 1h
  chart:
    spec:
      chart: widget-operator
      version: 1.0.0
      sourceRef:
        kind: HelmRepository
        name: widgets
---
apiVersion: example.test/v1
kind: Widget
metadata:
  name: blue
spec:
  size: {size}
  colour: null
"""


def add_release(tree: TreeCopy, size: str) -> None:
    tree.write(f"{APP}/widgets.yaml", RELEASE.replace("{size}", size))
    tree.replace(f"{APP}/kustomization.yaml", "components:", "resources:\n  - ./widgets.yaml\ncomponents:")


def cache_chart(tmp_path: Path, crds: str = CRD, templates: dict[str, str] | None = None) -> None:
    """The operator's chart, packaged by the pinned helm, where `ocw charts pull` would put it."""
    helm = require_path(REPO / "tools" / "bin" / "helm", what="the pinned helm (`make setup` extracts it)")
    source = tmp_path / "widget-operator"
    (source / "crds").mkdir(parents=True)
    (source / "templates").mkdir()
    (source / "Chart.yaml").write_text("apiVersion: v2\nname: widget-operator\nversion: 1.0.0\n")
    (source / "crds" / "widgets.yaml").write_text(crds)
    for name, text in (templates or {}).items():
        (source / "templates" / name).write_text(text)
    folder = cache_charts_dir() / source_key("https://charts.example.test/widget-operator")
    subprocess.run([helm, "package", source, "--destination", folder], check=True, capture_output=True)


@pytest.mark.parametrize(("size", "errors"), [("3", []), ('"large"', ["spec/size: 'large' is not of type 'integer'"])])
def test_the_custom_resources_of_a_chart_follow_its_crds(
    tree: TreeCopy, tmp_path: Path, size: str, errors: list[str]
) -> None:
    cache_chart(tmp_path)
    add_release(tree, size)

    report = tree.check()

    assert [f.message for f in report.findings if f.object.startswith("Widget/")] == errors
    assert [f.rule for f in report.errors] == ["schema-crd"] * len(errors)


def test_a_kind_of_a_chart_that_cannot_be_had_is_one_warning(tree: TreeCopy) -> None:
    add_release(tree, "3")

    report = tree.check()

    [widget] = [f for f in report.findings if f.object.startswith("Widget/")]
    assert widget.rule == "schema-missing"
    assert "its CRD may come from a chart ocw could not render (1: widget-operator 1.0.0" in widget.message
    [chart] = [f for f in report.findings if f.rule == "helm-chart" and "widget-operator" in f.message]
    assert chart.severity == "warning"


GADGET_CRD = (
    CRD.replace("widgets.example.test", "gadgets.example.test")
    .replace("scope: Namespaced", "scope: Cluster")
    .replace("kind: Widget, plural: widgets, singular: widget, listKind: WidgetList", "kind: Gadget, plural: gadgets")
)
GADGET = """---
apiVersion: example.test/v1
kind: Gadget
metadata:
  name: {name}
spec:
  size: large
"""


def test_the_scope_of_a_kind_comes_from_the_crd_a_chart_renders(tree: TreeCopy, tmp_path: Path) -> None:
    """Kustomize stamps the app's namespace on the tree's Gadget, and nothing but the chart's CRD says that Gadgets
    are cluster-scoped: the object is then found and reported without a namespace, like the one the chart renders
    (the release namespace goes only on namespaced objects)."""
    cache_chart(tmp_path, crds=f"{CRD}---\n{GADGET_CRD}", templates={"gadget.yaml": GADGET.format(name="red")})
    add_release(tree, "3")
    tree.write(f"{APP}/gadget.yaml", GADGET.format(name="blue"))
    tree.replace(f"{APP}/kustomization.yaml", "  - ./widgets.yaml\n", "  - ./widgets.yaml\n  - ./gadget.yaml\n")

    report = tree.check()

    gadgets = sorted((f.object, f.rule) for f in report.findings if f.object.startswith("Gadget/"))
    assert gadgets == [
        ("Gadget/blue", "schema-crd"),
        ("Gadget/red (rendered from HelmRelease/opencode/widget-operator)", "schema-crd"),
    ]

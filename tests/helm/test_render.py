"""What helm-controller does to a chart's output before it applies it, done to what ocw renders: the HelmRelease's
post-renderers (kustomize patches and images), its commonMetadata and its origin labels. `ocw up` runs that pod."""

from __future__ import annotations

import os
import time

import pytest

from check.tree_copy import COMPONENT, TreeCopy
from ocw.helm import render
from ocw.helm.render import render_cache_dir
from ocw.workspace import find_workspace, load_workspaces

HELMRELEASE = f"{COMPONENT}/helmrelease.yaml"
POST_RENDERING = """  commonMetadata:
    labels:
      team: workspaces
  postRenderers:
    - kustomize:
        patches:
          - target:
              kind: Deployment
            patch: |
              - op: replace
                path: /spec/template/spec/terminationGracePeriodSeconds
                value: 15
        images:
          - name: ghcr.io/jbaker48/opencode-workspace
            newName: registry.example.test/opencode-workspace
"""


def test_post_renderers_and_common_metadata_shape_the_pod_that_runs(tree: TreeCopy) -> None:
    tree.replace(HELMRELEASE, "  interval: 1h\n", "  interval: 1h\n" + POST_RENDERING)

    workspace = find_workspace(load_workspaces(tree.root), "flux")

    deployment = workspace.workload
    assert deployment.grace_seconds == 15
    assert workspace.app_container.image == "registry.example.test/opencode-workspace:1.18.33"
    assert workspace.init_container is not None
    assert workspace.init_container.image == "registry.example.test/opencode-workspace:1.18.33"
    labels = deployment.manifest.labels
    assert (labels["team"], labels["helm.toolkit.fluxcd.io/name"], labels["helm.toolkit.fluxcd.io/namespace"]) == (
        "workspaces",
        "opencode-flux",
        "opencode",
    )
    report = tree.check()
    assert report.ok, report.to_text()


def test_renders_are_cached_and_a_month_unused_is_enough_to_go(tree: TreeCopy, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = render_cache_dir()
    first = tree.check()
    renders = sorted(cache.glob("*/*.yaml"))
    assert len(renders) == 2  # one per workspace release

    def no_helm(*_: object) -> str:
        raise AssertionError("helm ran although the render was cached")

    with monkeypatch.context() as patched:
        patched.setattr(render, "_run_helm", no_helm)
        assert tree.check().findings == first.findings

    stale = cache / "00" / "stale.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("---\n")
    month_ago = time.time() - 31 * 86400
    os.utime(stale, (month_ago, month_ago))
    tree.replace(HELMRELEASE, "terminationGracePeriodSeconds: 10", "terminationGracePeriodSeconds: 12")
    tree.check()
    assert not stale.exists()
    assert len(sorted(cache.glob("*/*.yaml"))) == 4, "the new values' renders join the earlier ones"

"""What helm-controller does to a chart's output before it applies it, done to what ocw renders: the HelmRelease's
post-renderers (kustomize patches and images), its commonMetadata and its origin labels. `ocw up` runs that pod."""

from __future__ import annotations

from check.tree_copy import COMPONENT, TreeCopy
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

"""A tree whose chart version is neither vendored nor cached (the pending move to app-template 5.0.1, offline): the
check says so once and reports nothing it cannot know; the Doppler side of the workspaces still works; whatever needs
the pod says how to get the chart."""

from __future__ import annotations

import pytest

from check.tree_copy import COMPONENT, TreeCopy
from ocw.errors import OcwError
from ocw.workspace import find_workspace, load_workspaces


def test_one_warning_and_no_guess(tree: TreeCopy) -> None:
    tree.replace(f"{COMPONENT}/ocirepository.yaml", "tag: 4.4.0", "tag: 5.0.1")

    report = tree.check()

    # Besides the copy's missing bootstrap, one cause: the chart, at both releases.
    [bootstrap, chart] = report.causes
    assert (bootstrap.rule, chart.rule) == ("flux-bootstrap", "helm-chart")
    assert chart.severity == "warning"
    releases = [place.object for place in chart.places]
    assert releases == ["HelmRelease/opencode/opencode-flux", "HelmRelease/opencode/opencode-ha"]
    assert "app-template 5.0.1" in chart.message and "`ocw charts pull`" in chart.message
    workspace = find_workspace(load_workspaces(tree.root), "flux")
    assert workspace.doppler_keys == {
        "GITHUB_PAT": "OPENCODE_FLUX_GITHUB_PAT",
        "PASSWORD": "OPENCODE_FLUX_PASSWORD",
        "COPILOT_AUTH_JSON": "OPENCODE_FLUX_COPILOT_AUTH_JSON",
    }
    with pytest.raises(OcwError, match=r"could not be rendered: chart app-template 5\.0\.1") as raised:
        _ = workspace.app_container
    assert "ocw charts pull" in str(raised.value.hint)

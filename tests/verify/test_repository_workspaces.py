"""`ocw verify --repo` covers every workspace of the repository it is given: a third one, added the way
`ocw install --workspace` adds it, gets its own checks (and fails them here: the cluster never deployed it)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from .conftest import Cluster, Run

RunOcw = Callable[[list[str]], Run]
APPS = Path("kubernetes/apps/opencode")


def add_docs_workspace(repo: Path) -> None:
    """opencode-docs beside opencode-ha: its own name, host, Doppler prefix and backup minute."""
    shutil.copytree(repo / APPS / "opencode-ha", repo / APPS / "opencode-docs")
    ks = repo / APPS / "opencode-docs" / "ks.yaml"
    text = ks.read_text()
    for old, new in (
        ("&app opencode-ha", "&app opencode-docs"),
        ("WORKSPACE_HOST: ha", "WORKSPACE_HOST: docs"),
        ("OPENCODE_HA", "OPENCODE_DOCS"),
        ("opencode/opencode-ha/app", "opencode/opencode-docs/app"),
        ('VOLSYNC_SCHEDULE: "45 * * * *"', 'VOLSYNC_SCHEDULE: "30 * * * *"'),
    ):
        assert old in text, old
        text = text.replace(old, new)
    ks.write_text(text)
    aggregator = repo / APPS / "kustomization.yaml"
    aggregator.write_text(aggregator.read_text() + "  - ./opencode-docs/ks.yaml\n")


def test_a_third_workspace_of_the_repository_is_verified_too(
    cluster: Cluster, run_ocw: RunOcw, no_doppler: None, tmp_path: Path
) -> None:
    repo = tmp_path / "k8s-cluster"
    shutil.copytree(cluster.tree.repo, repo, symlinks=True)
    add_docs_workspace(repo)
    args = cluster.args("--json", "--phase", "3")
    args[args.index("--repo") + 1] = str(repo)

    run = run_ocw(args)

    results = run.results()
    assert results[("P3.0", "opencode-ha")]["status"] == "pass"
    assert results[("P3.0", "opencode-docs")]["status"] == "fail", "never deployed in this cluster"
    docs = {check for check, workspace in results if workspace == "opencode-docs"}
    assert docs == {check for check, workspace in results if workspace == "opencode-ha"}, "the same checks as ha"
    assert run.code == 1

"""Installing the project's tree as a library call: what `ocw install` writes, without its report and final check,
for code that needs a cluster repository with the tree in it (the real-repository tests, the check benchmark)."""

from __future__ import annotations

from pathlib import Path

from ocw.errors import OcwError
from ocw.install import manifests
from ocw.install.host import load_host
from ocw.install.new_workspace import WorkspaceRequest
from ocw.install.plan import Plan, make_plan
from ocw.install.writer import write


def install(repo: Path, request: WorkspaceRequest | None = None, *, force: bool = False) -> Plan:
    """Write the project's tree (and the requested workspace) into `repo` as `ocw install` does; returns the plan it
    followed. OcwError, with nothing written, when a file differs from the project's and `force` is not given."""
    plan = make_plan(repo.resolve(), manifests.locate(), load_host(), request, force=force)
    refused = plan.by_action("refused")
    if refused:
        raise OcwError(
            f"expected the project's files or none in {plan.repo}, found {len(refused)} that differ: "
            f"{', '.join(str(c.path) for c in refused)}. Nothing was written",
            hint="make them match, or install with force to overwrite them",
        )
    write(plan.repo, plan.to_write)
    return plan

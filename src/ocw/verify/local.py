"""`ocw verify --local WORKSPACE`: the workspace-level checks (the same code as for the cluster) against a workspace
that `ocw up` runs on this machine. Only the endpoint differs: a loopback URL, no TLS, the password from `ocw up`'s
state, and, for a workspace run as processes, the working directory translated into the local volume as `ocw up`
maps it (in a container it is the manifest's own path)."""

from __future__ import annotations

from pathlib import Path

from ocw.up.state import EngineKind, local_endpoint, workspace_dirs
from ocw.up.volumes import mount_table
from ocw.verify.copilot_health import check_copilot_last_use
from ocw.verify.endpoint import Endpoint
from ocw.verify.registry import CRITERIA, phase_of_workspace
from ocw.verify.result import CheckResult, Outcome, failed, with_evidence
from ocw.verify.workspace_http import check_access, check_config, check_copilot, check_working_dir
from ocw.workspace import Workspace


def expected_local_dir(state_dir: Path, ws: Workspace, engine: EngineKind = "process") -> str | None:
    if not ws.working_dir:
        return None
    if engine == "container":
        return ws.working_dir
    return mount_table(workspace_dirs(state_dir, ws.name), ws.app_container).translate_path(ws.working_dir)


def run_local(
    ws: Workspace, state_dir: Path, timeout: float, repo: Path | None = None
) -> tuple[list[CheckResult], dict[str, str]]:
    found = local_endpoint(state_dir, ws.name, repo)
    endpoint = Endpoint(
        workspace=ws.name,
        url=found.url,
        password_source=found.password,
        username=found.username,
        timeout=timeout,
        where="this machine",
    )
    phase = phase_of_workspace(ws.short_name)
    expected = expected_local_dir(state_dir, ws, found.record.engine)
    where = "in the container" if found.record.engine == "container" else "on this machine"
    results: list[CheckResult] = []
    for criterion in (c for c in CRITERIA if c.local and c.phase in (phase, 4)):
        kind = criterion.id.split(".")[1]
        outcome: Outcome
        if criterion.id == "SEC.1":
            outcome = check_config(endpoint)
        elif criterion.id == "MON.2":
            outcome = check_copilot_last_use(endpoint)
        elif kind == "1":
            outcome = check_access(endpoint)
        elif kind == "2":
            outcome = check_copilot(endpoint)
        elif expected is None:
            outcome = failed("a workingDir on the app container in the tree", "none", "run `ocw check`")
        else:
            outcome = with_evidence(
                check_working_dir(endpoint, expected),
                f"the manifest's workingDir {ws.working_dir} is {expected} {where}",
            )
        results.append(CheckResult(criterion, ws.name, outcome))
    target = {
        "mode": "local",
        "workspace": ws.name,
        "url": found.url,
        "pid": str(found.pid),
        "engine": found.record.engine,
    }
    return results, target

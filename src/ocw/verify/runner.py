"""Runs the selected criteria against the cluster: the read-only checks first, then (with --disruptive) the pod
deletes and the Reloader cycle, whose outcomes replace the read-only ones they go beyond."""

from __future__ import annotations

from collections.abc import Callable

from ocw.errors import OcwError
from ocw.verify.alerts import check_alerts
from ocw.verify.context import VerifyContext
from ocw.verify.copilot_health import check_copilot_last_use
from ocw.verify.deployed import check_deployed
from ocw.verify.doppler import check_seed_script, check_variables
from ocw.verify.foundation import check_certificate, check_namespace
from ocw.verify.github import check_github_guard
from ocw.verify.init_checks import check_init_fast, check_log_has_no_token
from ocw.verify.origin_gate import check_origin_gate
from ocw.verify.pods import container_status, parse_time
from ocw.verify.reauth import check_reauth
from ocw.verify.registry import CRITERIA, PHASE2_WORKSPACE, Criterion, phase_of_workspace
from ocw.verify.reloader import check_annotation, reloader_cycle
from ocw.verify.restart import restart_workspace
from ocw.verify.result import CheckResult, Outcome, failed, skipped
from ocw.verify.sec01 import check_no_secrets
from ocw.verify.volsync import check_backup
from ocw.verify.workspace_http import check_access, check_config, check_copilot, check_working_dir
from ocw.workspace import Workspace

ClusterCheck = Callable[[VerifyContext], Outcome]
WorkspaceCheck = Callable[[VerifyContext, Workspace], Outcome]


def _access(ctx: VerifyContext, ws: Workspace) -> Outcome:
    # WORKSPACE_DIR is the app container's workingDir: the route sends `/` to its project.
    return check_access(ctx.endpoint(ws), landing_dir=ws.working_dir)


def _copilot(ctx: VerifyContext, ws: Workspace) -> Outcome:
    return check_copilot(ctx.endpoint(ws))


def _working_dir(ctx: VerifyContext, ws: Workspace) -> Outcome:
    if not ws.working_dir:
        return failed("a workingDir on the app container in the tree", "none", "run `ocw check`")
    return check_working_dir(ctx.endpoint(ws), ws.working_dir)


def _config(ctx: VerifyContext, ws: Workspace) -> Outcome:
    return check_config(ctx.endpoint(ws))


def _copilot_last_use(ctx: VerifyContext, ws: Workspace) -> Outcome:
    pod = ctx.current_pod(ws)
    status = container_status(pod, ws.app_container.name, init=False) if pod else None
    started = parse_time((((status or {}).get("state") or {}).get("running") or {}).get("startedAt"))
    return check_copilot_last_use(ctx.endpoint(ws), since=started)


def _github(ctx: VerifyContext, ws: Workspace) -> Outcome:
    secret = ctx.secret(ws)
    if secret.error is not None:
        return failed(
            f"the workspace Secret {ws.secret_name}", secret.error.message, "check P2.0/P3.0 (ExternalSecret Ready)"
        )
    token = secret.values.get(ctx.secret_key(ws, "GITHUB_PAT") or "", "").strip()
    env = ws.init_container.env if ws.init_container else []
    repository = next((v.value or "" for v in env if v.name == "WORKSPACE_GIT_REPOSITORY"), "")
    return check_github_guard(repository, token, api=ctx.options.github_api, timeout=ctx.options.http_timeout)


CLUSTER_CHECKS: dict[str, ClusterCheck] = {
    "P1.1": check_namespace,
    "P1.2": check_certificate,
    "P1.3": check_variables,
    "P1.4": check_seed_script,
    "P1.5": check_no_secrets,
}
WORKSPACE_CHECKS: dict[str, WorkspaceCheck] = {
    "P2.0": check_deployed,
    "P2.1": _access,
    "P2.2": _copilot,
    "P2.3": _working_dir,
    "P2.5": check_log_has_no_token,
    "P2.6": check_init_fast,
    "P3.0": check_deployed,
    "P3.1": _access,
    "P3.2": _copilot,
    "P3.3": _working_dir,
    "P4.2": check_backup,
    "P4.3": check_reauth,
    "P4.4": check_annotation,
    "SEC.1": _config,
    "SEC.2": _github,
    "MON.1": check_alerts,
    "MON.2": _copilot_last_use,
    "SEC.3": lambda ctx, ws: check_origin_gate(ctx.endpoint(ws)),
}
RESTART_IDS = {"P2.4", "P3.4", "P3.5", "P4.1", "P2.6"}


def targets(criterion: Criterion, workspaces: list[Workspace]) -> list[Workspace | None]:
    if criterion.scope == "cluster":
        return [None]
    if criterion.scope == "phase-workspace":
        return [ws for ws in workspaces if phase_of_workspace(ws.short_name) == criterion.phase]
    return list(workspaces)


def _guarded(criterion: Criterion, run: Callable[[], Outcome]) -> Outcome:
    try:
        return run()
    except OcwError as exc:
        return failed(criterion.proves, exc.message, exc.hint or "see docs/verify.md")


def _read_only(ctx: VerifyContext, criterion: Criterion, ws: Workspace | None) -> Outcome:
    if criterion.disruptive and not ctx.options.disruptive:
        return skipped("needs --disruptive (it deletes the workspace pod)")
    if criterion.disruptive:
        return skipped("not reached by the disruptive run")  # replaced by the restart's outcome
    if ws is None:
        check = CLUSTER_CHECKS[criterion.id]
        return _guarded(criterion, lambda: check(ctx))
    workspace_check = WORKSPACE_CHECKS[criterion.id]
    return _guarded(criterion, lambda: workspace_check(ctx, ws))


def run_cluster(ctx: VerifyContext) -> list[CheckResult]:
    selected = [c for c in CRITERIA if c.phase in ctx.options.phases]
    outcomes: dict[tuple[str, str | None], Outcome] = {}
    order: list[tuple[Criterion, str | None]] = []
    for criterion in selected:
        chosen = targets(criterion, ctx.workspaces)
        if not chosen:
            which = f"the {PHASE2_WORKSPACE} workspace" if criterion.phase == 2 else "a workspace other than flux"
            outcomes[(criterion.id, None)] = skipped(f"phase {criterion.phase} checks {which}; none selected")
            order.append((criterion, None))
            continue
        for ws in chosen:
            key = (criterion.id, ws.name if ws else None)
            outcomes[key] = _read_only(ctx, criterion, ws)
            order.append((criterion, key[1]))
    if ctx.options.disruptive:
        _disruptive(ctx, {c.id for c in selected}, outcomes)
    return [CheckResult(criterion, ws_name, outcomes[(criterion.id, ws_name)]) for criterion, ws_name in order]


def _disruptive(ctx: VerifyContext, selected: set[str], outcomes: dict[tuple[str, str | None], Outcome]) -> None:
    if selected & (RESTART_IDS - {"P2.6"}):
        for ws in ctx.workspaces:
            others = [o for o in ctx.workspaces if o.name != ws.name]
            try:
                restarted = restart_workspace(ctx, ws, others)
            except OcwError as exc:
                problem = failed("the pod delete to run to its end", exc.message, exc.hint or "see docs/verify.md")
                restarted = dict.fromkeys(RESTART_IDS, problem)
            for check_id, outcome in restarted.items():
                if check_id in selected and (check_id, ws.name) in outcomes:
                    outcomes[(check_id, ws.name)] = outcome
    if "P4.4" in selected:
        for ws in ctx.workspaces:
            key = ("P4.4", ws.name)
            outcomes[key] = _guarded(CRITERIA_BY_ID["P4.4"], _cycle(ctx, ws, outcomes[key]))


def _cycle(ctx: VerifyContext, ws: Workspace, annotation: Outcome) -> Callable[[], Outcome]:
    return lambda: reloader_cycle(ctx, ws, annotation)


CRITERIA_BY_ID = {c.id: c for c in CRITERIA}

"""`ocw secrets`: keep every workspace secret in Doppler — seed the Copilot login, create what is missing, report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ocw.cli_options import output_format, repo_path
from ocw.console import Progress, emit
from ocw.errors import EXIT_FAILED, EXIT_OK, OcwError
from ocw.password import password_problem
from ocw.secrets import rotate
from ocw.secrets.base import SecretStore
from ocw.secrets.copilot import default_auth_file, read_auth_file
from ocw.secrets.opencode_version import local_version, mismatch_warnings, workspace_version
from ocw.secrets.provision import generate_password, read_github_tokens
from ocw.secrets.status import collect_status
from ocw.secrets.store import open_store
from ocw.secrets.sync import Change, apply_changes, plan_changes
from ocw.secrets.targets import (
    COPILOT_AUTH_JSON,
    GITHUB_PAT,
    PASSWORD,
    SHARED,
    Variable,
    select_workspaces,
    variables_of,
)
from ocw.workspace import load_workspaces

progress = Progress("secrets")


def _open(args: argparse.Namespace) -> SecretStore:
    store = open_store(args.doppler_project, args.doppler_config)
    progress(f"using {store.describe()}")
    return store


def _workspaces(args: argparse.Namespace, names: list[str]) -> Any:
    repo = repo_path(args)
    progress(f"reading the workspaces of {repo}")
    return select_workspaces(repo, names, args.vars)


def _store_json(store: SecretStore) -> dict[str, Any]:
    return {"project": store.project, "config": store.config, "transport": store.transport}


# --- seed-copilot
def run_seed_copilot(args: argparse.Namespace) -> int:
    auth_file = args.auth_file or default_auth_file()
    auth = read_auth_file(auth_file)
    repo = repo_path(args)
    progress(f"reading the workspaces of {repo}")
    loaded = load_workspaces(repo, args.vars)  # once: the version check below reads the same workspaces
    workspaces = variables_of(loaded, args.workspace)
    store = _open(args)
    wanted = {ws.variable(COPILOT_AUTH_JSON): auth.document() for ws in workspaces}
    changes = plan_changes(store, wanted)
    if not args.dry_run:
        apply_changes(store, changes, wanted, progress)
    words = {
        "same": "unchanged",
        "missing": "would update (missing)" if args.dry_run else "updated (was missing)",
        "different": "would update (differs)" if args.dry_run else "updated (was different)",
    }
    lines = [f"{c.variable.name} ({c.variable.workspace}): {words[c.before]}" for c in changes]
    document = {
        **_store_json(store),
        "auth_file": str(auth_file),
        "dry_run": bool(args.dry_run),
        "variables": [_change_json(c, "unchanged" if c.before == "same" else "updated", args.dry_run) for c in changes],
    }
    local = local_version()
    chosen = {v.workspace for v in workspaces}
    runs = [ws for ws in loaded if ws.name in chosen]
    warnings = mismatch_warnings(local, runs)
    document["opencode_version"] = {"local": local, "workspaces": {ws.name: workspace_version(ws) for ws in runs}}
    document["warnings"] = warnings
    for warning in warnings:
        progress.warn(warning)
    emit(document, lines, output_format(args))
    return EXIT_OK


def _change_json(change: Change, outcome: str, dry_run: bool) -> dict[str, Any]:
    return {
        "workspace": change.variable.workspace,
        "role": change.variable.role,
        "name": change.variable.name,
        "before": change.before,
        "outcome": outcome if not dry_run or outcome in ("unchanged", "kept") else f"would-{outcome}",
    }


# --- init
def run_init(args: argparse.Namespace) -> int:
    workspaces = _workspaces(args, args.workspace)
    store = _open(args)
    existing = store.names()
    refused = _refused_passwords(store, [v for ws in workspaces for v in ws.variables()], existing)
    targets = [v for ws in workspaces for v in ws.variables() if args.force or v.name not in existing or v in refused]
    kept = [v for ws in workspaces for v in ws.variables() if v not in targets]
    for variable, problem in refused.items():
        progress(
            f"{variable.name} ({variable.workspace}) {problem}, which the workspace refuses to start with: "
            f"{'it would be' if args.dry_run else 'it is'} replaced by a generated password"
        )
    if args.dry_run:
        planned = [(v, "would-replace" if v.name in existing else "would-create") for v in targets]
        _report_init(store, planned, kept, {}, args)
        return EXIT_OK

    wanted = _init_values(targets, args)
    changes = plan_changes(store, wanted)
    apply_changes(store, changes, wanted, progress)
    outcome = {"missing": "created", "different": "replaced", "same": "unchanged"}
    passwords = {v.workspace: value for v, value in wanted.items() if v.role == PASSWORD}
    _report_init(store, [(c.variable, outcome[c.before]) for c in changes], kept, passwords, args)
    return EXIT_OK


def _refused_passwords(store: SecretStore, variables: list[Variable], existing: set[str]) -> dict[Variable, str]:
    """Stored passwords the OpenCode container would refuse (empty, too short): init never keeps those."""
    passwords = [v for v in variables if v.role == PASSWORD and v.name in existing]
    values = store.get_many(v.name for v in passwords) if passwords else {}
    problems = {v: password_problem(values.get(v.name)) for v in passwords}
    return {v: problem for v, problem in problems.items() if problem is not None}


def _init_values(targets: list[Variable], args: argparse.Namespace) -> dict[Variable, str]:
    """Every value is gathered (and validated) before the first write: a bad input leaves the store untouched."""
    copilot_document = None
    if any(v.role == COPILOT_AUTH_JSON for v in targets):
        copilot_document = read_auth_file(args.auth_file or default_auth_file()).document()
    token_for = read_github_tokens([v.workspace for v in targets if v.role == GITHUB_PAT], sys.stdin)
    wanted: dict[Variable, str] = {}
    for variable in targets:
        if variable.role == PASSWORD:
            wanted[variable] = generate_password()
        elif variable.role == GITHUB_PAT:
            wanted[variable] = token_for[variable.workspace]
        elif copilot_document is not None:
            wanted[variable] = copilot_document
    return wanted


def _report_init(
    store: SecretStore,
    outcomes: list[tuple[Variable, str]],
    kept: list[Variable],
    passwords: dict[str, str],
    args: argparse.Namespace,
) -> None:
    rows = [*outcomes, *((v, "kept") for v in kept)]
    lines = [f"{v.name} ({v.workspace}): {word.replace('-', ' ')}" for v, word in rows]
    if kept and not args.force:
        lines.append("kept values are never overwritten without --force")
    shown = passwords if args.show_password else {}
    lines += [f"password for {workspace}: {password}" for workspace, password in shown.items()]
    document: dict[str, Any] = {
        **_store_json(store),
        "dry_run": bool(args.dry_run),
        "variables": [{"workspace": v.workspace, "role": v.role, "name": v.name, "outcome": w} for v, w in rows],
    }
    if shown:
        document["passwords"] = shown
    emit(document, lines, output_format(args))


# --- status
def run_status(args: argparse.Namespace) -> int:
    workspaces = _workspaces(args, args.workspace)
    store = _open(args)
    if args.online:
        progress("asking GitHub whether the Copilot logins are still accepted")
    statuses, history_note = collect_status(store, workspaces, online=args.online)
    lines: list[str] = []
    for status in statuses:
        owner = status.variable.workspace
        if status.variable.role == SHARED:
            owner = f"shared with the cluster, read by {owner}"
        if not status.present:
            hint = (
                "; the cluster's own ExternalSecrets read it too: create it there"
                if status.variable.role == SHARED
                else ""
            )
            lines.append(f"{status.variable.name} ({owner}): missing{hint}")
            continue
        facts = [f"present, {status.length} characters"]
        if status.last_changed:
            facts.append(f"changed {status.last_changed}")
        if status.variable.role == PASSWORD and status.content_problem:
            facts.append(status.content_problem)
        if status.variable.role == COPILOT_AUTH_JSON:
            facts.append(status.content_problem or "github-copilot entry valid")
            if status.token_check:
                facts.append(f"{status.token_check.verdict}: {status.token_check.detail}")
        lines.append(f"{status.variable.name} ({owner}): {'; '.join(facts)}")
    problems = [s for s in statuses if s.problems]
    if history_note:
        lines.append(history_note)
    lines.append(f"{len(problems)} of {len(statuses)} variable(s) need attention" if problems else "all present")
    document = {
        **_store_json(store),
        "variables": [s.as_json() for s in statuses],
        "ok": not problems,
        "note": history_note,
    }
    emit(document, lines, output_format(args))
    return EXIT_FAILED if problems else EXIT_OK


# --- set
def run_set(args: argparse.Namespace) -> int:
    [workspace] = _workspaces(args, [args.workspace_name])
    role = rotate.role_of(args.key, workspace)
    if args.generate and role != PASSWORD:
        raise OcwError(f"--generate makes passwords; {args.key} is the {role}", hint="leave --generate out")
    name = workspace.workspace
    if role == PASSWORD:
        value = rotate.new_password(sys.stdin, generate=args.generate, workspace=name)
    elif role == GITHUB_PAT:
        value = rotate.new_github_token(sys.stdin, workspace=name)
    else:
        value = rotate.new_copilot_login(sys.stdin, auth_file=args.auth_file)
    variable = workspace.variable(role)
    store = _open(args)
    wanted = {variable: value}
    [change] = plan_changes(store, wanted)
    if not args.dry_run:
        apply_changes(store, [change], wanted, progress)
    outcome = {"missing": "created", "different": "replaced", "same": "unchanged"}[change.before]
    if args.dry_run and outcome != "unchanged":
        outcome = f"would be {outcome}"
    lines = [f"{variable.name} ({name}): {outcome}"]
    shown = args.show_password and args.generate and not args.dry_run
    if shown:
        lines.append(f"password for {name}: {value}")
    if change.needs_write and not args.dry_run:
        lines.append(
            f"the cluster follows within 5 minutes (ExternalSecret refresh, then Reloader restarts {name}); "
            f"to refresh now: kubectl -n {workspace.namespace} annotate externalsecret "
            f"{workspace.external_secret or name} force-sync=$(date +%s) --overwrite"
        )
    document: dict[str, Any] = {
        **_store_json(store),
        "dry_run": bool(args.dry_run),
        "variables": [{"workspace": name, "role": role, "name": variable.name, "outcome": outcome.replace(" ", "-")}],
    }
    if shown:
        document["passwords"] = {name: value}
    emit(document, lines, output_format(args))
    return EXIT_OK

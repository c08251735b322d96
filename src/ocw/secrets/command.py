"""`ocw secrets`: keep every workspace secret in Doppler — seed the Copilot login, create what is missing, report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ocw.errors import EXIT_FAILED, EXIT_OK
from ocw.password import password_problem
from ocw.paths import project_root
from ocw.secrets.base import SecretStore
from ocw.secrets.copilot import default_auth_file, read_auth_file
from ocw.secrets.opencode_version import local_version, mismatch_warnings, workspace_version
from ocw.secrets.provision import generate_password, read_github_tokens
from ocw.secrets.status import collect_status
from ocw.secrets.store import open_store
from ocw.secrets.sync import Change, apply_changes, plan_changes
from ocw.secrets.targets import COPILOT_AUTH_JSON, GITHUB_PAT, PASSWORD, SHARED, Variable, select_workspaces
from ocw.workspace import load_workspaces


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "secrets",
        help="keep the workspaces' secrets in Doppler (Copilot login, GitHub token, password)",
        description="Every workspace secret lives in Doppler, where the cluster's ExternalSecrets read it. "
        "These commands write and inspect it through the Doppler CLI (or the REST API with DOPPLER_TOKEN); "
        "no value is ever printed unless you ask for a generated password.",
    )
    commands = parser.add_subparsers(dest="secrets_command", metavar="SUBCOMMAND", required=True)

    seed = commands.add_parser(
        "seed-copilot",
        help="copy the local OpenCode Copilot login into each workspace's Doppler variable",
        description="Reads the github-copilot entry of OpenCode's auth.json and writes it to "
        "<PREFIX>_COPILOT_AUTH_JSON for each workspace; variables that already hold it are left alone.",
    )
    _common(seed)
    _auth_file(seed)
    seed.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    seed.add_argument("--json", action="store_true", help="print the result as JSON")
    seed.set_defaults(handler=run_seed_copilot)

    init = commands.add_parser(
        "init",
        help="create whichever workspace variables are missing",
        description="Creates each missing variable: a generated password, the GitHub token (hidden prompt, or "
        "stdin: one line per workspace in the order listed, or one line for all) and the Copilot login from "
        "auth.json. Existing values are kept unless --force is given.",
    )
    _common(init)
    _auth_file(init)
    init.add_argument("--force", action="store_true", help="replace existing values too")
    init.add_argument("--show-password", action="store_true", help="print each generated password once")
    init.add_argument("--dry-run", action="store_true", help="show what would be created; ask and write nothing")
    init.add_argument("--json", action="store_true", help="print the result as JSON")
    init.set_defaults(handler=run_init)

    status = commands.add_parser(
        "status",
        help="report each workspace variable: present, length, last change, Copilot login validity",
        description="Lists each workspace's own variables and the shared ones its ExternalSecrets read (the "
        "cluster's VolSync repository and credentials). Exit code 1 when a variable is missing, a Copilot document "
        "is malformed or (with --online) GitHub rejects its token.",
    )
    _common(status)
    status.add_argument("--online", action="store_true", help="ask GitHub whether each Copilot token is still accepted")
    status.add_argument("--json", action="store_true", help="print the result as JSON")
    status.set_defaults(handler=run_status)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo", type=Path, default=None, metavar="DIR", help="the GitOps checkout (default: this project)"
    )
    parser.add_argument(
        "--workspace",
        action="append",
        default=[],
        metavar="NAME",
        help="only this workspace (e.g. flux or opencode-flux); repeat for more; default: every workspace",
    )
    parser.add_argument("--project", help="Doppler project (default: DOPPLER_PROJECT, doppler setup, k3s-cluster)")
    parser.add_argument("--config", help="Doppler config (default: DOPPLER_CONFIG, doppler setup, prd)")


def _auth_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auth-file",
        type=Path,
        metavar="PATH",
        help="OpenCode's auth.json (default: $XDG_DATA_HOME/opencode/auth.json, i.e. ~/.local/share/opencode)",
    )


def _progress(message: str) -> None:
    print(f"ocw secrets: {message}", file=sys.stderr, flush=True)


def _open(args: argparse.Namespace) -> SecretStore:
    store = open_store(args.project, args.config)
    _progress(f"using {store.describe()}")
    return store


def _repo(args: argparse.Namespace) -> Path:
    return Path(args.repo) if args.repo else project_root()


def _emit(document: dict[str, Any], lines: list[str], as_json: bool) -> None:
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        print("\n".join(lines))


def _store_json(store: SecretStore) -> dict[str, Any]:
    return {"project": store.project, "config": store.config, "transport": store.transport}


# --- seed-copilot
def run_seed_copilot(args: argparse.Namespace) -> int:
    auth_file = args.auth_file or default_auth_file()
    auth = read_auth_file(auth_file)
    workspaces = select_workspaces(_repo(args), args.workspace)
    store = _open(args)
    wanted = {ws.variable(COPILOT_AUTH_JSON): auth.document() for ws in workspaces}
    changes = plan_changes(store, wanted)
    if not args.dry_run:
        apply_changes(store, changes, wanted, _progress)
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
    runs = [ws for ws in load_workspaces(_repo(args)) if ws.name in chosen]
    warnings = mismatch_warnings(local, runs)
    document["opencode_version"] = {"local": local, "workspaces": {ws.name: workspace_version(ws) for ws in runs}}
    document["warnings"] = warnings
    for warning in warnings:
        print(f"ocw secrets: warning: {warning}", file=sys.stderr, flush=True)
    _emit(document, lines, args.json)
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
    workspaces = select_workspaces(_repo(args), args.workspace)
    store = _open(args)
    existing = store.names()
    refused = _refused_passwords(store, [v for ws in workspaces for v in ws.variables()], existing)
    targets = [v for ws in workspaces for v in ws.variables() if args.force or v.name not in existing or v in refused]
    kept = [v for ws in workspaces for v in ws.variables() if v not in targets]
    for variable, problem in refused.items():
        _progress(
            f"{variable.name} ({variable.workspace}) {problem}, which the workspace refuses to start with: "
            f"{'it would be' if args.dry_run else 'it is'} replaced by a generated password"
        )
    if args.dry_run:
        planned = [(v, "would-replace" if v.name in existing else "would-create") for v in targets]
        _report_init(store, planned, kept, {}, args)
        return EXIT_OK

    wanted = _init_values(targets, args)
    changes = plan_changes(store, wanted)
    apply_changes(store, changes, wanted, _progress)
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
    _emit(document, lines, args.json)


# --- status
def run_status(args: argparse.Namespace) -> int:
    workspaces = select_workspaces(_repo(args), args.workspace)
    store = _open(args)
    if args.online:
        _progress("asking GitHub whether the Copilot logins are still accepted")
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
    _emit(document, lines, args.json)
    return EXIT_FAILED if problems else EXIT_OK

"""`ocw verify`: every roadmap success criterion, checked against the live cluster (or `--local`) in one command.

Exit codes: 0 every selected check passed (skipped ones are listed but do not fail the run), 1 at least one check
failed, 2 nothing could be checked (bad input, no kubeconfig, the API server unreachable).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ocw.cli_options import (
    check_command,
    output_format,
    repo_path,
)
from ocw.console import Format, Progress, emit
from ocw.errors import OcwError
from ocw.secrets.store import open_store
from ocw.tree import load_tree
from ocw.up.state import default_state_dir
from ocw.verify.cluster import NAMESPACE, Cluster, ClusterSettings
from ocw.verify.context import Options, VerifyContext
from ocw.verify.endpoint import parse_connect_to
from ocw.verify.kubeconfig import load_config
from ocw.verify.local import run_local
from ocw.verify.registry import PHASES
from ocw.verify.report import document, exit_code, render_text
from ocw.verify.result import CheckResult
from ocw.verify.runner import run_cluster
from ocw.workspace import Workspace, find_workspace, workspaces_in


def _positive(value: float, flag: str) -> float:
    if value <= 0:
        raise OcwError(f"{flag} must be a positive number of seconds, found {value:g}", hint=f"e.g. {flag} 120")
    return value


progress = Progress("verify")


def run(args: argparse.Namespace) -> int:
    repo = repo_path(args)
    timeout = _positive(args.timeout, "--timeout")
    request_timeout = _positive(args.request_timeout, "--request-timeout")
    tree = load_tree(repo, args.vars)
    all_workspaces = workspaces_in(tree)
    if not all_workspaces:
        raise OcwError(f"no workspace in the tree at {repo}", hint=f"run `{check_command(repo)}`")
    if args.local:
        return _run_local(args, repo, all_workspaces, request_timeout)
    chosen: list[Workspace] = []
    for name in args.workspace:
        ws = find_workspace(all_workspaces, name)
        if ws not in chosen:
            chosen.append(ws)
    options = Options(
        repo=repo,
        var_files=list(args.vars),
        phases=tuple(sorted(set(args.phase))) or PHASES,
        workspaces=tuple(args.workspace),
        disruptive=args.disruptive,
        timeout=timeout,
        http_timeout=request_timeout,
        connect_to=parse_connect_to(args.connect_to),
        ca_file=args.ca_file,
        doppler_project=args.doppler_project,
        doppler_config=args.doppler_config,
        progress=progress,
        github_api=args.github_api,
        prometheus=args.prometheus,
    )
    config = load_config(args.kubeconfig, args.context)
    cluster = Cluster(config, ClusterSettings(timeout=request_timeout), allow_writes=args.disruptive)
    try:
        workspaces = chosen or all_workspaces
        cluster.get(NAMESPACE, workspaces[0].namespace)  # reachable and allowed, or exit 2 before any check
        ctx = VerifyContext(options, cluster, workspaces, dict(tree.cluster_vars), open_store)
        results = run_cluster(ctx)
    finally:
        cluster.close()
    target = {"mode": "cluster", "context": cluster.context, "server": cluster.server, "disruptive": args.disruptive}
    header = f"ocw verify: {cluster.describe()}" + (" (disruptive)" if args.disruptive else " (read-only)")
    return _emit(results, target, header, output_format(args))


def _run_local(args: argparse.Namespace, repo: Path, workspaces: list[Workspace], timeout: float) -> int:
    ws = find_workspace(workspaces, args.local)
    state_dir = (args.state_dir or default_state_dir(repo)).resolve()
    results, target = run_local(ws, state_dir, timeout, repo)
    return _emit(results, target, f"ocw verify --local {ws.name}: {target['url']}", output_format(args))


def _emit(results: list[CheckResult], target: dict[str, Any], header: str, fmt: Format) -> int:
    emit(document(results, target), render_text(results, header), fmt)
    return exit_code(results)

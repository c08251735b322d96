"""`ocw install`: the project's tree into a cluster repository (and, with --workspace, one more workspace), then
`ocw check` on the result."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ocw.check.report import CheckReport
from ocw.cli_options import output_format, repo_path
from ocw.console import Progress, emit
from ocw.errors import EXIT_CANNOT_RUN, EXIT_FAILED, EXIT_OK, OcwError
from ocw.flux.kustomization import discover, select
from ocw.flux.variables import read_var_file
from ocw.install import manifests as project_tree
from ocw.install.baseline import Baseline, errors_before
from ocw.install.host import load_host
from ocw.install.manifests import APPS
from ocw.install.new_workspace import WorkspaceRequest
from ocw.install.next_steps import next_steps
from ocw.install.plan import Plan, make_plan
from ocw.install.writer import write
from ocw.kube import DEFAULT_KUBERNETES_VERSION
from ocw.tree import Tree, visible_documents

ACTIONS = ("created", "updated", "unchanged", "refused")
WORKSPACE_OPTIONS = ("repository", "dir", "host", "secret_prefix")


def handle(args: argparse.Namespace) -> int:
    request = _request(args)
    repo = repo_path(args)
    tree = project_tree.locate()
    if repo == tree.root.resolve():
        raise OcwError(
            f"{repo} is the tree ocw installs from, not a cluster repository",
            hint="pass --repo with your cluster repository (e.g. --repo ~/git/k8s-cluster), or run from inside it",
        )
    progress(f"installing from {tree.root / 'kubernetes'} into {repo}")
    # What the check after writing reads, read before it: an input that cannot be read leaves nothing half-written.
    for var_file in args.vars:
        read_var_file(var_file)
    visible_documents(repo)
    plan = make_plan(repo, tree, load_host(), request, force=args.force)
    refused = plan.by_action("refused")
    if refused:
        _print_outcome(args, plan, None, [], diffs=refused)
        progress(
            f"refused: {len(refused)} file(s) differ from the project's and were left alone; nothing was written. "
            f"Make them match, or run again with --force to overwrite them (your ks.yaml settings are kept)"
        )
        return EXIT_CANNOT_RUN
    if args.dry_run:
        _print_outcome(args, plan, None, [], diffs=plan.to_write)
        return EXIT_OK
    if plan.to_write:
        write(repo, plan.to_write)
    progress("running ocw check on the result")
    trees: list[Tree] = []
    try:
        report = _check(repo, args, on_tree=trees.append)
        workspaces = _workspaces(repo, trees[0])
        baseline = _baseline(repo, args, plan, report)
    except OcwError as exc:
        state = "written" if plan.to_write else "unchanged"
        raise OcwError(f"the files are {state}, but ocw check could not run: {exc.message}", hint=exc.hint) from exc
    _print_outcome(args, plan, report, workspaces, diffs=[], baseline=baseline)
    return EXIT_OK if not baseline.added else EXIT_FAILED


def _check(repo: Path, args: argparse.Namespace, on_tree: Callable[[Tree], None] | None = None) -> CheckReport:
    # The check's modules load only once files are written: a refusal, a dry run or bad input is told at once.
    from ocw.check.run import run_check  # noqa: PLC0415

    return run_check(
        repo,
        args.vars,
        args.schemas,
        kubernetes_version=DEFAULT_KUBERNETES_VERSION,
        progress=lambda message: progress(f"check: {message}"),
        on_tree=on_tree,
    )


def _baseline(repo: Path, args: argparse.Namespace, plan: Plan, report: CheckReport) -> Baseline:
    """Which of the result's errors were in the repository before: checked on a copy with the files as they were,
    only when there are errors to tell apart."""
    if not report.errors:
        return Baseline(report.errors, [])
    if not plan.to_write:
        return Baseline(report.errors, [])  # nothing written: every error was there before
    progress(f"check: {len(report.errors)} error(s); checking the repository as it was before, to tell whose they are")
    return errors_before(repo, plan.to_write, report, lambda copy: _check(copy, args))


def _request(args: argparse.Namespace) -> WorkspaceRequest | None:
    given = [f"--{name.replace('_', '-')}" for name in WORKSPACE_OPTIONS if getattr(args, name) is not None]
    if args.workspace is None:
        if given:
            raise OcwError(f"{', '.join(given)} describe a new workspace: expected --workspace NAME with them")
        return None
    if not args.repository:
        raise OcwError(f"--workspace {args.workspace} needs --repository URL (its https:// clone URL)")
    return WorkspaceRequest(args.workspace, args.repository, args.dir, args.host, args.secret_prefix)


def _workspaces(repo: Path, tree: Tree) -> list[str]:
    """The workspaces ocw's own discovery finds in the installed tree (what `ocw up` and `ocw verify` will see), in
    the tree the check built: the same repository and variables, and always the whole graph."""
    from ocw.workspace import workspace_releases  # noqa: PLC0415 - see _check

    kustomizations, _ = discover(repo)
    # A Kustomization of the apps folder that Flux's graph does not reach is an error naming what it does reach.
    select(
        tree.kustomizations, [ks.name for ks in kustomizations if ks.source_file.parent.parent.as_posix() == str(APPS)]
    )
    return sorted(helmrelease.name for _, helmrelease in workspace_releases(tree))


progress = Progress("install")


def _print_outcome(
    args: argparse.Namespace,
    plan: Plan,
    report: CheckReport | None,
    workspaces: list[str],
    *,
    diffs: Sequence[Any],
    baseline: Baseline | None = None,
) -> None:
    steps = next_steps(plan, workspaces) if report is not None else []
    fmt = output_format(args)
    if fmt != "text":
        emit(_as_json(args, plan, report, workspaces, diffs, baseline=baseline, steps=steps), "", fmt)
        return
    for change in diffs:
        print(change.diff(), end="")
    refusing = bool(plan.by_action("refused"))
    for change in plan.changes:
        if change.action != "unchanged":
            written = not args.dry_run and not refusing
            verb = change.action if written or change.action == "refused" else f"would be {change.action}"
            print(f"{verb:<18} {change.path}")
    unchanged = len(plan.by_action("unchanged"))
    if not plan.to_write and not plan.by_action("refused"):
        print(f"nothing to change: all {unchanged} file(s) are installed as they are")
    elif unchanged:
        print(f"{unchanged} file(s) unchanged")
    if plan.workspace:
        ws = plan.workspace
        print(
            f"workspace {ws.app}: https://{ws.host}.opencode.<domain>, {ws.repository} at {ws.directory}, "
            f"Doppler {ws.secret_prefix}_*, backup at {ws.schedule!r}"
        )
    if report is not None:
        print()
        print(report.to_text())
        if baseline is not None:
            print(baseline.to_text())
        print(f"workspaces: {', '.join(workspaces) or 'none found'}")
    if steps:
        print("\nnext steps:")
        print("\n".join(f"  {number}. {step}" for number, step in enumerate(steps, 1)))


def _as_json(
    args: argparse.Namespace,
    plan: Plan,
    report: CheckReport | None,
    workspaces: list[str],
    diffs: Sequence[Any],
    *,
    baseline: Baseline | None,
    steps: list[str],
) -> dict[str, Any]:
    ws = plan.workspace
    return {
        "repo": str(plan.repo),
        "dry_run": bool(args.dry_run),
        # False when nothing was written: a dry run, or a refusal (then `created`/`updated` say what would be)
        "written": report is not None and bool(plan.to_write),
        "files": {action: [str(c.path) for c in plan.by_action(action)] for action in ACTIONS},
        "diffs": {str(c.path): c.diff() for c in diffs},
        "workspace": None
        if ws is None
        else {
            "app": ws.app,
            "host": ws.host,
            "secret_prefix": ws.secret_prefix,
            "repository": ws.repository,
            "dir": ws.directory,
            "schedule": ws.schedule,
        },
        "check": None
        if report is None
        else {
            **report.summary(),
            "ok": report.ok,
            "errors_added": None if baseline is None else len(baseline.added),
            "errors_before": [] if baseline is None else [f.as_dict() for f in baseline.before],
        },
        "workspaces": workspaces,
        "next_steps": steps,
    }

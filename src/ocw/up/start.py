"""`ocw up`: build the workspace from the manifests, refuse it on `ocw check` errors, plan its pod and start it, in
the foreground or detached."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ocw.cli_options import check_command, repo_path
from ocw.errors import EXIT_FAILED, OcwError
from ocw.flux.artifact import repository_files
from ocw.up import supervisor
from ocw.up.built_workspaces import cached_workspace, keep_workspace
from ocw.up.check_gate import check_errors
from ocw.up.command import state_dir_of
from ocw.up.engine_choice import choose_engine
from ocw.up.inputs import inputs_digest
from ocw.up.logs import tail
from ocw.up.plan import Plan, UpOptions, make_plan
from ocw.up.runtime import StopResult, cleanup, local_server
from ocw.up.state import read_record, remember_repository
from ocw.up.timings import Timings
from ocw.workspace import Workspace, find_workspace, load_workspaces


def _refuse_on_check_errors(
    repo: Path,
    var_files: Sequence[Path],
    workspace: Workspace,
    skip: bool,
    inputs: str,
) -> bool:
    """`ocw check`'s errors about this workspace's Kustomization (and the files it shares) stop `up`. Returns whether
    the verdict came from the cache."""
    errors, cached = check_errors(repo, var_files, workspace.name, inputs=inputs)
    if not errors:
        return cached
    listed = "\n".join(f"  {error.file}: {error.message}" for error in errors[:10])
    if skip:
        print(f"warning: ocw check finds {len(errors)} error(s) for {workspace.name}; starting anyway:\n{listed}")
        return cached
    raise OcwError(
        f"ocw check finds {len(errors)} error(s) for {workspace.name}; not starting it:\n{listed}",
        hint=f"run `{check_command(repo, workspace.name)}` and fix them, then this ocw up again "
        "(--skip-check starts anyway)",
        exit_code=EXIT_FAILED,
    )


def _print_started(plan: Plan, show_password: bool, ready_after: float) -> None:
    where = f"container {plan.app_run.name}, image {plan.image}" if plan.app_run else "processes on this machine"
    print(f"{plan.workspace.name} is ready after {ready_after:.1f} s ({where})")
    print(f"  open:      {plan.project_url}")
    print(f"  server:    {plan.url}/")
    print(f"  username:  {plan.username}")
    print(
        f"  password:  {plan.password}"
        if show_password
        else f"  password:  in {plan.dirs.password_file} ({plan.secret_origin})"
    )
    if plan.absent_secret_keys:
        print(f"  absent:    {', '.join(plan.absent_secret_keys)} (no --secrets given)")
    print(f"  directory: {plan.app.cwd}  (in the pod: {plan.working_dir})")
    print(f"  config:    {_config_in_force(plan)}")
    print(f"  logs:      {plan.dirs.logs}")


def _config_in_force(plan: Plan) -> str:
    """What the running server says of the settings the workspace config pins (GET /config), not what was asked."""
    from ocw.up.local_server import LocalServerError  # noqa: PLC0415 - after OpenCode answers, off a start's path

    try:
        with local_server(plan, timeout=10.0) as server:
            config = server.get_json("/config")
    except LocalServerError as exc:
        return f"unknown ({exc})"
    share = config.get("share") or "manual (OpenCode's default)"
    autoupdate = "off" if config.get("autoupdate") is False else "on"
    return f"sharing {share}, autoupdate {autoupdate} (GET /config)"


class _Stop(Exception):
    pass


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _Stop


def _progress(step: str) -> None:
    print(f"ocw up: {step}", file=sys.stderr, flush=True)


def run_up(args: argparse.Namespace) -> int:
    repo = repo_path(args)
    timings = Timings(on_step=_progress)
    with timings.step("build the workspace from the manifests"):
        files = repository_files(repo)  # listed once, for the tree and for the caches' key
        inputs = inputs_digest(repo, args.vars, files)
        workspace = cached_workspace(inputs, args.workspace)
        if workspace is None:
            workspace = find_workspace(load_workspaces(repo, args.vars, files), args.workspace)
            keep_workspace(inputs, args.workspace, workspace)
    if workspace.chart_note:
        print(f"warning: {workspace.chart_note}", file=sys.stderr, flush=True)
    with timings.step("ocw check of the workspace"):
        _refuse_on_check_errors(repo, args.vars, workspace, args.skip_check, inputs)
    with timings.step("choose the engine"):
        choice = choose_engine(args.engine)
    if choice.note:
        print(f"note: {choice.note}", flush=True)
    options = UpOptions(
        state_dir=state_dir_of(args),
        source=args.source,
        secrets_file=args.secrets,
        port=args.port,
        listen=args.listen,
        image=choice.image,
        rootless=choice.engine.rootless if choice.engine else False,
    )
    with timings.step("plan the pod"):
        plan = make_plan(workspace, options)
    runtime = supervisor.runtime_for(choice.engine)
    started = time.monotonic()
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with supervisor.startup_lock(plan.dirs, "starting"):
            remember_repository(plan.dirs.root.parent, repo)
            # stops what it started if interrupted
            started_pod = supervisor.start(plan, runtime, detached=args.detach, timings=timings)
    except _Stop:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise KeyboardInterrupt from None
    process, record = started_pod.process, started_pod.record
    for note in started_pod.notes:
        print(f"note: {note}", flush=True)
    timings.write(plan.dirs.timings_file)
    if args.timings:
        print(f"where the start went:\n{timings.table()}", flush=True)
    if args.detach:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _print_started(plan, args.show_password, time.monotonic() - started)
        where = f" --state-dir {args.state_dir}" if args.state_dir else ""
        print(f"  stop with: ocw down {workspace.short_name}{where}")
        return 0
    try:
        # From here on any interruption, even while printing, stops the server: none is left behind.
        _print_started(plan, args.show_password, time.monotonic() - started)
        print("Press Ctrl-C to stop.", flush=True)
        code = process.wait()
    except (KeyboardInterrupt, _Stop):
        result = runtime.stop(record, args.stop_timeout) or StopResult(record.pid, 0.0, False)
        process.wait()
        cleanup(plan.dirs)
        how = "killed after the grace period" if result.killed else "stopped"
        print(f"\n{workspace.name} {how} in {result.seconds:.2f} s")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    with supervisor.startup_lock(plan.dirs, "stopping", when_busy="wait"):  # an `ocw down` elsewhere finishes first
        stopped_elsewhere = read_record(plan.dirs) is None
        cleanup(plan.dirs)
    if stopped_elsewhere:
        print(f"\n{workspace.name} was stopped by `ocw down`")
        return 0
    print(f"OpenCode exited on its own with code {code}; its last output:\n{tail(plan.dirs.opencode_log)}")
    return EXIT_FAILED

"""`ocw up`, `ocw down`, `ocw ps`: the command-line side of running a workspace locally."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from ocw.cli_options import (
    STATE_DIR_HELP,
    add_output,
    add_repo,
    add_state_dir,
    add_stop_timeout,
    check_command,
    output_format,
    repo_path,
)
from ocw.component import NAME_PREFIX
from ocw.console import emit
from ocw.errors import EXIT_FAILED, OcwError
from ocw.opencode.client import OpenCodeClient, OpenCodeError
from ocw.up import supervisor
from ocw.up.check_gate import check_errors
from ocw.up.engine_choice import ENGINE_CHOICES, choose_engine
from ocw.up.logs import tail
from ocw.up.plan import LOCAL_LISTEN, Plan, UpOptions, make_plan
from ocw.up.ports import ANY_PORT, port_argument
from ocw.up.runtime import DEFAULT_STOP_GRACE, StopResult, cleanup
from ocw.up.state import (
    all_state_dirs,
    default_state_dir,
    is_alive,
    known_workspaces,
    read_record,
    remember_repository,
    repositories_dir,
    state_dir_repository,
    workspace_dirs,
)
from ocw.up.timings import Timings
from ocw.workspace import Workspace, find_workspace, load_workspaces


def _common(parser: argparse.ArgumentParser) -> None:
    add_repo(parser)
    add_state_dir(parser, f"{STATE_DIR_HELP}; down and ps look in every repository's unless --repo is given")


STOP_TIMEOUT_DEFAULT = (
    f"the manifests' terminationGracePeriodSeconds in a container, {DEFAULT_STOP_GRACE:g} as processes"
)


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="run a workspace on this machine from its manifests",
        description="Run the workspace's init step, then OpenCode, as the HelmRelease defines them, with the pod's "
        "volumes as folders under the state dir.",
    )
    up.add_argument("workspace", metavar="WORKSPACE", help="app name (opencode-flux) or short name (flux)")
    up.add_argument("--source", help="clone this URL or local path instead of the manifest's repository")
    up.add_argument("--secrets", type=Path, help="KEY=value file keyed by the workspace's Doppler variable names")
    up.add_argument(
        "--port",
        type=port_argument,
        help=f"local port (default: the manifest's port; {ANY_PORT}: any free port, printed once it answers)",
    )
    up.add_argument(
        "--listen",
        default=LOCAL_LISTEN,
        help=f"address bound where the manifest says 0.0.0.0 (default {LOCAL_LISTEN})",
    )
    up.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="auto",
        help="container: the workspace image with podman, as the pod runs; process: OpenCode and git of this "
        "machine, with only the image's commands on PATH; auto (default): container when podman works and the "
        "image is built (make image), else process with a note why",
    )
    up.add_argument("-d", "--detach", action="store_true", help="return once the workspace answers; stop with down")
    up.add_argument("--vars", type=Path, action="append", default=[], help="cluster variables file (repeatable)")
    up.add_argument("--show-password", action="store_true", help="print the server password")
    up.add_argument("--skip-check", action="store_true", help="start even if `ocw check` finds errors (listed)")
    up.add_argument(
        "--timings", action="store_true", help="print the time each step of the start took (always kept in the logs)"
    )
    add_stop_timeout(up, STOP_TIMEOUT_DEFAULT)
    _common(up)
    up.set_defaults(handler=run_up)

    down = subparsers.add_parser("down", help="stop a workspace started with ocw up")
    down.add_argument("workspace", metavar="WORKSPACE", nargs="?", help="app name (opencode-flux) or short name (flux)")
    down.add_argument("--all", action="store_true", help="stop every workspace ocw up started (see ocw ps)")
    add_stop_timeout(down, STOP_TIMEOUT_DEFAULT)
    _common(down)
    down.set_defaults(handler=run_down)

    ps = subparsers.add_parser("ps", help="list the workspaces ocw up started and whether they run")
    add_output(ps, "the list")
    _common(ps)
    ps.set_defaults(handler=run_ps)


def _state_dir(args: argparse.Namespace) -> Path:
    return (args.state_dir or default_state_dir(repo_path(args))).resolve()


def _refuse_on_check_errors(repo: Path, var_files: Sequence[Path], workspace: Workspace, skip: bool) -> bool:
    """`ocw check`'s errors about this workspace's Kustomization (and the files it shares) stop `up`. Returns whether
    the verdict came from the cache."""
    errors, cached = check_errors(repo, var_files, workspace.name)
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
    try:
        config = OpenCodeClient(plan.url, plan.password, plan.username).get_json("/config")
    except OpenCodeError as exc:
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
        workspace = find_workspace(load_workspaces(repo, args.vars), args.workspace)
    if workspace.chart_note:
        print(f"warning: {workspace.chart_note}", file=sys.stderr, flush=True)
    with timings.step("ocw check of the workspace"):
        _refuse_on_check_errors(repo, args.vars, workspace, args.skip_check)
    with timings.step("choose the engine"):
        choice = choose_engine(args.engine)
    if choice.note:
        print(f"note: {choice.note}", flush=True)
    options = UpOptions(
        state_dir=_state_dir(args),
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


def _state_dirs(args: argparse.Namespace) -> list[Path]:
    """Where `down` and `ps` look: the --state-dir given, the --repo's, else every repository's (from any folder)."""
    if args.state_dir is not None or args.repo is not None:
        return [_state_dir(args)]
    return all_state_dirs()


def _matches(name: str, wanted: str) -> bool:
    return wanted in (name, name.removeprefix(NAME_PREFIX))


def _is_running(state_dir: Path, name: str) -> bool:
    record = read_record(workspace_dirs(state_dir, name))
    return record is not None and is_alive(record)


def _targets(args: argparse.Namespace) -> list[tuple[Path, str]]:
    """(state dir, app name) of each workspace `down` stops."""
    known = [(state_dir, name) for state_dir in _state_dirs(args) for name in known_workspaces(state_dir)]
    if args.all:
        return known
    found = [(state_dir, name) for state_dir, name in known if _matches(name, args.workspace)]
    running = [(state_dir, name) for state_dir, name in found if _is_running(state_dir, name)]
    if len(running) > 1:
        listed = "\n".join(f"  {name} from {state_dir_repository(d) or '?'} (--state-dir {d})" for d, name in running)
        raise OcwError(
            f"{len(running)} workspaces named {args.workspace} are running:\n{listed}",
            hint=f"say which: ocw down {args.workspace} --state-dir DIR (or --all)",
        )
    if running or found:
        return running or found  # the running one; else tidy what stopped ones left
    name = args.workspace if args.workspace.startswith(NAME_PREFIX) else NAME_PREFIX + args.workspace
    return [(_state_dir(args), name)] if args.state_dir is not None or args.repo is not None else []


def run_down(args: argparse.Namespace) -> int:
    if args.workspace is None and not args.all:
        raise OcwError("ocw down needs a WORKSPACE or --all", hint="see `ocw ps` for the workspaces started here")
    targets = _targets(args)
    if not targets:
        where = ", ".join(str(d) for d in _state_dirs(args)) or str(repositories_dir())
        print(f"{args.workspace or 'no workspace'} is not running (nothing started under {where})")
    for state_dir, name in targets:
        dirs = workspace_dirs(state_dir, name)
        with supervisor.startup_lock(dirs, "stopping", when_busy="interrupt"):
            result = supervisor.stop(dirs, args.stop_timeout)
        if result is None:
            print(f"{name} is not running (state dir {state_dir})")
        elif result.killed:
            print(f"{name} ignored SIGTERM for the grace period: killed (pid {result.pid}, {result.seconds:.2f} s)")
        else:
            print(f"{name} stopped (pid {result.pid}, {result.seconds:.2f} s)")
    return 0


def _status(state_dir: Path, name: str) -> dict[str, Any]:
    dirs = workspace_dirs(state_dir, name)
    record = read_record(dirs)
    running = record is not None and is_alive(record)
    entry: dict[str, Any] = {"workspace": name, "running": running, "state_dir": str(dirs.root)}
    entry["repository"] = state_dir_repository(state_dir)
    if record is not None:
        entry["engine"] = record.engine
    if record is not None and running:
        entry |= {
            "container": record.container or None,
            "pid": record.pid,
            "url": record.url,
            "project_url": record.project_url,
            "username": record.username,
            "password_file": str(dirs.password_file),
            "working_dir": record.working_dir,
            "uptime_seconds": round(time.time() - record.started_at, 1),
            "detached": record.detached,
        }
    elif record is not None:
        entry["stale_pid"] = record.pid  # exited without `ocw down` (killed, crashed): `ocw down` tidies up
    return entry


def run_ps(args: argparse.Namespace) -> int:
    state_dirs = _state_dirs(args)
    entries = [_status(state_dir, name) for state_dir in state_dirs for name in known_workspaces(state_dir)]
    try:
        _print_ps(args, state_dirs, entries)
    except BrokenPipeError:
        # The reader left (`ocw ps --json | head`): not an error, and nothing more to say to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _print_ps(args: argparse.Namespace, state_dirs: list[Path], entries: list[dict[str, Any]]) -> None:
    fmt = output_format(args)
    if fmt != "text":
        where = str(state_dirs[0]) if len(state_dirs) == 1 else str(repositories_dir())
        document = {"state_dir": where, "state_dirs": [str(d) for d in state_dirs], "workspaces": entries}
        emit(document, "", fmt)
        return
    if not entries:
        where = ", ".join(str(d) for d in state_dirs) or str(repositories_dir())
        print(f"no workspaces under {where}", flush=True)
        return
    lines = [f"{'WORKSPACE':<16} {'STATUS':<9} {'ENGINE':<10} {'PID':>7}  {'URL':<40}  REPOSITORY"]
    for entry in entries:
        status = "running" if entry["running"] else ("exited" if "stale_pid" in entry else "stopped")
        pid = entry.get("pid", entry.get("stale_pid", ""))
        engine = entry.get("engine", "-")
        link = entry.get("project_url") or entry.get("url", "-")
        repository = entry.get("repository") or "-"
        lines.append(f"{entry['workspace']:<16} {status:<9} {engine:<10} {pid!s:>7}  {link:<40}  {repository}")
    print("\n".join(lines), flush=True)

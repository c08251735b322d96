"""`ocw down` and `ocw ps`: stop and list the workspaces `ocw up` (start.py) runs on this machine. arguments.py defines
what the three commands accept."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ocw.cli_options import output_format, repo_path
from ocw.component import NAME_PREFIX
from ocw.console import emit
from ocw.errors import OcwError
from ocw.up.state import (
    all_state_dirs,
    default_state_dir,
    is_alive,
    known_workspaces,
    read_record,
    repositories_dir,
    state_dir_repository,
    workspace_dirs,
)


def state_dir_of(args: argparse.Namespace) -> Path:
    """The state dir a command on one repository uses: --state-dir, else the repository's."""
    return (args.state_dir or default_state_dir(repo_path(args))).resolve()


def _state_dirs(args: argparse.Namespace) -> list[Path]:
    """Where `down` and `ps` look: the --state-dir given, the --repo's, else every repository's (from any folder)."""
    if args.state_dir is not None or args.repo is not None:
        return [state_dir_of(args)]
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
    return [(state_dir_of(args), name)] if args.state_dir is not None or args.repo is not None else []


def run_down(args: argparse.Namespace) -> int:
    # Stopping loads the runtimes (engines, processes, containers); `ocw ps` only reads the records.
    from ocw.up import supervisor  # noqa: PLC0415

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

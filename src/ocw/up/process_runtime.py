"""The process runtime: the pod's containers as processes of this machine, with only the image's commands on PATH.

OpenCode runs in its own session (process group), so a Ctrl-C in the terminal reaches ocw, which then stops the group
in order: SIGTERM, a bounded wait, then SIGKILL. OpenCode sometimes ignores SIGTERM for many seconds; its SQLite
database is in WAL mode and survives a kill, so waiting longer buys nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Literal

from ocw.errors import OcwError
from ocw.up.defaults import DEFAULT_STOP_GRACE
from ocw.up.logs import open_log
from ocw.up.pod import ProcessSpec
from ocw.up.runtime import (
    APP_START,
    INIT_STEP,
    VOLUMES,
    Started,
    StopResult,
    end_init_leftovers,
    end_orphaned_group,
    receive_stop_signals,
    record_and_wait,
    run_to_completion,
    stop_signals_held,
    terminate,
)
from ocw.up.state import RunRecord, WorkspaceDirs, is_alive, read_record
from ocw.up.timings import Timings
from ocw.up.toolbox import build_toolbox

if TYPE_CHECKING:
    from ocw.up.plan import Plan


def run_init(plan: Plan, spec: ProcessSpec) -> float:
    """Run the init container as a process to completion; returns its duration."""
    return run_to_completion(plan, spec.container, spec.argv, spec.env, spec.cwd)


def spawn_opencode(plan: Plan) -> subprocess.Popen[bytes]:
    spec = plan.app
    spec.cwd.mkdir(parents=True, exist_ok=True)  # like a container runtime creating a missing workingDir
    with open_log(plan.dirs.opencode_log) as log:
        return subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C goes to ocw, which stops it in order
            preexec_fn=receive_stop_signals,  # noqa: PLW1509 - no other thread
        )


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def stop_process(record: RunRecord, grace: float = DEFAULT_STOP_GRACE) -> StopResult:
    """SIGTERM to OpenCode's process group, at most `grace` seconds, then SIGKILL."""
    started = time.monotonic()
    if not is_alive(record):
        return StopResult(record.pid, 0.0, False)
    try:
        own_group = os.getpgid(record.pid) == record.pid
    except ProcessLookupError:
        return StopResult(record.pid, 0.0, False)
    killed = terminate(record, grace, lambda signum: _signal_group(record.pid, signum))
    if own_group:  # whatever the server started (terminals, language servers) goes with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)
    return StopResult(record.pid, time.monotonic() - started, killed)


class ProcessRuntime:
    """Runs the pod's init step and OpenCode as this machine's processes."""

    @property
    def kind(self) -> Literal["process"]:
        return "process"

    def start(self, plan: Plan, *, detached: bool, timings: Timings) -> Started:
        if plan.app_run is not None:
            raise OcwError("a container plan needs a container engine")
        with timings.step(VOLUMES):
            toolbox = build_toolbox(plan.dirs.tools)
        notes = [toolbox.note] if toolbox.note else []
        if toolbox.missing:
            notes.append(f"not on this machine, so absent in process mode too: {', '.join(toolbox.missing)}")
        if plan.init is not None:
            with timings.step(INIT_STEP):
                run_init(plan, plan.init)
        process: subprocess.Popen[bytes] | None = None
        try:
            with timings.step(APP_START), stop_signals_held():  # an interruption finds `process` set
                process = spawn_opencode(plan)
            record = record_and_wait(
                plan, process, process.pid, self.kind, self.stop, detached=detached, timings=timings
            )
        except BaseException:
            if process is not None and process.returncode is None:  # not yet collected: its group is still ours
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            raise
        return Started(process, record, notes)

    def stop(self, record: RunRecord, grace: float | None = None) -> StopResult | None:
        if not is_alive(record):
            return None
        return stop_process(record, DEFAULT_STOP_GRACE if grace is None else grace)

    def remove_leftovers(self, dirs: WorkspaceDirs) -> None:
        """What a killed `ocw up` or a killed server left running: the rest of the init step, and the rest of a
        server whose start script was killed (OpenCode, in the script's group)."""
        end_init_leftovers(dirs)
        server = read_record(dirs)
        if server is not None and server.engine == "process" and not is_alive(server):
            end_orphaned_group(server.pid, server.start_ticks)

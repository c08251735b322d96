"""What runs a pod on this machine, whatever the engine: the `Runtime` interface, and the steps both engines share
(an init container run to completion, the wait for OpenCode's first answer, the bounded stop, the record).

A runtime starts a workspace's pod (init step, then OpenCode) up to its first authenticated answer, stops it as the
kubelet would (SIGTERM, a bounded grace period, SIGKILL) and removes what a killed `ocw up` left behind. The process
runtime (process_runtime.py) runs this machine's programs; the container runtime (container_runtime.py) runs the
workspace image with podman.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ocw.errors import EXIT_FAILED, OcwError
from ocw.up import volumes
from ocw.up.logs import open_log, tail
from ocw.up.readiness import ReadinessProbe
from ocw.up.state import EngineKind, RunRecord, WorkspaceDirs, clear_record, is_alive, process_start_ticks, write_record
from ocw.up.timings import Timings

if TYPE_CHECKING:
    from ocw.up.local_server import LocalServer
    from ocw.up.plan import Plan

READY_TIMEOUT = 90.0  # without a startupProbe in the manifests
GROUP_GONE_TIMEOUT = 5.0  # for the processes of a SIGKILLed group to have exited
POLL = 0.02
RESEND_TERM = 1.0  # seconds between the SIGTERMs of a stop
STEP_TERM_GRACE = 3.0  # seconds an interrupted init step has to end on SIGTERM before its group is killed
# The steps of a start as `ocw up --timings` names them.
VOLUMES = "prepare the volumes"
INIT_STEP = "run the init step"
APP_START = "start OpenCode"
FIRST_ANSWER = "wait for OpenCode's first answer"


@dataclass(frozen=True)
class StopResult:
    pid: int
    seconds: float
    killed: bool  # SIGKILL was needed


@dataclass(frozen=True)
class Started:
    """A pod that answers: the process `ocw up` waits on (OpenCode, or the engine's client of its container), the
    record `ocw ps` and `ocw down` find, and notes for the user about how it runs."""

    process: subprocess.Popen[bytes]
    record: RunRecord
    notes: list[str] = field(default_factory=list)


class Runtime(Protocol):
    """Runs a workspace's pod on this machine with one engine."""

    @property
    def kind(self) -> EngineKind: ...

    def start(self, plan: Plan, *, detached: bool, timings: Timings) -> Started:
        """The init step, then OpenCode, up to its first answer. The volumes are prepared; on failure nothing this
        runtime started keeps running and no record is left."""
        ...

    def stop(self, record: RunRecord, grace: float | None = None) -> StopResult | None:
        """SIGTERM, at most `grace` seconds (default: the runtime's), then SIGKILL; None when nothing was running."""
        ...

    def remove_leftovers(self, dirs: WorkspaceDirs) -> None:
        """What an `ocw up` killed before it could stop its pod left running, found without a record."""
        ...


PR_SET_PDEATHSIG = 1  # prctl(2)
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})  # what interrupts `ocw up` (start.py)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """A stop signal that arrives in the block is delivered as the block ends. Spawning a child in it, the caller
    holds the child before any interruption is raised: none lands between the fork and the code that ends the child
    on interruption, which would leave it running with nobody to stop it."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def receive_stop_signals() -> None:
    """In a child spawned under `stop_signals_held`, before exec: it receives the stop signals again (the blocked
    mask would otherwise be inherited through exec)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _end_with_parent() -> None:
    """In the child, before exec: SIGTERM when the ocw that started it dies, however it dies (Linux). A `podman run`
    client then passes the SIGTERM to its container, so a killed `ocw up` leaves no init container cloning on."""
    receive_stop_signals()
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _init_group_file(dirs: WorkspaceDirs) -> Path:
    """Names the init step's process group while it runs (leader pid, start time): what a killed `ocw up` leaves
    behind is found through it."""
    return dirs.root / "init.group"


def end_orphaned_group(leader: int, ticks: int) -> None:
    """SIGKILL what is left of the process group `leader` (started at `ticks`) led. A group id is not reused while a
    member lives, so the group is ours unless a process of another start time now leads it."""
    if not Path("/proc/self/stat").exists():
        return  # no start times to tell a reused id from ours
    if process_start_ticks(leader) not in (None, ticks):
        return
    deadline = time.monotonic() + GROUP_GONE_TIMEOUT  # gone, so the port and the volume are free again
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signal.SIGKILL)
        while time.monotonic() < deadline:
            os.killpg(leader, 0)
            time.sleep(POLL)


def end_init_leftovers(dirs: WorkspaceDirs) -> None:
    """End the rest of an init step whose `ocw up` was killed: its leader had SIGTERM with its ocw
    (PR_SET_PDEATHSIG), but a `git clone` it started lives on in its group."""
    record = _init_group_file(dirs)
    try:
        leader, ticks = (int(field) for field in record.read_text().split())
    except (OSError, ValueError):
        pass
    else:
        end_orphaned_group(leader, ticks)
    record.unlink(missing_ok=True)


def _exited(pid: int) -> bool:
    """Whether the child has exited, without collecting it (its group id stays ours until it is collected)."""
    if not hasattr(os, "waitid"):
        return False
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _let_an_interrupted_step_end(pid: int) -> None:
    """SIGTERM to a step that still runs, and a moment to end. A `podman run` client holds SIGTERM back while it
    creates its container and then removes it; SIGKILLed in that moment it would leave the container half-made, its
    conmon and `runc init` waiting forever where `podman rm` no longer sees them."""
    if _exited(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STEP_TERM_GRACE
    while time.monotonic() < deadline and not _exited(pid):
        time.sleep(POLL)


def _end_step(dirs: WorkspaceDirs, step: subprocess.Popen[bytes]) -> int:
    """The exit code of a step that exited, or of one interrupted (after a moment to end on SIGTERM)."""
    _let_an_interrupted_step_end(step.pid)
    # Whatever the step started (a git clone, were it interrupted) ends with it, as in its container.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(step.pid, signal.SIGKILL)
    returncode = step.wait()
    _init_group_file(dirs).unlink(missing_ok=True)
    return returncode


def run_to_completion(plan: Plan, name: str, argv: list[str], env: dict[str, str], cwd: Path | None) -> float:
    """Run an init container to completion; returns its duration. Fails with the step's own error lines."""
    started = time.monotonic()
    with open_log(plan.dirs.init_log) as log:
        step: subprocess.Popen[bytes] | None = None
        try:
            with stop_signals_held():  # an interruption finds `step` set, so the step ends with it
                step = subprocess.Popen(
                    argv,
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: an interrupted step ends with everything it started (git)
                    preexec_fn=_end_with_parent,  # noqa: PLW1509 - no other thread
                )
                _init_group_file(plan.dirs).write_text(f"{step.pid} {process_start_ticks(step.pid) or -1}\n")
            if hasattr(os, "waitid"):  # exited but not yet collected: its group id cannot be anyone else's yet
                os.waitid(os.P_PID, step.pid, os.WEXITED | os.WNOWAIT)
            else:
                step.wait()
        finally:
            if step is not None:  # else Popen failed, and its error is on its way
                returncode = _end_step(plan.dirs, step)
    if returncode != 0:
        errors = [line for line in tail(plan.dirs.init_log, 50).splitlines() if "error" in line.lower()]
        raise OcwError(
            f"the init step ({name}) of {plan.workspace.name} failed with exit code {returncode}: "
            + ("; ".join(errors[-3:]) or tail(plan.dirs.init_log, 3)),
            hint=f"read {plan.dirs.init_log}",
            exit_code=EXIT_FAILED,
        )
    return time.monotonic() - started


def local_server(plan: Plan, timeout: float = 5.0) -> LocalServer:
    # http.client loads only when a start asks OpenCode: `ocw down` and `ocw ps` import this module and never ask it.
    from ocw.up.local_server import LocalServer  # noqa: PLC0415

    return LocalServer(plan.host, plan.port, plan.username, plan.password, timeout=timeout)


def wait_ready(plan: Plan, process: subprocess.Popen[bytes], timeout: float | None = None) -> float:
    """Until OpenCode answers, for as long as the manifests' startupProbe gives the pod to start."""
    if timeout is None:
        timeout = plan.workspace.app_container.startup_seconds() or READY_TIMEOUT
    with ReadinessProbe(plan.host, plan.port, plan.username, plan.password) as probe:
        answered = probe.wait(timeout, lambda: process.poll() is None)
    if answered is not None:
        return answered
    if process.poll() is not None:
        raise OcwError(
            f"OpenCode exited with code {process.returncode} before answering; its last output:\n"
            + tail(plan.dirs.opencode_log),
            hint=f"read {plan.dirs.opencode_log}",
            exit_code=EXIT_FAILED,
        )
    raise OcwError(
        f"OpenCode did not answer an authenticated request on {plan.url} within {timeout:.0f} s",
        hint=f"read {plan.dirs.opencode_log}",
        exit_code=EXIT_FAILED,
    )


def cleanup(dirs: WorkspaceDirs) -> None:
    """After a stop: the secret and configMap folders go, as a pod's do; the workspace volume stays."""
    volumes.remove_tree(dirs.run)
    clear_record(dirs)


def record_and_wait(
    plan: Plan,
    process: subprocess.Popen[bytes],
    pid: int,
    kind: EngineKind,
    stop: Callable[[RunRecord], object],
    *,
    detached: bool,
    timings: Timings,
    container: str = "",
) -> RunRecord:
    """Record the started OpenCode (what `ocw ps` and `ocw down` find), then wait until it answers. A failed or
    interrupted wait stops it with `stop` and leaves no record and no secret folder behind."""
    ticks = process_start_ticks(pid)
    record = RunRecord(
        workspace=plan.workspace.name,
        pid=pid,
        start_ticks=ticks if ticks is not None else -1,
        url=plan.url,
        username=plan.username,
        port=plan.port,
        host=plan.host,
        working_dir=plan.working_dir,
        started_at=time.time(),
        detached=detached,
        engine=kind,
        container=container,
        grace=plan.grace,
        project_url=plan.project_url,
    )
    write_record(plan.dirs, record)
    try:
        with timings.step(FIRST_ANSWER):
            wait_ready(plan, process)
    except BaseException:
        stop(record)
        process.wait()
        cleanup(plan.dirs)
        raise
    return record


def terminate(record: RunRecord, grace: float, send: Callable[[int], None]) -> bool:
    """SIGTERM, again every RESEND_TERM seconds (OpenCode drops one that lands while it briefly catches SIGTERM
    itself), for at most `grace` seconds, then SIGKILL. Returns whether SIGKILL was needed."""
    deadline = time.monotonic() + grace
    while True:
        send(signal.SIGTERM)
        if _wait_gone(record, min(RESEND_TERM, max(0.0, deadline - time.monotonic()))):
            return False
        if time.monotonic() >= deadline:
            break
    send(signal.SIGKILL)
    _wait_gone(record, 5.0)
    return True


def _wait_gone(record: RunRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(record):
            return True
        time.sleep(POLL)
    return not is_alive(record)

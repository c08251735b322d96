"""Run the pod: the init step to completion, then OpenCode; wait until it answers; stop it within a bounded time.

OpenCode runs in its own session (process group), so a Ctrl-C in the terminal reaches ocw, which then stops the group
in order: SIGTERM, a bounded wait, then SIGKILL. OpenCode sometimes ignores SIGTERM for many seconds; its SQLite
database is in WAL mode and survives a kill, so waiting longer buys nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ocw.errors import EXIT_FAILED, OcwError
from ocw.image.engine import Engine, installed_engine, remove_quietly
from ocw.opencode.client import OpenCodeClient
from ocw.up import volumes
from ocw.up.container import CONTAINER_ROLES, ContainerRun, container_name, grant_volumes, make_copies, write_env_file
from ocw.up.plan import Plan
from ocw.up.pod import ProcessSpec
from ocw.up.ports import port_is_free
from ocw.up.state import (
    RunRecord,
    WorkspaceDirs,
    clear_record,
    ensure_private,
    is_alive,
    process_start_ticks,
    read_record,
    write_password,
    write_record,
)
from ocw.up.timings import Timings
from ocw.up.toolbox import build_toolbox

READY_TIMEOUT = 90.0
CONTAINER_START_TIMEOUT = 30.0
DEFAULT_STOP_GRACE = 5.0
POLL = 0.02
RESEND_TERM = 1.0  # seconds between the SIGTERMs of a stop
LOCK_TIMEOUT = 60.0  # for a start under way to stop: it removes its containers
GROUP_GONE_TIMEOUT = 5.0  # for the processes of a SIGKILLed group to have exited
LockRole = Literal["starting", "stopping"]  # what the holder of a workspace's lock is doing
WhenBusy = Literal["refuse", "wait", "interrupt"]
LOG_TAIL_LINES = 15
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


@contextlib.contextmanager
def startup_lock(dirs: WorkspaceDirs, role: LockRole, *, when_busy: WhenBusy = "refuse") -> Iterator[None]:
    """One ocw at a time starts or stops a workspace; the lock file names its holder. When another holds it:
    "refuse" says so; "wait" waits for it; "interrupt" (`ocw down`) stops a start under way with SIGTERM (the starting
    ocw then removes what it started, without a grace period, as nothing is serving yet), then waits."""
    ensure_private(dirs)
    with (dirs.root / "lock").open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            if when_busy == "refuse":
                raise OcwError(
                    f"another ocw is starting or stopping the workspace in {dirs.root}",
                    hint="wait for it to finish, then check with `ocw ps`",
                ) from exc
            _wait_for_lock(handle, dirs, interrupt_start=when_busy == "interrupt")
        handle.truncate(0)
        handle.write(f"{role} {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


def _lock_holder(handle: IO[str]) -> tuple[str, int] | None:
    handle.seek(0)
    role, _, pid = handle.read().strip().partition(" ")
    return (role, int(pid)) if pid.isdigit() else None


def _wait_for_lock(handle: IO[str], dirs: WorkspaceDirs, *, interrupt_start: bool) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT
    signalled: set[int] = set()
    while True:
        holder = _lock_holder(handle)
        if interrupt_start and holder is not None and holder[0] == "starting" and holder[1] not in signalled:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(holder[1], signal.SIGTERM)
            signalled.add(holder[1])
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                who = f"ocw (pid {holder[1]}, {holder[0]})" if holder else "ocw"
                raise OcwError(
                    f"another {who} did not let go of the workspace in {dirs.root} within {LOCK_TIMEOUT:.0f} s",
                    hint="stop that process, then run `ocw down` again",
                ) from None
            time.sleep(POLL)


def _rotate(log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists():
        log.replace(log.with_name(log.name + ".previous"))


def tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def _open_log(path: Path) -> IO[bytes]:
    _rotate(path)
    return path.open("wb")


def run_init(plan: Plan, spec: ProcessSpec) -> float:
    """Run the init container to completion; returns its duration. Fails with the step's own error lines."""
    return _run_init(plan, spec.container, spec.argv, spec.env, spec.cwd)


PR_SET_PDEATHSIG = 1  # prctl(2)


def _end_with_parent() -> None:
    """In the child, before exec: SIGTERM when the ocw that started it dies, however it dies (Linux). A `podman run`
    client then passes the SIGTERM to its container, so a killed `ocw up` leaves no init container cloning on."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _init_group_file(dirs: WorkspaceDirs) -> Path:
    """Names the init step's process group while it runs (leader pid, start time): what a killed `ocw up` leaves
    behind is found through it."""
    return dirs.root / "init.group"


def _end_orphaned_group(leader: int, ticks: int) -> None:
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


def end_leftovers(dirs: WorkspaceDirs) -> None:
    """End what a killed `ocw up` or a killed server left running in process mode: the rest of the init step (its
    leader had SIGTERM with its ocw, PR_SET_PDEATHSIG, but a `git clone` it started lives on in its group), and the
    rest of a server whose start script was killed (OpenCode, in the script's group)."""
    record = _init_group_file(dirs)
    try:
        leader, ticks = (int(field) for field in record.read_text().split())
    except (OSError, ValueError):
        pass
    else:
        _end_orphaned_group(leader, ticks)
    record.unlink(missing_ok=True)
    server = read_record(dirs)
    if server is not None and server.engine == "process" and not is_alive(server):
        _end_orphaned_group(server.pid, server.start_ticks)


def _run_init(plan: Plan, name: str, argv: list[str], env: dict[str, str], cwd: Path | None) -> float:
    started = time.monotonic()
    with _open_log(plan.dirs.init_log) as log:
        step = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: an interrupted step ends with everything it started (git)
            preexec_fn=_end_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 - no other thread
        )
        _init_group_file(plan.dirs).write_text(f"{step.pid} {process_start_ticks(step.pid) or -1}\n")
        try:
            if hasattr(os, "waitid"):  # exited but not yet collected: its group id cannot be anyone else's yet
                os.waitid(os.P_PID, step.pid, os.WEXITED | os.WNOWAIT)
            else:
                step.wait()
        finally:
            # Whatever the step started (a git clone, were it interrupted) ends with it, as in its container.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(step.pid, signal.SIGKILL)
            returncode = step.wait()
            _init_group_file(plan.dirs).unlink(missing_ok=True)
    if returncode != 0:
        errors = [line for line in tail(plan.dirs.init_log, 50).splitlines() if "error" in line.lower()]
        raise OcwError(
            f"the init step ({name}) of {plan.workspace.name} failed with exit code {returncode}: "
            + ("; ".join(errors[-3:]) or tail(plan.dirs.init_log, 3)),
            hint=f"read {plan.dirs.init_log}",
            exit_code=EXIT_FAILED,
        )
    return time.monotonic() - started


def spawn_opencode(plan: Plan) -> subprocess.Popen[bytes]:
    spec = plan.app
    spec.cwd.mkdir(parents=True, exist_ok=True)  # like a container runtime creating a missing workingDir
    with _open_log(plan.dirs.opencode_log) as log:
        return subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=spec.cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C goes to ocw, which stops it in order
        )


def client(plan: Plan) -> OpenCodeClient:
    return OpenCodeClient(plan.url, plan.password, plan.username, timeout=5.0)


def wait_ready(plan: Plan, process: subprocess.Popen[bytes], timeout: float = READY_TIMEOUT) -> float:
    started = time.monotonic()
    api = client(plan)
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise OcwError(
                f"OpenCode exited with code {process.returncode} before answering; its last output:\n"
                + tail(plan.dirs.opencode_log),
                hint=f"read {plan.dirs.opencode_log}",
                exit_code=EXIT_FAILED,
            )
        if api.is_ready():
            return time.monotonic() - started
        time.sleep(POLL)
    raise OcwError(
        f"OpenCode did not answer an authenticated request on {plan.url} within {timeout:.0f} s",
        hint=f"read {plan.dirs.opencode_log}",
        exit_code=EXIT_FAILED,
    )


def refuse_if_running(dirs: WorkspaceDirs) -> None:
    record = read_record(dirs)
    if record is not None and is_alive(record):
        raise OcwError(
            f"workspace {record.workspace} is already running at {record.url} (pid {record.pid})",
            hint=f"stop it with `ocw down {record.workspace}` first",
        )


def start(
    plan: Plan, detached: bool, engine: Engine | None = None, timings: Timings | None = None
) -> tuple[subprocess.Popen[bytes], RunRecord]:
    """Everything up to an answering OpenCode. On failure nothing keeps running and no record is left."""
    dirs = plan.dirs
    refuse_if_running(dirs)
    end_leftovers(dirs)
    if not port_is_free(plan.host, plan.port):
        raise OcwError(
            f"port {plan.port} on {plan.host} is in use, so OpenCode cannot listen there",
            hint="stop what uses it or pass --port N with a free port",
        )
    timings = timings or Timings()
    with timings.step(VOLUMES):
        volumes.prepare(dirs, plan.mounts, plan.config_maps, plan.secrets)
        write_password(dirs, plan.password)
    try:
        if plan.app_run is not None:
            if engine is None:
                raise OcwError("a container plan needs a container engine")
            return _start_container(plan, plan.app_run, engine, detached, timings)
        with timings.step(VOLUMES):
            toolbox = build_toolbox(dirs.tools)
        if toolbox.note:
            print(f"note: {toolbox.note}", flush=True)
        if toolbox.missing:
            print(f"note: not on this machine, so absent in process mode too: {', '.join(toolbox.missing)}")
        if plan.init is not None:
            with timings.step(INIT_STEP):
                run_init(plan, plan.init)
    except BaseException:
        cleanup(dirs)  # a failed start leaves no secret folder behind
        raise
    with timings.step(APP_START):
        process = spawn_opencode(plan)
    return process, _record_and_wait(plan, process, process.pid, detached, stop_process, timings=timings)


def _container_pid(engine: Engine, run: ContainerRun, process: subprocess.Popen[bytes], log: Path) -> int:
    """The host pid of the container's PID 1, as soon as podman has written it (--pidfile)."""
    deadline = time.monotonic() + CONTAINER_START_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            pid = int(run.pid_file.read_text().strip()) if run.pid_file is not None else 0
            if pid > 0 and process_start_ticks(pid) is not None:
                return pid
        if process.poll() is not None:
            break
        time.sleep(POLL)
    raise OcwError(
        f"the container {run.name} did not start; the engine's last output:\n" + tail(log),
        hint=f"run `{engine.name} logs {run.name}` if it still exists",
        exit_code=EXIT_FAILED,
    )


def _start_container(
    plan: Plan, app: ContainerRun, engine: Engine, detached: bool, timings: Timings
) -> tuple[subprocess.Popen[bytes], RunRecord]:
    dirs = plan.dirs
    runs = [run for run in (plan.init_run, app) if run is not None]
    with timings.step(VOLUMES):
        remove_quietly(engine, [run.name for run in runs])  # left by a crash
        for run in runs:
            make_copies(run)
            if run.pid_file is not None:
                run.pid_file.parent.mkdir(parents=True, exist_ok=True)
        if not engine.rootless:
            containers = [c for c in (plan.workspace.init_container, plan.workspace.app_container) if c is not None]
            grant_volumes(dirs, plan.workspace.workload, containers)
    if plan.init_run is not None:
        write_env_file(plan.init_run)
        try:
            with timings.step(INIT_STEP):
                _run_init(plan, plan.init_run.name, engine.command(*plan.init_run.argv), engine.env, None)
        except BaseException:
            remove_quietly(engine, [plan.init_run.name])  # interrupted midway
            raise
        finally:
            plan.init_run.env_file.unlink(missing_ok=True)
    write_env_file(app)
    with timings.step(APP_START), _open_log(dirs.opencode_log) as log:
        process = subprocess.Popen(
            engine.command(*app.argv),
            env=engine.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C goes to ocw, which stops the container as the kubelet would
        )
    try:
        with timings.step(APP_START):
            pid = _container_pid(engine, app, process, dirs.opencode_log)
    except BaseException:
        remove_quietly(engine, [app.name])
        process.wait()
        cleanup(dirs)
        raise
    finally:
        app.env_file.unlink(missing_ok=True)  # podman has read it: the password leaves the disk
    record = _record_and_wait(
        plan,
        process,
        pid,
        detached,
        lambda started: stop_container(started, 0.0, engine),
        timings=timings,
        container=app.name,
    )
    return process, record


def _record_and_wait(
    plan: Plan,
    process: subprocess.Popen[bytes],
    pid: int,
    detached: bool,
    stop: Callable[[RunRecord], object],
    *,
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
        engine="container" if container else "process",
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


def stop_container(record: RunRecord, grace: float, engine: Engine | None = None) -> StopResult:
    """As the kubelet stops a pod: SIGTERM to PID 1 (tini, which passes it on), at most `grace` seconds, then
    SIGKILL; the container is removed either way."""
    engine = engine or installed_engine()
    if engine is None:
        raise OcwError(
            f"{record.workspace} runs in container {record.container}, but podman is no longer installed",
            hint=f"stop it with your container engine: stop {record.container}",
        )
    started = time.monotonic()
    if not is_alive(record):
        remove_quietly(engine, [record.container])
        return StopResult(record.pid, 0.0, False)

    def signal_pid_1(signum: int) -> None:
        try:
            os.kill(record.pid, signum)  # tini's pid on this machine
        except PermissionError:  # a rootless engine's container runs as another uid of this user's
            engine.run("kill", "--signal", signal.Signals(signum).name, record.container, check=False)
        except ProcessLookupError:
            pass

    killed = _terminate(record, grace, signal_pid_1)
    seconds = time.monotonic() - started
    remove_quietly(engine, [record.container])
    return StopResult(record.pid, seconds, killed)


def _terminate(record: RunRecord, grace: float, send: Callable[[int], None]) -> bool:
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


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def _wait_gone(record: RunRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(record):
            return True
        time.sleep(POLL)
    return not is_alive(record)


def stop_process(record: RunRecord, grace: float = DEFAULT_STOP_GRACE) -> StopResult:
    """SIGTERM to OpenCode's process group, at most `grace` seconds, then SIGKILL."""
    started = time.monotonic()
    if not is_alive(record):
        return StopResult(record.pid, 0.0, False)
    try:
        own_group = os.getpgid(record.pid) == record.pid
    except ProcessLookupError:
        return StopResult(record.pid, 0.0, False)
    killed = _terminate(record, grace, lambda signum: _signal_group(record.pid, signum))
    if own_group:  # whatever the server started (terminals, language servers) goes with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)
    return StopResult(record.pid, time.monotonic() - started, killed)


def cleanup(dirs: WorkspaceDirs) -> None:
    """After a stop: the secret and configMap folders go, as a pod's do; the workspace volume stays."""
    volumes.remove_tree(dirs.run)
    clear_record(dirs)


def stop(dirs: WorkspaceDirs, grace: float | None = None) -> StopResult | None:
    """Stop what `ocw up` started; `grace` defaults to the manifests' (container) or DEFAULT_STOP_GRACE (process)."""
    end_leftovers(dirs)
    record = read_record(dirs)
    result: StopResult | None = None
    if record is not None and record.engine == "container":
        stopped = stop_container(record, record.grace if grace is None else grace)  # also removes a dead one
        result = stopped if stopped.seconds > 0 else None
    elif record is not None and is_alive(record):
        result = stop_process(record, DEFAULT_STOP_GRACE if grace is None else grace)
    if record is None or record.engine == "container":
        remove_leftovers(dirs)
    cleanup(dirs)
    return result


def remove_leftovers(dirs: WorkspaceDirs) -> None:
    """The containers of an `ocw up` that was killed before it could remove them (an init container still cloning):
    their names are this state dir's, so they are found without a record."""
    engine = installed_engine()
    if engine is not None:
        remove_quietly(engine, [container_name(dirs, role) for role in CONTAINER_ROLES])

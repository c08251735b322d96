"""Start and stop a workspace's pod with its runtime (runtime.py): one ocw at a time per workspace (the lock), the
volumes prepared before and the secret folders removed after, whatever the engine."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Literal

from ocw.errors import OcwError
from ocw.image.engine import Engine, installed_engine
from ocw.up import volumes
from ocw.up.container_runtime import ContainerRuntime
from ocw.up.ports import port_is_free
from ocw.up.process_runtime import ProcessRuntime
from ocw.up.runtime import POLL, VOLUMES, Runtime, Started, StopResult, cleanup
from ocw.up.state import RunRecord, WorkspaceDirs, ensure_private, is_alive, read_record, write_password
from ocw.up.timings import Timings

if TYPE_CHECKING:
    from ocw.up.plan import Plan

LOCK_TIMEOUT = 60.0  # for a start under way to stop: it removes its containers
LockRole = Literal["starting", "stopping"]  # what the holder of a workspace's lock is doing
WhenBusy = Literal["refuse", "wait", "interrupt"]


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


def refuse_if_running(dirs: WorkspaceDirs) -> None:
    record = read_record(dirs)
    if record is not None and is_alive(record):
        raise OcwError(
            f"workspace {record.workspace} is already running at {record.url} (pid {record.pid})",
            hint=f"stop it with `ocw down {record.workspace}` first",
        )


def runtime_for(engine: Engine | None) -> Runtime:
    """The runtime of an engine choice: the container engine's, else this machine's processes."""
    return ContainerRuntime(engine) if engine is not None else ProcessRuntime()


def runtime_of(record: RunRecord) -> Runtime:
    """The runtime that started the workspace `record` describes."""
    return ContainerRuntime.installed(record) if record.engine == "container" else ProcessRuntime()


def start(plan: Plan, runtime: Runtime, *, detached: bool, timings: Timings | None = None) -> Started:
    """Everything up to an answering OpenCode. On failure nothing keeps running and no record is left."""
    dirs = plan.dirs
    refuse_if_running(dirs)
    ProcessRuntime().remove_leftovers(dirs)  # cheap (no engine call): a killed start's processes free the port
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
        return runtime.start(plan, detached=detached, timings=timings)
    except BaseException:
        cleanup(dirs)  # a failed start leaves no secret folder behind
        raise


def stop(dirs: WorkspaceDirs, grace: float | None = None) -> StopResult | None:
    """Stop what `ocw up` started; `grace` defaults to the runtime's (the manifests' in a container). Returns None
    when nothing was running; what a stopped or killed run left behind is removed either way."""
    record = read_record(dirs)
    result: StopResult | None = None
    if record is not None:
        runtime = runtime_of(record)
        result = runtime.stop(record, grace)  # a container's also removes a dead one
        runtime.remove_leftovers(dirs)
    else:
        engine = installed_engine()
        runtimes: list[Runtime] = [ProcessRuntime(), *([ContainerRuntime(engine)] if engine is not None else [])]
        for runtime in runtimes:
            runtime.remove_leftovers(dirs)
    cleanup(dirs)
    return result

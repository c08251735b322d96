"""The container runtime: the pod's containers as `podman run`s of the workspace image (container.py builds them),
stopped as the kubelet stops a pod and always removed afterwards."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ocw.errors import EXIT_FAILED, OcwError
from ocw.image.engine import Engine, installed_engine, remove_quietly
from ocw.up.container import CONTAINER_ROLES, ContainerRun, container_name, grant_volumes, make_copies, write_env_file
from ocw.up.logs import open_log, tail
from ocw.up.runtime import (
    APP_START,
    INIT_STEP,
    POLL,
    VOLUMES,
    Started,
    StopResult,
    cleanup,
    end_init_leftovers,
    receive_stop_signals,
    record_and_wait,
    run_to_completion,
    stop_signals_held,
    terminate,
)
from ocw.up.state import RunRecord, WorkspaceDirs, is_alive, process_start_ticks
from ocw.up.timings import Timings

if TYPE_CHECKING:
    from ocw.up.plan import Plan

CONTAINER_START_TIMEOUT = 30.0
REMOVE_AGAIN = 0.5  # seconds between the removals of a container whose `podman run` was interrupted


class ContainerRuntime:
    """Runs the pod's init container and OpenCode's container with a container engine (podman)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def installed(cls, record: RunRecord) -> ContainerRuntime:
        """The runtime that stops the container of `record`: this machine's engine."""
        engine = installed_engine()
        if engine is None:
            raise OcwError(
                f"{record.workspace} runs in container {record.container}, but podman is no longer installed",
                hint=f"stop it with your container engine: stop {record.container}",
            )
        return cls(engine)

    @property
    def kind(self) -> Literal["container"]:
        return "container"

    def remove(self, *names: str) -> None:
        """Kill and remove these containers if they exist, without a grace period."""
        remove_quietly(self.engine, names)

    def start(self, plan: Plan, *, detached: bool, timings: Timings) -> Started:
        app = plan.app_run
        if app is None:
            raise OcwError("a process plan cannot run in a container engine")
        dirs = plan.dirs
        runs = [run for run in (plan.init_run, app) if run is not None]
        with timings.step(VOLUMES):
            self.remove(*(run.name for run in runs))  # left by a crash
            for run in runs:
                make_copies(run)
                if run.pid_file is not None:
                    run.pid_file.parent.mkdir(parents=True, exist_ok=True)
            if not self.engine.rootless:
                containers = [c for c in (plan.workspace.init_container, plan.workspace.app_container) if c is not None]
                grant_volumes(dirs, plan.workspace.workload, containers)
        if plan.init_run is not None:
            self._run_init(plan, plan.init_run, timings)
        write_env_file(app)
        process: subprocess.Popen[bytes] | None = None
        try:
            with timings.step(APP_START):
                try:
                    with stop_signals_held():  # an interruption finds `process` set, so its container ends with it
                        process = self._spawn(app, dirs.opencode_log)
                    pid = self._container_pid(app, process, dirs.opencode_log)
                finally:
                    app.env_file.unlink(missing_ok=True)  # podman has read it: the password leaves the disk
            record = record_and_wait(
                plan,
                process,
                pid,
                self.kind,
                lambda started: self.stop(started, 0.0),
                detached=detached,
                timings=timings,
                container=app.name,
            )
        except BaseException:
            with stop_signals_held():  # a second Ctrl-C does not cut the removal short
                if process is not None:
                    self._end_client(app.name, process)
                cleanup(dirs)
            raise
        return Started(process, record)

    def _run_init(self, plan: Plan, run: ContainerRun, timings: Timings) -> None:
        write_env_file(run)
        try:
            with timings.step(INIT_STEP):
                run_to_completion(plan, run.name, self.engine.command(*run.argv), self.engine.env, None)
        except BaseException:
            self.remove(run.name)  # interrupted midway
            raise
        finally:
            run.env_file.unlink(missing_ok=True)

    def _spawn(self, run: ContainerRun, log: Path) -> subprocess.Popen[bytes]:
        with open_log(log) as output:
            return subprocess.Popen(
                self.engine.command(*run.argv),
                env=self.engine.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C goes to ocw, which stops the container as the kubelet would
                preexec_fn=receive_stop_signals,  # noqa: PLW1509 - no other thread
            )

    def _end_client(self, name: str, process: subprocess.Popen[bytes]) -> None:
        """End an interrupted `podman run` and its container at once. A removal can come before the client has made
        the container (podman's own start-up takes a while on a loaded machine): the client would then make and run
        it, and wait on it for good. So the removal repeats until the client has exited. A SIGTERM to the client is
        no way out: in that moment podman may exit and leave the container running."""
        deadline = time.monotonic() + CONTAINER_START_TIMEOUT
        while True:
            self.remove(name)
            try:
                process.wait(timeout=REMOVE_AGAIN)
                return
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    break
        process.kill()  # a client whose container cannot be removed: it is not waited on forever
        process.wait()

    def _container_pid(self, run: ContainerRun, process: subprocess.Popen[bytes], log: Path) -> int:
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
            hint=f"run `{self.engine.name} logs {run.name}` if it still exists",
            exit_code=EXIT_FAILED,
        )

    def stop(self, record: RunRecord, grace: float | None = None) -> StopResult | None:
        """As the kubelet stops a pod: SIGTERM to PID 1 (tini, which passes it on), at most `grace` seconds (default:
        the manifests' terminationGracePeriodSeconds), then SIGKILL; the container is removed either way."""
        grace = record.grace if grace is None else grace
        started = time.monotonic()
        if not is_alive(record):
            self.remove(record.container)
            return None

        def signal_pid_1(signum: int) -> None:
            try:
                os.kill(record.pid, signum)  # tini's pid on this machine
            except PermissionError:  # a rootless engine's container runs as another uid of this user's
                self.engine.run("kill", "--signal", signal.Signals(signum).name, record.container, check=False)
            except ProcessLookupError:
                pass

        killed = terminate(record, grace, signal_pid_1)
        seconds = time.monotonic() - started
        self.remove(record.container)
        return StopResult(record.pid, seconds, killed)

    def remove_leftovers(self, dirs: WorkspaceDirs) -> None:
        """The containers of an `ocw up` that was killed before it could remove them (an init container still
        cloning): their names are this state dir's, so they are found without a record."""
        end_init_leftovers(dirs)  # the `podman run` client of an init step, were it still there
        self.remove(*(container_name(dirs, role) for role in CONTAINER_ROLES))

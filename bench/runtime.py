"""Runtime benchmarks for `ocw up`: init step, restart to ready against bare `opencode serve`, shutdown, and
OpenCode's memory inside a cgroup v1 memory group at the manifests' limit, with and without JSC heap tuning; and
(`engines`) the workspace image with podman against process mode: stop -> start -> ready, the stop time of PID 1
(tini, and OpenCode alone as PID 1), memory in the container's cgroup.

Prints a table and writes bench/results/runtime.json. Every figure is the median of --runs runs (at least 5).
Needs root for the memory group (/sys/fs/cgroup/memory/<name>); `--skip-memory` runs the rest without it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from ocw.image.build import ensure_image
from ocw.image.engine import Engine, require_engine
from ocw.kube.quantity import quantity
from ocw.paths import project_root
from ocw.up import process_runtime, runtime, supervisor, volumes
from ocw.up.container import ContainerRun
from ocw.up.defaults import DEFAULT_STOP_GRACE
from ocw.up.plan import Plan, UpOptions, make_plan
from ocw.up.pod import ProcessSpec
from ocw.up.state import RunRecord, process_start_ticks
from ocw.up.toolbox import build_toolbox
from ocw.workspace import find_workspace, load_workspaces

RESULTS = Path(__file__).resolve().parent / "results" / "runtime.json"
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
MIB = 1024 * 1024
# Environment changes on top of the manifest's app container env; None removes a variable.
TUNINGS: dict[str, dict[str, str | None]] = {
    "as in the manifest": {},
    "forceRAMSize=256Mi": {"BUN_JSC_forceRAMSize": str(256 * MIB)},
    "forceRAMSize=512Mi": {"BUN_JSC_forceRAMSize": str(512 * MIB)},
}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_workspace_plan(state_dir: Path, source: Path) -> Plan:
    workspace = find_workspace(load_workspaces(project_root()), "flux")
    return make_plan(workspace, UpOptions(state_dir=state_dir, source=str(source), port=free_port()))


def with_env(plan: Plan, changes: dict[str, str | None]) -> Plan:
    env = {k: v for k, v in {**plan.app.env, **changes}.items() if v is not None}
    return replace(plan, app=ProcessSpec(plan.app.container, plan.app.argv, env, plan.app.cwd))


def manifest_limit(resource: str) -> Decimal:
    """The OpenCode container's limit for a resource as the manifests set it."""
    workspace = find_workspace(load_workspaces(project_root()), "flux")
    limit = quantity(str((workspace.app_container.resources.get("limits") or {}).get(resource)))
    if limit is None:
        raise SystemExit(f"the OpenCode container in the manifests has no {resource} limit: pass it as a flag")
    return limit


def spawn(plan: Plan, preexec: Callable[[], None] | None = None) -> tuple[subprocess.Popen[bytes], RunRecord]:
    log = plan.dirs.opencode_log.open("ab")
    process = subprocess.Popen(
        plan.app.argv,
        env=plan.app.env,
        cwd=plan.app.cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=preexec,  # noqa: PLW1509 - only writes our own pid into the memory group
    )
    log.close()
    ticks = process_start_ticks(process.pid) or -1
    record = RunRecord(
        plan.workspace.name, process.pid, ticks, plan.url, plan.username, plan.port, plan.host, "", 0, True
    )
    return process, record


def kill(process: subprocess.Popen[bytes], record: RunRecord) -> None:
    process_runtime.stop_process(record, grace=0.5)
    process.wait()


def bench_init(plan: Plan, runs: int) -> dict[str, Any]:
    assert plan.init is not None
    durations = [process_runtime.run_init(plan, plan.init) for _ in range(runs)]
    return {"runs": runs, "median_s": median(durations), "max_s": round(max(durations), 3), "target_s": 0.1}


def bench_restart(plan: Plan, runs: int) -> dict[str, Any]:
    """From the start of the init step to the first authenticated 200 on /session; bare serve on the same data."""
    assert plan.init is not None
    with_init: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        for kind in ("ocw", "bare"):
            started = time.monotonic()
            if kind == "ocw":
                process_runtime.run_init(plan, plan.init)
            process, record = spawn(plan)
            runtime.wait_ready(plan, process)
            (with_init if kind == "ocw" else bare).append(time.monotonic() - started)
            kill(process, record)
    overhead = statistics.median(with_init) / statistics.median(bare) - 1
    return {
        "runs": runs,
        "ocw_median_s": median(with_init),
        "bare_serve_median_s": median(bare),
        "overhead_pct": round(overhead * 100, 1),
        "target_overhead_pct": 10,
    }


def light_workload(plan: Plan, sessions: int = 20) -> None:
    with httpx.Client(base_url=plan.url, auth=(plan.username, plan.password), timeout=60) as api:
        for index in range(sessions):
            api.post("/session", json={"title": f"bench {index}"}).raise_for_status()
        api.get("/file", params={"path": "."}).raise_for_status()
        pty = api.post("/pty", json={}).json()
        api.get("/provider").raise_for_status()
        api.get("/config/providers").raise_for_status()
        api.delete(f"/pty/{pty['id']}")


def bench_shutdown(plan: Plan, runs: int, grace: float) -> dict[str, Any]:
    """SIGTERM to exit after a workload (capped at 20 s), and a full stop + start to ready with ocw's bounded stop."""
    sigterm: list[float] = []
    ignored = 0
    stop_to_ready: list[float] = []
    for _ in range(runs):
        process, record = spawn(plan)
        runtime.wait_ready(plan, process)
        light_workload(plan)
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            ignored += 1
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        sigterm.append(time.monotonic() - started)
    for _ in range(runs):
        process, record = spawn(plan)
        runtime.wait_ready(plan, process)
        light_workload(plan)
        started = time.monotonic()
        process_runtime.stop_process(record, grace)
        process.wait()
        assert plan.init is not None
        process_runtime.run_init(plan, plan.init)
        process, record = spawn(plan)
        runtime.wait_ready(plan, process)
        stop_to_ready.append(time.monotonic() - started)
        kill(process, record)
    return {
        "runs": runs,
        "sigterm_to_exit_median_s": median(sigterm),
        "sigterm_to_exit_max_s": round(max(sigterm), 3),
        "sigterm_ignored_20s": ignored,
        "stop_grace_s": grace,
        "stop_to_ready_median_s": median(stop_to_ready),
        "stop_to_ready_max_s": round(max(stop_to_ready), 3),
    }


class MemoryGroup:
    def __init__(self, name: str, limit: int) -> None:
        self.path = CGROUP_ROOT / name
        self.path.mkdir(exist_ok=True)
        (self.path / "memory.limit_in_bytes").write_text(str(limit))
        self.limit = limit

    def read(self, name: str) -> int:
        return int((self.path / name).read_text().split()[0])

    def oom_kills(self) -> int:
        for line in (self.path / "memory.oom_control").read_text().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        for pid in (self.path / "cgroup.procs").read_text().split():
            os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2)
        self.path.rmdir()


class CpuGroup:
    """A cgroup v1 CPU quota: the pod's CPU limit, which also decides how fast the garbage collector keeps up."""

    def __init__(self, name: str, millicores: int) -> None:
        self.path = CGROUP_ROOT.parent / "cpu" / name
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text("100000")
        (self.path / "cpu.cfs_quota_us").write_text(str(millicores * 100))

    def join(self) -> None:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        time.sleep(0.2)
        self.path.rmdir()


def peak_rss(pid: int) -> int:
    """OpenCode's peak resident memory: the largest of `pid` (the start script) and the processes below it."""
    peak, queue = 0, [pid]
    while queue:
        current = queue.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text().splitlines()
            queue += [int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except OSError:
            continue
        for line in status:
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak


def memory_run(
    plan: Plan, tuning: dict[str, str | None], limit: int, soak_seconds: float, cpu_millicores: int | None
) -> dict[str, Any]:
    group = MemoryGroup(f"ocw-bench-{os.getpid()}", limit)
    cpu = CpuGroup(f"ocw-bench-{os.getpid()}", cpu_millicores) if cpu_millicores else None

    def join_groups() -> None:
        group.join()
        if cpu:
            cpu.join()

    tuned = with_env(plan, tuning)
    at_limit = 0
    samples = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal at_limit, samples
        while not stop.is_set():
            samples += 1
            if group.read("memory.usage_in_bytes") >= 0.97 * limit:
                at_limit += 1
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    try:
        started = time.monotonic()
        process, record = spawn(tuned, preexec=join_groups)
        runtime.wait_ready(tuned, process, timeout=120)
        ready = time.monotonic() - started
        sampler.start()
        work_started = time.monotonic()
        rounds = 0
        failure = ""
        workload = 0.0
        while process.poll() is None:
            try:
                light_workload(tuned)
            except httpx.HTTPError as exc:  # the server died (OOM kill) or stopped answering
                failure = f"{type(exc).__name__}: {exc}"
                break
            rounds += 1
            workload = workload or time.monotonic() - work_started
            if time.monotonic() - work_started >= soak_seconds:
                break
        stop.set()
        sampler.join()
        alive = process.poll() is None and not failure
        peak = peak_rss(process.pid) if process.poll() is None else 0
        result = {
            "ready_s": round(ready, 3),
            "workload_s": round(workload, 3),
            "rounds": rounds,
            "alive": alive,
            "failure": failure,
            "oom_kills": group.oom_kills(),
            "failcnt": group.read("memory.failcnt"),
            "peak_rss_mib": round(peak / MIB, 1),
            "group_peak_mib": round(group.read("memory.max_usage_in_bytes") / MIB, 1),
            "time_at_limit_pct": round(100 * at_limit / max(samples, 1), 1),
        }
        if process.poll() is None:
            kill(process, record)
        else:
            process.wait()
        return result
    finally:
        stop.set()
        if sampler.is_alive():
            sampler.join()
        group.remove()
        if cpu:
            cpu.remove()


def bench_memory(
    plan: Plan, runs: int, limit: int, soak_seconds: float, *, tunings: list[str], cpu_millicores: int | None
) -> dict[str, Any]:
    results: dict[str, Any] = {"cpu_limit_millicores": cpu_millicores}
    for name in tunings:
        tuning = TUNINGS[name]
        each = [memory_run(plan, tuning, limit, 0, cpu_millicores) for _ in range(runs)]
        results[name] = {
            "env": tuning,
            "runs": runs,
            "oom_kills_total": sum(r["oom_kills"] for r in each),
            "peak_rss_median_mib": median([r["peak_rss_mib"] for r in each]),
            "peak_rss_max_mib": max(r["peak_rss_mib"] for r in each),
            "group_peak_median_mib": median([r["group_peak_mib"] for r in each]),
            "time_at_limit_median_pct": median([r["time_at_limit_pct"] for r in each]),
            "ready_median_s": median([r["ready_s"] for r in each]),
            "workload_median_s": median([r["workload_s"] for r in each]),
            "died": sum(not r["alive"] for r in each),
        }
        save({"memory (partial)": results})
    if soak_seconds > 0:
        for name in tunings[:2]:
            soak = memory_run(plan, TUNINGS[name], limit, soak_seconds, cpu_millicores)
            results[f"soak {name}"] = {"seconds": soak_seconds, **soak}
    return results


# --- container engine against process mode (`--only engines`; needs podman and `make image`)

IDLE_SECONDS = 10.0
WORKLOAD_ROUNDS = 5


def _engine_plan(state: Path, port: int, image: str | None) -> Plan:
    workspace = find_workspace(load_workspaces(project_root()), "flux")
    options = UpOptions(state_dir=state, source=str(project_root()), port=port, image=image)
    return make_plan(workspace, options)


def _start(plan: Plan, engine: Engine) -> tuple[subprocess.Popen[bytes], RunRecord]:
    started = supervisor.start(plan, supervisor.runtime_for(engine if plan.image else None), detached=True)
    return started.process, started.record


def _stop(record: RunRecord, engine: Engine, grace: float) -> runtime.StopResult:
    """Stops the started workspace (it runs: the result is never None)."""
    result = supervisor.runtime_for(engine if record.engine == "container" else None).stop(record, grace)
    assert result is not None
    return result


def _memory_cgroup(pid: int) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    raise SystemExit(f"pid {pid} is in no cgroup v1 memory group: this benchmark reads cgroup v1 files")


def _read(group: Path, name: str) -> int:
    return int((group / name).read_text().split()[0])


def restart_cycles(plan: Plan, engine: Engine, runs: int, light_workload: Callable[[Plan], None]) -> dict[str, Any]:
    """Start once, then `runs` times: stop (the manifests' grace) -> start (init step included) -> ready."""
    process, record = _start(plan, engine)
    light_workload(plan)
    cycles: list[float] = []
    stops: list[float] = []
    killed = 0
    for _ in range(runs):
        started = time.monotonic()
        result = _stop(record, engine, plan.grace)
        process.wait()
        stops.append(result.seconds)
        killed += result.killed
        process, record = _start(plan, engine)
        cycles.append(time.monotonic() - started)
    _stop(record, engine, plan.grace)
    process.wait()
    runtime.cleanup(plan.dirs)
    return {
        "runs": runs,
        "stop_to_ready_median_s": median(cycles),
        "stop_to_ready_max_s": round(max(cycles), 3),
        "stop_median_s": median(stops),
        "stop_max_s": round(max(stops), 3),
        "killed_after_grace": killed,
        "grace_s": plan.grace,
    }


def _without_tini(run: ContainerRun, image: str) -> ContainerRun:
    """The same container with OpenCode itself as PID 1 (the upstream OpenCode image's situation): `opencode serve`
    with the serve options the manifests give the opencode-serve script (or OpenCode itself)."""
    at = run.argv.index(image)
    command = run.argv[at + 1 :]
    if command[:1] == ["opencode"]:
        options = command[1:]
    elif len(command) > 1 and command[1].endswith("/opencode-serve"):
        options = ["serve", *command[2:]]
    else:
        raise SystemExit(f"the OpenCode container runs {command}: expected opencode or the opencode-serve script")
    return replace(run, argv=[*run.argv[:at], "--entrypoint", '["opencode"]', image, *options])


def pid1_stop(plan: Plan, engine: Engine, runs: int) -> dict[str, Any]:
    assert plan.app_run is not None
    results: dict[str, Any] = {}
    for label, run in (("tini", plan.app_run), ("opencode as PID 1", _without_tini(plan.app_run, str(plan.image)))):
        variant = replace(plan, app_run=run)
        seconds: list[float] = []
        killed = 0
        for _ in range(runs):
            process, record = _start(variant, engine)
            result = _stop(record, engine, plan.grace)
            process.wait()
            seconds.append(result.seconds)
            killed += result.killed
        runtime.cleanup(plan.dirs)
        results[f"{label} as PID 1" if label == "tini" else label] = {
            "runs": runs,
            "stop_median_s": median(seconds),
            "stop_max_s": round(max(seconds), 3),
            "killed_after_grace": killed,
            "grace_s": plan.grace,
        }
    return results


def container_memory(plan: Plan, engine: Engine, runs: int, light_workload: Callable[[Plan], None]) -> dict[str, Any]:
    """Idle (after IDLE_SECONDS) and after WORKLOAD_ROUNDS workload rounds, in the container's own memory cgroup."""
    idle: list[float] = []
    peak: list[float] = []
    limit = 0
    for _ in range(runs):
        process, record = _start(plan, engine)
        group = _memory_cgroup(record.pid)
        limit = _read(group, "memory.limit_in_bytes")
        time.sleep(IDLE_SECONDS)
        idle.append(_read(group, "memory.usage_in_bytes") / MIB)
        for _round in range(WORKLOAD_ROUNDS):
            light_workload(plan)
        peak.append(_read(group, "memory.max_usage_in_bytes") / MIB)
        _stop(record, engine, plan.grace)
        process.wait()
    runtime.cleanup(plan.dirs)
    return {
        "runs": runs,
        "limit_mib": round(limit / MIB),
        "idle_median_mib": round(statistics.median(idle), 1),
        "workload_peak_median_mib": round(statistics.median(peak), 1),
        "workload_peak_max_mib": round(max(peak), 1),
        "workload_peak_pct_of_limit": round(100 * statistics.median(peak) * MIB / limit, 1),
        "workload_rounds": WORKLOAD_ROUNDS,
    }


def bench_engines(state: Path, port: int, runs: int, light_workload: Callable[[Plan], None]) -> dict[str, Any]:
    engine = require_engine()
    image, _ = ensure_image(engine)
    container = _engine_plan(state / "container", port, image)
    process = _engine_plan(state / "process", port, None)
    results: dict[str, Any] = {
        "engines: restart, container": {"image": image, **restart_cycles(container, engine, runs, light_workload)},
        "engines: restart, process": restart_cycles(process, engine, runs, light_workload),
    }
    for label, values in pid1_stop(container, engine, runs).items():
        results[f"engines: stop, {label}"] = values
    results["engines: memory in the container's cgroup"] = container_memory(container, engine, runs, light_workload)
    return results


def save(results: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**previous, **results}, indent=2) + "\n")


def table(results: dict[str, Any]) -> str:
    lines = []
    for section, values in results.items():
        if not isinstance(values, dict):
            continue
        lines.append(section)
        for key, value in values.items():
            if isinstance(value, dict):
                inner = ", ".join(f"{k}={v}" for k, v in value.items() if k != "env")
                lines.append(f"  {key:<28} {inner}")
            else:
                lines.append(f"  {key:<28} {value}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--soak-seconds", type=float, default=0, help="soak duration at the limit (e.g. 1800)")
    parser.add_argument("--limit-mib", type=int, help="memory group limit (default: the manifests' limit)")
    parser.add_argument("--no-cpu-limit", action="store_true", help="do not apply the manifests' CPU limit")
    parser.add_argument(
        "--tuning",
        choices=list(TUNINGS),
        action="append",
        help="JSC tunings to measure (default: all; soak: first two)",
    )
    parser.add_argument("--grace", type=float, default=DEFAULT_STOP_GRACE)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only", choices=["init", "restart", "shutdown", "memory", "engines"], action="append")
    args = parser.parse_args()
    if args.limit_mib is None:
        args.limit_mib = int(manifest_limit("memory") / MIB)
    cpu_millicores = None if args.no_cpu_limit else int(manifest_limit("cpu") * 1000)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    only = set(args.only or ["init", "restart", "shutdown", "memory", "engines"])
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="ocw-bench-") as tmp:
        state = Path(tmp) / "state"
        plan = make_workspace_plan(state, project_root())
        volumes.prepare(plan.dirs, plan.mounts, plan.config_maps, plan.secrets)
        build_toolbox(plan.dirs.tools)  # process mode's PATH, as `ocw up` makes it
        assert plan.init is not None
        process_runtime.run_init(plan, plan.init)  # populate the volume: clone once
        process, record = spawn(plan)
        runtime.wait_ready(plan, process)
        light_workload(plan)  # the data a used workspace has
        kill(process, record)
        if "init" in only:
            results["init on a populated volume"] = bench_init(plan, args.runs)
        if "restart" in only:
            results["restart to ready"] = bench_restart(plan, args.runs)
        if "shutdown" in only:
            results["shutdown"] = bench_shutdown(plan, args.runs, args.grace)
        if "memory" in only and not args.skip_memory:
            results[f"memory at {args.limit_mib}Mi"] = bench_memory(
                plan,
                args.runs,
                args.limit_mib * MIB,
                args.soak_seconds,
                tunings=args.tuning or list(TUNINGS),
                cpu_millicores=cpu_millicores,
            )
        if "engines" in only:
            results["container vs process"] = bench_engines(
                Path(tmp) / "engines", free_port(), args.runs, light_workload
            )
    print(table(results))
    save(results)
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

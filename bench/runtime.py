"""Runtime benchmarks for `ocw up`: init step, restart to ready against bare `opencode serve`, shutdown, and
OpenCode's memory inside a cgroup v1 memory group at the manifests' limit, with and without JSC heap tuning.

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

from ocw.check.units import quantity
from ocw.paths import project_root
from ocw.up import supervisor, volumes
from ocw.up.plan import Plan, UpOptions, make_plan
from ocw.up.pod import ProcessSpec
from ocw.up.state import RunRecord, process_start_ticks
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
    supervisor.stop_process(record, grace=0.5)
    process.wait()


def bench_init(plan: Plan, runs: int) -> dict[str, Any]:
    assert plan.init is not None
    durations = [supervisor.run_init(plan, plan.init) for _ in range(runs)]
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
                supervisor.run_init(plan, plan.init)
            process, record = spawn(plan)
            supervisor.wait_ready(plan, process)
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
        supervisor.wait_ready(plan, process)
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
        supervisor.wait_ready(plan, process)
        light_workload(plan)
        started = time.monotonic()
        supervisor.stop_process(record, grace)
        process.wait()
        assert plan.init is not None
        supervisor.run_init(plan, plan.init)
        process, record = spawn(plan)
        supervisor.wait_ready(plan, process)
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
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


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
        supervisor.wait_ready(tuned, process, timeout=120)
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
    parser.add_argument("--grace", type=float, default=supervisor.DEFAULT_STOP_GRACE)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only", choices=["init", "restart", "shutdown", "memory"], action="append")
    args = parser.parse_args()
    if args.limit_mib is None:
        args.limit_mib = int(manifest_limit("memory") / MIB)
    cpu_millicores = None if args.no_cpu_limit else int(manifest_limit("cpu") * 1000)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    only = set(args.only or ["init", "restart", "shutdown", "memory"])
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="ocw-bench-") as tmp:
        state = Path(tmp) / "state"
        plan = make_workspace_plan(state, project_root())
        volumes.prepare(plan.dirs, plan.mounts, plan.config_maps, plan.secrets)
        assert plan.init is not None
        supervisor.run_init(plan, plan.init)  # populate the volume: clone once
        process, record = spawn(plan)
        supervisor.wait_ready(plan, process)
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
    print(table(results))
    save(results)
    print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

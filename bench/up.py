"""`ocw up -d` against bare `opencode serve`: the time from the command to OpenCode's first authenticated answer
(GET /session), on the same populated volume with the same password, as medians of --runs runs taken in turns, and
where `ocw up`'s start went step by step, in wall and CPU seconds (its logs/timings.json). The targets: process mode
at most 1.15 times bare OpenCode, the container at most 1.35 times.

Two baselines: bare `opencode serve` as a process without limits, and bare `opencode serve` in the workspace image
under the CPU and memory limits the manifests give the OpenCode container (a plain `podman run` with `--cpus` and
`--memory`, on the container engine's volume), which the container engine applies too. Each `ocw up` is read against
both.

Prints a table and writes bench/results/up.json, with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocw.image.definition import local_image
from ocw.image.engine import engine_env
from ocw.kube.quantity import quantity
from ocw.paths import project_root
from ocw.up.readiness import ReadinessProbe
from ocw.up.state import read_password_file
from ocw.workspace import Workspace, find_workspace, load_workspaces

RESULTS = Path(__file__).resolve().parent / "results" / "up.json"
OPENCODE = project_root() / "tools" / "node_modules" / ".bin" / "opencode"
CONFIG = project_root() / "kubernetes" / "components" / "opencode-workspace" / "config" / "opencode.json"
TARGETS = {"process": 1.15, "container": 1.35}
WORKSPACE = "opencode-flux"
COLUMNS = {"bare": "x bare", "bare_container": "x image+limits"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_answer(port: int, password: str, started: float, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds from `started` to an authenticated 200 on GET /session, asked the way `ocw up` asks (ocw.up.readiness:
    a request OpenCode leaves unanswered in its first moment is not waited on alone), so both sides are timed alike."""
    with ReadinessProbe("127.0.0.1", port, "opencode", password) as probe:
        # `ocw up -d` exits 0 once it has seen the answer itself; any other exit is a failure
        answered = probe.wait(timeout - (time.monotonic() - started), lambda: process.poll() in (None, 0))
    if answered is None:
        if process.poll() not in (None, 0):
            raise SystemExit(f"the command under test exited with {process.returncode}")
        raise SystemExit(f"no answer on 127.0.0.1:{port} within {timeout} s")
    return time.monotonic() - started


def ocw(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("ocw")), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


def ocw_up(engine: str, state: Path, source: Path, timeout: float) -> tuple[float, dict[str, Any]]:
    """Seconds to the first answer, and the start's logs/timings.json (wall and CPU seconds of each step)."""
    port = free_port()
    args = ["up", "flux", "-d", "--engine", engine, "--source", str(source), "--port", str(port)]
    started = time.monotonic()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("ocw")), *args, "--state-dir", str(state)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    password_file = state / WORKSPACE / "password"
    while read_password_file(password_file) is None and process.poll() is None:
        time.sleep(0.01)
    try:
        seconds = first_answer(port, read_password_file(password_file) or "", started, process,
                               timeout)  # fmt: skip
        process.wait(timeout=60)
        timings = json.loads((state / WORKSPACE / "logs" / "timings.json").read_text())
    finally:
        ocw("down", "flux", "--state-dir", str(state), "--timeout", "5")
    return seconds, timings


def bare(state: Path, timeout: float) -> float:
    """`opencode serve` as process mode runs it (the image's PATH, the workspace's HOME, config and working
    directory), on the volume `ocw up` populated."""
    root = state / WORKSPACE
    home = root / "volumes" / "home"
    clone = next(p for p in (home / "git").iterdir() if p.is_dir())
    password = read_password_file(root / "password") or ""
    port = free_port()
    env = {
        "PATH": str(root / "bin"),
        "HOME": str(home),
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_CONFIG": str(CONFIG),
        "OPENCODE_SERVER_PASSWORD": password,
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [str(OPENCODE), "serve", "--hostname", "127.0.0.1", "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return first_answer(port, password, started, process, timeout)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()


def limit_flags(workspace: Workspace) -> list[str]:
    """`--cpus` and `--memory` from the OpenCode container's resources.limits in the manifests."""
    limits = workspace.app_container.resources.get("limits") or {}
    cpu, memory = quantity(limits.get("cpu")), quantity(limits.get("memory"))
    if cpu is None or memory is None:
        raise SystemExit(f"the OpenCode container of {workspace.name} has no cpu and memory limits: found {limits}")
    return ["--cpus", format(cpu.normalize(), "f"), "--memory", str(int(memory))]


def user_flags(volume: Path, uid: int) -> list[str]:
    """The container user owning the volume as `ocw up` left it: rootful podman maps the pod's uid from the id the
    volume's owner has on this machine, rootless podman maps the user running the bench to it."""
    if os.geteuid() != 0:
        return ["--userns", f"keep-id:uid={uid},gid={uid}"]
    base = volume.stat().st_uid - uid
    mapping = f"0:{base}:65536"
    return ["--uidmap", mapping, "--gidmap", mapping]


def bare_container(state: Path, workspace: Workspace, timeout: float) -> float:
    """`opencode serve` in the workspace image, as the pod's OpenCode container runs with its limits, but started
    by a plain `podman run` (tini, the image's entrypoint, stays PID 1), on the volume the container engine
    populated. The component's config is mounted where the manifests' OPENCODE_CONFIG points."""
    root = state / WORKSPACE
    volume = root / "volumes" / "home"
    clone = next(p for p in (volume / "git").iterdir() if p.is_dir())
    app = workspace.app_container
    home = next(m.path for m in app.mounts if m.volume.type == "persistentVolumeClaim")
    variable = app.variable("OPENCODE_CONFIG")
    if variable is None or not variable.value:
        raise SystemExit(f"the OpenCode container of {workspace.name} sets no OPENCODE_CONFIG")
    config = variable.value
    uid = int({**workspace.workload.security_context, **app.security_context}.get("runAsUser", 1000))
    password = read_password_file(root / "password") or ""
    port = free_port()
    name = f"ocw-bench-bare-{os.getpid()}"
    argv = ["podman", "run", "--rm", "--name", name, "--pull", "never", "--network", "host", "--read-only",
            "--user", f"{uid}:{uid}", *user_flags(volume, uid), *limit_flags(workspace),
            "--tmpfs", "/tmp:rw,mode=1777", "--mount", f"type=bind,src={volume},dst={home}",
            "--mount", f"type=bind,src={CONFIG},dst={config},ro", "--workdir", f"{home}/{clone.relative_to(volume)}",
            "--env", f"HOME={home}", "--env", "OPENCODE_DISABLE_AUTOUPDATE=1", "--env", "OPENCODE_DISABLE_SHARE=1",
            "--env", f"OPENCODE_CONFIG={config}", "--env", "OPENCODE_SERVER_PASSWORD",  # the value from podman's env
            local_image(), "opencode", "serve", "--hostname", "127.0.0.1", "--port", str(port)]  # fmt: skip
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        env={**engine_env(), "OPENCODE_SERVER_PASSWORD": password},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return first_answer(port, password, started, process, timeout)
    finally:
        subprocess.run(["podman", "rm", "--force", "--time", "0", name], env=engine_env(), capture_output=True,
                       check=False, timeout=120)  # fmt: skip
        process.wait()


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def make_source(path: Path) -> Path:
    git = ["git", "-C", str(path), "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    path.mkdir(parents=True)
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (path / "README.md").write_text("bench\n")
    subprocess.run([*git, "add", "README.md"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", nargs="+", default=["process", "container"], choices=sorted(TARGETS))
    parser.add_argument("--timeout", type=float, default=180.0)
    options = parser.parse_args()
    workspace = find_workspace(load_workspaces(project_root()), WORKSPACE)
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="ocw-bench-up-"))
    baselines = ["bare", *(["bare_container"] if "container" in options.engines else [])]
    try:
        source = make_source(scratch / "source")
        states = {engine: scratch / f"state-{engine}" for engine in options.engines}
        for engine, state in states.items():  # populate each volume once: clone, OpenCode's first-run work
            try:
                ocw_up(engine, state, source, options.timeout)
            except SystemExit as failure:  # the clone is there even if OpenCode was slower than `ocw up` waits
                print(f"populating the {engine} volume: {failure}", file=sys.stderr)
        times: dict[str, list[float]] = {name: [] for name in [*baselines, *options.engines]}
        steps: dict[str, dict[str, list[float]]] = {engine: {} for engine in options.engines}
        cpu: dict[str, dict[str, list[float]]] = {engine: {} for engine in options.engines}
        failures: dict[str, list[str]] = {name: [] for name in times}

        def measure(name: str, run: Callable[[], float]) -> None:
            """One run; a failed one (e.g. `ocw up` giving up on a very loaded machine) is reported, not fatal."""
            try:
                times[name].append(run())
            except SystemExit as failure:
                failures[name].append(str(failure))

        def up(engine: str) -> float:
            seconds, timings = ocw_up(engine, states[engine], source, options.timeout)
            for step, value in timings["steps"].items():
                steps[engine].setdefault(step, []).append(value)
            for step, value in timings.get("cpu", {}).items():
                cpu[engine].setdefault(step, []).append(value)
            return seconds

        for _ in range(options.runs):
            measure("bare", lambda: bare(states[options.engines[0]], options.timeout))
            if "bare_container" in times:
                measure("bare_container", lambda: bare_container(states["container"], workspace, options.timeout))
            for engine in options.engines:
                measure(engine, functools.partial(up, engine))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not all(times.values()):
        raise SystemExit(f"no successful run of {[n for n, v in times.items() if not v]}: {failures}")
    medians = {name: median(values) for name, values in times.items()}
    limits = " ".join(limit_flags(workspace))
    labels = {"bare": "bare opencode serve", "bare_container": f"bare, image, {limits}"}
    result: dict[str, Any] = {
        "runs": options.runs,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "bare_opencode_serve": {"median": medians["bare"], "runs": [round(x, 3) for x in times["bare"]]},
        "failed_runs": {name: messages for name, messages in failures.items() if messages},
    }
    if "bare_container" in medians:
        result["bare_opencode_serve_in_image_with_limits"] = {
            "median": medians["bare_container"],
            "limits": limits,
            "runs": [round(x, 3) for x in times["bare_container"]],
        }
    header = "".join(f" {COLUMNS[name]:>16}" for name in baselines)
    print(f"{'start to first answer':<42} {'median':>8}{header} {'target':>7}")
    for name in baselines:
        print(f"{labels[name]:<42} {medians[name]:>7.2f}s")
    for engine in options.engines:
        # The limited baseline is the container engine's own comparison: process mode runs without limits.
        compared = [name for name in baselines if engine == "container" or name == "bare"]
        ratios = {name: round(medians[engine] / medians[name], 2) for name in compared}
        result[f"ocw_up_{engine}"] = {
            "median": medians[engine],
            "ratio": ratios["bare"],
            **({"ratio_to_image_with_limits": ratios["bare_container"]} if "bare_container" in ratios else {}),
            "target": TARGETS[engine],
            "runs": [round(x, 3) for x in times[engine]],
            "steps_median": {name: median(values) for name, values in steps[engine].items()},
            "steps_cpu_median": {name: median(values) for name, values in cpu[engine].items()},
        }
        columns = "".join(f" {ratios[name]:>15.2f}x" if name in ratios else f" {'-':>16}" for name in baselines)
        print(f"{'ocw up -d --engine ' + engine:<42} {medians[engine]:>7.2f}s{columns} {TARGETS[engine]:>6.2f}x")
        for name, values in steps[engine].items():
            cpu_seconds = median(cpu[engine][name]) if cpu[engine].get(name) else 0.0
            print(f"  {name:<40} {median(values):>6.2f}s  cpu {cpu_seconds:>5.2f}s")
    for name, messages in result["failed_runs"].items():
        print(f"{name}: {len(messages)} of {options.runs} runs failed and are not in the median: {messages[0]}")
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

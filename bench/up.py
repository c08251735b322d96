"""`ocw up -d` against bare `opencode serve`: the time from the command to OpenCode's first authenticated answer
(GET /session), on the same populated volume with the same password, as medians of --runs runs taken in turns, and
where `ocw up`'s start went step by step (its logs/timings.json). The targets: process mode at most 1.15 times bare
OpenCode, the container at most 1.35 times.

Prints a table and writes bench/results/up.json, with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any

import httpx

from ocw.paths import project_root
from ocw.up.state import read_password_file

RESULTS = Path(__file__).resolve().parent / "results" / "up.json"
OPENCODE = project_root() / "tools" / "node_modules" / ".bin" / "opencode"
CONFIG = project_root() / "kubernetes" / "components" / "opencode-workspace" / "config" / "opencode.json"
TARGETS = {"process": 1.15, "container": 1.35}
WORKSPACE = "opencode-flux"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_answer(url: str, password: str, started: float, process: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds from `started` to an authenticated 200 on GET /session."""
    with httpx.Client(auth=("opencode", password), timeout=5) as client:
        while time.monotonic() - started < timeout:
            try:
                if client.get(url + "/session").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            if process.poll() not in (None, 0):
                raise SystemExit(f"the command under test exited with {process.returncode}")
            time.sleep(0.01)
    raise SystemExit(f"no answer on {url} within {timeout} s")


def ocw(*args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("ocw")), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)


def ocw_up(engine: str, state: Path, source: Path, timeout: float) -> tuple[float, dict[str, float]]:
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
        seconds = first_answer(f"http://127.0.0.1:{port}", read_password_file(password_file) or "", started, process,
                               timeout)  # fmt: skip
        process.wait(timeout=60)
        steps = json.loads((state / WORKSPACE / "logs" / "timings.json").read_text())["steps"]
    finally:
        ocw("down", "flux", "--state-dir", str(state), "--timeout", "5")
    return seconds, steps


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
        return first_answer(f"http://127.0.0.1:{port}", password, started, process, timeout)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
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
    load_before = os.getloadavg()
    scratch = Path(tempfile.mkdtemp(prefix="ocw-bench-up-"))
    try:
        source = make_source(scratch / "source")
        states = {engine: scratch / f"state-{engine}" for engine in options.engines}
        for engine, state in states.items():  # populate each volume once: clone, OpenCode's first-run work
            ocw_up(engine, state, source, options.timeout)
        times: dict[str, list[float]] = {"bare": [], **{engine: [] for engine in options.engines}}
        steps: dict[str, dict[str, list[float]]] = {engine: {} for engine in options.engines}
        for _ in range(options.runs):
            times["bare"].append(bare(states[options.engines[0]], options.timeout))
            for engine, state in states.items():
                seconds, run_steps = ocw_up(engine, state, source, options.timeout)
                times[engine].append(seconds)
                for name, value in run_steps.items():
                    steps[engine].setdefault(name, []).append(value)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bare_median = median(times["bare"])
    result: dict[str, Any] = {
        "runs": options.runs,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "bare_opencode_serve": {"median": bare_median, "runs": [round(x, 3) for x in times["bare"]]},
    }
    print(f"{'start to first answer':<28} {'median':>8} {'ratio':>7} {'target':>7}")
    print(f"{'bare opencode serve':<28} {bare_median:>7.2f}s")
    for engine in options.engines:
        engine_median = median(times[engine])
        ratio = round(engine_median / bare_median, 2)
        result[f"ocw_up_{engine}"] = {
            "median": engine_median,
            "ratio": ratio,
            "target": TARGETS[engine],
            "runs": [round(x, 3) for x in times[engine]],
            "steps_median": {name: median(values) for name, values in steps[engine].items()},
        }
        print(f"{'ocw up -d --engine ' + engine:<28} {engine_median:>7.2f}s {ratio:>6.2f}x {TARGETS[engine]:>6.2f}x")
        for name, values in steps[engine].items():
            print(f"  {name:<40} {median(values):>6.2f}s")
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

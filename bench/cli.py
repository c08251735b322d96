"""Benchmark what an `ocw` process costs, before its work and with it.

Before the work: the CPU seconds (user + system) of each command's `--help`, of `ocw --help` and `ocw completion
bash` (which build every parser), and of `ocw ps` and `ocw down` with nothing to list or stop. Target: each at most
0.15 CPU-s, i.e. a parser imports none of its command's work and `ps` and `down` import only what they use.

With the work, as a user runs the commands a second time (the builds, renders and verdicts of the first run cached):
`ocw install` into a fresh copy of the cluster repository fixture (tests/fixtures/k8s-cluster-min) and its `--dry-run`,
`ocw check` of the installed copy, and `ocw secrets status`, `init --dry-run` and `seed-copilot --dry-run` on it through
the real Doppler CLI against a local stand-in of Doppler's API. These count the processes each command starts
(kubectl, helm, promtool, doppler). Target: each at most 1 CPU-s, which a user feels as instant.

CPU seconds rather than wall time: they do not depend much on what else the machine runs. Every figure is the median
of --runs runs of `python -m ocw` with compiled bytecode (run `make bytecode` first), in a HOME of its own, offline.
Prints the tables with the load average they were measured under and writes bench/results/cli.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the local stand-in of Doppler's API lives with the tests

from support.doppler_api import serve_doppler_api  # noqa: E402

RESULTS = REPO / "bench" / "results" / "cli.json"
TARGET_CPU_SECONDS = 0.15
TARGET_WORK_CPU_SECONDS = 1.0
FIXTURE = REPO / "tests" / "fixtures" / "k8s-cluster-min"
CLUSTER_VARS = "SECRET_DOMAIN: example.com\nSVC_INTERNAL_GW_ADDR: 10.20.0.21\nSVC_EXTERNAL_GW_ADDR: 10.20.0.22\n"
DOPPLER_TOKEN = "dp.ct.bench" + "0" * 34
UNREACHABLE = "http://127.0.0.1:9/"
COMMANDS = (
    ("--help",),
    ("completion", "bash"),
    ("check", "--help"),
    ("install", "--help"),
    ("up", "--help"),
    ("secrets", "--help"),
    ("verify", "--help"),
    ("charts", "--help"),
    ("schemas", "--help"),
    ("ps",),
    ("down", "flux"),
)


def cpu_seconds(command: tuple[str, ...], env: dict[str, str], *, ok: tuple[int, ...] = (0,)) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-m", "ocw", *command], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"ocw {' '.join(command)} exited {done.returncode}: {done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def work_rows(home: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    """Each command's CPU with its work, the caches filled by a first run that is not counted."""
    vars_file = home / "vars.yaml"
    vars_file.write_text(CLUSTER_VARS)
    schemas = str(REPO / "src" / "ocw" / "data" / "schemas")
    env = {**env, "OCW_CRD_CATALOG_URL": UNREACHABLE, "OCW_APP_TEMPLATE_SCHEMA_URL": UNREACHABLE}

    def fresh_copy() -> str:
        target = home / "k8s-cluster"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(FIXTURE, target)
        return str(target)

    def install(*extra: str) -> float:
        repo = fresh_copy()
        return cpu_seconds(("install", "--repo", repo, "--vars", str(vars_file), "--schemas", schemas, *extra), env)

    on_installed = ("--repo", str(home / "k8s-cluster"), "--vars", str(vars_file))
    measured = {"install": _median(install, runs), "install --dry-run": _median(lambda: install("--dry-run"), runs)}
    install()
    # The fixture's own error (a Certificate naming an issuer the host cluster lacks) makes check exit 1.
    measured["check"] = _median(lambda: cpu_seconds(("check", *on_installed), env, ok=(0, 1)), runs)
    auth = home / "data" / "opencode" / "auth.json"
    auth.parent.mkdir(parents=True)
    login = {"type": "oauth", "refresh": "gho_" + "b" * 36, "access": "gho_" + "b" * 36, "expires": 0}
    auth.write_text(json.dumps({"github-copilot": login}))
    auth.chmod(0o600)
    with serve_doppler_api({DOPPLER_TOKEN}) as (api, url):
        api.add_config("k3s-cluster", "prd")
        doppler_env = {
            **env,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}",
            "DOPPLER_TOKEN": DOPPLER_TOKEN,
            "DOPPLER_API_HOST": url,
            "XDG_DATA_HOME": str(home / "data"),
        }
        secrets: dict[str, tuple[str, ...]] = {
            "secrets status": ("secrets", "status", *on_installed),
            "secrets init --dry-run": ("secrets", "init", "--dry-run", *on_installed),
            "secrets seed-copilot --dry-run": ("secrets", "seed-copilot", "--dry-run", *on_installed),
        }
        for name, command in secrets.items():
            measured[name] = _median(functools.partial(cpu_seconds, command, doppler_env, ok=(0, 1)), runs)
    return measured


def _median(measure: Callable[[], float], runs: int) -> float:
    measure()  # fills the caches: a user's second run
    return round(statistics.median(measure() for _ in range(runs)), 3)


def _table(title: str, rows: dict[str, float], target: float) -> None:
    print(title)
    print(f"{'command':<34} {'CPU-s':>6}  target <= {target}")
    for name, seconds in rows.items():
        print(f"ocw {name:<30} {seconds:>6.3f}  {'ok' if seconds <= target else 'OVER'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per command (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocw-bench-cli-") as home:
        env = {**os.environ, "HOME": home, "XDG_STATE_HOME": f"{home}/state", "XDG_CACHE_HOME": f"{home}/cache"}
        rows = {
            " ".join(command): round(statistics.median(cpu_seconds(command, env) for _ in range(args.runs)), 3)
            for command in COMMANDS
        }
        work = work_rows(Path(home), env, args.runs)
    load = os.getloadavg()[0]
    _table(
        f"CPU seconds before the work, median of {args.runs} runs (load average {load:.1f})", rows, TARGET_CPU_SECONDS
    )
    print()
    _table(f"CPU seconds with the work, caches filled, median of {args.runs} runs", work, TARGET_WORK_CPU_SECONDS)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "target_cpu_seconds": TARGET_CPU_SECONDS,
        "target_work_cpu_seconds": TARGET_WORK_CPU_SECONDS,
        "load_average": load,
        "runs": args.runs,
        "commands": rows,
        "work": work,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    over = [s for s in rows.values() if s > TARGET_CPU_SECONDS] + [
        s for s in work.values() if s > TARGET_WORK_CPU_SECONDS
    ]
    return 0 if not over else 1


if __name__ == "__main__":
    raise SystemExit(main())

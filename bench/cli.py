"""Benchmark what an `ocw` process costs before it does any work: the CPU seconds (user + system) of each command's
`--help`, of `ocw --help` and `ocw completion bash` (which build every parser), and of `ocw ps` and `ocw down` with
nothing to list or stop. Target: each at most 0.15 CPU-s, i.e. a parser imports none of its command's work and `ps`
and `down` import only what they use.

CPU seconds rather than wall time: they do not depend on what else the machine runs. Every figure is the median of
--runs runs of `python -m ocw` with compiled bytecode (run `make bytecode` first), in a HOME of its own. Prints a table
with the load average it was measured under and writes bench/results/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "cli.json"
TARGET_CPU_SECONDS = 0.15
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


def cpu_seconds(command: tuple[str, ...], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "ocw", *command], env=env, capture_output=True, check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
    load = os.getloadavg()[0]
    print(f"CPU seconds before the work, median of {args.runs} runs (load average {load:.1f})")
    print(f"{'command':<24} {'CPU-s':>6}  target <= {TARGET_CPU_SECONDS}")
    for name, seconds in rows.items():
        print(f"ocw {name:<20} {seconds:>6.3f}  {'ok' if seconds <= TARGET_CPU_SECONDS else 'OVER'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {"target_cpu_seconds": TARGET_CPU_SECONDS, "load_average": load, "runs": args.runs, "commands": rows}
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    return 0 if all(seconds <= TARGET_CPU_SECONDS for seconds in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

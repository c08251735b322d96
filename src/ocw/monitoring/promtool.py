"""`promtool check rules` on PrometheusRule objects, as the Prometheus Operator hands them to Prometheus: the object's
`spec` (its `groups`) is a Prometheus rules file. promtool comes from PATH (Debian/Ubuntu: package `prometheus`;
macOS: `brew install prometheus`); without it nothing is checked and the caller says so."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ocw.yamlio import dump

PROMTOOL = "promtool"
TIMEOUT = 60.0


@dataclass(frozen=True)
class RulesCheck:
    """promtool's verdict on one rules file: `problems` empty when it passed."""

    rules: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def find_promtool() -> Path | None:
    found = shutil.which(PROMTOOL)
    return Path(found) if found else None


def version(promtool: Path) -> str:
    """`promtool, version 2.42.0 ...` -> `2.42.0` (or what it printed first, when it is shaped otherwise)."""
    result = subprocess.run([str(promtool), "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    words = (result.stdout or result.stderr).split()
    return words[2] if len(words) > 2 and words[1] == "version" else " ".join(words[:3])


def rules_document(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The Prometheus rules file a PrometheusRule becomes, as data: its spec, `groups` and all."""
    return {"groups": (rule.get("spec") or {}).get("groups") or []}


def rules_file(rule: Mapping[str, Any]) -> str:
    """The Prometheus rules file a PrometheusRule becomes."""
    return dump(rules_document(rule))


def check_rules(promtool: Path, rules: Sequence[Mapping[str, Any]]) -> list[RulesCheck]:
    """One `promtool check rules` run over every object's rules file (one process, whatever their number); for each
    object, in order, the rules promtool counted or its problems, in promtool's own words without the file's name."""
    if not rules:
        return []
    with tempfile.TemporaryDirectory(prefix="ocw-promtool-") as folder:
        paths = [Path(folder) / f"rules-{index}.yaml" for index in range(len(rules))]
        for path, rule in zip(paths, rules, strict=True):
            path.write_text(rules_file(rule))
        result = subprocess.run(
            [str(promtool), "check", "rules", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    counts: dict[str, int] = {}
    current = ""
    for line in result.stdout.splitlines():
        if line.startswith("Checking "):
            current = line.removeprefix("Checking ").strip()
        elif "SUCCESS:" in line and line.split("SUCCESS:")[1].split()[0].isdigit():
            counts[current] = int(line.split("SUCCESS:")[1].split()[0])
    problems: dict[str, list[str]] = {str(path): [] for path in paths}
    owner = ""
    for line in result.stderr.splitlines():
        named = next((str(p) for p in paths if line.startswith(f"{p}: ")), None)
        owner = named or owner
        text = line.removeprefix(f"{named}: ").strip() if named else line.strip()
        if owner and text and text != "FAILED:" and text not in problems[owner]:
            problems[owner].append(text)
    checks = []
    for path in paths:
        found = problems[str(path)]
        if str(path) not in counts and not found:
            found = [f"promtool exited with {result.returncode} without a verdict on this rule"]
        checks.append(RulesCheck(counts.get(str(path), 0), tuple(found)))
    return checks

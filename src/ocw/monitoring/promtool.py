"""`promtool check rules` on PrometheusRule objects, as the Prometheus Operator hands them to Prometheus: the object's
`spec` (its `groups`) is a Prometheus rules file. promtool comes from PATH (Debian/Ubuntu: package `prometheus`;
macOS: `brew install prometheus`); without it nothing is checked and the caller says so."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping
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


def rules_file(rule: Mapping[str, Any]) -> str:
    """The Prometheus rules file a PrometheusRule becomes: its spec, `groups` and all."""
    return dump({"groups": (rule.get("spec") or {}).get("groups") or []})


def check_rules(promtool: Path, rule: Mapping[str, Any]) -> RulesCheck:
    """Run `promtool check rules` on the object's rules file; each problem is one line of promtool's own words, with
    the temporary file's name taken out."""
    with tempfile.TemporaryDirectory(prefix="ocw-promtool-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(rules_file(rule))
        result = subprocess.run(
            [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    if result.returncode == 0:
        found = [line for line in result.stdout.splitlines() if "SUCCESS:" in line]
        count = int(found[0].split()[1]) if found and found[0].split()[1].isdigit() else 0
        return RulesCheck(count, ())
    problems = [
        line.replace(f"{path}: ", "").replace(str(path), "rules").strip()
        for line in (result.stderr + result.stdout).splitlines()
        if line.strip() and not line.strip().startswith(("Checking ", "FAILED:"))
    ]
    return RulesCheck(0, tuple(problems) or (f"promtool exited with {result.returncode} and said nothing",))
